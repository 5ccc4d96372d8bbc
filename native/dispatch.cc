#include "dispatch.h"

#include <sched.h>

#include <cstdlib>
#include <thread>

#include "addon_data.h"

namespace pw {

namespace {

// How long one turn of the event loop may spend settling jobs. A job's
// settling includes the promise continuations it sets off (typically tens
// of microseconds, the next request of an attach); past the budget the
// remaining jobs wait until timers and I/O have run.
constexpr uint64_t kTurnBudgetNs = 500 * 1000;

// How long one turn of the event loop may go on from the first call that
// waited for its answer (executor.h, SubmitAndWait): the waits and the JS
// between them. Past it, calls return pending promises until the loop turns.
constexpr uint64_t kWaitTurnBudgetNs = 500 * 1000;

// How long the event loop goes on turning without sleeping while jobs are
// on their way and none has finished: PIPEWRIGHT_POLL_US (0 turns it off;
// at most 5000), else kPollNs. Decided once.
constexpr uint64_t kPollNs = 1000 * 1000;
// Polling is for a caller's chain of requests, a few at a time. With more
// on their way the loop has their answers to settle anyway, and its yields
// to the threads that run them (OnIdle) would let a busy host's threads
// hold it up: it sleeps and is woken as before.
constexpr size_t kPollMaxExpected = 8;

std::atomic<uint64_t> polls{0};
std::atomic<uint64_t> settledByPoll{0};

uint64_t PollNs() {
  static const uint64_t ns = [] {
    const char* v = getenv("PIPEWRIGHT_POLL_US");
    char* end = nullptr;
    long us = v && *v ? strtol(v, &end, 10) : -1;
    if (us < 0 || (end && *end) || us > 5000) return kPollNs;
    return static_cast<uint64_t>(us) * 1000;
  }();
  return ns;
}

// For setting up, called from JS: a failure becomes a JS exception.
void Check(napi_env env, napi_status s, const char* what) {
  if (s != napi_ok) throw Napi::Error::New(env, std::string("pipewright: ") + what + " failed");
}

}  // namespace

PollCounts CountPolls() { return {polls.load(), settledByPoll.load()}; }

uint32_t PollUs() { return static_cast<uint32_t>(PollNs() / 1000); }

std::shared_ptr<Dispatcher> Dispatcher::For(Napi::Env env) {
  AddonData* data = GetAddonData(env);
  if (!data->dispatcher) {
    auto d = std::make_shared<Dispatcher>(env);
    // The cleanup hook closes the loop handle when the environment goes
    // (process exit, or a worker thread ending); it holds its own reference.
    auto* hold = new std::shared_ptr<Dispatcher>(d);
    napi_status added = napi_add_env_cleanup_hook(env, OnCleanup, hold);
    if (added != napi_ok) {
      OnCleanup(hold);
      Check(env, added, "napi_add_env_cleanup_hook");
    }
    data->dispatcher = std::move(d);
  }
  return data->dispatcher;
}

Dispatcher::Dispatcher(Napi::Env env) : env_(env) {
  // One async resource for all settling, so async_hooks and
  // AsyncLocalStorage see a callback scope as for any async completion.
  napi_value resource, name;
  Check(env_, napi_create_object(env_, &resource), "napi_create_object");
  Check(env_, napi_create_string_utf8(env_, "pipewright", NAPI_AUTO_LENGTH, &name), "napi_create_string_utf8");
  Check(env_, napi_create_reference(env_, resource, 1, &resource_), "napi_create_reference");
  Check(env_, napi_async_init(env_, resource, name, &context_), "napi_async_init");
  uv_loop_t* loop = nullptr;
  Check(env_, napi_get_uv_event_loop(env_, &loop), "napi_get_uv_event_loop");
  auto* async = new uv_async_t;
  async->data = this;
  if (uv_async_init(loop, async, OnAsync) != 0) {
    delete async;
    Check(env_, napi_generic_failure, "uv_async_init");
  }
  async_ = async;
  // Only jobs on their way keep the process alive (Expect).
  uv_unref(reinterpret_cast<uv_handle_t*>(async_));
  // Counts the loop's turns for MayWait (a check handle runs once a turn,
  // after polling for I/O); it never keeps the process alive.
  auto* check = new uv_check_t;
  check->data = this;
  if (uv_check_init(loop, check) != 0) {
    delete check;
    Check(env_, napi_generic_failure, "uv_check_init");
  }
  uv_check_start(check, OnCheck);  // fails only without a callback
  uv_unref(reinterpret_cast<uv_handle_t*>(check));
  check_ = check;
  auto* idle = new uv_idle_t;
  idle->data = this;
  if (uv_idle_init(loop, idle) != 0) {
    delete idle;
    Check(env_, napi_generic_failure, "uv_idle_init");
  }
  // Started only while jobs are on their way (Expect); never keeps the process alive.
  uv_unref(reinterpret_cast<uv_handle_t*>(idle));
  idle_ = idle;
}

// Runs when the last reference goes, which may be on an executor thread
// after the environment has gone: nothing JS-related here (Close did that).
Dispatcher::~Dispatcher() = default;

void Dispatcher::Expect() {
  if (async_ && expected_++ == 0) uv_ref(reinterpret_cast<uv_handle_t*>(async_));
  // An active idle handle makes the loop poll for I/O without waiting: it
  // turns, settling what finished (OnIdle), instead of putting its thread to
  // sleep until the answer's wake-up. On a VM a sleeping thread's CPU halts,
  // and waking it costs the waker and the woken tens of microseconds per
  // answer (docs/performance.md).
  if (idle_ && !polling_ && expected_ <= kPollMaxExpected && PollNs() > 0) {
    polling_ = true;
    polls.fetch_add(1, std::memory_order_relaxed);
    lastProgressNs_ = uv_hrtime();
    uv_idle_start(idle_, OnIdle);
  }
}

void Dispatcher::OnIdle(uv_idle_t* handle) {
  auto* d = static_cast<Dispatcher*>(handle->data);
  const auto waiting = [d] {
    std::lock_guard<std::mutex> lock(d->mu_);
    return d->closed_ ? 0 : d->done_.size();
  };
  size_t n = waiting();
  if (n == 0) {
    // The thread that runs the job was likely woken onto this CPU (the
    // kernel favours the waker's): let it run rather than turn past it,
    // then look again (what it finished meanwhile is settled now, not
    // after a trip through the loop's poll for its wake-up).
    sched_yield();
    n = waiting();
  }
  const uint64_t now = uv_hrtime();
  if (n > 0) {
    const size_t before = d->expected_;
    d->Drain();
    // Settled here, before the answers' wake-up came (continuations may have asked again: expected_ then grew).
    settledByPoll.fetch_add(before > d->expected_ ? before - d->expected_ : 1, std::memory_order_relaxed);
    d->lastProgressNs_ = now;
  }
  // Nothing left on its way, or a wait longer than polling is worth (a
  // lock held elsewhere, a link's deletion): the loop sleeps again, and the
  // answer wakes it as before.
  if (d->idle_ && (d->expected_ == 0 || d->expected_ > kPollMaxExpected || now - d->lastProgressNs_ > PollNs())) {
    uv_idle_stop(d->idle_);
    d->polling_ = false;
  }
}

void Dispatcher::Unexpect() {
  if (async_ && --expected_ == 0) uv_unref(reinterpret_cast<uv_handle_t*>(async_));
}

void Dispatcher::OnCheck(uv_check_t* handle) { ++static_cast<Dispatcher*>(handle->data)->turns_; }

bool Dispatcher::MayWait() {
  // Only a caller with nothing else on its way waits: with other jobs in
  // flight, their answers would wait behind the wait (and concurrent
  // callers lost 10-20 % when they waited too).
  if (!async_ || expected_ != 0) return false;
  {
    // A job settled by its caller must not overtake one finished before it.
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_ || !done_.empty()) return false;
  }
  if (turns_ != turnSeen_ || turnStartNs_ == 0) {
    turnSeen_ = turns_;
    turnStartNs_ = uv_hrtime();
    return true;
  }
  return uv_hrtime() - turnStartNs_ < kWaitTurnBudgetNs;
}

