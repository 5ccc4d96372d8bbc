// Two namespaces on a bridge, pinging each other (a ping each way, and one
// to the bridge): the hand-built topology of
// an overlay network's host side (FIELD-NOTES §4), in pipewright calls.
//
//   node examples/two-namespaces.js      (re-runs itself inside a sandbox)
const { execFileSync } = require('node:child_process');
const { Handle, Netns } = require('pipewright');
const { ensureSandbox } = require('pipewright/sandbox');

ensureSandbox();

async function main() {
  const host = await Handle.open(); // the sandbox's own namespace plays the host
  await host.link.add({ kind: 'bridge', name: 'br0', up: true });
  await host.addr.add('br0', '172.16.1.1/16');

  const guests = [];
  for (const [i, ip] of [[1, '172.16.1.2/16'], [2, '172.16.1.3/16']]) {
    const ns = await Netns.create({ name: `ns${i}` }); // visible to `ip netns`
    // One request: host end up and enslaved, peer born inside ns${i} as eth0.
    await host.link.add({ kind: 'veth', name: `veth${i}`, up: true, master: 'br0', peer: { name: 'eth0', netns: ns } });
    const g = await Handle.open(ns);
    await g.link.set('lo', { up: true });
    await g.addr.add('eth0', ip);
    await g.link.set('eth0', { up: true });
    await g.route.add({ dst: 'default', gateway: '172.16.1.1' });
    guests.push({ ns, g });
  }

  const ports = await host.link.list({ master: 'br0' });
  console.log(`br0 ports: ${ports.map((l) => `${l.name} (${l.up ? 'up' : 'down'})`).join(', ')}`);
  for (const { ns, g } of guests) {
    const [a] = await g.addr.list({ dev: 'eth0', family: 4 });
    console.log(`${ns.name}: eth0 ${a.address}/${a.prefixLen}`);
  }

  // Real traffic, a ping each way across the bridge: ns1 -> ns2, ns2 -> ns1;
  // then ns2 -> the bridge's own address, its gateway.
  const ping = (ns, to) => execFileSync('ip', ['netns', 'exec', ns, 'ping', '-c', '1', '-W', '2', to], { encoding: 'utf8' }).split('\n')[1];
  console.log(`ns1 -> ns2: ${ping('ns1', '172.16.1.3')}`);
  console.log(`ns2 -> ns1: ${ping('ns2', '172.16.1.2')}`);
  console.log(`ns2 -> br0: ${ping('ns2', '172.16.1.1')}`);

  for (const { ns, g } of guests) {
    await g.close();
    await ns.delete({ wait: true }); // resolves once the namespace is gone, and the veth with it
  }
  await host.link.del('br0');
  await host.close();
  console.log('done: both namespaces reached each other over br0, and everything was removed');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
