// `pipewright overlay NAME --vni N --dev IF --local IP --peers IP[,IP…] [--port N] [--bridge BR] [--mtu N] [--fix-mtu]`:
// a VXLAN overlay as declared (overlay.apply): the device (learning off,
// explicit dstport) up on its bridge, its flood list exactly the peers (an
// empty --peers '' floods to nobody). `--show` prints it, `--delete`
// removes it (only pipewright's). Applying and deleting are silent on
// success unless -v; --dry-run prints the plan, --json the result.
import type { CommandContext } from '../registry';
import type { ParsedArgs } from '../options';
import { Io, line, printJson } from '../report';
import { EXIT } from '../exit-codes';
import { parseUint, UsageError } from '../args-common';
import { verbosity } from '../pipework-args';
import { printApplied } from '../applied-output';

type OverlayOps = typeof import('../../ops/overlay')['overlay'];

const APPLY_ONLY = ['vni', 'dev', 'local', 'peers', 'port', 'bridge', 'mtu', 'fix-mtu'];

export async function run({ args: a, io }: CommandContext): Promise<number> {
  const name = a.positional[0]!;
  const json = a.flags.has('json');
  const dryRun = a.flags.has('dry-run');
  const { verbose } = verbosity(a.flags.has('verbose'), a.flags.has('quiet'));
  const show = a.flags.has('show');
  const del = a.flags.has('delete');
  if (show || del) {
    if (show && del) throw new UsageError('overlay: --show and --delete exclude each other', 'overlay');
    const verb = show ? '--show' : '--delete';
    const given = [...a.options.keys(), ...a.flags].filter((k) => APPLY_ONLY.includes(k) || (show && (k === 'owner' || k === 'dry-run')));
    if (given.length) throw new UsageError(`overlay: ${verb} takes no --${given[0]}`, 'overlay');
  }
  // Lazy: the overlay operations load only when this command runs.
  const { overlay } = await import('../../ops/overlay');
  if (show) return showOverlay(overlay, name, json, io);
  if (del) {
    const owner = a.options.get('owner');
    const r = await overlay.delete(name, { dryRun, ...(owner !== undefined ? { owner } : {}) });
    if (json) printJson(io, r);
    else if (verbose || dryRun)
      line(io.stdout, r.status === 'absent' ? `overlay ${name}: not there (nothing to delete)` : `${r.status === 'would-delete' ? 'would delete' : 'deleted'} overlay ${name}${r.peers.length ? ` (it flooded to ${r.peers.join(', ')})` : ''}`);
    return EXIT.OK;
  }
  const r = await overlay.apply(applySpec(name, a), { dryRun });
  if (json) printJson(io, r);
  else if (!r.changed) {
    if (verbose || dryRun) line(io.stdout, `overlay ${r.name}: already as declared, flooding to ${r.peers.join(', ') || 'nobody'} (nothing changed)`);
  } else printApplied(io, r.plan, { dryRun, verbose: !!verbose });
  return EXIT.OK;
}

/** overlay.apply's spec from the options; the values themselves are checked by the operation (exit 2 naming the field). */
function applySpec(name: string, a: ParsedArgs) {
  const o = a.options;
  for (const k of ['vni', 'dev', 'local', 'peers']) if (!o.has(k)) throw new UsageError(`overlay ${name}: --${k} is required (or --show, --delete)`, 'overlay');
  return {
    name,
    vni: parseUint('--vni', o.get('vni')!, 0, Number.MAX_SAFE_INTEGER),
    dev: o.get('dev')!,
    local: o.get('local')!,
    peers: o.get('peers')!.split(',').map((p) => p.trim()).filter((p) => p !== ''),
    ...(o.has('port') ? { port: parseUint('--port', o.get('port')!, 0, Number.MAX_SAFE_INTEGER) } : {}),
    ...(o.has('bridge') ? { bridge: o.get('bridge')! } : {}),
    ...(o.has('mtu') ? { mtu: parseUint('--mtu', o.get('mtu')!, 68, 65535) } : {}),
    ...(o.has('owner') ? { owner: o.get('owner')! } : {}),
    ...(a.flags.has('fix-mtu') ? { fixMtu: true } : {}),
  };
}

async function showOverlay(overlay: OverlayOps, name: string, json: boolean, io: Io): Promise<number> {
  const info = await overlay.show(name);
  if (json) {
    printJson(io, info);
    return EXIT.OK;
  }
  line(io.stdout, `${info.name}: vni ${info.vni} dstport ${info.port} dev ${info.dev ?? '-'} local ${info.local ?? '-'} learning ${info.learning ? 'on' : 'off'} mtu ${info.mtu} ${info.up ? 'up' : 'down'}${info.bridge ? ` on ${info.bridge}` : ''}`);
  line(io.stdout, `  floods to: ${info.peers.join(', ') || 'nobody'}${info.otherEntries ? ` (+${info.otherEntries} other FDB entries)` : ''}`);
  line(io.stdout, `  ${info.owned ? `pipewright's (owner ${info.owned.owner}${info.owned.topology ? `, topology ${info.owned.topology}` : ''})` : 'not made by pipewright'}`);
  return EXIT.OK;
}
