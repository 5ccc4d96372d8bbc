// Event subscriptions: a non-blocking NETLINK_ROUTE socket joined to
// multicast groups, bound to a namespace at creation and polled by the libuv
// loop, so events arrive without a thread and without blocking the loop.
#pragma once

#include <napi.h>
#include <linux/netlink.h>
#include <uv.h>

#include <unordered_set>
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
  // JS: followLinks(add: number[], remove: number[], all?: boolean): link
  // events are passed on only for the links followed (all: every link,
  // the default). Others are dropped before they are decoded.
  Napi::Value FollowLinks(const Napi::CallbackInfo& info);
  void Stop();
  bool Unfollowed(const nlmsghdr* h) const;
  static void OnReadable(uv_poll_t* handle, int status, int events);
  void Drain();

  int fd_ = -1;
  uv_poll_t* poll_ = nullptr;
  Napi::FunctionReference onEvents_;
  // The links whose events are passed on, when filtering (JS thread only:
  // Drain runs there too).
  bool linkFilter_ = false;
  std::unordered_set<int> links_;
};

}  // namespace pw
