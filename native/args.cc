#include "args.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <cmath>
#include <cstdio>

namespace pw {

namespace {

const ArgKey* FindKey(const ArgKey* keys, size_t count, const std::string& name) {
  for (size_t i = 0; i < count; ++i)
    if (keys[i].name && name == keys[i].name) return &keys[i];
  return nullptr;
}

void CheckKeys(const std::string& op, const std::string& prefix, const ArgKey* keys, size_t count, const Value& obj) {
  if (!obj.IsObject()) return;  // a wrong type is the field's own error
  for (const auto& kv : obj.AsObject()) {
    const ArgKey* k = FindKey(keys, count, kv.first);
    if (!k) throw EncodeError(prefix + kv.first, "is not an argument of " + op);
    if (k->nested) CheckKeys(op, prefix + kv.first + ".", k->nested, k->nestedCount, kv.second);
  }
}

}  // namespace

void CheckArgKeys(const std::string& op, const Value& args) {
  for (size_t i = 0; i < kOpKeysCount; ++i) {
    const OpKeys& o = kOpKeys[i];
    if (op != o.op) continue;
    CheckKeys(op, "", o.keys, o.count, args);
    for (size_t j = 0; j < o.exclusiveCount; ++j)
      if (!args.Get(o.exclusive[j][0]).IsNullish() && !args.Get(o.exclusive[j][1]).IsNullish())
        throw EncodeError(o.exclusive[j][0], std::string("cannot be given with ") + o.exclusive[j][1]);
    return;
  }
  // Every row of the op table has its keys: a missing one is a build mistake.
  throw std::logic_error(op + " has no argument list in lib/core/op-table.json");
}

std::optional<std::string> OptString(const Value& o, const char* key) {
  const Value& v = o.Get(key);
  if (v.IsNullish()) return std::nullopt;
  if (!v.IsString()) throw EncodeError(key, "must be a string");
  return v.AsString();
}

std::string ReqString(const Value& o, const char* key) {
  auto s = OptString(o, key);
  if (!s) throw EncodeError(key, "is required");
  return *s;
}

std::optional<bool> OptBool(const Value& o, const char* key) {
  const Value& v = o.Get(key);
  if (v.IsNullish()) return std::nullopt;
  if (!v.IsBool()) throw EncodeError(key, "must be a boolean");
  return v.AsBool();
}

std::optional<uint64_t> OptUint(const Value& o, const char* key, uint64_t max) {
  const Value& v = o.Get(key);
  if (v.IsNullish()) return std::nullopt;
  if (!v.IsNumber()) throw EncodeError(key, "must be a number");
  double d = v.AsNumber();
  if (!(d >= 0) || std::floor(d) != d || d > static_cast<double>(max))
    throw EncodeError(key, "must be an integer from 0 to " + std::to_string(max));
  return static_cast<uint64_t>(d);
}

uint64_t ReqUint(const Value& o, const char* key, uint64_t max) {
  auto v = OptUint(o, key, max);
  if (!v) throw EncodeError(key, "is required");
  return *v;
}

std::optional<int64_t> OptInt(const Value& o, const char* key, int64_t min, int64_t max) {
  const Value& v = o.Get(key);
  if (v.IsNullish()) return std::nullopt;
  if (!v.IsNumber()) throw EncodeError(key, "must be a number");
  double d = v.AsNumber();
  if (std::floor(d) != d || d < static_cast<double>(min) || d > static_cast<double>(max))
    throw EncodeError(key, "must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
  return static_cast<int64_t>(d);
}

IpAddr ParseIp(const std::string& text, const char* field) {
  IpAddr a;
  if (inet_pton(AF_INET, text.c_str(), a.bytes) == 1) { a.family = AF_INET; return a; }
  if (inet_pton(AF_INET6, text.c_str(), a.bytes) == 1) { a.family = AF_INET6; return a; }
  throw EncodeError(field, "'" + text + "' is not an IPv4 or IPv6 address");
}

std::optional<IpAddr> OptIp(const Value& o, const char* key) {
  auto s = OptString(o, key);
  if (!s) return std::nullopt;
  return ParseIp(*s, key);
}

void ParseMac(const std::string& text, const char* field, uint8_t out[6]) {
  unsigned b[6];
  char tail;
  if (text.size() != 17 ||
      std::sscanf(text.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6)
    throw EncodeError(field, "'" + text + "' is not a MAC address (aa:bb:cc:dd:ee:ff)");
  for (int i = 0; i < 6; ++i) out[i] = static_cast<uint8_t>(b[i]);
}

std::string IpToString(int family, const void* bytes) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (!inet_ntop(family, bytes, buf, sizeof(buf))) return "";
  return buf;
}

std::string MacToString(const uint8_t* p, size_t len) {
  std::string s;
  char part[4];
  for (size_t i = 0; i < len; ++i) {
    std::snprintf(part, sizeof(part), i ? ":%02x" : "%02x", p[i]);
    s += part;
  }
  return s;
}

}  // namespace pw
