// `pipewright bridge NAME [--address CIDR] [--mtu N] [--stp on|off] [--owner O] [--dry-run] [--json]`:
// a bridge as declared, idempotently (bridge.ensure): created up and marked
// as pipewright's when missing, with its gateway address; run again, it
// changes nothing and says so.
import { Io, line, printJson, processIo, reportError } from '../report';
import { EXIT } from '../exit-codes';
import { parseArgs } from '../../ops/forensics/argv';
import { parseUint, UsageError } from '../args-common';

export const usage = 'pipewright bridge NAME [--address CIDR] [--mtu N] [--stp on|off] [--owner O] [--dry-run] [--json]';

export function onOff(flag: string, text: string): boolean {
  if (text === 'on') return true;
  if (text === 'off') return false;
  throw new UsageError(`${flag} must be 'on' or 'off', not '${text}'`);
}

export async function run(args: readonly string[], io: Io = processIo): Promise<number> {
  const json = args.includes('--json');
  const dryRun = args.includes('--dry-run');
  try {
    const a = parseArgs(args, { flags: ['json', 'dry-run'], options: ['address', 'mtu', 'stp', 'owner'], positional: [1, 1] });
    const o = a.options;
    const spec = {
      name: a.positional[0]!,
      ...(o.has('address') ? { address: o.get('address')! } : {}),
      ...(o.has('mtu') ? { mtu: parseUint('--mtu', o.get('mtu')!, 68, 65535) } : {}),
      ...(o.has('stp') ? { stp: onOff('--stp', o.get('stp')!) } : {}),
      ...(o.has('owner') ? { owner: o.get('owner')! } : {}),
    };
    const { bridge } = await import('../../ops/overlay');
    const r = await bridge.ensure(spec, { dryRun });
    if (json) printJson(io, r);
    else if (!r.changed) line(io.stdout, `bridge ${r.name}: already as declared (nothing changed)`);
    else for (const s of r.plan) line(io.stdout, `${dryRun ? 'would ' : ''}${s}`);
    return EXIT.OK;
  } catch (e) {
    return reportError(e, io, { json, dryRun });
  }
}
