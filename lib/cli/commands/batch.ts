// `pipewright batch FILE|- [--json] [--concurrency N]`: many attaches in one
// invocation (one Node start, one host handle). FILE holds either
// pipework-style lines — the arguments of `pipewright` / `pipework`, one
// attach per line, '#' comments — or a JSON array of attach specs (the
// library's field names). Every line is parsed and validated before the
// first attach runs; each attach is its own transaction (a failure rolls
// back that guest only) and is reported by its line.
import { readFileSync } from 'node:fs';
import { Io, line, printJson, processIo, reportError } from '../report';
import { EXIT, exitCodeFor } from '../exit-codes';
import { parseArgs } from '../../forensics/argv';
import { parsePipeworkArgs } from '../pipework-args';
import { UsageError } from '../args-common';
import type { AttachSpec } from '../../attach/spec';

interface Entry {
  line: number;
  spec: AttachSpec;
}

/** Splits a line into words; quotes group, as a shell would for simple cases. */
function words(text: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push(m[1] ?? m[2] ?? m[3]!);
  return out;
}

function parseEntries(text: string): Entry[] {
  if (text.trimStart().startsWith('[')) {
    const list = JSON.parse(text) as unknown;
    if (!Array.isArray(list)) throw new UsageError('a JSON plan must be an array of attach specs');
    return list.map((spec, i) => ({ line: i + 1, spec: spec as AttachSpec }));
  }
  const out: Entry[] = [];
  text.split('\n').forEach((raw, i) => {
    const t = raw.replace(/#.*$/, '').trim();
    if (!t) return;
    const argv = words(t);
    if (argv[0] === 'pipework' || argv[0] === 'pipewright') argv.shift();
    let p;
    try {
      p = parsePipeworkArgs(argv);
    } catch (e) {
      throw new UsageError(`line ${i + 1}: ${(e as Error).message}`);
    }
    if (p.kind !== 'attach') throw new UsageError(`line ${i + 1}: only attach lines can be batched (got ${p.kind})`);
    if (p.dryRun || p.watchMs) throw new UsageError(`line ${i + 1}: --dry-run and --watch are not supported in a batch`);
    out.push({ line: i + 1, spec: p.spec as AttachSpec });
  });
  return out;
}

export async function run(args: readonly string[], io: Io = processIo): Promise<number> {
  const json = args.includes('--json');
  try {
    const a = parseArgs(args, { flags: ['json'], options: ['concurrency'], positional: [1, 1] });
    const concurrency = Number(a.options.get('concurrency') ?? 16);
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 1000) throw new UsageError(`--concurrency must be an integer from 1 to 1000`);
    const file = a.positional[0]!;
    const entries = parseEntries(readFileSync(file === '-' ? 0 : file, 'utf8'));
    const { normalizeSpec } = await import('../../attach/spec');
    for (const e of entries) {
      try {
        normalizeSpec(e.spec);
      } catch (err) {
        throw new UsageError(`line ${e.line}: ${(err as Error).message}`);
      }
    }
    const { Handle } = await import('../../handle');
    const { attach } = await import('../../attach');
    const host = await Handle.open();
    const results: Array<{ line: number; ok: boolean; result?: unknown; error?: { code: string; message: string; exitCode: number } }> = [];
    try {
      let next = 0;
      const worker = async () => {
        while (next < entries.length) {
          const e = entries[next++]!;
          try {
            const r = await attach({ ...e.spec, host });
            results.push({ line: e.line, ok: true, result: r });
            if (!json) line(io.stdout, `line ${e.line}: ${r.status} ${r.guest.ref} ${r.guest.ifname} ${r.guest.addresses.filter((x) => !x.startsWith('fe80:')).join(', ')}`);
          } catch (err) {
            const error = { code: String((err as { code?: string }).code ?? 'ERR_PW_INTERNAL'), message: (err as Error).message, exitCode: exitCodeFor(err) };
            results.push({ line: e.line, ok: false, error });
            if (!json) line(io.stderr, `pipewright: line ${e.line}: ${error.message}`);
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, entries.length) }, worker));
    } finally {
      await host.close();
    }
    results.sort((x, y) => x.line - y.line);
    const failed = results.filter((r) => !r.ok);
    if (json) printJson(io, { ok: failed.length === 0, attached: results.length - failed.length, failed: failed.length, results });
    else line(io.stdout, `${results.length - failed.length} of ${results.length} attached${failed.length ? `, ${failed.length} failed (each rolled back)` : ''}`);
    return failed.length ? failed[0]!.error!.exitCode : EXIT.OK;
  } catch (e) {
    return reportError(e, io, { json });
  }
}
