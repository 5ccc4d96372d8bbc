// `pipewright bridge NAME [--address CIDR] [--mtu N] [--stp on|off] [--owner O] [--dry-run] [--json]`:
// a bridge as declared, idempotently (bridge.ensure): created up and marked
// as pipewright's when missing, with its gateway address; one of ours is
// adjusted in place. Silent on success, as attach: -v prints what was done,
// --dry-run what would be.
import type { CommandContext } from '../registry';
import { line, printJson } from '../report';
import { EXIT } from '../exit-codes';
import { parseUint, UsageError } from '../args-common';
import { verbosity } from '../pipework-args';
import { printApplied } from '../applied-output';

export function onOff(flag: string, text: string): boolean {
  if (text === 'on') return true;
  if (text === 'off') return false;
  throw new UsageError(`${flag} must be 'on' or 'off', not '${text}'`);
}

export async function run({ args: a, io }: CommandContext): Promise<number> {
  const o = a.options;
  const json = a.flags.has('json');
  const dryRun = a.flags.has('dry-run');
  const { verbose } = verbosity(a.flags.has('verbose'), a.flags.has('quiet'));
  const spec = {
    name: a.positional[0]!,
    ...(o.has('address') ? { address: o.get('address')! } : {}),
    ...(o.has('mtu') ? { mtu: parseUint('--mtu', o.get('mtu')!, 68, 65535) } : {}),
    ...(o.has('stp') ? { stp: onOff('--stp', o.get('stp')!) } : {}),
    ...(o.has('owner') ? { owner: o.get('owner')! } : {}),
  };
  // Lazy: the overlay operations load only when this command runs.
  const { bridge } = await import('../../ops/overlay');
  const r = await bridge.ensure(spec, { dryRun });
  if (json) printJson(io, r);
  else if (!r.changed) {
    if (verbose || dryRun) line(io.stdout, `bridge ${r.name}: already as declared (nothing changed)`);
  } else printApplied(io, r.plan, { dryRun, verbose: !!verbose });
  return EXIT.OK;
}
