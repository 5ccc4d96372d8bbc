// Conversion between JS values and Value. JS thread only.
#pragma once

#include <napi.h>

#include <optional>
#include <string>

#include "value.h"

namespace pw {

// Plain data only: undefined/null, booleans, numbers, strings, Buffers,
// arrays and plain objects. Anything else is a TypeError naming its path.
Value FromJs(const Napi::Value& v, const std::string& path = "args");
Napi::Value ToJs(Napi::Env env, const Value& v);

// The JS value of v: through JSON.parse when v can be written as JSON (see
// json.h: much cheaper for the JS thread than ToJs), else ToJs. json is v's
// text when a worker thread has already written it.
Napi::Value ToJsFast(Napi::Env env, const Value& v, const std::optional<std::string>& json);
// A plain-data JS value read through JSON.stringify (V8 walks it; N-API is
// called once). Like JSON, it drops functions and undefined properties and
// turns a Buffer into {type, data}; a BigInt or a cycle is a TypeError.
Value FromJsViaJson(const Napi::Value& v);

}  // namespace pw
