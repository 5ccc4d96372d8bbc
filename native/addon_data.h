// Per-environment addon state (worker threads each load their own copy) and
// the conversion of a native failure into the JS NetlinkError.
#pragma once

#include <napi.h>

#include "errors.h"

namespace pw {

struct AddonData {
  Napi::FunctionReference errorClass;  // NetlinkError, handed over by lib/native.ts
  Napi::FunctionReference socketCtor;
  Napi::FunctionReference subscriptionCtor;
};

AddonData* GetAddonData(Napi::Env env);
Napi::Error MakeJsError(Napi::Env env, const NlError& e);

}  // namespace pw
