// pipework's positional command line, parsed into plain data (no I/O):
//
//   [--direct-phys] HOSTIF|mac:HOSTMAC [-i GUESTIF] [-l LOCALIF] [-a 4|6] GUEST IP/PREFIX[@GW] [MAC|U:SEED][@VLAN]
//   HOSTIF [-i GUESTIF] [-l LOCALIF] GUEST dhcp|udhcpc|dhclient|dhcpcd[-f][:OPTS] [MAC][@VLAN]
//   route|rule|tc GUEST ARGS...        detach GUEST [-i GUESTIF] [--force]        --wait [-i GUESTIF]
//
// pipework only took -i/-l/-a in that order right after HOSTIF; we take them
// anywhere before the route/rule/tc arguments, with the same meaning. Our own
// long flags (--json, --dry-run, ...) are accepted anywhere too, except after
// `tc GUEST`: those words are tc's (tc has its own -json).
import {
  UsageError, AttachArgs, checkAttach, parseAddress, parseDhcp, parseFamily, parseIfname, parseMacVlan, parseMs, parseUint,
} from './args-common';
import type { NormalizedSpec } from '../ops/attach/spec';
import { PIPEWORK_OPTIONS } from './pipework-options';
import { didYouMean } from './suggest';

export type Parsed =
  | ({ kind: 'attach'; spec: NormalizedSpec; json: boolean; dryRun: boolean; watchMs: number; repair: boolean } & Verbosity)
  | ({ kind: 'detach'; guest: string; guestIf?: string; json: boolean; force?: boolean } & Verbosity)
  | { kind: 'route'; guest: string; args: string[]; json: boolean }
  | { kind: 'rule'; guest: string; args: string[]; json: boolean }
  | { kind: 'tc'; guest: string; args: string[] }
  | { kind: 'wait'; guestIf: string; timeoutMs: number; json: boolean }
  | { kind: 'help' };

export type ParsedKind = Parsed['kind'];

/** How much a change command prints on success: nothing (the default, as pipework), its summary (-v), not even warnings (-q). */
export interface Verbosity {
  verbose?: true;
  quiet?: true;
}

/** -v / -q as Verbosity (only the keys given); both at once is a usage error. */
export function verbosity(verbose: boolean, quiet: boolean): Verbosity {
  if (verbose && quiet) throw new UsageError('--verbose and --quiet exclude each other');
  return { ...(verbose ? { verbose: true as const } : {}), ...(quiet ? { quiet: true as const } : {}) };
}

/** pipework's --wait default: 30 s, then exit 7. */
export const DEFAULT_WAIT_MS = 30_000;

type Flag = 'json' | 'dryRun' | 'repair' | 'directPhys' | 'wait' | 'noArp' | 'ipv6LinkLocal' | 'help' | 'force' | 'watch' | 'owner' | 'timeout' | 'mtu' | 'guestIf' | 'hostEnd' | 'family' | 'verbose' | 'quiet';

/**
 * Every flag: its spelling(s), the key it sets, whether it takes a value;
 * made from the registry's description of the default command (the long
 * name, camel-cased, is the key).
 */
const FLAGS: Record<string, { key: Flag; value: boolean }> = {};
for (const o of PIPEWORK_OPTIONS) {
  const def = { key: o.name.replace(/-(\w)/g, (_, c: string) => c.toUpperCase()) as Flag, value: o.value !== undefined };
  FLAGS[`--${o.name}`] = def;
  if (o.short) FLAGS[`-${o.short}`] = def;
}

/** The flags each form accepts; anything else given is a usage error naming it. */
const APPLIES: Record<Exclude<ParsedKind, 'help'>, Flag[]> = {
  attach: ['json', 'dryRun', 'repair', 'directPhys', 'noArp', 'ipv6LinkLocal', 'watch', 'owner', 'timeout', 'mtu', 'guestIf', 'hostEnd', 'family', 'verbose', 'quiet'],
  detach: ['json', 'guestIf', 'force', 'verbose', 'quiet'],
  route: ['json'],
  rule: ['json'],
  tc: [],
  wait: ['json', 'guestIf', 'timeout'],
};

