// Per-environment addon state (worker threads each load their own copy) and
// the conversion of a native failure into the JS NetlinkError.
#pragma once

#include <napi.h>

#include <memory>

#include "errors.h"

namespace pw {

class Dispatcher;

struct AddonData {
  Napi::FunctionReference errorClass;  // NetlinkError, handed over by lib/core/native.ts
  Napi::FunctionReference socketCtor;
  Napi::FunctionReference subscriptionCtor;
  // JSON.parse and JSON.stringify, looked up once (js_value.cc).
  Napi::FunctionReference jsonParse;
  Napi::FunctionReference jsonStringify;
  // Settles finished native work on this environment's JS thread (dispatch.h).
  std::shared_ptr<Dispatcher> dispatcher;
};

AddonData* GetAddonData(Napi::Env env);
Napi::Error MakeJsError(Napi::Env env, const NlError& e);

}  // namespace pw
