// The plugin called directly, as the spec's execution protocol describes it
// (no libcni in between, which always sets the environment and parses the
// config itself): missing environment, bad JSON, VERSION, and the v1.1
// verbs GC and STATUS that this libcni predates. The call still goes through
// libcni's executor (the driver's `raw`), so errors are decoded as a runtime
// decodes them. Every case ends with nothing left and the decoys intact.
import t, { type Test } from 'tap';
import { existsSync } from 'node:fs';
import { assertClean, CniWorld, PLUGIN_ENTRY, pluginTypes, type DriverOut, type PluginType } from '../helpers/cni-world';
import { driverUnavailable } from '../helpers/cni-driver';

const NET = 'pwnet';
const why = driverUnavailable();

function ok(t: Test, out: DriverOut, what: string): DriverOut {
  t.ok(out.ok, `${what} succeeds`, out.ok ? {} : { error: out.error, stderr: out.stderr });
  return out;
}
function fails(t: Test, out: DriverOut, what: string, code: number, msg?: RegExp): void {
  t.notOk(out.ok, `${what} fails`, out.ok ? { result: out.result } : {});
  t.equal(out.error?.code, code, `${what}: error code ${code}`, { error: out.error });
  if (msg) t.match(out.error?.msg ?? '', msg, `${what}: the message says why`, { error: out.error });
}

function directCase(t: Test, type: PluginType, name: string, body: (t: Test, w: CniWorld, conf: Record<string, unknown>) => Promise<void>, only?: { type: PluginType; why: string }): void {
  t.test(name, async (t) => {
    if (only && only.type !== type) return t.plan(0, `${type}: ${only.why}`);
    const w = await CniWorld.create();
    try {
      const decoys = await w.decoys(NET);
      await body(t, w, { cniVersion: '1.0.0', name: NET, ...w.mainPlugin(type) });
      await assertClean(t, w, NET, decoys, ['cni0', 'cni1']);
    } finally {
      await w.close();
    }
  });
}

if (why) t.plan(0, `no libcni driver here: ${why}`);
else
  for (const type of pluginTypes())
    t.test(type, async (t) => {
      if (type === 'pipewright' && !existsSync(PLUGIN_ENTRY)) t.fail(`${PLUGIN_ENTRY} is missing: the plugin is not built (npm run build:ts) or not there yet`);
      else table(t, type);
    });

