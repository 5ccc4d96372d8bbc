// The plugin's network configuration (stdin), parsed and validated once into
// an immutable form. Every refusal names the field and the value: code 7 for
// a bad value, code 2 for a field pipewright does not do, code 1 for a
// version it does not speak, code 6 for input that is not JSON at all.
import { CniError, CNI_ERR, badConfig, unsupportedField } from './errors';
import { chooseVersion } from './version';
import { parseResult, parseDns, type CniResult, type CniDns } from './result';
import * as v from '../../core/validate';

export interface IpamConf {
  /** The IPAM plugin's executable name (looked up in CNI_PATH). */
  type: string;
}

export interface ValidAttachment {
  containerID: string;
  ifname: string;
}

export interface NetConf {
  cniVersion: string;
  name: string;
  type: string;
  bridge: string;
  mtu?: number;
  isGateway: boolean;
  isDefaultGateway: boolean;
  ipam?: IpamConf;
  dns?: CniDns;
  prevResult?: CniResult;
  /** GC: the attachments the runtime still has. */
  validAttachments?: ValidAttachment[];
  /** Whether the container's interface makes an IPv6 link-local address; unset: only when IPAM gives it an IPv6 address (docs/cni.md). */
  ipv6LinkLocal?: boolean;
  /** Warnings to stderr. */
  verbose: boolean;
  /** The bytes as received: handed unchanged to the IPAM plugin. */
  raw: string;
}

/** Network names, as the spec allows them. */
const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const CONTAINER_ID = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Fields the spec defines for every plugin or that runtimes add. */
const SPEC_KEYS = ['cniVersion', 'cniVersions', 'name', 'type', 'args', 'runtimeConfig', 'capabilities', 'prevResult', 'ipam', 'dns', 'disableCheck', 'disableGC', 'cni.dev/valid-attachments'];
/** pipewright's own fields (the reference bridge plugin's names where they mean the same). */
const OWN_KEYS = ['bridge', 'mtu', 'isGateway', 'isDefaultGateway', 'ipMasq', 'hairpinMode', 'promiscMode', 'vlan', 'verbose', 'ipv6LinkLocal'];

/** Bridge-plugin fields pipewright refuses, and why: a runtime must not believe they took effect. */
const REFUSED: Record<string, (value: unknown) => string | null> = {
  ipMasq: (x) =>
    x === true
      ? 'is not done by pipewright: masquerading needs a NAT rule in the host\'s firewall, and pipewright does not shell out to iptables; add a masquerade rule for the subnet yourself (nft ... masquerade), or leave ipMasq out'
      : null,
  hairpinMode: (x) => (x === true ? 'is not supported yet: setting a bridge port\'s hairpin flag needs a request the native layer does not send yet; chain the "tuning" plugin for sysctls, or leave it out' : null),
  promiscMode: (x) => (x === true ? 'is not supported yet: setting the bridge\'s promiscuous flag needs a request the native layer does not send yet; leave it out' : null),
  vlan: (x) => (x !== undefined && x !== 0 ? 'is not supported: tagging a bridge port needs bridge VLAN filtering requests pipewright does not send yet; use a bridge per VLAN' : null),
};

