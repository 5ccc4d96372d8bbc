// Who the engine serves (lib/ops/engine/peer.ts), from the identity the addon
// read at accept: root or an allowed uid; command lines only from its own
// network and mount namespaces; and a refusal that says why.
import t from 'tap';
import { statSync } from 'node:fs';
import { namespaceRefusal, peerRefusal } from '../../lib/ops/engine/peer';

const ns = (kind: string) => {
  const st = statSync(`/proc/self/ns/${kind}`);
  return `${st.dev}:${st.ino}`;
};
const me = { pid: process.pid, uid: 0, gid: 0, net: ns('net'), mnt: ns('mnt') };

t.test('uid: root, or one the engine was told to allow', async (t) => {
  t.equal(peerRefusal(me, []), '');
  t.match(peerRefusal({ ...me, uid: 1000 }, []), /uid 1000 is not root/);
  t.equal(peerRefusal({ ...me, uid: 1000 }, [1000]), '');
});

t.test('namespaces: served in the engine\'s own; otherwise refused, saying why', async (t) => {
  t.equal(namespaceRefusal(me), '', 'the same network and mount namespaces');
  t.match(namespaceRefusal({ ...me, pid: 0 }), /pid namespace the engine cannot see/);
  t.match(namespaceRefusal({ ...me, net: '1:2' }), /another network namespace/);
  t.match(namespaceRefusal({ ...me, mnt: '1:2' }), /another mount namespace/);
  const { net: _n, mnt: _m, ...unread } = me;
  t.match(namespaceRefusal(unread), /went away before it could be identified/, 'unread, with no reason: the peer left');
  t.match(
    namespaceRefusal({ ...unread, nsError: 'open /proc/42/ns: Too many open files' }),
    /namespaces could not be read \(open \/proc\/42\/ns: Too many open files\)/,
    'unread for a reason the addon gave: that reason',
  );
});
