// What was read of each shared store directory (locked_dir.h), kept so that
// the next reading can skip the files that have not changed since.
//
// A host-local store holds one small file per lease, written once and read
// by every ADD: with 200 leases an ADD opened, stat'ed, read and closed 200
// files (~1 ms here) to learn what it already knew. A file's contents are
// used again when one stat of its name (instead of four calls) shows the
// same file as when they were read: the same inode, size, modification and
// change times. Only files whose change time was already older than
// kSettledNs when they were read are kept: the kernel stamps times from a
// clock that ticks coarsely, so a file rewritten within one tick of its
// reading could keep both times; a write after kSettledNs always moves the
// change time (only a step of the system clock backwards could defeat it,
// and then only by landing on the same nanosecond).
#pragma once

#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include <cstdint>

#include <string>
#include <unordered_map>

namespace pw {

struct CachedFile {
  ino_t ino;
  off_t size;
  struct timespec mtime;
  struct timespec ctime;
  std::string data;
};

// By entry name.
using CachedFiles = std::unordered_map<std::string, CachedFile>;

// A directory's cache and the number of the reading that kept it (0: none).
// Readings are numbered across the process, never reused: a caller that
// holds the entries of reading n (locked_dir.h, `since`) may be told "as in
// reading n" for the files this cache still holds, and for no other reading.
struct CachedStore {
  CachedFiles files;
  uint64_t reading = 0;
};

// How old a change time must be for a file's contents to be kept.
constexpr long long kSettledNs = 100'000'000;
// Files larger than this are read every time (leases are tens of bytes).
constexpr size_t kMaxCachedFile = 4096;

// The directory's cache, taken out (empty, reading 0, when there is none).
// The caller holds the store's lock, and gives back with KeepCachedFiles
// what it read.
CachedStore TakeCachedFiles(const struct stat& dir);

// Keeps what was read this time for the next reading (replacing what was
// there: names no longer in the directory are forgotten), and returns this
// reading's number. At most kMaxCachedStores directories are remembered.
uint64_t KeepCachedFiles(const struct stat& dir, CachedFiles files);

// st (an lstat of the name now) is the file c was read from, unchanged.
bool StillTheSame(const CachedFile& c, const struct stat& st);

// The contents of a regular file read at `now` (CLOCK_REALTIME, taken
// before the read), whose fstat was st, may be kept.
bool MayKeep(const struct stat& st, const struct timespec& now);

}  // namespace pw
