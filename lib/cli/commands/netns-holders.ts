// `pipewright netns holders NAME|PATH|INODE [--json]`: everything keeping one
// namespace alive (processes, fds, mounts and the mount namespace each is
// in), and the command that releases each.
import { printJson, reportError } from '../report';
import { EXIT } from '../exit-codes';
import type { CommandContext } from '../registry';
import { invalidArgument } from '../../core/errors';
import { holders } from '../../ops/forensics/holders';
import { formatHolders } from '../../ops/forensics/render/report';

/** An inode ref ('4026532000', 'net:[…]', 'dev:ino') of 0 names no namespace: refused before any lookup. */
function checkRef(ref: string): string {
  const m = /^(?:\d+:(\d+)|(?:net:\[)?(\d+)\]?)$/.exec(ref);
  if (m && Number(m[1] ?? m[2]) === 0) throw invalidArgument('ref', ref, 'is not a namespace inode (inode numbers start at 1)');
  return ref;
}

export async function run({ argv: args, args: a, io }: CommandContext): Promise<number> {
  const json = args.includes('--json');
  try {
    const r = await holders(checkRef(a.positional[0]!));
    if (json) printJson(io, r);
    else io.stdout.write(formatHolders(r));
    return EXIT.OK;
  } catch (e) {
    return reportError(e, io, { json });
  }
}
