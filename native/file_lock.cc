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
    lock = OpenLockFile(dirFd, name, base);
    Lock(lock, how, base);
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
