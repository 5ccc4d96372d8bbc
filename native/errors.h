// The failure record every native operation produces. It crosses threads as
// plain data and becomes a JS error on the JS thread (js_error.h), made by
// the function lib/core/native.ts hands over at init: native code reports
// facts (errno, syscall, extended ACK, a kind of refusal), TS decides the
// error's class and code.
#pragma once

#include <string>

#include "value.h"

namespace pw {

struct NlError {
  int errnum = 0;          // positive errno
  std::string op;          // "link.add", "netns.open", ...
  std::string syscall;     // "sendmsg", "setns", ... or the rtnetlink message type
  std::string extack;      // the kernel's extended-ACK message, if any
  long offset = -1;        // extended-ACK offset into our request, if any
  std::string field;       // API field mapped from that offset, if known
  std::string detail;      // our own explanation when there is no kernel text
  std::string object;      // what the operation concerned ("veth0", "/run/netns/x")
  std::string kind;        // our own refusal's kind ("invalid-argument", "not-a-netns", ...):
                           // lib/core/errors.ts decides the ERR_PW_* code it becomes
  Value extra;             // more properties for the JS error (a batch's progress)
};

// Thrown inside native code; caught at the worker boundary.
struct NlException {
  NlError err;
};

[[noreturn]] void ThrowErrno(int errnum, std::string syscall, std::string detail = "");

// A failure about one object (a path, a pid): errnum 0 for a refusal of our
// own, which then needs a `kind` and says why in `detail`.
[[noreturn]] void FailAt(int errnum, const char* syscall, const std::string& object, const std::string& detail,
                       const char* kind = nullptr);

// "EEXIST" for 17, or "E<n>" for an unknown number.
std::string ErrnoName(int errnum);
// A one-line human message: "link.add veth0: File exists (EEXIST): <extack>".
std::string FormatMessage(const NlError& e);

}  // namespace pw
