// The benchmark's workload, shared by every way of doing it: guest k (1..N)
// is the named namespace g<k>, whose veth host end vg<k> is a port of br0 in
// link group GROUP, and whose guest end eth0 has 10.0.x.y/16 (x.y = k + 1, so
// guest 1 is 10.0.0.2: 10.0.0.1 is the bridge, the guests' gateway).
'use strict';

const BRIDGE = 'br0';
const GATEWAY = '10.0.0.1';
const PREFIX = 16;
// Any group but 0 (every link's default); not pipewright's own 0x7077, so a
// stray run can never be confused with attach()'s host ends.
const GROUP = 4242;

const nsName = (k) => `g${k}`;
const hostEnd = (k) => `vg${k}`;
function address(k) {
  const host = k + 1;
  return `10.0.${host >> 8}.${host & 255}`;
}
const cidr = (k) => `${address(k)}/${PREFIX}`;

const range = (n) => Array.from({ length: n }, (_, i) => i + 1);

module.exports = { BRIDGE, GATEWAY, PREFIX, GROUP, nsName, hostEnd, address, cidr, range };
