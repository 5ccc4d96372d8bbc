// The CNI plugin's pure parts: configuration parsing and validation (every
// version, cniVersions), the environment per verb, and result conversion
// between versions.
import t from 'tap';
import { parseConfig } from '../../lib/ops/cni/config';
import { readEnv } from '../../lib/ops/cni/env';
import { parseResult, renderResult } from '../../lib/ops/cni/result';
import { chooseVersion, requireVerb } from '../../lib/ops/cni/version';
import { CniError, toCniError } from '../../lib/ops/cni/errors';
import { hostEndName, ownerTag } from '../../lib/ops/cni/names';
import { invalidArgument } from '../../lib/core/errors';

const base = { cniVersion: '1.1.0', name: 'net1', type: 'pipewright' };
const conf = (o: Record<string, unknown>) => parseConfig(JSON.stringify({ ...base, ...o }));

function refused(t: { ok(v: unknown, m: string): unknown; equal(a: unknown, b: unknown, m: string): unknown; match(a: unknown, b: string | RegExp, m: string): unknown; fail(m: string): unknown }, f: () => unknown, code: number, msg: string | RegExp, what: string): void {
  try {
    f();
    t.fail(`${what}: not refused`);
  } catch (e) {
    t.ok(e instanceof CniError, `${what}: a CniError`);
    t.equal((e as CniError).code, code, `${what}: code ${code}`);
    t.match((e as CniError).msg, msg, `${what}: ${(e as CniError).msg}`);
  }
}

t.test('defaults and every supported version', async (t) => {
  for (const v of ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0']) {
    const c = parseConfig(JSON.stringify({ ...base, cniVersion: v }));
    t.equal(c.cniVersion, v);
    t.equal(c.bridge, 'cni0', 'default bridge');
    t.equal(c.isGateway, false);
    t.equal(c.ipam, undefined);
  }
  const c = conf({ bridge: 'br9', mtu: 1400, isDefaultGateway: true, ipam: { type: 'host-local', subnet: '10.0.0.0/24' }, ipMasq: false, hairpinMode: false, args: { anything: [1] }, runtimeConfig: {} });
  t.equal(c.bridge, 'br9');
  t.equal(c.mtu, 1400);
  t.equal(c.isGateway, true, 'isDefaultGateway implies isGateway');
  t.same(c.ipam, { type: 'host-local' });
  t.ok(Object.isFrozen(c), 'immutable');
});

t.test('cniVersions: the newest one both speak', async (t) => {
  t.equal(chooseVersion(undefined, ['0.4.0', '1.0.0', '2.0.0']), '1.0.0');
  t.equal(chooseVersion('0.3.1', ['1.1.0']), '0.3.1', 'cniVersion wins when given');
  t.equal(parseConfig(JSON.stringify({ cniVersions: ['1.1.0', '0.4.0'], name: 'n', type: 'pipewright' })).cniVersion, '1.1.0');
  refused(t, () => chooseVersion(undefined, ['2.0.0']), 1, 'none of cniVersions ["2.0.0"] is supported', 'none in common');
  refused(t, () => chooseVersion(undefined, []), 7, 'cniVersions: [] must be a non-empty list', 'empty list');
  refused(t, () => chooseVersion(undefined, ['1.0']), 7, 'cniVersions[0]: "1.0" is not a version of the form X.Y.Z', 'bad element');
  refused(t, () => chooseVersion('0.2.0', undefined), 1, 'cniVersion "0.2.0" is not supported', 'too old');
  refused(t, () => chooseVersion(undefined, undefined), 7, 'cniVersion: (missing) is required', 'missing');
});

t.test('verbs by version', async (t) => {
  refused(t, () => requireVerb('CHECK', '0.3.1'), 1, 'CHECK needs cniVersion 0.4.0', 'CHECK before 0.4.0');
  refused(t, () => requireVerb('GC', '1.0.0'), 1, 'GC needs cniVersion 1.1.0', 'GC before 1.1.0');
  refused(t, () => requireVerb('STATUS', '1.0.0'), 1, 'STATUS needs cniVersion 1.1.0', 'STATUS before 1.1.0');
  t.doesNotThrow(() => requireVerb('CHECK', '0.4.0'));
  t.doesNotThrow(() => requireVerb('ADD', '0.3.0'));
});

t.test('bad configurations name the field and value', async (t) => {
  refused(t, () => parseConfig('not json'), 6, 'failed to decode the network configuration', 'not JSON');
  refused(t, () => parseConfig('[1]'), 6, 'must be a JSON object', 'an array');
  refused(t, () => conf({ bridg: 'x' }), 2, 'bridg: "x" is not a field pipewright knows', 'typo');
  refused(t, () => conf({ ipMasq: true }), 2, 'ipMasq: true is not done by pipewright', 'ipMasq');
  refused(t, () => conf({ promiscMode: true }), 2, 'promiscMode: true is not supported yet', 'promiscMode');
  refused(t, () => conf({ vlan: 7 }), 2, 'vlan: 7 is not supported', 'vlan');
  refused(t, () => conf({ vlan: 5000 }), 7, 'vlan: 5000 must be a VLAN id', 'vlan range');
  refused(t, () => conf({ name: 'a b' }), 7, 'name: "a b" must be a network name', 'name');
  refused(t, () => conf({ type: '' }), 7, 'type: "" must name the plugin', 'type');
  refused(t, () => conf({ bridge: 'x/y' }), 7, "bridge: \"x/y\" must not contain '/'", 'bridge');
  refused(t, () => conf({ mtu: 70000 }), 7, 'mtu: 70000', 'mtu');
  refused(t, () => conf({ isGateway: 1 }), 7, 'isGateway: 1 must be true or false', 'isGateway');
  refused(t, () => conf({ ipam: [] }), 7, 'ipam: [] must be an object', 'ipam');
  refused(t, () => conf({ ipam: { type: '../x' } }), 7, 'ipam.type: "../x" must name an IPAM plugin', 'ipam.type');
  refused(t, () => conf({ dns: { nameservers: 'x' } }), 7, 'dns.nameservers: "x" must be a list of strings', 'dns');
  refused(t, () => conf({ 'cni.dev/valid-attachments': [{ containerID: 'a' }] }), 7, 'cni.dev/valid-attachments[0].ifname', 'valid-attachments');
  refused(t, () => conf({ prevResult: { interfaces: [], ips: [{ address: '10.0.0.2/24', interface: 0 }] } }), 6, 'prevResult: ips[0].interface: 0 points past the 0 interface(s)', 'prevResult index');
});

