#include "arp.h"

#include <arpa/inet.h>
#include <linux/if_arp.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "args.h"
#include "errors.h"
#include "message.h"
#include "ns_thread.h"

namespace pw {

namespace {

// Closing a packet socket waits for an RCU grace period (packet_release
// calls synchronize_net): 10-12 ms measured here, which was 40% of a cold
// attach(). Nothing waits on that close, so a short-lived thread does it;
// but a process that exits meanwhile still waits for it, which is why
// attach() announces through the kernel (neigh.announce) and comes here only
// when that cannot be used.
void CloseInBackground(int fd) {
  try {
    std::thread([fd] { close(fd); }).detach();
  } catch (...) {
    close(fd);  // no thread to be had: close here, slowly
  }
}

}  // namespace

namespace {

// The ARP payload for Ethernet/IPv4 (RFC 826), without the Ethernet header:
// a SOCK_DGRAM packet socket adds it.
struct __attribute__((packed)) ArpPacket {
  uint16_t htype, ptype;
  uint8_t hlen, plen;
  uint16_t oper;
  uint8_t sha[6];
  uint8_t spa[4];
  uint8_t tha[6];
  uint8_t tpa[4];
};

}  // namespace

Value SendGratuitousArp(int nsfd, int ifindex, const std::string& ip, const std::string& mac, int count) {
  ArpPacket pkt{};
  pkt.htype = htons(ARPHRD_ETHER);
  pkt.ptype = htons(ETH_P_IP);
  pkt.hlen = 6;
  pkt.plen = 4;
  // An unsolicited reply ("arping -A"): sender and target are both us, and
  // every neighbour that has us cached updates its entry. The target MAC is
  // ours too (RFC 2002, 4.6): Linux counts a reply as gratuitous only then,
  // and otherwise ignores it for an entry updated within its locktime (1 s).
  pkt.oper = htons(ARPOP_REPLY);
  try {
    ParseMac(mac, "mac", pkt.sha);
  } catch (const EncodeError& e) {
    ThrowErrno(EINVAL, "arp", e.what());
  }
  if (inet_pton(AF_INET, ip.c_str(), pkt.spa) != 1) ThrowErrno(EINVAL, "arp", "'" + ip + "' is not an IPv4 address");
  std::memcpy(pkt.tha, pkt.sha, 6);
  std::memcpy(pkt.tpa, pkt.spa, 4);

  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_protocol = htons(ETH_P_ARP);
  to.sll_ifindex = ifindex;
  to.sll_halen = 6;
  std::memset(to.sll_addr, 0xff, 6);

  const std::string what = "sending a gratuitous ARP for " + ip;
  // A packet socket belongs to the namespace it was opened in: open it
  // there, send from here.
  int fd = -1;
  InNetns(nsfd, what, [&] {
    fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_ARP));
    if (fd < 0) ThrowErrno(errno, "socket(AF_PACKET)", what);
  });
  int err = 0;
  for (int i = 0; i < count && !err; ++i)
    if (sendto(fd, &pkt, sizeof(pkt), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)) < 0) err = errno;
  CloseInBackground(fd);
  if (err) ThrowErrno(err, "sendto", what);
  Value v = Value::MakeObject();
  v.Set("sent", count);
  return v;
}

}  // namespace pw
