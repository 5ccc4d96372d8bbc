#include "js_value.h"

#include <stdexcept>

#include "addon_data.h"
#include "json.h"

namespace pw {

Value FromJs(const Napi::Value& v, const std::string& path) {
  switch (v.Type()) {
    case napi_undefined: return Value();
    case napi_null: return Value::Null();
    case napi_boolean: return Value(v.As<Napi::Boolean>().Value());
    case napi_number: return Value(v.As<Napi::Number>().DoubleValue());
    case napi_string: return Value(v.As<Napi::String>().Utf8Value());
    case napi_object: {
      if (v.IsBuffer()) {
        auto b = v.As<Napi::Buffer<uint8_t>>();
        return Value::FromBytes(b.Data(), b.Length());
      }
      if (v.IsArray()) {
        auto arr = v.As<Napi::Array>();
        Value out = Value::MakeArray();
        for (uint32_t i = 0; i < arr.Length(); ++i) out.Push(FromJs(arr.Get(i), path + "[" + std::to_string(i) + "]"));
        return out;
      }
      auto obj = v.As<Napi::Object>();
      Value out = Value::MakeObject();
      Napi::Array keys = obj.GetPropertyNames();
      for (uint32_t i = 0; i < keys.Length(); ++i) {
        std::string key = keys.Get(i).As<Napi::String>().Utf8Value();
        out.Set(key, FromJs(obj.Get(key), path + "." + key));
      }
      return out;
    }
    default:
      throw Napi::TypeError::New(v.Env(), path + ": unsupported value type");
  }
}

Napi::Value ToJs(Napi::Env env, const Value& v) {
  switch (v.type()) {
    case Value::Type::Undefined: return env.Undefined();
    case Value::Type::Null: return env.Null();
    case Value::Type::Bool: return Napi::Boolean::New(env, v.AsBool());
    case Value::Type::Number: return Napi::Number::New(env, v.AsNumber());
    case Value::Type::String: return Napi::String::New(env, v.AsString());
    case Value::Type::Bytes: {
      const std::string& s = v.AsString();
      return Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<const uint8_t*>(s.data()), s.size());
    }
    case Value::Type::Array: {
      const auto& a = v.AsArray();
      Napi::Array out = Napi::Array::New(env, a.size());
      for (size_t i = 0; i < a.size(); ++i) out.Set(uint32_t(i), ToJs(env, a[i]));
      return out;
    }
    case Value::Type::Object: {
      Napi::Object out = Napi::Object::New(env);
      for (const auto& kv : v.AsObject()) out.Set(kv.first, ToJs(env, kv.second));
      return out;
    }
  }
  return env.Undefined();
}

namespace {

Napi::Function JsonMethod(Napi::Env env, Napi::FunctionReference& cache, const char* name) {
  if (cache.IsEmpty()) {
    Napi::Object json = env.Global().Get("JSON").As<Napi::Object>();
    cache = Napi::Persistent(json.Get(name).As<Napi::Function>());
  }
  return cache.Value();
}

}  // namespace

Napi::Value ToJsFast(Napi::Env env, const Value& v, const std::optional<std::string>& json) {
  if (!json) return ToJs(env, v);
  Napi::Function parse = JsonMethod(env, GetAddonData(env)->jsonParse, "parse");
  return parse.Call({Napi::String::New(env, *json)});
}

Value FromJsViaJson(const Napi::Value& v) {
  Napi::Env env = v.Env();
  Napi::Function stringify = JsonMethod(env, GetAddonData(env)->jsonStringify, "stringify");
  Napi::Value text = stringify.Call({v});
  // JSON.stringify(undefined) (or of a function) is undefined, not text.
  if (!text.IsString()) return Value();
  try {
    return ParseJson(text.As<Napi::String>().Utf8Value());
  } catch (const std::invalid_argument& e) {
    throw Napi::TypeError::New(env, e.what());
  }
}

}  // namespace pw
