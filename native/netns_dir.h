// The named-namespace directory (/run/netns, or Docker's for reading),
// reached only through file descriptors. Every entry is looked at with
// O_NOFOLLOW / openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) relative to the
// directory's fd; unmounts go through /proc/self/fd/DIRFD/NAME with
// UMOUNT_NOFOLLOW, unlinks through unlinkat(DIRFD, NAME). A symbolic link is
// never followed, so nothing outside the directory can be unmounted,
// unlinked or opened by way of a name.
#pragma once

#include <string>

#include "fd_path.h"
#include "value.h"

namespace pw {

// Prepares runDir for a new name (created if missing, a shared mount as
// iproute2 makes it) and returns an O_PATH fd to it. A runDir that is itself
// a symbolic link is refused (ERR_PW_UNSAFE_PATH).
UniqueFd PrepareRunDir(const std::string& runDir);

// Where DeleteNamedNetns acts.
struct DeleteTarget {
  std::string name;
  // The namespace directory: for `root` empty, a path in our mount namespace;
  // else relative to root ("run/netns").
  std::string runDir;
  // "/proc/PID/root" to reach a name in another mount namespace (then the
  // name is only unlinked: its mount is not in our namespace to unmount).
  std::string root;
  // When set, the name must lead to exactly this namespace, else nothing is done.
  bool expect = false;
  uint64_t expectDev = 0, expectIno = 0;
};

// Removes a namespace name: lazy unmount (our mount namespace) and unlink,
// which also detaches copies of the mount in other mount namespaces. Refuses
// (and changes nothing) when the name is a symbolic link, a bind mount of
// another kind of namespace, a mount of anything else, or not a file.
// A plain empty file (a stale name) is unlinked. Returns {path, stale,
// wasMounted, dev?, ino?, handle?} (handle: see ns_handle.h).
Value DeleteNamedNetns(const DeleteTarget& t);

// [{name, path, valid, reason?, dev?, ino?, symlink?}] for every entry of
// runDir; entries are inspected, never followed.
Value ListNamedNetns(const std::string& runDir);

// Opens runDir/name, which must be a network namespace's nsfs mount reached
// without a symbolic link: {fd, dev, ino, path}.
Value OpenNamedNetns(const std::string& name, const std::string& runDir);

}  // namespace pw
