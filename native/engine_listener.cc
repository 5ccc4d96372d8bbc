#include "engine_listener.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "addon_data.h"
#include "errors.h"
#include "js_error.h"
#include "worker.h"

namespace pw {

namespace {

// A connection's poll handle knows its listener and its id: the map entry
// may go (destroy) while libuv still holds the handle until uv_close ends.
struct ConnPoll {
  uv_poll_t poll;
  EngineListener* self;
  uint32_t id;
};

void FreeConnPoll(uv_handle_t* h) { delete reinterpret_cast<ConnPoll*>(h); }
void FreePoll(uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); }

// "dev:ino" of /proc/PID/ns/KIND, as a stat of that path gives it (what
// the engine compares with its own); empty when it cannot be read.
std::string NsIdAt(int nsDir, const char* kind) {
  struct stat st;
  if (fstatat(nsDir, kind, &st, 0) != 0) return "";
  return std::to_string(static_cast<uint64_t>(st.st_dev)) + ":" + std::to_string(static_cast<uint64_t>(st.st_ino));
}

// The peer as the kernel recorded it when it connected, and the namespaces
// its process is in now (one lookup of /proc/PID for the three).
Napi::Object Identify(Napi::Env env, int fd) {
  Napi::Object o = Napi::Object::New(env);
  struct ucred cred {};
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    o.Set("error", std::string("SO_PEERCRED: ") + strerror(errno));
    return o;
  }
  o.Set("pid", static_cast<double>(cred.pid));
  o.Set("uid", static_cast<double>(cred.uid));
  o.Set("gid", static_cast<double>(cred.gid));
  if (cred.pid <= 0) return o;
  std::string dir = "/proc/" + std::to_string(cred.pid) + "/ns";
  int nsDir = open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (nsDir < 0) {
    // A process gone meanwhile has no /proc entry; anything else (out of
    // fds) is said, so that a refusal names the real reason.
    if (errno != ENOENT && errno != ESRCH) o.Set("nsError", "open " + dir + ": " + strerror(errno));
    return o;
  }
  for (const char* kind : {"net", "mnt", "time"}) {
    std::string id = NsIdAt(nsDir, kind);
    if (!id.empty()) o.Set(kind, id);
  }
  close(nsDir);
  return o;
}

}  // namespace

Napi::Function EngineListener::Define(Napi::Env env) {
  return DefineClass(env, "EngineListener",
                     {InstanceMethod("write", &EngineListener::Write), InstanceMethod("end", &EngineListener::End),
                      InstanceMethod("destroy", &EngineListener::Destroy), InstanceMethod("close", &EngineListener::Close)});
}

EngineListener::EngineListener(const Napi::CallbackInfo& info) : Napi::ObjectWrap<EngineListener>(info) {}

EngineListener::~EngineListener() {
  StopListening(false);
  while (!conns_.empty()) CloseConn(conns_.begin()->first);
}

Napi::Value EngineListener::Listen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber() || !info[1].IsFunction())
    throw Napi::TypeError::New(env, "engineListen(fd, onEvent): fd must be a listening socket's fd, onEvent a function");
  int fd = info[0].As<Napi::Number>().Int32Value();
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
    throw Napi::Error::New(env, std::string("engineListen: fd ") + std::to_string(fd) + " cannot be made non-blocking: " + strerror(errno));
  Napi::Object obj = GetAddonData(env)->engineListenerCtor.New({});
  Unwrap(obj)->Start(env, fd, info[1].As<Napi::Function>());
  return obj;
}

Napi::Value EngineListener::Bind(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw Napi::TypeError::New(env, "engineBind(path): path must be a string");
  std::string path = info[0].As<Napi::String>().Utf8Value();
  try {
    struct sockaddr_un addr {};
    addr.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof addr.sun_path)
      FailAt(ENAMETOOLONG, "bind", path, "a unix socket path must be 1 to " + std::to_string(sizeof addr.sun_path - 1) + " bytes");
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) FailAt(errno, "socket", path, "cannot make the engine's socket");
    // The backlog Node's net servers use: clients arriving together wait here, not refused.
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd, 511) != 0) {
      int e = errno;
      close(fd);
      FailAt(e, "bind", path, "cannot listen on the engine's socket");
    }
    return Napi::Number::New(env, fd);
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    throw MakeJsError(env, CurrentExceptionToError("engine.bind"));
  }
}