export function parseConfig(stdin: string): NetConf {
  let json: unknown;
  try {
    json = JSON.parse(stdin);
  } catch (e) {
    throw new CniError(CNI_ERR.DECODE, `failed to decode the network configuration on stdin: ${(e as Error).message}`, stdin.length === 0 ? 'stdin was empty' : undefined);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new CniError(CNI_ERR.DECODE, 'failed to decode the network configuration on stdin: it must be a JSON object');
  const o = json as Record<string, unknown>;
  const cniVersion = chooseVersion(o.cniVersion, o.cniVersions);
  for (const key of Object.keys(o)) {
    if (!SPEC_KEYS.includes(key) && !OWN_KEYS.includes(key))
      throw unsupportedField(key, o[key], `is not a field pipewright knows (its own: ${OWN_KEYS.join(', ')})`);
  }
  for (const k of ['ipMasq', 'hairpinMode', 'promiscMode']) bool(o, k);
  if (o.vlan !== undefined && (typeof o.vlan !== 'number' || !Number.isInteger(o.vlan) || o.vlan < 0 || o.vlan > 4094)) throw badConfig('vlan', o.vlan, 'must be a VLAN id from 0 to 4094');
  for (const [key, why] of Object.entries(REFUSED)) {
    const reason = why(o[key]);
    if (reason) throw unsupportedField(key, o[key], reason);
  }
  if (typeof o.name !== 'string' || !NETWORK_NAME.test(o.name)) throw badConfig('name', o.name, 'must be a network name: a letter or digit, then letters, digits, _ . -');
  if (typeof o.type !== 'string' || o.type === '') throw badConfig('type', o.type, 'must name the plugin ("pipewright")');
  const conf: NetConf = {
    cniVersion,
    name: o.name,
    type: o.type,
    bridge: 'cni0',
    isGateway: bool(o, 'isGateway'),
    isDefaultGateway: bool(o, 'isDefaultGateway'),
    verbose: bool(o, 'verbose'),
    raw: stdin,
  };
  if (conf.isDefaultGateway) conf.isGateway = true;
  if (o.ipv6LinkLocal !== undefined && o.ipv6LinkLocal !== null) conf.ipv6LinkLocal = bool(o, 'ipv6LinkLocal');
  if (o.bridge !== undefined) conf.bridge = wrap('bridge', o.bridge, () => v.ifname('bridge', o.bridge));
  if (o.mtu !== undefined && o.mtu !== 0) conf.mtu = wrap('mtu', o.mtu, () => v.mtu('mtu', o.mtu));
  if (o.ipam !== undefined && o.ipam !== null) {
    if (typeof o.ipam !== 'object' || Array.isArray(o.ipam)) throw badConfig('ipam', o.ipam, 'must be an object with a "type"');
    const t = (o.ipam as Record<string, unknown>).type;
    if (t !== undefined) {
      if (typeof t !== 'string' || t === '' || t.includes('/') || t === '.' || t === '..') throw badConfig('ipam.type', t, 'must name an IPAM plugin executable in CNI_PATH (no "/")');
      conf.ipam = { type: t };
    } else if (Object.keys(o.ipam as object).length > 0) throw badConfig('ipam.type', t, 'is required when ipam is given');
  }
  if (o.dns !== undefined && o.dns !== null) {
    if (typeof o.dns !== 'object' || Array.isArray(o.dns)) throw badConfig('dns', o.dns, 'must be an object');
    try {
      conf.dns = parseDns('the network configuration', 'dns', o.dns as Record<string, unknown>);
    } catch (e) {
      throw new CniError(CNI_ERR.INVALID_CONFIG, (e as CniError).msg);
    }
  }
  if (o.prevResult !== undefined && o.prevResult !== null) conf.prevResult = parseResult(o.prevResult, 'prevResult');
  const va = o['cni.dev/valid-attachments'];
  if (va !== undefined) {
    if (!Array.isArray(va)) throw badConfig('cni.dev/valid-attachments', va, 'must be a list of {"containerID", "ifname"}');
    conf.validAttachments = va.map((x, i) => {
      const f = `cni.dev/valid-attachments[${i}]`;
      if (typeof x !== 'object' || x === null) throw badConfig(f, x, 'must be an object {"containerID", "ifname"}');
      const a = x as Record<string, unknown>;
      if (typeof a.containerID !== 'string' || !CONTAINER_ID.test(a.containerID)) throw badConfig(`${f}.containerID`, a.containerID, 'must be a container ID');
      if (typeof a.ifname !== 'string' || a.ifname === '') throw badConfig(`${f}.ifname`, a.ifname, 'must be an interface name');
      return { containerID: a.containerID, ifname: a.ifname };
    });
  }
  return Object.freeze(conf);
}

function bool(o: Record<string, unknown>, key: string): boolean {
  const x = o[key];
  if (x === undefined || x === null) return false;
  if (typeof x !== 'boolean') throw badConfig(key, x, 'must be true or false');
  return x;
}

function wrap<T>(field: string, value: unknown, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw badConfig(field, value, (e as Error).message.replace(/^[^:]*: ("[^"]*"|\S+) /, ''));
  }
}
