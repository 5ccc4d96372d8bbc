// Two "hosts" joined by an underlay link, each with a bridge, a VXLAN device
// (VNI 42) and one container namespace; the containers ping across the
// overlay. The flood entry (all-zeros MAC) is what `bridge fdb append
// 00:00:00:00:00:00 dst <other host> dev vxlan0` adds (FIELD-NOTES §4).
//
//   node examples/vxlan-two-hosts.js     (re-runs itself inside a sandbox)
const { execFileSync } = require('node:child_process');
const { Handle, Netns } = require('pipewright');
const { ensureSandbox } = require('pipewright/sandbox');

ensureSandbox();

const UNDERLAY = ['192.0.2.1', '192.0.2.2'];
const OVERLAY = ['172.16.1.2', '172.16.1.3'];

async function main() {
  const root = await Handle.open();
  const hosts = [await Netns.create({ name: 'hostA' }), await Netns.create({ name: 'hostB' })];
  // The underlay: one veth whose ends are born inside the two hosts.
  await root.link.add({ kind: 'veth', name: 'eth0', netns: hosts[0], up: true, peer: { name: 'eth0', netns: hosts[1], up: true } });

  const containers = [];
  for (const i of [0, 1]) {
    const h = await Handle.open(hosts[i]);
    await h.link.set('lo', { up: true });
    await h.addr.add('eth0', `${UNDERLAY[i]}/24`);
    await h.link.add({ kind: 'bridge', name: 'br0', up: true });
    await h.link.add({ kind: 'vxlan', name: 'vxlan0', vni: 42, port: 4789, dev: 'eth0', local: UNDERLAY[i], learning: true, master: 'br0', up: true });
    await h.fdb.append({ dev: 'vxlan0', lladdr: '00:00:00:00:00:00', dst: UNDERLAY[1 - i] });

    const c = await Netns.create({ name: `container${'AB'[i]}` });
    await h.link.add({ kind: 'veth', name: 'veth0', up: true, master: 'br0', mtu: 1450, peer: { name: 'eth0', netns: c, mtu: 1450 } });
    const ch = await Handle.open(c);
    await ch.link.set('lo', { up: true });
    await ch.addr.add('eth0', `${OVERLAY[i]}/24`);
    await ch.link.set('eth0', { up: true });
    containers.push({ c, ch, h });
    const fdb = await h.fdb.list({ dev: 'vxlan0' });
    console.log(`host${'AB'[i]}: vxlan0 floods to ${fdb.filter((e) => e.lladdr === '00:00:00:00:00:00').map((e) => e.address).join(', ')}`);
  }

  const out = execFileSync('ip', ['netns', 'exec', 'containerA', 'ping', '-c', '2', '-W', '2', OVERLAY[1]], { encoding: 'utf8' });
  console.log(out.split('\n').filter((l) => /bytes from|packet loss/.test(l)).join('\n'));

  for (const { c, ch, h } of containers) {
    await ch.close();
    await c.delete();
    await h.close();
  }
  for (const ns of hosts) await ns.delete();
  await root.close();
  console.log('done: containerA reached containerB through VXLAN 42, and everything was removed');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
