#include "value.h"

namespace pw {

const Value& Value::Get(const std::string& key) const {
  static const Value kUndefined;
  if (type_ != Type::Object) return kUndefined;
  for (const auto& kv : *obj_)
    if (kv.first == key) return kv.second;
  return kUndefined;
}

Value& Value::Set(const std::string& key, Value v) {
  for (auto& kv : *obj_)
    if (kv.first == key) { kv.second = std::move(v); return kv.second; }
  obj_->emplace_back(key, std::move(v));
  return obj_->back().second;
}

}  // namespace pw
