// Module registration only: every function here forwards to the file that
// owns the concern.
#include <napi.h>

#include <linux/netlink.h>

#include "addon_args.h"
#include "addon_data.h"
#include "addon_state.h"
#include "arp.h"
#include "events.h"
#include "engine_listener.h"
#include "firewall.h"
#include "js_error.h"
#include "js_value.h"
#include "netns.h"
#include "netns_dir.h"
#include "ns_handle.h"
#include "ops.h"
#include "route_socket.h"
#include "socket.h"
#include "worker.h"

namespace pw {

AddonData* GetAddonData(Napi::Env env) { return env.GetInstanceData<AddonData>(); }

namespace {

Napi::Value Init(const Napi::CallbackInfo& info) {
  if (!info[0].IsFunction()) throw Napi::TypeError::New(info.Env(), "init(makeError): a function is required");
  GetAddonData(info.Env())->makeError = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

// encode(op, args) -> Buffer: the request bytes, without touching the kernel.
Napi::Value Encode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = StringArg(info, 0, "op");
  const OpSpec* spec = FindOp(name);
  if (!spec) throw Napi::TypeError::New(env, "op: unknown operation '" + name + "'");
  Value args = FromJs(info[1], name);
  try {
    auto bytes = EncodeOp(*spec, args);
    return Napi::Buffer<uint8_t>::Copy(env, bytes.data(), bytes.size());
  } catch (...) {
    throw MakeJsError(env, CurrentExceptionToError(name));
  }
}

// decode(Buffer) -> events[]: parses a run of rtnetlink messages (for tests
// and fuzzing of the decoders).
Napi::Value Decode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsBuffer()) throw Napi::TypeError::New(env, "decode(buffer): a Buffer is required");
  auto buf = info[0].As<Napi::Buffer<uint8_t>>();
  // Copy into aligned storage: nlmsghdr access needs 4-byte alignment.
  std::vector<uint32_t> aligned((buf.Length() + 3) / 4);
  // An empty Buffer may have no storage: memcpy must not get a null pointer.
  if (buf.Length()) std::memcpy(aligned.data(), buf.Data(), buf.Length());
  Value out = Value::MakeArray();
  // Not NLMSG_OK/NLMSG_NEXT: see ForEachMessage (a last message with an
  // unaligned length made them read past the buffer).
  ForEachMessage(aligned.data(), buf.Length(), [&](const nlmsghdr* h) {
    Value ev = DecodeAny(h);
    if (!ev.IsUndefined()) out.Push(ev);
  });
  return ToJs(env, out);
}

Napi::Value OpNamesJs(const Napi::CallbackInfo& info) {
  Value out = Value::MakeArray();
  for (auto& n : OpNames()) out.Push(n);
  return ToJs(info.Env(), out);
}

Napi::Value NetnsCreate(const Napi::CallbackInfo& info) {
  std::string name = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  std::string dir = StringArg(info, 1, "runDir");
  // The new namespace comes with a netlink socket opened inside it, for the
  // first Handle on it (lib/core/netns.ts): that handle then costs no second trip
  // into the namespace.
  auto sock = std::make_shared<std::shared_ptr<NlSocket>>();
  return TaskWorker::Start(
      info.Env(), "netns.create", [name, dir, sock] { return CreateNetns(name, dir, sock.get()); },
      [sock](Napi::Env env, Value& v) -> Napi::Value {
        Napi::Object out = ToJs(env, v).As<Napi::Object>();
        out.Set("socket", RouteSocket::Wrap(env, std::move(*sock)));
        return out;
      },
      Lane::kNamespace);
}

