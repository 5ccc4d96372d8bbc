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
  const lines = rules.split('\n');
  if (!lines.includes('-P FORWARD DROP')) return null;
  const accepts = lines.some((l) => /^-A (FORWARD|DOCKER-USER) /.test(l) && l.includes(`-i ${bridge}`) && l.includes(`-o ${bridge}`) && l.endsWith('-j ACCEPT'));
  if (accepts) return null;
  const chain = lines.some((l) => l === '-N DOCKER-USER') ? 'DOCKER-USER' : 'FORWARD';
  return (
    `traffic between guests on ${bridge} will be dropped: bridge-nf-call-iptables is 1 and the iptables FORWARD policy is DROP ` +
    `(a Docker daemon sets it). Fix: iptables -I ${chain} -i ${bridge} -o ${bridge} -j ACCEPT ` +
    `(or sysctl -w net.bridge.bridge-nf-call-iptables=0 to keep bridged frames out of iptables)`
  );
}