t.test('the environment, per verb', async (t) => {
  const env = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: '/run/netns/x', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin:/usr/lib/cni', CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=web' };
  const e = readEnv(env);
  t.same(e.path, ['/opt/cni/bin', '/usr/lib/cni']);
  t.same(e.args, { IgnoreUnknown: '1', K8S_POD_NAME: 'web' });
  refused(t, () => readEnv({ ...env, CNI_NETNS: undefined }), 4, 'CNI_NETNS is required for ADD', 'netns');
  t.doesNotThrow(() => readEnv({ ...env, CNI_COMMAND: 'DEL', CNI_NETNS: undefined }), 'DEL without a namespace');
  t.doesNotThrow(() => readEnv({ CNI_COMMAND: 'GC', CNI_PATH: '/x' }), 'GC needs no container');
  t.doesNotThrow(() => readEnv({ CNI_COMMAND: 'VERSION' }), 'VERSION needs nothing else');
  refused(t, () => readEnv({ ...env, CNI_CONTAINERID: '-x' }), 4, 'CNI_CONTAINERID="-x" must start with a letter or digit', 'container id');
  refused(t, () => readEnv({ ...env, CNI_IFNAME: 'a-very-long-interface' }), 4, 'CNI_IFNAME="a-very-long-interface" is not a valid interface name', 'ifname');
  refused(t, () => readEnv({ ...env, CNI_NETNS: 'netns/x' }), 4, 'must be an absolute path', 'relative netns');
  refused(t, () => readEnv({ ...env, CNI_ARGS: 'novalue' }), 4, "'novalue' is not KEY=VALUE", 'args');
  refused(t, () => readEnv({ ...env, CNI_PATH: '' }), 4, 'CNI_PATH="" is required for ADD', 'path');
});

const v1 = {
  cniVersion: '1.1.0',
  interfaces: [{ name: 'cni0', mac: '02:00:00:00:00:01' }, { name: 'pwx', mac: '02:00:00:00:00:02' }, { name: 'eth0', mac: '02:00:00:00:00:03', mtu: 1400, sandbox: '/run/netns/a' }],
  ips: [{ interface: 2, address: '10.0.0.2/24', gateway: '10.0.0.1' }, { interface: 2, address: 'fd00::2/64' }],
  routes: [{ dst: '0.0.0.0/0', gw: '10.0.0.1', priority: 10, table: 100 }],
  dns: { nameservers: ['10.0.0.53'] },
};

t.test('results: read from any version, written in the one asked for', async (t) => {
  const r = parseResult(v1, 'test');
  t.same(renderResult(r, '1.1.0'), v1, '1.1.0 round trip');
  const r10 = renderResult(r, '1.0.0') as typeof v1;
  t.notOk('mtu' in r10.interfaces[2]!, '1.0.0: no interface mtu');
  t.same(r10.routes, [{ dst: '0.0.0.0/0', gw: '10.0.0.1' }], '1.0.0: no route priority or table');
  for (const v of ['0.3.0', '0.3.1', '0.4.0']) {
    const old = renderResult(r, v) as { ips: Array<{ version: string }> };
    t.same(old.ips.map((i) => i.version), ['4', '6'], `${v}: ips carry their version`);
    t.same(parseResult(old, 'old'), { ...r, interfaces: r.interfaces.map(({ mtu: _m, ...i }) => i), routes: [{ dst: '0.0.0.0/0', gw: '10.0.0.1' }] }, `${v} read back`);
  }
  t.throws(() => parseResult({ ip4: { ip: '10.0.0.2/24' } }, 'x'), /0\.2\.0 form/, '0.2.0 results are refused');
  t.throws(() => parseResult({ ips: [{ version: '6', address: '10.0.0.2/24' }] }, 'x'), /version: "6" does not match/);
  t.throws(() => parseResult({ routes: [{ dst: '10.0.0.0/33' }] }, 'x'), /routes\[0\]\.dst/);
});

t.test('error mapping and names', async (t) => {
  const e = toCniError(invalidArgument('mtu', 1, 'is too small'));
  t.equal(e.code, 7);
  t.same(new CniError(2, 'm', 'd').toJSON('0.4.0'), { cniVersion: '0.4.0', code: 2, msg: 'm', details: 'd' });
  t.equal(toCniError(new Error('boom')).code, 199, 'a bug is a plugin code');
  const n = hostEndName('net', 'c1', 'eth0');
  t.match(n, /^pw[0-9a-f]{13}$/);
  t.equal(n, hostEndName('net', 'c1', 'eth0'), 'stable');
  t.not(n, hostEndName('net', 'c1', 'eth1'), 'per interface');
  t.not(n, hostEndName('net2', 'c1', 'eth0'), 'per network');
  t.equal(ownerTag('net'), 'cni-net');
  t.match(ownerTag('n'.repeat(100)), /^cni-[0-9a-f]{16}$/);
});
