// The default command: pipework's positional command line (pipework-args.ts),
// run by the command that owns what it parsed.
import type { CommandContext } from '../registry';
import { parsePipeworkArgs, Parsed } from '../pipework-args';
import type { Io } from '../report';
import { EXIT } from '../exit-codes';

/** Runs one parsed request; returns its exit code. Each kind loads its own module. */
export async function execute(p: Parsed, io: Io): Promise<number> {
  switch (p.kind) {
    case 'attach': return (await import('./attach')).runAttach(p, io);
    case 'detach': return (await import('./detach')).runDetach(p, io);
    case 'route': return (await import('./route')).runRoute(p, io);
    case 'rule': return (await import('./rule')).runRule(p, io);
    case 'tc': return (await import('./tc')).runTc(p, io);
    case 'wait': return (await import('./wait')).runWait(p, io);
    case 'help':
      io.stdout.write((await import('../help')).generalHelp());
      return EXIT.OK;
  }
}

export function run({ argv, io }: CommandContext): Promise<number> {
  return execute(parsePipeworkArgs(argv), io);
}
