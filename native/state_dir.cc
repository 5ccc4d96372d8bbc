#include "state_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "errors.h"

namespace pw {


void WriteAll(int fd, const std::string& data, const std::string& path) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      FailAt(errno, "write", path, "");
    }
    off += static_cast<size_t>(n);
  }
}

void ReadUpTo(int fd, size_t size, std::string* out) {
  out->assign(size, '\0');
  size_t got = 0;
  while (got < size) {
    ssize_t n = read(fd, &(*out)[got], size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  out->resize(got);
}

void CheckEntryName(const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos || name.find('\0') != std::string::npos)
    FailAt(EINVAL, "openat", name, "not a plain file name");
}

namespace {

// A directory we may write through: ours, and nobody else can add, rename or
// remove entries in it.
void CheckOwnDir(int fd, const std::string& path) {
  struct stat st;
  if (fstat(fd, &st) != 0) FailAt(errno, "fstat", path, "");
  if (!S_ISDIR(st.st_mode)) FailAt(ENOTDIR, "fstat", path, "is not a directory");
  if (st.st_uid != geteuid())
    FailAt(EPERM, "fstat", path, "belongs to uid " + std::to_string(st.st_uid) + ", not to us: refused");
  if (st.st_mode & (S_IWGRP | S_IWOTH)) FailAt(EPERM, "fstat", path, "is writable by group or others: refused");
}

int OpenDirNoFollow(int at, const std::string& name, const std::string& path) {
  int fd = openat(at, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    // A symbolic link fails with ELOOP, or with ENOTDIR (O_DIRECTORY is
    // checked first): say which it is.
    struct stat st;
    if ((e == ELOOP || e == ENOTDIR) && fstatat(at, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
      FailAt(ELOOP, "open", path, "is a symbolic link: refused");
    FailAt(e, "open", path, e == ENOENT ? "does not exist" : e == ENOTDIR ? "is not a directory" : "cannot open the directory");
  }
  return fd;
}

}  // namespace

int OpenOwnDir(const std::string& root, const std::string& sub, bool create) {
  CheckEntryName(sub);
  if (root.empty() || root[0] != '/') FailAt(EINVAL, "open", root, "the state directory must be an absolute path");
  // Opened first, made only when missing: the usual case costs no mkdir.
  auto openOrMake = [create](int at, const std::string& name, const std::string& path) {
    int fd = openat(at, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0 || errno != ENOENT || !create) return fd >= 0 ? fd : OpenDirNoFollow(at, name, path);
    if (mkdirat(at, name.c_str(), 0700) != 0 && errno != EEXIST) FailAt(errno, "mkdir", path, "cannot create the directory");
    return OpenDirNoFollow(at, name, path);
  };
  int rootFd = openOrMake(AT_FDCWD, root, root);
  int fd = -1;
  try {
    CheckOwnDir(rootFd, root);
    std::string path = root + "/" + sub;
    fd = openOrMake(rootFd, sub, path);
    CheckOwnDir(fd, path);
  } catch (...) {
    if (fd >= 0) close(fd);
    close(rootFd);
    throw;
  }
  close(rootFd);
  return fd;
}

}  // namespace pw
