#include "ns_handle.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "errors.h"

namespace pw {

namespace {

constexpr unsigned kMaxHandleBytes = 128;  // MAX_HANDLE_SZ

std::vector<unsigned char> HandleBuffer() { return std::vector<unsigned char>(sizeof(file_handle) + kMaxHandleBytes); }

}  // namespace

std::string NetnsFileHandle(int fd) {
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
  // Any fd on nsfs names the filesystem the handle belongs to; our own
  // namespace's is always there.
  int mountFd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (mountFd < 0) FailAt(errno, "open", "/proc/thread-self/ns/net", "cannot open an nsfs file");
  int fd = open_by_handle_at(mountFd, fh, O_RDONLY | O_CLOEXEC);
  int err = errno;
  close(mountFd);
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