void EngineListener::Start(Napi::Env env, int fd, Napi::Function onEvent) {
  fd_ = fd;
  onEvent_ = Napi::Persistent(onEvent);
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  poll_ = new uv_poll_t;
  uv_poll_init(loop, poll_, fd_);
  poll_->data = this;
  uv_poll_start(poll_, UV_READABLE, OnListenReadable);
  Ref();  // alive while listening, even if JS drops it
}

void EngineListener::Emit(Napi::Env env, const char* kind, uint32_t id, napi_value arg) {
  if (onEvent_.IsEmpty()) return;
  // MakeCallback runs microtasks after the call, as a normal async callback would.
  try {
    onEvent_.MakeCallback(env.Global(), {Napi::String::New(env, kind), Napi::Number::New(env, id), arg ? arg : env.Undefined()});
  } catch (const Napi::Error& e) {
    napi_fatal_exception(env, e.Value());
  }
}

void EngineListener::OnListenReadable(uv_poll_t* handle, int status, int) {
  auto* self = static_cast<EngineListener*>(handle->data);
  if (status < 0) return;
  self->AcceptAll();
}

void EngineListener::AcceptAll() {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  while (fd_ >= 0) {
    int c = accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      int e = errno;
      // Out of fds (or worse): the socket, still readable, would call here
      // in a loop. A client waits until its deadline, then runs its command
      // itself.
      PauseAccepting();
      Emit(env, "error", 0, Napi::String::New(env, std::string("accept: ") + strerror(e)));
      return;
    }
    uint32_t id = nextId_++;
    auto* cp = new ConnPoll{{}, this, id};
    if (uv_poll_init(loop, &cp->poll, c) != 0) {
      // Never polled, so never closed through libuv: freed here.
      delete cp;
      close(c);
      Emit(env, "error", 0, Napi::String::New(env, "accept: the loop cannot poll the new connection"));
      continue;
    }
    Conn& conn = conns_[id];
    conn.fd = c;
    conn.poll = &cp->poll;
    uv_poll_start(conn.poll, UV_READABLE, OnConnEvent);
    Emit(env, "connection", id, Identify(env, c));
  }
}

void EngineListener::OnConnEvent(uv_poll_t* handle, int status, int events) {
  auto* cp = reinterpret_cast<ConnPoll*>(handle);
  cp->self->ConnEvent(cp->id, status, events);
}

void EngineListener::ConnEvent(uint32_t id, int status, int events) {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  // The peer is gone, or the socket failed: nothing more is read or written.
  auto broken = [&] {
    Conn& c = conns_.at(id);
    bool wasReading = c.reading;
    c.reading = false;
    c.out.clear();
    if (c.ending) {
      CloseConn(id);
      return Emit(env, "closed", id, Napi::Boolean::New(env, false));
    }
    Repoll(c);
    if (wasReading) Emit(env, "end", id, nullptr);
  };
  if (status < 0) return broken();
  if ((events & UV_WRITABLE) && !it->second.out.empty()) {
    Conn& c = it->second;
    if (!Flush(c)) return broken();
    if (c.out.empty()) {
      if (c.ending) {
        CloseConn(id);
        return Emit(env, "closed", id, Napi::Boolean::New(env, true));
      }
      Repoll(c);
      Emit(env, "drained", id, nullptr);
      it = conns_.find(id);
      if (it == conns_.end()) return;
    }
  }
  if (!(events & UV_READABLE) || !it->second.reading) return;
  char buf[65536];
  for (;;) {
    it = conns_.find(id);
    if (it == conns_.end() || !it->second.reading) return;
    ssize_t n = read(it->second.fd, buf, sizeof buf);
    if (n > 0) {
      Emit(env, "data", id, Napi::Buffer<char>::Copy(env, buf, static_cast<size_t>(n)));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    // 0: the peer closed its end; an error (ECONNRESET): it is gone.
    if (n == 0) {
      Conn& c = it->second;
      c.reading = false;
      Repoll(c);
      Emit(env, "end", id, nullptr);
      return;
    }
    return broken();
  }
}

bool EngineListener::Flush(Conn& c) {
  size_t done = 0;
  while (done < c.out.size()) {
    ssize_t n = send(c.fd, c.out.data() + done, c.out.size() - done, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    return false;
  }
  c.out.erase(0, done);
  return true;
}

void EngineListener::Repoll(Conn& c) {
  int flags = (c.reading ? UV_READABLE : 0) | (c.out.empty() ? 0 : UV_WRITABLE);
  if (flags == 0) uv_poll_stop(c.poll);
  else uv_poll_start(c.poll, flags, OnConnEvent);
}

Napi::Value EngineListener::Write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber() || !info[1].IsBuffer()) throw Napi::TypeError::New(env, "write(id, buffer)");
  auto it = conns_.find(info[0].As<Napi::Number>().Uint32Value());
  if (it == conns_.end() || it->second.ending) return Napi::Number::New(env, -1);
  Conn& c = it->second;
  auto data = info[1].As<Napi::Buffer<char>>();
  bool queuedBefore = !c.out.empty();
  c.out.append(data.Data(), data.Length());
  if (queuedBefore) return Napi::Number::New(env, 0);
  if (!Flush(c)) {
    // Broken (the peer is gone): nothing more goes out; the poll reports
    // (or reported) the peer's end.
    c.out.clear();
    return Napi::Number::New(env, -1);
  }
  if (c.out.empty()) return Napi::Number::New(env, 1);
  Repoll(c);
  return Napi::Number::New(env, 0);
}

