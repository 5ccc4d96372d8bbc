// Every example in README.md runs as written (issue 16: "every README
// example is executed by a test"). Shell examples run line by line with the
// built command on PATH, in a namespace sandbox of their own; the library
// example runs as an ES module against this checkout and compiles with
// `tsc --strict`. Afterwards nothing they made is left.
import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readmeBlocks, shellCommands, type Block } from '../helpers/readme-blocks';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');
const blocks = readmeBlocks();

/** A bash script run in a fresh network + mount namespace with its own /run/netns and state directory. */
async function inSandbox(script: string, cwd: string, env: NodeJS.ProcessEnv = {}): Promise<{ stdout: string; stderr: string }> {
  const wrapped = `set -u
ip link set lo up
mount -t tmpfs -o mode=0755 pw-netns /run/netns
export PW_STATE_DIR=$(mktemp -d)
trap 'rm -rf "$PW_STATE_DIR"' EXIT
${script}`;
  return run('unshare', ['--net', '--mount', '--propagation', 'private', 'bash', '-c', wrapped], {
    cwd,
    env: { ...process.env, PW_SANDBOXED: '1', ...env },
    timeout: 120_000,
    maxBuffer: 16 << 20,
  });
}

/** A temporary project where `pipewright` is this checkout and the command is on PATH. */
function project(t: Test): { dir: string; env: NodeJS.ProcessEnv } {
  const dir = mkdtempSync(join(tmpdir(), 'pw-readme-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(ROOT, join(dir, 'node_modules', 'pipewright'));
  symlinkSync(join(ROOT, 'node_modules', '@types'), join(dir, 'node_modules', '@types'));
  mkdirSync(join(dir, 'bin'));
  writeFileSync(join(dir, 'bin', 'pipewright'), `#!/bin/sh\nexec "${process.execPath}" "${join(ROOT, 'dist', 'lib', 'cli', 'launch.js')}" "$@"\n`, { mode: 0o755 });
  return { dir, env: { PATH: `${join(dir, 'bin')}:${process.env.PATH}`, XDG_CACHE_HOME: join(dir, 'cache') } };
}

/** What is left in the sandbox: links other than lo, names in /run/netns. */
const LEFTOVERS = `echo "@@links $(ip -o link show | grep -vc ': lo:')"; echo "@@names $(ls -A /run/netns | wc -l)"`;

t.test('every code block in README.md is marked as an example or says why it is not one', async (t) => {
  t.ok(blocks.some((b) => b.kind === 'sh'), 'shell examples found');
  t.equal(blocks.filter((b) => b.kind === 'esm+ts').length, 1, 'one library example');
  for (const b of blocks.filter((b) => b.kind !== 'not-run')) t.ok(b.code.trim() !== '', `README.md:${b.line} is not empty`);
});

for (const block of blocks.filter((b): b is Block & { kind: 'sh' } => b.kind === 'sh')) {
  t.test(`README.md:${block.line}: the shell example runs, each line with its documented exit code`, async (t) => {
    const { dir, env } = project(t);
    const commands = shellCommands(block.code);
    t.ok(commands.length > 0, 'it has commands');
    const script = [
      block.setup ? `{ ${block.setup}; } >/dev/null || { echo "@@setup failed $?"; exit 1; }` : '',
      ...commands.map((c, i) => `echo "@@run ${i}"; { ${c.command}; } 2>&1; echo "@@exit ${i} $?"`),
    ].join('\n');
    const { stdout } = await inSandbox(script, dir, env);
    t.notMatch(stdout, /@@setup failed/, 'the setup ran');
    commands.forEach((c, i) => {
      const m = new RegExp(`^@@exit ${i} (\\d+)$`, 'm').exec(stdout);
      const output = stdout.split(`@@run ${i}\n`)[1]?.split(`@@exit ${i}`)[0] ?? '';
      t.ok(m && c.allowed.includes(Number(m[1])), `${c.command} exits ${c.allowed.join(' or ')}`, { exit: m?.[1], output });
      if (c.prints === 'nothing') t.equal(output, '', `${c.command} prints nothing, as its comment says`);
      if (c.prints === 'something') t.not(output.trim(), '', `${c.command} prints something, as its comment says`);
    });
  });
}

const esm = blocks.find((b) => b.kind === 'esm+ts');
if (esm) {
  t.test(`README.md:${esm.line}: the library example runs as an ES module and leaves nothing behind`, async (t) => {
    const { dir, env } = project(t);
    writeFileSync(join(dir, 'demo.mjs'), esm.code);
    const { stdout } = await inSandbox(`node demo.mjs; echo "@@exit $?"; ${LEFTOVERS}`, dir, env);
    t.match(stdout, /^@@exit 0$/m, 'it exits 0');
    t.match(stdout, /^attached: eth\d+ 10\.77\.0\.2\/24\b.* via host end \S+$/m, 'it printed the attachment');
    t.match(stdout, /^default via 10\.77\.0\.1, 10\.77\.0\.0\/24$/m, 'the guest has the default route and its subnet');
    t.match(stdout, /^@@links 0$/m, 'no link is left');
    t.match(stdout, /^@@names 0$/m, 'no namespace name is left');
  });

  t.test(`README.md:${esm.line}: the library example compiles with tsc --strict`, async (t) => {
    const { dir } = project(t);
    writeFileSync(join(dir, 'demo.mts'), esm.code);
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = await run(process.execPath, [tsc, '--strict', '--noEmit', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', 'demo.mts'], { cwd: dir, timeout: 300_000 }).then(
      (ok) => ({ code: 0, out: ok.stdout }),
      (err: { code?: number; stdout?: string }) => ({ code: err.code ?? -1, out: err.stdout ?? '' }),
    );
    t.equal(r.code, 0, 'tsc reports no error', { out: r.out });
  });
}
