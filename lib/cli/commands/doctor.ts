// `pipewright doctor [--netns NAME|PATH] [--only ID,...] [--json]`: the
// checks of lib/ops/forensics/doctor, one line and a fix each. Exit status 0 when
// nothing was found, 5 when something was.
import { printJson, reportError } from '../report';
import { EXIT } from '../exit-codes';
import { doctor } from '../../ops/forensics/doctor';
import { formatDoctor } from '../../ops/forensics/render/report';
import type { CommandContext } from '../registry';

export async function run({ argv: args, args: a, io }: CommandContext): Promise<number> {
  const json = args.includes('--json');
  try {
    const netns = a.options.get('netns');
    const only = a.options.get('only');
    const r = await doctor({ ...(netns !== undefined ? { netns } : {}), ...(only !== undefined ? { only: only.split(',') } : {}) });
    if (json) printJson(io, r);
    else io.stdout.write(formatDoctor(r));
    return r.found ? EXIT.VERIFY_FAILED : EXIT.OK;
  } catch (e) {
    return reportError(e, io, { json });
  }
}
