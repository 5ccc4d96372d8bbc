// Issue 16's "done when": the packed package installs like any good native
// package. `npm pack` (its prepack/prepare: prebuilt addons, a build without
// source maps) from a copy of the checkout; the tarball lists only what users
// run; its two prebuilt addons are the architectures they claim (readelf, and
// the foreign one loaded under qemu-user). Then the tarball is installed into
// fresh projects, with npm and with pnpm, with no network at all (a network
// namespace of its own), no compiler on PATH and no Node headers, and used
// there: require, ESM import, the README example under tsc --strict, the
// command (--version, help, one attach in a throwaway namespace) from a
// read-only package, and the errors for a missing addon and a missing
// optional package.
//
// Run by root (npm test) it does all of that, compiling the addon twice while
// packing (~4 min on 2 CPUs). Run rootless (npm run test:rootless: an
// unprivileged user in a user namespace) the pack compiles nothing: that
// compile, cross compile and the ELF/qemu checks of its output are the same
// work on the same sources, and would only repeat the root run. The tarball
// then carries the host's addon as this checkout built it (build/Release, the
// one every other rootless test uses) as its prebuilt, and everything from the
// install on runs as the unprivileged user: that is what the rootless run
// adds, with the one path the root run does not take: an install where no
// prebuilt fits, which compiles the addon (last test).
//
// Nothing can outlive the test: its files are on a tmpfs of its own (freed
// even if the test is killed), and every long command (the pack with its
// compiles, the installs) runs in a PID namespace that dies with the test.
import t, { type Test } from 'tap';
import { copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { contained, copyCheckout, dependencyTarballs, freshProject, noCompilerPath, npmCli, parsePackJson, ROOT, scratchDir, sh } from '../helpers/pack';
import { readmeBlocks } from '../helpers/readme-blocks';

t.setTimeout(1_800_000); // a fresh clone compiles the addon twice (host and cross) while packing

/** Root in the host's user namespace (npm test), or an unprivileged user in one of its own (test:rootless). */
const hostRoot = process.geteuid?.() === 0 && /^\s*0\s+0\s+4294967295\s*$/.test(readFileSync('/proc/self/uid_map', 'utf8'));

let work = '';
let removeWork: (() => Promise<void>) | undefined;
t.before(async () => {
  const scratch = await scratchDir(join(tmpdir(), 'pw-pack-'));
  work = scratch.dir;
  removeWork = scratch.remove;
  mkdirSync(join(work, 'home'));
});
t.teardown(() => removeWork?.());
/** An environment that knows no npm configuration, no cache and no Node headers (node-gyp's devdir is empty). */
const bareEnv = (path: string): NodeJS.ProcessEnv => ({ PATH: path, HOME: join(work, 'home'), npm_config_cache: join(work, 'npm-cache'), npm_config_devdir: join(work, 'no-headers'), npm_config_update_notifier: 'false' });

const FOREIGN: Record<string, { arch: string; triplet: string; machine: RegExp; qemu: string }> = {
  x64: { arch: 'arm64', triplet: 'aarch64-linux-gnu', machine: /AArch64/, qemu: 'qemu-aarch64' },
  arm64: { arch: 'x64', triplet: 'x86_64-linux-gnu', machine: /X86-64/, qemu: 'qemu-x86_64' },
};

/** What the package may contain: what users run, the sources the install fallback compiles, the docs. */
const ALLOWED = [
  /^package\.json$/,
  /^(README|CHANGELOG|SECURITY)\.md$/,
  /^LICENSE$/,
  /^binding\.gyp$/,
  /^native\/(client\/)?[a-z_]+\.(cc|h)$/,
  /^packaging\/systemd\/pipewright-engine\.(service|socket)$/,
  /^man\/pipewright\.1$/,
  /^completions\/(pipewright\.bash|_pipewright)$/,
  /^dist\/lib\/.+\.(js|d\.ts)$/,
  /^dist\/cli\/(pipewright|per-guest|cni)\.js$/,
  /^dist\/cli\/commands\.json$/,
  /^prebuilds\/linux-(x64|arm64)\/(pipewright\.glibc\.node|pipewright-fast)$/,
  /^scripts\/sandbox\.sh$/,
  /^examples\/[a-z-]+\.js$/,
  /^examples\/topologies\/[a-zA-Z0-9-]+\.yaml$/,
];
const REQUIRED = ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'SECURITY.md', 'binding.gyp', 'native/addon.cc', 'dist/lib/index.js', 'dist/lib/index.d.ts', 'dist/lib/cli/launch.js', 'dist/cli/pipewright.js', 'dist/cli/per-guest.js', 'dist/cli/cni.js', 'dist/cli/commands.json', 'native/op_table_gen.cc', 'native/op_table_gen.h', 'man/pipewright.1', 'completions/pipewright.bash', 'completions/_pipewright',
  'examples/topology-two-hosts.js', 'examples/topologies/hostA.yaml', 'examples/topologies/hostB.yaml',
  'native/client/pipewright_fast.cc', 'native/client/frames.cc', 'native/client/frames.h', 'packaging/systemd/pipewright-engine.service', 'packaging/systemd/pipewright-engine.socket',
  ...(hostRoot ? ['x64', 'arm64'] : [process.arch]).flatMap((a) => [`prebuilds/linux-${a}/pipewright.glibc.node`, `prebuilds/linux-${a}/pipewright-fast`])];

