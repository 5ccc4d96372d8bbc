// Neighbours (ARP/NDP entries) and bridge/VXLAN forwarding database entries:
// RTM_NEWNEIGH / RTM_DELNEIGH / RTM_GETNEIGH.
#pragma once

#include <linux/netlink.h>

#include "value.h"

namespace pw {

// A decoded neighbour or FDB entry: {family (4|6|"bridge"), index, address?,
// lladdr?, state (array of NUD names), flags, master?, vlan?, vni?, port?}.
// Undefined for a message too short to be one or of another family. The
// message type is not checked, so events (RTM_DELNEIGH) decode the same way.
Value DecodeNeigh(const nlmsghdr* h);

}  // namespace pw
