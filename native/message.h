// Netlink message building and attribute parsing.
//
// Builder owns a growing buffer holding one netlink message: header, family
// header, then attributes (with nesting). Every Put records which API field it
// encodes, so a kernel extended-ACK offset can be mapped back to a field name.
// AttrTable parses a run of attributes with bounds checks; a malformed length
// stops parsing and marks the table malformed instead of reading past the end.
#pragma once

#include <linux/netlink.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace pw {

// Thrown by encoders when an argument cannot be encoded. Carries the API
// field name so the error the user sees names it.
class EncodeError : public std::runtime_error {
 public:
  EncodeError(std::string field, const std::string& why)
      : std::runtime_error(field + ": " + why), field_(std::move(field)), why_(why) {}
  const std::string& field() const { return field_; }
  const std::string& why() const { return why_; }
 private:
  std::string field_;
  std::string why_;
};

class Builder {
 public:
  static constexpr size_t kMaxSize = 64 * 1024;

  // Starts a message of this type; REQUEST/ACK/DUMP flags are added by the socket.
  void Start(uint16_t type, uint16_t flags);
  // Appends a fixed family header (ifinfomsg, ifaddrmsg, ...), zero padded.
  template <typename T> size_t PutHeader(const T& hdr) { return PutRaw(&hdr, sizeof(T)); }
  template <typename T> T* HeaderAt(size_t off) { return reinterpret_cast<T*>(buf_.data() + off); }

  void Put(uint16_t type, const void* data, size_t len, const char* field = nullptr);
  void PutFlag(uint16_t type, const char* field = nullptr) { Put(type, nullptr, 0, field); }
  void PutU8(uint16_t type, uint8_t v, const char* field = nullptr) { Put(type, &v, 1, field); }
  void PutU16(uint16_t type, uint16_t v, const char* field = nullptr) { Put(type, &v, 2, field); }
  void PutBe16(uint16_t type, uint16_t v, const char* field = nullptr);
  void PutU32(uint16_t type, uint32_t v, const char* field = nullptr) { Put(type, &v, 4, field); }
  void PutS32(uint16_t type, int32_t v, const char* field = nullptr) { Put(type, &v, 4, field); }
  void PutU64(uint16_t type, uint64_t v, const char* field = nullptr) { Put(type, &v, 8, field); }
  // A NUL-terminated string attribute.
  void PutString(uint16_t type, const std::string& s, const char* field = nullptr);

  // Nesting: NestStart returns a token for NestEnd (fix the length). NLA_F_NESTED
  // is left to the caller, as iproute2 and libmnl do: rtnetlink's older
  // attributes are parsed either way, and leaving it off keeps our bytes
  // identical to iproute2's for the same request.
  size_t NestStart(uint16_t type, const char* field = nullptr);
  void NestEnd(size_t token);

  // Prefixes the field names recorded from now on ("peer." while encoding a
  // veth peer, whose attributes share code with the link's own).
  void SetFieldPrefix(std::string prefix) { prefix_ = std::move(prefix); }

  nlmsghdr* header() { return reinterpret_cast<nlmsghdr*>(buf_.data()); }
  const std::vector<uint8_t>& bytes() const { return buf_; }
  std::vector<uint8_t>& bytes() { return buf_; }
  // The API field whose attribute starts at, or most tightly contains, offset.
  std::string FieldAt(size_t offset) const;

 private:
  size_t PutRaw(const void* data, size_t len);
  void Reserve(size_t extra);
  struct Mark { size_t start, end; std::string field; };
  std::vector<uint8_t> buf_;
  std::vector<Mark> marks_;
  std::string prefix_;
};

struct Attr {
  uint16_t type = 0;
  const uint8_t* data = nullptr;
  size_t len = 0;
};

// Parses attributes [p, p+len) into a table indexed by type (the last
// occurrence wins; use ForEachAttr for repeated ones). Types above maxType are
// tolerated and ignored: newer kernels add attributes.
class AttrTable {
 public:
  AttrTable(const void* p, size_t len, uint16_t maxType);
  AttrTable(const Attr& nested, uint16_t maxType) : AttrTable(nested.data, nested.len, maxType) {}

  bool malformed() const { return malformed_; }
  const Attr* Get(uint16_t type) const;
  bool Has(uint16_t type) const { return Get(type) != nullptr; }
  std::optional<uint8_t> U8(uint16_t type) const;
  std::optional<uint16_t> U16(uint16_t type) const;
  std::optional<uint16_t> Be16(uint16_t type) const;
  std::optional<uint32_t> U32(uint16_t type) const;
  std::optional<uint64_t> U64(uint16_t type) const;
  std::optional<std::string> Str(uint16_t type) const;

 private:
  std::vector<Attr> slots_;
  bool malformed_ = false;
};

// Calls fn(attr) for each attribute in [p, p+len); returns false if the run is malformed.
template <typename Fn>
bool ForEachAttr(const void* p, size_t len, Fn fn) {
  const uint8_t* cur = static_cast<const uint8_t*>(p);
  size_t left = len;
  while (left >= NLA_HDRLEN) {
    nlattr a;
    std::memcpy(&a, cur, sizeof(a));
    if (a.nla_len < NLA_HDRLEN || a.nla_len > left) return false;
    fn(Attr{static_cast<uint16_t>(a.nla_type & NLA_TYPE_MASK), cur + NLA_HDRLEN, size_t(a.nla_len - NLA_HDRLEN)});
    size_t step = NLA_ALIGN(a.nla_len);
    if (step >= left) return true;
    cur += step;
    left -= step;
  }
  return left == 0;
}

// Calls fn(h) for each message in [p, p+len), which must be 4-byte aligned;
// returns false if the run is malformed. Use this rather than NLMSG_OK /
// NLMSG_NEXT with a size_t length: NLMSG_NEXT subtracts the *aligned* length,
// so a last message whose nlmsg_len is not a multiple of 4 makes the length
// wrap to ~2^64, NLMSG_OK's signed comparison then passes, and the next
// header is read past the end of the buffer.
template <typename Fn>
bool ForEachMessage(const void* p, size_t len, Fn fn) {
  const uint8_t* cur = static_cast<const uint8_t*>(p);
  size_t left = len;
  while (left >= sizeof(nlmsghdr)) {
    const auto* h = reinterpret_cast<const nlmsghdr*>(cur);
    if (h->nlmsg_len < sizeof(nlmsghdr) || h->nlmsg_len > left) return false;
    fn(h);
    size_t step = NLMSG_ALIGN(size_t(h->nlmsg_len));
    if (step >= left) return true;
    cur += step;
    left -= step;
  }
  return left == 0;
}

// The family header of a message, if the message is long enough to hold it.
template <typename T>
const T* FamilyHeader(const nlmsghdr* h) {
  if (h->nlmsg_len < NLMSG_LENGTH(sizeof(T))) return nullptr;
  return static_cast<const T*>(NLMSG_DATA(h));
}
// The attributes following family header T.
template <typename T>
AttrTable MessageAttrs(const nlmsghdr* h, uint16_t maxType) {
  size_t off = NLMSG_LENGTH(NLMSG_ALIGN(sizeof(T)));
  if (h->nlmsg_len < off) return AttrTable(nullptr, 0, maxType);
  return AttrTable(reinterpret_cast<const uint8_t*>(h) + off, h->nlmsg_len - off, maxType);
}

}  // namespace pw
