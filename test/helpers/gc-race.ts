// gc racing attaches: gc in a loop of rounds, each round with one genuinely
// leaked pipewright link planted just before it (its guest namespace does
// not exist), while attaches run beside it. Each round must remove exactly
// its leaked link; no healthy attachment may be lost.
import { PIPEWRIGHT_GROUP } from '../../lib';
import type { Scene } from './scene';

export interface Round {
  round: number;
  /** The leaked link planted for this round. */
  leak: string;
  /** What gc said it removed. */
  listed: string[];
  /** The leaked link is gone afterwards. */
  removed: boolean;
}

/** A veth carrying pipewright's mark for a guest namespace that does not exist (no inode is this small). */
export async function plantLeak(s: Scene, name: string): Promise<void> {
  await s.host.link.add({ kind: 'veth', name, group: PIPEWRIGHT_GROUP, alias: `pipewright owner=pipewright guest=${s.hostNs.dev}:12345 if=eth1`, peer: { name: `${name}p` } });
}

/** Runs `rounds` gc rounds, each after planting a leak; `gcOnce` runs gc and returns the names it removed. */
export async function gcRounds(s: Scene, rounds: number, gcOnce: () => Promise<string[]>): Promise<Round[]> {
  const out: Round[] = [];
  for (let round = 0; round < rounds; round++) {
    const leak = `vleak${round}`;
    await plantLeak(s, leak);
    const listed = await gcOnce();
    out.push({ round, leak, listed, removed: (await s.host.link.find(leak)) === null });
  }
  return out;
}
