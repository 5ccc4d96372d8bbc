// What makes `main()` a process: argv in, exit code out. Shared by the
// installed command (bin.ts, usually run from the bundle) and by running
// dist/lib/cli/main.js directly.
import { EXIT } from './exit-codes';
import type { Io } from './report';
import { processIo } from './report';

export function runAsProcess(main: (argv: readonly string[], io: Io) => Promise<number>): void {
  main(process.argv.slice(2), processIo).then(
    (code) => {
      // The command has finished everything it started and its output is
      // written (synchronously): exit now rather than wait for Node to tear
      // down the heap and its threads, a few ms of every short command.
      process.exit(code);
    },
    (err: unknown) => {
      // reportError itself failed: still say something and fail.
      processIo.stderr.write(`pipewright: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(EXIT.INTERNAL);
    },
  );
}
