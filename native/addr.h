// Addresses: RTM_NEWADDR / RTM_DELADDR / RTM_GETADDR.
#pragma once

#include <linux/netlink.h>

#include "value.h"

namespace pw {

// A decoded address: {index, family, address, prefixLen, peer?, broadcast?,
// scope, label?, flags, permanent, tentative?, dadFailed?, metric?,
// validLifetime?, preferredLifetime?}. Undefined for a message too short to
// be an address or of a family other than IPv4/IPv6. The message type is not
// checked, so events (RTM_DELADDR) decode the same way.
Value DecodeAddr(const nlmsghdr* h);

}  // namespace pw
