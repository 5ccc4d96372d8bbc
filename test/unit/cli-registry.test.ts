// The command registry's promises, in-process and without privileges: every
// command's help (`X --help`, `X -h`, `help X`) on stdout with exit 0; the
// general help listing every command; unknown commands, subcommands and
// options refused with exit 2, naming the word and the closest one; a word
// that pipework takes as HOSTIF still taken; -v/-q; --version; the
// privilege hint; the completion scripts and the man page made from the
// registry (and the committed copies current). Nothing reaches the kernel.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../lib/cli/main';
import { COMMANDS, CommandSpec, PIPEWORK } from '../../lib/cli/registry';
import { EXIT, exitCodeFor } from '../../lib/cli/exit-codes';
import { reportError } from '../../lib/cli/report';
import { parsePipeworkArgs } from '../../lib/cli/pipework-args';
import { closest, editDistance } from '../../lib/cli/suggest';
import { bashCompletion, zshCompletion } from '../../lib/cli/completion';
import { manPage } from '../../lib/cli/man';
import { NetlinkError, PipewrightError } from '../../lib/core/errors';

const ROOT = join(__dirname, '..', '..');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

function capture() {
  const io = { out: '', err: '', stdout: { write: (s: string) => (io.out += s) }, stderr: { write: (s: string) => (io.err += s) } };
  return io;
}

async function run(...argv: string[]) {
  const io = capture();
  const code = await main(argv, io);
  return { code, out: io.out, err: io.err };
}

/** Every command and subcommand, with the words that call it. */
const ALL: Array<[string[], CommandSpec]> = COMMANDS.flatMap((c): Array<[string[], CommandSpec]> => [
  [[c.name], c],
  ...(c.subcommands ?? []).map((s): [string[], CommandSpec] => [[c.name, s.name], s]),
]);

t.test('X --help, X -h and help X: that command\'s help on stdout, exit 0', async (t) => {
  for (const [words, c] of ALL) {
    const label = words.join(' ');
    const forms = [[...words, '--help'], [...words, '-h'], ['help', ...words]];
    const texts: string[] = [];
    for (const argv of forms) {
      const r = await run(...argv);
      t.equal(r.code, EXIT.OK, `${argv.join(' ')}: exit 0`);
      t.equal(r.err, '', `${argv.join(' ')}: nothing on stderr`);
      texts.push(r.out);
    }
    t.equal(texts[1], texts[0], `${label}: -h is --help`);
    t.equal(texts[2], texts[0], `${label}: help ${label} is ${label} --help`);
    const text = texts[0]!;
    t.match(text, new RegExp(`^Usage:\\n  pipewright ${label.replace(/ /g, ' ')}`), `${label}: its usage first`);
    t.ok(text.includes(c.summary), `${label}: its summary`);
    for (const o of c.options ?? []) t.ok(text.includes(`--${o.name}`), `${label}: lists --${o.name}`);
    for (const s of c.subcommands ?? []) t.match(text, new RegExp(`^  ${s.name} `, 'm'), `${label}: lists its subcommand ${s.name}`);
  }
  const d = await run('doctor', '--json', '--help');
  t.equal(d.code, EXIT.OK, '--help after other options still asks for help');
  t.match(d.out, /^Usage:\n {2}pipewright doctor/);
  const p = await run('help', 'pipework');
  t.equal(p.code, EXIT.OK);
  t.match(p.out, /--direct-phys[\s\S]*--verbose[\s\S]*pipework-compatible forms:/, 'help pipework: the default command');
});

t.test('help lists every command, the forensics ones included, and the pipework forms', async (t) => {
  for (const argv of [['help'], ['--help'], ['-h']]) {
    const r = await run(...argv);
    t.equal(r.code, EXIT.OK, argv.join(' '));
    const commands = /\nCommands:\n([\s\S]*?)\n\n/.exec(r.out)?.[1] ?? '';
    for (const [words] of ALL) if (!COMMANDS.find((c) => c.name === words[0])?.subcommands || words.length === 2) {
      t.match(commands, new RegExp(`^  ${words.join(' ')} `, 'm'), `${argv.join(' ')}: lists ${words.join(' ')}`);
    }
    for (const name of ['doctor', 'gc', 'find-ip', 'show', 'netns ls', 'netns holders', 'netns delete']) t.match(commands, new RegExp(`^  ${name} `, 'm'));
    t.match(r.out, /pipework-compatible forms:/);
  }
});

