#include "state_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

#include "errors.h"
#include "state_dir.h"

namespace pw {

namespace {

void SyncDir(int dirFd, const std::string& path) {
  if (fsync(dirFd) != 0 && errno != EINVAL) FailAt(errno, "fsync", path, "");
}

// A temporary name no other writer uses: ours by pid and a counter.
std::string TempName(const std::string& name) {
  static std::atomic<unsigned long> counter{0};
  return "." + name + "." + std::to_string(getpid()) + "." + std::to_string(counter.fetch_add(1)) + ".tmp";
}

// Reads name in dirFd into {name, data, mtimeMs}; false when it is gone, a
// symbolic link, not a regular file, or too big to be one of ours.
bool ReadFileAt(int dirFd, const std::string& name, Value* out) {
  // O_NONBLOCK: a FIFO planted here must not hang us (it is then skipped as not regular).
  int fd = openat(dirFd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || static_cast<size_t>(st.st_size) > kMaxStateFile) {
    close(fd);
    return false;
  }
  std::string buf;
  ReadUpTo(fd, static_cast<size_t>(st.st_size), &buf);
  close(fd);
  *out = Value::MakeObject();
  out->Set("name", name);
  out->Set("data", buf);
  out->Set("mtimeMs", static_cast<double>(st.st_mtim.tv_sec) * 1000.0 + static_cast<double>(st.st_mtim.tv_nsec) / 1e6);
  return true;
}

}  // namespace

Value WriteStateFile(const std::string& root, const std::string& sub, const std::string& name, const std::string& data) {
  CheckEntryName(name);
  const std::string dir = root + "/" + sub;
  int dirFd = OpenOwnDir(root, sub, true);
  const std::string tmp = TempName(name);
  bool tmpExists = false;
  try {
    int fd = openat(dirFd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) FailAt(errno, "open", dir + "/" + tmp, "cannot create the temporary file");
    tmpExists = true;
    try {
      WriteAll(fd, data, dir + "/" + tmp);
      if (fsync(fd) != 0) FailAt(errno, "fsync", dir + "/" + tmp, "");
    } catch (...) {
      close(fd);
      throw;
    }
    if (close(fd) != 0) FailAt(errno, "close", dir + "/" + tmp, "");
    if (renameat(dirFd, tmp.c_str(), dirFd, name.c_str()) != 0) FailAt(errno, "rename", dir + "/" + name, "");
    tmpExists = false;
    SyncDir(dirFd, dir);
  } catch (...) {
    if (tmpExists) unlinkat(dirFd, tmp.c_str(), 0);
    close(dirFd);
    throw;
  }
  close(dirFd);
  return Value();
}

Value RemoveStateFile(const std::string& root, const std::string& sub, const std::string& name) {
  CheckEntryName(name);
  const std::string dir = root + "/" + sub;
  int dirFd;
  try {
    dirFd = OpenOwnDir(root, sub, false);
  } catch (const NlException& e) {
    if (e.err.errnum != ENOENT) throw;
    Value out = Value::MakeObject();
    out.Set("removed", false);
    return out;
  }
  bool removed = true;
  try {
    // unlinkat removes the entry itself, whatever it is: it never follows a link.
    if (unlinkat(dirFd, name.c_str(), 0) != 0) {
      if (errno != ENOENT) FailAt(errno, "unlink", dir + "/" + name, "");
      removed = false;
    }
    if (removed) SyncDir(dirFd, dir);
  } catch (...) {
    close(dirFd);
    throw;
  }
  close(dirFd);
  Value out = Value::MakeObject();
  out.Set("removed", removed);
  return out;
}

Value ListStateFiles(const std::string& root, const std::string& sub, const std::string& prefix) {
  Value out = Value::MakeArray();
  int dirFd;
  try {
    dirFd = OpenOwnDir(root, sub, false);
  } catch (const NlException& e) {
    if (e.err.errnum == ENOENT) return out;
    throw;
  }
  int scanFd = dup(dirFd);
  DIR* d = scanFd >= 0 ? fdopendir(scanFd) : nullptr;
  if (!d) {
    int e = errno;
    if (scanFd >= 0) close(scanFd);
    close(dirFd);
    FailAt(e, "opendir", root + "/" + sub, "");
  }
  while (struct dirent* ent = readdir(d)) {
    std::string name = ent->d_name;
    if (name == "." || name == ".." || name.compare(0, prefix.size(), prefix) != 0) continue;
    Value e;
    if (ReadFileAt(dirFd, name, &e)) out.Push(std::move(e));
  }
  closedir(d);
  close(dirFd);
  return out;
}

Value ReadStateFile(const std::string& root, const std::string& sub, const std::string& name) {
  CheckEntryName(name);
  int dirFd;
  try {
    dirFd = OpenOwnDir(root, sub, false);
  } catch (const NlException& e) {
    if (e.err.errnum == ENOENT) return Value::Null();
    throw;
  }
  Value out;
  bool found = ReadFileAt(dirFd, name, &out);
  close(dirFd);
  return found ? out : Value::Null();
}

}  // namespace pw
