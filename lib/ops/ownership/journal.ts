// The ownership journal on disk: one file per attachment in
// <stateDir>/attachments/, written atomically and durably by the addon
// (native/state_file.h: temporary file, fsync, rename, fsync of the
// directory), on its threads, through a directory fd opened without
// following symbolic links, in a directory of mode 0700 that must be ours.
import { listStateFiles, readStateFile, removeStateFile, writeStateFile } from '../../core/state-files';
import { stateDir } from '../../core/state-dir';
import { AttachmentEntry, parseEntry } from './entry';

/** The journal's directory under the state directory. */
export const JOURNAL_DIR = 'attachments';

export interface StoredEntry {
  /** The file name: the entry's id. */
  file: string;
  entry: AttachmentEntry;
  /** The file's text as read (gc re-reads it before acting and compares). */
  raw: string;
}

/** Where the journal lives (for messages and documentation). */
export function journalPath(): string {
  return `${stateDir()}/${JOURNAL_DIR}`;
}

export function serialize(entry: AttachmentEntry): string {
  return `${JSON.stringify(entry)}\n`;
}

/** Writes (or replaces) an entry. */
export async function writeEntry(file: string, entry: AttachmentEntry): Promise<void> {
  await writeStateFile(JOURNAL_DIR, file, serialize(entry));
}

/** Removes an entry; false when it was already gone. */
export async function removeEntry(file: string): Promise<boolean> {
  return removeStateFile(JOURNAL_DIR, file);
}

/** The entries whose file names start with prefix (every entry without one). Files that are not entries are skipped. */
export async function readEntries(prefix = ''): Promise<StoredEntry[]> {
  const files = await listStateFiles(JOURNAL_DIR, prefix);
  const out: StoredEntry[] = [];
  for (const f of files) {
    if (!f.name.endsWith('.json') || f.name.startsWith('.')) continue;
    const entry = parseEntry(f.data);
    if (entry) out.push({ file: f.name, entry, raw: f.data });
  }
  return out;
}

/** Re-reads one entry: null when it is gone (or no longer an entry). */
export async function rereadEntry(file: string): Promise<StoredEntry | null> {
  const f = await readStateFile(JOURNAL_DIR, file);
  const entry = f ? parseEntry(f.data) : null;
  return f && entry ? { file, entry, raw: f.data } : null;
}

/** A writer's temporary file (".<entry>.<pid>.<n>.tmp"): left only by a writer killed mid-write. */
export interface TempFile {
  file: string;
  pid: number;
}

export async function tempFiles(): Promise<TempFile[]> {
  const files = await listStateFiles(JOURNAL_DIR, '.');
  const out: TempFile[] = [];
  for (const f of files) {
    const m = /\.(\d+)\.\d+\.tmp$/.exec(f.name);
    if (m) out.push({ file: f.name, pid: Number(m[1]) });
  }
  return out;
}
