#include "executor.h"

#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>

#include "ns_thread.h"
#include "run_times.h"

namespace pw {

namespace {

// Job::taker: who takes a finished job. 0, a job's default: Dispatcher::Post.
constexpr int kToWaiter = 1;  // the JS thread, waiting in SubmitAndWait
constexpr int kHanded = 2;    // finished and handed to the waiting JS thread
constexpr int kGaveUp = 3;    // the JS thread stopped waiting: Post after all

// Only requests whose kind has lately taken at most this long are waited
// for: a wait in vain takes a CPU from the request's own kernel work (with
// every request waited for up to 700 µs, a guest took 15 % longer).
constexpr uint64_t kWaitForNs = 120 * 1000;
// How long the routing thread looks for the next request after handing an
// answer to a waiting JS thread: the JS between two awaited calls of a
// guest's setup is 20-60 µs here.
constexpr uint64_t kNextWaitNs = 100 * 1000;
// How long it looks after posting an answer to the event loop (a request
// not waited for: a veth, a namespace). The JS that settles such an answer
// and asks again (a namespace's veth, a guest's first address) is 40-90 µs
// here, more while the code is still cold. Asleep, the thread costs that
// request a wake-up: on an idle VM, 200 µs and more (docs/performance.md).
constexpr uint64_t kAfterPostNs = 150 * 1000;

// The longest wait of the JS thread for one answer, in ns: as set by
// SetAnswerWaitUs, else PIPEWRIGHT_ANSWER_WAIT_US (0 turns waiting off; at
// most 1000), else 200 µs. Decided at the first request that asks; -1 until
// then. JS thread only.
int64_t waitNs = -1;

uint64_t WaitNs() {
  if (waitNs < 0) {
    const char* v = getenv("PIPEWRIGHT_ANSWER_WAIT_US");
    char* end = nullptr;
    long us = v && *v ? strtol(v, &end, 10) : -1;
    if (us < 0 || (end && *end) || us > 1000) us = 200;
    waitNs = static_cast<int64_t>(us) * 1000;
  }
  return static_cast<uint64_t>(waitNs);
}

std::atomic<uint64_t> waits{0};     // answers the JS thread waited for
std::atomic<uint64_t> answered{0};  // of those, answered within the wait
std::atomic<uint64_t> nsJobsRouting{0};  // Lane::kNamespace jobs the routing thread took
std::atomic<uint64_t> nsJobsOwn{0};      // and those queued for a namespace thread

struct Item {
  std::unique_ptr<Job> job;
  std::shared_ptr<Dispatcher> to;
};

struct LaneState {
  LaneState(const char* n, int max, bool ns = false, bool linger = false)
      : name(n), maxThreads(max), namespaces(ns), lingers(linger) {
    sem_init(&ready, 0, 0);
  }
  const char* name;  // the threads' name, as top -H and perf show them
  const int maxThreads;
  // Its threads are namespace threads too (ns_thread.h): jobs that create a
  // namespace may run on them (Submit, Lane::kNamespace).
  const bool namespaces;
  // Its thread looks for the caller's next request a while after posting an
  // answer, before it sleeps (kAfterPostNs): a caller's chain of requests.
  const bool lingers;
  // One count per queued job. The JS thread posts it and never waits: a
  // condition variable's signal can block (glibc) until a thread it woke
  // earlier has run, and the event loop must not wait for our threads.
  sem_t ready;
  std::mutex mu;            // the queue only: held for a push or a pop
  std::deque<Item> queue;   // guarded by mu
  int threads = 0;          // guarded by mu; started (they live as long as the process)
  std::atomic<int> idle{0};  // waiting in sem_wait
  std::atomic<int> running{0};  // running a job (not handing it over, not waiting)
};

// Never destroyed: a detached thread may be waiting on it while static
// destructors run at exit.
LaneState& StateOf(Lane lane) {
  static LaneState* net = new LaneState("pw-net", 1, true, true);
  static LaneState* unlink = new LaneState("pw-unlink", 8);
  static LaneState* announce = new LaneState("pw-announce", 1);
  static LaneState* general = new LaneState("pw-work", 4);
  static LaneState* lock = new LaneState("pw-lock", 1);
  switch (lane) {
    case Lane::kNet: return *net;
    case Lane::kUnlink: return *unlink;
    case Lane::kAnnounce: return *announce;
    case Lane::kLock: return *lock;
    case Lane::kGeneral:
    case Lane::kNamespace: break;
  }
  return *general;
}

void StartThread(LaneState& s, bool fromStranded = false);

// Every job queued on the lane, refused (no thread will run them) and
// settled all the same.
void RefuseQueued(LaneState* s, const std::string& why) {
  std::deque<Item> refused;
  {
    std::lock_guard<std::mutex> lock(s->mu);
    refused.swap(s->queue);
  }
  for (Item& item : refused) {
    sem_trywait(&s->ready);  // its count: no later thread may look for it
    item.job->Refuse(why);
    item.to->Post(std::move(item.job));
  }
}

// A thread of the routing lane that could not get back to the process's
// namespace after a job (ns_thread.h) exits, which drops the namespace it
// is in. Jobs queued meanwhile get a thread of their own, or, if none can
// be started, are refused and settled all the same. A thread starts in its
// starter's namespace: the new one goes home before anything else.
void Retire(LaneState* s) {
  std::string refused;
  {
    std::lock_guard<std::mutex> lock(s->mu);
    --s->threads;
    if (!s->queue.empty() && s->threads == 0) {
      try {
        StartThread(*s, true);
      } catch (const std::exception& e) {
        refused = std::string("cannot start a thread: ") + e.what();
      }
    }
  }
  if (!refused.empty()) RefuseQueued(s, refused);
}

void Serve(LaneState* s, bool fromStranded) {
  pthread_setname_np(pthread_self(), s->name);
  if (s->namespaces) BecomeNamespaceThread();
  if (fromStranded && !ReturnHome()) {
    // Not at home either: nothing may run here. The jobs waiting are
    // refused, and the next one queued (from the JS thread, at home) starts
    // a thread afresh.
    const std::string why = std::string("cannot return a thread to the process's network namespace: ") + std::strerror(errno);
    {
      std::lock_guard<std::mutex> lock(s->mu);
      --s->threads;
    }
    RefuseQueued(s, why);
    return;
  }
  // Before sleeping, the thread may look for the next request a while
  // (idle is counted already then): after an answer handed to the JS
  // thread that waited for it (that thread is running and may ask again at
  // once), and after one posted to the event loop (lingering lanes only).
  // It yields its CPU at each look rather than spinning on it: the thread
  // that will ask may be queued on this very CPU (the loop's thread woken
  // by a posted answer; on a process held to one CPU, always). Spinning,
  // a caller held to one CPU waited out the whole look before each request
  // (an awaited lookup 140-170 µs, against 55-65 µs so).
  uint64_t lookNs = 0;  // 0: sleep at once
  for (;;) {
    if (lookNs == 0) s->idle.fetch_add(1);
    bool got = false;
    if (lookNs > 0) {
      const uint64_t start = uv_hrtime();
      do {
        sched_yield();
        if (sem_trywait(&s->ready) == 0) { got = true; break; }
      } while (uv_hrtime() - start < lookNs);
    }
    if (!got) {
      while (sem_wait(&s->ready) != 0) {
      }  // EINTR: every signal is blocked here, but be safe
    }
    s->idle.fetch_sub(1);
    lookNs = 0;
    Item item;
    {
      std::lock_guard<std::mutex> lock(s->mu);
      if (s->queue.empty()) continue;  // refused by a thread that retired
      item = std::move(s->queue.front());
      s->queue.pop_front();
    }
    s->running.fetch_add(1);
    if (item.job->kind.empty()) {
      item.job->Run();
    } else {
      const uint64_t began = uv_hrtime();
      item.job->Run();
      RecordRunNs(item.job->kind, uv_hrtime() - began);
    }
    s->running.fetch_sub(1);
    if (s->namespaces && NamespaceThreadStranded()) {
      int waiter = kToWaiter;
      if (item.job->taker.compare_exchange_strong(waiter, kHanded, std::memory_order_acq_rel)) item.job.release();
      else item.to->Post(std::move(item.job));
      Retire(s);
      return;
    }
    if (item.job->taker.load(std::memory_order_relaxed) == kToWaiter) {
      // Idle before the answer is handed over: the JS thread's next request,
      // made moments later, then finds this thread free and waits for it too.
      s->idle.fetch_add(1);
      int waiter = kToWaiter;
      if (item.job->taker.compare_exchange_strong(waiter, kHanded, std::memory_order_acq_rel)) {
        // The JS thread owns it from here.
        item.job.release();
        lookNs = kNextWaitNs;
        continue;
      }
      s->idle.fetch_sub(1);
    }
    item.to->Post(std::move(item.job));
    // The result has just woken the event loop's thread, and the kernel
    // tends to queue a woken thread on its waker's CPU (and not to move a
    // thread that ran moments ago, even to an idle CPU): it would wait for
    // our next request, whose kernel work this kernel does not interrupt.
    // Measured: the loop waited over 1 ms after 1% of its wake-ups, while
    // the other CPU was idle for most of that time. So let it run first
    // (a lingering thread yields at each look).
    if (s->lingers) {
      s->idle.fetch_add(1);
      lookNs = kAfterPostNs;
    } else {
      sched_yield();
    }
  }
}

// Our threads (and the loop handles of dispatch.cc) outlive the environment
// that started them, but a worker thread that ends unloads the addons it
// loaded: once this library's code runs on its own threads, it stays mapped.
void PinLibrary() {
  static std::once_flag once;
  std::call_once(once, [] {
    Dl_info info;
    if (dladdr(reinterpret_cast<void*>(&PinLibrary), &info) && info.dli_fname)
      dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD | RTLD_NODELETE);
  });
}

// Under the lock. Signals stay with the threads that expect them: ours
// start with every signal blocked. Throws std::system_error.
void StartThread(LaneState& s, bool fromStranded) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  try {
    std::thread(Serve, &s, fromStranded).detach();
  } catch (...) {
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    throw;
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  ++s.threads;
}

}  // namespace

