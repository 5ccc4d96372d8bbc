// The id ("dev:ino") of the namespace a handle works in. A handle on the
// process's own namespace has no Netns; that namespace never changes (no
// thread of ours that runs JS ever enters another), so it is asked once.
import type { Handle } from '../../core/handle';
import { Netns } from '../../core/netns';

let own: Promise<string> | undefined;

export function ownNetnsId(): Promise<string> {
  own ??= (async () => {
    const ns = await Netns.current();
    try {
      return ns.id;
    } finally {
      await ns.close();
    }
  })();
  own.catch(() => (own = undefined));
  return own;
}

export function netnsIdOf(h: Handle): Promise<string> {
  return h.netns ? Promise.resolve(h.netns.id) : ownNetnsId();
}
