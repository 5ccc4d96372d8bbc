// Which device neutron's loop (FIELD-NOTES §2) can create here. Its agents
// made taps and veth pairs alike, and both leak the same way. A tap needs
// /dev/net/tun opened read-write; in a user namespace that device node
// belongs to an owner the namespace does not map, so the open fails whatever
// capabilities the namespace grants (unless the node is world-writable).
// Then the loop makes veth pairs instead, and the report says why.
import { statSync } from 'node:fs';
import { exec } from './common';

export interface LeakDevice {
  kind: 'tap' | 'veth';
  /** What the report calls one leaked unit. */
  noun: string;
  /** A bash function `add NAME` creating one DOWN device named NAME (a veth's peer is pNAME). */
  addFunction: string;
  /** When kind is 'veth': what the probe tried, and what stopped it. */
  tapUnavailable?: string;
}

let probed: Promise<string | null> | undefined;

/**
 * null when this process can create a tap device; otherwise the reason,
 * naming what was tried and the kernel's answer. Tried for real, in a
 * throwaway network namespace (`unshare --net`), so nothing is left.
 */
export function probeTap(): Promise<string | null> {
  probed ??= (async () => {
    const r = await exec('unshare', ['--net', 'ip', 'tuntap', 'add', 'mode', 'tap', 'name', 'pwprobe0'], { timeoutMs: 10_000 });
    if (r.code === 0) return null;
    let node = '';
    try {
      const st = statSync('/dev/net/tun');
      node = ` (/dev/net/tun: mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}, owner uid ${st.uid} as seen from here)`;
    } catch (e) {
      node = ` (/dev/net/tun: ${(e as NodeJS.ErrnoException).code ?? String(e)})`;
    }
    return `no tap device can be created here: \`unshare --net ip tuntap add mode tap\` exited ${r.code}: ${r.stderr.trim() || 'no message'}${node}`;
  })();
  return probed;
}

/** The device the loop makes: a tap when the probe can make one, else a veth pair. */
export async function leakDevice(): Promise<LeakDevice> {
  const why = await probeTap();
  if (why === null) return { kind: 'tap', noun: 'tap devices', addFunction: 'add() { ip tuntap add dev "$1" mode tap; }' };
  return { kind: 'veth', noun: 'veth pairs', addFunction: 'add() { ip link add "$1" type veth peer name "p$1"; }', tapUnavailable: why };
}
