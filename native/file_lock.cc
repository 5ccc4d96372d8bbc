#include "file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "state_dir.h"

namespace pw {

namespace {

// Opens (creating) a lock file in dirFd; never through a symbolic link.
int OpenLockFile(int dirFd, const std::string& name, const std::string& path) {
  int fd = openat(dirFd, name.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
  if (fd < 0) FailAt(errno, "open", path, errno == ELOOP ? "is a symbolic link: refused" : "cannot open the lock file");
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    FailAt(EINVAL, "open", path, "is not a regular file: refused");
  }
  return fd;
}

void Lock(int fd, int how, const std::string& path) {
  while (flock(fd, how) != 0) {
    if (errno == EINTR) continue;
    FailAt(errno, "flock", path, errno == EWOULDBLOCK ? "held by another process" : "");
  }
}

// Whether fd is still the file called name in dirFd. A holder may unlink its
// lock file to prune it (only while holding it); a taker that opened the file
// before that and was granted it afterwards holds a lock nobody else can see,
// so it must take the one now under that name instead.
bool StillNamed(int dirFd, const std::string& name, int fd, const std::string& path) {
  struct stat held, named;
  if (fstat(fd, &held) != 0) FailAt(errno, "fstat", path, "");
  if (fstatat(dirFd, name.c_str(), &named, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return false;
    FailAt(errno, "stat", path, "");
  }
  return held.st_dev == named.st_dev && held.st_ino == named.st_ino;
}

}  // namespace

Value AcquireFileLock(const std::string& root, const std::string& sub, const std::string& name, bool exclusive, bool wait) {
  CheckEntryName(name);
  const int how = (exclusive ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB);
  const std::string base = root + "/" + sub + "/" + name;
  int dirFd = OpenOwnDir(root, sub, true);
  int gate = -1, lock = -1;
  try {
    gate = OpenLockFile(dirFd, name + ".gate", base + ".gate");
    Lock(gate, how, base + ".gate");
    for (;;) {
      lock = OpenLockFile(dirFd, name, base);
      Lock(lock, how, base);
      if (StillNamed(dirFd, name, lock, base)) break;
      close(lock);  // pruned under us: take the file that has the name now
      lock = -1;
    }
  } catch (...) {
    if (lock >= 0) close(lock);
    if (gate >= 0) close(gate);
    close(dirFd);
    throw;
  }
  close(dirFd);
  Value out = Value::MakeObject();
  out.Set("fd", lock);
  if (exclusive) {
    out.Set("gateFd", gate);
  } else {
    close(gate);  // passed: an exclusive taker that comes now waits only for the holders already in
  }
  return out;
}

}  // namespace pw