void Submit(Napi::Env env, Lane lane, std::unique_ptr<Job> job) {
  PinLibrary();
  std::shared_ptr<Dispatcher> to = Dispatcher::For(env);
  to->Expect();
  if (lane == Lane::kNamespace) {
    // The routing thread is a namespace thread too. With nothing queued
    // and no request running (a caller awaiting one call after another), it
    // takes the job: no namespace thread to wake, and it is awake already
    // for the request that follows, typically about the new namespace. Busy,
    // it is left to its requests, and concurrent creations overlap on
    // namespace threads.
    LaneState& net = StateOf(Lane::kNet);
    {
      std::lock_guard<std::mutex> lock(net.mu);
      if (net.threads > 0 && net.queue.empty() && net.running.load() == 0) net.queue.push_back({std::move(job), to});
    }
    if (!job) {
      nsJobsRouting.fetch_add(1, std::memory_order_relaxed);
      sem_post(&net.ready);
      return;
    }
    nsJobsOwn.fetch_add(1, std::memory_order_relaxed);
    // std::function wants a copyable callable: the item is shared by the two.
    auto item = std::make_shared<Item>(Item{std::move(job), to});
    QueueOnNamespaceThread(
        [item] {
          item->job->Run();
          item->to->Post(std::move(item->job));
        },
        [item](const std::string& why) {
          item->job->Refuse(why);
          item->to->Post(std::move(item->job));
        });
    return;
  }
  LaneState& s = StateOf(lane);
  std::string refused;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    s.queue.push_back({std::move(job), to});
    // Another thread when the jobs waiting outnumber the threads waiting
    // for them (up to the lane's maximum; a busy thread takes the rest when
    // it is done).
    if (s.queue.size() > static_cast<size_t>(s.idle.load()) && s.threads < s.maxThreads) {
      try {
        StartThread(s);
      } catch (const std::exception& e) {
        // With no thread at all, nobody would ever take it.
        if (s.threads == 0) {
          job = std::move(s.queue.back().job);
          s.queue.pop_back();
          refused = std::string("cannot start a thread: ") + e.what();
        }
      }
    }
  }
  if (job) {
    job->Refuse(refused);
    to->Post(std::move(job));
    return;
  }
  sem_post(&s.ready);  // a futex wake only if a thread is waiting
}

