// What decides whether frames bridged in a namespace meet an iptables
// FORWARD drop, read without starting a process: the br_netfilter sysctl,
// whether iptables-legacy has tables there, and the nf_tables base chains on
// the forward hook (where iptables-nft keeps `-P FORWARD DROP`). The policy
// of what to warn about is lib/ops/firewall.ts's; this only reports.
#pragma once

#include <linux/netlink.h>

#include "value.h"

namespace pw {

// Everything read from inside the namespace nsfd (-1: the process's own):
//   bridgeNfCallIptables  net.bridge.bridge-nf-call-iptables, or null when
//                         the file does not exist (no br_netfilter)
//   legacyTables          the names in /proc/thread-self/net/ip_tables_names,
//                         [] when absent; null if /proc has no view of this
//                         thread at all (a /proc of another PID namespace)
//   nftables              false when the kernel has no nf_tables (then
//                         forwardChains is empty)
//   forwardChains         DecodeForwardChain's objects, one per base chain
//                         on the forward hook, in the kernel's order
// Throws NlException (EPERM without CAP_NET_ADMIN there, ...).
Value ProbeBridgeFirewall(int nsfd);

// One NFT_MSG_NEWCHAIN message of a chain dump: {family, familyName, table,
// name, type, priority, policy} for a base chain on the forward hook,
// Undefined for anything else. Never reads outside the message.
Value DecodeForwardChain(const nlmsghdr* h);

}  // namespace pw
