// libFuzzer target for the rtnetlink decoders (built and run by
// scripts/fuzz-decoders.sh). An input is a run of netlink messages, as the
// addon's decode() and event subscriptions receive it, and each message goes
// to the decoder its type selects. That is DecodeAny's dispatch, repeated
// here because DecodeAny lives in events.cc with the N-API code, which a
// plain fuzzing binary cannot link. DecodeAny also skips some messages it
// does not report (AF_BRIDGE link messages, cloned routes); here every
// message reaches its decoder, so the fuzzer covers a superset.
#include <linux/rtnetlink.h>

#include <cstdint>
#include <cstring>
#include <memory>

#include "addr.h"
#include "link.h"
#include "message.h"
#include "neigh.h"
#include "route.h"

namespace {

// Reads every part of a decoded value, as ToJs does when it hands the value
// to JavaScript, so a decoder that built a string or an array from bytes it
// should not have touched is caught reading them here.
uint64_t Walk(const pw::Value& v) {
  using T = pw::Value::Type;
  switch (v.type()) {
    case T::String:
    case T::Bytes: {
      uint64_t h = v.AsString().size();
      for (unsigned char c : v.AsString()) h = h * 31 + c;
      return h;
    }
    case T::Number: return static_cast<uint64_t>(v.AsNumber() != 0);
    case T::Bool: return v.AsBool();
    case T::Array: {
      uint64_t h = 1;
      for (const auto& item : v.AsArray()) h += Walk(item);
      return h;
    }
    case T::Object: {
      uint64_t h = 2;
      for (const auto& kv : v.AsObject()) h += kv.first.size() + Walk(kv.second);
      return h;
    }
    default: return 0;
  }
}

pw::Value Decode(const nlmsghdr* h) {
  switch (h->nlmsg_type) {
    case RTM_NEWLINK:
    case RTM_DELLINK: return pw::DecodeLink(h);
    case RTM_NEWADDR:
    case RTM_DELADDR: return pw::DecodeAddr(h);
    case RTM_NEWROUTE:
    case RTM_DELROUTE: return pw::DecodeRoute(h);
    case RTM_NEWNEIGH:
    case RTM_DELNEIGH: return pw::DecodeNeigh(h);
    default: return pw::Value();
  }
}

// Kept observable so the compiler cannot drop the walks.
volatile uint64_t gSink;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Netlink headers are read in place and need 4-byte alignment, which the
  // kernel's buffers have and fuzzer inputs do not: copy into storage from
  // operator new[] (aligned for any scalar) of exactly `size` bytes, so even
  // a one-byte read past the input is an AddressSanitizer report.
  std::unique_ptr<uint8_t[]> copy(new uint8_t[size]);
  if (size) std::memcpy(copy.get(), data, size);
  pw::ForEachMessage(copy.get(), size, [](const nlmsghdr* h) { gSink = gSink + Walk(Decode(h)); });
  return 0;
}
