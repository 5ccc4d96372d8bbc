// The environment decides what code runs (PW_ADDON_PATH), where state is
// written (PW_STATE_DIR) and which engine's answer picks a namespace
// (DOCKER_HOST). Running as root, each must name something root's alone
// (issue 11, item 8): a file or socket owned by another user, writable by
// others, a symbolic link, or in a directory others can write is refused
// with ERR_PW_UNTRUSTED_ENV (exit 2) naming the variable and the path. The
// legitimate uses (scripts/asan.sh, scripts/sandbox.sh,
// scripts/docker-sandbox.sh) still work. Files "owned by another user" are
// chowned to 65534 (nobody).
import t from 'tap';
import http from 'node:http';
import { chmodSync, chownSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { stateDir } from '../../lib/core/state-dir';
import { withTrustedPathMemo } from '../../lib/core/trusted-path';
import { packageRoot } from '../../lib/core/paths';
import { uniqueName, withScene } from '../helpers/scene';
import { cliWithEnv, type Run } from '../helpers/cli';

const NOBODY = 65534;
const json = (r: Run): any => JSON.parse(r.stdout);
// The checks apply to root in the host's user namespace (not rootless: lib/core/trusted-path.ts).
const root = process.geteuid?.() === 0 && /^\s*0\s+0\s+4294967295\s*$/.test(readFileSync('/proc/self/uid_map', 'utf8'));

/** A scratch directory root's alone (mkdtemp: 0700), removed at the end. */
function scratch(t: { teardown(fn: () => unknown): void }): string {
  const dir = mkdtempSync('/tmp/pw-env-');
  chmodSync(dir, 0o755);
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('PW_ADDON_PATH: an addon not root\'s alone is refused; a root-owned build elsewhere (asan.sh) loads', { skip: !root && 'needs root in the host\'s user namespace' }, (t) =>
  withScene(t, async (s) => {
    const dir = scratch(t);
    const built = join(packageRoot(), 'build', 'Release', 'pipewright.node');
    const copy = (name: string, mode = 0o755, uid = 0) => {
      const p = join(dir, name);
      copyFileSync(built, p);
      chmodSync(p, mode);
      chownSync(p, uid, 0);
      return p;
    };
    const good = copy('good.node');
    const nobodys = copy('nobody.node', 0o755, NOBODY);
    const writable = copy('writable.node', 0o666);
    const link = join(dir, 'link.node');
    symlinkSync(good, link);
    const weakDir = join(dir, 'weak');
    mkdirSync(weakDir, 0o755);
    chownSync(weakDir, NOBODY, 0);
    copyFileSync(built, join(weakDir, 'in-weak.node'));

    const rows: Array<[string, RegExp]> = [
      [nobodys, /is not owned by root \(owner uid 65534/],
      [writable, /is writable by group or others \(owner uid 0, mode 0666\)/],
      [link, /is a symbolic link/],
      [join(weakDir, 'in-weak.node'), new RegExp(`lies in ${weakDir}, which is not owned by root`)],
      [join(dir, 'missing.node'), /does not exist/],
    ];
    for (const [path, why] of rows) {
      const r = await cliWithEnv(s.hostNs, { PW_ADDON_PATH: path }, 'netns', 'ls', '--json');
      t.equal(r.code, 2, `${path}: exit 2`);
      t.match(json(r).error, { code: 'ERR_PW_UNTRUSTED_ENV', field: 'PW_ADDON_PATH' });
      t.match(r.stderr, `PW_ADDON_PATH: "${path}" `, 'names the variable and the path');
      t.match(r.stderr, why, 'and why');
    }
    const ok = await cliWithEnv(s.hostNs, { PW_ADDON_PATH: good }, 'netns', 'ls', '--json');
    t.equal(ok.code, 0, `a root-owned addon in a root-owned directory loads: ${ok.stderr}`);
  }),
);

t.test('PW_STATE_DIR: a directory not root\'s alone is refused; the sandbox\'s own is fine', { skip: !root && 'needs root in the host\'s user namespace' }, async (t) => {
  const saved = process.env.PW_STATE_DIR;
  t.teardown(() => {
    if (saved === undefined) delete process.env.PW_STATE_DIR;
    else process.env.PW_STATE_DIR = saved;
  });
  if (saved !== undefined) t.equal(stateDir(), saved, "scripts/sandbox.sh's PW_STATE_DIR (mktemp + tmpfs, root's) is accepted");
  const dir = scratch(t);
  const nobodys = join(dir, 'nobody');
  mkdirSync(nobodys, 0o755);
  chownSync(nobodys, NOBODY, 0);
  const open = join(dir, 'open');
  mkdirSync(open);
  chmodSync(open, 0o777);
  const sticky = join(dir, 'sticky');
  mkdirSync(sticky);
  chmodSync(sticky, 0o1777);
  const link = join(dir, 'link');
  symlinkSync(dir, link);
  const rows: Array<[string, RegExp]> = [
    [nobodys, /is not owned by root/],
    [open, /is writable by group or others \(owner uid 0, mode 0777\)/],
    [link, /is a symbolic link/],
    [join(nobodys, 'state'), new RegExp(`lies in ${nobodys}, which is not owned by root`)],
  ];
  for (const [path, why] of rows) {
    process.env.PW_STATE_DIR = path;
    t.throws(() => stateDir(), { code: 'ERR_PW_UNTRUSTED_ENV', field: 'PW_STATE_DIR', message: why }, path);
  }
  process.env.PW_STATE_DIR = join(dir, 'not-yet');
  t.equal(stateDir(), join(dir, 'not-yet'), 'a directory still to be made inside a trusted one is fine');
  process.env.PW_STATE_DIR = join(sticky, 'mine');
  mkdirSync(join(sticky, 'mine'), 0o700);
  t.equal(stateDir(), join(sticky, 'mine'), 'a root-owned directory inside a sticky one (like /tmp) is fine');
});

t.test('a verdict lasts while command lines of the engine are at work (withTrustedPathMemo), and no longer than the newest one\'s start', { skip: !root && 'needs root in the host\'s user namespace' }, async (t) => {
  const saved = process.env.PW_STATE_DIR;
  t.teardown(() => {
    if (saved === undefined) delete process.env.PW_STATE_DIR;
    else process.env.PW_STATE_DIR = saved;
  });
  const dir = scratch(t);
  const state = join(dir, 'state');
  mkdirSync(state, 0o700);
  process.env.PW_STATE_DIR = state;
  await withTrustedPathMemo(async () => {
    t.equal(stateDir(), state, 'trusted when the command starts');
    chmodSync(dir, 0o777);
    t.equal(stateDir(), state, 'the same command keeps its verdict (only root could have changed a directory found root\'s alone)');
    await withTrustedPathMemo(async () => {
      t.throws(() => stateDir(), { code: 'ERR_PW_UNTRUSTED_ENV' }, 'a command line starting meanwhile (beside it, or nested) checks afresh');
    });
    t.throws(() => stateDir(), { code: 'ERR_PW_UNTRUSTED_ENV' }, 'and the one still at work keeps no verdict older than that start');
  });
  t.throws(() => stateDir(), { code: 'ERR_PW_UNTRUSTED_ENV', field: 'PW_STATE_DIR' }, 'outside the command, the directory is checked as it is now');
  await withTrustedPathMemo(async () => {
    t.throws(() => stateDir(), { code: 'ERR_PW_UNTRUSTED_ENV' }, 'the next command checks again');
    t.throws(() => stateDir(), { code: 'ERR_PW_UNTRUSTED_ENV' }, 'and a refusal is never remembered');
    chmodSync(dir, 0o755);
    t.equal(stateDir(), state, 'fixed: trusted again within the same command');
  });
});

t.test('PW_STATE_DIR: a DHCP attach is refused before anything is created', { skip: !root && 'needs root in the host\'s user namespace' }, (t) =>
  withScene(t, async (s) => {
    const dir = scratch(t);
    const nobodys = join(dir, 'nobody');
    mkdirSync(nobodys, 0o755);
    chownSync(nobodys, NOBODY, 0);
    const g = await s.guest({ named: true });
    const before = (await s.host.link.list()).map((l) => l.name);
    const r = await cliWithEnv(s.hostNs, { PW_STATE_DIR: nobodys }, 'brenv0', '-i', 'eth1', g.ns.name!, 'udhcpc', '--json');
    t.equal(r.code, 2, r.stderr);
    t.match(json(r).error, { code: 'ERR_PW_UNTRUSTED_ENV', field: 'PW_STATE_DIR' });
    t.match(r.stderr, `PW_STATE_DIR: "${nobodys}" is not owned by root`);
    t.same((await s.host.link.list()).map((l) => l.name), before, 'no bridge, no host end');
  }),
);

t.test('DOCKER_HOST: a socket not root\'s is refused; a root-owned 0660 socket (as dockerd makes it) is asked', { skip: !root && 'needs root in the host\'s user namespace' }, (t) =>
  withScene(t, async (s) => {
    const dir = scratch(t);
    // An "engine" that knows no container.
    const servers: http.Server[] = [];
    const engine = async (path: string) => {
      const srv = http.createServer((_req, res) => {
        res.statusCode = 404;
        res.end('{"message":"No such container"}');
      });
      srv.listen(path);
      await once(srv, 'listening');
      servers.push(srv);
      return path;
    };
    // Closed inside the scene: its check counts the listening sockets as ours.
    s.defer(() => Promise.all(servers.map((x) => new Promise((r) => x.close(r)))));
    const good = await engine(join(dir, 'good.sock'));
    chmodSync(good, 0o660);
    const nobodys = await engine(join(dir, 'nobody.sock'));
    chownSync(nobodys, NOBODY, 0);
    const weakDir = join(dir, 'weak');
    mkdirSync(weakDir);
    chmodSync(weakDir, 0o777);
    const inWeak = await engine(join(weakDir, 'in-weak.sock'));
    const guest = `docker:${uniqueName('ctr')}`;
    const rows: Array<[string, RegExp]> = [
      [nobodys, /is not owned by root \(owner uid 65534/],
      [inWeak, new RegExp(`lies in ${weakDir}, which is writable by group or others`)],
    ];
    for (const [path, why] of rows) {
      const r = await cliWithEnv(s.hostNs, { DOCKER_HOST: `unix://${path}` }, 'brenv1', guest, '10.233.0.2/24', '--json');
      t.equal(r.code, 2, `${path}: exit 2`);
      t.match(json(r).error, { code: 'ERR_PW_UNTRUSTED_ENV', field: 'DOCKER_HOST' });
      t.match(r.stderr, `DOCKER_HOST: "${path}" `);
      t.match(r.stderr, why);
    }
    const asked = await cliWithEnv(s.hostNs, { DOCKER_HOST: `unix://${good}` }, 'brenv1', guest, '10.233.0.2/24', '--json');
    t.equal(asked.code, 3, 'the trusted engine was asked, and knows no such container');
    t.match(json(asked).error.message, `no container of that name on ${good}`);
  }),
);
