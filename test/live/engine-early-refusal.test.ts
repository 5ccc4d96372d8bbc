// The engine knows who asks as it accepts, so it may refuse and close
// before the client has written its whole request. The client's write then
// fails, but the refusal is already in its socket: it must say that reason
// (with PIPEWRIGHT_ENGINE_DEBUG) and run the command itself, as for any
// refusal. A stand-in engine makes the order certain: it sends the refusal
// and closes at once, never reading, while the client writes a request
// larger than the socket can hold.
import t from 'tap';
import { createServer, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeFrame } from '../../lib/ops/engine/protocol';
import { withScene } from '../helpers/scene';
import { fast, node, privateStateDir } from '../helpers/engine';

t.test('a refusal sent before the request was all written: the client says why and runs the command itself', (t) =>
  withScene(t, async (s) => {
    const { dir: stateDir, remove } = privateStateDir();
    s.defer(async () => void remove());
    const dir = mkdtempSync(join(tmpdir(), 'pw-early-refusal-'));
    s.defer(async () => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'engine.sock');
    let refused = 0;
    const server = createServer((c: Socket) => {
      refused++;
      c.end(encodeFrame('r', 'the stand-in refuses everyone'));
      c.destroy();
    });
    await new Promise<void>((resolve) => server.listen(path, resolve));
    s.defer(() => new Promise<void>((resolve) => server.close(() => resolve())));
    // 8 MB of stdin: more than a unix socket holds, so the write is still going when the stand-in closes.
    const big = JSON.stringify({ cniVersion: '1.0.0', pad: 'x'.repeat(8 << 20) });
    const r = await fast(s.hostNs, stateDir, ['batch', '-'], { PIPEWRIGHT_ENGINE_SOCKET: path, PIPEWRIGHT_ENGINE_DEBUG: '1' }, big);
    const expected = await node(s.hostNs, stateDir, ['batch', '-'], big);
    t.equal(refused, 1, 'the stand-in took the connection');
    t.match(r.stderr, /pipewright-fast: the engine refused: the stand-in refuses everyone/, 'the client was told why');
    t.notMatch(r.stderr, /closed the connection before taking the request/, 'not taken for a connection that just closed');
    t.same([r.code, r.stdout, r.stderr.replace(/^pipewright-fast: .*\n/gm, '')], [expected.code, expected.stdout, expected.stderr], 'then the Node CLI ran the command, with the same stdin: the same answer');
  }),
);
