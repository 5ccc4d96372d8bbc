// The manual page pipewright(1), in roff, written from the command registry
// and the help's text: every command with its usage, summary and options,
// pipework's forms, the exit codes, the environment. scripts/gen-cli-docs.js
// writes it to man/pipewright.1 (package.json "man").
import { COMMANDS, CommandSpec, GLOBAL_OPTIONS, OptionSpec, PIPEWORK } from './registry';
import { DESCRIPTION, optionWords } from './help';
import { EXIT_CODES_TEXT, PIPEWORK_FORMS, PRIVILEGE_HINT } from './usage';

/** Text made safe for roff: backslashes, and a line must not start with '.' or "'". */
function esc(text: string): string {
  return text.replace(/\\/g, '\\e').replace(/-/g, '\\-').replace(/^([.'])/gm, '\\&$1');
}

function options(opts: readonly OptionSpec[]): string[] {
  return opts.flatMap((o) => ['.TP', `.B ${esc(optionWords(o))}`, esc(o.summary)]);
}

function command(c: CommandSpec, path: string): string[] {
  const out = ['.TP', ...c.usage.map((u, i) => `${i ? '.br\n' : ''}.B pipewright ${esc(u)}`), esc(c.summary)];
  if (c.aliases?.length) out.push(`(also: ${esc(c.aliases.map((a) => path.replace(/\S+$/, a)).join(', '))})`);
  if (c.details) out.push('.br', esc(c.details));
  if (c.options?.length) out.push('.RS', ...options(c.options), '.RE');
  return out;
}

/** The page; `version` goes into its header. */
export function manPage(version: string): string {
  const out = [
    `.TH PIPEWRIGHT 1 "" "pipewright ${esc(version)}" "User Commands"`,
    '.SH NAME',
    `pipewright \\- ${esc(DESCRIPTION.replace(/\.$/, '').replace(/^A/, 'a'))}`,
    '.SH SYNOPSIS',
    ...PIPEWORK.usage.flatMap((u) => [`.B pipewright ${esc(u)}`, '.br']),
    '.B pipewright',
    '.I COMMAND',
    '[\\fIARGS\\fR...]',
    '.SH DESCRIPTION',
    esc(`${DESCRIPTION} A drop-in for pipework: the same command line attaches a container or a named network namespace to a host bridge or device, checked, and rolled back when a step fails.`),
    '.PP',
    esc('Silent on success, as pipework: -v (--verbose) prints what was done, --json prints everything as JSON. Errors go to stderr, and with --json also to stdout as {"error": ...}.'),
    '.PP',
    esc(`Changing links, addresses, routes or namespaces ${PRIVILEGE_HINT}; without them the kernel's refusal is reported with that hint, exit 4.`),
    '.SH PIPEWORK FORMS',
    '.nf',
    esc(PIPEWORK_FORMS),
    '.fi',
    '.PP',
    esc(PIPEWORK.details ?? ''),
    '.SH COMMANDS',
  ];
  for (const c of COMMANDS) {
    if (c.subcommands) for (const s of c.subcommands) out.push(...command(s, `${c.name} ${s.name}`));
    else out.push(...command(c, c.name));
  }
  out.push(
    '.SH OPTIONS',
    ...options(GLOBAL_OPTIONS),
    '.SH EXIT STATUS',
    '.nf',
    esc(EXIT_CODES_TEXT.replace(/^Exit codes:\n/, '')),
    '.fi',
    '.SH ENVIRONMENT',
    '.TP',
    '.B PW_STATE_DIR',
    esc('where per-guest files (journal, resolv.conf, DHCP leases) are kept; default /run/pipewright'),
    '.TP',
    '.B PIPEWRIGHT_DEBUG',
    esc('when set, an unexpected error prints its stack trace'),
    '.TP',
    '.B NO_COLOR',
    esc('honoured: pipewright never writes colour or other terminal escapes'),
    '.SH SEE ALSO',
    '.BR ip (8),',
    '.BR ip\\-netns (8),',
    '.BR tc (8)',
    '',
  );
  return out.join('\n');
}
