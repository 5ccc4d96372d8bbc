// The silent drop: with br_netfilter, bridged frames traverse iptables'
// FORWARD chain (bridge-nf-call-iptables = 1), and a Docker daemon sets
// FORWARD's policy to DROP. Guests on a bridge Docker does not manage then
// reach the host but not each other, while ARP still resolves. We check for
// that combination and say how to fix it.
//
// The check runs on every bridge attach, so the common answers come from the
// addon without a process: the sysctl, and the nf_tables chains where
// iptables-nft keeps FORWARD's policy. `iptables -S` (a fork on the event
// loop's thread, ~2.5-6.5 ms) runs only to read the rules when FORWARD does
// drop, or when iptables-legacy holds rules nf_tables cannot show.
import type { FirewallState, Handle } from '../core/handle';
import { promisify } from 'node:util';

/** NFPROTO_IPV4: the family of iptables-nft's tables (ip6tables' are NFPROTO_IPV6). */
const NFPROTO_IPV4 = 2;

async function inHostNs(host: Handle, cmd: string, args: string[]): Promise<string> {
  const argv = host.netns ? ['nsenter', `--net=/proc/${process.pid}/fd/${host.netns.fd}`, cmd, ...args] : [cmd, ...args];
  // Loaded here, not at import: node:child_process pulls in net and streams,
  // ~3-5 ms of a CLI start that usually never runs a process.
  const { execFile } = await import('node:child_process');
  const { stdout } = await promisify(execFile)(argv[0]!, argv.slice(1), { timeout: 5000 });
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

/**
 * Whether iptables' rules must be read to decide. iptables-nft stores
 * `-P FORWARD DROP` as the policy of the base chain FORWARD in table filter
 * of family ip, so with no such chain dropping, FORWARD accepts and no rule
 * can change that. iptables-legacy's tables live outside nf_tables: when it
 * has a filter table (or /proc cannot tell us), only iptables can say.
 */
function mustReadRules(state: FirewallState): boolean {
  if (state.legacyTables === null || state.legacyTables.includes('filter')) return true;
  return state.forwardChains.some((c) => c.family === NFPROTO_IPV4 && c.table === 'filter' && c.name === 'FORWARD' && c.policy === 'drop');
}

/** A warning with the fix, or null when bridged traffic on `bridge` is not dropped by the firewall. */
export async function bridgeFirewallWarning(host: Handle, bridge: string): Promise<string | null> {
  let state: FirewallState;
  try {
    state = await host.firewallState();
  } catch (e) {
    // Without CAP_NET_ADMIN there the rules cannot be read (iptables could
    // not either): nothing to warn about that we could know.
    const code = (e as { code?: string }).code;
    if (code === 'EPERM' || code === 'EACCES') return null;
    throw e;
  }
  if (state.bridgeNfCallIptables !== 1) return null; // no br_netfilter, or bridged frames kept out of iptables
  if (!mustReadRules(state)) return null;
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
