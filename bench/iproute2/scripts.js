// The iproute2 ways of doing the workload, generated as shell scripts and
// batch files in a scratch directory; the driver times each script's run.
//
// ip per step:   one `ip` process per step, as a provisioning script does.
// ip -batch:     the fastest honest form: one `ip -batch` for everything on
//                the host side (names and veths: `ip link add` takes up,
//                master, group and the peer's netns in one command), then one
//                `ip -n NS -batch` per guest, because a batch cannot change
//                namespace between lines (`netns exec` in a batch forks too).
// pipework:      pipework's own command sequence per guest (see
//                pipework-sequence.sh), after `ip netns add` for every guest
//                (timed apart: pipework takes existing guests, as
//                pipewright's CLI ways do, whose namespaces are made untimed).
'use strict';

const { writeFileSync, mkdirSync, chmodSync } = require('node:fs');
const { join } = require('node:path');
const W = require('../lib/workload');

const SEQUENCE = join(__dirname, 'pipework-sequence.sh');

function script(dir, name, lines) {
  const file = join(dir, name);
  writeFileSync(file, ['#!/bin/sh', 'set -e', ...lines, ''].join('\n'));
  chmodSync(file, 0o755);
  return file;
}

function hostVeth(k) {
  return `link add ${W.hostEnd(k)} group ${W.GROUP} up master ${W.BRIDGE} type veth peer name eth0 netns ${W.nsName(k)}`;
}

function guestSteps(k) {
  return [`addr add ${W.cidr(k)} dev eth0`, 'link set eth0 up', `route add default via ${W.GATEWAY}`];
}

// Everything the ways made, in bulk: the group in one delete, then every name.
function bulkTeardown(dir) {
  return script(dir, 'teardown.sh', [`ip link delete group ${W.GROUP}`, 'ip -all netns delete']);
}

function ipPerStep(dir, n) {
  const lines = [];
  for (const k of W.range(n)) {
    const ns = W.nsName(k);
    lines.push(
      `ip netns add ${ns}`,
      `ip link add ${W.hostEnd(k)} group ${W.GROUP} type veth peer name eth0 netns ${ns}`,
      `ip link set ${W.hostEnd(k)} master ${W.BRIDGE}`,
      `ip link set ${W.hostEnd(k)} up`,
      ...guestSteps(k).map((s) => `ip -n ${ns} ${s}`),
    );
  }
  return { create: script(dir, 'create.sh', lines), teardown: bulkTeardown(dir) };
}

function ipBatch(dir, n) {
  const host = join(dir, 'host.batch');
  writeFileSync(host, [...W.range(n).map((k) => `netns add ${W.nsName(k)}`), ...W.range(n).map(hostVeth), ''].join('\n'));
  const lines = [`ip -batch ${host}`];
  for (const k of W.range(n)) {
    const file = join(dir, `${W.nsName(k)}.batch`);
    writeFileSync(file, `${guestSteps(k).join('\n')}\n`);
    lines.push(`ip -n ${W.nsName(k)} -batch ${file}`);
  }
  const down = join(dir, 'teardown.batch');
  writeFileSync(down, [`link delete group ${W.GROUP}`, ...W.range(n).map((k) => `netns delete ${W.nsName(k)}`), ''].join('\n'));
  return { create: script(dir, 'create.sh', lines), teardown: script(dir, 'teardown.sh', [`ip -batch ${down}`]) };
}

function pipework(dir, n) {
  const scratch = join(dir, 'pipework-netns');
  mkdirSync(scratch, { recursive: true });
  const setup = script(dir, 'setup.sh', W.range(n).map((k) => `ip netns add ${W.nsName(k)}`));
  const lines = W.range(n).map((k) => `sh ${SEQUENCE} ${W.BRIDGE} ${W.nsName(k)} ${W.cidr(k)} ${W.GATEWAY} ${scratch}`);
  // pipework puts its host ends in no group and has no teardown of its own:
  // removing the namespaces destroys the pairs. Namespace destruction is
  // asynchronous, so wait until no veth is left.
  const teardown = script(dir, 'teardown.sh', [
    'ip -all netns delete',
    'while [ -n "$(ip -o link show type veth)" ]; do sleep 0.001; done',
  ]);
  return { setup, create: script(dir, 'create.sh', lines), teardown };
}

module.exports = { ipPerStep, ipBatch, pipework };
