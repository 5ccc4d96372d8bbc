// Delivering finished jobs back to the JS thread, a few at a time.
//
// libuv runs every piece of thread-pool work that has finished in one go (as
// the addon's jobs once were), so a
// burst of completions (and the promise continuations each one sets off)
// held the event loop for milliseconds. Here finished jobs wait in a queue
// and the JS thread settles them one after another only until a small time
// budget is spent; the rest wait for the next turn of the loop, after timers
// and I/O have had theirs.
#pragma once

#include <napi.h>
#include <uv.h>

#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

namespace pw {

// Work that runs on an executor thread and is then settled on the JS thread
// of the environment that queued it.
class Job {
 public:
  virtual ~Job() = default;
  // Executor thread. Must not touch JS values.
  virtual void Run() = 0;
  // Instead of Run, when no thread could be started to run it.
  virtual void Refuse(const std::string& why) = 0;
  // JS thread, inside a handle scope and a callback scope (microtasks run
  // when it closes).
  virtual void Settle(Napi::Env env) = 0;

  // Who takes the finished job: the dispatcher's queue, or the JS thread
  // that is waiting for it (executor.h, SubmitAndWait). Executor only.
  std::atomic<int> taker{0};
  // What kind of request it is, for run_times.h; empty: not timed.
  std::string kind;
};

// How often a JS thread began polling for answers (Dispatcher::Expect), and
// how many answers polling settled before any wake-up; process-wide.
struct PollCounts {
  uint64_t polls;
  uint64_t settled;
};
PollCounts CountPolls();
// The longest a loop polls without an answer, µs (0: it never does).
uint32_t PollUs();

class Dispatcher {
 public:
  // The environment's dispatcher, made on first use. JS thread only.
  static std::shared_ptr<Dispatcher> For(Napi::Env env);

  // JS thread: a job is on its way (keeps the event loop alive until it is settled).
  void Expect();
  // Any thread: the job has run; settle it on the JS thread. After the
  // environment has gone, the job is dropped.
  void Post(std::unique_ptr<Job> job);
  // JS thread: a job expected was settled by its caller instead (no Post).
  void Unexpect();
  // JS thread: may the caller wait for a job now? Only when no other job is
  // on its way, and while this turn of the event loop has waited for less
  // than its budget (executor.h).
  bool MayWait();
  // JS thread: whether the loop is polling for answers now.
  bool Polling() const { return polling_; }

  Dispatcher(Napi::Env env);
  ~Dispatcher();

 private:
  static void OnAsync(uv_async_t* handle);
  static void OnCheck(uv_check_t* handle);
  static void OnIdle(uv_idle_t* handle);
  static void OnCleanup(void* arg);
  void Drain();
  bool Settle(Job& job);
  void Close();

  napi_env env_;
  napi_async_context context_ = nullptr;
  napi_ref resource_ = nullptr;
  uv_async_t* async_ = nullptr;  // freed by its close callback
  size_t expected_ = 0;          // JS thread only: posted or running, not yet settled
  uv_check_t* check_ = nullptr;  // counts the loop's turns; freed by its close callback
  uint64_t turns_ = 0;           // JS thread only: turns of the loop so far
  uint64_t turnSeen_ = 0;        // JS thread only: the turn MayWait last saw
  uint64_t turnStartNs_ = 0;     // JS thread only: when that turn's first wait began
  // While jobs are on their way, the loop polls instead of sleeping (see
  // dispatch.cc, PollNs): JS thread only.
  uv_idle_t* idle_ = nullptr;     // freed by its close callback
  bool polling_ = false;
  uint64_t lastProgressNs_ = 0;   // when polling began, or last settled a job
  uint64_t drainTurn_ = ~0ULL;    // JS thread only: the turn Drain last ran in
  uint64_t drainSpentNs_ = 0;     // JS thread only: what settling has taken of that turn

  std::mutex mu_;
  std::deque<std::unique_ptr<Job>> done_;  // guarded by mu_
  bool closed_ = false;                    // guarded by mu_
  // Threads between releasing mu_ and their uv_async_send: Close waits for
  // them before it frees the handle.
  std::atomic<int> sending_{0};
};

}  // namespace pw
