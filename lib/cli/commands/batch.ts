// `pipewright batch FILE|- [--json] [--concurrency N] [--create-netns]`: many attaches in one
// invocation (one Node start, one host handle). FILE holds either
// pipework-style lines — the arguments of `pipewright` / `pipework`, one
// attach per line, '#' comments — or a JSON array of attach specs (the
// library's field names). Every line is parsed and validated before the
// first attach runs; each attach is its own transaction (a failure rolls
// back that guest only) and is reported by its line.
//
// --create-netns: a guest given as a name (NAME or netns:NAME) that is not a
// named namespace yet is created as one (in the same process, over the
// socket the new namespace comes with), which a provisioning script would
// otherwise do with `ip netns add` first. Containers are then referenced as
// docker:NAME. A namespace created for a line whose attach fails is removed
// again: a failed line leaves nothing.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Io, line, printJson, processIo, reportError } from '../report';
import { EXIT, exitCodeFor } from '../exit-codes';
import { parseArgs } from '../../forensics/argv';
import { parsePipeworkArgs } from '../pipework-args';
import { UsageError } from '../args-common';
import type { AttachSpec } from '../../attach/spec';
import type { Netns as NetnsHandle } from '../../netns';

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

/**
 * Attaches run at once. The library bounds what reaches the kernel itself,
 * so this only bounds how many guests are in progress; measured at N = 200
 * (bench, --concurrency 1/8/16/32/64/200), more in flight was faster up to 200.
 */
const DEFAULT_CONCURRENCY = 64;

/** The named namespace --create-netns makes for this entry, if its guest is a name not yet in runDir. */
function namespaceToCreate(spec: AttachSpec): string | undefined {
  const g = spec.guest;
  let name: string | undefined;
  if (typeof g === 'string') name = g.startsWith('netns:') ? g.slice('netns:'.length) : /^[^:/]+$/.test(g) && !/^\d+$/.test(g) ? g : undefined;
  else if (g && typeof g === 'object' && 'name' in g && Object.keys(g).length === 1) name = g.name;
  if (name === undefined) return undefined;
  return existsSync(join(spec.runDir ?? '/run/netns', name)) ? undefined : name;
}

export async function run(args: readonly string[], io: Io = processIo): Promise<number> {
  const json = args.includes('--json');
  try {
    const a = parseArgs(args, { flags: ['json', 'create-netns'], options: ['concurrency'], positional: [1, 1] });
    const createNetns = a.flags.has('create-netns');
    const concurrency = Number(a.options.get('concurrency') ?? DEFAULT_CONCURRENCY);
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
    const { Netns } = await import('../../netns');
    const host = await Handle.open();
    const results: Array<{ line: number; ok: boolean; result?: unknown; error?: { code: string; message: string; exitCode: number } }> = [];
    try {
      let next = 0;
      const worker = async () => {
        while (next < entries.length) {
          const e = entries[next++]!;
          let created: NetnsHandle | undefined;
          try {
            const name = createNetns ? namespaceToCreate(e.spec) : undefined;
            if (name !== undefined) created = await Netns.create({ name, ...(e.spec.runDir !== undefined ? { runDir: e.spec.runDir } : {}) });
            const r = await attach({ ...e.spec, ...(created ? { guest: created } : {}), host });
            // Attached: from here on the namespace is the guest's, kept by its
            // name; our fd goes, and nothing below may delete it.
            const made = created;
            created = undefined;
            await made?.close();
            results.push({ line: e.line, ok: true, result: r });
            if (!json) line(io.stdout, `line ${e.line}: ${r.status} ${r.guest.ref} ${r.guest.ifname} ${r.guest.addresses.filter((x) => !x.startsWith('fe80:')).join(', ')}`);
          } catch (err) {
            if (created) await created.delete().catch(() => undefined);
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
