// `pipewright doctor [--netns NAME|PATH] [--only ID,...] [--json]`: the
// checks of lib/ops/forensics/doctor, one line and a fix each. Exit status 0 when
// nothing was found, 5 when something was.
import { printJson, reportError } from '../report';
import { EXIT } from '../exit-codes';
import type { CommandContext } from '../registry';

export async function run({ argv: args, args: a, io }: CommandContext): Promise<number> {
  const json = args.includes('--json');
  try {
    const { doctor } = await import('../../ops/forensics/doctor');
    const netns = a.options.get('netns');
    const only = a.options.get('only');
    const r = await doctor({ ...(netns !== undefined ? { netns } : {}), ...(only !== undefined ? { only: only.split(',') } : {}) });
    if (json) printJson(io, r);
    else io.stdout.write((await import('../../ops/forensics/render/report')).formatDoctor(r));
    return r.found ? EXIT.VERIFY_FAILED : EXIT.OK;
  } catch (e) {
    return reportError(e, io, { json });
  }
}
