// The ownership journal's pure parts: a process's start time read from
// /proc/PID/stat (whatever its command name holds), entry file names that
// keep guest interfaces apart, entries parsed only when whole, the marks.
import t from 'tap';
import { startTimeOf } from '../../lib/ops/ownership/process-identity';
import { entryFileName, identityPrefix, parseEntry } from '../../lib/ops/ownership/entry';
import { ownerAlias, parseOwnerAlias, parsePhysAlias, physAlias, isBridgeMark, bridgeAlias } from '../../lib/ops/ownership/marks';
import { sameGuest } from '../../lib/ops/ownership/cookie';

t.test('start time: field 22, even when the command name has spaces and parentheses', async (t) => {
  const rest = Array.from({ length: 50 }, (_, i) => String(i + 3)); // fields 3.. hold their own numbers
  rest[0] = 'S';
  t.equal(startTimeOf(`1234 (node) ${rest.join(' ')}`), '22');
  t.equal(startTimeOf(`1234 (a (b) c) ) ${rest.join(' ')}`), '22', 'counted after the last )');
  t.equal(startTimeOf('1234 (cut'), null, 'a torn line is no start time');
});

t.test('entry names: one prefix per guest interface, never a prefix of another', async (t) => {
  t.not(identityPrefix('4:100', 'eth1'), identityPrefix('4:100', 'eth1.5').slice(0, identityPrefix('4:100', 'eth1').length), 'eth1 is not a prefix of eth1.5');
  t.ok(entryFileName('4:100', 'eth1').startsWith(identityPrefix('4:100', 'eth1')));
  t.not(entryFileName('4:100', 'eth1'), entryFileName('4:100', 'eth1'), 'two writers of one identity never share a file');
  t.match(entryFileName('4:100', 'eth1'), /^[0-9a-z.-]+\.json$/, 'no character a path could misread');
});

t.test('entries: parsed only when whole', async (t) => {
  const good = {
    version: 1, state: 'complete', owner: 'o', hostNetns: '4:1', guestNetns: '4:2', guestIf: 'eth1', mode: 'bridge', hostIf: 'br0', createsBridge: false, group: 1, alias: 'a',
    guest: { kind: 'named', label: 'g' }, process: { pid: 1, startTime: '5', bootId: 'b' }, spec: {}, startedAt: 'x', updatedAt: 'x',
  };
  t.ok(parseEntry(JSON.stringify(good)));
  t.equal(parseEntry(JSON.stringify({ ...good, state: 'maybe' })), null, 'an unknown state');
  t.equal(parseEntry(JSON.stringify({ ...good, process: { pid: '1' } })), null, 'a malformed writer');
  t.equal(parseEntry(JSON.stringify(good).slice(0, 40)), null, 'a torn file');
  t.equal(parseEntry('null'), null);
});

t.test('marks', async (t) => {
  t.same(parseOwnerAlias(ownerAlias('ci', '4:9', 'eth1')), { owner: 'ci', guest: '4:9', guestIf: 'eth1' });
  t.equal(parseOwnerAlias('pipewright owner=ci guest=4:9 if=eth1 extra'), null, 'nothing more, nothing less');
  t.same(parsePhysAlias(physAlias('ci', 'eth2')), { owner: 'ci', original: 'eth2' });
  t.ok(isBridgeMark(bridgeAlias('ci')));
  t.notOk(isBridgeMark('pipewright owner=ci bridge please'));
});

t.test('an entry speaks for a guest only if written for that namespace (its cookie)', async (t) => {
  t.ok(sameGuest({ guestCookie: '7' }, '7'));
  t.notOk(sameGuest({ guestCookie: '7' }, '8'), 'another namespace that got the inode');
  t.ok(sameGuest({}, '8'), 'an entry without a cookie: by dev:ino alone');
});
