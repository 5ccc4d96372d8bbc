// How requests and answers cross the addon's boundary: arguments and results
// travel as JSON text (native/json.h), work runs on the addon's own threads
// (native/executor.h) and is settled a few at a time (native/dispatch.h).
// Text JSON has to escape arrives unchanged both ways, a malformed batch is
// refused before anything is sent, hundreds of requests in flight at once
// each get their own answer, and an open handle or watcher holds no receive
// buffer of its own (replies go into the reading thread's).
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { withScene } from '../helpers/scene';

t.test('strings that JSON has to escape cross both ways unchanged', (t) =>
  withScene(t, async ({ host }) => {
    await host.link.add({ kind: 'bridge', name: 'brx' });
    const aliases = ['say "hi"', 'back\\slash', 'tab\there, newline\nthere', 'controls \u0001\u001f end', 'é ü ñ', 'emoji 😀 ok', '{"json":[1,2]}', '/ and \\/'];
    for (const alias of aliases) {
      await host.link.set('brx', { alias });
      t.equal((await host.link.get('brx')).alias, alias, JSON.stringify(alias));
    }
    // A lone surrogate has no UTF-8 form: it arrives as U+FFFD, as N-API's
    // own conversion of the string made it.
    await host.link.set('brx', { alias: 'a\ud800b' });
    t.equal((await host.link.get('brx')).alias, 'a\ufffdb', 'lone surrogate');
  }),
);

t.test('a batch with an unknown operation is refused before anything is sent', (t) =>
  withScene(t, async ({ host }) => {
    await t.rejects(
      host.runBatch([
        { op: 'link.add', args: { kind: 'bridge', name: 'brnever' } },
        { op: 'link.nosuch', args: {} } as never,
      ]),
      { name: 'TypeError', message: /ops\[1\]\.op: unknown operation 'link\.nosuch'/ },
    );
    t.equal(await host.link.find('brnever'), null, 'not even the first one ran');
    await t.rejects(host.runBatch([{ op: 'link.get', args: { name: 'lo', n: 10n } }] as never), TypeError, 'a BigInt argument');
  }),
);

t.test('an argument key the op table does not list is refused before anything is sent, naming the op and the key', (t) =>
  withScene(t, async ({ host }) => {
    await t.rejects(
      host.runBatch([
        { op: 'link.add', args: { kind: 'bridge', name: 'brnever' } },
        // A misspelled key: a compile error, and at run time a refusal (not a dropped setting).
        { op: 'link.set', args: { index: 'brnever', mtuu: 1400 } as never },
      ]),
      { name: 'NetlinkError', code: 'ERR_PW_INVALID_ARGUMENT', field: 'mtuu', failedIndex: 1, completed: [], message: /link\.set.*mtuu: is not an argument of link\.set/ },
    );
    t.equal(await host.link.find('brnever'), null, 'not even the first one ran');
    // @ts-expect-error: not an argument of link.get
    await t.rejects(host.run('link.get', { name: 'lo', orNul: true }), { code: 'ERR_PW_INVALID_ARGUMENT', field: 'orNul' });
  }),
);

t.test('hundreds of requests in flight at once each get their own answer', (t) =>
  withScene(t, async (s) => {
    const g = await s.guest();
    const names = Array.from({ length: 20 }, (_, i) => `b${i}`);
    await Promise.all(names.map((name, i) => s.host.link.add({ kind: 'bridge', name, mtu: 1280 + i })));
    // Requests on two sockets in two namespaces, interleaved, plus a few that fail.
    const asks = Array.from({ length: 400 }, (_, i) => (i % 50 === 49 ? { h: g.handle, name: 'missing' } : i % 5 === 4 ? { h: g.handle, name: 'lo' } : { h: s.host, name: names[i % names.length]! }));
    const answers = await Promise.allSettled(asks.map((a) => a.h.link.get(a.name)));
    answers.forEach((r, i) => {
      const a = asks[i]!;
      if (a.name === 'missing') {
        if (r.status !== 'rejected' || (r.reason as { code?: string }).code !== 'ERR_PW_LINK_NOT_FOUND') t.fail(`request ${i}: expected ERR_PW_LINK_NOT_FOUND`);
      } else if (r.status !== 'fulfilled' || r.value.name !== a.name || (a.name !== 'lo' && r.value.mtu !== 1280 + names.indexOf(a.name))) {
        t.fail(`request ${i} (${a.name}): ${r.status === 'fulfilled' ? `got ${r.value.name}` : String(r.reason)}`);
      }
    });
    t.pass(`${asks.length} answers checked`);
  }),
);

// Under scripts/asan.sh the sanitizer pads every allocation and keeps freed
// memory in quarantine: RSS then says nothing about our buffers.
const sanitized = process.env.ASAN_OPTIONS !== undefined && 'RSS is not comparable under AddressSanitizer';

t.test('an open handle or watcher holds no receive buffer of its own: 200 handles and 100 watchers cost little memory', { skip: sanitized }, (t) =>
  withScene(t, async ({ hostNs }) => {
    // Replies are read into one buffer per thread (native/socket.h,
    // ThreadReceiveBuffer). When each socket and each subscription had a
    // zero-filled 64 KB buffer of its own, these 300 cost ~19 MB of RSS
    // (12.9 MB measured for the handles alone); now under 1 MB. Measured in
    // a fresh process, whose V8 heap is small and settled, between two full
    // collections.
    const dist = join(__dirname, '..', '..', 'dist', 'lib');
    const script = `
      const { Handle } = require(${JSON.stringify(dist)});
      (async () => {
        const first = await Handle.open();
        await first.link.get('lo'); // the threads and their buffers exist before the first reading
        const w0 = first.watch(['link']);
        await w0.ready;
        global.gc();
        const before = process.memoryUsage().rss;
        const handles = [], watchers = [];
        for (let i = 0; i < 200; i++) {
          const h = await Handle.open();
          if ((await h.link.get('lo')).name !== 'lo') throw new Error('handle ' + i + ' answered wrongly');
          handles.push(h);
        }
        for (let i = 0; i < 100; i++) {
          const w = first.watch(['link']);
          await w.ready;
          watchers.push(w);
        }
        global.gc();
        const grownMb = (process.memoryUsage().rss - before) / 2 ** 20;
        for (const w of [w0, ...watchers]) await w.close();
        for (const h of handles) await h.close();
        const still = (await first.link.get('lo')).name;
        await first.close();
        console.log(JSON.stringify({ grownMb, still }));
      })().catch((e) => { console.error(e); process.exit(1); });`;
    const r = JSON.parse(
      execFileSync('nsenter', [`--net=/proc/${process.pid}/fd/${hostNs.fd}`, process.execPath, '--expose-gc', '-e', script], { encoding: 'utf8' }),
    ) as { grownMb: number; still: string };
    t.ok(r.grownMb < 6, `RSS grew by ${r.grownMb.toFixed(1)} MB with 200 handles and 100 watchers open (under 6 MB)`);
    t.equal(r.still, 'lo', 'the first handle still answers after the others closed');
  }),
);