Napi::Value EngineListener::End(const Napi::CallbackInfo& info) {
  if (!info[0].IsNumber()) throw Napi::TypeError::New(info.Env(), "end(id)");
  uint32_t id = info[0].As<Napi::Number>().Uint32Value();
  auto it = conns_.find(id);
  if (it == conns_.end()) return Napi::Boolean::New(info.Env(), true);
  it->second.ending = true;
  if (!it->second.out.empty()) return Napi::Boolean::New(info.Env(), false);
  CloseConn(id);
  return Napi::Boolean::New(info.Env(), true);
}

Napi::Value EngineListener::Destroy(const Napi::CallbackInfo& info) {
  if (!info[0].IsNumber()) throw Napi::TypeError::New(info.Env(), "destroy(id)");
  CloseConn(info[0].As<Napi::Number>().Uint32Value());
  return info.Env().Undefined();
}

Napi::Value EngineListener::Close(const Napi::CallbackInfo& info) {
  StopListening(true);
  return info.Env().Undefined();
}

void EngineListener::CloseConn(uint32_t id) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  uv_poll_stop(it->second.poll);
  uv_close(reinterpret_cast<uv_handle_t*>(it->second.poll), FreeConnPoll);
  close(it->second.fd);
  conns_.erase(it);
  // An fd is free again: accept what waited while there was none.
  if (paused_) ResumeAccepting();
}

void EngineListener::PauseAccepting() {
  if (!poll_ || paused_) return;
  uv_poll_stop(poll_);
  paused_ = true;
  if (!retry_) {
    retry_ = new uv_timer_t;
    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(Env(), &loop);
    uv_timer_init(loop, retry_);
    retry_->data = this;
  }
  uv_timer_start(retry_, [](uv_timer_t* t) { static_cast<EngineListener*>(t->data)->ResumeAccepting(); }, 100, 0);
}

void EngineListener::ResumeAccepting() {
  if (!paused_) return;
  paused_ = false;
  if (retry_) uv_timer_stop(retry_);
  if (poll_) uv_poll_start(poll_, UV_READABLE, OnListenReadable);
}

void EngineListener::StopListening(bool unref) {
  if (retry_) {
    uv_timer_stop(retry_);
    uv_close(reinterpret_cast<uv_handle_t*>(retry_), [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
    retry_ = nullptr;
  }
  paused_ = false;
  if (poll_) {
    uv_poll_stop(poll_);
    uv_close(reinterpret_cast<uv_handle_t*>(poll_), FreePoll);
    poll_ = nullptr;
    if (unref) Unref();
  }
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

}  // namespace pw
