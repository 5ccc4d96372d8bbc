// `pipewright batch FILE|- [--json] [--concurrency N] [--create-netns]`: many attaches in one
// invocation (one Node start, one host handle). FILE holds either
// pipework-style lines — the arguments of `pipewright` / `pipework`, one
// attach per line, '#' comments — or a JSON array of attach specs (the
// library's field names, exactly those the command line can set: see
// plan-json.ts). Every line is parsed and validated before the first attach
// runs; each attach is its own transaction (a failure rolls back that guest
// only) and is reported by its line.
//
// --create-netns: a guest given as a name (NAME or netns:NAME) that is not a
// named namespace yet is created as one (in the same process, over the
// socket the new namespace comes with), which a provisioning script would
// otherwise do with `ip netns add` first. Containers are then referenced as
// docker:NAME. A namespace created for a line whose attach fails is removed
// again: a failed line leaves nothing.
import { lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { line, printJson, reportError } from '../report';
import { EXIT, exitCodeFor } from '../exit-codes';
import type { CommandContext } from '../registry';
import { parsePipeworkArgs } from '../pipework-args';
import { UsageError } from '../args-common';
import { buildSpec, withRefs, type AttachSpec, type NormalizedSpec } from '../../ops/attach/spec';
import { DEFAULT_RUN_DIR, Netns, netnsName, type Netns as NetnsHandle } from '../../core/netns';
import { Handle } from '../../core/handle';
import { attach } from '../../ops/attach';
import { parseJsonPlan } from '../plan-json';

interface Entry<S = AttachSpec | NormalizedSpec> {
  line: number;
  spec: S;
}

/** Splits a line into words; quotes group, as a shell would for simple cases. */
function words(text: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push(m[1] ?? m[2] ?? m[3]!);
  return out;
}

function parseEntries(text: string, file: string): Entry[] {
  if (text.trimStart().startsWith('[')) return parseJsonPlan(text, file).map((spec, i) => ({ line: i + 1, spec }));
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
    out.push({ line: i + 1, spec: p.spec });
  });
  return out;
}

/**
 * Attaches run at once. The library bounds what reaches the kernel itself,
 * so this only bounds how many guests are in progress; measured at N = 200
 * (bench, --concurrency 1/8/16/32/64/200), more in flight was faster up to 200.
 */
const DEFAULT_CONCURRENCY = 64;

/** The named namespace --create-netns makes for this entry, if its guest is a name not yet in /run/netns. */
function namespaceToCreate(spec: NormalizedSpec): string | undefined {
  const g = spec.guest;
  let name: string | undefined;
  if (typeof g === 'string') name = g.startsWith('netns:') ? g.slice('netns:'.length) : /^[^:/]+$/.test(g) && !/^\d+$/.test(g) ? g : undefined;
  else if (g && typeof g === 'object' && 'name' in g && Object.keys(g).length === 1) name = g.name;
  if (name === undefined) return undefined;
  // Anything there already, a symbolic link included, is not created over.
  return lstatSync(join(DEFAULT_RUN_DIR, netnsName('guest', name)), { throwIfNoEntry: false }) ? undefined : name;
}

/** The plan's text; a file that cannot be read is bad input naming the path (exit 2). */
function readPlan(file: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'does not exist' : err.code === 'EISDIR' ? 'is a directory' : err.code === 'EACCES' ? 'cannot be read (permission denied)' : `cannot be read (${err.code ?? err.message})`;
    throw new UsageError(`batch file '${file}' ${why}`);
  }
}

/**
 * Every entry of a plan as the spec builder makes it (a line's was built as
 * it was parsed; a JSON entry's is built here), all before the first attach
 * runs; an entry that fails is a usage error naming its line.
 */
export function batchSpecs(text: string, file: string, createNetns = false): Array<Entry<NormalizedSpec>> {
  return parseEntries(text, file).map((e) => {
    try {
      const spec = buildSpec(e.spec);
      // A guest name --create-netns would create is checked now too (a single path component).
      if (createNetns) namespaceToCreate(spec);
      return { line: e.line, spec };
    } catch (err) {
      throw new UsageError(`line ${e.line}: ${(err as Error).message}`);
    }
  });
}

export async function run({ argv: args, args: a, io }: CommandContext): Promise<number> {
  const json = args.includes('--json');
  try {
    const createNetns = a.flags.has('create-netns');
    const concurrency = Number(a.options.get('concurrency') ?? DEFAULT_CONCURRENCY);
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 1000) throw new UsageError(`--concurrency must be an integer from 1 to 1000`);
    const file = a.positional[0]!;
    const entries = batchSpecs(readPlan(file), file, createNetns);
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
            if (name !== undefined) created = await Netns.create({ name });
            const r = await attach(withRefs(e.spec, { ...(created ? { guest: created } : {}), host }));
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
