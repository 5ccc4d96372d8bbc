#!/usr/bin/env node
// The import graph of lib/ must only look down, and must have no cycles.
//
//   core  (lib/core: native boundary, Handle, Netns, api, types, errors, validate)
//   ops   (lib/ops: attach, dhcp, firewall, forensics, ownership, repro, ...)
//   cli   (lib/cli: the command line)
//   lib/index.ts, the public API, may read core and ops.
//
// A file may import from its own layer and the layers below it. Every
// relative import counts — static `import`/`export ... from`, `import()`,
// `require()` — type-only imports included: a type that lives in a layer
// above is knowledge in the wrong place all the same. A cycle is reported
// with its path; type-only edges are left out of the cycle search (they
// vanish at compile time and cannot make a module see another half-loaded),
// and so are the command table's lazy loads (DISPATCH below).
//
// The native boundary (core/native.ts) is read only inside core: operations
// go through Handle and the api, so the addon's calls are typed in one place.
//
// Inside ops, its parts (a folder such as attach/ or dhcp/, or a single
// file such as firewall.ts) must not reach into each other in a circle
// either, type-only imports included: two parts that each need the other's
// types share a type that belongs in a lower place both read.
//
// Plain Node, no dependency: it reads the sources with regular expressions,
// which is enough for the import forms this code base writes. Run by
// `npm test` before the suite.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const LIB = path.join(ROOT, 'lib');

const RANK = { core: 0, ops: 1, cli: 2, index: 3 };

/** Read only by files of core. */
const NATIVE = 'core/native.ts';

/**
 * The command table: each entry loads its command's module with import()
 * when that command runs, and commands such as help and completion read the
 * table. Those loads are left out of the cycle search: they run after the
 * table has finished loading, so no module can see another half-loaded.
 */
const DISPATCH = 'cli/registry.ts';

/**
 * Imports that break a rule today and are being removed by another piece of
 * work, named one by one so nothing new slips in under them; an entry that
 * no longer matches is itself reported. Each: 'importer -> imported' (both
 * relative to lib/).
 */
/** @type {Map<string, string>} Empty: the native boundary work removed the last ones. */
const ALLOWED = new Map();

function layerOf(rel) {
  if (rel === 'index.ts') return 'index';
  const top = rel.split('/')[0];
  return top in RANK ? top : null;
}

function listSources(dir, out = []) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) listSources(p, out);
    else if (/\.ts$/.test(e.name)) out.push(p);
  }
  return out;
}

/** Strips comments (keeping strings), so an import named in a comment is not counted. */
function stripComments(src) {
  return src.replace(/("(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|`(?:\\.|[^`\\])*`)|\/\/[^\n]*|\/\*[\s\S]*?\*\//g, (m, str) => (str ? m : ''));
}

const IMPORT_FORMS = [
  // import x from '..'; import { a } from '..'; export * from '..'; import type { T } from '..'
  { re: /(?:^|[\n;])\s*(import|export)\s+(type\s+)?(?:[\w*{}\s,$]+?\s+from\s+)?['"]([^'"]+)['"]/g, spec: 3, typeOnly: (m) => !!m[2] },
  // import('..'); in a type position (typeof import('..'), import('..').Name) it is type-only
  { re: /(typeof\s+)?\bimport\(\s*['"]([^'"]+)['"]\s*\)(\.(?!then\b|catch\b|finally\b)\w+)?/g, spec: 2, typeOnly: (m) => !!m[1] || !!m[3], lazy: true },
  { re: /\brequire\(\s*['"]([^'"]+)['"]\s*\)/g, spec: 1, typeOnly: () => false },
];

function resolveImport(fromFile, spec) {
  const base = path.resolve(path.dirname(fromFile), spec);
  for (const c of [base, `${base}.ts`, `${base}.d.ts`, path.join(base, 'index.ts')]) {
    if (fs.existsSync(c) && fs.statSync(c).isFile()) return c;
  }
  return null;
}

/** Every relative import of a file: { target, typeOnly, line }. */
function importsOf(file) {
  const src = stripComments(fs.readFileSync(file, 'utf8'));
  const out = [];
  for (const form of IMPORT_FORMS) {
    form.re.lastIndex = 0;
    for (let m = form.re.exec(src); m; m = form.re.exec(src)) {
      const spec = m[form.spec];
      if (!spec.startsWith('.')) continue;
      let typeOnly = form.typeOnly(m);
      // import { type A, type B } from: every name type-only
      if (!typeOnly && /^\s*(?:[\n;]\s*)?import\s+\{([^}]*)\}/.test(m[0])) {
        const names = /\{([^}]*)\}/.exec(m[0])[1].split(',').map((s) => s.trim()).filter(Boolean);
        typeOnly = names.length > 0 && names.every((n) => n.startsWith('type '));
      }
      const target = resolveImport(file, spec);
      const line = src.slice(0, m.index + m[0].length).split('\n').length;
      out.push({ spec, target, typeOnly, lazy: !!form.lazy, line });
    }
  }
  return out;
}

