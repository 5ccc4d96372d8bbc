// Who is connected at the other end of a unix socket: the credentials the
// kernel recorded when the peer connected (SO_PEERCRED), which the peer
// cannot forge. The engine (lib/ops/engine) refuses requests from anyone
// but root unless told otherwise.
#pragma once

#include "value.h"

namespace pw {

// {pid, uid, gid} of the peer of the connected unix socket fd.
Value PeerCredentialsOf(int fd);

}  // namespace pw
