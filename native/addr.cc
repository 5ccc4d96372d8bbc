#include "addr.h"

#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "args.h"
#include "ops.h"
#include "rtcommon.h"

namespace pw {

namespace {

// The kernel's "forever" in IFA_CACHEINFO lifetimes.
constexpr uint32_t kForever = 0xffffffffu;

// The address a request is about, and the ifaddrmsg naming it. Every
// modifying request needs the device, the address and its prefix length.
struct Target {
  ifaddrmsg ifa{};
  IpAddr addr;
};

Target ParseTarget(const Value& a) {
  Target t;
  t.addr = ParseIp(ReqString(a, "address"), "address");
  if (int af = OptFamily(a, "family")) CheckFamily(t.addr, af, "address");
  t.ifa.ifa_family = static_cast<uint8_t>(t.addr.family);
  t.ifa.ifa_prefixlen = static_cast<uint8_t>(ReqUint(a, "prefixLen", MaxPrefix(t.addr.family)));
  uint64_t index = ReqUint(a, "index", INT32_MAX);
  if (index == 0) throw EncodeError("index", "must be a device index (not 0)");
  t.ifa.ifa_index = static_cast<uint32_t>(index);
  return t;
}

// addr.add / addr.replace {index, address, prefixLen, peer?, broadcast?,
//   scope?, label?, metric?, nodad?, noprefixroute?, validLifetime?,
//   preferredLifetime?}
// Attribute order is iproute2's for `ip addr add ADDR/LEN [peer P]
// [broadcast B] [label L] [metric M] [nodad] [noprefixroute]
// [valid_lft V preferred_lft P] dev D`: IFA_LOCAL, then the options in that
// order, then IFA_ADDRESS (unless a peer already supplied it), then
// IFA_CACHEINFO.
void EncodeModify(const Value& a, Builder& b, uint16_t flags) {
  b.Start(RTM_NEWADDR, flags);
  Target t = ParseTarget(a);
  const int af = t.addr.family;
  auto peer = OptIp(a, "peer");
  if (peer) CheckFamily(*peer, af, "peer");
  auto brd = OptIp(a, "broadcast");
  if (brd && af != AF_INET) throw EncodeError("broadcast", "only IPv4 addresses have a broadcast address");
  if (brd) CheckFamily(*brd, af, "broadcast");

  if (auto scope = OptNamed(a, "scope", kAddrScopeNames, 255)) {
    t.ifa.ifa_scope = static_cast<uint8_t>(*scope);
  } else if (af == AF_INET && t.addr.bytes[0] == 127) {
    // iproute2 gives loopback-range addresses host scope unless told otherwise.
    t.ifa.ifa_scope = RT_SCOPE_HOST;
  }

  uint32_t ifaFlags = 0;
  if (OptBool(a, "nodad").value_or(false)) ifaFlags |= IFA_F_NODAD;
  if (OptBool(a, "noprefixroute").value_or(false)) ifaFlags |= IFA_F_NOPREFIXROUTE;
  // The header holds 8 flag bits; newer flags only fit IFA_FLAGS, and then
  // iproute2 sends all of them there and leaves the header's at 0.
  if (ifaFlags <= 0xff) t.ifa.ifa_flags = static_cast<uint8_t>(ifaFlags);

  auto valid = OptUint(a, "validLifetime", kForever);
  auto preferred = OptUint(a, "preferredLifetime", kForever);
  if (valid && *valid == 0) throw EncodeError("validLifetime", "must not be 0");
  if (valid.value_or(kForever) < preferred.value_or(kForever))
    throw EncodeError("preferredLifetime", "must not exceed validLifetime");

  b.PutHeader(t.ifa);
  b.Put(IFA_LOCAL, t.addr.bytes, t.addr.len(), "address");
  if (peer) b.Put(IFA_ADDRESS, peer->bytes, peer->len(), "peer");
  if (brd) b.Put(IFA_BROADCAST, brd->bytes, brd->len(), "broadcast");
  if (auto label = OptString(a, "label")) b.PutString(IFA_LABEL, *label, "label");
  if (auto metric = OptUint(a, "metric", UINT32_MAX)) b.PutU32(IFA_RT_PRIORITY, uint32_t(*metric), "metric");
  if (ifaFlags > 0xff) b.PutU32(IFA_FLAGS, ifaFlags, "noprefixroute");
  // IFA_ADDRESS is the prefix (or the peer); for a plain address it repeats
  // the local one, as iproute2 sends it for both families.
  if (!peer) b.Put(IFA_ADDRESS, t.addr.bytes, t.addr.len(), "address");
  if (valid || preferred) {
    ifa_cacheinfo ci{};
    ci.ifa_prefered = static_cast<uint32_t>(preferred.value_or(kForever));
    ci.ifa_valid = static_cast<uint32_t>(valid.value_or(kForever));
    b.Put(IFA_CACHEINFO, &ci, sizeof(ci), valid ? "validLifetime" : "preferredLifetime");
  }
}

void EncodeAdd(const Value& a, Builder& b) { EncodeModify(a, b, NLM_F_CREATE | NLM_F_EXCL); }
void EncodeReplace(const Value& a, Builder& b) { EncodeModify(a, b, NLM_F_CREATE | NLM_F_REPLACE); }

// addr.del {index, address, prefixLen, peer?}: scope left 0, as iproute2
// sends it; the kernel matches on the local address, prefix and peer.
void EncodeDel(const Value& a, Builder& b) {
  b.Start(RTM_DELADDR, 0);
  Target t = ParseTarget(a);
  auto peer = OptIp(a, "peer");
  if (peer) CheckFamily(*peer, t.addr.family, "peer");
  b.PutHeader(t.ifa);
  b.Put(IFA_LOCAL, t.addr.bytes, t.addr.len(), "address");
  if (peer) b.Put(IFA_ADDRESS, peer->bytes, peer->len(), "peer");
  else b.Put(IFA_ADDRESS, t.addr.bytes, t.addr.len(), "address");
}

// addr.list {family?, index?}: with strict checking the kernel filters the
// dump by ifa_family and ifa_index itself; the rest of the header must be 0.
void EncodeList(const Value& a, Builder& b) {
  b.Start(RTM_GETADDR, 0);
  ifaddrmsg ifa{};
  ifa.ifa_family = static_cast<uint8_t>(OptFamily(a, "family"));
  ifa.ifa_index = static_cast<uint32_t>(OptUint(a, "index", INT32_MAX).value_or(0));
  b.PutHeader(ifa);
}

// Also filters here: a kernel without strict checking ignores the header's
// filter fields, and the result must not depend on that.
Value DecodeListed(const nlmsghdr* h, const Value& args) {
  if (h->nlmsg_type != RTM_NEWADDR) return Value();
  const ifaddrmsg* ifa = FamilyHeader<ifaddrmsg>(h);
  if (!ifa) return Value();
  if (int af = OptFamily(args, "family"); af && ifa->ifa_family != af) return Value();
  if (auto idx = OptUint(args, "index", INT32_MAX); idx && *idx && ifa->ifa_index != *idx) return Value();
  return DecodeAddr(h);
}

}  // namespace

Value DecodeAddr(const nlmsghdr* h) {
  const ifaddrmsg* ifa = FamilyHeader<ifaddrmsg>(h);
  if (!ifa) return Value();
  const int af = ifa->ifa_family;
  Value family = FamilyValue(af);
  if (family.IsUndefined()) return Value();
  AttrTable t = MessageAttrs<ifaddrmsg>(h, IFA_MAX);
  auto local = AttrIp(t, IFA_LOCAL, af);
  auto address = AttrIp(t, IFA_ADDRESS, af);
  if (!local && !address) return Value();

  Value o = Value::MakeObject();
  o.Set("index", ifa->ifa_index);
  o.Set("family", family);
  // IFA_LOCAL is the interface's own address when present (always for IPv4);
  // IFA_ADDRESS is then the prefix address or, on a point-to-point link, the peer.
  o.Set("address", local ? *local : *address);
  o.Set("prefixLen", ifa->ifa_prefixlen);
  if (local && address && *local != *address) o.Set("peer", *address);
  if (auto brd = AttrIp(t, IFA_BROADCAST, af)) o.Set("broadcast", *brd);
  o.Set("scope", NameOf(ifa->ifa_scope, kAddrScopeNames));
  if (auto label = t.Str(IFA_LABEL)) o.Set("label", *label);
  const uint32_t flags = t.U32(IFA_FLAGS).value_or(ifa->ifa_flags);
  o.Set("flags", flags);
  o.Set("permanent", (flags & IFA_F_PERMANENT) != 0);
  // Duplicate address detection only exists for IPv6.
  if (af == AF_INET6) {
    o.Set("tentative", (flags & IFA_F_TENTATIVE) != 0);
    o.Set("dadFailed", (flags & IFA_F_DADFAILED) != 0);
  }
  if (auto metric = t.U32(IFA_RT_PRIORITY)) o.Set("metric", *metric);
  if (const Attr* a = t.Get(IFA_CACHEINFO); a && a->len >= sizeof(ifa_cacheinfo)) {
    ifa_cacheinfo ci;
    std::memcpy(&ci, a->data, sizeof(ci));
    // Absent means forever.
    if (ci.ifa_valid != kForever) o.Set("validLifetime", ci.ifa_valid);
    if (ci.ifa_prefered != kForever) o.Set("preferredLifetime", ci.ifa_prefered);
  }
  return o;
}

void AddAddrOps(std::vector<OpSpec>& ops) {
  ops.push_back({"addr.add", EncodeAdd, false, nullptr});
  ops.push_back({"addr.replace", EncodeReplace, false, nullptr});
  ops.push_back({"addr.del", EncodeDel, false, nullptr});
  ops.push_back({"addr.list", EncodeList, true, DecodeListed});
}

}  // namespace pw
