// Vocabulary shared by the address, route, rule and neighbour codecs: the
// API's family numbers (4/6), name<->number tables for rtnetlink enums
// (scopes, route protocols), and reading an address attribute. Header-only:
// these are a few lines each and keeping them here means one place to look.
#pragma once

#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "args.h"
#include "message.h"
#include "op_table_gen.h"
#include "value.h"

namespace pw {

// The API writes address families as 4 and 6 (as `ip -4`/`ip -6` do).
// Returns AF_INET/AF_INET6, or 0 when the field is absent.
inline int OptFamily(const Value& o, const char* key) {
  const Value& v = o.Get(key);
  if (v.IsNullish()) return 0;
  if (v.IsNumber() && v.AsNumber() == 4) return AF_INET;
  if (v.IsNumber() && v.AsNumber() == 6) return AF_INET6;
  throw EncodeError(key, "must be 4 or 6");
}

// AF_INET -> 4, AF_INET6 -> 6; Undefined for anything else so callers can
// skip objects of families the API does not model (IPMR tables, MPLS, ...).
inline Value FamilyValue(int af) {
  if (af == AF_INET) return 4;
  if (af == AF_INET6) return 6;
  return Value();
}

inline size_t AddrLen(int af) { return af == AF_INET ? 4 : 16; }
inline unsigned MaxPrefix(int af) { return af == AF_INET ? 32 : 128; }

// An enum field given either by name or by number: "link" or 253.
template <size_t N>
std::optional<uint32_t> OptNamed(const Value& o, const char* key, const Named (&names)[N], uint32_t max) {
  const Value& v = o.Get(key);
  if (v.IsNullish()) return std::nullopt;
  if (v.IsNumber()) return static_cast<uint32_t>(*OptUint(o, key, max));
  if (!v.IsString()) throw EncodeError(key, "must be a name or a number");
  for (const auto& n : names)
    if (v.AsString() == n.name) return n.value;
  std::string known;
  for (const auto& n : names) known += std::string(known.empty() ? "" : ", ") + n.name;
  throw EncodeError(key, "'" + v.AsString() + "' is not one of " + known + " (or a number)");
}

// The name of a value, or the number itself when it has none (a routing
// daemon's private protocol number, a scope set by hand).
template <size_t N>
Value NameOf(uint32_t value, const Named (&names)[N]) {
  for (const auto& n : names)
    if (n.value == value) return n.name;
  return value;
}

// The name tables (kAddrScopeNames, kRouteProtocolNames, ...) are generated
// from lib/core/op-table.json into op_table_gen.cc, with the TS side's.

// An address attribute of the given family as text; nullopt when absent or
// of the wrong length (a malformed or foreign message must not be misread).
inline std::optional<std::string> AttrIp(const AttrTable& t, uint16_t type, int af) {
  const Attr* a = t.Get(type);
  if (!a || a->len != AddrLen(af)) return std::nullopt;
  return IpToString(af, a->data);
}

// An IP argument that must match the family already settled for the request.
inline void CheckFamily(const IpAddr& ip, int af, const char* key) {
  if (ip.family != af)
    throw EncodeError(key, std::string("is an IPv") + (ip.family == AF_INET ? "4" : "6") +
                               " address but the request is IPv" + (af == AF_INET ? "4" : "6"));
}

}  // namespace pw
