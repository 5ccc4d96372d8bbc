// ipam.resolvConf: the DNS settings of a resolv.conf-style file, read as the
// reference reads them (plugins/ipam/host-local/dns.go): comments (# ;) and
// blank lines skipped, lines of fewer than two words skipped; nameserver
// and search/options accumulate, the last domain wins.
import { readFile } from 'node:fs/promises';
import type { CniDns } from '../result';

export function parseResolvConf(text: string): CniDns {
  const dns: CniDns = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const words = line.split(/\s+/);
    if (words.length < 2) continue;
    const [key, ...rest] = words as [string, ...string[]];
    if (key === 'nameserver') (dns.nameservers ??= []).push(rest[0]!);
    else if (key === 'domain') dns.domain = rest[0]!;
    else if (key === 'search') (dns.search ??= []).push(...rest);
    else if (key === 'options') (dns.options ??= []).push(...rest);
  }
  return dns;
}

/** The file's DNS settings; a file that cannot be read fails as the reference fails ("open PATH: why"). */
export async function readResolvConf(path: string): Promise<CniDns> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new Error(`open ${path}: ${err.code === 'ENOENT' ? 'no such file or directory' : err.code === 'EACCES' ? 'permission denied' : err.message}`);
  }
  return parseResolvConf(text);
}
