// systemd-networkd releases the master of links it manages when their
// .network file has no Bridge= and no KeepMaster=yes (FIELD-NOTES §1, and
// measured here: after provisioning, with every command having exited 0).
// We read the .network files as networkd does: one name per file, /etc over
// /run over /usr/lib, lexical order, the first file whose [Match] fits a link
// is the one applied, drop-ins (NAME.network.d/*.conf) merged in.
// fs.promises, read at each call: node:fs/promises (with streams and readline) loads on first use, not at every CLI start.
import { promises as fsp } from 'node:fs';
import { basename, join } from 'node:path';
import type { Link } from '../../../core/types';
import { Check, failed, passed, some } from './types';

export const NETWORKD_DIRS = ['/etc/systemd/network', '/run/systemd/network', '/usr/lib/systemd/network'];

/** [Match] keys we evaluate against a link; a file using any other is skipped rather than guessed. */
const MATCH_KEYS = new Set(['Name', 'Kind', 'Type', 'MACAddress', 'PermanentMACAddress', 'OriginalName']);

export interface NetworkFile {
  path: string;
  match: Map<string, string[]>;
  /** [Match] keys we cannot evaluate (Driver=, Path=, Host=...). */
  unsupported: string[];
  keepMaster: boolean;
  unmanaged: boolean;
  bridge?: string;
}

const YES = /^(1|yes|y|true|t|on)$/i;

/** Parses the keys we care about from a .network file and its drop-ins, in order. */
export function parseNetworkFile(path: string, texts: string[]): NetworkFile {
  const f: NetworkFile = { path, match: new Map(), unsupported: [], keepMaster: false, unmanaged: false };
  for (const text of texts) {
    let section = '';
    for (const raw of text.split('\n')) {
      const line = raw.trim();
      if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
      if (line.startsWith('[')) {
        section = line.slice(1, line.indexOf(']'));
        continue;
      }
      const eq = line.indexOf('=');
      if (eq < 0) continue;
      const k = line.slice(0, eq).trim();
      const val = line.slice(eq + 1).trim();
      if (section === 'Match') {
        if (!MATCH_KEYS.has(k)) f.unsupported.push(k);
        // An empty assignment resets the list, as in systemd.
        else f.match.set(k, val === '' ? [] : [...(f.match.get(k) ?? []), ...val.split(/\s+/)]);
      } else if (section === 'Network' && k === 'KeepMaster') f.keepMaster = YES.test(val);
      else if (section === 'Network' && k === 'Bridge') f.bridge = val;
      else if (section === 'Link' && k === 'Unmanaged') f.unmanaged = YES.test(val);
    }
  }
  return f;
}

/** fnmatch(3) as networkd uses it for Name=: *, ? and [...] classes. */
export function globMatch(glob: string, s: string): boolean {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        const body = glob.slice(i + 1, end).replace(/\\/g, '\\\\');
        re += `[${body.startsWith('!') ? `^${body.slice(1)}` : body}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`).test(s);
}

/** A list of patterns; a leading '!' inverts the whole list (systemd.net-naming). */
function listMatches(patterns: string[], value: string | undefined): boolean {
  if (patterns.length === 0) return true;
  const inverted = patterns[0]!.startsWith('!');
  const list = inverted ? [patterns[0]!.slice(1), ...patterns.slice(1)].filter((p) => p !== '') : patterns;
  const hit = value !== undefined && list.some((p) => globMatch(p, value));
  return inverted ? !hit : hit;
}

/** Whether a file's [Match] fits a link; null when the file uses keys we cannot evaluate. */
export function networkdMatches(f: NetworkFile, l: Link): boolean | null {
  if (f.unsupported.length) return null;
  const type = l.name === 'lo' ? 'loopback' : 'ether';
  const values: Record<string, string | undefined> = {
    Name: l.name, OriginalName: l.name, Kind: l.kind ?? undefined, Type: type,
    MACAddress: l.address?.toLowerCase(), PermanentMACAddress: l.address?.toLowerCase(),
  };
  for (const [k, patterns] of f.match) {
    const p = k.endsWith('MACAddress') ? patterns.map((x) => x.toLowerCase()) : patterns;
    if (!listMatches(p, values[k])) return false;
  }
  return true;
}

