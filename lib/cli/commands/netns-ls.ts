// `pipewright netns ls [--all] [--json]`: every network namespace on the host,
// de-duplicated by inode, with its holders (processes, mounts in any mount
// namespace, fds), names, interface count and addresses. Without --all the
// live ones (a process inside, or a name); --all adds orphans kept only by
// fds or mounts.
import { printJson, reportError } from '../report';
import { EXIT } from '../exit-codes';
import type { CommandContext } from '../registry';

export async function run({ argv: args, args: a, io }: CommandContext): Promise<number> {
  const json = args.includes('--json');
  try {
    const { scanNamespaces } = await import('../../ops/forensics/scan');
    const scan = await scanNamespaces({ all: a.flags.has('all') });
    if (json) printJson(io, scan);
    else io.stdout.write((await import('../../ops/forensics/render/report')).formatNetnsList(scan));
    return EXIT.OK;
  } catch (e) {
    return reportError(e, io, { json });
  }
}
