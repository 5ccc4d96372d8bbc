// The JS face of NlSocket: RouteSocket.run(ops) runs an ordered batch of
// operations in one hop to the netlink executor thread (executor.h) and
// reports exactly which completed.
#pragma once

#include <napi.h>

#include <memory>

#include "socket.h"

namespace pw {

class RouteSocket : public Napi::ObjectWrap<RouteSocket> {
 public:
  static Napi::Function Define(Napi::Env env);
  // JS: openSocket(nsfd) -> Promise<RouteSocket>; -1 = this process's namespace.
  static Napi::Value Open(const Napi::CallbackInfo& info);
  // The JS object for a socket opened elsewhere (see netnsCreate).
  static Napi::Object Wrap(Napi::Env env, std::shared_ptr<NlSocket> sock);

  explicit RouteSocket(const Napi::CallbackInfo& info);

 private:
  // run([{op, args}, ...]) -> Promise<results[]>. On failure the promise
  // rejects with a NetlinkError whose `completed` holds the results of the
  // operations that succeeded and `failedIndex` the one that did not.
  Napi::Value Run(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  std::shared_ptr<NlSocket> sock_;
};

}  // namespace pw
