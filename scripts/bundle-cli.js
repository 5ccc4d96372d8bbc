#!/usr/bin/env node
// Bundles the compiled CLI (dist/lib/cli/bin.js and everything it loads)
// into single files in dist/cli/, which dist/lib/cli/launch.js runs with a
// V8 code cache: pipewright.js holds the whole CLI; each lean bundle of
// lib/cli/bundles.ts holds the same dispatcher but the modules of its own
// commands alone (a start costs ~1 ms per 100 KB of bundle); commands.json
// tells launch.js which bundle runs which command. Run after tsc
// (`npm run build:ts` does both).
// Kept outside every bundle: the addon (a .node file), `node-gyp-build` (it
// probes paths at run time), and @viz-js/viz (Graphviz as WebAssembly,
// ~1.5 MB, loaded only by `show --format svg`).
'use strict';

const { build } = require('esbuild');
const { lstatSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } = require('node:fs');
const { dirname, join, relative, resolve } = require('node:path');

const root = join(__dirname, '..');
const cliDir = join(root, 'dist', 'lib', 'cli');
const commandsDir = join(cliDir, 'commands');
const outdir = join(root, 'dist', 'cli');
const { COMMANDS, PIPEWORK } = require(join(cliDir, 'registry.js'));
const { LEAN_BUNDLES, WHOLE_CLI, bundleFor } = require(join(cliDir, 'bundles.js'));
// `--no-sourcemap` (npm pack's build): the package ships no maps, since it
// ships no TypeScript sources for them to lead to.
const MAPS = !process.argv.includes('--no-sourcemap');

/**
 * The module each command (and subcommand) of the registry loads, by
 * top-level name: read from its compiled `load`, the one place that names it.
 */
function commandModules() {
  const modules = new Map();
  const walk = (top, spec) => {
    if (spec.load) {
      const found = /require\(['"]\.\/commands\/([a-z0-9-]+)['"]\)/.exec(String(spec.load));
      if (!found) throw new Error(`bundle-cli: cannot tell which module command '${spec.name}' loads from ${spec.load}`);
      modules.set(top, [...(modules.get(top) ?? []), found[1]]);
    }
    for (const sub of spec.subcommands ?? []) walk(top, sub);
  };
  for (const spec of [PIPEWORK, ...COMMANDS]) walk(spec.name, spec);
  return modules;
}

/**
 * In a lean bundle, the module of every command it does not run becomes a
 * stub (the dispatcher still names them all, for help and suggestions).
 * A module that is also a command of the bundle's own stays real. A
 * command's module must not import another command's module for a helper:
 * in a lean bundle that would be the stub (shared code lives outside
 * commands/).
 */
function stubOthers(bundle, modules) {
  const own = new Set(bundle.commands.flatMap((c) => modules.get(c) ?? []));
  const stubbed = new Set([...modules.values()].flat().filter((m) => !own.has(m)));
  return {
    name: 'stub-other-commands',
    setup(b) {
      b.onResolve({ filter: /^\.\.?\// }, (args) => {
        const file = resolve(args.resolveDir, args.path);
        const name = relative(commandsDir, file);
        if (dirname(file) !== commandsDir || !stubbed.has(name)) return undefined;
        return { path: name, namespace: 'stubbed-command' };
      });
      b.onLoad({ filter: /.*/, namespace: 'stubbed-command' }, (args) => ({
        loader: 'js',
        contents: `exports.run = async () => { throw new Error(${JSON.stringify(
          `internal error: the command module '${args.path}' is not in the bundle ${bundle.file} (a stale dist/cli/commands.json, or a command importing another's module: rebuild with npm run build:ts and check lib/cli/bundles.ts)`,
        )}); };`,
      }));
    },
  };
}

async function bundle(spec, modules) {
  const lean = spec !== WHOLE_CLI;
  const result = await build({
    entryPoints: [join(cliDir, 'bin.js')],
    outfile: join(outdir, spec.file),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['*.node', 'node-gyp-build', '@viz-js/viz'],
    // Less to read at every start; names stay readable in stack traces, and
    // the source map leads back to dist/lib's files.
    minifyWhitespace: true,
    minifySyntax: true,
    keepNames: true,
    sourcemap: MAPS ? 'linked' : false,
    metafile: lean,
    plugins: lean ? [stubOthers(spec, modules)] : [],
    logLevel: 'warning',
  });
  if (!lean) return;
  // Only the registry may name a stubbed module (its lazy loads): anything
  // else importing one would get the stub in place of real code.
  for (const [file, input] of Object.entries(result.metafile.inputs)) {
    if (file.startsWith('stubbed-command:')) continue;
    const stub = input.imports.find((i) => i.path.startsWith('stubbed-command:'));
    if (stub && resolve(root, file) !== join(cliDir, 'registry.js')) throw new Error(`bundle-cli: ${file} imports ${stub.path.slice('stubbed-command:'.length)}, another command's module, which ${spec.file} stubs out: move what it needs out of commands/`);
  }
  // Each command the bundle runs must have its module in it, real.
  const inputs = Object.keys(result.metafile.inputs).map((f) => resolve(root, f));
  for (const command of spec.commands) {
    const own = modules.get(command);
    if (!own) throw new Error(`bundle-cli: ${spec.file} lists '${command}', which is no command of the registry`);
    for (const m of own) {
      if (!inputs.includes(join(commandsDir, `${m}.js`))) throw new Error(`bundle-cli: ${spec.file} runs '${command}' but lacks its module commands/${m}.js`);
    }
  }
}

/**
 * dist/cli/commands.json: each top-level command word → [its registry name,
 * its bundle's file], '' for pipework's line. launch.ts reads it at every
 * start in place of the registry. Written last, so a table as new as the
 * compiled CLI means the bundles are too.
 */
function writeCommandTable() {
  const words = { '': [PIPEWORK.name, bundleFor(PIPEWORK.name).file] };
  for (const spec of COMMANDS) for (const word of [spec.name, ...(spec.aliases ?? [])]) words[word] = [spec.name, bundleFor(spec.name).file];
  const file = join(outdir, 'commands.json');
  writeFileSync(`${file}.tmp`, `${JSON.stringify({ words })}\n`);
  renameSync(`${file}.tmp`, file);
}

async function main() {
  mkdirSync(outdir, { recursive: true });
  // What an older build left: code caches kept beside the bundle (they now
  // live in the user's cache directory), bundles or maps no longer made.
  const made = new Set([WHOLE_CLI, ...LEAN_BUNDLES].flatMap((b) => (MAPS ? [b.file, `${b.file}.map`] : [b.file])).concat('commands.json'));
  // Only build products of ours (regular files by those names), nothing else put there.
  for (const name of readdirSync(outdir)) {
    if (made.has(name) || !/\.(js|js\.map|cache|json)$/.test(name) || !lstatSync(join(outdir, name)).isFile()) continue;
    rmSync(join(outdir, name));
  }
  const modules = commandModules();
  await Promise.all([WHOLE_CLI, ...LEAN_BUNDLES].map((b) => bundle(b, modules)));
  writeCommandTable();
}

main().catch((e) => {
  console.error(e.message ?? e);
  process.exit(1);
});
