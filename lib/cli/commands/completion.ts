// `pipewright completion bash|zsh`: the completion script, on stdout.
import type { CommandContext } from '../registry';
import { bashCompletion, zshCompletion } from '../completion';
import { UsageError } from '../args-common';
import { EXIT } from '../exit-codes';

export async function run({ args, io }: CommandContext): Promise<number> {
  const shell = args.positional[0];
  if (shell === 'bash') io.stdout.write(bashCompletion());
  else if (shell === 'zsh') io.stdout.write(zshCompletion());
  else throw new UsageError(`completion: '${shell}' is not a shell this knows (bash or zsh)`);
  return EXIT.OK;
}
