// Subnet arithmetic for the gateway rule (is the gateway on the guest's
// subnet?), on top of ipaddr.js.
import ipaddr from 'ipaddr.js';
import type { Cidr } from '../../core/validate';

export function inSubnet(address: string, net: Cidr): boolean {
  const a = ipaddr.parse(address);
  const n = ipaddr.parse(net.address);
  if (a.kind() !== n.kind()) return false;
  return (a as ipaddr.IPv4).match(n as ipaddr.IPv4, net.prefixLen);
}
