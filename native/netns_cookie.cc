// netns.cookie: the cookie of the namespace a handle's socket lives in
// (NlSocket::NetnsCookie). A namespace's dev:ino names it only while it
// lives: the kernel gives the inode to the next namespace as soon as it is
// free. The cookie is never reused, so the ownership journal records it to
// tell a guest from a later one that got the same inode.
#include <string>

#include "ops.h"

namespace pw {

namespace {

// A 64-bit number does not fit a JS number exactly: it travels as a decimal string.
Value Cookie(NlSocket& sock, const Value&, const Value&) {
  Value out = Value::MakeObject();
  out.Set("cookie", std::to_string(sock.NetnsCookie()));
  return out;
}

}  // namespace

void AddCookieOps(std::vector<OpSpec>& ops) {
  ops.push_back({"netns.cookie", nullptr, false, nullptr, Cookie});
}

}  // namespace pw
