// A directory of small files shared with other programs that serialize on an
// advisory lock (flock) of a file inside it: the reference CNI host-local
// IPAM plugin's store (<dataDir>/<network>/lock, one file per address).
// Unlike state_dir.h this directory is not ours alone (its owner and mode are
// whatever the other programs made), so the rules are narrower: the store
// directory itself and every file in it are reached without following a
// symbolic link, through the directory's fd; names are plain entry names; a
// file we create never replaces one that exists.
//
// Open takes the lock and reads every entry once; Apply runs the caller's
// changes through the same directory fd while the lock is still held, then
// may give everything back.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "value.h"

namespace pw {

// {dirFd, lockFd, entries: [{name, type: 'file'|'link'|'dir'|'other', data?}],
// gone, whole, scanned, reading}. With wait, blocks until the lock is
// granted (the caller runs it on the lock thread); without, takes it only if
// it is free, else gives everything back and returns {busy: true}. Makes
// parent (and its missing ancestors, mode 0755) and parent/name (0755) when
// missing; parent/name must not be a symbolic link. The lock file is made
// (0600) when missing and refused when it is a symbolic link or not a
// regular file. data is given for regular files up to 64 KiB: read now, or,
// for a file unchanged since this process last read the store, as read then
// (store_file_cache.h). `reading` numbers this reading (0: not remembered).
// A caller that passes as `since` the number of the last reading it holds
// the entries of is sent only what changed since (whole false): the entries
// new or changed, and in `gone` ('/'-joined) the names no longer there;
// with any other `since` (0: none), every entry (whole true, gone empty).
// scanned: the directory was listed (false: its events said what changed).
Value LockedDirOpen(const std::string& parent, const std::string& name, const std::string& lockName, bool wait, uint64_t since);

struct LockedDirChange {
  enum class Kind { kCreate, kWrite, kRemove } kind;
  std::string name;
  std::string data;
  // remove: only when the file holds exactly data ("differs" otherwise).
  bool expect = false;
};

// Runs the changes in order: create (a new file, mode 0600, never over an
// existing entry: "exists" instead, and the changes after it are not made),
// write (a regular file's whole content,
// made when missing, refused through a symbolic link), remove (a regular
// file; a symbolic link or directory of that name is refused, a missing one
// is "missing"; with expect, one holding other than data is "differs").
// Returns one of "created", "exists", "written", "removed", "missing",
// "differs" per change made; the first refusal throws. With closeFds, lockFd and
// dirFd are closed afterwards whatever happened (the lock is given back).
Value LockedDirApply(int dirFd, int lockFd, const std::vector<LockedDirChange>& changes, bool closeFds, const std::string& path);

}  // namespace pw
