// The memory loop (bench/memory.js) once more, against the addon built with
// AddressSanitizer and UndefinedBehaviorSanitizer by scripts/asan.sh, under
// the node binary that script prepares (the sanitizer runtimes linked in).
// Clean means: the loop completed and no sanitizer wrote a report.
'use strict';

const { execFileSync } = require('node:child_process');
const { existsSync, mkdtempSync, readdirSync, readFileSync } = require('node:fs');
const { join } = require('node:path');

const ROOT = join(__dirname, '..', '..');
const DIR = process.env.PW_ASAN_DIR || join(ROOT, 'node_modules', '.cache', 'pipewright', 'asan');

function memoryUnderAsan(cycles, tmp) {
  const node = join(DIR, 'bin', 'node');
  const addon = join(DIR, 'build', 'Release', 'pipewright.node');
  if (!existsSync(node) || !existsSync(addon)) {
    throw new Error(`--asan needs the sanitized build: run scripts/asan.sh once (looked for ${node} and ${addon})`);
  }
  const logs = mkdtempSync(join(tmp, 'asan-'));
  const opts = `halt_on_error=1:log_path=${logs}/report`;
  const out = execFileSync(node, ['--expose-gc', join(__dirname, '..', 'memory.js'), '--cycles', String(cycles)], {
    encoding: 'utf8',
    env: { ...process.env, PW_ADDON_PATH: addon, ASAN_OPTIONS: `detect_leaks=0:${opts}`, UBSAN_OPTIONS: `print_stacktrace=1:${opts}` },
  });
  const reports = readdirSync(logs).map((f) => readFileSync(join(logs, f), 'utf8'));
  if (reports.length) throw new Error(`sanitizer report(s) during the memory loop:\n${reports.join('\n').slice(0, 4000)}`);
  return { cycles, clean: true, result: JSON.parse(out.trim().split('\n').pop()) };
}

module.exports = { memoryUnderAsan };