const KEYWORDS = new Set(['route', 'rule', 'tc', 'detach']);

interface Scan {
  positionals: string[];
  passthrough: string[];
  flags: Map<Flag, { spelling: string; value: string }>;
}

function takeFlag(scan: Scan, argv: string[], i: number): number {
  const tok = argv[i]!;
  const eq = tok.startsWith('--') ? tok.indexOf('=') : -1;
  const name = eq > 0 ? tok.slice(0, eq) : tok;
  const def = FLAGS[name];
  if (!def) throw new UsageError(`unknown option '${name}'${didYouMean(name, [...Object.keys(FLAGS), '--version'])}`);
  if (scan.flags.has(def.key)) throw new UsageError(`option '${name}' is given twice`);
  let value = '';
  if (def.value) {
    if (eq > 0) value = tok.slice(eq + 1);
    else {
      const next = argv[i + 1];
      // A negative number is a (wrong) value, not the next option: '--mtu -1'
      // is then refused naming -1, not as a missing value.
      if (next === undefined || (next.startsWith('-') && next.length > 1 && !/^-\d/.test(next))) throw new UsageError(`option '${name}' needs a value`);
      value = next;
      i++;
    }
  } else if (eq > 0) throw new UsageError(`option '${name}' takes no value`);
  scan.flags.set(def.key, { spelling: name, value });
  return i;
}

function scan(argv: string[]): Scan {
  const s: Scan = { positionals: [], passthrough: [], flags: new Map() };
  let endOfFlags = false;
  for (let i = 0; i < argv.length; i++) {
    const tok = argv[i]!;
    const pos = s.positionals;
    const inPassthrough = pos.length >= 2 && (pos[0] === 'route' || pos[0] === 'rule' || pos[0] === 'tc');
    if (inPassthrough) {
      // ip route/rule arguments never start with '--', so ours can be picked out; tc's cannot.
      if (pos[0] !== 'tc' && tok.startsWith('--') && FLAGS[tok.split('=')[0]!]) i = takeFlag(s, argv, i);
      else s.passthrough.push(tok);
    } else if (!endOfFlags && tok === '--') endOfFlags = true;
    else if (!endOfFlags && tok.startsWith('-') && tok.length > 1) i = takeFlag(s, argv, i);
    else pos.push(tok);
  }
  return s;
}

function checkApplies(s: Scan, kind: Exclude<ParsedKind, 'help'>, what: string): void {
  for (const [key, { spelling }] of s.flags) {
    if (!APPLIES[kind].includes(key)) throw new UsageError(`option '${spelling}' does not apply to ${what}`);
  }
}

function tooMany(extra: string[], form: string): UsageError {
  return new UsageError(`too many arguments: '${extra.join(' ')}' (expected ${form})`);
}

const ATTACH_FORM = 'HOSTIF GUEST IP/PREFIX[@GW] [MAC][@VLAN]';

