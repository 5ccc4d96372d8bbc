// A topology file for `pipewright apply`: YAML or JSON (JSON is YAML, and
// the `yaml` package reads both), holding bridges, overlays and guests. The
// guests follow a batch plan's field rules exactly (plan-json.ts): a file
// reaches no more of attach than the command line does. Pure but for
// reading the file; every problem is a usage error naming it (exit 2).
import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { parse } from 'yaml';
import type { Topology } from '../ops/overlay/topology';
import { UsageError } from './args-common';
import { parseJsonPlan } from './plan-json';

export function readTopologyFile(file: string): Topology {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`topology file '${file}' ${code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a directory' : `cannot be read (${code ?? (e as Error).message})`}`);
  }
  let doc: unknown;
  try {
    doc = parse(text, { uniqueKeys: true, maxAliasCount: 0 });
  } catch (e) {
    throw new UsageError(`${file} is not valid YAML or JSON: ${(e as Error).message.split('\n')[0]}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new UsageError(`${file} must hold a mapping with bridges, overlays and guests (and optionally name, owner, createNetns)`);
  const t = doc as Record<string, unknown>;
  // A file names its topology, or its base name does (hostA.yaml: "hostA").
  if (t.name === undefined && file !== '-') t.name = basename(file, extname(file));
  if (t.guests !== undefined) {
    if (!Array.isArray(t.guests)) throw new UsageError(`${file}: guests must be a list of attach specs`);
    try {
      parseJsonPlan(JSON.stringify(t.guests), file);
    } catch (e) {
      const err = e as Error & { field?: string; value?: unknown };
      throw Object.assign(err, { message: `guests: ${err.message.replace(/^entry (\d+)/, (_, n) => `guests[${Number(n) - 1}]`)}` });
    }
  }
  return t as unknown as Topology;
}
