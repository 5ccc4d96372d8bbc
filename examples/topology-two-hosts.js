// FIELD-NOTES §4's two topologies — a bridge br0 with 172.16.1.1/16 and two
// guests, and VXLAN 42 (explicit dstport) between two hosts with an
// all-zeros flood entry per remote host — as one `pipewright apply` per
// host: examples/topologies/hostA.yaml and hostB.yaml. The two "hosts" are
// throwaway namespaces joined by an underlay veth; each runs the real CLI
// with the host's namespace as its own. Guests ping across the overlay both
// ways; then each host applies an empty topology (which removes what its
// file made) and the namespaces go.
//
//   node examples/topology-two-hosts.js     (re-runs itself inside a sandbox)
const { execFileSync } = require('node:child_process');
const { join, dirname } = require('node:path');
const { Handle, Netns } = require('pipewright');
const { ensureSandbox } = require('pipewright/sandbox');

ensureSandbox();

const CLI = join(dirname(require.resolve('pipewright/package.json')), 'dist', 'lib', 'cli', 'launch.js');
const FILES = join(__dirname, 'topologies');

/** `pipewright ARGS...` run on host NAME (nsenter: only the network namespace changes). */
function pipewright(host, ...args) {
  return execFileSync('nsenter', [`--net=/run/netns/${host}`, process.execPath, CLI, ...args], { encoding: 'utf8' });
}

function ping(guest, to) {
  const out = execFileSync('ip', ['netns', 'exec', guest, 'ping', '-c', '1', '-W', '2', to], { encoding: 'utf8' });
  return out.split('\n')[1];
}

async function main() {
  // Two hosts and their underlay (eth0 192.0.2.1 and .2): the machines, not the topology.
  const hosts = [await Netns.create({ name: 'hostA' }), await Netns.create({ name: 'hostB' })];
  const root = await Handle.open();
  await root.link.add({ kind: 'veth', name: 'eth0', netns: hosts[0], up: true, peer: { name: 'eth0', netns: hosts[1], up: true } });
  await root.close();
  for (const [i, ns] of hosts.entries()) {
    const h = await Handle.open(ns);
    await h.link.set('lo', { up: true });
    await h.addr.add('eth0', `192.0.2.${i + 1}/24`);
    await h.close();
  }

  // The whole manual procedure: one command per host (-v: say what was done; without it, silent on success).
  process.stdout.write(pipewright('hostA', 'apply', join(FILES, 'hostA.yaml'), '-v'));
  process.stdout.write(pipewright('hostB', 'apply', join(FILES, 'hostB.yaml'), '-v'));
  process.stdout.write(pipewright('hostA', 'apply', join(FILES, 'hostA.yaml'), '-v')); // again: nothing to do
  process.stdout.write(pipewright('hostA', 'overlay', 'vxlan0', '--show'));

  console.log(`ns1 -> ns2 (same bridge): ${ping('ns1', '172.16.1.3')}`);
  console.log(`ns1 -> ns3 (across VXLAN 42): ${ping('ns1', '172.16.1.4')}`);
  console.log(`ns3 -> ns2 (across VXLAN 42): ${ping('ns3', '172.16.1.3')}`);

  // Teardown: an empty topology of the same name removes what the file made.
  const fs = require('node:fs');
  const scratch = fs.mkdtempSync(join(require('node:os').tmpdir(), 'pw-example-'));
  try {
    for (const host of ['hostA', 'hostB']) {
      const empty = join(scratch, `${host}-empty.json`);
      fs.writeFileSync(empty, JSON.stringify({ name: host }));
      process.stdout.write(pipewright(host, 'apply', empty, '-v'));
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  for (const name of ['ns1', 'ns2', 'ns3']) await (await Netns.open({ name })).delete();
  for (const ns of hosts) await ns.delete({ wait: true });
  console.log('done: three guests on two hosts reached each other over br0 and VXLAN 42, and everything was removed');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
