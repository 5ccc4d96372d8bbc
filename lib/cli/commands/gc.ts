// `pipewright gc [--owner OWNER] [--dry-run] [--netns NAME|PATH] [--json]`:
// removes leaked pipewright-owned links (one batched request) and guest
// namespaces kept only by stray mounts; --dry-run lists them.
import { Io, printJson, processIo, reportError } from '../report';
import { EXIT } from '../exit-codes';
import { parseArgs } from '../../forensics/argv';

export async function run(args: readonly string[], io: Io = processIo): Promise<number> {
  const json = args.includes('--json');
  try {
    const a = parseArgs(args, { flags: ['json', 'dry-run'], options: ['owner', 'netns'] });
    const { gc } = await import('../../forensics/gc');
    const owner = a.options.get('owner');
    const netns = a.options.get('netns');
    const r = await gc({ dryRun: a.flags.has('dry-run'), ...(owner !== undefined ? { owner } : {}), ...(netns !== undefined ? { netns } : {}) });
    if (json) printJson(io, r);
    else io.stdout.write((await import('../../forensics/render/report')).formatGc(r));
    return r.namespaces.some((n) => n.remaining.length > 0) ? EXIT.FAILED : EXIT.OK;
  } catch (e) {
    return reportError(e, io, { json });
  }
}
