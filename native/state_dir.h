// pipewright's own directories under its state directory (the ownership
// journal, the attach/gc locks). Everything here is opened relative to a
// directory fd that was itself opened without following a symbolic link, and
// is refused unless it belongs to us and nobody else can write to it: as
// root, a path that someone else can swap under us must never be written
// through.
#pragma once

#include <cstddef>
#include <string>

#include "errors.h"

namespace pw {

// Opens root/sub as a directory and returns the fd (the caller closes it).
// With create, root (its last component) and sub are made with mode 0700
// when missing. Throws NlException: ELOOP for a symbolic link, EPERM for a
// directory owned by someone else or writable by group or others, ENOENT
// (without create) when it does not exist.
int OpenOwnDir(const std::string& root, const std::string& sub, bool create);

// Throws EINVAL unless name is one plain entry name (no '/', not "." or "..").
void CheckEntryName(const std::string& name);

// Files of ours are small (journal entries, locks' records, IPAM leases): anything larger is not one.
constexpr size_t kMaxStateFile = 64 * 1024;

// Writes all of data to fd (retrying short writes and EINTR); throws with path on failure.
void WriteAll(int fd, const std::string& data, const std::string& path);

// Reads up to size bytes of fd into *out (fewer if the file shrank meanwhile).
void ReadUpTo(int fd, size_t size, std::string* out);


}  // namespace pw
