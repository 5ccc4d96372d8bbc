#include "route_socket.h"

#include <cerrno>

#include "addon_data.h"
#include "args.h"
#include "js_error.h"
#include "js_value.h"
#include "ops.h"
#include "worker.h"

namespace pw {

namespace {

struct PendingOp {
  const OpSpec* spec;
  pw::Value args;
};

// What an error is about, for its message: the name, else the index or address.
std::string ObjectOf(const Value& args) {
  for (const char* key : {"name", "index", "address", "dst", "to", "from"}) {
    const Value& v = args.Get(key);
    if (v.IsString()) return v.AsString();
  }
  const Value& idx = args.Get("index");
  if (idx.IsNumber()) return "ifindex " + std::to_string(static_cast<long>(idx.AsNumber()));
  return "";
}

}  // namespace

Napi::Function RouteSocket::Define(Napi::Env env) {
  return DefineClass(env, "RouteSocket",
                     {InstanceMethod("run", &RouteSocket::Run), InstanceMethod("close", &RouteSocket::Close)});
}

RouteSocket::RouteSocket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RouteSocket>(info) {}

Napi::Value RouteSocket::Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int nsfd = info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : -1;
  auto holder = std::make_shared<std::shared_ptr<NlSocket>>();
  return TaskWorker::Start(
      env, "handle.open",
      [nsfd, holder]() {
        *holder = std::make_shared<NlSocket>(nsfd);
        return pw::Value();
      },
      // Moved out: the JS object is then the socket's only owner, and closing it closes the fd at once.
      [holder](Napi::Env env, pw::Value&) -> Napi::Value { return Wrap(env, std::move(*holder)); },
      // Inside another namespace: the whole job on a namespace thread, not a
      // general thread waiting for one in the middle (executor.h).
      nsfd >= 0 ? Lane::kNamespace : Lane::kGeneral);
}

Napi::Object RouteSocket::Wrap(Napi::Env env, std::shared_ptr<NlSocket> sock) {
  Napi::Object obj = GetAddonData(env)->socketCtor.New({});
  Unwrap(obj)->sock_ = std::move(sock);
  return obj;
}

Napi::Value RouteSocket::Run(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArray()) throw Napi::TypeError::New(env, "run(ops): ops must be an array of {op, args}");
  // The whole list crosses as one JSON text (js_value.h): one call into V8
  // instead of several per argument, and one string for the collector
  // instead of one per key.
  pw::Value list = FromJsViaJson(info[0]);
  if (!list.IsArray()) throw Napi::TypeError::New(env, "run(ops): ops must be an array of {op, args}");
  auto ops = std::make_shared<std::vector<PendingOp>>();
  for (size_t i = 0; i < list.AsArray().size(); ++i) {
    const pw::Value& item = list.AsArray()[i];
    if (!item.IsObject()) throw Napi::TypeError::New(env, "ops[" + std::to_string(i) + "] must be {op, args}");
    const pw::Value& op = item.Get("op");
    std::string name = op.IsString() ? op.AsString() : "";
    const OpSpec* spec = FindOp(name);
    if (!spec) throw Napi::TypeError::New(env, "ops[" + std::to_string(i) + "].op: unknown operation '" + name + "'");
    // Unknown argument keys are refused here, before anything of the batch
    // is sent (a misspelled key would otherwise be a dropped setting).
    try {
      CheckArgKeys(name, item.Get("args"));
    } catch (...) {
      NlError e = CurrentExceptionToError(name);
      e.extra = pw::Value::MakeObject();
      e.extra.Set("completed", pw::Value::MakeArray());
      e.extra.Set("failedIndex", static_cast<uint32_t>(i));
      throw MakeJsError(env, e);
    }
    ops->push_back({spec, item.Get("args")});
  }
  std::shared_ptr<NlSocket> sock = sock_;
  if (!sock) throw Napi::Error::New(env, "the socket is closed");
  // A batch that deletes a link waits for the kernel's teardown: beside the
  // routing thread, not on it (executor.h). The socket's own lock keeps its
  // requests apart; the Handle keeps one handle's batches in order.
  bool unlinks = false;
  bool cookiesOnly = !ops->empty();
  std::string kind;  // the op names in order: how long such a batch takes (run_times.h)
  for (const PendingOp& op : *ops) {
    unlinks = unlinks || std::string(op.spec->name) == "link.del" || std::string(op.spec->name) == "link.delGroup";
    cookiesOnly = cookiesOnly && std::string(op.spec->name) == "netns.cookie";
    if (!kind.empty()) kind += '+';
    kind += op.spec->name;
  }
  auto runAll = [sock, ops]() {
    pw::Value results = pw::Value::MakeArray();
    for (size_t i = 0; i < ops->size(); ++i) {
      const PendingOp& op = (*ops)[i];
      try {
        results.Push(RunOp(*sock, *op.spec, op.args));
      } catch (...) {
        NlError e = CurrentExceptionToError(op.spec->name);
        e.op = op.spec->name;
        if (e.object.empty()) e.object = ObjectOf(op.args);
        e.extra = pw::Value::MakeObject();
        e.extra.Set("completed", results);
        e.extra.Set("failedIndex", static_cast<uint32_t>(i));
        throw NlException{e};
      }
    }
    return results;
  };
  // A batch that only reads what the socket learned as it was made (its
  // namespace's cookie) needs neither the kernel nor a thread: answered
  // here, as a promise like any other, without a trip to the routing thread.
  if (cookiesOnly) {
    auto deferred = Napi::Promise::Deferred::New(env);
    try {
      deferred.Resolve(ToJs(env, runAll()));
    } catch (...) {
      deferred.Reject(MakeJsError(env, CurrentExceptionToError("netns.cookie")).Value());
    }
    return deferred.Promise();
  }
  return TaskWorker::Start(env, "batch", std::move(runAll), nullptr, unlinks ? Lane::kUnlink : Lane::kNet, std::move(kind));
}

Napi::Value RouteSocket::Close(const Napi::CallbackInfo& info) {
  // In-flight batches hold their own reference: the fd closes when the last
  // of them finishes, without the JS thread waiting for it.
  sock_.reset();
  return info.Env().Undefined();
}

}  // namespace pw
