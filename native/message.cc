#include "message.h"

#include <arpa/inet.h>

namespace pw {

void Builder::Start(uint16_t type, uint16_t flags) {
  buf_.assign(NLMSG_HDRLEN, 0);
  marks_.clear();
  header()->nlmsg_len = NLMSG_HDRLEN;
  header()->nlmsg_type = type;
  header()->nlmsg_flags = flags;
}

void Builder::Reserve(size_t extra) {
  if (buf_.size() + extra > kMaxSize)
    throw EncodeError("request", "message would exceed " + std::to_string(kMaxSize) + " bytes");
}

size_t Builder::PutRaw(const void* data, size_t len) {
  size_t aligned = NLMSG_ALIGN(len);
  Reserve(aligned);
  size_t off = buf_.size();
  buf_.resize(off + aligned, 0);
  if (len) std::memcpy(buf_.data() + off, data, len);
  header()->nlmsg_len = static_cast<uint32_t>(buf_.size());
  return off;
}

void Builder::Put(uint16_t type, const void* data, size_t len, const char* field) {
  if (len > 0xffff - NLA_HDRLEN) throw EncodeError(field ? field : "attribute", "too long");
  size_t total = NLA_HDRLEN + len;
  Reserve(NLA_ALIGN(total));
  size_t off = buf_.size();
  buf_.resize(off + NLA_ALIGN(total), 0);
  nlattr a{static_cast<uint16_t>(total), type};
  std::memcpy(buf_.data() + off, &a, sizeof(a));
  if (len) std::memcpy(buf_.data() + off + NLA_HDRLEN, data, len);
  header()->nlmsg_len = static_cast<uint32_t>(buf_.size());
  if (field) marks_.push_back({off, buf_.size(), prefix_ + field});
}

void Builder::PutBe16(uint16_t type, uint16_t v, const char* field) {
  uint16_t be = htons(v);
  Put(type, &be, 2, field);
}

void Builder::PutString(uint16_t type, const std::string& s, const char* field) {
  Put(type, s.c_str(), s.size() + 1, field);
}

size_t Builder::NestStart(uint16_t type, const char* field) {
  size_t off = buf_.size();
  Put(type, nullptr, 0, nullptr);
  if (field) marks_.push_back({off, 0, prefix_ + field});  // end fixed by NestEnd
  return off;
}

void Builder::NestEnd(size_t token) {
  nlattr a;
  std::memcpy(&a, buf_.data() + token, sizeof(a));
  a.nla_len = static_cast<uint16_t>(buf_.size() - token);
  std::memcpy(buf_.data() + token, &a, sizeof(a));
  for (auto& m : marks_)
    if (m.start == token && m.end == 0) m.end = buf_.size();
}

std::string Builder::FieldAt(size_t offset) const {
  const Mark* best = nullptr;
  for (const auto& m : marks_)
    if (offset >= m.start && offset < m.end && (!best || m.end - m.start <= best->end - best->start)) best = &m;
  return best ? best->field : std::string();
}

AttrTable::AttrTable(const void* p, size_t len, uint16_t maxType) : slots_(size_t(maxType) + 1) {
  if (!p) return;
  malformed_ = !ForEachAttr(p, len, [&](const Attr& a) {
    if (a.type <= maxType) slots_[a.type] = a;
  });
}

const Attr* AttrTable::Get(uint16_t type) const {
  if (type >= slots_.size() || !slots_[type].data) return nullptr;
  return &slots_[type];
}

template <typename T>
static std::optional<T> ReadScalar(const Attr* a) {
  if (!a || a->len < sizeof(T)) return std::nullopt;
  T v;
  std::memcpy(&v, a->data, sizeof(T));
  return v;
}

std::optional<uint8_t> AttrTable::U8(uint16_t t) const { return ReadScalar<uint8_t>(Get(t)); }
std::optional<uint16_t> AttrTable::U16(uint16_t t) const { return ReadScalar<uint16_t>(Get(t)); }
std::optional<uint32_t> AttrTable::U32(uint16_t t) const { return ReadScalar<uint32_t>(Get(t)); }
std::optional<uint64_t> AttrTable::U64(uint16_t t) const { return ReadScalar<uint64_t>(Get(t)); }
std::optional<uint16_t> AttrTable::Be16(uint16_t t) const {
  auto v = ReadScalar<uint16_t>(Get(t));
  if (!v) return v;
  return ntohs(*v);
}
std::optional<std::string> AttrTable::Str(uint16_t t) const {
  const Attr* a = Get(t);
  if (!a) return std::nullopt;
  const char* s = reinterpret_cast<const char*>(a->data);
  return std::string(s, strnlen(s, a->len));
}

}  // namespace pw
