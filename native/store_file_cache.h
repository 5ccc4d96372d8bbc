// What was read of each shared store directory (locked_dir.h), kept so that
// the next reading can skip what has not changed since.
//
// A host-local store holds one small file per lease, written once and read
// by every ADD. Two ways tell what changed since the last reading:
//
// - One stat per name: a file's contents are used again when the stat shows
//   the same file as when they were read (the same inode, size,
//   modification and change times). Only files whose change time was
//   already older than kSettledNs when they were read are kept that way:
//   the kernel stamps times from a clock that ticks coarsely, so a file
//   rewritten within one tick of its reading could keep both times; a write
//   after kSettledNs always moves the change time (only a step of the
//   system clock backwards could defeat it, and then only by landing on the
//   same nanosecond). Still a stat per lease and the whole listing per
//   reading: with 1,000 leases, ~5 ms of every ADD here.
// - An inotify watch on the directory, set up at its second reading (a
//   process that reads a store once, a CLI call, never pays for one): the
//   kernel queues an event, with the entry's name, for every change made in
//   the directory (created, written, removed, renamed, its attributes), as
//   the change is made. A reading then looks only at the names that have
//   events since the last one; the rest are as they were. Events lost (the
//   queue overflowed) or the directory itself removed, renamed or unmounted:
//   the next reading lists and stats everything, as above.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include <cstdint>

#include <string>
#include <unordered_map>
#include <unordered_set>

namespace pw {

// One entry of a reading.
struct CachedFile {
  // "file", "link", "dir" or "other".
  const char* type;
  ino_t ino;
  off_t size;
  struct timespec mtime;
  struct timespec ctime;
  // A regular file's contents, when kept (hasData): it is then not read again.
  std::string data;
  bool hasData = false;
  // Kept when its change time was already older than kSettledNs: a stat
  // may vouch for it (without the directory's events).
  bool settled = false;
  // A regular file whose contents were read but not kept (too big to
  // keep): sent with every reading, since the caller does not keep it either.
  bool resend = false;
};

// Every entry of a reading, by name.
using CachedFiles = std::unordered_map<std::string, CachedFile>;

// A directory's cache and the number of the reading that kept it (0: none).
// Readings are numbered across the process, never reused: a caller that
// holds the entries of reading n (locked_dir.h, `since`) may be told what
// changed since reading n, and for no other reading.
struct CachedStore {
  CachedFiles files;
  uint64_t reading = 0;
  // Set by TakeCachedFiles. watched: the directory's events are queued
  // (since before this reading began, so a file read now may be kept
  // whatever its age). allChanged: every name must be looked at (no watch
  // before this reading, or events were lost); else `changed` names those
  // with events since `reading`.
  bool watched = false;
  bool allChanged = true;
  std::unordered_set<std::string> changed;
};

// Which directory: its inode, and its birth time where the file system
// keeps one, so that a directory made later under a recycled inode number
// is not taken for one read before.
struct StoreId {
  dev_t dev;
  ino_t ino;
  long long bornNs;
  bool operator<(const StoreId& o) const;
  bool operator==(const StoreId& o) const;
};

// The open directory's identity; false when it cannot be had (nothing is kept then).
bool StoreIdOf(int dirFd, StoreId* id);

// How old a change time must be for a file's contents to be kept without a watch.
constexpr long long kSettledNs = 100'000'000;
// Files larger than this are read every time (leases are tens of bytes).
constexpr size_t kMaxCachedFile = 4096;

// The directory's cache, taken out (empty, reading 0, when there is none),
// with the names changed since it was kept. A directory read before gets
// its watch now (dirFd is its open fd), before the caller reads it. The
// caller holds the store's lock, and gives back with KeepCachedFiles what
// it read.
CachedStore TakeCachedFiles(int dirFd, const StoreId& dir);

// Keeps what was read this time (every entry) for the next reading,
// replacing what was there, and returns this reading's number. At most
// kMaxCachedStores directories are remembered (and watched).
uint64_t KeepCachedFiles(const StoreId& dir, CachedFiles files);

// A file whose fstat was st, read at `now`, has settled (kSettledNs).
bool Settled(const struct stat& st, const struct timespec& now);

// st (an lstat of the name now) is the file c was read from, unchanged.
bool StillTheSame(const CachedFile& c, const struct stat& st);

// The contents of a regular file read at `now` (CLOCK_REALTIME, taken
// before the read), whose fstat was st, may be kept: always when the
// directory is watched, else once they have settled.
bool MayKeep(const struct stat& st, const struct timespec& now, bool watched);

}  // namespace pw
