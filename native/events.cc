#include "events.h"

#include <linux/net_namespace.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

#include "addr.h"
#include "addon_data.h"
#include "js_error.h"
#include "errors.h"
#include "js_value.h"
#include "link.h"
#include "neigh.h"
#include "ops.h"
#include "route.h"
#include "socket.h"
#include "worker.h"

namespace pw {

namespace {

struct GroupName { const char* name; std::vector<unsigned> groups; };
const GroupName kGroups[] = {
    {"link", {RTNLGRP_LINK}},
    {"addr", {RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR}},
    {"route", {RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE}},
    {"neigh", {RTNLGRP_NEIGH}},
    // Namespace ids this namespace gives others: a DELNSID says a namespace
    // it had an id for is being destroyed.
    {"nsid", {RTNLGRP_NSID}},
};

// RTM_NEWNSID / RTM_DELNSID: {nsid}.
pw::Value DecodeNsidEvent(const nlmsghdr* h) {
  if (!FamilyHeader<rtgenmsg>(h)) return pw::Value();
  AttrTable t = MessageAttrs<rtgenmsg>(h, NETNSA_MAX);
  auto id = t.U32(NETNSA_NSID);
  if (!id) return pw::Value();
  pw::Value v = pw::Value::MakeObject();
  v.Set("nsid", int32_t(*id));
  return v;
}

// Decoders return Undefined for what they do not describe (other address
// families, IPv6 route cache exceptions): those are not events for us.
pw::Value Event(const char* kind, const char* action, pw::Value object) {
  if (object.IsUndefined()) return pw::Value();
  pw::Value ev = pw::Value::MakeObject();
  ev.Set("kind", kind);
  ev.Set("action", action);
  ev.Set("object", std::move(object));
  return ev;
}

// Opens a socket in the namespace and joins the groups: on a thread of the
// executor (it may have to enter the namespace), like every other request.
int OpenEventSocket(int nsfd, const std::vector<unsigned>& groups) {
  int fd = OpenRouteSocketIn(nsfd, false);
  for (unsigned g : groups)
    if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &g, sizeof(g)) != 0) {
      int e = errno;
      close(fd);
      ThrowErrno(e, "setsockopt(NETLINK_ADD_MEMBERSHIP)");
    }
  return fd;
}

}  // namespace

pw::Value DecodeAny(const nlmsghdr* h) {
  switch (h->nlmsg_type) {
    case RTM_NEWLINK:
    case RTM_DELLINK: {
      // AF_BRIDGE link messages are the bridge's view of a port: a port
      // released from its bridge yields an AF_BRIDGE RTM_DELLINK for a link
      // that still exists. The AF_UNSPEC message that follows says what
      // happened to the link itself.
      const ifinfomsg* ifi = FamilyHeader<ifinfomsg>(h);
      if (!ifi || ifi->ifi_family == AF_BRIDGE) return pw::Value();
      return Event("link", h->nlmsg_type == RTM_NEWLINK ? "new" : "del", DecodeLink(h));
    }
    case RTM_NEWADDR: return Event("addr", "new", DecodeAddr(h));
    case RTM_DELADDR: return Event("addr", "del", DecodeAddr(h));
    case RTM_NEWROUTE:
    case RTM_DELROUTE: {
      // IPv6 route cache exceptions (RTM_F_CLONED) are not routes anyone configured.
      const rtmsg* rtm = FamilyHeader<rtmsg>(h);
      if (!rtm || (rtm->rtm_flags & RTM_F_CLONED)) return pw::Value();
      return Event("route", h->nlmsg_type == RTM_NEWROUTE ? "new" : "del", DecodeRoute(h));
    }
    case RTM_NEWNEIGH: return Event("neigh", "new", DecodeNeigh(h));
    case RTM_DELNEIGH: return Event("neigh", "del", DecodeNeigh(h));
    case RTM_NEWNSID: return Event("nsid", "new", DecodeNsidEvent(h));
    case RTM_DELNSID: return Event("nsid", "del", DecodeNsidEvent(h));
    default: return Value();
  }
}

Napi::Function Subscription::Define(Napi::Env env) {
  return DefineClass(env, "Subscription",
                     {InstanceMethod("close", &Subscription::Close), InstanceMethod("followLinks", &Subscription::FollowLinks)});
}

