// Conversion between JS values and Value. JS thread only.
#pragma once

#include <napi.h>

#include "value.h"

namespace pw {

// Plain data only: undefined/null, booleans, numbers, strings, Buffers,
// arrays and plain objects. Anything else is a TypeError naming its path.
Value FromJs(const Napi::Value& v, const std::string& path = "args");
Napi::Value ToJs(Napi::Env env, const Value& v);

}  // namespace pw
