// Routes: RTM_NEWROUTE / RTM_DELROUTE / RTM_GETROUTE.
#pragma once

#include <linux/netlink.h>

#include "value.h"

namespace pw {

// A decoded route: {family, dst ("default" or an address), dstLen, gateway?,
// dev?, src?, table, metric?, scope, proto, type, flags, onlink, mtu?,
// nexthops?}. Undefined for a message too short to be a route or of a family
// other than IPv4/IPv6 (multicast routing tables share the message type).
// The message type is not checked, so events (RTM_DELROUTE) decode the same way.
Value DecodeRoute(const nlmsghdr* h);

}  // namespace pw
