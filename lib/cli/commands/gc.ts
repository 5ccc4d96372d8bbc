// `pipewright gc [--owner OWNER] [--dry-run] [--complete] [--netns NAME|PATH] [--json]`:
// removes leaked pipewright-owned links (one batched request), rolls back
// attaches that crashed (the ownership journal), and releases guest
// namespaces kept only by stray mounts; --dry-run lists exactly that;
// --complete runs each rolled-back attach again from its journal entry.
import { printJson, reportError } from '../report';
import { EXIT } from '../exit-codes';
import type { CommandContext } from '../registry';
import { invalidArgument } from '../../core/errors';
import { gc } from '../../ops/forensics/gc';
import { formatGc } from '../../ops/forensics/render/report';

export async function run({ argv: args, args: a, io }: CommandContext): Promise<number> {
  const json = args.includes('--json');
  try {
    if (a.flags.has('complete') && a.flags.has('dry-run')) throw invalidArgument('--complete', true, 'cannot be combined with --dry-run (a dry run lists the rollbacks; --complete runs the attaches again after them)');
    const owner = a.options.get('owner');
    const netns = a.options.get('netns');
    const r = await gc({ dryRun: a.flags.has('dry-run'), complete: a.flags.has('complete'), ...(owner !== undefined ? { owner } : {}), ...(netns !== undefined ? { netns } : {}) });
    if (json) printJson(io, r);
    else io.stdout.write(formatGc(r));
    const failed = r.namespaces.some((n) => n.remaining.length > 0) || r.attachments.some((x) => x.failed.length > 0 || (x.completed !== undefined && 'error' in x.completed));
    return failed ? EXIT.FAILED : EXIT.OK;
  } catch (e) {
    return reportError(e, io, { json });
  }
}
