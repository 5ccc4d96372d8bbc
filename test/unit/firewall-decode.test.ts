// The nf_tables chain decoder behind the bridge firewall check, on a real
// chain dump (test/fixtures/nftables/chains-dump.json, captured by
// scripts/capture-nft-chains.sh with Python, not with our addon): it must
// find exactly the base chains on the forward hook, with the family, table,
// priority and policy the kernel reports, and survive any damage to the bytes.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { addon } from '../../lib/core/native';

const fixture = JSON.parse(readFileSync(join(__dirname, '../fixtures/nftables/chains-dump.json'), 'utf8')) as { hex: string; messages: number };
const dump = Buffer.from(fixture.hex, 'hex');

t.test('the forward base chains of a captured dump, and nothing else', async (t) => {
  t.equal(fixture.messages, 6, 'the fixture holds six chains: FORWARD x3, DOCKER-USER, INPUT, POSTROUTING');
  t.same(addon().decodeForwardChains(dump), [
    // iptables -P FORWARD DROP: what the check looks for.
    { family: 2, familyName: 'ip', table: 'filter', name: 'FORWARD', type: 'filter', priority: 0, policy: 'drop' },
    // ip6tables made its FORWARD by appending a rule: policy accept.
    { family: 10, familyName: 'ip6', table: 'filter', name: 'FORWARD', type: 'filter', priority: 0, policy: 'accept' },
    // ebtables' filter table sits at NF_BR_PRI_FILTER_BRIDGED (-200): a negative priority survives.
    { family: 7, familyName: 'bridge', table: 'filter', name: 'FORWARD', type: 'filter', priority: -200, policy: 'drop' },
  ]);
});

t.test('messages that are not chains are skipped', async (t) => {
  const other = Buffer.from(dump);
  // Retype every message as NFT_MSG_NEWTABLE (same subsystem, type 0).
  for (let off = 0; off < other.length; off += (other.readUInt32LE(off) + 3) & ~3) other.writeUInt16LE((10 << 8) | 0, off + 4);
  t.same(addon().decodeForwardChains(other), [], 'tables are not chains');
  t.same(addon().decodeForwardChains(Buffer.alloc(0)), [], 'an empty buffer');
});

t.test('every truncation and every single-byte change decodes without throwing', async (t) => {
  let runs = 0;
  for (let n = 0; n <= dump.length; n++) {
    const got = addon().decodeForwardChains(dump.subarray(0, n));
    if (!Array.isArray(got)) t.fail(`truncated at ${n}: not an array`);
    runs++;
  }
  for (let i = 0; i < dump.length; i++) {
    for (const v of [0x00, 0xff, dump[i]! ^ 0x80]) {
      const b = Buffer.from(dump);
      b[i] = v;
      for (const c of addon().decodeForwardChains(b)) {
        if (typeof c.table !== 'string' || typeof c.priority !== 'number' || (c.policy !== 'accept' && c.policy !== 'drop')) t.fail(`byte ${i} = ${v}: malformed chain ${JSON.stringify(c)}`);
      }
      runs++;
    }
  }
  t.ok(runs > dump.length * 3, `${runs} damaged dumps decoded`);
});
