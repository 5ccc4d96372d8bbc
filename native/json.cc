#include "json.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <stdexcept>

namespace pw {

namespace {

// True when s is well-formed UTF-8. Otherwise the string goes the slow way:
// decoding one malformed string inside a whole JSON text must not be able to
// shift where the next string starts.
bool IsUtf8(const std::string& s) {
  size_t i = 0, n = s.size();
  while (i < n) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len;
    uint32_t cp;
    if (c < 0x80) { ++i; continue; }
    if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; }
    else return false;
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are malformed.
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += len;
  }
  return true;
}

bool WriteString(const std::string& s, std::string& out) {
  if (!IsUtf8(s)) return false;
  static const char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(ch);
    } else if (c < 0x20) {
      out += "\\u00";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    } else {
      out.push_back(ch);
    }
  }
  out.push_back('"');
  return true;
}

bool Write(const Value& v, std::string& out) {
  switch (v.type()) {
    case Value::Type::Undefined:
    case Value::Type::Bytes:
      return false;
    case Value::Type::Null: out += "null"; return true;
    case Value::Type::Bool: out += v.AsBool() ? "true" : "false"; return true;
    case Value::Type::Number: {
      double d = v.AsNumber();
      if (!std::isfinite(d)) return false;
      char buf[32];
      // Shortest text that reads back as the same double (-0 stays -0).
      auto r = std::to_chars(buf, buf + sizeof buf, d);
      out.append(buf, r.ptr);
      return true;
    }
    case Value::Type::String: return WriteString(v.AsString(), out);
    case Value::Type::Array: {
      out.push_back('[');
      bool first = true;
      for (const Value& item : v.AsArray()) {
        if (!first) out.push_back(',');
        first = false;
        if (!Write(item, out)) return false;
      }
      out.push_back(']');
      return true;
    }
    case Value::Type::Object: {
      out.push_back('{');
      bool first = true;
      for (const auto& kv : v.AsObject()) {
        if (!first) out.push_back(',');
        first = false;
        if (!WriteString(kv.first, out)) return false;
        out.push_back(':');
        if (!Write(kv.second, out)) return false;
      }
      out.push_back('}');
      return true;
    }
  }
  return false;
}

class Parser {
 public:
  explicit Parser(const std::string& s) : p_(s.data()), end_(s.data() + s.size()) {}

  Value ParseDocument() {
    Value v = ParseValue(0);
    SkipSpace();
    if (p_ != end_) Fail("trailing characters");
    return v;
  }

 private:
  static constexpr int kMaxDepth = 64;

  [[noreturn]] void Fail(const char* what) { throw std::invalid_argument(std::string("JSON: ") + what); }

