#include "ops.h"

#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cerrno>

#include "args.h"
#include "errors.h"

namespace pw {

namespace {

const std::vector<OpSpec>& Table() {
  static const std::vector<OpSpec> table = [] {
    std::vector<OpSpec> t;
    AddLinkOps(t);
    AddAddrOps(t);
    AddRouteOps(t);
    AddRuleOps(t);
    AddNeighOps(t);
    AddNsidOps(t);
    AddCookieOps(t);
    return t;
  }();
  return table;
}

}  // namespace

const OpSpec* FindOp(const std::string& name) {
  for (const auto& op : Table())
    if (name == op.name) return &op;
  return nullptr;
}

std::vector<std::string> OpNames() {
  std::vector<std::string> names;
  for (const auto& op : Table()) names.emplace_back(op.name);
  return names;
}

std::vector<uint8_t> EncodeOp(const OpSpec& op, const Value& args) {
  if (!op.encode) throw EncodeError("op", std::string(op.name) + " sends no request");
  CheckArgKeys(op.name, args);
  Builder b;
  op.encode(args, b);
  b.header()->nlmsg_flags |= NLM_F_REQUEST | (op.dump ? NLM_F_DUMP : NLM_F_ACK);
  return b.bytes();
}

namespace {

// Fields that name a link. The API accepts a name or an index for each; names
// are resolved here, in the same hop to the netlink thread, so "master:
// 'br0'" costs no extra JS round trip: by SIOCGIFINDEX on the request's own
// socket (NlSocket::LinkIndexByName), else (a name too long for it, an
// unexpected refusal) with a targeted RTM_GETLINK (never a dump).
const char* const kLinkRefFields[] = {"index", "master", "parent", "dev"};

// The index of the link named `name`, by a targeted RTM_GETLINK: for names
// SIOCGIFINDEX cannot take. A name longer than an interface name can only
// be an altname, which the kernel looks up as IFLA_ALT_IFNAME (IFLA_IFNAME
// refuses it by length). Throws NlException (ENODEV: no such link).
int IndexByGetlink(NlSocket& sock, const std::string& name, const char* field) {
  Builder b;
  b.Start(RTM_GETLINK, 0);
  ifinfomsg ifi{};
  b.PutHeader(ifi);
  b.PutString(name.size() < IFNAMSIZ ? IFLA_IFNAME : IFLA_ALT_IFNAME, name, field);
  auto replies = sock.Request(b);
  const ifinfomsg* got = replies.empty() ? nullptr : FamilyHeader<ifinfomsg>(reinterpret_cast<const nlmsghdr*>(replies[0].data()));
  if (!got) ThrowErrno(ENODEV, "RTM_GETLINK");
  return got->ifi_index;
}

Value ResolveLinkRefs(NlSocket& sock, const Value& args) {
  bool any = false;
  for (const char* key : kLinkRefFields) any = any || args.Get(key).IsString();
  if (!any) return args;
  Value out = Value::MakeObject();
  for (const auto& kv : args.AsObject()) out.Set(kv.first, kv.second);
  for (const char* key : kLinkRefFields) {
    const Value& v = args.Get(key);
    if (!v.IsString()) continue;
    const std::string& name = v.AsString();
    try {
      int index = sock.LinkIndexByName(name);
      if (index == -ENODEV) ThrowErrno(ENODEV, "ioctl(SIOCGIFINDEX)");
      if (index <= 0) index = IndexByGetlink(sock, name, key);
      out.Set(key, index);
    } catch (const NlException& ex) {
      NlError e = ex.err;
      if (e.errnum == ENODEV) {
        e.kind = "link-not-found";
        e.detail = "no link named '" + name + "' in this namespace";
      }
      e.field = key;
      e.object = name;
      throw NlException{e};
    }
  }
  return out;
}

}  // namespace

Value RunOp(NlSocket& sock, const OpSpec& op, const Value& rawArgs) {
  if (!op.encode) return op.after(sock, rawArgs, Value());
  Value args = ResolveLinkRefs(sock, rawArgs);
  Builder b;
  op.encode(args, b);
  if (op.dump) {
    auto msgs = sock.Dump(b);
    Value list = Value::MakeArray();
    if (op.decode)
      for (const auto& m : msgs) {
        Value v = op.decode(reinterpret_cast<const nlmsghdr*>(m.data()), args);
        if (!v.IsUndefined()) list.Push(std::move(v));
      }
    return list;
  }
  std::vector<std::string> replies;
  try {
    replies = sock.Request(b);
  } catch (const NlException& ex) {
    // orNull: a lookup whose object may well not exist (link.find) answers
    // null for ENODEV. As an error it would become a JS exception, stack
    // trace and all, only to be caught and dropped: attach() does two such
    // lookups before it creates anything.
    if (ex.err.errnum == ENODEV && args.Get("orNull").IsBool() && args.Get("orNull").AsBool()) return Value::Null();
    // A bridge refuses its 1,024th port (port number 0 is reserved) with a
    // bare EXFULL ("Exchange full") and no message of its own: say what it
    // means, and which field.
    if (ex.err.errnum == EXFULL && ex.err.extack.empty() && args.Has("master")) {
      NlError e = ex.err;
      e.field = "master";
      e.detail = "its master has as many ports as the kernel allows (a bridge takes at most 1023)";
      throw NlException{e};
    }
    throw;
  }
  Value result;
  if (op.decode)
    for (const auto& m : replies) {
      result = op.decode(reinterpret_cast<const nlmsghdr*>(m.data()), args);
      if (!result.IsUndefined()) break;
    }
  return op.after ? op.after(sock, args, result) : result;
}

}  // namespace pw
