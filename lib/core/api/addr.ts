// handle.addr: IPv4/IPv6 addresses on links.
import type { Handle } from '../handle';
import type { Address, AddrOptions, LinkRef } from '../types';
import * as v from '../validate';
import type { OpArgs } from '../op-types';

const SCOPES = ['universe', 'site', 'link', 'host', 'nowhere'] as const;

/** An address with its prefix: text ('10.0.0.3/24'), or as validate.ts parsed it (taken as it is, not parsed again). */
export type CidrInput = string | Readonly<v.Cidr>;

export function addrArgs(dev: LinkRef, cidr: CidrInput, opts: AddrOptions = {}): OpArgs['addr.add'] {
  const c = typeof cidr === 'string' ? v.cidr('address', cidr) : cidr;
  v.knownKeys('', v.object('options', opts), ['broadcast', 'scope', 'label', 'peer']);
  const a: OpArgs['addr.add'] = { index: v.linkRef('dev', dev), address: c.address, prefixLen: c.prefixLen };
  if (opts.broadcast !== undefined) a.broadcast = v.ip('broadcast', opts.broadcast, 4).address;
  if (opts.scope !== undefined) a.scope = v.oneOf('scope', opts.scope, SCOPES);
  if (opts.label !== undefined) {
    const label = v.str('label', opts.label, 15);
    if (typeof dev === 'string' && !label.startsWith(dev))
      throw v.labelError(label, dev);
    a.label = label;
  }
  if (opts.peer !== undefined) a.peer = v.ip('peer', opts.peer, c.family).address;
  return a;
}

export class AddrApi {
  constructor(private readonly h: Handle) {}

  /** Adds ADDRESS/PREFIX to a link; EEXIST if it is already there. */
  async add(dev: LinkRef, cidr: CidrInput, opts: AddrOptions = {}): Promise<void> {
    await this.h.run('addr.add', addrArgs(dev, cidr, opts));
  }

  /** Adds, or updates if present (idempotent). */
  async replace(dev: LinkRef, cidr: CidrInput, opts: AddrOptions = {}): Promise<void> {
    await this.h.run('addr.replace', addrArgs(dev, cidr, opts));
  }

  async del(dev: LinkRef, cidr: CidrInput): Promise<void> {
    await this.h.run('addr.del', addrArgs(dev, cidr));
  }

  /** Addresses, optionally of one link and/or family. */
  async list(filter: { dev?: LinkRef; family?: 4 | 6 } = {}): Promise<Address[]> {
    v.knownKeys('', v.object('filter', filter), ['dev', 'family']);
    const args: OpArgs['addr.list'] = {};
    if (filter.dev !== undefined) args.index = v.linkRef('dev', filter.dev);
    if (filter.family !== undefined) args.family = v.oneOf('family', String(filter.family), ['4', '6'] as const) === '4' ? 4 : 6;
    return this.h.run('addr.list', args);
  }
}
