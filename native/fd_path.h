// Paths resolved through file descriptors: an owned fd, the
// /proc/self/fd/N form that names exactly what an fd refers to, and opening
// beneath a directory fd without following any symbolic link.
#pragma once

#include <string>

namespace pw {

// An owned fd, closed when it goes out of scope.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.Release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();
  int get() const { return fd_; }
  int Release() { int fd = fd_; fd_ = -1; return fd; }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// "/proc/self/fd/FD" or "/proc/self/fd/FD/NAME": a path the kernel resolves
// through our fd (never re-walking the directory's own path).
std::string ProcFdPath(int fd, const std::string& name = "");

// Opens `rel` (relative, no "..") beneath dirfd without following any
// symbolic link, with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
// RESOLVE_NO_MAGICLINKS), or component by component with O_NOFOLLOW where
// the kernel has no openat2. Returns -1 with errno set on failure.
int OpenBeneath(int dirfd, const std::string& rel, int flags);

}  // namespace pw
