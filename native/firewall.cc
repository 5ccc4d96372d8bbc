#include "firewall.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "errors.h"
#include "message.h"
#include "ns_thread.h"
#include "socket.h"

namespace pw {

namespace {

// Both resolve against the network namespace of the thread that opens them:
// a /proc/sys/net file is looked up in the opener's namespace, and
// /proc/thread-self/net is the opening thread's view (/proc/self/net would be
// the main thread's, which never leaves the process's namespace).
constexpr const char* kNfCallIptables = "/proc/sys/net/bridge/bridge-nf-call-iptables";
constexpr const char* kLegacyTables = "/proc/thread-self/net/ip_tables_names";
constexpr const char* kThreadNet = "/proc/thread-self/net";

constexpr uint16_t kGetChain = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETCHAIN;
constexpr uint16_t kNewChain = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWCHAIN;

// Reads a small /proc file whole. Returns 0 or the errno of open/read.
int ReadProcFile(const char* path, std::string& out) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  char buf[4096];
  int err = 0;
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) err = errno;
    if (n <= 0) break;
    out.append(buf, size_t(n));
  }
  close(fd);
  return err;
}

// Owns an fd until it is handed on.
struct FdGuard {
  int fd = -1;
  ~FdGuard() {
    if (fd >= 0) close(fd);
  }
  int Release() {
    int f = fd;
    fd = -1;
    return f;
  }
};

// What is gathered inside the namespace, as plain data: the namespace
// thread only opens and reads; errors are judged afterwards, here.
struct Inside {
  int nfCallErr = 0;
  std::string nfCall;
  int legacyErr = 0;
  std::string legacy;
  bool procSeesThread = true;
  FdGuard sock;
  int sockErr = 0;
};

void LookInside(Inside& in) {
  in.nfCallErr = ReadProcFile(kNfCallIptables, in.nfCall);
  in.legacyErr = ReadProcFile(kLegacyTables, in.legacy);
  // Without the ip_tables module the file is missing; but so is everything
  // under /proc/thread-self when /proc belongs to another PID namespace, and
  // then "no legacy tables" would be a guess.
  if (in.legacyErr == ENOENT) in.procSeesThread = access(kThreadNet, F_OK) == 0;
  // A netfilter netlink socket talks to the namespace it was created in,
  // as an rtnetlink one does.
  in.sock.fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (in.sock.fd < 0) in.sockErr = errno;
}

Value NfCallValue(const Inside& in) {
  if (in.nfCallErr == ENOENT) return Value::Null();  // no br_netfilter: bridged frames never see iptables
  if (in.nfCallErr) FailAt(in.nfCallErr, "read", kNfCallIptables, "cannot read the bridge netfilter sysctl");
  char* end = nullptr;
  long v = std::strtol(in.nfCall.c_str(), &end, 10);
  if (end == in.nfCall.c_str()) FailAt(EPROTO, "read", kNfCallIptables, "not a number: '" + in.nfCall + "'");
  return Value(int(v));
}

Value LegacyTablesValue(const Inside& in) {
  Value list = Value::MakeArray();
  if (in.legacyErr == ENOENT) return in.procSeesThread ? list : Value::Null();
  if (in.legacyErr) FailAt(in.legacyErr, "read", kLegacyTables, "cannot list the iptables-legacy tables");
  size_t start = 0;
  while (start < in.legacy.size()) {
    size_t nl = in.legacy.find('\n', start);
    if (nl == std::string::npos) nl = in.legacy.size();
    if (nl > start) list.Push(in.legacy.substr(start, nl - start));
    start = nl + 1;
  }
  return list;
}

const char* FamilyName(uint8_t family) {
  switch (family) {
    case NFPROTO_INET: return "inet";
    case NFPROTO_IPV4: return "ip";
    case NFPROTO_ARP: return "arp";
    case NFPROTO_NETDEV: return "netdev";
    case NFPROTO_BRIDGE: return "bridge";
    case NFPROTO_IPV6: return "ip6";
    default: return "unknown";
  }
}

