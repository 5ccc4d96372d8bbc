#include "ns_handle.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "errors.h"

namespace pw {

namespace {

constexpr unsigned kMaxHandleBytes = 128;  // MAX_HANDLE_SZ

std::vector<unsigned char> HandleBuffer() { return std::vector<unsigned char>(sizeof(file_handle) + kMaxHandleBytes); }

// Reopens a handle through any nsfs fd (our own namespace's is always
// there): the fd, or -1 with errno set.
int OpenHandle(file_handle* fh) {
  int mountFd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (mountFd < 0) return -1;
  int fd = open_by_handle_at(mountFd, fh, O_RDONLY | O_CLOEXEC);
  int err = errno;
  close(mountFd);
  errno = err;
  return fd;
}

// Whether the kernel reopens handles of namespaces that no task is in for
// this process. Measured on Linux 6.18 builds: for a caller privileged in
// the initial user namespace it reopens any live namespace (one held only
// by a bind mount or by a socket made inside it too); for a caller in
// another user namespace (rootless) it answers ESTALE for such a one, as
// if it were gone. So handles are given out only to a process with
// CAP_SYS_ADMIN in the initial user namespace; elsewhere none are, as on
// kernels without them, and the answers say they cannot confirm.
bool HandlesResolve() {
  static const bool resolve = [] {
    std::ifstream map("/proc/self/uid_map");
    unsigned long inside = 1, outside = 1, count = 0;
    if (!(map >> inside >> outside >> count) || inside != 0 || outside != 0 || count != 4294967295UL) return false;
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("CapEff:", 0) != 0) continue;
      unsigned long long caps = std::strtoull(line.c_str() + 7, nullptr, 16);
      return (caps & (1ULL << 21)) != 0;  // CAP_SYS_ADMIN
    }
    return false;
  }();
  return resolve;
}

}  // namespace

std::string NetnsFileHandle(int fd) {
  if (!HandlesResolve()) return "";
  auto buf = HandleBuffer();
  auto* fh = reinterpret_cast<file_handle*>(buf.data());
  fh->handle_bytes = kMaxHandleBytes;
  int mountId = 0;
  if (name_to_handle_at(fd, "", fh, &mountId, AT_EMPTY_PATH) != 0) return "";
  std::string out = std::to_string(fh->handle_type) + ":";
  char hex[3];
  for (unsigned i = 0; i < fh->handle_bytes; ++i) {
    std::snprintf(hex, sizeof(hex), "%02x", fh->f_handle[i]);
    out += hex;
  }
  return out;
}

Value NetnsAliveByHandle(const std::string& handle) {
  size_t colon = handle.find(':');
  std::string hex = colon == std::string::npos ? "" : handle.substr(colon + 1);
  if (colon == std::string::npos || hex.size() % 2 || hex.empty() || hex.size() / 2 > kMaxHandleBytes)
    FailAt(EINVAL, "open_by_handle_at", "handle", "not a namespace handle", "invalid-argument");
  auto buf = HandleBuffer();
  auto* fh = reinterpret_cast<file_handle*>(buf.data());
  fh->handle_type = std::atoi(handle.substr(0, colon).c_str());
  fh->handle_bytes = unsigned(hex.size() / 2);
  for (size_t i = 0; i < fh->handle_bytes; ++i) fh->f_handle[i] = (unsigned char)std::strtoul(hex.substr(i * 2, 2).c_str(), nullptr, 16);
  // A kernel that does not reopen handles for this process would say ESTALE
  // of a live namespace too: then it cannot tell.
  if (!HandlesResolve())
    FailAt(EPERM, "open_by_handle_at", "namespace handle", "namespace handles are not reopened for a process without CAP_SYS_ADMIN in the initial user namespace");
  int fd = OpenHandle(fh);
  int err = errno;
  Value v = Value::MakeObject();
  if (fd >= 0) {
    // Opened for this question only: the reference goes again at once.
    close(fd);
    v.Set("alive", true);
    return v;
  }
  if (err == ESTALE || err == ENOENT) {
    v.Set("alive", false);
    return v;
  }
  FailAt(err, "open_by_handle_at", "namespace handle", "the kernel cannot tell whether the namespace still exists");
}

}  // namespace pw
