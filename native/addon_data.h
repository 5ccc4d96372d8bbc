// Per-environment addon state (worker threads each load their own copy).
#pragma once

#include <napi.h>

#include <memory>

#include "errors.h"

namespace pw {

class Dispatcher;

struct AddonData {
  // (message, facts) -> Error: lib/core/errors.ts's nativeError, handed over
  // by lib/core/native.ts at init.
  Napi::FunctionReference makeError;
  Napi::FunctionReference socketCtor;
  Napi::FunctionReference subscriptionCtor;
  Napi::FunctionReference engineListenerCtor;
  // JSON.parse and JSON.stringify, looked up once (js_value.cc).
  Napi::FunctionReference jsonParse;
  Napi::FunctionReference jsonStringify;
  // Settles finished native work on this environment's JS thread (dispatch.h).
  std::shared_ptr<Dispatcher> dispatcher;
};

AddonData* GetAddonData(Napi::Env env);

}  // namespace pw