function table(t: Test, type: PluginType): void {
  const pipewrightOnly = (why: string) => ({ type: 'pipewright' as const, why });

  directCase(t, type, 'each required variable missing: code 4 naming it, nothing made', async (t, w, conf) => {
    const ns = await w.container();
    const full = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: ns, CNI_IFNAME: 'eth0', CNI_PATH: w.bin };
    for (const name of ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'] as const) {
      const env: Record<string, string> = { ...full };
      delete env[name];
      fails(t, await w.raw(type, env, conf), `ADD without ${name}`, 4, new RegExp(name));
    }
  });

  directCase(
    t,
    type,
    'CNI_COMMAND missing or unknown: code 4',
    async (t, w, conf) => {
      fails(t, await w.raw(type, { CNI_PATH: w.bin }, conf), 'no CNI_COMMAND', 4, /CNI_COMMAND/);
      fails(t, await w.raw(type, { CNI_COMMAND: 'FROB', CNI_PATH: w.bin }, conf), 'CNI_COMMAND=FROB', 4, /FROB|CNI_COMMAND/);
    },
    pipewrightOnly('the reference plugins print their "about" text and exit 0 without CNI_COMMAND'),
  );

  directCase(t, type, 'bad JSON on stdin: code 6, nothing made', async (t, w) => {
    const ns = await w.container();
    const env = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: ns, CNI_IFNAME: 'eth0', CNI_PATH: w.bin };
    fails(t, await w.raw(type, env, '{"cniVersion": "1.0.0", "name": '), 'ADD with truncated JSON', 6);
    fails(t, await w.raw(type, env, 'not json at all'), 'ADD with text', 6);
  });

  directCase(
    t,
    type,
    'a malformed field: code 7 naming the field and value, nothing made',
    async (t, w, conf) => {
      const ns = await w.container();
      const env = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: ns, CNI_IFNAME: 'eth0', CNI_PATH: w.bin };
      fails(t, await w.raw(type, env, { ...conf, mtu: 'big' }), 'mtu "big"', 7, /mtu.*big/);
      fails(t, await w.raw(type, env, { ...conf, bridge: 'a-name-far-too-long-for-linux' }), 'a 29-character bridge name', 7, /bridge/);
    },
    pipewrightOnly('the reference bridge reports decode errors without the spec code 7'),
  );

  directCase(t, type, 'VERSION: the versions spoken, 1.0.0 among them', async (t, w) => {
    const out = ok(t, await w.raw(type, { CNI_COMMAND: 'VERSION' }, { cniVersion: '1.0.0' }), 'VERSION');
    t.ok(out.result?.supportedVersions?.includes('1.0.0'), 'supports 1.0.0', { result: out.result });
    t.ok(out.result?.supportedVersions?.includes('0.4.0'), 'supports 0.4.0');
    if (type === 'pipewright') t.ok(out.result?.supportedVersions?.includes('1.1.0'), 'supports 1.1.0');
    const conflist = w.conflist(NET, [w.mainPlugin(type)]);
    const valid = ok(t, await w.validate(conflist), "libcni's ValidateNetworkList");
    t.same(valid.result ?? [], [], 'the list asks for no capabilities');
  });

  directCase(
    t,
    type,
    'STATUS: ready with host-local in CNI_PATH; code 50 when its IPAM plugin is missing',
    async (t, w, conf) => {
      const v11 = { ...conf, cniVersion: '1.1.0' };
      const ready = ok(t, await w.raw(type, { CNI_COMMAND: 'STATUS', CNI_PATH: w.bin }, v11), 'STATUS');
      t.equal(ready.result, undefined, 'nothing on stdout when ready');
      const missing = { ...v11, ipam: { type: 'no-such-ipam', dataDir: w.data } };
      fails(t, await w.raw(type, { CNI_COMMAND: 'STATUS', CNI_PATH: w.bin }, missing), 'STATUS without its IPAM plugin', 50, /no-such-ipam/);
      fails(t, await w.raw(type, { CNI_COMMAND: 'STATUS', CNI_PATH: w.bin }, conf), 'STATUS with cniVersion 1.0.0', 1);
    },
    pipewrightOnly('STATUS is spec 1.1; the reference plugins here are 1.1.1 (spec 1.0)'),
  );

  directCase(
    t,
    type,
    "GC: removes exactly this network's attachments not listed; another network's and the listed ones stay",
    async (t, w, conf) => {
      const v11 = { ...conf, cniVersion: '1.1.0' };
      const other = { ...w.mainPlugin(type, { bridge: 'cni1', subnet: '10.23.0.0/24' }), cniVersion: '1.1.0', name: 'othernet' };
      const add = async (id: string, c: Record<string, unknown>) => {
        const ns = await w.container(id);
        const out = ok(t, await w.raw(type, { CNI_COMMAND: 'ADD', CNI_CONTAINERID: id, CNI_NETNS: ns, CNI_IFNAME: 'eth0', CNI_PATH: w.bin }, c), `ADD ${id}`);
        return { id, ns, result: out.result, conf: c };
      };
      const [c1, c2, c3, o1] = [await add('c1', v11), await add('c2', v11), await add('c3', v11), await add('o1', other)];
      const hostEnd = (r: any): string => r.interfaces.find((i: any) => i.sandbox === undefined && !/^cni[01]$/.test(i.name)).name;
      const gc = { ...v11, 'cni.dev/valid-attachments': [c1, c3].map((c) => ({ containerID: c.id, ifname: 'eth0' })) };
      ok(t, await w.raw(type, { CNI_COMMAND: 'GC', CNI_PATH: w.bin }, gc), 'GC keeping c1 and c3');
      const host = await w.links();
      t.notOk(host.includes(hostEnd(c2.result)), "c2's host end is gone");
      t.same(await w.links(c2.ns), ['lo'], "c2's interface is gone");
      t.notOk(w.leases(NET).includes('10.22.0.3'), "c2's lease is released");
      for (const c of [c1, c3, o1]) {
        t.ok(host.includes(hostEnd(c.result)), `${c.id}'s host end stays`);
        ok(t, await w.raw(type, { CNI_COMMAND: 'CHECK', CNI_CONTAINERID: c.id, CNI_NETNS: c.ns, CNI_IFNAME: 'eth0', CNI_PATH: w.bin }, { ...c.conf, prevResult: c.result }), `CHECK ${c.id}`);
      }
      ok(t, await w.raw(type, { CNI_COMMAND: 'GC', CNI_PATH: w.bin }, gc), 'GC again changes nothing');
      t.same(await w.links(), host, 'the same links');
      fails(t, await w.raw(type, { CNI_COMMAND: 'GC', CNI_PATH: w.bin }, { ...gc, cniVersion: '1.0.0' }), 'GC with cniVersion 1.0.0', 1);
      for (const c of [c1, c3, o1]) ok(t, await w.raw(type, { CNI_COMMAND: 'DEL', CNI_CONTAINERID: c.id, CNI_NETNS: c.ns, CNI_IFNAME: 'eth0', CNI_PATH: w.bin }, { ...c.conf, prevResult: c.result }), `DEL ${c.id}`);
      t.same(w.leases('othernet'), [], "othernet's lease released by its DEL");
    },
    pipewrightOnly('GC is spec 1.1; the reference plugins here are 1.1.1 (spec 1.0)'),
  );
}
