// Policy routing rules: RTM_NEWRULE / RTM_DELRULE / RTM_GETRULE, whose
// family header is struct fib_rule_hdr.
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include "args.h"
#include "ops.h"
#include "rtcommon.h"

namespace pw {

namespace {

// FR_ACT_BLACKHOLE..PROHIBIT share their numbers with RTN_BLACKHOLE..PROHIBIT,
// which is how iproute2 parses them; the names are the same too.
std::optional<std::string> OptIfName(const Value& a, const char* key) {
  auto name = OptString(a, key);
  if (name && (name->empty() || name->size() >= IFNAMSIZ))
    throw EncodeError(key, "must be a device name of 1 to 15 bytes");
  return name;
}

// A selector prefix (from/to): the address and its length, which defaults to
// a host prefix as in iproute2.
struct Selector {
  std::optional<IpAddr> addr;
  uint8_t len = 0;
};

Selector ParseSelector(const Value& a, const char* key, const char* lenKey) {
  Selector s;
  s.addr = OptIp(a, key);
  auto len = OptUint(a, lenKey, 128);
  if (!s.addr) {
    if (len) throw EncodeError(lenKey, std::string("needs ") + key);
    return s;
  }
  if (len && *len > MaxPrefix(s.addr->family))
    throw EncodeError(lenKey, "must be at most " + std::to_string(MaxPrefix(s.addr->family)));
  s.len = static_cast<uint8_t>(len.value_or(MaxPrefix(s.addr->family)));
  return s;
}

// rule.add / rule.del {family?, priority?, from?, fromLen?, to?, toLen?,
//   table?, iif?, oif?, fwmark?, fwmask?, action?}
// Attribute order is iproute2's for `ip rule add [from P] [to P] [iif I]
// [oif O] [fwmark M[/K]] [lookup T | ACTION] [priority N]`: iproute2 writes
// attributes as it parses, so this is that command's word order.
void EncodeRule(const Value& a, Builder& b, uint16_t msgType, uint16_t flags) {
  const bool add = msgType == RTM_NEWRULE;
  b.Start(msgType, flags);
  Selector from = ParseSelector(a, "from", "fromLen");
  Selector to = ParseSelector(a, "to", "toLen");
  int af = OptFamily(a, "family");
  if (!af && from.addr) af = from.addr->family;
  if (!af && to.addr) af = to.addr->family;
  if (!af) throw EncodeError("family", "is required when neither from nor to is given");
  if (from.addr) CheckFamily(*from.addr, af, "from");
  if (to.addr) CheckFamily(*to.addr, af, "to");

  fib_rule_hdr frh{};
  frh.family = static_cast<uint8_t>(af);
  frh.src_len = from.len;
  frh.dst_len = to.len;
  // An add defaults to looking up a table; a delete leaves the action 0 so
  // the kernel matches rules of any action.
  auto action = OptNamed(a, "action", kRuleActionNames, 255);
  if (action && *action == FR_ACT_GOTO) throw EncodeError("action", "goto is not supported");
  frh.action = static_cast<uint8_t>(action.value_or(add ? FR_ACT_TO_TBL : FR_ACT_UNSPEC));
  auto table = OptUint(a, "table", UINT32_MAX);
  if (table && *table == RT_TABLE_UNSPEC) throw EncodeError("table", "must not be 0");
  if (add && frh.action == FR_ACT_TO_TBL && !table) throw EncodeError("table", "is required for action lookup");
  // fib_rule_hdr.table is 8 bits; larger ids go in FRA_TABLE with it left 0.
  if (table && *table < 256) frh.table = static_cast<uint8_t>(*table);
  b.PutHeader(frh);

  if (from.addr) b.Put(FRA_SRC, from.addr->bytes, from.addr->len(), "from");
  if (to.addr) b.Put(FRA_DST, to.addr->bytes, to.addr->len(), "to");
  if (auto iif = OptIfName(a, "iif")) b.PutString(FRA_IIFNAME, *iif, "iif");
  if (auto oif = OptIfName(a, "oif")) b.PutString(FRA_OIFNAME, *oif, "oif");
  auto fwmark = OptUint(a, "fwmark", UINT32_MAX);
  auto fwmask = OptUint(a, "fwmask", UINT32_MAX);
  if (fwmask && !fwmark) throw EncodeError("fwmask", "needs fwmark");
  if (fwmark) b.PutU32(FRA_FWMARK, uint32_t(*fwmark), "fwmark");
  if (fwmask) b.PutU32(FRA_FWMASK, uint32_t(*fwmask), "fwmask");
  if (table && *table >= 256) b.PutU32(FRA_TABLE, uint32_t(*table), "table");
  if (auto prio = OptUint(a, "priority", UINT32_MAX)) b.PutU32(FRA_PRIORITY, uint32_t(*prio), "priority");
}

void EncodeAdd(const Value& a, Builder& b) { EncodeRule(a, b, RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL); }
void EncodeDel(const Value& a, Builder& b) { EncodeRule(a, b, RTM_DELRULE, 0); }

// rule.list {family?}: a strict rule dump accepts only the family in the
// header and no attributes.
void EncodeList(const Value& a, Builder& b) {
  b.Start(RTM_GETRULE, 0);
  fib_rule_hdr frh{};
  frh.family = static_cast<uint8_t>(OptFamily(a, "family"));
  b.PutHeader(frh);
}

// {family, priority, from?, fromLen, to?, toLen, table, iif?, oif?, fwmark?,
//  fwmask?, action, proto?}. Rules of other families (multicast routing) are skipped.
Value DecodeRule(const nlmsghdr* h) {
  const fib_rule_hdr* frh = FamilyHeader<fib_rule_hdr>(h);
  if (!frh) return Value();
  const int af = frh->family;
  Value family = FamilyValue(af);
  if (family.IsUndefined()) return Value();
  AttrTable t = MessageAttrs<fib_rule_hdr>(h, FRA_MAX);

  Value r = Value::MakeObject();
  r.Set("family", family);
  // The kernel omits FRA_PRIORITY for priority 0 (the local-table rule).
  r.Set("priority", t.U32(FRA_PRIORITY).value_or(0));
  if (auto from = AttrIp(t, FRA_SRC, af)) r.Set("from", *from);
  r.Set("fromLen", frh->src_len);
  if (auto to = AttrIp(t, FRA_DST, af)) r.Set("to", *to);
  r.Set("toLen", frh->dst_len);
  r.Set("table", t.U32(FRA_TABLE).value_or(frh->table));
  if (auto iif = t.Str(FRA_IIFNAME)) r.Set("iif", *iif);
  if (auto oif = t.Str(FRA_OIFNAME)) r.Set("oif", *oif);
  if (auto mark = t.U32(FRA_FWMARK)) r.Set("fwmark", *mark);
  if (auto mask = t.U32(FRA_FWMASK)) r.Set("fwmask", *mask);
  r.Set("action", NameOf(frh->action, kRuleActionNames));
  if (auto proto = t.U8(FRA_PROTOCOL)) r.Set("proto", NameOf(*proto, kRouteProtocolNames));
  return r;
}

Value DecodeListed(const nlmsghdr* h, const Value& args) {
  if (h->nlmsg_type != RTM_NEWRULE) return Value();
  const fib_rule_hdr* frh = FamilyHeader<fib_rule_hdr>(h);
  if (int af = OptFamily(args, "family"); af && frh && frh->family != af) return Value();
  return DecodeRule(h);
}

}  // namespace

void AddRuleOps(std::vector<OpSpec>& ops) {
  ops.push_back({"rule.add", EncodeAdd, false, nullptr});
  ops.push_back({"rule.del", EncodeDel, false, nullptr});
  ops.push_back({"rule.list", EncodeList, true, DecodeListed});
}

}  // namespace pw
