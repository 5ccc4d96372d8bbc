// `pipewright netns delete NAME [--timeout MS] [--json]`: removes the name
// (unmount and unlink, which also detaches copies in other mount namespaces)
// and exits 0 only once the namespace is really gone; otherwise 4, naming
// what still holds it ("holder not visible from /proc" for a socket). A name
// that is a symbolic link or a bind mount of another kind of namespace is
// refused with exit 2, and nothing is unmounted.
import { line, printJson, reportError } from '../report';
import { EXIT } from '../exit-codes';
import type { CommandContext } from '../registry';
import { invalidArgument } from '../../core/errors';
import { deleteNamedNetns, NetnsBusyError } from '../../ops/forensics/delete';

export async function run({ argv: args, args: a, io }: CommandContext): Promise<number> {
  const json = args.includes('--json');
  try {
    const timeout = a.options.get('timeout');
    if (timeout !== undefined && !/^\d+$/.test(timeout)) throw invalidArgument('--timeout', timeout, 'must be milliseconds');
    try {
      const r = await deleteNamedNetns(a.positional[0]!, timeout !== undefined ? { timeoutMs: Number(timeout) } : {});
      if (json) printJson(io, r);
      else if (r.stale) line(io.stdout, `removed the stale name ${r.path}`);
      else if (r.confirmed) line(io.stdout, `deleted ${r.name}: namespace ${r.id} is gone`);
      else line(io.stdout, `deleted ${r.name}: no holder of namespace ${r.id} is visible in /proc (this kernel cannot confirm that no socket holds it)`);
      return EXIT.OK;
    } catch (e) {
      // Not a network namespace at all: bad input for this command, nothing was changed.
      if ((e as { code?: string }).code === 'ERR_PW_NOT_A_NETNS') return reportError(e, io, { json }, EXIT.USAGE);
      if (!(e instanceof NetnsBusyError)) throw e;
      line(io.stderr, `pipewright: ${e.message}`);
      if (json) printJson(io, { error: { code: e.code, message: e.message, holders: e.holders, exitCode: EXIT.FAILED } });
      return EXIT.FAILED;
    }
  } catch (e) {
    return reportError(e, io, { json });
  }
}
