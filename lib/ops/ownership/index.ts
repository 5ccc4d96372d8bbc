// pipewright's ownership model: what it made is known by a record, not
// guessed. Every attachment has a journal entry (entry.ts, journal.ts)
// written before its first kernel change and completed after verification,
// plus the marks on the links themselves (marks.ts); attaches and gc share
// a lock per host namespace (lock.ts). gc, doctor and detach read the same
// record (status.ts, rollback.ts, reclaim.ts, leftover.ts).
export type { AttachmentEntry, EntryState, GuestRecord, RecordedSpec } from './entry';
export { entryFileName, identityPrefix, parseEntry } from './entry';
export { readEntries, rereadEntry, removeEntry, journalPath, tempFiles, JOURNAL_DIR } from './journal';
export type { StoredEntry } from './journal';
export { lockNamespace, LOCK_DIR } from './lock';
export { netnsIdOf, ownNetnsId } from './host-netns';
export { AttachmentRecord } from './attachment';
export type { AttachmentDraft } from './attachment';
export { classify, statusOf, abandoned, unfinished, superseded } from './status';
export type { AttachmentStatus, Classified } from './status';
export { processAlive, selfIdentity } from './process-identity';
export type { ProcessIdentity } from './process-identity';
export { PIPEWRIGHT_GROUP, ownerAlias, bridgeAlias, physAlias, parseOwnerAlias, parsePhysAlias, isBridgeMark, markOwner, declaredAlias, parseDeclaredAlias } from './marks';
export type { DeclaredMark } from './marks';
export { guestRecordOf, guestReachable, reopenGuest, guestRefOf, cliGuestRef } from './guest-ref';
export { rollBackAttachment } from './rollback';
export type { RollbackOutcome } from './rollback';
export { reclaimProven } from './reclaim';
export type { ProvenLink, ReclaimResult } from './reclaim';
export { gcCommand, completeCommand, detachCommand, fixFor } from './commands';
export { leftoverHint, leftoverSentence, unfinishedEntry } from './leftover';
export { forgetAttachment, forgetVeth } from './forget';
export type { VethIdentity } from './forget';
export { netnsCookie, sameGuest, sameHost } from './cookie';
