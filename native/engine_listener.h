// The engine's socket, served from the event loop's thread without Node's
// net streams. Every request is a fresh connection from a fresh client
// process (one per CLI or CNI call), and a Node net.Socket with its stream
// machinery cost the engine ~0.2 ms of CPU per connection, more than the
// rest of a VERSION call's dispatch (docs/performance.md, change 37). Here
// a connection is an fd polled by libuv: accepted, identified (SO_PEERCRED
// and the peer's namespaces, read from the kernel at accept time, never from
// the peer), read, written and closed, each event handed to one JS callback.
#pragma once

#include <napi.h>
#include <uv.h>

#include <cstdint>
#include <map>
#include <string>

namespace pw {

class EngineListener : public Napi::ObjectWrap<EngineListener> {
 public:
  static Napi::Function Define(Napi::Env env);
  // JS: engineListen(fd, onEvent) -> EngineListener. Takes the listening
  // unix socket fd (made non-blocking here) and polls it; if it throws, the
  // fd is still the caller's. onEvent(kind, id,
  // arg): 'connection' (arg: {pid, uid, gid, net, mnt, time}: the peer as
  // the kernel recorded it; a namespace it could not read is absent),
  // 'data' (arg: a Buffer), 'end' (the peer closed or failed: nothing more
  // comes; destroy() it), 'drained' (what write() queued is in the socket),
  // 'closed' (a connection end() left open is closed; arg: whether all its
  // bytes went out), 'error' (arg: a message: accepting failed; the
  // listener goes on).
  static Napi::Value Listen(const Napi::CallbackInfo& info);
  // JS: engineBind(path) -> fd: a new unix stream socket bound to path and
  // listening (the file gets the process's umask: the caller narrows it).
  static Napi::Value Bind(const Napi::CallbackInfo& info);

  explicit EngineListener(const Napi::CallbackInfo& info);
  ~EngineListener() override;

 private:
  struct Conn {
    int fd = -1;
    uv_poll_t* poll = nullptr;
    std::string out;        // bytes accepted by write() not yet in the socket
    bool reading = true;    // until the peer's end
    bool ending = false;    // end(): close once `out` is written
  };

  void Start(Napi::Env env, int fd, Napi::Function onEvent);
  // write(id, buf) -> 1 when every byte is in the socket now, 0 when some
  // wait ('drained' follows), -1 when the connection is gone or broken.
  Napi::Value Write(const Napi::CallbackInfo& info);
  // end(id) -> true when closed now (all written); false when it closes
  // once the rest is in the socket ('closed' follows).
  Napi::Value End(const Napi::CallbackInfo& info);
  // destroy(id): closes now; queued bytes are dropped.
  Napi::Value Destroy(const Napi::CallbackInfo& info);
  // close(): stops listening and closes the listening fd; connections open
  // go on (destroy them one by one). The last are closed with the object.
  Napi::Value Close(const Napi::CallbackInfo& info);

  static void OnListenReadable(uv_poll_t* handle, int status, int events);
  static void OnConnEvent(uv_poll_t* handle, int status, int events);
  void AcceptAll();
  void ConnEvent(uint32_t id, int status, int events);
  // Writes as much of conn.out as the socket takes; false on a write error.
  static bool Flush(Conn& c);
  static void Repoll(Conn& c);
  void CloseConn(uint32_t id);
  // Stops accepting for a while (out of fds, or accept failing): resumed when a connection
  // closes, or after 100 ms.
  void PauseAccepting();
  void ResumeAccepting();
  void StopListening(bool unref);
  void Emit(Napi::Env env, const char* kind, uint32_t id, napi_value arg);

  int fd_ = -1;
  uv_poll_t* poll_ = nullptr;
  uv_timer_t* retry_ = nullptr;
  bool paused_ = false;
  uint32_t nextId_ = 1;
  std::map<uint32_t, Conn> conns_;
  Napi::FunctionReference onEvent_;
};

}  // namespace pw
