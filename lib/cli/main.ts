#!/usr/bin/env node
// The pipewright command's dispatcher. The first word names a command of the
// registry (registry.ts); anything else is pipework's positional command
// line, the default command. `X --help`, `help X`, `--version` and unknown
// words are decided here, from the registry alone; a command's module loads
// only when it runs, so start-up stays light.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CommandSpec, commandWords, findCommand, PIPEWORK } from './registry';
import { Io, line, processIo, reportError } from './report';
import { EXIT } from './exit-codes';
import { packageRoot } from '../core/paths';
import { runAsProcess } from './process-entry';
import { PIPEWORK_FORMS } from './usage';
import { parseOptions, ParsedArgs } from './options';
import { UsageError } from './args-common';
import { closest } from './suggest';
import { commandHelp, generalHelp } from './help';
import { positionalWords } from './pipework-args';

export function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

const isHelp = (w: string | undefined) => w === '--help' || w === '-h';

/** A help flag among a command's own options (before `--`), for commands whose options we parse. */
function asksHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).some(isHelp);
}

const NO_ARGS: ParsedArgs = { flags: new Set(), options: new Map(), positional: [] };

/** Runs `c` (called as `path`, e.g. 'netns ls') with the words after its name. */
async function runCommand(c: CommandSpec, path: string, rest: readonly string[], io: Io): Promise<number> {
  if (c.subcommands) {
    const word = rest[0];
    if (isHelp(word)) return printHelp(io, c, path);
    const sub = findCommand(word, c.subcommands);
    if (!sub) {
      const names = c.subcommands.map((s) => s.name).join(', ');
      if (word === undefined) {
        line(io.stderr, `pipewright: ${path} needs a subcommand: ${names}`);
        io.stderr.write(commandHelp(c, path));
        return EXIT.USAGE;
      }
      const near = closest(word, commandWords(c.subcommands));
      throw new UsageError(`${path}: unknown subcommand '${word}'${near ? ` (did you mean '${path} ${near}'?)` : ''}; expected ${names}`, path);
    }
    return runCommand(sub, `${path} ${sub.name}`, rest.slice(1), io);
  }
  // A command that reads its own words (route, tc) has help only as its first word: after that they are its arguments.
  if (c.positional ? asksHelp(rest) : isHelp(rest[0])) return printHelp(io, c, path);
  const args = c.positional ? parseOptions(rest, c.options ?? [], c.positional, path) : NO_ARGS;
  return (await c.load!()).run({ argv: rest, args, io });
}

function printHelp(io: Io, c: CommandSpec, path: string): number {
  io.stdout.write(commandHelp(c, path));
  return EXIT.OK;
}

/**
 * The first word is no command's name. pipework's grammar takes it as HOSTIF
 * when GUEST and an address follow; otherwise a word close to a command's
 * name is a mistyped command (`helpp`), and anything else gets pipework's own
 * message (`br0` alone: missing GUEST).
 */
function mistypedCommand(argv: readonly string[]): UsageError | null {
  const first = argv[0]!;
  if (first.startsWith('-') || positionalWords(argv) >= 3) return null;
  const near = closest(first, commandWords());
  return near === undefined ? null : new UsageError(`unknown command '${first}' (did you mean '${near}'?)`);
}

/** The whole command: argv without node and the script. Never exits the process; returns the exit code. */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  const first = argv[0];
  const command = findCommand(first);
  try {
    if (first === undefined) {
      line(io.stderr, PIPEWORK_FORMS);
      return EXIT.USAGE;
    }
    if (first === '--version' || first === '-V') {
      line(io.stdout, version());
      return EXIT.OK;
    }
    if (isHelp(first)) {
      io.stdout.write(generalHelp());
      return EXIT.OK;
    }
    if (command) return await runCommand(command, command.name, argv.slice(1), io);
    const mistyped = mistypedCommand(argv);
    if (mistyped) throw mistyped;
    return await runCommand(PIPEWORK, 'pipewright', argv, io);
  } catch (err) {
    return reportError(err, io, {
      json: argv.includes('--json'),
      ...(command?.name === 'route' || command?.name === 'rule' ? { kind: command.name } : {}),
      dryRun: argv.includes('--dry-run'),
    });
  }
}

// Run directly (`node dist/lib/cli/main.js`, unbundled): the same process
// entry as the installed command's (bin.ts).
if (require.main === module) runAsProcess(main);