function parseAttach(s: Scan): Parsed {
  checkApplies(s, 'attach', 'an attach');
  const [hostIf, guest, addr, macVlan, ...extra] = s.positionals;
  const f = (k: Flag) => s.flags.get(k)?.value;
  if (hostIf === undefined) throw new UsageError(`missing arguments: expected ${ATTACH_FORM}`);
  if (guest === undefined) throw new UsageError(`missing GUEST after host interface '${hostIf}' (expected ${ATTACH_FORM})`);
  if (addr === undefined) throw new UsageError(`missing the address for guest '${guest}': IP/PREFIX[@GW], 0/0, or dhcp|udhcpc|dhclient|dhcpcd`);
  if (extra.length) throw tooMany(extra, ATTACH_FORM);

  const spec: AttachArgs = { hostIf, guest };
  const family = f('family') !== undefined ? parseFamily(f('family')!) : undefined;
  const dhcp = parseDhcp(addr);
  if (dhcp) {
    if (f('timeout') !== undefined) dhcp.timeoutMs = parseUint('--timeout', f('timeout')!, 100, 600_000);
    spec.dhcp = dhcp;
  } else {
    if (f('timeout') !== undefined) throw new UsageError("option '--timeout' applies to a DHCP attach (the lease wait) or to --wait");
    Object.assign(spec, parseAddress(addr));
  }
  if (macVlan !== undefined) Object.assign(spec, parseMacVlan(macVlan));
  if (f('guestIf') !== undefined) spec.guestIf = f('guestIf')!;
  if (f('hostEnd') !== undefined) spec.hostEnd = f('hostEnd')!;
  if (s.flags.has('directPhys')) spec.directPhys = true;
  if (s.flags.has('noArp')) spec.arp = false;
  if (s.flags.has('ipv6LinkLocal')) spec.ipv6LinkLocal = true;
  if (f('mtu') !== undefined) spec.mtu = parseUint('--mtu', f('mtu')!, 68, 65535);
  if (f('owner') !== undefined) spec.owner = f('owner')!;
  const watchMs = f('watch') !== undefined ? parseMs('--watch', f('watch')!) : 0;
  if (s.flags.has('repair') && watchMs === 0) throw new UsageError("option '--repair' needs --watch MS (it repairs what happens while watching)");
  if (watchMs > 0) Object.assign(spec, { watchMs, repair: s.flags.has('repair') });
  return { kind: 'attach', spec: checkAttach(spec, { family }), json: s.flags.has('json'), dryRun: s.flags.has('dryRun'), watchMs, repair: s.flags.has('repair'), ...verbosity(s.flags.has('verbose'), s.flags.has('quiet')) };
}

/**
 * How many positional words pipework's grammar sees in argv (HOSTIF, GUEST,
 * address, ...): the options and their values are not counted. A command
 * line the scanner refuses counts its words that do not start with '-'.
 */
export function positionalWords(argv: readonly string[]): number {
  try {
    return scan([...argv]).positionals.length;
  } catch {
    return argv.filter((w) => !w.startsWith('-')).length;
  }
}

/** Parses pipework's command line (argv without node and the script). Throws UsageError. */
export function parsePipeworkArgs(argv: readonly string[]): Parsed {
  const s = scan([...argv]);
  if (s.flags.has('help')) return { kind: 'help' };
  const json = s.flags.has('json');
  const guestIf = s.flags.get('guestIf')?.value;

  if (s.flags.has('wait')) {
    s.flags.delete('wait');
    checkApplies(s, 'wait', '--wait');
    if (s.positionals.length) throw tooMany(s.positionals, '--wait [-i GUESTIF] [--timeout MS]');
    const t = s.flags.get('timeout')?.value;
    return { kind: 'wait', guestIf: guestIf === undefined ? 'eth1' : parseIfname('-i GUESTIF', guestIf), timeoutMs: t === undefined ? DEFAULT_WAIT_MS : parseMs('--timeout', t), json };
  }

  const word = s.positionals[0];
  if (word === undefined || !KEYWORDS.has(word)) return parseAttach(s);
  const guest = s.positionals[1];
  if (word === 'detach') {
    checkApplies(s, 'detach', 'detach');
    if (guest === undefined) throw new UsageError('detach needs GUEST: pipewright detach GUEST [-i GUESTIF]');
    if (s.positionals.length > 2) throw tooMany(s.positionals.slice(2), 'detach GUEST [-i GUESTIF]');
    return { kind: 'detach', guest, ...(guestIf !== undefined ? { guestIf: parseIfname('-i GUESTIF', guestIf) } : {}), json, ...(s.flags.has('force') ? { force: true } : {}), ...verbosity(s.flags.has('verbose'), s.flags.has('quiet')) };
  }
  const kind = word as 'route' | 'rule' | 'tc';
  checkApplies(s, kind, kind);
  if (guest === undefined) throw new UsageError(`${kind} needs GUEST: pipewright ${kind} GUEST ${kind.toUpperCase()}-ARGS...`);
  if (kind === 'tc') {
    if (s.passthrough.length === 0) throw new UsageError('tc needs arguments, e.g. pipewright tc GUEST qdisc show');
    return { kind, guest, args: s.passthrough };
  }
  return { kind, guest, args: s.passthrough, json };
}
