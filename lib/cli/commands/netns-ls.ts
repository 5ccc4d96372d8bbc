// `pipewright netns ls [--all] [--json]`: every network namespace on the host,
// de-duplicated by inode, with its holders (processes, mounts in any mount
// namespace, fds), names, interface count and addresses. Without --all the
// live ones (a process inside, or a name); --all adds orphans kept only by
// fds or mounts.
import { printJson, reportError } from '../report';
import { EXIT } from '../exit-codes';
import { scanNamespaces } from '../../ops/forensics/scan';
import { formatNetnsList } from '../../ops/forensics/render/report';
import type { CommandContext } from '../registry';

export async function run({ argv: args, args: a, io }: CommandContext): Promise<number> {
  const json = args.includes('--json');
  try {
    const scan = await scanNamespaces({ all: a.flags.has('all') });
    if (json) printJson(io, scan);
    else io.stdout.write(formatNetnsList(scan));
    return EXIT.OK;
  } catch (e) {
    return reportError(e, io, { json });
  }
}
