// A native failure (errors.h) as a JS error, on the JS thread. Native code
// states the facts; the function lib/core/native.ts handed over at init
// (lib/core/errors.ts's nativeError) decides the class and the code.
#pragma once

#include <napi.h>

#include "errors.h"

namespace pw {

Napi::Error MakeJsError(Napi::Env env, const NlError& e);

}  // namespace pw
