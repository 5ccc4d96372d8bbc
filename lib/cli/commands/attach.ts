// `pipewright attach --host-if ... --guest ...` (the named-option form) and
// the runner shared with pipework's positional form: attach(), or
// planAttach() for --dry-run, and their output.
import type { AttachResult, PlanResult } from '../../ops/attach';
import type { CommandContext } from '../registry';
import { Parsed, verbosity } from '../pipework-args';
import { Io, line, printJson } from '../report';
import { withRefs } from '../../ops/attach/spec';
import { EXIT } from '../exit-codes';
import {
  UsageError, AttachArgs, CLI_WORD, checkAttach, parseAddress, parseDhcp, parseFamily, parseMac, parseMs, parseUint, parseVlan,
} from '../args-common';

/** The named form's spellings, in errors from the spec builder. */
const OPTION_WORD = { ...CLI_WORD, guestIf: '--guest-if', hostEnd: '--host-end' };

export type AttachParsed = Extract<Parsed, { kind: 'attach' }>;

interface AttachOptions {
  hostIf: string;
  guest: string;
  guestIf?: string;
  hostEnd?: string;
  address?: string;
  gateway?: string;
  family?: string;
  mac?: string;
  vlan?: string;
  directPhys?: boolean;
  mtu?: string;
  dhcp?: string;
  timeout?: string;
  arp: boolean;
  ipv6LinkLocal?: boolean;
  owner?: string;
  json?: boolean;
  dryRun?: boolean;
  watch?: string;
  repair?: boolean;
  verbose?: boolean;
  quiet?: boolean;
}

/** Named options → the same request the positional grammar produces. */
export function attachFromOptions(o: AttachOptions): AttachParsed {
  const spec: AttachArgs = { hostIf: o.hostIf, guest: o.guest };
  let family: 4 | 6 | undefined;
  if (o.dhcp !== undefined) {
    if (o.address !== undefined || o.gateway !== undefined) throw new UsageError('--dhcp excludes --address and --gateway');
    const d = parseDhcp(o.dhcp);
    if (!d) throw new UsageError(`--dhcp: '${o.dhcp}' is not a DHCP client (dhcp, udhcpc, dhclient or dhcpcd, optionally -f and :OPTIONS)`);
    if (o.timeout !== undefined) d.timeoutMs = parseUint('--timeout', o.timeout, 100, 600_000);
    spec.dhcp = d;
  } else {
    if (o.timeout !== undefined) throw new UsageError('--timeout applies to --dhcp (the lease wait)');
    family = o.family !== undefined ? parseFamily(o.family) : undefined;
    if (o.gateway !== undefined && o.address === undefined) throw new UsageError('--gateway needs --address');
    if (o.gateway !== undefined && o.address!.includes('@')) throw new UsageError('the gateway is given twice (--address ...@GW and --gateway)');
    if (o.address !== undefined) Object.assign(spec, parseAddress(o.gateway !== undefined ? `${o.address}@${o.gateway}` : o.address));
  }
  if (o.guestIf !== undefined) spec.guestIf = o.guestIf;
  if (o.hostEnd !== undefined) spec.hostEnd = o.hostEnd;
  if (o.mac !== undefined) spec.mac = parseMac(o.mac);
  if (o.vlan !== undefined) spec.vlan = parseVlan(o.vlan);
  if (o.directPhys) spec.directPhys = true;
  if (o.mtu !== undefined) spec.mtu = parseUint('--mtu', o.mtu, 68, 65535);
  if (!o.arp) spec.arp = false;
  if (o.ipv6LinkLocal) spec.ipv6LinkLocal = true;
  if (o.owner !== undefined) spec.owner = o.owner;
  const watchMs = o.watch !== undefined ? parseMs('--watch', o.watch) : 0;
  if (o.repair && watchMs === 0) throw new UsageError('--repair needs --watch MS (it repairs what happens while watching)');
  if (watchMs > 0) Object.assign(spec, { watchMs, repair: !!o.repair });
  return { kind: 'attach', spec: checkAttach(spec, { family, words: OPTION_WORD }), json: !!o.json, dryRun: !!o.dryRun, watchMs, repair: !!o.repair, ...verbosity(!!o.verbose, !!o.quiet) };
}

/** `pipewright attach --host-if ... --guest ...`: the options, as the registry parsed them. */
export async function run({ args, io }: CommandContext): Promise<number> {
  const o = (name: string) => args.options.get(name);
  for (const required of ['host-if', 'guest']) if (o(required) === undefined) throw new UsageError(`attach: missing the required option '--${required}'`);
  const f = (name: string) => args.flags.has(name);
  const opts: AttachOptions = { hostIf: o('host-if')!, guest: o('guest')!, arp: !f('no-arp') };
  const named: Array<[keyof AttachOptions, string]> = [
    ['guestIf', 'guest-if'], ['hostEnd', 'host-end'], ['address', 'address'], ['gateway', 'gateway'], ['family', 'family'], ['mac', 'mac'],
    ['vlan', 'vlan'], ['mtu', 'mtu'], ['dhcp', 'dhcp'], ['timeout', 'timeout'], ['owner', 'owner'], ['watch', 'watch'],
  ];
  for (const [key, name] of named) if (o(name) !== undefined) Object.assign(opts, { [key]: o(name) });
  const flags: Array<[keyof AttachOptions, string]> = [['directPhys', 'direct-phys'], ['ipv6LinkLocal', 'ipv6-link-local'], ['json', 'json'], ['dryRun', 'dry-run'], ['repair', 'repair'], ['verbose', 'verbose'], ['quiet', 'quiet']];
  for (const [key, name] of flags) if (f(name)) Object.assign(opts, { [key]: true });
  return runAttach(attachFromOptions(opts), io);
}

