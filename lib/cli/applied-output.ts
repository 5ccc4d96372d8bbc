// How the declarative commands (bridge, overlay, apply) print a plan: the
// steps a dry run would take ("would create bridge br0 ..."), or, with -v,
// the steps taken. Nothing otherwise: quiet on success, as attach.
import { Io, line } from './report';

export function printApplied(io: Io, plan: readonly string[], o: { dryRun: boolean; verbose: boolean }): void {
  if (!o.dryRun && !o.verbose) return;
  for (const step of plan) line(io.stdout, `${o.dryRun ? 'would ' : ''}${step}`);
}
