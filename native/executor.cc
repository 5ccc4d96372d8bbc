#include "executor.h"

#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>

#include <atomic>
#include <deque>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>

namespace pw {

namespace {

struct Item {
  std::unique_ptr<Job> job;
  std::shared_ptr<Dispatcher> to;
};

struct LaneState {
  LaneState(const char* n, int max) : name(n), maxThreads(max) { sem_init(&ready, 0, 0); }
  const char* name;  // the threads' name, as top -H and perf show them
  const int maxThreads;
  // One count per queued job. The JS thread posts it and never waits: a
  // condition variable's signal can block (glibc) until a thread it woke
  // earlier has run, and the event loop must not wait for our threads.
  sem_t ready;
  std::mutex mu;            // the queue only: held for a push or a pop
  std::deque<Item> queue;   // guarded by mu
  int threads = 0;          // guarded by mu; started (they live as long as the process)
  std::atomic<int> idle{0};  // waiting in sem_wait
};

// Never destroyed: a detached thread may be waiting on it while static
// destructors run at exit.
LaneState& StateOf(Lane lane) {
  static LaneState* net = new LaneState("pw-net", 1);
  static LaneState* unlink = new LaneState("pw-unlink", 8);
  static LaneState* announce = new LaneState("pw-announce", 1);
  static LaneState* general = new LaneState("pw-work", 4);
  static LaneState* lock = new LaneState("pw-lock", 1);
  switch (lane) {
    case Lane::kNet: return *net;
    case Lane::kUnlink: return *unlink;
    case Lane::kAnnounce: return *announce;
    case Lane::kLock: return *lock;
    case Lane::kGeneral: break;
  }
  return *general;
}

void Serve(LaneState* s) {
  pthread_setname_np(pthread_self(), s->name);
  for (;;) {
    s->idle.fetch_add(1);
    while (sem_wait(&s->ready) != 0) {
    }  // EINTR: every signal is blocked here, but be safe
    s->idle.fetch_sub(1);
    Item item;
    {
      std::lock_guard<std::mutex> lock(s->mu);
      item = std::move(s->queue.front());
      s->queue.pop_front();
    }
    item.job->Run();
    item.to->Post(std::move(item.job));
    // The result has just woken the event loop's thread, and the kernel
    // tends to queue a woken thread on its waker's CPU (and not to move a
    // thread that ran moments ago, even to an idle CPU): it would wait for
    // our next request, whose kernel work this kernel does not interrupt.
    // Measured: the loop waited over 1 ms after 1% of its wake-ups, while
    // the other CPU was idle for most of that time. So let it run first.
    sched_yield();
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
void StartThread(LaneState& s) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  try {
    std::thread(Serve, &s).detach();
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

}  // namespace pw
