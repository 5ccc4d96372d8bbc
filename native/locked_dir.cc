#include "locked_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

#include "errors.h"
#include "state_dir.h"
#include "store_file_cache.h"

namespace pw {

namespace {

// mkdir -p of an absolute path: what the other programs do to make the
// store's parent (the administrator's dataDir may itself be a link: followed).
void MakeParents(const std::string& path) {
  if (path.empty() || path[0] != '/') FailAt(EINVAL, "mkdir", path, "must be an absolute path");
  for (size_t i = 1; i <= path.size(); i++) {
    if (i < path.size() && path[i] != '/') continue;
    std::string prefix = path.substr(0, i);
    if (mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) FailAt(errno, "mkdir", prefix, "cannot create the directory");
  }
}

int OpenStoreDir(const std::string& parent, const std::string& name, const std::string& path) {
  MakeParents(parent);
  int parentFd = open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (parentFd < 0) FailAt(errno, "open", parent, "cannot open the directory");
  if (mkdirat(parentFd, name.c_str(), 0755) != 0 && errno != EEXIST) {
    int e = errno;
    close(parentFd);
    FailAt(e, "mkdir", path, "cannot create the directory");
  }
  int fd = openat(parentFd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  int e = errno;
  struct stat st;
  bool link = fd < 0 && fstatat(parentFd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
  close(parentFd);
  if (fd < 0) FailAt(link ? ELOOP : e, "open", path, link ? "is a symbolic link: refused" : "cannot open the directory");
  return fd;
}

const char* TypeOf(mode_t m) {
  if (S_ISREG(m)) return "file";
  if (S_ISLNK(m)) return "link";
  if (S_ISDIR(m)) return "dir";
  return "other";
}

// The entry of a regular file whose contents are known: from the cache, or just read.
Value FileEntry(const std::string& name, const std::string& data) {
  Value e = Value::MakeObject();
  e.Set("name", name);
  e.Set("type", "file");
  e.Set("data", data);
  return e;
}

// Every entry, with the contents of the regular files (read without
// following links; a file unchanged since the last reading is not read
// again: store_file_cache.h), set on `out` as entries, same and reading.
// When `since` is the number of the reading the cache comes from, the caller
// holds that reading's entries, so a file unchanged since is named in `same`
// (names joined by '/', which no entry name holds) rather than sent again:
// a store of 200 leases is then a few names and the leases that changed.
void ReadEntries(int dirFd, const std::string& path, uint64_t since, Value* out) {
  Value entries = Value::MakeArray();
  std::string same;
  struct stat dirSt;
  const bool cacheable = fstat(dirFd, &dirSt) == 0;
  CachedStore before = cacheable ? TakeCachedFiles(dirSt) : CachedStore{};
  const bool callerHolds = since != 0 && since == before.reading;
  CachedFiles kept;
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  // What was read before, if the file at this name now is the same: one stat instead of four calls.
  auto known = [&](const std::string& name, const struct stat* st) -> const CachedFile* {
    auto c = before.files.find(name);
    if (c == before.files.end()) return nullptr;
    struct stat current;
    if (!st) {
      if (fstatat(dirFd, name.c_str(), &current, AT_SYMLINK_NOFOLLOW) != 0) return nullptr;
      st = &current;
    }
    if (!StillTheSame(c->second, *st)) return nullptr;
    return &kept.emplace(name, std::move(c->second)).first->second;
  };
  auto unchanged = [&](const std::string& name, const CachedFile& c) {
    if (!callerHolds) return entries.Push(FileEntry(name, c.data));
    if (!same.empty()) same += '/';
    same += name;
  };
  auto keep = [&](const std::string& name, const struct stat& st, const std::string& data) {
    if (MayKeep(st, now) && data.size() == static_cast<size_t>(st.st_size)) kept[name] = CachedFile{st.st_ino, st.st_size, st.st_mtim, st.st_ctim, data};
  };
  int scanFd = dup(dirFd);
  DIR* d = scanFd >= 0 ? fdopendir(scanFd) : nullptr;
  if (!d) {
    int e = errno;
    if (scanFd >= 0) close(scanFd);
    FailAt(e, "opendir", path, "");
  }
  std::string buf;
  while (struct dirent* ent = readdir(d)) {
    std::string name = ent->d_name;
    if (name == "." || name == "..") continue;
    // A regular file by the directory's own word (d_type) is, unless known,
    // opened at once, which tells its type too (fstat): a stat less per
    // lease, the store's bulk. O_NONBLOCK: a FIFO swapped in since the
    // readdir must not hang us.
    if (ent->d_type == DT_REG) {
      if (const CachedFile* c = known(name, nullptr)) {
        unchanged(name, *c);
        continue;
      }
      int fd = openat(dirFd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
      const int openError = fd < 0 ? errno : 0;
      struct stat fst;
      if (fd >= 0 && fstat(fd, &fst) == 0) {
        Value e = Value::MakeObject();
        e.Set("name", name);
        e.Set("type", TypeOf(fst.st_mode));
        if (S_ISREG(fst.st_mode) && static_cast<size_t>(fst.st_size) <= kMaxStateFile) {
          ReadUpTo(fd, static_cast<size_t>(fst.st_size), &buf);
          e.Set("data", buf);
          keep(name, fst, buf);
        }
        close(fd);
        entries.Push(std::move(e));
        continue;
      }
      if (fd >= 0) close(fd);
      if (openError == ENOENT) continue;  // gone since readdir
      // Anything else (a link swapped in: ELOOP): looked at as below.
    }
    struct stat st;
    if (fstatat(dirFd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;  // gone since readdir
    if (const CachedFile* c = known(name, &st)) {
      unchanged(name, *c);
      continue;
    }
    Value e = Value::MakeObject();
    e.Set("name", name);
    e.Set("type", TypeOf(st.st_mode));
    // Opened only when it is a regular file: opening a device can do things.
    if (S_ISREG(st.st_mode) && static_cast<size_t>(st.st_size) <= kMaxStateFile) {
      int fd = openat(dirFd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
      struct stat fst;
      if (fd >= 0 && fstat(fd, &fst) == 0 && S_ISREG(fst.st_mode)) {
        ReadUpTo(fd, static_cast<size_t>(fst.st_size), &buf);
        e.Set("data", buf);
        keep(name, fst, buf);
      }
      if (fd >= 0) close(fd);
    }
    entries.Push(std::move(e));
  }
  closedir(d);
  const uint64_t reading = cacheable ? KeepCachedFiles(dirSt, std::move(kept)) : 0;
  out->Set("entries", std::move(entries));
  out->Set("same", same);
  // A JS number: exact far beyond any count of readings a process makes.
  out->Set("reading", static_cast<double>(reading));
}

std::string Create(int dirFd, const LockedDirChange& c, const std::string& file) {
  int fd = openat(dirFd, c.name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return "exists";  // a file, a link, anything: the name is taken
    FailAt(errno, "open", file, "cannot create the file");
  }
  try {
    WriteAll(fd, c.data, file);
  } catch (...) {
    close(fd);
    unlinkat(dirFd, c.name.c_str(), 0);
    throw;
  }
  if (close(fd) != 0) {
    int e = errno;
    unlinkat(dirFd, c.name.c_str(), 0);
    FailAt(e, "close", file, "");
  }
  return "created";
}

std::string Write(int dirFd, const LockedDirChange& c, const std::string& file) {
  int fd = openat(dirFd, c.name.c_str(), O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
  if (fd < 0) FailAt(errno, "open", file, errno == ELOOP ? "is a symbolic link: refused" : "cannot open the file");
  try {
    struct stat st;
    if (fstat(fd, &st) != 0) FailAt(errno, "fstat", file, "");
    if (!S_ISREG(st.st_mode)) FailAt(EINVAL, "open", file, "is not a regular file: refused");
    // Written over in place (the file was just opened: from offset 0), then
    // cut to its length: never truncated to
    // zero first, which on ext4 (auto_da_alloc) makes close() start
    // writeback of the file, ~0.2 ms of every host-local ADD measured here.
    // Readers take the store's lock, so none sees the file half-written. A
    // crash between the write and the cut leaves a wrong address there (the
    // new one with the old one's tail): host-local takes the file only as
    // where its round-robin starts, and still checks every address is free.
    WriteAll(fd, c.data, file);
    if (static_cast<size_t>(st.st_size) > c.data.size() && ftruncate(fd, static_cast<off_t>(c.data.size())) != 0) FailAt(errno, "ftruncate", file, "");
  } catch (...) {
    close(fd);
    throw;
  }
  if (close(fd) != 0) FailAt(errno, "close", file, "");
  return "written";
}

// The whole content of a regular file (opened without following a link), or
// false when the name is missing; a link or anything but a regular file is refused.
bool ReadRegular(int dirFd, const std::string& name, const std::string& file, std::string* out) {
  int fd = openat(dirFd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return false;
    FailAt(errno, "open", file, errno == ELOOP ? "is a symbolic link: refused" : "");
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || static_cast<size_t>(st.st_size) > kMaxStateFile) {
    close(fd);
    FailAt(EINVAL, "open", file, "is not a regular file of ours: refused");
  }
  ReadUpTo(fd, static_cast<size_t>(st.st_size), out);
  close(fd);
  return true;
}

std::string Remove(int dirFd, const LockedDirChange& c, const std::string& file) {
  struct stat st;
  if (fstatat(dirFd, c.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return "missing";
    FailAt(errno, "stat", file, "");
  }
  if (!S_ISREG(st.st_mode)) FailAt(EINVAL, "unlink", file, "is not a regular file: refused");
  if (c.expect) {
    std::string now;
    if (!ReadRegular(dirFd, c.name, file, &now)) return "missing";
    if (now != c.data) return "differs";
  }
  if (unlinkat(dirFd, c.name.c_str(), 0) != 0) {
    if (errno == ENOENT) return "missing";
    FailAt(errno, "unlink", file, "");
  }
  return "removed";
}

}  // namespace

Value LockedDirOpen(const std::string& parent, const std::string& name, const std::string& lockName, bool wait, uint64_t since) {
  CheckEntryName(name);
  CheckEntryName(lockName);
  const std::string path = parent + "/" + name;
  int dirFd = OpenStoreDir(parent, name, path);
  int lockFd = -1;
  try {
    // Made as the reference plugin's lock library makes it (O_CREAT|O_RDONLY, 0750).
    lockFd = openat(dirFd, lockName.c_str(), O_RDONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0750);
    if (lockFd < 0) FailAt(errno, "open", path + "/" + lockName, errno == ELOOP ? "is a symbolic link: refused" : "cannot open the lock file");
    struct stat st;
    if (fstat(lockFd, &st) != 0 || !S_ISREG(st.st_mode)) FailAt(EINVAL, "open", path + "/" + lockName, "is not a regular file: refused");
    while (flock(lockFd, wait ? LOCK_EX : LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK && !wait) {
        close(lockFd);
        close(dirFd);
        Value busy = Value::MakeObject();
        busy.Set("busy", true);
        return busy;
      }
      if (errno != EINTR) FailAt(errno, "flock", path + "/" + lockName, "");
    }
    Value out = Value::MakeObject();
    ReadEntries(dirFd, path, since, &out);
    out.Set("dirFd", dirFd);
    out.Set("lockFd", lockFd);
    return out;
  } catch (...) {
    if (lockFd >= 0) close(lockFd);
    close(dirFd);
    throw;
  }
}

Value LockedDirApply(int dirFd, int lockFd, const std::vector<LockedDirChange>& changes, bool closeFds, const std::string& path) {
  Value out = Value::MakeArray();
  try {
    for (const auto& c : changes) {
      CheckEntryName(c.name);
      const std::string file = path + "/" + c.name;
      switch (c.kind) {
        case LockedDirChange::Kind::kCreate: {
          std::string r = Create(dirFd, c, file);
          out.Push(r);
          if (r == "exists") goto done;  // what follows was meant for a file that is not ours
          break;
        }
        case LockedDirChange::Kind::kWrite: out.Push(Write(dirFd, c, file)); break;
        case LockedDirChange::Kind::kRemove: out.Push(Remove(dirFd, c, file)); break;
      }
    }
  done:;
  } catch (...) {
    if (closeFds) {
      close(lockFd);
      close(dirFd);
    }
    throw;
  }
  if (closeFds) {
    close(lockFd);
    close(dirFd);
  }
  return out;
}

}  // namespace pw
