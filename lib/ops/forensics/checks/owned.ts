// pipewright-owned links (the owner mark in the host end's alias) whose
// guest is gone: what `pipewright gc` would remove.
import { leakedLinks, ownedLinks } from '../owned';
import { Check, failed, passed, some } from './types';

export const pipewrightLeaked: Check = (ctx) => {
  const id = 'pipewright-leaked';
  const owned = ownedLinks(ctx.links);
  const leaked = leakedLinks(ctx.targetId, owned, ctx.scan, ctx.pairing);
  if (leaked.length === 0) return passed(id, `${owned.length} pipewright-owned link(s), each with its guest`);
  const owners = [...new Set(leaked.map((l) => l.owner))];
  return failed(
    id,
    `${leaked.length} pipewright-owned link(s) left without a guest: ${some(leaked.map((l) => `${l.link.name} (${l.detail})`), 3)}`,
    `pipewright gc${owners.length === 1 ? ` --owner ${owners[0]}` : ''} removes them in one batch (--dry-run lists them first)`,
    leaked.map((l) => ({ kind: 'link', netns: ctx.targetId, name: l.link.name, index: l.link.index, detail: `owner ${l.owner}: ${l.detail}` })),
  );
};
