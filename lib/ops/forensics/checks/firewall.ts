// bridge-nf-call-iptables on while iptables FORWARD drops: guests on a bridge
// Docker does not manage reach the host but not each other (TEST-ENVIRONMENT
// §2). The test itself is lib/ops/firewall.ts's, run once per bridge.
import { bridgeFirewallWarning } from '../../firewall';
import { mapLimit } from '../procfs';
import { Check, DoctorObject, failed, passed } from './types';

export const bridgeFirewall: Check = async (ctx) => {
  const id = 'bridge-firewall';
  const bridges = ctx.links.filter((l) => l.kind === 'bridge');
  if (bridges.length === 0) return passed(id, 'no bridge here');
  // A test may still run `iptables -S` (when FORWARD drops): a few at a time.
  const warnings = await mapLimit(bridges, 4, (b) => bridgeFirewallWarning(ctx.target, b.name));
  const objects: DoctorObject[] = [];
  warnings.forEach((w, i) => {
    if (w) objects.push({ kind: 'link', netns: ctx.targetId, name: bridges[i]!.name, index: bridges[i]!.index, detail: w });
  });
  if (objects.length === 0) return passed(id, `bridged traffic on ${bridges.length} bridge(s) is not dropped by iptables FORWARD`);
  const names = objects.map((o) => o.name!);
  return failed(
    id,
    `traffic between guests on ${names.join(', ')} is dropped: bridge-nf-call-iptables is 1 and iptables FORWARD drops (a Docker daemon's default)`,
    // Each warning ends in the rule that fixes its bridge (the chain depends on whether Docker's exists).
    objects.map((o) => o.detail!.slice(o.detail!.indexOf('Fix: ') + 5)).join('; '),
    objects,
  );
};