// A namespace opened by `open` on a thread; with withSocket, a netlink
// socket opened inside it comes along in the same trip (see netnsOpenNamed).
// A general thread's job, not a namespace job (Lane::kNamespace), though its
// socket waits for a namespace thread: the path is opened here, a path can
// hang, and a namespace job may run on the routing thread (executor.h).
Napi::Value OpenNetnsMaybeWithSocket(Napi::Env env, bool withSocket, std::function<Value()> open) {
  if (!withSocket) return TaskWorker::Start(env, "netns.open", open);
  auto sock = std::make_shared<std::shared_ptr<NlSocket>>();
  return TaskWorker::Start(
      env, "netns.open",
      [open, sock] {
        Value v = open();
        try {
          *sock = std::make_shared<NlSocket>(static_cast<int>(v.Get("fd").AsNumber()));
        } catch (...) {
          sock->reset();
        }
        return v;
      },
      [sock](Napi::Env env, Value& v) -> Napi::Value {
        Napi::Object out = ToJs(env, v).As<Napi::Object>();
        // Moved out: the socket's only owner is then the JS object (closing it closes the fd at once).
        if (*sock) out.Set("socket", RouteSocket::Wrap(env, std::move(*sock)));
        return out;
      });
}

bool WithSocketArg(const Napi::CallbackInfo& info, size_t i) {
  return info.Length() > i && info[i].IsBoolean() && info[i].As<Napi::Boolean>().Value();
}

// netnsOpenPath(path, withSocket?): as netnsOpenNamed's withSocket.
Napi::Value NetnsOpenPath(const Napi::CallbackInfo& info) {
  std::string path = StringArg(info, 0, "path");
  return OpenNetnsMaybeWithSocket(info.Env(), WithSocketArg(info, 1), [path] { return OpenNetnsPath(path); });
}

Napi::Value NetnsOpenPid(const Napi::CallbackInfo& info) {
  int pid = IntArg(info, 0, "pid");
  return TaskWorker::Start(info.Env(), "netns.open", [pid] { return OpenNetnsPid(pid); });
}

Napi::Value NetnsOpenSelf(const Napi::CallbackInfo& info) {
  return TaskWorker::Start(info.Env(), "netns.open", [] { return OpenNetnsSelf(); });
}

// netnsDelete(name, runDir, {root?, dev?, ino?}): see netns_dir.h.
Napi::Value NetnsDelete(const Napi::CallbackInfo& info) {
  DeleteTarget t;
  t.name = StringArg(info, 0, "name");
  t.runDir = StringArg(info, 1, "runDir");
  if (info.Length() > 2 && info[2].IsObject()) {
    Napi::Object o = info[2].As<Napi::Object>();
    if (o.Get("root").IsString()) t.root = o.Get("root").As<Napi::String>().Utf8Value();
    if (o.Get("dev").IsNumber() && o.Get("ino").IsNumber()) {
      t.expect = true;
      t.expectDev = uint64_t(o.Get("dev").As<Napi::Number>().DoubleValue());
      t.expectIno = uint64_t(o.Get("ino").As<Napi::Number>().DoubleValue());
    }
  }
  return TaskWorker::Start(info.Env(), "netns.delete", [t] { return DeleteNamedNetns(t); });
}

// netnsOpenNamed(name, runDir, withSocket?): with withSocket, a netlink
// socket opened inside the namespace comes with it (as with netnsCreate), in
// the same trip to a thread: the Handle a caller opens next then costs no
// second one. A socket that cannot be opened is simply not there (the
// Handle then opens its own, and reports its own failure).
Napi::Value NetnsOpenNamed(const Napi::CallbackInfo& info) {
  std::string name = StringArg(info, 0, "name");
  std::string dir = StringArg(info, 1, "runDir");
  return OpenNetnsMaybeWithSocket(info.Env(), WithSocketArg(info, 2), [name, dir] { return OpenNamedNetns(name, dir); });
}

// netnsAlive(handle) -> {alive}: whether the namespace a handle names still exists (ns_handle.h).
Napi::Value NetnsAlive(const Napi::CallbackInfo& info) {
  std::string handle = StringArg(info, 0, "handle");
  return TaskWorker::Start(info.Env(), "netns.alive", [handle] { return NetnsAliveByHandle(handle); });
}