t.test('unknown commands and subcommands: exit 2 naming the word, with the closest command', async (t) => {
  const rows: Array<[string[], RegExp]> = [
    [['helpp'], /^pipewright: unknown command 'helpp' \(did you mean 'help'\?\)/],
    [['doctr'], /unknown command 'doctr' \(did you mean 'doctor'\?\)/],
    [['atach', '--host-if', 'br0'], /unknown command 'atach' \(did you mean 'attach'\?\)/],
    [['tb'], /unknown command 'tb' \(did you mean 'tc'\?\)/],
    [['netns', 'lss'], /^pipewright: netns: unknown subcommand 'lss' \(did you mean 'netns ls'\?\); expected ls, holders, delete/],
    [['netns', 'frobnicate'], /^pipewright: netns: unknown subcommand 'frobnicate'; expected ls, holders, delete/],
    [['help', 'doctr'], /help: unknown command 'doctr' \(did you mean 'doctor'\?\)/],
    [['help', 'netns', 'rm'], /help: unknown subcommand 'netns rm'/],
    [['completion', 'fish'], /completion: 'fish' is not a shell/],
  ];
  for (const [argv, want] of rows) {
    const r = await run(...argv);
    t.equal(r.code, EXIT.USAGE, `${argv.join(' ')}: exit 2`);
    t.match(r.err, want, `${argv.join(' ')}: names the word`);
    t.notMatch(r.err, /missing GUEST/, `${argv.join(' ')}: not taken for a host interface`);
    t.equal(r.out, '', `${argv.join(' ')}: nothing on stdout`);
  }
  const bare = await run('netns');
  t.equal(bare.code, EXIT.USAGE, 'netns alone: exit 2');
  t.match(bare.err, /^pipewright: netns needs a subcommand: ls, holders, delete\n/);
  t.match(bare.err, /Subcommands:\n {2}ls {7}every network namespace[\s\S]*\n {2}holders [\s\S]*\n {2}delete /, 'and lists them');
  const j = await run('helpp', '--json');
  t.equal((JSON.parse(j.out) as { error: { code: string; exitCode: number } }).error.exitCode, EXIT.USAGE, 'with --json, the error as JSON too');
});

