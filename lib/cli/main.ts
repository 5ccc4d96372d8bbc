#!/usr/bin/env node
// The pipewright command. A first argument that names a subcommand goes to
// commander (named options, help, version); anything else is pipework's
// positional command line. Either way the result is one Parsed request, run
// by the command that owns it. Start-up stays light: nothing but the parser
// loads until the chosen command needs the library (or commander).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command, CommanderError } from 'commander';
import { parsePipeworkArgs, Parsed } from './pipework-args';
import { Io, line, processIo, printJson, reportError } from './report';
import { EXIT } from './exit-codes';
import { packageRoot } from '../core/paths';
import { runAsProcess } from './process-entry';
import { PIPEWORK_FORMS } from './usage';

/** What subcommands get from the program: a way to run what they parsed. */
export interface Cli {
  io: Io;
  execute(p: Parsed): Promise<void>;
}

const SUBCOMMANDS = new Set(['attach', 'detach', 'route', 'rule', 'tc', 'help', '--help', '-h', '--version', '-V']);

type RawCommand = { run(args: readonly string[], io: Io): Promise<number> };

/**
 * Commands beyond pipework that take their own arguments (forensics, the
 * reproduction tests). `netns` has sub-verbs. Each module loads only when
 * its command runs.
 */
const RAW_COMMANDS: Record<string, () => Promise<RawCommand>> = {
  'find-ip': () => import('./commands/find-ip'),
  doctor: () => import('./commands/doctor'),
  gc: () => import('./commands/gc'),
  show: () => import('./commands/show'),
  repro: () => import('./commands/repro'),
  batch: () => import('./commands/batch'),
  // The CNI plugin (lib/cli/cni.ts), for runtimes that exec `pipewright cni`.
  cni: () => import('./cni'),
  'netns ls': () => import('./commands/netns-ls'),
  'netns list': () => import('./commands/netns-ls'),
  'netns holders': () => import('./commands/netns-holders'),
  'netns delete': () => import('./commands/netns-delete'),
  'netns del': () => import('./commands/netns-delete'),
};

/** The raw command named by argv, and the arguments it gets. */
function rawCommand(argv: readonly string[]): { load: () => Promise<RawCommand>; args: readonly string[] } | null {
  const two = `${argv[0]} ${argv[1]}`;
  if (RAW_COMMANDS[two]) return { load: RAW_COMMANDS[two]!, args: argv.slice(2) };
  if (argv[0] !== 'netns' && RAW_COMMANDS[argv[0]!]) return { load: RAW_COMMANDS[argv[0]!]!, args: argv.slice(1) };
  return null;
}

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Runs one parsed request; returns its exit code. Each command loads its own dependencies. */
export async function execute(p: Parsed, io: Io): Promise<number> {
  switch (p.kind) {
    case 'attach': return (await import('./commands/attach')).runAttach(p, io);
    case 'detach': return (await import('./commands/detach')).runDetach(p, io);
    case 'route': return (await import('./commands/route')).runRoute(p, io);
    case 'rule': return (await import('./commands/rule')).runRule(p, io);
    case 'tc': return (await import('./commands/tc')).runTc(p, io);
    case 'wait': return (await import('./commands/wait')).runWait(p, io);
    case 'help': return runCommander(['--help'], io, () => undefined).then((r) => r.code);
  }
}

async function buildProgram(cli: Cli): Promise<Command> {
  const { Command } = await import('commander');
  const program = new Command('pipewright')
    .usage('HOSTIF [-i GUESTIF] [-l LOCALIF] [-a 4|6] GUEST IP/PREFIX[@GW]|0/0|dhcp [MAC][@VLAN]\n       pipewright COMMAND [ARGS...]')
    .description('Attach containers and network namespaces to host networks, pipework-compatible, over rtnetlink.')
    .version(version(), '-V, --version')
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({
      writeOut: (s) => cli.io.stdout.write(s),
      writeErr: (s) => cli.io.stderr.write(s),
      outputError: (s, write) => write(`pipewright: ${s.replace(/^error: /, '').trimEnd()} (nothing was changed)\n`),
    })
    .showHelpAfterError("Run 'pipewright help' for the syntax.")
    .addHelpText('after', `\n${PIPEWORK_FORMS}`);
  for (const load of [() => import('./commands/attach'), () => import('./commands/detach'), () => import('./commands/route'), () => import('./commands/rule'), () => import('./commands/tc')]) {
    (await load()).register(program, cli);
  }
  return program;
}

async function runCommander(argv: string[], io: Io, onParsed: (p: Parsed) => void): Promise<{ code: number }> {
  const result = { code: EXIT.OK as number };
  const cli: Cli = {
    io,
    async execute(p) {
      onParsed(p);
      result.code = await execute(p, io);
    },
  };
  const program = await buildProgram(cli);
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    const ce = e as CommanderError;
    if (typeof ce.code !== 'string' || !ce.code.startsWith('commander.')) throw e;
    // Help and version "fail" with exit code 0; every other commander error is bad usage, already printed.
    if (ce.exitCode === 0) return { code: EXIT.OK };
    if (argv.includes('--json')) printJson(io, { error: { code: 'ERR_PW_INVALID_ARGUMENT', message: ce.message.replace(/^error: /, ''), exitCode: EXIT.USAGE } });
    return { code: EXIT.USAGE };
  }
  return result;
}

/** The whole command: argv without node and the script. Never exits the process; returns the exit code. */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  let parsed: Parsed | undefined;
  try {
    if (argv.length === 0) {
      line(io.stderr, PIPEWORK_FORMS);
      return EXIT.USAGE;
    }
    if (SUBCOMMANDS.has(argv[0]!)) return (await runCommander([...argv], io, (p) => (parsed = p))).code;
    const raw = rawCommand(argv);
    if (raw) return await (await raw.load()).run(raw.args, io);
    parsed = parsePipeworkArgs(argv);
    return await execute(parsed, io);
  } catch (err) {
    const p = parsed as Parsed | undefined;
    return reportError(err, io, {
      json: p && 'json' in p ? p.json : argv.includes('--json'),
      ...(p ? { kind: p.kind } : {}),
      ...(p?.kind === 'attach' ? { dryRun: p.dryRun } : {}),
    });
  }
}

// Run directly (`node dist/lib/cli/main.js`, unbundled): the same process
// entry as the installed command's (bin.ts).
if (require.main === module) runAsProcess(main);
