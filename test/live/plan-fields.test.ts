// `pipewright batch` with a JSON plan (issue 11, item 4): a plan accepts
// exactly the fields the command line can set. `runDir` made pipewright
// create namespaces (and a shared mount) wherever the file said, `group`
// and `host` were taken as given. Each is now exit 2 naming the field, and
// nothing is created: no namespace, no directory, no link, no mount and no
// change of mount propagation.
import t from 'tap';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Netns } from '../../lib';
import { uniqueName, withScene } from '../helpers/scene';
import { cli, type Run } from '../helpers/cli';

const json = (r: Run): any => JSON.parse(r.stdout);

/**
 * mountinfo lines (with their propagation fields) of the mounts a plan could
 * change: '/', /tmp, /run/netns and anything under `dir`. Other test files
 * run in parallel in this mount namespace; their mounts elsewhere are not
 * compared.
 */
function watchedMounts(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => {
      const mp = l.split(' ')[4];
      return mp === '/' || mp === '/tmp' || mp === '/run/netns' || (mp !== undefined && (mp === dir || mp.startsWith(`${dir}/`)));
    })
    .sort();
}

t.test('batch: a JSON plan with runDir, group, host or an unknown field is refused, naming it; nothing is created', (t) =>
  withScene(t, async (s) => {
    const dir = mkdtempSync('/tmp/pw-plan-');
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const elsewhere = join(dir, 'x');
    const rows: Array<[string, Record<string, unknown>]> = [
      ['runDir', { runDir: elsewhere }],
      ['group', { group: 7 }],
      ['host', { host: 'eth0' }],
      ['watchMs', { watchMs: 100 }],
      ['frobnicate', { frobnicate: true }],
      ['guest.runDir', { guest: { name: uniqueName('pf'), runDir: elsewhere } }],
    ];
    for (const [field, extra] of rows) {
      const guest = uniqueName('pf');
      const file = join(dir, `${field}.json`);
      // Entry 1 is fine; entry 2 carries the field: nothing of entry 1 may be made either.
      writeFileSync(file, JSON.stringify([
        { hostIf: 'brpf0', guest: uniqueName('pf'), address: '10.231.0.18/16' },
        { hostIf: 'brpf0', guest, address: '10.231.0.19/16', ...extra },
      ]));
      const before = watchedMounts(dir);
      const linksBefore = (await s.host.link.list()).map((l) => l.name);
      const r = await cli(s.hostNs, 'batch', file, '--create-netns', '--json');
      t.equal(r.code, 2, `${field}: exit 2`);
      t.match(json(r).error, { code: 'ERR_PW_INVALID_ARGUMENT', field, message: new RegExp(`^entry 2: field '${field.replace('.', '\\.')}'`) }, `${field}: named`);
      t.notOk(existsSync(elsewhere), `${field}: no directory made where the plan said`);
      t.notOk(existsSync(`/run/netns/${guest}`), `${field}: no namespace made`);
      t.same((await s.host.link.list()).map((l) => l.name), linksBefore, `${field}: no link made (no bridge)`);
      t.same(watchedMounts(dir), before, `${field}: no mount made, no propagation changed`);
    }
  }),
);

t.test('batch: a malformed plan or a missing file is exit 2 naming it', (t) =>
  withScene(t, async (s) => {
    const dir = mkdtempSync('/tmp/pw-plan-');
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '[{"hostIf": "brpf0", "guest": "g1",]');
    const r = await cli(s.hostNs, 'batch', bad, '--json');
    t.equal(r.code, 2, 'malformed JSON: exit 2 (was 1)');
    t.match(json(r).error.message, `${bad} is not valid JSON`);
    const missing = join(dir, 'nope.json');
    const m = await cli(s.hostNs, 'batch', missing);
    t.equal(m.code, 2, 'a missing file: exit 2 (was 1)');
    t.match(m.stderr, `batch file '${missing}' does not exist`);
  }),
);

t.test('batch: a JSON plan of command-line fields still runs ({name} guests, --create-netns)', (t) =>
  withScene(t, async (s) => {
    const dir = mkdtempSync('/tmp/pw-plan-');
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const names = [uniqueName('pfok'), uniqueName('pfok')];
    t.teardown(async () => {
      for (const n of names) await Netns.remove(n).catch(() => undefined);
    });
    const file = join(dir, 'ok.json');
    writeFileSync(file, JSON.stringify(names.map((name, i) => ({ hostIf: 'brpf1', guest: { name }, guestIf: 'eth0', address: `10.232.0.${i + 2}/16`, gateway: '10.232.0.1' }))));
    const r = await cli(s.hostNs, 'batch', file, '--create-netns', '--json');
    t.equal(r.code, 0, r.stderr);
    t.equal(json(r).attached, 2);
    for (const n of names) t.ok(existsSync(`/run/netns/${n}`), `${n} created in /run/netns`);
  }),
);