void Dispatcher::Post(std::unique_ptr<Job> job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!closed_) {
      done_.push_back(std::move(job));
      sending_.fetch_add(1);
    }
  }
  if (job) return;  // the environment is gone: nobody to settle it for
  // Outside the lock (it is a syscall: the JS thread must not wait on it).
  // Sends before the loop gets to them coalesce into one callback.
  uv_async_send(async_);
  sending_.fetch_sub(1);
}

void Dispatcher::OnAsync(uv_async_t* handle) { static_cast<Dispatcher*>(handle->data)->Drain(); }

void Dispatcher::Drain() {
  // One budget per turn of the loop, shared by the turn's callers (the idle
  // poll and the async wake-up may both come in one turn).
  if (drainTurn_ != turns_) {
    drainTurn_ = turns_;
    drainSpentNs_ = 0;
  }
  const uint64_t start = uv_hrtime();
  const auto spent = [&] { return drainSpentNs_ + (uv_hrtime() - start); };
  for (;;) {
    if (spent() >= kTurnBudgetNs) {
      drainSpentNs_ = spent();
      std::lock_guard<std::mutex> lock(mu_);
      if (!closed_ && !done_.empty()) uv_async_send(async_);  // the rest next turn
      return;
    }
    std::unique_ptr<Job> job;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_ || done_.empty()) break;
      job = std::move(done_.front());
      done_.pop_front();
    }
    // No longer expected before it settles: the continuations that run
    // while it settles may ask again, and must not find it on its way
    // (MayWait). A job they start refs the handle again.
    if (--expected_ == 0) uv_unref(reinterpret_cast<uv_handle_t*>(async_));
    if (!Settle(*job)) return;  // the environment is ending: the rest go with it
  }
  drainSpentNs_ = spent();
}

