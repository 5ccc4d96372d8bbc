#include "peer_cred.h"

#include <sys/socket.h>

#include <cerrno>
#include <string>

#include "errors.h"

namespace pw {

Value PeerCredentialsOf(int fd) {
  struct ucred cred {};
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) FailAt(errno, "getsockopt", "fd " + std::to_string(fd), "cannot read the peer's credentials (SO_PEERCRED)");
  Value out = Value::MakeObject();
  out.Set("pid", static_cast<int>(cred.pid));
  out.Set("uid", static_cast<double>(cred.uid));
  out.Set("gid", static_cast<double>(cred.gid));
  return out;
}

}  // namespace pw
