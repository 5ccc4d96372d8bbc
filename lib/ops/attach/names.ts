// pipework's naming rules, kept so that scripts and operators find the same
// names: host end v<guestif>pl<pid>, macvlan ph<pid><guestif>, and U:SEED MACs.
import { IFNAMSIZ } from '../../core/validate';

const MAX = IFNAMSIZ - 1;

/**
 * pipework's host end name, v<guestif>pl<pid>. pipework let it grow past 15
 * bytes (and the kernel then refused it); we shorten the guest-interface part
 * so the PID, which makes it unique, always survives. Without a PID (a named
 * namespace or a path), the namespace inode in base 36 takes its place.
 */
export function hostEndName(guestIf: string, pidOrInode: number, isPid: boolean): string {
  const id = isPid ? String(pidOrInode) : pidOrInode.toString(36);
  const tag = isPid ? 'pl' : 'pn';
  const room = MAX - 1 - tag.length - id.length;
  return `v${guestIf.slice(0, Math.max(0, room))}${tag}${id}`.slice(0, MAX);
}

/**
 * The MAC pipework derives from U:SEED: "02:" and the first five bytes of
 * md5(seed + "\n") (pipework pipes `echo $seed` into md5sum). Stable,
 * locally administered, unicast.
 */
export function macFromSeed(seed: string): string {
  // node:crypto loads on first use: ~2.5 ms of every CLI start otherwise.
  const { createHash } = require('node:crypto') as typeof import('node:crypto');
  const hex = createHash('md5').update(`${seed}\n`).digest('hex');
  return `02:${hex.slice(0, 10).match(/../g)!.join(':')}`;
}