Napi::Value NetnsList(const Napi::CallbackInfo& info) {
  std::string dir = StringArg(info, 0, "runDir");
  return TaskWorker::Start(info.Env(), "netns.list", [dir] { return ListNamedNetns(dir); });
}

// Closing a namespace fd never waits: if it held the last reference, the
// kernel destroys the namespace later, on a workqueue. So it is done here,
// on the JS thread, without a trip to an executor thread (a bulk teardown closes
// thousands); the promise keeps the asynchronous signature.
Napi::Value FdClose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = IntArg(info, 0, "fd");
  auto deferred = Napi::Promise::Deferred::New(env);
  try {
    CloseFd(fd);
    deferred.Resolve(env.Undefined());
  } catch (...) {
    deferred.Reject(MakeJsError(env, CurrentExceptionToError("netns.close")).Value());
  }
  return deferred.Promise();
}

// stats() -> {dumpRetries, answerWaits, answersWhileWaiting, answerWaitUs,
// polls, settledByPoll, pollUs, polling, namespaceJobsOnRoutingThread,
// namespaceJobsOnNamespaceThreads}: process-wide counters, the answer
// wait and the polling budget in force, and whether this thread's loop is
// polling now (for tests and diagnostics).
Napi::Value Stats(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("dumpRetries", Napi::Number::New(info.Env(), double(DumpRetries())));
  const AnswerWaitCounts waits = CountAnswerWaits();
  o.Set("answerWaits", Napi::Number::New(info.Env(), double(waits.waits)));
  o.Set("answersWhileWaiting", Napi::Number::New(info.Env(), double(waits.answered)));
  o.Set("answerWaitUs", Napi::Number::New(info.Env(), double(AnswerWaitUs())));
  const PollCounts polls = CountPolls();
  o.Set("polls", Napi::Number::New(info.Env(), double(polls.polls)));
  o.Set("settledByPoll", Napi::Number::New(info.Env(), double(polls.settled)));
  o.Set("pollUs", Napi::Number::New(info.Env(), double(PollUs())));
  o.Set("polling", Napi::Boolean::New(info.Env(), Dispatcher::For(info.Env())->Polling()));
  const NamespaceJobCounts nsJobs = CountNamespaceJobs();
  o.Set("namespaceJobsOnRoutingThread", Napi::Number::New(info.Env(), double(nsJobs.onRoutingThread)));
  o.Set("namespaceJobsOnNamespaceThreads", Napi::Number::New(info.Env(), double(nsJobs.onNamespaceThreads)));
  return o;
}

// setAnswerWait(us): how long (0-1000 µs, 0 = never) the JS thread may wait
// for a quick routing answer, in place of PIPEWRIGHT_ANSWER_WAIT_US.
Napi::Value SetAnswerWait(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) throw Napi::TypeError::New(env, "setAnswerWait(us): us must be a number");
  double us = info[0].As<Napi::Number>().DoubleValue();
  if (!(us >= 0 && us <= 1000) || us != static_cast<double>(static_cast<uint32_t>(us)))
    throw Napi::RangeError::New(env, "setAnswerWait(us): us must be a whole number from 0 to 1000");
  SetAnswerWaitUs(static_cast<uint32_t>(us));
  return env.Undefined();
}

// sendGratuitousArp(nsfd, ifindex, ip, mac, count) -> Promise<{sent}>
Napi::Value GratuitousArp(const Napi::CallbackInfo& info) {
  int nsfd = IntArg(info, 0, "nsfd");
  int ifindex = IntArg(info, 1, "ifindex");
  std::string ip = StringArg(info, 2, "ip");
  std::string mac = StringArg(info, 3, "mac");
  int count = IntArg(info, 4, "count");
  return TaskWorker::Start(info.Env(), "arp.announce",
                           [=] { return SendGratuitousArp(nsfd, ifindex, ip, mac, count); }, nullptr, Lane::kAnnounce);
}

