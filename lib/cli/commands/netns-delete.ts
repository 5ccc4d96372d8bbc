// `pipewright netns delete NAME [--timeout MS] [--json]`: removes the name
// (unmount and unlink, which also detaches copies in other mount namespaces)
// and exits 0 only once the namespace is really gone; otherwise 4, naming
// what still holds it.
import { Io, line, printJson, processIo, reportError } from '../report';
import { EXIT } from '../exit-codes';
import { parseArgs } from '../../forensics/argv';
import { invalidArgument } from '../../errors';

export async function run(args: readonly string[], io: Io = processIo): Promise<number> {
  const json = args.includes('--json');
  try {
    const a = parseArgs(args, { flags: ['json'], options: ['timeout'], positional: [1, 1] });
    const timeout = a.options.get('timeout');
    if (timeout !== undefined && !/^\d+$/.test(timeout)) throw invalidArgument('--timeout', timeout, 'must be milliseconds');
    const { deleteNamedNetns, NetnsBusyError } = await import('../../forensics/delete');
    try {
      const r = await deleteNamedNetns(a.positional[0]!, timeout !== undefined ? { timeoutMs: Number(timeout) } : {});
      if (json) printJson(io, r);
      else line(io.stdout, r.stale ? `removed the stale name ${r.path}` : `deleted ${r.name}: namespace ${r.id} is gone`);
      return EXIT.OK;
    } catch (e) {
      if (!(e instanceof NetnsBusyError)) throw e;
      line(io.stderr, `pipewright: ${e.message}`);
      if (json) printJson(io, { error: { code: e.code, message: e.message, holders: e.holders, exitCode: EXIT.FAILED } });
      return EXIT.FAILED;
    }
  } catch (e) {
    return reportError(e, io, { json });
  }
}