// Raw N-API calls that report rather than throw: this runs from libuv,
// where an exception could not go anywhere. They fail when the environment
// is ending (a worker thread being terminated).
bool Dispatcher::Settle(Job& job) {
  napi_handle_scope handles;
  if (napi_open_handle_scope(env_, &handles) != napi_ok) return false;
  napi_value resource;
  napi_callback_scope scope;
  bool ok = napi_get_reference_value(env_, resource_, &resource) == napi_ok &&
            napi_open_callback_scope(env_, resource, context_, &scope) == napi_ok;
  if (ok) {
    try {
      job.Settle(Napi::Env(env_));
    } catch (const Napi::Error& e) {
      // As for any async completion: a failure while settling is an uncaught exception.
      napi_fatal_exception(env_, e.Value());
    } catch (...) {
      ok = false;
    }
    // Closing the outermost callback scope runs nextTick callbacks and
    // microtasks: the continuations of the promise just settled.
    if (napi_close_callback_scope(env_, scope) != napi_ok) ok = false;
  }
  napi_close_handle_scope(env_, handles);
  return ok;
}

void Dispatcher::OnCleanup(void* arg) {
  auto* hold = static_cast<std::shared_ptr<Dispatcher>*>(arg);
  (*hold)->Close();
  delete hold;
}

void Dispatcher::Close() {
  std::deque<std::unique_ptr<Job>> dropped;
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    dropped.swap(done_);
  }
  dropped.clear();
  // A thread that queued a job before closed_ was set may still be about to
  // signal the handle.
  while (sending_.load() != 0) std::this_thread::yield();
  uv_close(reinterpret_cast<uv_handle_t*>(async_), [](uv_handle_t* h) { delete reinterpret_cast<uv_async_t*>(h); });
  async_ = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(check_), [](uv_handle_t* h) { delete reinterpret_cast<uv_check_t*>(h); });
  check_ = nullptr;
  polling_ = false;
  uv_close(reinterpret_cast<uv_handle_t*>(idle_), [](uv_handle_t* h) { delete reinterpret_cast<uv_idle_t*>(h); });
  idle_ = nullptr;
  napi_async_destroy(env_, context_);
  napi_delete_reference(env_, resource_);
}

}  // namespace pw
