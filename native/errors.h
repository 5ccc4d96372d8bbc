// The failure record every native operation produces. It crosses threads as
// plain data and becomes a NetlinkError (the JS class handed over at init) on
// the JS thread.
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
  std::string code;        // overrides the errno name (e.g. ERR_PW_INVALID_ARGUMENT)
  Value extra;             // more properties for the JS error (a batch's progress)
};

// Thrown inside native code; caught at the worker boundary.
struct NlException {
  NlError err;
};

[[noreturn]] void ThrowErrno(int errnum, std::string syscall, std::string detail = "");

// A failure about one object (a path, a pid): errnum 0 for a refusal of our
// own, which then needs `code` (ERR_PW_*) and says why in `detail`.
[[noreturn]] void FailAt(int errnum, const char* syscall, const std::string& object, const std::string& detail,
                       const char* code = nullptr);

// "EEXIST" for 17, or "E<n>" for an unknown number.
std::string ErrnoName(int errnum);
// A one-line human message: "link.add veth0: File exists (EEXIST): <extack>".
std::string FormatMessage(const NlError& e);

}  // namespace pw
