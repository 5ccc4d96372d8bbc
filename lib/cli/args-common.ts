// Value parsers shared by the pipework grammar and the named-options
// subcommands, so both forms accept exactly the same values and fail with the
// same messages. Pure: no I/O, nothing touches the kernel.
import { PipewrightError } from '../core/errors';
import * as v from '../core/validate';
import { buildSpec } from '../ops/attach/spec';
import type { AttachSpec, DhcpSpec, DhcpClient, NormalizedSpec } from '../ops/attach/spec';

/** The command line itself is wrong: exit 2, and point at the syntax. */
export class UsageError extends PipewrightError {
  /** The command whose help shows the syntax ('netns ls'), when it is not the general help. */
  readonly command: string | undefined;
  constructor(message: string, command?: string) {
    super('ERR_PW_INVALID_ARGUMENT', message, { field: 'argv' });
    this.name = 'UsageError';
    this.command = command;
  }
}

/** What the command line gathers for the spec builder: plain data in the library's field names, the guest a string. */
export type AttachArgs = Omit<AttachSpec, 'guest' | 'host' | 'runDir' | 'group' | 'watchSignal'> & { guest: string };

/** The library's field names as the command line spells them. */
export const CLI_WORD: Readonly<Record<string, string>> = {
  hostIf: 'HOSTIF', guestIf: '-i GUESTIF', hostEnd: '-l LOCALIF', address: 'address', gateway: 'gateway',
  mac: 'MAC', vlan: 'VLAN', mtu: '--mtu', owner: '--owner', directPhys: '--direct-phys', dhcp: 'dhcp',
};

/**
 * Re-throws a library validation error as a usage error, its message led by
 * the CLI's word for the field (label, or the field's CLI word when none).
 */
function relabel<T>(label: string | null, fn: () => T, words: Readonly<Record<string, string>> = CLI_WORD): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof PipewrightError && e.code === 'ERR_PW_INVALID_ARGUMENT') {
      const field = e.field ?? '';
      const why = e.message.startsWith(`${field}: `) ? e.message.slice(field.length + 2) : e.message;
      const top = field.split(/[.[]/)[0]!;
      throw new UsageError(`${label ?? words[top] ?? field}: ${why}`);
    }
    throw e;
  }
}

export function parseUint(label: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max)
    throw new UsageError(`${label} must be an integer from ${min} to ${max}, not '${text}'`);
  return Number(text);
}

/** Milliseconds for --watch / --timeout (at most an hour). */
export function parseMs(label: string, text: string): number {
  return parseUint(label, text, 0, 3_600_000);
}

export function parseIfname(label: string, text: string): string {
  return relabel(label, () => v.ifname(label, text));
}

/** '4' or '6' (pipework's -a). */
export function parseFamily(text: string): 4 | 6 {
  if (text !== '4' && text !== '6') throw new UsageError(`-a takes 4 or 6 (the address family), not '${text}'`);
  return Number(text) as 4 | 6;
}

const DHCP_RE = /^(dhcp|udhcpc|dhclient|dhcpcd)(-f)?(?::(.*))?$/s;

/** 'udhcpc-f:-t 5 -T 2' → client, keep running, options split on spaces; null when not a DHCP word. */
export function parseDhcp(text: string): DhcpSpec | null {
  const m = DHCP_RE.exec(text);
  if (!m) return null;
  const spec: DhcpSpec = { client: m[1] as DhcpClient, foreground: m[2] !== undefined };
  const options = (m[3] ?? '').split(' ').filter((o) => o !== '');
  if (options.length) spec.options = options;
  return spec;
}

/**
 * IP/PREFIX[@GW], or 0/0 for no address, split into the spec's address and
 * gateway; their values are the spec builder's to check (checkAttach). An
 * address without a prefix is refused here with pipework's own hint, so a
 * script's author sees what to fix.
 */
