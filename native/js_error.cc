#include "js_error.h"

#include "addon_data.h"
#include "js_value.h"

namespace pw {

Napi::Error MakeJsError(Napi::Env env, const NlError& e) {
  Napi::String message = Napi::String::New(env, FormatMessage(e));
  Napi::Object facts = Napi::Object::New(env);
  if (!e.kind.empty()) facts.Set("kind", e.kind);
  if (e.errnum) {
    facts.Set("errno", e.errnum);
    facts.Set("errnoName", ErrnoName(e.errnum));
  }
  if (!e.syscall.empty()) facts.Set("syscall", e.syscall);
  if (!e.op.empty()) facts.Set("op", e.op);
  if (!e.extack.empty()) facts.Set("extack", e.extack);
  if (e.offset >= 0) facts.Set("offset", Napi::Number::New(env, double(e.offset)));
  if (!e.field.empty()) facts.Set("field", e.field);
  if (!e.object.empty()) facts.Set("object", e.object);
  if (!e.detail.empty()) facts.Set("detail", e.detail);
  if (e.extra.IsObject())
    for (const auto& kv : e.extra.AsObject()) facts.Set(kv.first, ToJs(env, kv.second));
  AddonData* data = GetAddonData(env);
  if (data && !data->makeError.IsEmpty()) {
    Napi::Value made = data->makeError.Call({message, facts});
    if (made.IsObject()) return Napi::Error(env, made);
  }
  // Before init (or if the function failed): a plain Error with the facts.
  Napi::Error err = Napi::Error::New(env, message.Utf8Value());
  Napi::Array keys = facts.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    Napi::Value key = keys[i];
    err.Value().Set(key, facts.Get(key));
  }
  return err;
}

}  // namespace pw