std::unique_ptr<Job> SubmitAndWait(Napi::Env env, Lane lane, std::unique_ptr<Job> job) {
  LaneState& s = StateOf(lane);
  bool idle = false;
  if (lane == Lane::kNet && !job->kind.empty() && WaitNs() > 0) {
    const uint64_t expected = ExpectedRunNs(job->kind);
    if (expected > 0 && expected <= kWaitForNs) {
      std::lock_guard<std::mutex> lock(s.mu);
      idle = s.queue.empty() && s.idle.load() > 0;
    }
  }
  std::shared_ptr<Dispatcher> to = Dispatcher::For(env);
  if (!idle || !to->MayWait()) {
    Submit(env, lane, std::move(job));
    return nullptr;
  }
  Job* waited = job.get();
  waited->taker.store(kToWaiter, std::memory_order_relaxed);
  Submit(env, lane, std::move(job));
  waits.fetch_add(1, std::memory_order_relaxed);
  // Refused, it was posted already: the wait runs out and it is settled as usual.
  // The wait yields its CPU at each look rather than spinning on it: a
  // routing thread that was asleep is often woken onto this very CPU, and
  // behind a spinning waiter it ran only once the wait had run out (5-6
  // waits in vain per 50 guests in a fresh process, against 1 so).
  const uint64_t start = uv_hrtime();
  do {
    if (waited->taker.load(std::memory_order_acquire) == kHanded) break;
    sched_yield();
  } while (uv_hrtime() - start < WaitNs());
  int expected = kToWaiter;
  if (waited->taker.compare_exchange_strong(expected, kGaveUp, std::memory_order_acq_rel)) return nullptr;
  answered.fetch_add(1, std::memory_order_relaxed);
  to->Unexpect();
  return std::unique_ptr<Job>(waited);
}

AnswerWaitCounts CountAnswerWaits() { return {waits.load(), answered.load()}; }

NamespaceJobCounts CountNamespaceJobs() { return {nsJobsRouting.load(), nsJobsOwn.load()}; }

void SetAnswerWaitUs(uint32_t us) { waitNs = static_cast<int64_t>(us) * 1000; }

uint32_t AnswerWaitUs() { return static_cast<uint32_t>(WaitNs() / 1000); }

}  // namespace pw
