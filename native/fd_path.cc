#include "fd_path.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

namespace pw {

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) close(fd_);
    fd_ = o.Release();
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) close(fd_);
}

std::string ProcFdPath(int fd, const std::string& name) {
  std::string p = "/proc/self/fd/" + std::to_string(fd);
  return name.empty() ? p : p + "/" + name;
}

namespace {

// The kernel's openat2 refuses flags it does not know; O_NOFOLLOW is implied
// by RESOLVE_NO_SYMLINKS for every component but the last, where it decides
// whether a symlink is opened as such (O_PATH) or refused.
int OpenAt2(int dirfd, const std::string& rel, int flags) {
  open_how how{};
  how.flags = uint64_t(flags | O_CLOEXEC);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  for (int attempt = 0;; ++attempt) {
    int fd = int(syscall(SYS_openat2, dirfd, rel.c_str(), &how, sizeof(how)));
    // EAGAIN: a rename raced the ".."-safety check; only worth a few retries.
    if (fd >= 0 || errno != EAGAIN || attempt == 3) return fd;
  }
}

// The same without openat2: one component at a time, none of them followed.
int OpenWalking(int dirfd, const std::string& rel, int flags) {
  int cur = dirfd;
  size_t start = 0;
  for (;;) {
    size_t slash = rel.find('/', start);
    std::string comp = rel.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (comp.empty() || comp == "." || comp == "..") {
      if (cur != dirfd) close(cur);
      errno = EXDEV;  // what RESOLVE_BENEATH answers for an escape
      return -1;
    }
    bool last = slash == std::string::npos;
    int next = openat(cur, comp.c_str(), last ? (flags | O_NOFOLLOW | O_CLOEXEC) : (O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    int e = errno;
    if (cur != dirfd) close(cur);
    if (next < 0 || last) {
      errno = e;
      return next;
    }
    cur = next;
    start = slash + 1;
  }
}

}  // namespace

int OpenBeneath(int dirfd, const std::string& rel, int flags) {
  static std::atomic<bool> noOpenat2{false};
  if (!noOpenat2.load(std::memory_order_relaxed)) {
    int fd = OpenAt2(dirfd, rel, flags);
    // ENOSYS: kernel < 5.6; EPERM: a seccomp filter that does not know it.
    if (fd >= 0 || (errno != ENOSYS && errno != EPERM)) return fd;
    noOpenat2.store(true, std::memory_order_relaxed);
  }
  return OpenWalking(dirfd, rel, flags);
}

}  // namespace pw