export function parseAddress(text: string): { address?: string; gateway?: string } {
  if (text === '0/0') return {};
  const parts = text.split('@');
  if (parts.length > 2) throw new UsageError(`'${text}' has more than one '@' (expected IP/PREFIX@GATEWAY)`);
  const [addr, gw] = parts as [string, string | undefined];
  if (!addr.includes('/')) {
    let bare: v.IpAddress;
    try {
      bare = v.ip('address', addr);
    } catch {
      throw new UsageError(`'${text}' is not an address: expected IP/PREFIX[@GATEWAY], 0/0, or dhcp|udhcpc|dhclient|dhcpcd[-f][:OPTIONS]`);
    }
    const suggestion = `${addr}/${bare.family === 4 ? 24 : 64}${gw !== undefined ? `@${gw}` : ''}`;
    throw new UsageError(`The IP address should include a netmask. Maybe you meant ${suggestion} ?`);
  }
  if (gw === '') throw new UsageError(`'${text}' ends with '@' but names no gateway`);
  return gw === undefined ? { address: addr } : { address: addr, gateway: gw };
}

/** A MAC, or U:SEED (the builder derives pipework's stable MAC from SEED); a bare 'U:' is refused here. */
export function parseMac(text: string): string {
  if (text === 'U:') throw new UsageError("U: needs a seed, e.g. U:web1 (the MAC is derived from it)");
  return text;
}

export function parseVlan(text: string): number {
  return parseUint('VLAN', text, 1, 4094);
}

/** [MAC|U:SEED][@VLAN]: either part may be missing ('@10', '02:..:01'). */
export function parseMacVlan(text: string): { mac?: string; vlan?: number } {
  const parts = text.split('@');
  if (parts.length > 2) throw new UsageError(`'${text}' has more than one '@' (expected MAC@VLAN)`);
  const [mac, vlan] = parts as [string, string | undefined];
  const out: { mac?: string; vlan?: number } = {};
  if (mac !== '') out.mac = parseMac(mac);
  if (vlan !== undefined) out.vlan = parseVlan(vlan);
  if (out.mac === undefined && out.vlan === undefined) throw new UsageError(`'${text}' names neither a MAC nor a VLAN`);
  return out;
}

/**
 * The attach request as the library's spec builder makes it (pure): the one
 * validation, at parse time, so the CLI refuses exactly what attach() would,
 * each error led by the command line's word for the field (`words`: the
 * named form's spellings, where they differ). `family` is pipework's -a.
 */
export function checkAttach(args: AttachArgs, opts: { family?: 4 | 6; words?: Readonly<Record<string, string>> } = {}): NormalizedSpec {
  const spec = relabel(null, () => buildSpec(args), opts.words);
  if (opts.family !== undefined && spec.address && spec.address.family !== opts.family)
    throw new UsageError(`-a ${opts.family} was given, but ${args.address} is an IPv${spec.address.family} address`);
  return spec;
}

/**
 * The words after `route`/`rule`, as ip reads them: an optional -4/-6, the
 * verb (show when none), then KEY VALUE pairs taken one by one, each key at
 * most once.
 */
export function iprouteReader<V extends string>(object: string, args: readonly string[], verbs: Record<string, V>, expected: string) {
  const words = [...args];
  let family: 4 | 6 | undefined;
  if (words[0] === '-4' || words[0] === '-6') family = words.shift() === '-4' ? 4 : 6;
  const verbWord = words[0] === undefined ? 'show' : words.shift()!;
  const verb = verbs[verbWord];
  if (!verb) throw new UsageError(`${object}: unknown command '${verbWord}' (expected ${expected})`);
  const word = `${object} ${verb}`;
  const seen = new Set<string>();
  /** The value after `key`; refuses a key given twice or without a value. */
  const value = (key: string): string => {
    if (seen.has(key)) throw new UsageError(`${word}: '${key}' is given twice`);
    seen.add(key);
    const x = words.shift();
    if (x === undefined) throw new UsageError(`${word}: '${key}' needs a value`);
    return x;
  };
  return { words, family, verb, word, value };
}
