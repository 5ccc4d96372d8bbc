// Help text, made from the command registry: the general help (every
// command, the pipework forms, the exit codes) and one command's help.
import { COMMANDS, CommandSpec, findCommand, GLOBAL_OPTIONS, OptionSpec, PIPEWORK } from './registry';
import { EXIT_CODES_TEXT, PIPEWORK_FORMS } from './usage';

export const DESCRIPTION = 'Attach containers and network namespaces to host networks, pipework-compatible, over rtnetlink.';

/** '-i, --guest-if NAME' */
export function optionWords(o: OptionSpec): string {
  return `${o.short ? `-${o.short}, ` : ''}--${o.name}${o.value ? ` ${o.value}` : ''}`;
}

function table(rows: Array<[string, string]>): string[] {
  const width = Math.min(28, Math.max(...rows.map(([a]) => a.length)) + 2);
  return rows.map(([a, b]) => (a.length + 2 > width ? `  ${a}\n  ${' '.repeat(width)}${b}` : `  ${a.padEnd(width)}${b}`));
}

/** Every command, with subcommands as 'netns ls', in the registry's order. */
export function commandRows(): Array<[string, string]> {
  return COMMANDS.flatMap((c): Array<[string, string]> =>
    c.subcommands ? c.subcommands.map((s) => [`${c.name} ${s.name}`, s.summary]) : [[c.name, c.summary]],
  );
}

export function generalHelp(): string {
  return [
    `Usage: pipewright HOSTIF [-i GUESTIF] [-l LOCALIF] [-a 4|6] GUEST IP/PREFIX[@GW]|0/0|dhcp [MAC][@VLAN]`,
    '       pipewright COMMAND [ARGS...]',
    '',
    DESCRIPTION,
    'Silent on success, as pipework: -v (--verbose) prints what was done, --json everything.',
    '',
    'Commands:',
    ...table(commandRows()),
    '',
    'Options:',
    ...table(GLOBAL_OPTIONS.map((o) => [optionWords(o), o.summary])),
    '',
    "Run 'pipewright help COMMAND' (or 'pipewright COMMAND --help') for a command's options.",
    '',
    PIPEWORK_FORMS,
    '',
    EXIT_CODES_TEXT,
    '',
  ].join('\n');
}

/** One command's help; `path` is how it is called ('netns ls'). */
export function commandHelp(c: CommandSpec, path: string = c.name): string {
  const out = ['Usage:', ...c.usage.map((u) => `  pipewright ${u}`), '', c.summary];
  if (c.aliases?.length) out.push(`(also: ${c.aliases.map((a) => path.replace(/\S+$/, a)).join(', ')})`);
  if (c.details) out.push('', c.details);
  if (c.subcommands) {
    out.push('', 'Subcommands:', ...table(c.subcommands.map((s) => [s.name, s.summary])));
    out.push('', `Run 'pipewright ${path} SUBCOMMAND --help' for one of them.`);
  }
  const options = [...(c.options ?? []), ...(c.options?.some((o) => o.name === 'help') ? [] : [GLOBAL_OPTIONS[0]!])];
  out.push('', 'Options:', ...table(options.map((o) => [optionWords(o), o.summary])));
  if (c === PIPEWORK) out.push('', PIPEWORK_FORMS);
  out.push('');
  return out.join('\n');
}

/** The help of the top-level command `name` (which must be registered). */
export function helpFor(name: string): string {
  const c = findCommand(name);
  if (!c) throw new Error(`no command '${name}' in the registry`);
  return commandHelp(c);
}
