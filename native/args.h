// Typed access to operation arguments for encoders. The TS layer validates
// first; these checks keep native code safe if it is called directly, and
// their errors name the field.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>

#include "message.h"
#include "op_table_gen.h"
#include "value.h"

namespace pw {

// Refuses an argument the operation does not know (a misspelled key would
// otherwise be a silently dropped setting), in nested objects too, and keys
// the table says cannot be given together. The keys come from
// lib/core/op-table.json (native/op_table_gen.cc).
void CheckArgKeys(const std::string& op, const Value& args);

std::optional<std::string> OptString(const Value& o, const char* key);
std::string ReqString(const Value& o, const char* key);
std::optional<bool> OptBool(const Value& o, const char* key);
// Integers in [0, max].
std::optional<uint64_t> OptUint(const Value& o, const char* key, uint64_t max);
uint64_t ReqUint(const Value& o, const char* key, uint64_t max);
std::optional<int64_t> OptInt(const Value& o, const char* key, int64_t min, int64_t max);

// An IPv4 or IPv6 address in text form -> family (AF_INET/AF_INET6) and bytes.
struct IpAddr {
  int family = 0;
  uint8_t bytes[16] = {};
  size_t len() const { return family == AF_INET ? 4 : 16; }
};
IpAddr ParseIp(const std::string& text, const char* field);
std::optional<IpAddr> OptIp(const Value& o, const char* key);
// "aa:bb:cc:dd:ee:ff" -> 6 bytes.
void ParseMac(const std::string& text, const char* field, uint8_t out[6]);
// Text form of an address of the given family ("10.0.0.1", "fe80::1", "aa:bb:..").
std::string IpToString(int family, const void* bytes);
std::string MacToString(const uint8_t* bytes, size_t len);

}  // namespace pw