  void SkipSpace() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }

  bool Literal(const char* word) {
    const char* q = p_;
    for (const char* w = word; *w; ++w, ++q)
      if (q == end_ || *q != *w) return false;
    p_ = q;
    return true;
  }

  Value ParseValue(int depth) {
    if (depth > kMaxDepth) Fail("nested too deeply");
    SkipSpace();
    if (p_ == end_) Fail("unexpected end");
    switch (*p_) {
      case '{': return ParseObject(depth);
      case '[': return ParseArray(depth);
      case '"': return Value(ParseString());
      case 't': if (Literal("true")) return Value(true); break;
      case 'f': if (Literal("false")) return Value(false); break;
      case 'n': if (Literal("null")) return Value::Null(); break;
      default: return Value(ParseNumber());
    }
    Fail("unexpected character");
  }

  Value ParseObject(int depth) {
    ++p_;  // {
    Value out = Value::MakeObject();
    SkipSpace();
    if (p_ != end_ && *p_ == '}') { ++p_; return out; }
    for (;;) {
      SkipSpace();
      if (p_ == end_ || *p_ != '"') Fail("expected a key");
      std::string key = ParseString();
      SkipSpace();
      if (p_ == end_ || *p_ != ':') Fail("expected ':'");
      ++p_;
      out.Set(key, ParseValue(depth + 1));
      SkipSpace();
      if (p_ != end_ && *p_ == ',') { ++p_; continue; }
      if (p_ != end_ && *p_ == '}') { ++p_; return out; }
      Fail("expected ',' or '}'");
    }
  }

  Value ParseArray(int depth) {
    ++p_;  // [
    Value out = Value::MakeArray();
    SkipSpace();
    if (p_ != end_ && *p_ == ']') { ++p_; return out; }
    for (;;) {
      out.Push(ParseValue(depth + 1));
      SkipSpace();
      if (p_ != end_ && *p_ == ',') { ++p_; continue; }
      if (p_ != end_ && *p_ == ']') { ++p_; return out; }
      Fail("expected ',' or ']'");
    }
  }

  double ParseNumber() {
    // The JSON grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
    const char* start = p_;
    auto digits = [&] {
      const char* d = p_;
      while (p_ != end_ && *p_ >= '0' && *p_ <= '9') ++p_;
      if (p_ == d) Fail("malformed number");
    };
    if (p_ != end_ && *p_ == '-') ++p_;
    if (p_ != end_ && *p_ == '0') ++p_;
    else digits();
    if (p_ != end_ && *p_ == '.') { ++p_; digits(); }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      digits();
    }
    double d = 0;
    // from_chars: locale-independent, correctly rounded. Out of range reads
    // as what JSON.parse gives (infinity), which the encoders then refuse.
    auto r = std::from_chars(start, p_, d);
    if (r.ec == std::errc::result_out_of_range) return std::strtod(std::string(start, p_).c_str(), nullptr);
    if (r.ec != std::errc() || r.ptr != p_) Fail("malformed number");
    return d;
  }

  unsigned Hex4() {
    if (end_ - p_ < 4) Fail("short \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; ++i, ++p_) {
      char c = *p_;
      v <<= 4;
      if (c >= '0' && c <= '9') v |= unsigned(c - '0');
      else if (c >= 'a' && c <= 'f') v |= unsigned(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= unsigned(c - 'A' + 10);
      else Fail("malformed \\u escape");
    }
    return v;
  }

  static void PutUtf8(uint32_t cp, std::string& out) {
    if (cp < 0x80) {
      out.push_back(char(cp));
    } else if (cp < 0x800) {
      out.push_back(char(0xC0 | (cp >> 6)));
      out.push_back(char(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(char(0xE0 | (cp >> 12)));
      out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(char(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(char(0xF0 | (cp >> 18)));
      out.push_back(char(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(char(0x80 | (cp & 0x3F)));
    }
  }

  std::string ParseString() {
    ++p_;  // "
    std::string out;
    for (;;) {
      if (p_ == end_) Fail("unterminated string");
      char c = *p_++;
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) Fail("control character in string");
      if (c != '\\') { out.push_back(c); continue; }
      if (p_ == end_) Fail("unterminated escape");
      switch (*p_++) {
        case '"': out.push_back('"'); break;
        case '\\': out.push_back('\\'); break;
        case '/': out.push_back('/'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'u': {
          uint32_t cp = Hex4();
          if (cp >= 0xD800 && cp <= 0xDBFF && end_ - p_ >= 6 && p_[0] == '\\' && p_[1] == 'u') {
            const char* save = p_;
            p_ += 2;
            uint32_t lo = Hex4();
            if (lo >= 0xDC00 && lo <= 0xDFFF) cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            else p_ = save;  // a lone high surrogate; the next escape stands alone
          }
          // A lone surrogate becomes U+FFFD, as N-API's UTF-8 conversion of
          // the same JS string would make it.
          if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;
          PutUtf8(cp, out);
          break;
        }
        default: Fail("unknown escape");
      }
    }
  }

  const char* p_;
  const char* end_;
};

}  // namespace

std::optional<std::string> ToJson(const Value& v) {
  std::string out;
  out.reserve(256);
  if (!Write(v, out)) return std::nullopt;
  return out;
}

Value ParseJson(const std::string& text) { return Parser(text).ParseDocument(); }

}  // namespace pw
