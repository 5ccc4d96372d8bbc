#include "errors.h"

#include <cerrno>
#include <cstring>

namespace pw {

void ThrowErrno(int errnum, std::string syscall, std::string detail) {
  NlError e;
  e.errnum = errnum;
  e.syscall = std::move(syscall);
  e.detail = std::move(detail);
  throw NlException{std::move(e)};
}

void FailAt(int errnum, const char* syscall, const std::string& object, const std::string& detail, const char* kind) {
  NlError e;
  e.errnum = errnum;
  e.syscall = syscall;
  e.object = object;
  e.detail = detail;
  if (kind) e.kind = kind;
  throw NlException{std::move(e)};
}

std::string ErrnoName(int n) {
  // glibc >= 2.32 knows the symbolic names.
  const char* name = strerrorname_np(n);
  return name ? name : "E" + std::to_string(n);
}

std::string FormatMessage(const NlError& e) {
  std::string m = e.op.empty() ? std::string("netlink") : e.op;
  if (!e.object.empty()) m += " " + e.object;
  m += ": ";
  if (e.errnum) {
    m += strerrordesc_np(e.errnum) ? strerrordesc_np(e.errnum) : "error";
    m += " (" + ErrnoName(e.errnum) + ")";
  }
  if (!e.extack.empty()) m += ": " + e.extack;
  if (!e.field.empty()) m += " [field " + e.field + "]";
  if (!e.detail.empty()) m += (e.errnum || !e.extack.empty() ? " - " : "") + e.detail;
  return m;
}

}  // namespace pw
