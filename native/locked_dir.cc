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

Value EntryOf(const std::string& name, const CachedFile& c) {
  if (c.hasData) return FileEntry(name, c.data);
  Value e = Value::MakeObject();
  e.Set("name", name);
  e.Set("type", c.type);
  return e;
}

// One reading of a store directory: what it sends (entries, gone) and what
// it keeps for the next (files).
class Reading {
 public:
  Reading(int dirFd, CachedStore before, bool callerHolds) : dirFd_(dirFd), before_(std::move(before)), callerHolds_(callerHolds) {
    clock_gettime(CLOCK_REALTIME, &now_);
  }

  // Every name, listed: those unchanged since the caller's reading (by a stat,
  // for files kept without a watch) are not sent again; names of that
  // reading not found now are gone.
  void Scan(const std::string& path) {
    int scanFd = dup(dirFd_);
    DIR* d = scanFd >= 0 ? fdopendir(scanFd) : nullptr;
    if (!d) {
      int e = errno;
      if (scanFd >= 0) close(scanFd);
      FailAt(e, "opendir", path, "");
    }
    while (struct dirent* ent = readdir(d)) {
      std::string name = ent->d_name;
      if (name == "." || name == "..") continue;
      Look(name, ent->d_type == DT_REG, true);
    }
    closedir(d);
    if (callerHolds_)
      for (const auto& [name, c] : before_.files)
        if (!files_.count(name)) Gone(name);
  }

  // Only the names with events since the caller's reading, and the files
  // the caller does not keep: the rest are as they were.
  void Changes() {
    std::unordered_set<std::string> names = std::move(before_.changed);
    for (const auto& [name, c] : before_.files)
      if (c.resend) names.insert(name);
    files_ = std::move(before_.files);
    for (const auto& name : names) {
      // A name that came and went since is neither sent nor gone: the caller never had it.
      if (!Look(name, false, false) && files_.erase(name)) Gone(name);
    }
  }

  Value TakeEntries() { return std::move(entries_); }
  std::string TakeGone() { return std::move(gone_); }
  CachedFiles TakeFiles() { return std::move(files_); }

 private:
  // Looks at one name now; false when it is gone. A regular file by the
  // directory's own word (isFile: d_type) is opened at once, which tells
  // its type too (fstat): a stat less per lease, the store's bulk, unless
  // its kept contents are still good (mayReuse, by one stat). O_NONBLOCK: a
  // FIFO swapped in since the listing must not hang us.
  bool Look(const std::string& name, bool isFile, bool mayReuse) {
    if (isFile) {
      if (mayReuse && Reused(name, nullptr)) return true;
      int fd = openat(dirFd_, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
      const int openError = fd < 0 ? errno : 0;
      struct stat fst;
      if (fd >= 0 && fstat(fd, &fst) == 0) {
        Read(name, fd, fst);
        close(fd);
        return true;
      }
      if (fd >= 0) close(fd);
      if (openError == ENOENT) return false;
      // Anything else (a link swapped in: ELOOP): looked at as below.
    }
    struct stat st;
    if (fstatat(dirFd_, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return false;
    if (mayReuse && Reused(name, &st)) return true;
    // Opened only when it is a regular file: opening a device can do things.
    if (S_ISREG(st.st_mode)) {
      int fd = openat(dirFd_, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
      struct stat fst;
      if (fd >= 0 && fstat(fd, &fst) == 0 && S_ISREG(fst.st_mode)) {
        Read(name, fd, fst);
        close(fd);
        return true;
      }
      if (fd >= 0) close(fd);
    }
    CachedFile c{TypeOf(st.st_mode), st.st_ino, st.st_size, st.st_mtim, st.st_ctim};
    entries_.Push(EntryOf(name, c));
    files_[name] = std::move(c);
    return true;
  }

  // The caller's reading had this file, and it has not changed since (st: an lstat of it now, or null).
  bool Reused(const std::string& name, const struct stat* st) {
    auto c = before_.files.find(name);
    if (c == before_.files.end() || !c->second.settled) return false;
    struct stat current;
    if (!st) {
      if (fstatat(dirFd_, name.c_str(), &current, AT_SYMLINK_NOFOLLOW) != 0) return false;
      st = &current;
    }
    if (!StillTheSame(c->second, *st)) return false;
    if (!callerHolds_) entries_.Push(FileEntry(name, c->second.data));
    files_.emplace(name, std::move(c->second));
    return true;
  }

  void Read(const std::string& name, int fd, const struct stat& fst) {
    CachedFile c{TypeOf(fst.st_mode), fst.st_ino, fst.st_size, fst.st_mtim, fst.st_ctim};
    Value e = Value::MakeObject();
    e.Set("name", name);
    e.Set("type", c.type);
    if (S_ISREG(fst.st_mode) && static_cast<size_t>(fst.st_size) <= kMaxStateFile) {
      ReadUpTo(fd, static_cast<size_t>(fst.st_size), &buf_);
      e.Set("data", buf_);
      if (MayKeep(fst, now_, before_.watched) && buf_.size() == static_cast<size_t>(fst.st_size)) {
        c.data = buf_;
        c.hasData = true;
        c.settled = Settled(fst, now_);
      } else {
        c.resend = true;
      }
    }
    entries_.Push(std::move(e));
    files_[name] = std::move(c);
  }

  void Gone(const std::string& name) {
    if (!gone_.empty()) gone_ += '/';
    gone_ += name;
  }

  int dirFd_;
  CachedStore before_;
  bool callerHolds_;
  struct timespec now_;
  Value entries_ = Value::MakeArray();
  std::string gone_;
  CachedFiles files_;
  std::string buf_;
};

// Every entry, with the contents of the regular files (read without
// following links), set on `out`. When `since` is the number of the
// reading the cache comes from, the caller holds that reading's entries, so
// only what changed since is sent: entries new or changed, and `gone`, the
// names of those removed (joined by '/', which no entry name holds); a
// store of 200 leases is then the lease or two that changed. Otherwise
// (`whole`) every entry is sent. What changed is known from the directory's
// events when it is watched, else by listing it and a stat per file
// (store_file_cache.h); `scanned` says whether it was listed.
void ReadEntries(int dirFd, const std::string& path, uint64_t since, Value* out) {
  StoreId id;
  const bool cacheable = StoreIdOf(dirFd, &id);
  CachedStore before = cacheable ? TakeCachedFiles(dirFd, id) : CachedStore{};
  const bool callerHolds = since != 0 && since == before.reading;
  const bool scan = !callerHolds || before.allChanged;
  Reading r(dirFd, std::move(before), callerHolds);
  if (scan) r.Scan(path);
  else r.Changes();
  const uint64_t reading = cacheable ? KeepCachedFiles(id, r.TakeFiles()) : 0;
  out->Set("entries", r.TakeEntries());
  out->Set("gone", r.TakeGone());
  out->Set("whole", !callerHolds);
  out->Set("scanned", scan);
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