let tarball = '';
let packed: string[] = [];

t.test('npm pack: the tarball holds only what users run', async (t) => {
  const src = join(work, 'src');
  await copyCheckout(src);
  const started = Date.now();
  const env = { ...process.env, npm_config_cache: join(work, 'npm-cache') };
  let packArgs = ['pack', '--json', '--pack-destination', work];
  if (!hostRoot) {
    // Rootless: what prepack and prepare would do, minus compiling the addon
    // again (see the top of this file): the release build of the TypeScript,
    // and this checkout's addon as the host's prebuilt.
    const b = await sh(...contained(process.execPath, [npmCli('npm'), 'run', 'build:release']), { cwd: src, env, timeout: 900_000 });
    t.equal(b.code, 0, 'npm run build:release succeeds', { stderr: b.stderr.slice(-3000) });
    rmSync(join(src, 'prebuilds'), { recursive: true, force: true });
    mkdirSync(join(src, 'prebuilds', `linux-${process.arch}`), { recursive: true });
    copyFileSync(join(ROOT, 'build', 'Release', 'pipewright.node'), join(src, 'prebuilds', `linux-${process.arch}`, 'pipewright.glibc.node'));
    copyFileSync(join(ROOT, 'build', 'Release', 'pipewright-fast'), join(src, 'prebuilds', `linux-${process.arch}`, 'pipewright-fast'));
    packArgs = [...packArgs, '--ignore-scripts'];
  }
  const r = await sh(...contained(process.execPath, [npmCli('npm'), ...packArgs]), { cwd: src, env, timeout: 1_500_000 });
  t.equal(r.code, 0, 'npm pack succeeds', { stderr: r.stderr.slice(-3000) });
  const [info] = parsePackJson(r.stdout);
  tarball = join(work, info!.filename);
  packed = info!.files.map((f) => f.path).sort();
  t.comment(`packed in ${((Date.now() - started) / 1000).toFixed(0)} s: ${info!.filename}, ${(info!.size / 1024).toFixed(0)} KiB (${(info!.unpackedSize / 1024).toFixed(0)} KiB unpacked), ${packed.length} files`);
  t.same(packed.filter((p) => !ALLOWED.some((re) => re.test(p))), [], 'nothing unintended: no source maps, tests, developer scripts, fuzzers');
  t.same(REQUIRED.filter((p) => !packed.includes(p)), [], 'everything users need is there');
  // The list `npm pack --dry-run` shows (scripts skipped: the pack above made everything).
  const dry = await sh(process.execPath, [npmCli('npm'), 'pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: src, env: { ...process.env, npm_config_cache: join(work, 'npm-cache') } });
  t.same(parsePackJson(dry.stdout)[0]!.files.map((f) => f.path).sort(), packed, 'npm pack --dry-run lists the same files');
  const x = await sh('tar', ['-xzf', tarball, '-C', work]);
  t.equal(x.code, 0, 'the tarball extracts');
  const withMapUrl = packed.filter((p) => p.endsWith('.js') && readFileSync(join(work, 'package', p), 'utf8').includes('sourceMappingURL'));
  t.same(withMapUrl, [], 'no file points at a source map the package does not ship');
  // What an install without a fitting prebuilt compiles (node-gyp rebuild) is
  // the boundary as the table says now: the generated C++ it ships is current.
  const gen = require(join(ROOT, 'scripts', 'gen-op-table.js')) as { load(): unknown; genH(m: unknown): string; genCc(m: unknown): string };
  const model = gen.load();
  t.equal(readFileSync(join(work, 'package', 'native', 'op_table_gen.h'), 'utf8'), gen.genH(model), 'native/op_table_gen.h is generated from lib/core/op-table.json as it is');
  t.equal(readFileSync(join(work, 'package', 'native', 'op_table_gen.cc'), 'utf8'), gen.genCc(model), 'native/op_table_gen.cc too');
  const manifest = JSON.parse(readFileSync(join(work, 'package', 'package.json'), 'utf8')) as { man?: string[] };
  t.same(manifest.man, ['man/pipewright.1'], 'package.json names the manual page (npm links it on a global install)');
});

t.test('the prebuilt addons are the architectures they claim, and load there', { skip: !hostRoot && 'rootless: nothing was compiled for the package (the root run checks the prebuilt addons)' }, async (t) => {
  const foreign = FOREIGN[process.arch];
  if (!foreign) return t.plan(0, `no foreign architecture known for ${process.arch}`);
  const dir = join(work, 'package', 'prebuilds');
  for (const [arch, machine] of [['x64', /X86-64|Advanced Micro Devices X86-64/], ['arm64', /AArch64/]] as const) {
    const file = join(dir, `linux-${arch}`, 'pipewright.glibc.node');
    const elf = await sh('readelf', ['-h', '-d', file]);
    t.match(elf.stdout, /Class:\s+ELF64/, `${arch}: a 64-bit ELF`);
    t.match(elf.stdout, /Type:\s+DYN/, `${arch}: a shared object`);
    t.match(elf.stdout, machine, `${arch}: for its machine`);
    t.match(elf.stdout, /NEEDED.*libc\.so\.6/, `${arch}: linked against glibc`);
    const f = await sh('file', [file]);
    if (f.code === 0) t.comment(f.stdout.trim());
    // The engine's native client beside it: static, so it runs wherever the addon does.
    const client = await sh('readelf', ['-h', '-d', join(dir, `linux-${arch}`, 'pipewright-fast')]);
    t.match(client.stdout, /Class:\s+ELF64/, `${arch}: the native client is a 64-bit ELF`);
    t.match(client.stdout, machine, `${arch}: the native client is for its machine`);
    t.notMatch(client.stdout, /NEEDED/, `${arch}: the native client is static (no shared libraries)`);
  }
  const gcc = `${foreign.triplet}-gcc`;
  const have = async (cmd: string): Promise<boolean> => (await sh('sh', ['-c', `command -v ${cmd}`])).code === 0;
  if (!(await have(gcc)) || !(await have(foreign.qemu))) {
    t.test(`the ${foreign.arch} addon under qemu-user`, { skip: `${gcc} or ${foreign.qemu} missing (scripts/install-test-deps.sh installs them)` }, async () => {});
    return;
  }
  // A program of that architecture that dlopens the addon, with stubs for
  // the functions Node would provide (the addon's code is never run).
  const addon = join(dir, `linux-${foreign.arch}`, 'pipewright.glibc.node');
  const nm = await sh('nm', ['-D', '--undefined-only', addon]);
  const nodeSymbols = nm.stdout.split('\n').map((l) => l.trim().split(/\s+/).pop() ?? '').filter((s) => /^(napi_|node_api_|uv_)/.test(s));
  t.ok(nodeSymbols.length > 0, 'the addon calls N-API');
  const stubs = join(work, 'stubs.c');
  writeFileSync(stubs, nodeSymbols.map((s) => `void ${s}(void) {}\n`).join(''));
  const probe = join(work, 'probe');
  const cc = await sh(gcc, ['-rdynamic', '-o', probe, join(ROOT, 'test', 'helpers', 'dlopen-probe.c'), stubs]);
  t.equal(cc.code, 0, 'the probe compiles', { stderr: cc.stderr });
  const ran = await sh(foreign.qemu, ['-L', `/usr/${foreign.triplet}`, probe, addon]);
  t.equal(ran.code, 0, `the ${foreign.arch} addon loads under ${foreign.qemu}`, { stdout: ran.stdout });
  t.match(ran.stdout, /napi_register_module_v1 found/);
  const wrong = await sh(foreign.qemu, ['-L', `/usr/${foreign.triplet}`, probe, join(dir, `linux-${process.arch}`, 'pipewright.glibc.node')]);
  t.not(wrong.code, 0, 'the probe does tell: the host architecture\'s addon does not load there');
});

/** Runs a bash script in a fresh network + mount namespace with its own /run/netns and state directory. */
function sandboxed(script: string, cwd: string, env: NodeJS.ProcessEnv = {}) {
  const wrapped = `set -u
ip link set lo up
mount -t tmpfs -o mode=0755 pw-netns /run/netns
export PW_STATE_DIR=$(mktemp -d)
trap 'rm -rf "$PW_STATE_DIR"' EXIT
${script}`;
  return sh('unshare', ['--net', '--mount', '--propagation', 'private', 'bash', '-c', wrapped], { cwd, env: { ...process.env, PW_SANDBOXED: '1', ...env } });
}

/** Every file and directory under dir with its size and modification time. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = lstatSync(p);
      out.push(`${relative(dir, p)} ${st.size} ${st.mtimeMs}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

async function useInstalled(t: Test, project: string, installer: 'npm' | 'pnpm', noCompiler: string): Promise<void> {
  const pkg = join(project, 'node_modules', 'pipewright');
  const bin = join(project, 'node_modules', '.bin', 'pipewright');
  t.notOk(existsSync(join(pkg, 'build')), 'nothing was compiled: the prebuilt addon was used');
  const cache = join(project, 'xdg-cache');
  const env = { XDG_CACHE_HOME: cache };

  const req = await sandboxed(`node -e "const pw = require('pipewright'); pw.Netns.list().then((l) => console.log('require ok', typeof pw.attach, l.length))"`, project, env);
  t.match(req.stdout, /^require ok function 0$/m, 'require, and the addon loads', { stderr: req.stderr });
  const esm = await sandboxed(`node --input-type=module -e "import { Netns, attach } from 'pipewright'; import { doctor } from 'pipewright/forensics'; console.log('import ok', typeof attach, typeof doctor, (await Netns.list()).length)"`, project, env);
  t.match(esm.stdout, /^import ok function function 0$/m, 'ESM import', { stderr: esm.stderr });

  const npx = await sh(process.execPath, [npmCli('npx'), '--offline', 'pipewright', '--version'], { cwd: project, env: { ...bareEnv(process.env.PATH!), ...env } });
  t.equal(npx.stdout.trim(), JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')).version, 'npx pipewright --version', { stderr: npx.stderr });
  // The engine's native client, where `engine client` says: with no engine running it runs this package's Node CLI.
  const where = await sh(process.execPath, [npmCli('npx'), '--offline', 'pipewright', 'engine', 'client'], { cwd: project, env: { ...bareEnv(process.env.PATH!), ...env } });
  t.equal(where.code, 0, 'npx pipewright engine client', { stderr: where.stderr });
  t.equal(where.stdout.trim(), join(realpathSync(pkg), 'prebuilds', `linux-${process.arch}`, 'pipewright-fast'), 'the native client is the shipped one');
  const viaClient = await sh(where.stdout.trim(), ['--version'], { cwd: project, env: { ...bareEnv(process.env.PATH!), ...env, PIPEWRIGHT_ENGINE_SOCKET: join(project, 'no-engine') } });
  t.same([viaClient.code, viaClient.stdout], [npx.code, npx.stdout], 'the native client without an engine: the same as the Node CLI');
  t.equal(viaClient.stderr, '', 'and nothing on stderr (npx adds its own warnings; the client none)');
  const help = await sh(process.execPath, [npmCli('npx'), '--offline', 'pipewright', 'help'], { cwd: project, env: { ...bareEnv(process.env.PATH!), ...env } });
  t.equal(help.code, 0, 'npx pipewright help');
  t.match(help.stdout, /Usage: pipewright/);

  // One attach and its detach, from a read-only package: nothing is written
  // into it, the code cache goes to the cache directory.
  const before = snapshot(pkg);
  const attach = await sandboxed(`mount --bind "$1" "$1" && mount -o remount,bind,ro "$1"
ip netns add g1
"$2" br0 g1 10.5.0.2/24@10.5.0.1; echo "@@attach $?"
ip -n g1 -o addr show; ip -n g1 route show
"$2" detach g1; echo "@@detach $?"
echo "@@links $(ip -o link show | grep -v ': lo:' | grep -vc ': br0:')"`.replace(/"\$1"/g, `"${pkg}"`).replace(/"\$2"/g, `"${bin}"`), project, env);
  t.match(attach.stdout, /^@@attach 0$/m, 'attach exits 0', { stdout: attach.stdout, stderr: attach.stderr });
  t.match(attach.stdout, /inet 10\.5\.0\.2\/24/, 'the guest has its address');
  t.match(attach.stdout, /^default via 10\.5\.0\.1/m, 'and its default route');
  t.match(attach.stdout, /^@@detach 0$/m, 'detach exits 0');
  t.match(attach.stdout, /^@@links 0$/m, 'only the bridge is left (the namespace went with the sandbox)');
  t.same(snapshot(pkg), before, 'nothing in the package was written');
  t.ok(existsSync(join(cache, 'pipewright')) && readdirSync(join(cache, 'pipewright')).some((f) => f.endsWith('.cache')), 'the code cache is in $XDG_CACHE_HOME/pipewright');
  const roCache = await sandboxed(`mount --bind "${cache}" "${cache}" && mount -o remount,bind,ro "${cache}"; "${bin}" help >/dev/null; echo "@@help $?"`, project, { XDG_CACHE_HOME: join(cache, 'fresh') });
  t.match(roCache.stdout, /^@@help 0$/m, 'an unwritable cache directory: it still works');
  t.equal(roCache.stderr, '', 'silently');

  // The optional peer is not installed: SVG says how to get it.
  const svg = await sandboxed(`"${bin}" show --format svg; echo "@@svg $?"`, project, env);
  t.match(svg.stdout, /^@@svg 1$/m, 'show --format svg without @viz-js/viz exits 1');
  t.match(svg.stderr, /@viz-js\/viz.*npm i @viz-js\/viz/, 'naming the package and the command that installs it');
  t.notMatch(svg.stderr, /unexpected/, 'not as an unexpected error');

  // No addon for this system (the prebuilds hidden): one message with the fix.
  const missing = await sandboxed(`mount -t tmpfs none "${pkg}/prebuilds"
ip netns add g1
PATH="${noCompiler}" "${bin}" br0 g1 10.5.0.2/24; echo "@@attach $?"
node -e "require('pipewright').Netns.list().then(() => console.log('@@loaded'), (e) => console.log('@@code', e.code, e.constructor.name))"`, project, env);
  t.match(missing.stdout, /^@@attach 1$/m, 'the command exits 1');
  t.match(missing.stderr, /not built for this system/, 'saying what is wrong');
  t.match(missing.stderr, installer === 'pnpm' ? /pnpm approve-builds/ : /npm rebuild pipewright/, `and the ${installer} command that fixes it`);
  t.match(missing.stderr, /compiling needs python3, make, a C\+\+ compiler/, 'and what compiling needs, missing here');
  t.notMatch(missing.stderr, /unexpected|Could not locate the bindings/, 'not a stack or a bare loader error');
  t.equal((missing.stderr.match(/^pipewright:/gm) ?? []).length, 1, 'one message');
  t.match(missing.stdout, /^@@code ERR_PW_ADDON_LOAD PipewrightError$/m, 'the library throws a typed error');

  // An addon that is there but cannot be loaded (another architecture's).
  const foreign = FOREIGN[process.arch];
  if (foreign && existsSync(`${pkg}/prebuilds/linux-${foreign.arch}/pipewright.glibc.node`)) {
    const hostFile = `${pkg}/prebuilds/linux-${process.arch}/pipewright.glibc.node`;
    const wrong = await sandboxed(`mount --bind "${pkg}/prebuilds/linux-${foreign.arch}/pipewright.glibc.node" "${hostFile}"
ip netns add g1
"${bin}" br0 g1 10.5.0.2/24; echo "@@attach $?"`, project, env);
    t.match(wrong.stdout, /^@@attach 1$/m, 'a broken addon: exit 1');
    t.match(wrong.stderr, /cannot be loaded on this system/, 'saying so');
    t.ok(wrong.stderr.includes(realpathSync(hostFile)), 'naming the file', { stderr: wrong.stderr });
  }

  // The README's library example compiles against the installed package's types.
  const example = readmeBlocks().find((b) => b.kind === 'esm+ts');
  t.ok(example, 'the README has a library example');
  writeFileSync(join(project, 'demo.mts'), example!.code);
  if (!existsSync(join(project, 'node_modules', '@types'))) symlinkSync(join(ROOT, 'node_modules', '@types'), join(project, 'node_modules', '@types'));
  const tsc = await sh(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '--strict', '--noEmit', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', 'demo.mts'], { cwd: project, timeout: 600_000 });
  t.equal(tsc.code, 0, 'the README example compiles with tsc --strict', { stdout: tsc.stdout });
}

let overrides: Record<string, string> = {};

t.test('npm: installs without a compiler, headers or network, and works', async (t) => {
  t.ok(tarball, 'packed');
  overrides = await dependencyTarballs(join(work, 'deps'));
  const project = join(work, 'npm-project');
  freshProject(project, overrides);
  const path = noCompilerPath(join(work, 'no-compiler'));
  const cc = await sh('sh', ['-c', 'command -v make || command -v g++ || command -v cc || command -v c++ || command -v python3'], { env: { PATH: path } });
  t.not(cc.code, 0, 'PATH has no make, compiler or python');
  const started = Date.now();
  const r = await sh(...contained(process.execPath, [npmCli('npm'), 'install', '--offline', '--foreground-scripts', '--no-audit', '--no-fund', tarball], ['--net']), { cwd: project, env: bareEnv(path) });
  t.equal(r.code, 0, 'npm install succeeds', { stdout: r.stdout.slice(-3000), stderr: r.stderr.slice(-3000) });
  const installed = readdirSync(join(project, 'node_modules')).filter((n) => !n.startsWith('.'));
  const du = await sh('du', ['-sk', join(project, 'node_modules')]);
  t.comment(`npm install: ${((Date.now() - started) / 1000).toFixed(1)} s, ${installed.length} packages (${installed.join(', ')}), ${(Number(du.stdout.split('\t')[0]) / 1024).toFixed(1)} MiB`);
  t.notOk(installed.includes('node-gyp'), 'node-gyp is not installed');
  t.notOk(installed.includes('@viz-js'), '@viz-js/viz is not installed');
  await useInstalled(t, project, 'npm', path);
});

t.test('pnpm: installs with its build scripts blocked, and works', async (t) => {
  const pnpm = join(ROOT, 'node_modules', 'pnpm', 'bin', 'pnpm.cjs');
  if (!existsSync(pnpm)) return t.plan(0, 'pnpm is not installed (a devDependency)');
  t.ok(tarball, 'packed');
  const project = join(work, 'pnpm-project');
  freshProject(project, overrides);
  const path = noCompilerPath(join(work, 'no-compiler-pnpm'));
  const r = await sh(...contained(process.execPath, [pnpm, 'add', '--offline', '--store-dir', join(work, 'pnpm-store'), tarball], ['--net']), { cwd: project, env: bareEnv(path) });
  t.equal(r.code, 0, 'pnpm add succeeds', { stdout: r.stdout.slice(-3000), stderr: r.stderr.slice(-3000) });
  t.match(r.stdout, /Ignored build scripts: pipewright/, "pnpm did block pipewright's install script");
  await useInstalled(t, project, 'pnpm', path);
});

// The fallback, where no prebuilt fits (musl, another architecture): the
// install script compiles with node-gyp, from the sources and the generated
// boundary the package ships, with the Node headers already on disk and no
// network. One compile of the host's addon: the rootless run does it (as the
// unprivileged user most installs are made by), in place of the pack's two
// compiles that the root run does.
t.test('npm, no prebuilt fits: the install compiles the addon, offline, and it loads', { skip: hostRoot && 'the root run compiles while packing; the rootless run compiles here' }, async (t) => {
  t.ok(tarball, 'packed');
  const nodedir = join(process.execPath, '..', '..');
  if (!existsSync(join(nodedir, 'include', 'node', 'node_api.h'))) return t.plan(0, `no Node headers under ${nodedir} (node-gyp would download them)`);
  // The same package without prebuilds/.
  const tree = join(work, 'no-prebuilds');
  mkdirSync(tree);
  const x = await sh('tar', ['-xzf', tarball, '-C', tree]);
  t.equal(x.code, 0, 'the tarball extracts');
  rmSync(join(tree, 'package', 'prebuilds'), { recursive: true, force: true });
  const bare = join(work, 'pipewright-no-prebuilds.tgz');
  const c = await sh('tar', ['-czf', bare, '-C', tree, 'package']);
  t.equal(c.code, 0, 'repacked without prebuilds/');
  const project = join(work, 'compile-project');
  freshProject(project, overrides);
  const r = await sh(...contained(process.execPath, [npmCli('npm'), 'install', '--offline', '--foreground-scripts', '--no-audit', '--no-fund', bare], ['--net']), {
    cwd: project,
    env: { ...bareEnv(process.env.PATH!), npm_config_nodedir: nodedir, JOBS: '1' },
    timeout: 1_200_000,
  });
  t.equal(r.code, 0, 'npm install succeeds', { stdout: r.stdout.slice(-3000), stderr: r.stderr.slice(-3000) });
  t.match(r.stdout + r.stderr, /gyp info ok/, 'node-gyp compiled the addon');
  const pkg = join(project, 'node_modules', 'pipewright');
  t.ok(existsSync(join(pkg, 'build', 'Release', 'pipewright.node')), 'into build/Release');
  const req = await sandboxed(`node -e "const pw = require('pipewright'); pw.Netns.list().then((l) => console.log('require ok', l.length))"`, project);
  t.match(req.stdout, /^require ok 0$/m, 'require, and the compiled addon loads', { stderr: req.stderr });
  const bin = join(project, 'node_modules', '.bin', 'pipewright');
  const attach = await sandboxed(`ip netns add g1
"${bin}" br0 g1 10.5.0.2/24@10.5.0.1; echo "@@attach $?"
ip -n g1 -o addr show`, project, { XDG_CACHE_HOME: join(project, 'xdg-cache') });
  t.match(attach.stdout, /^@@attach 0$/m, 'an attach with it exits 0', { stderr: attach.stderr });
  t.match(attach.stdout, /inet 10\.5\.0\.2\/24/, 'the guest has its address');
});
