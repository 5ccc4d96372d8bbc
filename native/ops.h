// The operation table: every rtnetlink operation the addon offers, by name
// ("link.add", "addr.list", ...). Each object's file (link.cc, addr.cc, ...)
// contributes its rows; the worker looks them up and runs them.
#pragma once

#include <linux/netlink.h>

#include <string>
#include <vector>

#include "message.h"
#include "socket.h"
#include "value.h"

namespace pw {

struct OpSpec {
  const char* name;
  // Builds the request from the arguments. Throws EncodeError naming the field.
  // nullptr: the operation sends nothing; `after` alone answers it from the
  // socket (e.g. netns.cookie).
  void (*encode)(const Value& args, Builder& b);
  bool dump;
  // Turns one reply message into a result object; Undefined skips it (e.g. a
  // dump entry filtered out). nullptr: the operation returns nothing.
  Value (*decode)(const nlmsghdr* h, const Value& args);
  // Optional follow-up in the same hop, given the decoded result (e.g. read a
  // new link back after everything in its request was applied).
  Value (*after)(NlSocket& sock, const Value& args, const Value& result) = nullptr;
};

// Rows contributed by each object file.
void AddLinkOps(std::vector<OpSpec>& ops);
void AddAddrOps(std::vector<OpSpec>& ops);
void AddRouteOps(std::vector<OpSpec>& ops);
void AddRuleOps(std::vector<OpSpec>& ops);
void AddNeighOps(std::vector<OpSpec>& ops);
void AddNsidOps(std::vector<OpSpec>& ops);
void AddCookieOps(std::vector<OpSpec>& ops);

const OpSpec* FindOp(const std::string& name);
std::vector<std::string> OpNames();

// Encodes only (for codec tests and --dry-run): the request bytes with the
// flags the socket would add, sequence 0.
std::vector<uint8_t> EncodeOp(const OpSpec& op, const Value& args);
// Encodes, sends, waits and decodes. Request ops return the first decoded
// reply (an ECHO or a GET answer) or Undefined; dumps return an array. The
// caller has checked the argument keys (CheckArgKeys, args.h).
Value RunOp(NlSocket& sock, const OpSpec& op, const Value& args);

// Decodes any rtnetlink message we know (for events): {kind, action, ...object}.
Value DecodeAny(const nlmsghdr* h);

}  // namespace pw
