// The silent drop: with br_netfilter, bridged frames traverse iptables'
// FORWARD chain (bridge-nf-call-iptables = 1), and a Docker daemon sets
// FORWARD's policy to DROP. Guests on a bridge Docker does not manage then
// reach the host but not each other, while ARP still resolves. We check for
// that combination and say how to fix it.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { Handle } from './handle';

const run = promisify(execFile);

async function inHostNs(host: Handle, cmd: string, args: string[]): Promise<string> {
  const argv = host.netns ? ['nsenter', `--net=/proc/${process.pid}/fd/${host.netns.fd}`, cmd, ...args] : [cmd, ...args];
  const { stdout } = await run(argv[0]!, argv.slice(1), { timeout: 5000 });
  return stdout;
}

/**
 * Whether a rule accepts every frame bridged through `bridge`: exactly
 * "-i BR -o BR -j ACCEPT", or "-m physdev --physdev-is-bridged -i BR -j ACCEPT",
 * in FORWARD or in DOCKER-USER ahead of its unconditional RETURN (a rule
 * appended after it is never reached). Words are compared whole, so br1's
 * rule does not pass for br10; a rule with any other match accepts only part
 * of the traffic and does not count.
 */
function acceptsBridged(rules: string[], bridge: string): boolean {
  let userReturned = false;
  for (const rule of rules) {
    const w = rule.split(/\s+/);
    if (w[0] !== '-A' || (w[1] !== 'FORWARD' && w[1] !== 'DOCKER-USER')) continue;
    if (w[1] === 'DOCKER-USER' && userReturned) continue;
    const rest = w.slice(2).join(' ');
    if (w[1] === 'DOCKER-USER' && rest === '-j RETURN') userReturned = true;
    if (rest === `-i ${bridge} -o ${bridge} -j ACCEPT`) return true;
    if (rest === `-i ${bridge} -m physdev --physdev-is-bridged -j ACCEPT` || rest === `-m physdev --physdev-is-bridged -i ${bridge} -j ACCEPT`) return true;
  }
  return false;
}

/** A warning with the fix, or null when bridged traffic on `bridge` is not dropped by the firewall. */
export async function bridgeFirewallWarning(host: Handle, bridge: string): Promise<string | null> {
  let nfCall: string;
  try {
    nfCall = host.netns
      ? await inHostNs(host, 'cat', ['/proc/sys/net/bridge/bridge-nf-call-iptables'])
      : await readFile('/proc/sys/net/bridge/bridge-nf-call-iptables', 'utf8');
  } catch {
    return null; // no br_netfilter: bridged frames never see iptables
  }
  if (nfCall.trim() !== '1') return null;
  let rules: string;
  try {
    rules = await inHostNs(host, 'iptables', ['-w', '5', '-S']);
  } catch {
    return null; // no iptables binary, or no permission to read the rules
  }
  const lines = rules.split('\n').map((l) => l.trim());
  if (!lines.includes('-P FORWARD DROP')) return null;
  if (acceptsBridged(lines, bridge)) return null;
  const chain = lines.includes('-N DOCKER-USER') ? 'DOCKER-USER' : 'FORWARD';
  return (
    `traffic between guests on ${bridge} will be dropped: bridge-nf-call-iptables is 1 and the iptables FORWARD policy is DROP ` +
    `(a Docker daemon sets it). Fix: iptables -I ${chain} -i ${bridge} -o ${bridge} -j ACCEPT ` +
    `(or sysctl -w net.bridge.bridge-nf-call-iptables=0 to keep bridged frames out of iptables)`
  );
}
