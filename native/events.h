// Event subscriptions: a non-blocking NETLINK_ROUTE socket joined to
// multicast groups, bound to a namespace at creation and polled by the libuv
// loop, so events arrive without a thread and without blocking the loop.
#pragma once

#include <napi.h>
#include <uv.h>

#include <vector>

namespace pw {

class Subscription : public Napi::ObjectWrap<Subscription> {
 public:
  static Napi::Function Define(Napi::Env env);
  // JS: subscribe(nsfd, groups: string[], onEvents: (events[]) => void) -> Promise<Subscription>
  static Napi::Value Subscribe(const Napi::CallbackInfo& info);

  explicit Subscription(const Napi::CallbackInfo& info);
  ~Subscription() override;
  // Takes ownership of fd and starts polling it.
  void Start(Napi::Env env, int fd, Napi::Function onEvents);

 private:
  Napi::Value Close(const Napi::CallbackInfo& info);
  void Stop();
  static void OnReadable(uv_poll_t* handle, int status, int events);
  void Drain();

  int fd_ = -1;
  uv_poll_t* poll_ = nullptr;
  Napi::FunctionReference onEvents_;
  std::vector<uint8_t> rx_;
};

}  // namespace pw
