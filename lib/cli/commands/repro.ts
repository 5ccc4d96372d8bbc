// `pipewright repro [--json] [NAME...]`: the bundled reproduction tests
// (../shared/FIELD-NOTES.md), each field failure replayed the old way and
// with pipewright. They create namespaces, bridges and agents, so they run
// only inside a throwaway sandbox: this command re-runs itself inside one.
import { reportError } from '../report';
import { EXIT } from '../exit-codes';
import { ensureSandbox } from '../../ops/sandbox';
import { runRepro } from '../../ops/repro';
import type { CommandContext } from '../registry';

export async function run({ argv: args, args: a, io }: CommandContext): Promise<number> {
  const json = args.includes('--json');
  try {
    ensureSandbox();
    const report = await runRepro(a.positional, { json, out: io.stdout, progress: io.stderr });
    return report.ok ? EXIT.OK : EXIT.VERIFY_FAILED;
  } catch (e) {
    return reportError(e, io, { json });
  }
}
