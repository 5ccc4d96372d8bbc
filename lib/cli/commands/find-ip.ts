// `pipewright find-ip ADDR | --mac MAC | --ifname NAME [--json]`: which
// namespaces hold it, on which interface, through which holder.
// Exit status: 0 found once, 6 (conflict) found in several namespaces,
// 3 (not found) nowhere.
import { printJson, reportError } from '../report';
import { EXIT } from '../exit-codes';
import * as f from '../../ops/forensics/find';
import { formatFind } from '../../ops/forensics/render/report';
import type { CommandContext } from '../registry';

export async function run({ argv: args, args: a, io }: CommandContext): Promise<number> {
  const json = args.includes('--json');
  try {
    const q = a.positional[0]!;
    const r = a.flags.has('mac') ? await f.findMac(q) : a.flags.has('ifname') ? await f.findIfname(q) : await f.findIp(q);
    if (json) printJson(io, r);
    else io.stdout.write(formatFind(r));
    if (r.matches.length === 0) return EXIT.GUEST_NOT_FOUND;
    return r.conflict ? EXIT.CONFLICT : EXIT.OK;
  } catch (e) {
    return reportError(e, io, { json });
  }
}
