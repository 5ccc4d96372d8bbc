// `pipewright apply FILE|- [--create-netns] [--dry-run] [--json]`: a host's
// topology from a YAML or JSON file (bridges, overlays, guests), applied as
// one plan with one undo. The plan is made first (read-only); --dry-run
// prints it and stops, -v prints it and runs it. Re-applying a changed file
// converges: what is new is added, what this topology made and the file no
// longer names is removed — said on stderr before it happens (unless -q),
// since a removal is what an operator should not miss.
import type { CommandContext } from '../registry';
import { line, printJson } from '../report';
import { EXIT } from '../exit-codes';
import { verbosity } from '../pipework-args';
import { readTopologyFile } from '../topology-file';

export async function run({ args: a, io }: CommandContext): Promise<number> {
  const json = a.flags.has('json');
  const dryRun = a.flags.has('dry-run');
  const { verbose, quiet } = verbosity(a.flags.has('verbose'), a.flags.has('quiet'));
  const t = readTopologyFile(a.positional[0]!);
  if (a.flags.has('create-netns')) t.createNetns = true;
  // Lazy: the topology operations load only when this command runs.
  const { applyTopology, normalizeTopology } = await import('../../ops/overlay/topology');
  normalizeTopology(t); // every field checked before anything is read from the kernel
  // Plan first (read-only): the plan shown is the plan run.
  const plan = await applyTopology(t, { dryRun: true });
  if (!json && (dryRun || verbose)) {
    if (!plan.changed) line(io.stdout, `topology ${plan.topology}: already as declared (nothing changed)`);
    else {
      line(io.stdout, `plan for topology ${plan.topology}:`);
      plan.plan.forEach((s, i) => line(io.stdout, `  ${i + 1}. ${s}`));
    }
  }
  if (dryRun || !plan.changed) {
    if (json) printJson(io, plan);
    return EXIT.OK;
  }
  const removals = [...plan.guests.detached.map((g) => `guest ${g}`), ...plan.removed.overlays.map((o) => `overlay ${o}`), ...plan.removed.bridges.map((b) => `bridge ${b}`)];
  if (removals.length && !quiet && !json && !verbose) line(io.stderr, `pipewright: apply ${plan.topology}: removing what the topology no longer names: ${removals.join('; ')}`);
  const r = await applyTopology(t);
  if (json) printJson(io, r);
  else if (verbose) line(io.stdout, `applied topology ${r.topology}: ${r.plan.length} steps, verified`);
  return EXIT.OK;
}
