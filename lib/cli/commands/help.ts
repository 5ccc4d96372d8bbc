// `pipewright help [COMMAND [SUBCOMMAND]]`: the general help, or one
// command's (the same text as `pipewright COMMAND --help`), on stdout.
import type { CommandContext } from '../registry';
import { commandWords, findCommand, PIPEWORK } from '../registry';
import { commandHelp, generalHelp } from '../help';
import { UsageError } from '../args-common';
import { didYouMean } from '../suggest';
import { EXIT } from '../exit-codes';

export async function run({ args, io }: CommandContext): Promise<number> {
  const [name, subName] = args.positional;
  if (name === undefined) {
    io.stdout.write(generalHelp());
    return EXIT.OK;
  }
  const c = name === PIPEWORK.name ? PIPEWORK : findCommand(name);
  if (!c) throw new UsageError(`help: unknown command '${name}'${didYouMean(name, [...commandWords(), PIPEWORK.name])}`);
  if (subName === undefined) {
    io.stdout.write(commandHelp(c, c.name));
    return EXIT.OK;
  }
  const sub = findCommand(subName, c.subcommands ?? []);
  if (!sub) {
    if (!c.subcommands) throw new UsageError(`help: '${c.name}' has no subcommands`);
    throw new UsageError(`help: unknown subcommand '${c.name} ${subName}'${didYouMean(subName, commandWords(c.subcommands))}`);
  }
  io.stdout.write(commandHelp(sub, `${c.name} ${sub.name}`));
  return EXIT.OK;
}

