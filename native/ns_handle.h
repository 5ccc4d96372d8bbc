// A namespace's identity without holding it: nsfs file handles (Linux 6.18).
// name_to_handle_at on a namespace fd gives a handle that names the
// namespace by its 64-bit id, which is never reused; open_by_handle_at then
// reopens it only while it is still alive (refcount above zero), and fails
// with ESTALE once it is gone. Unlike an fd, a handle keeps nothing alive,
// so "is it still there?" can be asked after its name is removed, whatever
// holds it - even a socket created inside it, which /proc cannot show.
#pragma once

#include <string>

#include "value.h"

namespace pw {

// "TYPE:HEX" for the namespace behind fd, or "" when the kernel cannot make
// one (nsfs without file handles: Linux < 6.18) or would not reopen it for
// this process (a caller without CAP_SYS_ADMIN in the initial user
// namespace, rootless, gets ESTALE for a live namespace no task is in).
std::string NetnsFileHandle(int fd);

// {alive: true|false} for a handle from NetnsFileHandle; throws
// NlException when the kernel cannot tell (no nsfs handles, not permitted).
Value NetnsAliveByHandle(const std::string& handle);

}  // namespace pw
