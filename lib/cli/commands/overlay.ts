// `pipewright overlay NAME --vni N --dev IF --local IP --peers IP[,IP…] [--port N] [--bridge BR] [--mtu N] [--fix-mtu]`:
// a VXLAN overlay as declared (overlay.apply): the device (learning off,
// explicit dstport) up on its bridge, its flood list exactly the peers (an
// empty --peers '' floods to nobody). `--show` prints it, `--delete`
// removes it (only pipewright's). --dry-run and --json everywhere.
import { Io, line, printJson, processIo, reportError } from '../report';
import { EXIT } from '../exit-codes';
import { parseArgs } from '../../ops/forensics/argv';
import { parseUint, UsageError } from '../args-common';

export const usage = [
  'pipewright overlay NAME --vni N --dev IF --local IP --peers IP[,IP...] [--port N] [--bridge BR] [--mtu N] [--fix-mtu] [--owner O] [--dry-run] [--json]',
  'pipewright overlay NAME --show [--json]',
  'pipewright overlay NAME --delete [--owner O] [--dry-run] [--json]',
].join('\n');

const APPLY_OPTIONS = ['vni', 'dev', 'local', 'peers', 'port', 'bridge', 'mtu', 'owner'];

export async function run(args: readonly string[], io: Io = processIo): Promise<number> {
  const json = args.includes('--json');
  const dryRun = args.includes('--dry-run');
  try {
    const a = parseArgs(args, { flags: ['json', 'dry-run', 'show', 'delete', 'fix-mtu'], options: APPLY_OPTIONS, positional: [1, 1] });
    const name = a.positional[0]!;
    const o = a.options;
    const { overlay } = await import('../../ops/overlay');
    if (a.flags.has('show') || a.flags.has('delete')) {
      const verb = a.flags.has('show') ? '--show' : '--delete';
      const extra = [...o.keys()].filter((k) => !(verb === '--delete' && k === 'owner'));
      if (a.flags.has('show') && a.flags.has('delete')) throw new UsageError('--show and --delete exclude each other');
      if (extra.length) throw new UsageError(`${verb} takes no --${extra[0]}`);
      if (a.flags.has('show')) {
        const info = await overlay.show(name);
        if (json) printJson(io, info);
        else {
          line(io.stdout, `${info.name}: vni ${info.vni} dstport ${info.port} dev ${info.dev ?? '-'} local ${info.local ?? '-'} learning ${info.learning ? 'on' : 'off'} mtu ${info.mtu} ${info.up ? 'up' : 'down'}${info.bridge ? ` on ${info.bridge}` : ''}`);
          line(io.stdout, `  floods to: ${info.peers.join(', ') || 'nobody'}${info.otherEntries ? ` (+${info.otherEntries} other FDB entries)` : ''}`);
          line(io.stdout, `  ${info.owned ? `pipewright's (owner ${info.owned.owner}${info.owned.topology ? `, topology ${info.owned.topology}` : ''})` : 'not made by pipewright'}`);
        }
        return EXIT.OK;
      }
      const r = await overlay.delete(name, { dryRun, ...(o.has('owner') ? { owner: o.get('owner')! } : {}) });
      if (json) printJson(io, r);
      else line(io.stdout, r.status === 'absent' ? `overlay ${name}: not there (nothing to delete)` : `${r.status === 'would-delete' ? 'would delete' : 'deleted'} overlay ${name}${r.peers.length ? ` (it flooded to ${r.peers.join(', ')})` : ''}`);
      return EXIT.OK;
    }
    for (const k of ['vni', 'dev', 'local', 'peers']) if (!o.has(k)) throw new UsageError(`overlay ${name}: --${k} is required (or --show, --delete)`);
    const peers = o.get('peers')!.split(',').map((p) => p.trim()).filter((p) => p !== '');
    const spec = {
      name,
      vni: parseUint('--vni', o.get('vni')!, 0, Number.MAX_SAFE_INTEGER),
      dev: o.get('dev')!,
      local: o.get('local')!,
      peers,
      ...(o.has('port') ? { port: parseUint('--port', o.get('port')!, 0, Number.MAX_SAFE_INTEGER) } : {}),
      ...(o.has('bridge') ? { bridge: o.get('bridge')! } : {}),
      ...(o.has('mtu') ? { mtu: parseUint('--mtu', o.get('mtu')!, 68, 65535) } : {}),
      ...(o.has('owner') ? { owner: o.get('owner')! } : {}),
      ...(a.flags.has('fix-mtu') ? { fixMtu: true } : {}),
    };
    const r = await overlay.apply(spec, { dryRun });
    if (json) printJson(io, r);
    else if (!r.changed) line(io.stdout, `overlay ${r.name}: already as declared, flooding to ${r.peers.join(', ') || 'nobody'} (nothing changed)`);
    else for (const s of r.plan) line(io.stdout, `${dryRun ? 'would ' : ''}${s}`);
    return EXIT.OK;
  } catch (e) {
    return reportError(e, io, { json, dryRun });
  }
}