/** Every .network file (with drop-ins) in networkd's precedence and order. */
export async function readNetworkFiles(dirs: readonly string[] = NETWORKD_DIRS): Promise<NetworkFile[]> {
  const chosen = new Map<string, string>();
  const dropins = new Map<string, string[]>();
  for (const dir of dirs) {
    let names: string[];
    try {
      names = await fsp.readdir(dir);
    } catch {
      continue;
    }
    for (const n of names) {
      if (n.endsWith('.network') && !chosen.has(n)) chosen.set(n, join(dir, n));
      if (n.endsWith('.network.d')) {
        const confs = await fsp.readdir(join(dir, n)).catch(() => [] as string[]);
        const base = n.slice(0, -2);
        dropins.set(base, [...(dropins.get(base) ?? []), ...confs.filter((c) => c.endsWith('.conf')).map((c) => join(dir, n, c))]);
      }
    }
  }
  const out: NetworkFile[] = [];
  for (const name of [...chosen.keys()].sort()) {
    const path = chosen.get(name)!;
    // A symlink to /dev/null masks the file of that name in lower directories.
    const st = await fsp.lstat(path).catch(() => null);
    if (!st || (st.isSymbolicLink() && (await fsp.readlink(path).catch(() => '')) === '/dev/null')) continue;
    const extra = (dropins.get(name) ?? []).sort((a, b) => basename(a).localeCompare(basename(b)));
    const texts = await Promise.all([path, ...extra].map((p) => fsp.readFile(p, 'utf8').catch(() => '')));
    out.push(parseNetworkFile(path, texts));
  }
  return out;
}

/** Bridge ports and veths that networkd would release: the first matching file lacks KeepMaster and Unmanaged. */
export function networkdFindings(links: readonly Link[], files: readonly NetworkFile[]): Array<{ link: Link; file: string; why: string }> {
  const byIndex = new Map(links.map((l) => [l.index, l]));
  const out: Array<{ link: Link; file: string; why: string }> = [];
  for (const l of links) {
    if (l.master === null && l.kind !== 'veth') continue;
    const f = files.find((x) => networkdMatches(x, l) === true);
    if (!f || f.unmanaged || f.keepMaster) continue;
    const master = l.master !== null ? byIndex.get(l.master)?.name : undefined;
    if (f.bridge !== undefined && f.bridge === master) continue;
    out.push({ link: l, file: f.path, why: f.bridge !== undefined ? `its Bridge=${f.bridge} is not its master` : 'it has no Bridge=, no KeepMaster=yes and no Unmanaged=yes' });
  }
  return out;
}

export const networkdKeepMaster: Check = async (ctx) => {
  const id = 'networkd-keepmaster';
  // networkd manages the links of the namespace it runs in, and only those.
  const running = ctx.networkd.running ?? (ctx.byId.get(ctx.targetId)?.processes.some((p) => p.comm === 'systemd-network') ?? false);
  if (!running) return passed(id, 'systemd-networkd does not run in this namespace');
  const findings = networkdFindings(ctx.links, await readNetworkFiles(ctx.networkd.dirs ?? NETWORKD_DIRS));
  if (findings.length === 0) return passed(id, 'systemd-networkd manages no bridge port or veth here, or keeps their master');
  return failed(
    id,
    `systemd-networkd will release ${findings.length} link(s) from their bridge: ${some(findings.map((f) => `${f.link.name} (${basename(f.file)})`), 3)}`,
    'add KeepMaster=yes under [Network] (or Unmanaged=yes under [Link]) in the matching .network file, or narrow its [Match] Name= so it does not match pipewright host ends',
    findings.map((f) => ({ kind: 'link', netns: ctx.targetId, name: f.link.name, index: f.link.index, path: f.file, detail: f.why })),
  );
};
