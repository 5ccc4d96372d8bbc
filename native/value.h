// A small dynamic value (JSON-like plus byte strings) that carries operation
// arguments and decoded kernel objects across threads. JS values may only be
// touched on the JS thread, so the JS side converts to/from Value there
// (js_value.cc) and everything else - encoding, I/O, decoding - works on
// Values on worker threads.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace pw {

class Value {
 public:
  enum class Type { Undefined, Null, Bool, Number, String, Bytes, Array, Object };
  using Array = std::vector<Value>;
  // Insertion-ordered, so decoded objects print in a stable, readable order.
  using Object = std::vector<std::pair<std::string, Value>>;

  Value() = default;
  static Value Null() { Value v; v.type_ = Type::Null; return v; }
  Value(bool b) : type_(Type::Bool), num_(b ? 1 : 0) {}
  Value(double n) : type_(Type::Number), num_(n) {}
  Value(int n) : type_(Type::Number), num_(n) {}
  Value(uint32_t n) : type_(Type::Number), num_(n) {}
  Value(int64_t n) : type_(Type::Number), num_(static_cast<double>(n)) {}
  Value(uint64_t n) : type_(Type::Number), num_(static_cast<double>(n)) {}
  Value(const char* s) : type_(Type::String), str_(s) {}
  Value(std::string s) : type_(Type::String), str_(std::move(s)) {}
  static Value FromBytes(const uint8_t* p, size_t n) {
    Value v; v.type_ = Type::Bytes; v.str_.assign(reinterpret_cast<const char*>(p), n); return v;
  }
  static Value MakeArray() { Value v; v.type_ = Type::Array; v.arr_ = std::make_shared<Array>(); return v; }
  static Value MakeObject() { Value v; v.type_ = Type::Object; v.obj_ = std::make_shared<Object>(); return v; }

  Type type() const { return type_; }
  bool IsUndefined() const { return type_ == Type::Undefined; }
  bool IsNullish() const { return type_ == Type::Undefined || type_ == Type::Null; }
  bool IsBool() const { return type_ == Type::Bool; }
  bool IsNumber() const { return type_ == Type::Number; }
  bool IsString() const { return type_ == Type::String; }
  bool IsBytes() const { return type_ == Type::Bytes; }
  bool IsArray() const { return type_ == Type::Array; }
  bool IsObject() const { return type_ == Type::Object; }

  bool AsBool() const { return num_ != 0; }
  double AsNumber() const { return num_; }
  const std::string& AsString() const { return str_; }  // also the raw bytes of Bytes
  const Array& AsArray() const { return *arr_; }
  const Object& AsObject() const { return *obj_; }

  // Object access. Get returns an Undefined value for a missing key.
  const Value& Get(const std::string& key) const;
  bool Has(const std::string& key) const { return !Get(key).IsUndefined(); }
  Value& Set(const std::string& key, Value v);
  // Array append.
  void Push(Value v) { arr_->push_back(std::move(v)); }

 private:
  Type type_ = Type::Undefined;
  double num_ = 0;
  std::string str_;
  std::shared_ptr<Array> arr_;
  std::shared_ptr<Object> obj_;
};

}  // namespace pw