// firewallProbe(nsfd) -> Promise<{bridgeNfCallIptables, legacyTables,
// nftables, forwardChains}>: the bridge firewall's state, read inside the
// namespace (-1: our own) without starting a process.
Napi::Value FirewallProbe(const Napi::CallbackInfo& info) {
  int nsfd = IntArg(info, 0, "nsfd");
  return TaskWorker::Start(info.Env(), "firewall.probe", [nsfd] { return ProbeBridgeFirewall(nsfd); });
}

// decodeForwardChains(Buffer) -> chains[]: the forward base chains in a run
// of nf_tables chain messages (for tests of the decoder on captured dumps).
Napi::Value DecodeForwardChains(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsBuffer()) throw Napi::TypeError::New(env, "decodeForwardChains(buffer): a Buffer is required");
  auto buf = info[0].As<Napi::Buffer<uint8_t>>();
  std::vector<uint32_t> aligned((buf.Length() + 3) / 4);  // nlmsghdr access needs 4-byte alignment
  if (buf.Length()) std::memcpy(aligned.data(), buf.Data(), buf.Length());
  Value out = Value::MakeArray();
  ForEachMessage(aligned.data(), buf.Length(), [&](const nlmsghdr* h) {
    Value c = DecodeForwardChain(h);
    if (!c.IsUndefined()) out.Push(c);
  });
  return ToJs(env, out);
}

Napi::Object Register(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  env.SetInstanceData(data);
  Napi::Function socketClass = RouteSocket::Define(env);
  data->socketCtor = Napi::Persistent(socketClass);
  Napi::Function subClass = Subscription::Define(env);
  data->subscriptionCtor = Napi::Persistent(subClass);
  data->engineListenerCtor = Napi::Persistent(EngineListener::Define(env));

  exports.Set("init", Napi::Function::New(env, Init));
  exports.Set("encode", Napi::Function::New(env, Encode));
  exports.Set("decode", Napi::Function::New(env, Decode));
  exports.Set("opNames", Napi::Function::New(env, OpNamesJs));
  exports.Set("openSocket", Napi::Function::New(env, RouteSocket::Open));
  exports.Set("subscribe", Napi::Function::New(env, Subscription::Subscribe));
  exports.Set("netnsCreate", Napi::Function::New(env, NetnsCreate));
  exports.Set("netnsOpenPath", Napi::Function::New(env, NetnsOpenPath));
  exports.Set("netnsOpenPid", Napi::Function::New(env, NetnsOpenPid));
  exports.Set("netnsOpenSelf", Napi::Function::New(env, NetnsOpenSelf));
  exports.Set("netnsDelete", Napi::Function::New(env, NetnsDelete));
  exports.Set("netnsList", Napi::Function::New(env, NetnsList));
  exports.Set("netnsOpenNamed", Napi::Function::New(env, NetnsOpenNamed));
  exports.Set("netnsAlive", Napi::Function::New(env, NetnsAlive));
  exports.Set("fdClose", Napi::Function::New(env, FdClose));
  exports.Set("engineBind", Napi::Function::New(env, EngineListener::Bind));
  exports.Set("engineListen", Napi::Function::New(env, EngineListener::Listen));
  exports.Set("sendGratuitousArp", Napi::Function::New(env, GratuitousArp));
  exports.Set("firewallProbe", Napi::Function::New(env, FirewallProbe));
  exports.Set("decodeForwardChains", Napi::Function::New(env, DecodeForwardChains));
  exports.Set("stats", Napi::Function::New(env, Stats));
  exports.Set("setAnswerWait", Napi::Function::New(env, SetAnswerWait));
  RegisterStateExports(env, exports);
  return exports;
}

}  // namespace

}  // namespace pw

static Napi::Object RegisterPipewright(Napi::Env env, Napi::Object exports) { return pw::Register(env, exports); }

NODE_API_MODULE(pipewright, RegisterPipewright)