// Every chain of every family (NFPROTO_UNSPEC), on the socket's namespace.
// Runs on the calling executor thread: only the socket had to be made inside.
Value DumpForwardChains(int fd, bool* available) {
  NlSocket sock(NlSocket::Configured{ConfigureRouteSocket(fd, true)});
  Builder b;
  b.Start(kGetChain, 0);
  nfgenmsg g{};
  g.nfgen_family = NFPROTO_UNSPEC;
  g.version = NFNETLINK_V0;
  b.PutHeader(g);
  std::vector<std::string> msgs;
  try {
    msgs = sock.Dump(b);
  } catch (const NlException& ex) {
    NlError e = ex.err;
    // nfnetlink answers EINVAL for a subsystem it does not have (after
    // trying to load it): nfnetlink is there, nf_tables is not. The request
    // itself has nothing else EINVAL could be about.
    if (e.errnum == EINVAL) {
      *available = false;
      return Value::MakeArray();
    }
    e.object = "nf_tables";
    if (e.detail.empty()) e.detail = "cannot list the nf_tables chains";
    throw NlException{e};
  }
  Value list = Value::MakeArray();
  for (const auto& m : msgs) {
    Value v = DecodeForwardChain(reinterpret_cast<const nlmsghdr*>(m.data()));
    if (!v.IsUndefined()) list.Push(std::move(v));
  }
  return list;
}

}  // namespace

Value DecodeForwardChain(const nlmsghdr* h) {
  if (h->nlmsg_type != kNewChain) return Value();
  const nfgenmsg* g = FamilyHeader<nfgenmsg>(h);
  if (!g) return Value();
  AttrTable t = MessageAttrs<nfgenmsg>(h, NFTA_CHAIN_MAX);
  const Attr* hook = t.Get(NFTA_CHAIN_HOOK);
  if (!hook) return Value();  // a regular chain: only jumps reach it
  AttrTable ht(*hook, NFTA_HOOK_MAX);
  // nf_tables puts its integers in network byte order. Hook 2 is forward in
  // every family that has a forward hook (NF_INET_FORWARD, NF_BR_FORWARD,
  // NF_ARP_FORWARD); netdev's hooks stop at 1.
  auto hooknum = ht.U32(NFTA_HOOK_HOOKNUM);
  if (!hooknum || ntohl(*hooknum) != NF_INET_FORWARD) return Value();
  Value v = Value::MakeObject();
  v.Set("family", int(g->nfgen_family));
  v.Set("familyName", FamilyName(g->nfgen_family));
  v.Set("table", t.Str(NFTA_CHAIN_TABLE).value_or(""));
  v.Set("name", t.Str(NFTA_CHAIN_NAME).value_or(""));
  v.Set("type", t.Str(NFTA_CHAIN_TYPE).value_or(""));
  auto prio = ht.U32(NFTA_HOOK_PRIORITY);
  v.Set("priority", prio ? int(int32_t(ntohl(*prio))) : 0);
  // A base chain's policy can only be NF_ACCEPT or NF_DROP (the kernel
  // refuses anything else); it is NF_ACCEPT unless one was set.
  auto policy = t.U32(NFTA_CHAIN_POLICY);
  v.Set("policy", policy && ntohl(*policy) == NF_DROP ? "drop" : "accept");
  return v;
}

Value ProbeBridgeFirewall(int nsfd) {
  Inside in;
  InNetns(nsfd, "reading the namespace's firewall state", [&] { LookInside(in); });

  Value out = Value::MakeObject();
  out.Set("bridgeNfCallIptables", NfCallValue(in));
  out.Set("legacyTables", LegacyTablesValue(in));
  bool available = true;
  Value chains = Value::MakeArray();
  if (in.sock.fd >= 0) {
    chains = DumpForwardChains(in.sock.Release(), &available);
  } else if (in.sockErr == EPROTONOSUPPORT) {
    available = false;  // no nfnetlink at all
  } else {
    FailAt(in.sockErr, "socket", "NETLINK_NETFILTER", "cannot open a netfilter netlink socket");
  }
  out.Set("nftables", available);
  out.Set("forwardChains", chains);
  return out;
}

}  // namespace pw