function relTo(lib, p) {
  return path.relative(lib, p).split(path.sep).join('/');
}

/** Cycles among runtime edges (Tarjan's strongly connected components, then one path through each). */
function findCycles(graph) {
  let index = 0;
  const idx = new Map();
  const low = new Map();
  const stack = [];
  const on = new Set();
  const sccs = [];
  const strong = (v) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const c = [];
      let w;
      do {
        w = stack.pop();
        on.delete(w);
        c.push(w);
      } while (w !== v);
      if (c.length > 1 || (graph.get(v) ?? new Set()).has(v)) sccs.push(c);
    }
  };
  for (const v of [...graph.keys()].sort()) if (!idx.has(v)) strong(v);
  // One concrete cycle per component: a shortest path back to its first member.
  return sccs.map((c) => {
    const members = new Set(c);
    const start = [...c].sort()[0];
    const prev = new Map([[start, null]]);
    const queue = [start];
    while (queue.length) {
      const v = queue.shift();
      for (const w of [...(graph.get(v) ?? [])].sort()) {
        if (!members.has(w)) continue;
        if (w === start) {
          const p = [start];
          for (let x = v; x !== null && x !== start; x = prev.get(x)) p.splice(1, 0, x);
          return [...p, start];
        }
        if (!prev.has(w)) {
          prev.set(w, v);
          queue.push(w);
        }
      }
    }
    return [start, start];
  });
}

/** The part of ops a file belongs to: 'ops/attach' for lib/ops/attach/x.ts, 'ops/firewall' for lib/ops/firewall.ts. */
function opsPart(r) {
  const s = r.split('/');
  if (s[0] !== 'ops') return null;
  return s.length > 2 ? `ops/${s[1]}` : `ops/${s[1].replace(/\.ts$/, '')}`;
}

/** Checks the tree under `lib` (default: this repository's lib/); returns the problems found. */
function check(lib = LIB, allowed = ALLOWED) {
  const rel = (p) => relTo(lib, p);
  const problems = [];
  const graph = new Map();
  const parts = new Map();
  const files = listSources(lib).sort();
  const allowedUsed = new Set();
  for (const file of files) {
    const from = rel(file);
    const fromLayer = layerOf(from);
    if (fromLayer === null) {
      problems.push(`${from}: outside the layers (lib/core, lib/ops, lib/cli, lib/index.ts)`);
      continue;
    }
    const edges = new Set();
    graph.set(from, edges);
    for (const imp of importsOf(file)) {
      if (!imp.target) {
        problems.push(`${from}:${imp.line}: imports '${imp.spec}', which is not a file under lib/`);
        continue;
      }
      const to = rel(imp.target);
      if (to.startsWith('..')) {
        problems.push(`${from}:${imp.line}: imports '${imp.spec}', outside lib/`);
        continue;
      }
      const toLayer = layerOf(to);
      const key = `${from} -> ${to}`;
      let broken = null;
      if (toLayer !== null && RANK[toLayer] > RANK[fromLayer]) broken = `${fromLayer} imports from ${toLayer} above it: '${imp.spec}' (${to})`;
      else if (to === NATIVE && fromLayer !== 'core') broken = `only core reads the native boundary; ${fromLayer} imports '${imp.spec}' (go through Handle or the api)`;
      if (broken !== null) {
        if (allowed.has(key)) allowedUsed.add(key);
        else problems.push(`${from}:${imp.line}: ${broken}`);
      }
      if (!imp.typeOnly && !(imp.lazy && from === DISPATCH)) edges.add(to);
      const [pa, pb] = [opsPart(from), opsPart(to)];
      if (pa && pb && pa !== pb) {
        if (!parts.has(pa)) parts.set(pa, new Set());
        parts.get(pa).add(pb);
      }
    }
  }
  for (const key of allowed.keys()) if (!allowedUsed.has(key)) problems.push(`allow-list entry '${key}' no longer matches an import: remove it`);
  for (const c of findCycles(graph)) problems.push(`import cycle: ${c.join(' -> ')}`);
  for (const c of findCycles(parts)) problems.push(`parts of ops import each other (type-only imports count here): ${c.join(' -> ')}`);
  return { problems, files: files.length };
}

if (require.main === module) {
  // An argument names another tree to check (the tests' fixtures); the allow-list is this repository's.
  const dir = process.argv[2];
  const { problems, files } = dir ? check(path.resolve(dir), new Map()) : check();
  if (problems.length) {
    for (const p of problems) console.error(`check-layers: ${p}`);
    console.error(`check-layers: ${problems.length} problem(s) in ${files} files`);
    process.exit(1);
  }
  console.log(`check-layers: ${files} files, layers look down, no cycles`);
}

module.exports = { check, importsOf, findCycles, layerOf, opsPart };
