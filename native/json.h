// Value as JSON text, both ways. Results and arguments cross the JS boundary
// as one string each: V8's JSON.parse builds a decoded link (some thirty
// properties) several times faster than one N-API call per property, and
// without a throwaway key string per property for the garbage collector.
// During 200 concurrent attaches (bench/eventloop.js) the per-property
// conversion was a sixth of the JS thread's time and a fifth of what it
// allocated; as JSON, about a quarter of that time, most of the rest now on
// the worker thread. Any thread may call these.
#pragma once

#include <optional>
#include <string>

#include "value.h"

namespace pw {

// The JSON text of v, or nothing when v holds what JSON cannot say exactly
// (undefined inside an object or array, byte strings, NaN or infinities):
// the caller then converts v property by property (ToJs).
std::optional<std::string> ToJson(const Value& v);

// Parses JSON text (as JSON.stringify writes it) into a Value. Throws
// std::invalid_argument on malformed text or nesting deeper than 64.
Value ParseJson(const std::string& text);

}  // namespace pw
