// Gratuitous ARP from inside a namespace: what `arping -A -c1` does for
// pipework, sent from a packet socket opened in the namespace by a
// namespace thread (ns_thread.h), so no process and no reply wait
// (pipework's arping waits up to 1 s).
#pragma once

#include <string>

#include "value.h"

namespace pw {

// Sends `count` unsolicited ARP replies announcing ip at mac on ifindex of
// the namespace nsfd (-1: our own). Throws NlException.
Value SendGratuitousArp(int nsfd, int ifindex, const std::string& ip, const std::string& mac, int count);

}  // namespace pw
