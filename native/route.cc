#include "route.h"

#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "args.h"
#include "ops.h"
#include "rtcommon.h"

namespace pw {

namespace {

// The scope iproute2 picks when none is given, so `route.add` means what
// `ip route add` means: IPv6 routes are always universe; local routes are
// host; broadcast/multicast/anycast are link; a unicast route is link when
// it has no gateway (the destination is on the wire) and universe when it
// has one. A delete leaves unicast scope as a wildcard (nowhere).
uint8_t DefaultScope(int af, uint8_t type, bool del, bool gateway) {
  if (af == AF_INET6) return RT_SCOPE_UNIVERSE;
  if (type == RTN_LOCAL || type == RTN_NAT) return RT_SCOPE_HOST;
  if (type == RTN_BROADCAST || type == RTN_MULTICAST || type == RTN_ANYCAST) return RT_SCOPE_LINK;
  if (type == RTN_UNICAST || type == RTN_UNSPEC) {
    if (del) return RT_SCOPE_NOWHERE;
    if (!gateway) return RT_SCOPE_LINK;
  }
  return del ? RT_SCOPE_NOWHERE : RT_SCOPE_UNIVERSE;
}

// route.add / route.replace / route.del {family?, dst, dstLen?, gateway?,
//   dev?, src?, table?, metric?, scope?, proto?, type?, onlink?, mtu?}
// Attribute order is iproute2's for `ip route add [TYPE] DST/LEN [via GW]
// [table T] [metric M] [src S] dev D [mtu X]`: RTA_DST, RTA_GATEWAY (or
// RTA_VIA), RTA_TABLE, RTA_PRIORITY, RTA_PREFSRC, then RTA_OIF and
// RTA_METRICS, which iproute2 always appends after parsing.
void EncodeRoute(const Value& a, Builder& b, uint16_t msgType, uint16_t flags) {
  const bool del = msgType == RTM_DELROUTE;
  b.Start(msgType, flags);

  const std::string dstText = ReqString(a, "dst");
  std::optional<IpAddr> dst;
  if (dstText != "default") dst = ParseIp(dstText, "dst");
  auto src = OptIp(a, "src");
  auto gw = OptIp(a, "gateway");
  int af = OptFamily(a, "family");
  if (!af && dst) af = dst->family;
  if (!af && src) af = src->family;
  if (!af && gw) af = gw->family;
  if (!af) throw EncodeError("family", "is required when dst is 'default' and there is no gateway or src");
  if (dst) CheckFamily(*dst, af, "dst");
  if (src) CheckFamily(*src, af, "src");

  rtmsg rtm{};
  rtm.rtm_family = static_cast<uint8_t>(af);
  if (dst) {
    rtm.rtm_dst_len = static_cast<uint8_t>(OptUint(a, "dstLen", MaxPrefix(af)).value_or(MaxPrefix(af)));
  } else if (OptUint(a, "dstLen", MaxPrefix(af)).value_or(0) != 0) {
    throw EncodeError("dstLen", "must be 0 (or absent) for the default route");
  }

  auto type = OptNamed(a, "type", kRouteTypeNames, 255);
  // A delete leaves type and protocol 0: the kernel treats 0 as "any".
  rtm.rtm_type = static_cast<uint8_t>(type.value_or(del ? RTN_UNSPEC : RTN_UNICAST));
  auto proto = OptNamed(a, "proto", kRouteProtocolNames, 255);
  rtm.rtm_protocol = static_cast<uint8_t>(proto.value_or(del ? RTPROT_UNSPEC : RTPROT_BOOT));
  auto scope = OptNamed(a, "scope", kAddrScopeNames, 255);
  rtm.rtm_scope = scope ? static_cast<uint8_t>(*scope) : DefaultScope(af, rtm.rtm_type, del, gw.has_value());

  // Local, broadcast, anycast and NAT routes live in the local table.
  const bool localTable = rtm.rtm_type == RTN_LOCAL || rtm.rtm_type == RTN_BROADCAST ||
                          rtm.rtm_type == RTN_ANYCAST || rtm.rtm_type == RTN_NAT;
  const uint32_t table = static_cast<uint32_t>(
      OptUint(a, "table", UINT32_MAX).value_or(localTable ? RT_TABLE_LOCAL : RT_TABLE_MAIN));
  if (table == RT_TABLE_UNSPEC) throw EncodeError("table", "must not be 0");
  // rtm_table is 8 bits; larger ids travel in RTA_TABLE with rtm_table 0.
  rtm.rtm_table = static_cast<uint8_t>(table < 256 ? table : uint32_t(RT_TABLE_UNSPEC));
  if (OptBool(a, "onlink").value_or(false)) rtm.rtm_flags |= RTNH_F_ONLINK;
  b.PutHeader(rtm);

  if (dst) b.Put(RTA_DST, dst->bytes, dst->len(), "dst");
  if (gw && gw->family == af) {
    b.Put(RTA_GATEWAY, gw->bytes, gw->len(), "gateway");
  } else if (gw) {
    // A gateway of the other family (an IPv4 route via an IPv6 neighbour).
    uint8_t via[2 + 16];
    uint16_t viaFamily = static_cast<uint16_t>(gw->family);
    std::memcpy(via, &viaFamily, 2);
    std::memcpy(via + 2, gw->bytes, gw->len());
    b.Put(RTA_VIA, via, 2 + gw->len(), "gateway");
  }
  if (table >= 256) b.PutU32(RTA_TABLE, table, "table");
  if (auto metric = OptUint(a, "metric", UINT32_MAX)) b.PutU32(RTA_PRIORITY, uint32_t(*metric), "metric");
  if (src) b.Put(RTA_PREFSRC, src->bytes, src->len(), "src");
  if (auto dev = OptUint(a, "dev", INT32_MAX)) b.PutU32(RTA_OIF, uint32_t(*dev), "dev");
  if (auto mtu = OptUint(a, "mtu", UINT32_MAX)) {
    size_t metrics = b.NestStart(RTA_METRICS, "mtu");
    b.PutU32(RTAX_MTU, uint32_t(*mtu), "mtu");
    b.NestEnd(metrics);
  }
}

void EncodeAdd(const Value& a, Builder& b) { EncodeRoute(a, b, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL); }
void EncodeReplace(const Value& a, Builder& b) { EncodeRoute(a, b, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE); }
void EncodeDel(const Value& a, Builder& b) { EncodeRoute(a, b, RTM_DELROUTE, 0); }

// route.list {family?, table?}. The table is filtered here, not by the
// kernel: a strict dump naming a table that does not exist (yet) fails with
// ENOENT instead of returning nothing.
void EncodeList(const Value& a, Builder& b) {
  b.Start(RTM_GETROUTE, 0);
  rtmsg rtm{};
  rtm.rtm_family = static_cast<uint8_t>(OptFamily(a, "family"));
  OptUint(a, "table", UINT32_MAX);  // validated now, used by DecodeListed
  b.PutHeader(rtm);
}

// The table a route message belongs to: RTA_TABLE carries the full 32-bit id.
uint32_t TableOf(const rtmsg* rtm, const AttrTable& t) { return t.U32(RTA_TABLE).value_or(rtm->rtm_table); }

Value DecodeListed(const nlmsghdr* h, const Value& args) {
  if (h->nlmsg_type != RTM_NEWROUTE) return Value();
  const rtmsg* rtm = FamilyHeader<rtmsg>(h);
  // Cached clones (IPv4 exceptions, IPv6 PMTU entries) are not configured routes.
  if (!rtm || (rtm->rtm_flags & RTM_F_CLONED)) return Value();
  if (int af = OptFamily(args, "family"); af && rtm->rtm_family != af) return Value();
  if (auto table = OptUint(args, "table", UINT32_MAX)) {
    if (TableOf(rtm, MessageAttrs<rtmsg>(h, RTA_MAX)) != *table) return Value();
  }
  return DecodeRoute(h);
}

// A gateway from RTA_GATEWAY, or from RTA_VIA when it is of the other family.
std::optional<std::string> Gateway(const AttrTable& t, int af) {
  if (auto gw = AttrIp(t, RTA_GATEWAY, af)) return gw;
  const Attr* via = t.Get(RTA_VIA);
  if (!via || via->len < 2) return std::nullopt;
  uint16_t viaFamily;
  std::memcpy(&viaFamily, via->data, 2);
  if ((viaFamily != AF_INET && viaFamily != AF_INET6) || via->len != 2 + AddrLen(viaFamily)) return std::nullopt;
  return IpToString(viaFamily, via->data + 2);
}

// RTA_MULTIPATH: a run of rtnexthop records, each followed by its own attributes.
Value DecodeNexthops(const Attr& mp, int af) {
  Value list = Value::MakeArray();
  const uint8_t* p = mp.data;
  size_t left = mp.len;
  while (left >= sizeof(rtnexthop)) {
    rtnexthop nh;
    std::memcpy(&nh, p, sizeof(nh));
    if (nh.rtnh_len < sizeof(rtnexthop) || nh.rtnh_len > left) break;
    AttrTable t(p + RTNH_ALIGN(sizeof(rtnexthop)), nh.rtnh_len - RTNH_ALIGN(sizeof(rtnexthop)), RTA_MAX);
    Value hop = Value::MakeObject();
    if (auto gw = Gateway(t, af)) hop.Set("gateway", *gw);
    hop.Set("dev", nh.rtnh_ifindex);
    hop.Set("weight", nh.rtnh_hops + 1);  // the kernel stores weight - 1
    hop.Set("flags", nh.rtnh_flags);
    hop.Set("onlink", (nh.rtnh_flags & RTNH_F_ONLINK) != 0);
    list.Push(hop);
    size_t step = RTNH_ALIGN(nh.rtnh_len);
    if (step >= left) break;
    p += step;
    left -= step;
  }
  return list;
}

}  // namespace

Value DecodeRoute(const nlmsghdr* h) {
  const rtmsg* rtm = FamilyHeader<rtmsg>(h);
  if (!rtm) return Value();
  const int af = rtm->rtm_family;
  Value family = FamilyValue(af);
  if (family.IsUndefined()) return Value();
  AttrTable t = MessageAttrs<rtmsg>(h, RTA_MAX);

  Value r = Value::MakeObject();
  r.Set("family", family);
  auto dst = AttrIp(t, RTA_DST, af);
  r.Set("dst", rtm->rtm_dst_len == 0 || !dst ? std::string("default") : *dst);
  r.Set("dstLen", rtm->rtm_dst_len);
  if (auto gw = Gateway(t, af)) r.Set("gateway", *gw);
  if (auto dev = t.U32(RTA_OIF)) r.Set("dev", *dev);
  if (auto src = AttrIp(t, RTA_PREFSRC, af)) r.Set("src", *src);
  r.Set("table", TableOf(rtm, t));
  if (auto metric = t.U32(RTA_PRIORITY)) r.Set("metric", *metric);
  r.Set("scope", NameOf(rtm->rtm_scope, kAddrScopeNames));
  r.Set("proto", NameOf(rtm->rtm_protocol, kRouteProtocolNames));
  r.Set("type", NameOf(rtm->rtm_type, kRouteTypeNames));
  r.Set("flags", rtm->rtm_flags);
  r.Set("onlink", (rtm->rtm_flags & RTNH_F_ONLINK) != 0);
  if (const Attr* m = t.Get(RTA_METRICS)) {
    AttrTable metrics(*m, RTAX_MAX);
    if (auto mtu = metrics.U32(RTAX_MTU)) r.Set("mtu", *mtu);
  }
  if (const Attr* mp = t.Get(RTA_MULTIPATH)) r.Set("nexthops", DecodeNexthops(*mp, af));
  return r;
}

void AddRouteOps(std::vector<OpSpec>& ops) {
  ops.push_back({"route.add", EncodeAdd, false, nullptr});
  ops.push_back({"route.replace", EncodeReplace, false, nullptr});
  ops.push_back({"route.del", EncodeDel, false, nullptr});
  ops.push_back({"route.list", EncodeList, true, DecodeListed});
}

}  // namespace pw
