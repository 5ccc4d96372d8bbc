#include "link.h"

#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "args.h"
#include "link_kinds.h"
#include "ops.h"
#include "rtcommon.h"

namespace pw {

namespace {

const char* const kOperStates[] = {"unknown", "notpresent", "down", "lowerlayerdown", "testing", "dormant", "up"};
const char* const kPortStates[] = {"disabled", "listening", "learning", "forwarding", "blocking"};

ifinfomsg TargetHeader(const Value& args) {
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  if (auto idx = OptUint(args, "index", INT32_MAX)) ifi.ifi_index = int(*idx);
  if (auto up = OptBool(args, "up")) {
    ifi.ifi_flags = *up ? IFF_UP : 0;
    ifi.ifi_change = IFF_UP;
  }
  return ifi;
}

// link.add {kind, name?, mtu?, address?, up?, master?, group?, alias?,
//           txQueues?, rxQueues?, netnsFd|netnsPid?, parent?, peer?, ...kind fields}
void EncodeAdd(const Value& a, Builder& b) {
  std::string kind = ReqString(a, "kind");
  const LinkKind* k = FindLinkKind(kind);
  if (!k) {
    std::string known;
    for (const char* n : kLinkKindNames) known += std::string(known.empty() ? "" : ", ") + n;
    throw EncodeError("kind", "'" + kind + "' is not a supported link kind (" + known + ")");
  }
  // ECHO: the kernel answers with the new link, so its index is known without
  // a second lookup by name (which a concurrent rename could defeat). Not for
  // a link born in another namespace: the kernel cannot deliver the echo
  // across namespaces and reports ENOTCONN although the link was created.
  bool elsewhere = a.Has("netnsFd") || a.Has("netnsPid");
  b.Start(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | (elsewhere ? 0 : NLM_F_ECHO));
  b.PutHeader(TargetHeader(a));
  EncodeCommonLinkAttrs(a, b);
  EncodeQueueAttrs(a, b);
  // Same order as iproute2: attributes, then the lower device, then the name.
  if (auto parent = OptUint(a, "parent", INT32_MAX)) b.PutU32(IFLA_LINK, uint32_t(*parent), "parent");
  if (auto name = OptString(a, "name")) b.PutString(IFLA_IFNAME, *name, "name");
  size_t info = b.NestStart(IFLA_LINKINFO, "kind");
  // Without the NUL, as iproute2 sends it (the kernel accepts both).
  b.Put(IFLA_INFO_KIND, kind.data(), kind.size(), "kind");
  k->encode(a, b);
  b.NestEnd(info);
}

// link.set {index, name? (rename), up?, mtu?, address?, master? (0 = none),
//           group?, alias?, netnsFd|netnsPid?, bridge? {stp?, ...}}
// `bridge` changes a bridge's own settings in place, as `ip link set BR type
// bridge stp_state 1` does: IFLA_LINKINFO with the kind and only the given
// IFLA_BR_* attributes (the kernel leaves the others as they are).
void EncodeSet(const Value& a, Builder& b) {
  b.Start(RTM_NEWLINK, 0);
  ifinfomsg ifi = TargetHeader(a);
  if (!ifi.ifi_index) throw EncodeError("index", "is required");
  b.PutHeader(ifi);
  EncodeCommonLinkAttrs(a, b);
  if (auto name = OptString(a, "name")) b.PutString(IFLA_IFNAME, *name, "name");
  // IFLA_AF_SPEC is applied after the flags of the same request: a link
  // brought up by it would make its link-local address first. So "up" and
  // this go in two requests, this one first (lib/ops/attach/plan.ts).
  if (auto mode = OptNamed(a, "ipv6AddrGenMode", kAddrGenModeNames, UINT8_MAX)) {
    size_t spec = b.NestStart(IFLA_AF_SPEC, "ipv6AddrGenMode");
    size_t inet6 = b.NestStart(AF_INET6, "ipv6AddrGenMode");
    b.PutU8(IFLA_INET6_ADDR_GEN_MODE, uint8_t(*mode), "ipv6AddrGenMode");
    b.NestEnd(inet6);
    b.NestEnd(spec);
  }
  const Value& bridge = a.Get("bridge");
  if (bridge.IsNullish()) return;
  if (!bridge.IsObject()) throw EncodeError("bridge", "must be an object");
  static const char kBridge[] = "bridge";
  size_t info = b.NestStart(IFLA_LINKINFO, "bridge");
  b.Put(IFLA_INFO_KIND, kBridge, sizeof(kBridge) - 1, "bridge");
  b.SetFieldPrefix("bridge.");
  try {
    FindLinkKind(kBridge)->encode(bridge, b);
  } catch (const EncodeError& e) {
    throw EncodeError("bridge." + e.field(), e.why());
  }
  b.SetFieldPrefix("");
  b.NestEnd(info);
}

// link.del and link.get {index} or {name}: one link, named either way (a
// targeted request, never a dump).
template <uint16_t kType>
void EncodeOneLink(const Value& a, Builder& b) {
  b.Start(kType, 0);
  ifinfomsg ifi = TargetHeader(a);
  b.PutHeader(ifi);
  auto name = OptString(a, "name");
  if (name) b.PutString(IFLA_IFNAME, *name, "name");
  if (!ifi.ifi_index && !name) throw EncodeError("index", "an index or a name is required");
}

// link.delGroup {group}: every link of the group in this namespace, in one
// request (the kernel batches the unregistration).
void EncodeDelGroup(const Value& a, Builder& b) {
  b.Start(RTM_DELLINK, 0);
  ifinfomsg ifi{};
  b.PutHeader(ifi);
  auto g = ReqUint(a, "group", UINT32_MAX);
  if (g == 0) throw EncodeError("group", "group 0 is the default group of every link; refusing to delete it");
  b.PutU32(IFLA_GROUP, uint32_t(g), "group");
}

// link.list {master?, kind?}: a dump, filtered by the kernel (strict checking).
void EncodeList(const Value& a, Builder& b) {
  b.Start(RTM_GETLINK, 0);
  ifinfomsg ifi{};
  b.PutHeader(ifi);
  if (auto m = OptUint(a, "master", INT32_MAX)) b.PutU32(IFLA_MASTER, uint32_t(*m), "master");
  if (auto kind = OptString(a, "kind")) {
    size_t info = b.NestStart(IFLA_LINKINFO, "kind");
    b.Put(IFLA_INFO_KIND, kind->data(), kind->size(), "kind");
    b.NestEnd(info);
  }
}

Value DecodeReply(const nlmsghdr* h, const Value&) {
  if (h->nlmsg_type != RTM_NEWLINK) return Value();
  return DecodeLink(h);
}

// The answer to link.add is the kernel's echo of the new link, which it
// sends as it announces the link: before it applies IFLA_MASTER, and without
// IFLA_IFALIAS, which creation ignores (only a change applies it). So the
// alias is set here, in the same hop, and both go into the answer as the
// kernel then has them: it applied the master or refused the whole request
// (the link unmade). A port's state is not in the echo: link.get has it.
// No read-back by GETLINK: since Linux 6.8 a GETLINK first runs the
// device's pending link-watch work, and for a veth made UP while its peer
// is still down that is a qdisc deactivation waiting out an RCU grace
// period (50-150 µs here), work the kernel skips altogether when the peer
// comes up before anyone asks.
Value CompleteNewLinkEcho(NlSocket& sock, const Value& args, const Value& echoed) {
  if (!echoed.IsObject()) return echoed;  // not echoed here: created in another namespace
  Value link = echoed;  // the same decoded object (Value shares it), completed below
  if (auto alias = OptString(args, "alias")) {
    Builder set;
    set.Start(RTM_NEWLINK, 0);
    ifinfomsg target{};
    target.ifi_index = static_cast<int>(echoed.Get("index").AsNumber());
    set.PutHeader(target);
    set.Put(IFLA_IFALIAS, alias->data(), alias->size(), "alias");
    try {
      sock.Request(set);
    } catch (...) {
      // The link exists and the call is failing: unmake it (a veth takes its
      // peer) before the error is reported. Its index is fresh (the kernel
      // does not hand an index out again at once), so nothing else is hit;
      // a link already gone is what the undo wanted.
      Builder del;
      del.Start(RTM_DELLINK, 0);
      del.PutHeader(target);
      try {
        sock.Request(del);
      } catch (...) {
      }
      throw;
    }
    link.Set("alias", *alias);
  }
  if (auto master = OptUint(args, "master", INT32_MAX)) link.Set("master", *master);
  return link;
}

void DecodeLinkInfo(const Attr& attr, Value& link) {
  AttrTable info(attr, IFLA_INFO_MAX);
  if (auto kind = info.Str(IFLA_INFO_KIND)) {
    link.Set("kind", *kind);
    const LinkKind* k = FindLinkKind(*kind);
    if (const Attr* data = info.Get(IFLA_INFO_DATA); k && data) k->decode(*data, link);
  }
  if (auto sk = info.Str(IFLA_INFO_SLAVE_KIND)) {
    Value port = Value::MakeObject();
    port.Set("kind", *sk);
    const Attr* sd = info.Get(IFLA_INFO_SLAVE_DATA);
    if (*sk == "bridge" && sd) {
      AttrTable bp(*sd, IFLA_BRPORT_MAX);
      if (auto s = bp.U8(IFLA_BRPORT_STATE); s && *s < 5) port.Set("state", kPortStates[*s]);
      if (auto v = bp.U8(IFLA_BRPORT_MODE)) port.Set("hairpin", *v != 0);
      if (auto v = bp.U8(IFLA_BRPORT_LEARNING)) port.Set("learning", *v != 0);
      // A u32 on the wire: reading 16 bits would give 0 on a big-endian host.
      if (auto v = bp.U32(IFLA_BRPORT_COST)) port.Set("cost", *v);
    }
    link.Set("port", port);
  }
}

}  // namespace

Value DecodeLink(const nlmsghdr* h) {
  const ifinfomsg* ifi = FamilyHeader<ifinfomsg>(h);
  if (!ifi) return Value();
  AttrTable t = MessageAttrs<ifinfomsg>(h, IFLA_MAX);
  Value link = Value::MakeObject();
  link.Set("index", ifi->ifi_index);
  link.Set("name", t.Str(IFLA_IFNAME).value_or(""));
  link.Set("kind", Value::Null());
  link.Set("flags", ifi->ifi_flags);
  link.Set("up", (ifi->ifi_flags & IFF_UP) != 0);
  link.Set("lowerUp", (ifi->ifi_flags & IFF_LOWER_UP) != 0);
  if (auto s = t.U8(IFLA_OPERSTATE)) link.Set("operstate", *s < 7 ? kOperStates[*s] : "unknown");
  if (auto v = t.U32(IFLA_MTU)) link.Set("mtu", *v);
  if (const Attr* a = t.Get(IFLA_ADDRESS)) link.Set("address", MacToString(a->data, a->len));
  if (const Attr* a = t.Get(IFLA_BROADCAST)) link.Set("broadcast", MacToString(a->data, a->len));
  link.Set("master", t.U32(IFLA_MASTER) ? Value(*t.U32(IFLA_MASTER)) : Value::Null());
  // For a veth this is the peer's index, for a macvlan/vlan its lower device;
  // linkNetnsId says the index is in another namespace. Decoded as sent:
  // a peer in another namespace often has the same index as this link
  // (fresh namespaces number alike), and only the pair (link, linkNetnsId)
  // says which device it is.
  if (auto v = t.U32(IFLA_LINK)) link.Set("link", *v);
  if (const Attr* a = t.Get(IFLA_LINK_NETNSID); a && a->len >= 4) {
    int32_t id;
    std::memcpy(&id, a->data, 4);
    link.Set("linkNetnsId", id);
  }
  if (auto v = t.U32(IFLA_GROUP)) link.Set("group", *v);
  if (auto v = t.U32(IFLA_TXQLEN)) link.Set("txqlen", *v);
  if (auto v = t.U32(IFLA_NUM_TX_QUEUES)) link.Set("txQueues", *v);
  if (auto v = t.U32(IFLA_NUM_RX_QUEUES)) link.Set("rxQueues", *v);
  if (auto v = t.Str(IFLA_IFALIAS)) link.Set("alias", *v);
  if (auto v = t.U8(IFLA_CARRIER)) link.Set("carrier", *v != 0);
  if (const Attr* a = t.Get(IFLA_LINKINFO)) DecodeLinkInfo(*a, link);
  if (const Attr* a = t.Get(IFLA_AF_SPEC)) {
    AttrTable af(*a, AF_MAX);
    if (const Attr* inet6 = af.Get(AF_INET6)) {
      AttrTable i6(*inet6, IFLA_INET6_MAX);
      if (auto v = i6.U8(IFLA_INET6_ADDR_GEN_MODE)) link.Set("ipv6AddrGenMode", NameOf(*v, kAddrGenModeNames));
    }
  }
  if (const Attr* a = t.Get(IFLA_STATS64); a && a->len >= sizeof(rtnl_link_stats64)) {
    rtnl_link_stats64 s;
    std::memcpy(&s, a->data, sizeof(s));
    Value st = Value::MakeObject();
    st.Set("rxPackets", uint64_t(s.rx_packets));
    st.Set("txPackets", uint64_t(s.tx_packets));
    st.Set("rxBytes", uint64_t(s.rx_bytes));
    st.Set("txBytes", uint64_t(s.tx_bytes));
    st.Set("rxErrors", uint64_t(s.rx_errors));
    st.Set("txErrors", uint64_t(s.tx_errors));
    st.Set("rxDropped", uint64_t(s.rx_dropped));
    st.Set("txDropped", uint64_t(s.tx_dropped));
    link.Set("stats", st);
  }
  return link;
}

void AddLinkOps(std::vector<OpSpec>& ops) {
  ops.push_back({"link.add", EncodeAdd, false, DecodeReply, CompleteNewLinkEcho});
  ops.push_back({"link.set", EncodeSet, false, nullptr});
  ops.push_back({"link.del", EncodeOneLink<RTM_DELLINK>, false, nullptr});
  ops.push_back({"link.delGroup", EncodeDelGroup, false, nullptr});
  ops.push_back({"link.get", EncodeOneLink<RTM_GETLINK>, false, DecodeReply});
  ops.push_back({"link.list", EncodeList, true, DecodeReply});
}

}  // namespace pw
