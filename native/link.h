// Links: RTM_NEWLINK / RTM_DELLINK / RTM_GETLINK.
#pragma once

#include <linux/netlink.h>

#include "value.h"

namespace pw {

// A decoded link: {index, name, kind, flags, up, mtu, address, master, ...}.
Value DecodeLink(const nlmsghdr* h);

}  // namespace pw