function printPlan(io: Io, plan: PlanResult): void {
  if (plan.alreadyInPlace) {
    line(io.stdout, `dry run (${plan.mode} mode): the attachment is already in place; nothing to do`);
    return;
  }
  line(io.stdout, `dry run (${plan.mode} mode): nothing was changed. These steps would run, in order:`);
  plan.steps.forEach((s, i) => line(io.stdout, `  ${i + 1}. ${s}`));
  line(io.stdout, 'If a step failed, this would be undone, in order:');
  if (plan.undo.length === 0) line(io.stdout, '  (nothing: no step creates anything)');
  plan.undo.forEach((s, i) => line(io.stdout, `  ${i + 1}. ${s}`));
}

/** The summary (-v): each step done, then the guest, its host end and any DHCP lease. */
function printSummary(io: Io, r: AttachResult): void {
  for (const s of r.steps) line(io.stdout, `done: ${s}`);
  const g = r.guest;
  const facts = [`index ${g.index}`, g.mac && `mac ${g.mac}`, g.mtu && `mtu ${g.mtu}`].filter(Boolean).join(', ');
  const addrs = g.addresses.filter((a) => !a.startsWith('fe80:')).join(', ') || 'no address';
  const head = r.status === 'already-attached' ? 'already attached (nothing was changed)' : 'attached';
  line(io.stdout, `${head}: guest ${g.ref} ${g.ifname} (${facts}): ${addrs}${g.gateway ? `, default via ${g.gateway}` : ''}`);
  const hostIf = `${r.hostIf.kind ?? 'device'} ${r.hostIf.name} (index ${r.hostIf.index}${r.hostIf.created ? ', created' : ''})`;
  if (r.hostEnd) line(io.stdout, `  host end ${r.hostEnd.name} (index ${r.hostEnd.index}, ${r.hostEnd.up ? 'up' : 'DOWN'}) on ${hostIf}`);
  else line(io.stdout, `  ${r.mode} on ${hostIf}`);
  if (r.dhcp) {
    const d = r.dhcp;
    line(io.stdout, `  dhcp: ${d.client} leased ${d.address}/${d.prefixLen}${d.gateway ? ` via ${d.gateway}` : ''}${d.pid ? ` (client pid ${d.pid})` : ''}`);
    // Where the lease's DNS servers are, and how the guest's resolver gets them.
    line(io.stdout, `  resolv.conf: ${d.netnsResolvConf ? `${d.netnsResolvConf} -> ${d.resolvConf}` : d.resolvConf} (${d.resolvConfUse})`);
  }
}

/** Warnings and what happened while watching, on stderr (not with -q). */
function printNotes(io: Io, r: AttachResult): void {
  for (const w of r.warnings) line(io.stderr, `pipewright: warning: ${w}`);
  for (const i of r.incidents ?? []) line(io.stderr, `pipewright: while watching, +${i.atMs} ms: ${i.what}${i.repaired ? ' (repaired)' : ''}`);
}

export async function runAttach(p: AttachParsed, io: Io): Promise<number> {
  // Lazy: this module loads for every commander command (help, route ...); the attach stack only to attach (~4 ms CPU).
  const { attach, planAttach } = await import('../../ops/attach');
  // In the engine, a watch ends when its caller goes away (nobody is left to read its report).
  const spec = p.watchMs > 0 && io.signal && !p.spec.watchSignal ? withRefs(p.spec, { watchSignal: io.signal }) : p.spec;
  if (p.dryRun) {
    const plan = await planAttach(spec);
    if (p.json) printJson(io, { dryRun: true, ...plan });
    else printPlan(io, plan);
    return EXIT.OK;
  }
  const r = await attach(spec);
  if (p.json) printJson(io, r);
  else if (p.verbose) printSummary(io, r);
  if (!p.quiet && !p.json) printNotes(io, r);
  // Watched and something undid the attachment that was not put back: it is not as asked any more.
  const unrepaired = (r.incidents ?? []).filter((i) => !i.repaired);
  if (unrepaired.length) {
    line(io.stderr, `pipewright: the attachment was undone while watched and not repaired (${unrepaired.map((i) => i.what).join('; ')})`);
    return EXIT.VERIFY_FAILED;
  }
  return EXIT.OK;
}