Subscription::Subscription(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Subscription>(info) {}

Subscription::~Subscription() { Stop(); }

Napi::Value Subscription::Subscribe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int nsfd = info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : -1;
  if (!info[1].IsArray() || !info[2].IsFunction())
    throw Napi::TypeError::New(env, "subscribe(nsfd, groups, onEvents): groups must be an array, onEvents a function");
  std::vector<unsigned> groups;
  Napi::Array names = info[1].As<Napi::Array>();
  for (uint32_t i = 0; i < names.Length(); ++i) {
    std::string n = names.Get(i).ToString().Utf8Value();
    bool found = false;
    for (const auto& g : kGroups)
      if (n == g.name) {
        groups.insert(groups.end(), g.groups.begin(), g.groups.end());
        found = true;
      }
    if (!found) throw Napi::TypeError::New(env, "groups: '" + n + "' is not one of link, addr, route, neigh, nsid");
  }
  auto onEvents = std::make_shared<Napi::FunctionReference>(Napi::Persistent(info[2].As<Napi::Function>()));
  return TaskWorker::Start(
      env, "watch", [nsfd, groups] { return pw::Value(OpenEventSocket(nsfd, groups)); },
      [onEvents](Napi::Env env, pw::Value& fd) -> Napi::Value {
        Napi::Object sub = GetAddonData(env)->subscriptionCtor.New({});
        Napi::ObjectWrap<Subscription>::Unwrap(sub)->Start(env, static_cast<int>(fd.AsNumber()), onEvents->Value());
        return sub;
      });
}

void Subscription::Start(Napi::Env env, int fd, Napi::Function onEvents) {
  fd_ = fd;
  onEvents_ = Napi::Persistent(onEvents);
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  poll_ = new uv_poll_t;
  uv_poll_init(loop, poll_, fd_);
  poll_->data = this;
  uv_poll_start(poll_, UV_READABLE, OnReadable);
  Ref();  // alive while polling, even if JS drops it
}

void Subscription::Stop() {
  if (poll_) {
    uv_poll_stop(poll_);
    uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
    poll_ = nullptr;
    Unref();
  }
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  onEvents_.Reset();
}

Napi::Value Subscription::Close(const Napi::CallbackInfo& info) {
  Stop();
  return info.Env().Undefined();
}

Napi::Value Subscription::FollowLinks(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArray() || !info[1].IsArray()) throw Napi::TypeError::New(env, "followLinks(add, remove, all?): add and remove must be arrays of link indexes");
  if (info.Length() > 2 && info[2].IsBoolean() && info[2].As<Napi::Boolean>().Value()) {
    linkFilter_ = false;
    links_.clear();
    return env.Undefined();
  }
  linkFilter_ = true;
  Napi::Array add = info[0].As<Napi::Array>();
  Napi::Array remove = info[1].As<Napi::Array>();
  for (uint32_t i = 0; i < add.Length(); ++i) links_.insert(add.Get(i).As<Napi::Number>().Int32Value());
  for (uint32_t i = 0; i < remove.Length(); ++i) links_.erase(remove.Get(i).As<Napi::Number>().Int32Value());
  return env.Undefined();
}

// A link event of a link not followed (followLinks), when filtering.
bool Subscription::Unfollowed(const nlmsghdr* h) const {
  if (!linkFilter_ || (h->nlmsg_type != RTM_NEWLINK && h->nlmsg_type != RTM_DELLINK)) return false;
  const ifinfomsg* ifi = FamilyHeader<ifinfomsg>(h);
  return ifi && links_.count(ifi->ifi_index) == 0;
}

void Subscription::OnReadable(uv_poll_t* handle, int status, int) {
  auto* self = static_cast<Subscription*>(handle->data);
  if (status < 0) return;
  self->Drain();
}

void Subscription::Drain() {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  pw::Value events = pw::Value::MakeArray();
  uint8_t* rx = ThreadReceiveBuffer();
  for (;;) {
    ssize_t n = recv(fd_, rx, kReceiveBufferSize, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOBUFS) {  // the kernel dropped events: the consumer must resync
        pw::Value ev = pw::Value::MakeObject();
        ev.Set("kind", "overrun");
        events.Push(ev);
        continue;
      }
      break;  // EAGAIN: drained
    }
    ForEachMessage(rx, static_cast<size_t>(n), [&](const nlmsghdr* h) {
      if (Unfollowed(h)) return;
      pw::Value ev = DecodeAny(h);
      if (!ev.IsUndefined()) events.Push(ev);
    });
  }
  if (events.AsArray().empty() || onEvents_.IsEmpty()) return;
  Napi::Value arg = ToJs(env, events);
  // MakeCallback runs microtasks after the call, as a normal async callback would.
  try {
    onEvents_.MakeCallback(env.Global(), {arg});
  } catch (const Napi::Error& e) {
    // A throwing listener is the program's uncaught exception, not ours to swallow.
    napi_fatal_exception(env, e.Value());
  }
}

}  // namespace pw
