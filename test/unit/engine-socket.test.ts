// The engine's socket when the addon cannot serve it: the socket made for
// it is closed before the error is reported (a substituted transport stands
// in for the addon, so the failure can be made to happen).
import t from 'tap';
import { setTransport, type Transport } from '../../lib/core/native';
import { EngineSocket } from '../../lib/core/engine-socket';

t.test('a socket made but not served is closed before the error is reported', async (t) => {
  const closed: number[] = [];
  const fake = {
    engineBind: () => 42,
    engineListen: () => {
      throw new Error('the loop cannot poll it');
    },
    fdClose: async (fd: number) => {
      closed.push(fd);
    },
  } as unknown as Transport;
  setTransport(fake);
  t.teardown(() => setTransport(undefined));
  const umask = process.umask();
  t.throws(() => EngineSocket.bind('/nonexistent/engine.sock', () => undefined, () => undefined), /cannot poll/, 'the error is the addon\'s');
  await new Promise((r) => setImmediate(r));
  t.same(closed, [42], 'the fd engineBind made is closed');
  t.equal(process.umask(), umask, 'the umask is put back');
});
