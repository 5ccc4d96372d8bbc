// The examples do what their text says (issue 12, item 11: "a ping each
// way"). Each runs in a namespace of its own with a private /run/netns, as
// `npm run demo` runs it in the sandbox.
import t from 'tap';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');

async function runExample(file: string): Promise<string> {
  const script = 'ip link set lo up && mount -t tmpfs -o mode=0755 pw-netns /run/netns && exec "$0" "$1"';
  const { stdout } = await run('unshare', ['--net', '--mount', '--propagation', 'private', 'sh', '-c', script, process.execPath, join(ROOT, 'examples', file)], {
    cwd: ROOT,
    env: { ...process.env, PW_SANDBOXED: '1' },
    timeout: 60_000,
  });
  return stdout;
}

t.test('two-namespaces.js: a ping each way between the two namespaces, then everything removed', async (t) => {
  const out = await runExample('two-namespaces.js');
  t.match(out, /^ns1 -> ns2: 64 bytes from 172\.16\.1\.3\b/m, 'ns1 pings ns2');
  t.match(out, /^ns2 -> ns1: 64 bytes from 172\.16\.1\.2\b/m, 'ns2 pings ns1');
  t.match(out, /^done: /m);
});

t.test('topology-two-hosts.js: one apply per host; pings across the overlay both ways, then everything removed', async (t) => {
  const out = await runExample('topology-two-hosts.js');
  t.match(out, /^applied topology hostA: \d+ steps, verified$/m, 'host A applied from its file');
  t.match(out, /^applied topology hostB: \d+ steps, verified$/m, 'host B applied from its file');
  t.match(out, /^topology hostA: already as declared \(nothing changed\)$/m, 'a second apply changes nothing');
  t.match(out, /floods to: 192\.0\.2\.2$/m, 'host A floods to host B');
  t.match(out, /^ns1 -> ns2 \(same bridge\): 64 bytes from 172\.16\.1\.3\b/m);
  t.match(out, /^ns1 -> ns3 \(across VXLAN 42\): 64 bytes from 172\.16\.1\.4\b/m);
  t.match(out, /^ns3 -> ns2 \(across VXLAN 42\): 64 bytes from 172\.16\.1\.3\b/m);
  t.match(out, /^done: /m);
});
