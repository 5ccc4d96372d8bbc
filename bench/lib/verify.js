// Untimed verification of every run, with iproute2 and ping (tools
// independent of the code under test). A run that fails it does not count:
// the bench stops with the reason.
'use strict';

const { execFileSync } = require('node:child_process');
const { readdirSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const W = require('./workload');

class VerifyError extends Error {}

const fail = (what) => {
  throw new VerifyError(what);
};

function ipJson(args) {
  const out = execFileSync('ip', ['-j', ...args], { encoding: 'utf8', maxBuffer: 256 << 20 });
  return out.trim() ? JSON.parse(out) : [];
}

function namedNamespaces() {
  return readdirSync('/run/netns').sort();
}

/**
 * One `ip` per namespace (ip -all netns exec), each reading eth0's addresses
 * and the default route; returns {name: {link, routes}}.
 */
function guestState(tmp) {
  const batch = join(tmp, 'verify.batch');
  writeFileSync(batch, 'addr show dev eth0\nroute show default\n');
  const out = execFileSync('ip', ['-all', 'netns', 'exec', 'ip', '-j', '-4', '-batch', batch], {
    encoding: 'utf8',
    maxBuffer: 256 << 20,
  });
  const state = {};
  // Output: for each namespace "netns: NAME" then one JSON line per command.
  let current = null;
  for (const line of out.split('\n')) {
    const m = /^netns: (.+)$/.exec(line);
    if (m) {
      current = state[m[1]] = { jsons: [] };
    } else if (line.trim() && current) current.jsons.push(JSON.parse(line));
  }
  for (const s of Object.values(state)) {
    s.link = s.jsons[0]?.[0];
    s.routes = s.jsons[1] ?? [];
  }
  return state;
}

/**
 * Three echo requests, and one reply is enough: with a thousand guests'
 * IPv6 start-up traffic on the bridge a single request was lost once in a
 * full run, which said nothing about the wiring.
 */
function ping(from, to) {
  try {
    execFileSync('nsenter', [`--net=/run/netns/${from}`, 'ping', '-c3', '-i0.2', '-W2', to], { stdio: 'pipe' });
  } catch (e) {
    fail(`ping from ${from} to ${to} failed: ${String(e.stderr || e.stdout || e.message).trim().split('\n').pop()}`);
  }
}

/** Everything the workload promises for N guests is in place. */
function verifyCreated(n, tmp) {
  const ports = ipJson(['link', 'show', 'master', W.BRIDGE]);
  if (ports.length !== n) fail(`br0 has ${ports.length} ports, expected ${n}`);
  const down = ports.filter((p) => !p.flags.includes('UP'));
  if (down.length) fail(`${down.length} host ends are down (first: ${down[0].ifname})`);

  const names = namedNamespaces();
  const expected = W.range(n).map(W.nsName).sort();
  if (names.join() !== expected.join()) fail(`/run/netns holds ${names.length} entries, expected g1..g${n}`);

  const state = guestState(tmp);
  for (const k of W.range(n)) {
    const s = state[W.nsName(k)];
    if (!s?.link) fail(`guest ${W.nsName(k)} has no eth0`);
    if (!s.link.flags.includes('UP')) fail(`eth0 is down in ${W.nsName(k)}`);
    const has = (s.link.addr_info ?? []).some((a) => a.local === W.address(k) && a.prefixlen === W.PREFIX);
    if (!has) fail(`${W.nsName(k)}'s eth0 lacks ${W.cidr(k)}`);
    if (!s.routes.some((r) => r.dst === 'default' && r.gateway === W.GATEWAY && r.dev === 'eth0'))
      fail(`${W.nsName(k)} has no default route via ${W.GATEWAY}`);
  }
  ping(W.nsName(1), W.address(n));
  ping(W.nsName(1), W.GATEWAY);
}

/** Nothing of the run is left: only lo and br0, no port, no named namespace. */
function verifyGone() {
  const links = ipJson(['link', 'show']).map((l) => l.ifname);
  const extra = links.filter((l) => l !== 'lo' && l !== W.BRIDGE);
  if (extra.length) fail(`${extra.length} links left after teardown (first: ${extra[0]})`);
  const names = namedNamespaces();
  if (names.length) fail(`${names.length} entries left in /run/netns (first: ${names[0]})`);
}

module.exports = { verifyCreated, verifyGone, VerifyError, ipJson };
