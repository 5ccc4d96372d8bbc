// `pipewright apply FILE|- [--dry-run] [--json]`: a host's topology from a
// YAML or JSON file (bridges, overlays, guests), applied as one plan with
// one undo. The plan is printed first; --dry-run stops there. Re-applying
// a changed file converges: what is new is added, what this topology made
// and the file no longer names is removed.
import { Io, line, printJson, processIo, reportError } from '../report';
import { EXIT } from '../exit-codes';
import { parseArgs } from '../../ops/forensics/argv';
import { readTopologyFile } from '../topology-file';

export const usage = 'pipewright apply FILE|- [--create-netns] [--dry-run] [--json]';

export async function run(args: readonly string[], io: Io = processIo): Promise<number> {
  const json = args.includes('--json');
  const dryRun = args.includes('--dry-run');
  try {
    const a = parseArgs(args, { flags: ['json', 'dry-run', 'create-netns'], positional: [1, 1] });
    const t = readTopologyFile(a.positional[0]!);
    if (a.flags.has('create-netns')) t.createNetns = true;
    const { applyTopology, normalizeTopology } = await import('../../ops/overlay/topology');
    normalizeTopology(t); // every field checked before anything is read from the kernel
    // Plan first (read-only), print it, then run it: the plan shown is the plan run.
    const plan = await applyTopology(t, { dryRun: true });
    if (!json) {
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
    const r = await applyTopology(t);
    if (json) printJson(io, r);
    else line(io.stdout, `applied topology ${r.topology}: ${r.plan.length} steps, verified`);
    return EXIT.OK;
  } catch (e) {
    return reportError(e, io, { json, dryRun });
  }
}
