#include "neigh.h"

#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cerrno>

#include "args.h"
#include "errors.h"
#include "ops.h"
#include "rtcommon.h"
#include "socket.h"

namespace pw {

namespace {

// family: 4, 6 or "bridge" (the FDB of a bridge or VXLAN device). 0 if absent.
int NeighFamily(const Value& a) {
  const Value& f = a.Get("family");
  if (f.IsString()) {
    if (f.AsString() == "bridge") return AF_BRIDGE;
    throw EncodeError("family", "must be 4, 6 or \"bridge\"");
  }
  return OptFamily(a, "family");
}

uint16_t StateBit(const Value& name) {
  if (!name.IsString()) throw EncodeError("state", "must be a state name, an array of them, or a number");
  if (name.AsString() == "none") return NUD_NONE;
  for (const auto& n : kNeighStateNames)
    if (name.AsString() == n.name) return static_cast<uint16_t>(n.value);
  throw EncodeError("state", "'" + name.AsString() + "' is not a neighbour state");
}

// state: "permanent", ["noarp", "permanent"] or the raw NUD bit mask.
std::optional<uint16_t> OptState(const Value& a) {
  const Value& v = a.Get("state");
  if (v.IsNullish()) return std::nullopt;
  if (v.IsNumber()) return static_cast<uint16_t>(*OptUint(a, "state", 0xffff));
  if (!v.IsArray()) return StateBit(v);
  uint16_t bits = 0;
  for (const Value& s : v.AsArray()) bits |= StateBit(s);
  return bits;
}

// flags: {self?, master?, router?, extern?, proxy?, use?, sticky?} -> NTF_* bits.
uint8_t FlagBits(const Value& a) {
  const Value& f = a.Get("flags");
  if (f.IsNullish()) return 0;
  if (!f.IsObject()) throw EncodeError("flags", "must be an object of booleans");
  uint8_t bits = 0;
  for (const auto& n : kNeighFlagNames)
    if (OptBool(f, n.name).value_or(false)) bits |= static_cast<uint8_t>(n.value);
  return bits;
}

// neigh.add / replace / append / del {family?, index, address?, lladdr?,
//   state?, flags?, vlan?, port?, vni?}
// Defaults and order are iproute2's. `ip neigh`: state permanent, NDA_DST
// then NDA_LLADDR. `bridge fdb`: state noarp+permanent, NTF_SELF unless self
// or master is given, NDA_LLADDR then NDA_DST, NDA_VLAN, NDA_PORT, NDA_VNI.
void EncodeNeigh(const Value& a, Builder& b, uint16_t msgType, uint16_t flags) {
  b.Start(msgType, flags);
  auto address = OptIp(a, "address");
  int af = NeighFamily(a);
  if (!af && address) af = address->family;
  if (!af) throw EncodeError("family", "is required when there is no address");
  const bool bridge = af == AF_BRIDGE;
  // An FDB entry's address is the remote (VTEP) it forwards to, of either family.
  if (address && !bridge) CheckFamily(*address, af, "address");
  if (!bridge && !address) throw EncodeError("address", "is required for an IPv4/IPv6 neighbour");

  ndmsg ndm{};
  ndm.ndm_family = static_cast<uint8_t>(af);
  uint64_t index = ReqUint(a, "index", INT32_MAX);
  if (index == 0) throw EncodeError("index", "must be a device index (not 0)");
  ndm.ndm_ifindex = static_cast<int32_t>(index);
  ndm.ndm_state = OptState(a).value_or(bridge ? NUD_NOARP | NUD_PERMANENT : NUD_PERMANENT);
  ndm.ndm_flags = FlagBits(a);
  if (bridge && !(ndm.ndm_flags & (NTF_SELF | NTF_MASTER))) ndm.ndm_flags |= NTF_SELF;
  b.PutHeader(ndm);

  uint8_t mac[6];
  auto lladdr = OptString(a, "lladdr");
  if (lladdr) ParseMac(*lladdr, "lladdr", mac);
  if (bridge && !lladdr) throw EncodeError("lladdr", "is required for a bridge FDB entry");
  if (bridge) {
    b.Put(NDA_LLADDR, mac, 6, "lladdr");
    if (address) b.Put(NDA_DST, address->bytes, address->len(), "address");
  } else {
    b.Put(NDA_DST, address->bytes, address->len(), "address");
    if (lladdr) b.Put(NDA_LLADDR, mac, 6, "lladdr");
  }
  auto vlan = OptUint(a, "vlan", 4094);
  auto port = OptUint(a, "port", 65535);
  auto vni = OptUint(a, "vni", (1u << 24) - 1);
  if (!bridge && (vlan || port || vni))
    throw EncodeError(vlan ? "vlan" : port ? "port" : "vni", "only applies to family \"bridge\"");
  if (vlan) b.PutU16(NDA_VLAN, uint16_t(*vlan), "vlan");
  if (port) b.PutBe16(NDA_PORT, uint16_t(*port), "port");
  if (vni) b.PutU32(NDA_VNI, uint32_t(*vni), "vni");
}

void EncodeAdd(const Value& a, Builder& b) { EncodeNeigh(a, b, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_EXCL); }
void EncodeReplace(const Value& a, Builder& b) { EncodeNeigh(a, b, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE); }
// APPEND adds another remote under the same MAC (the VXLAN flood list is
// the all-zeros MAC with one entry per remote VTEP).
void EncodeAppend(const Value& a, Builder& b) { EncodeNeigh(a, b, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_APPEND); }
void EncodeDel(const Value& a, Builder& b) { EncodeNeigh(a, b, RTM_DELNEIGH, 0); }

// neigh.announce {index, address}: the kernel's own ARP announcement of a
// local IPv4 address. Asking the kernel to resolve (NTF_USE) an entry keyed by
// the interface's own address makes it broadcast "who-has A tell A" from that
// interface at once: a gratuitous ARP request, which Linux neighbours apply
// even inside their locktime (a gratuitous reply must carry its own MAC as
// target to count). It needs no packet socket, whose close waits for an RCU
// grace period (~10 ms, and a process exit waits for it too). The entry is
// only the trigger: `after` removes it in the same hop, so the kernel sends
// that one announcement and leaves nothing in the table. EXCL: an entry
// someone made for the address is theirs, and the caller announces another way.
void EncodeAnnounce(const Value& a, Builder& b) {
  auto address = OptIp(a, "address");
  if (!address) throw EncodeError("address", "is required");
  if (address->family != AF_INET) throw EncodeError("address", "must be IPv4 (ARP announces IPv4 addresses only)");
  uint64_t index = ReqUint(a, "index", INT32_MAX);
  if (index == 0) throw EncodeError("index", "must be a device index (not 0)");
  b.Start(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_EXCL);
  ndmsg ndm{};
  ndm.ndm_family = AF_INET;
  ndm.ndm_ifindex = static_cast<int32_t>(index);
  ndm.ndm_state = NUD_NONE;  // no state of ours: NTF_USE starts resolution
  ndm.ndm_flags = NTF_USE;
  b.PutHeader(ndm);
  b.Put(NDA_DST, address->bytes, address->len(), "address");
}

Value RemoveAnnounceEntry(NlSocket& sock, const Value& args, const Value& result) {
  Builder b;
  Value del = Value::MakeObject();
  del.Set("family", 4);
  del.Set("index", args.Get("index"));
  del.Set("address", args.Get("address"));
  EncodeDel(del, b);
  try {
    sock.Request(b);
  } catch (const NlException& ex) {
    if (ex.err.errnum != ENOENT) throw;  // already gone is what we wanted
  }
  return result;
}

// neigh.list {family?, index?, master?}. A strict IPv4/IPv6 neighbour dump
// requires ndm_ifindex 0 and takes the device as NDA_IFINDEX; an FDB dump
// takes the port in ndm_ifindex (as `bridge fdb show dev` sends it). Both
// take the bridge as NDA_MASTER.
void EncodeList(const Value& a, Builder& b) {
  b.Start(RTM_GETNEIGH, 0);
  ndmsg ndm{};
  const int af = NeighFamily(a);
  ndm.ndm_family = static_cast<uint8_t>(af);
  auto index = OptUint(a, "index", INT32_MAX);
  auto master = OptUint(a, "master", INT32_MAX);
  if (af == AF_BRIDGE && index) ndm.ndm_ifindex = static_cast<int32_t>(*index);
  b.PutHeader(ndm);
  if (af != AF_BRIDGE && index) b.PutU32(NDA_IFINDEX, uint32_t(*index), "index");
  if (master) b.PutU32(NDA_MASTER, uint32_t(*master), "master");
}

// Filters by family and device here too, so the result does not depend on
// the kernel honouring the filter. The master is left to the kernel: FDB
// entries a port reports itself (NTF_SELF, e.g. a VXLAN's) carry no NDA_MASTER.
Value DecodeListed(const nlmsghdr* h, const Value& args) {
  if (h->nlmsg_type != RTM_NEWNEIGH) return Value();
  const ndmsg* ndm = FamilyHeader<ndmsg>(h);
  if (!ndm) return Value();
  if (int af = NeighFamily(args); af && ndm->ndm_family != af) return Value();
  if (auto idx = OptUint(args, "index", INT32_MAX); idx && *idx && uint64_t(ndm->ndm_ifindex) != *idx) return Value();
  return DecodeNeigh(h);
}

}  // namespace

Value DecodeNeigh(const nlmsghdr* h) {
  const ndmsg* ndm = FamilyHeader<ndmsg>(h);
  if (!ndm) return Value();
  const bool bridge = ndm->ndm_family == AF_BRIDGE;
  Value family = bridge ? Value("bridge") : FamilyValue(ndm->ndm_family);
  if (family.IsUndefined()) return Value();
  AttrTable t = MessageAttrs<ndmsg>(h, NDA_MAX);

  Value n = Value::MakeObject();
  n.Set("family", family);
  n.Set("index", ndm->ndm_ifindex);
  // An FDB entry's NDA_DST may be of either family: tell them apart by length.
  if (const Attr* dst = t.Get(NDA_DST)) {
    int af = bridge ? (dst->len == 4 ? AF_INET : AF_INET6) : ndm->ndm_family;
    if (dst->len == AddrLen(af)) n.Set("address", IpToString(af, dst->data));
  }
  if (const Attr* ll = t.Get(NDA_LLADDR)) n.Set("lladdr", MacToString(ll->data, ll->len));
  Value state = Value::MakeArray();
  for (const auto& s : kNeighStateNames)
    if (ndm->ndm_state & s.value) state.Push(s.name);
  n.Set("state", state);
  n.Set("flags", ndm->ndm_flags);
  if (auto master = t.U32(NDA_MASTER)) n.Set("master", *master);
  if (auto vlan = t.U16(NDA_VLAN)) n.Set("vlan", *vlan);
  if (auto vni = t.U32(NDA_VNI)) n.Set("vni", *vni);
  if (auto port = t.Be16(NDA_PORT)) n.Set("port", *port);
  return n;
}

void AddNeighOps(std::vector<OpSpec>& ops) {
  ops.push_back({"neigh.add", EncodeAdd, false, nullptr});
  ops.push_back({"neigh.replace", EncodeReplace, false, nullptr});
  ops.push_back({"neigh.append", EncodeAppend, false, nullptr});
  ops.push_back({"neigh.del", EncodeDel, false, nullptr});
  ops.push_back({"neigh.announce", EncodeAnnounce, false, nullptr, RemoveAnnounceEntry});
  ops.push_back({"neigh.list", EncodeList, true, DecodeListed});
}

}  // namespace pw