t.test('unknown options: exit 2 naming the option (not a missing one), with the closest', async (t) => {
  const rows: Array<[string[], RegExp]> = [
    [['attach', '--bogus'], /^pipewright: attach: unknown option '--bogus' \(nothing was changed\)/],
    [['attach', '--host-if', 'br0', '--guest', 'G', '--adress', '10.0.0.3/24'], /attach: unknown option '--adress' \(did you mean '--address'\?\)/],
    [['doctor', '--josn'], /doctor: unknown option '--josn' \(did you mean '--json'\?\)/],
    [['netns', 'ls', '--al'], /netns ls: unknown option '--al' \(did you mean '--all'\?\)/],
    [['gc', '--dryrun'], /gc: unknown option '--dryrun' \(did you mean '--dry-run'\?\)/],
    [['--verison'], /unknown option '--verison' \(did you mean '--version'\?\)/],
    [['br0', 'G', '10.0.0.3/24', '--dry-rn'], /unknown option '--dry-rn' \(did you mean '--dry-run'\?\)/],
    [['br0', '-x', 'G', '10.0.0.3/24'], /unknown option '-x' \(nothing/],
  ];
  for (const [argv, want] of rows) {
    const r = await run(...argv);
    t.equal(r.code, EXIT.USAGE, `${argv.join(' ')}: exit 2`);
    t.match(r.err, want, argv.join(' '));
    t.notMatch(r.err, /missing|required/, `${argv.join(' ')}: the unknown option is what is reported`);
  }
  const r = await run('netns', 'ls', '--al');
  t.match(r.err, /Run 'pipewright help netns ls' for the syntax/, "points at the command's own help");
});

t.test('a word pipework takes as HOSTIF is still taken, whatever it looks like', async (t) => {
  // An address without a prefix: refused by pipework's grammar, so the error proves which parser had the line.
  for (const hostIf of ['br0', 'eth1', 'helpp', 'doctr', 'tb']) {
    const r = await run(hostIf, 'G', '10.0.0.3');
    t.equal(r.code, EXIT.USAGE);
    t.match(r.err, /^pipewright: The IP address should include a netmask/, `${hostIf} G ADDR: pipework's grammar`);
    // The spec as the spec builder made it (the address parsed once, defaults filled in).
    t.match(parsePipeworkArgs([hostIf, '-i', 'eth2', 'G', '10.0.0.3/24']), {
      kind: 'attach', spec: { hostIf, guest: 'G', address: { address: '10.0.0.3', prefixLen: 24 }, guestIf: 'eth2' }, json: false, dryRun: false, watchMs: 0, repair: false,
    }, `${hostIf} -i eth2 G 10.0.0.3/24: an attach of ${hostIf}`);
  }
  for (const argv of [['br0'], ['eth1', 'G'], ['br0', '-i', 'eth1', 'G']]) {
    const r = await run(...argv);
    t.equal(r.code, EXIT.USAGE, argv.join(' '));
    t.match(r.err, argv.length === 1 ? /missing GUEST after host interface/ : /missing the address/, `${argv.join(' ')}: pipework's own message, no command is near`);
  }
  // Close to a command, with an option's value counted out: no GUEST and address after it, so a mistyped command.
  t.match((await run('helpp', '-i', 'eth1', 'G')).err, /^pipewright: unknown command 'helpp' \(did you mean 'help'\?\)/);
});

t.test('-v and -q: the attach and detach summaries, or not even warnings', async (t) => {
  // The built spec, cut down to what the command line named (the rest are the builder's defaults).
  const attachOf = (argv: string[]) => {
    const p = parsePipeworkArgs(argv);
    if (p.kind !== 'attach') return p;
    const { hostIf, guest, address } = p.spec;
    return { ...p, spec: { hostIf, guest, address: address && `${address.address}/${address.prefixLen}` } };
  };
  const base = { kind: 'attach', spec: { hostIf: 'br0', guest: 'G', address: '10.0.0.3/24' }, json: false, dryRun: false, watchMs: 0, repair: false };
  t.strictSame(attachOf(['br0', 'G', '10.0.0.3/24', '-v']), { ...base, verbose: true });
  t.strictSame(attachOf(['--verbose', 'br0', 'G', '10.0.0.3/24']), { ...base, verbose: true });
  t.strictSame(attachOf(['br0', 'G', '10.0.0.3/24', '--quiet']), { ...base, quiet: true });
  t.strictSame(attachOf(['br0', 'G', '10.0.0.3/24', '-q']), { ...base, quiet: true });
  t.strictSame(parsePipeworkArgs(['detach', 'G', '-v']), { kind: 'detach', guest: 'G', json: false, verbose: true });
  t.throws(() => parsePipeworkArgs(['br0', 'G', '10.0.0.3/24', '-v', '-q']), { message: /--verbose and --quiet exclude each other/ });
  t.throws(() => parsePipeworkArgs(['route', '-v', 'G', 'show']), { message: /does not apply to route/ }, 'route prints what it shows anyway');
  const r = await run('attach', '--host-if', 'br0', '--guest', 'G', '--address', '10.0.0.3/24', '-v', '--quiet');
  t.equal(r.code, EXIT.USAGE, 'the named form refuses both too');
  t.match(r.err, /exclude each other/);
});

t.test('--version and -V: the package version on stdout', async (t) => {
  for (const flag of ['--version', '-V']) {
    const r = await run(flag);
    t.equal(r.code, EXIT.OK, flag);
    t.equal(r.out, `${VERSION}\n`, flag);
  }
});

t.test('a refusal for lack of privilege says what is needed, with the original error; exit 4', async (t) => {
  const eperm = Object.assign(new NetlinkError('handle.open: Operation not permitted (EPERM)'), { code: 'EPERM', errno: 1 });
  const stepFailed = new PipewrightError('ERR_PW_ATTACH_FAILED', 'create veth: Operation not permitted', { cause: eperm });
  const eacces = Object.assign(new Error("EACCES: permission denied, open '/run/netns/g'"), { code: 'EACCES', errno: -13 });
  for (const [err, exit] of [[eperm, EXIT.FAILED], [stepFailed, EXIT.FAILED], [eacces, EXIT.FAILED]] as const) {
    const io = capture();
    t.equal(reportError(err, io, { json: true }), exit, `${err.message}: exit 4`);
    t.match(io.err, new RegExp(`^pipewright: ${err.message.replace(/[()]/g, '\\$&')}: needs root or CAP_NET_ADMIN \\(and CAP_SYS_ADMIN for namespaces\\)`));
    t.match((JSON.parse(io.out) as { error: { message: string } }).error.message, /needs root or CAP_NET_ADMIN/);
  }
  t.equal(exitCodeFor(eacces), EXIT.FAILED);
  const io = capture();
  reportError(Object.assign(new NetlinkError('link.add: File exists (EEXIST)'), { code: 'EEXIST', errno: 17 }), io, { json: false });
  t.notMatch(io.err, /needs root/, 'another refusal: no hint');
});

t.test('did-you-mean: edit distance with neighbours swapped, and how close is close', async (t) => {
  t.equal(editDistance('help', 'helpp'), 1);
  t.equal(editDistance('gc', 'cg'), 1, 'a swap is one edit');
  t.equal(editDistance('--josn', '--json'), 1);
  t.equal(editDistance('attach', 'detach'), 2);
  t.equal(editDistance('', 'abc'), 3);
  t.equal(closest('helpp', ['help', 'gc']), 'help');
  t.equal(closest('br0', ['help', 'gc', 'rule', 'route', 'tc']), undefined, 'a bridge name suggests nothing');
  t.equal(closest('eth1', ['help', 'gc', 'rule', 'route', 'tc', 'show']), undefined);
  t.equal(closest('-x', ['-i', '-l']), undefined, 'one letter is near every other one letter: no suggestion');
  t.equal(closest('rout', ['rule', 'route']), 'route', 'the closest wins');
});

t.test('completion scripts and the man page come from the registry; the committed copies are current', async (t) => {
  const bash = await run('completion', 'bash');
  t.equal(bash.code, EXIT.OK);
  t.equal(bash.out, bashCompletion());
  const zsh = await run('completion', 'zsh');
  t.equal(zsh.out, zshCompletion());
  t.match(zsh.out, /^#compdef pipewright\n/);
  t.equal(readFileSync(join(ROOT, 'completions', 'pipewright.bash'), 'utf8'), bashCompletion(), 'completions/pipewright.bash is current (node scripts/gen-cli-docs.js)');
  t.equal(readFileSync(join(ROOT, 'completions', '_pipewright'), 'utf8'), zshCompletion(), 'completions/_pipewright is current');
  const man = manPage(VERSION);
  t.equal(readFileSync(join(ROOT, 'man', 'pipewright.1'), 'utf8'), man, 'man/pipewright.1 is current');
  t.match(man, /^\.TH PIPEWRIGHT 1 /);
  for (const [words] of ALL) if (!(COMMANDS.find((c) => c.name === words[0])?.subcommands && words.length === 1)) t.ok(man.includes(`.B pipewright ${words.join(' ').replace(/-/g, '\\-')}`), `man: ${words.join(' ')}`);
  t.ok((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { man?: string[] }).man?.includes('man/pipewright.1'), 'package.json lists the page');
  t.notOk(PIPEWORK.options?.some((o) => o.name === 'version'), 'the default command has no --version of its own');
});

t.test('bash completion completes commands, subcommands and options', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pw-compl-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const script = join(dir, 'pipewright.bash');
  writeFileSync(script, bashCompletion());
  const complete = (...words: string[]) => {
    const r = spawnSync('bash', ['-c', `source "$0"; COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); _pipewright; printf '%s\\n' "\${COMPREPLY[@]}"`, script, 'pipewright', ...words], { encoding: 'utf8' });
    t.equal(r.status, 0, r.stderr);
    return r.stdout.split('\n').filter(Boolean).sort();
  };
  t.strictSame(complete('hel'), ['help']);
  t.strictSame(complete('netns', ''), ['--help', '-h', 'del', 'delete', 'holders', 'list', 'ls']);
  t.strictSame(complete('doctor', '--js'), ['--json']);
  t.strictSame(complete('netns', 'ls', '--a'), ['--all']);
  t.strictSame(complete('completion', 'z'), ['zsh']);
  t.strictSame(complete('br0', '--dry'), ['--dry-run'], 'after a HOSTIF: the pipework options');
});

const HAS_ZSH = spawnSync('zsh', ['--version']).status === 0;

t.test('zsh completion: valid zsh, completing subcommands, options and files', { skip: HAS_ZSH ? false : 'zsh is not installed here (apt-get install zsh)' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pw-zcompl-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const script = join(dir, '_pipewright');
  writeFileSync(script, zshCompletion());
  t.equal(spawnSync('zsh', ['-n', script]).status, 0, 'zsh -n accepts it');
  // compsys's builtins stubbed to print what they were offered.
  const stubs = 'compadd() { [[ $1 == -- ]] && shift; print -l -- "$@"; }; _describe() { print -l -- ${(P)2}; }; _files() { print FILES; }';
  const complete = (...w: string[]) => {
    const r = spawnSync('zsh', ['-c', `${stubs}; source "$0" >/dev/null; words=(pipewright "$@"); CURRENT=$#words; _pipewright`, script, ...w], { encoding: 'utf8' });
    return r.stdout.split('\n').filter(Boolean);
  };
  t.strictSame(complete('netns', ''), COMMANDS.find((c) => c.name === 'netns')!.subcommands!.map((s) => `${s.name}:${s.summary}`));
  t.ok(complete('doctor', '--j').includes('--json'));
  t.strictSame(complete('batch', 'x'), ['FILES']);
});
