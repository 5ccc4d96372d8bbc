#include "ns_thread.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

namespace pw {

namespace {

struct Task {
  const std::function<void()>* fn;
  std::exception_ptr error;
  bool done = false;
  std::condition_variable finished;
};

struct State {
  std::mutex mu;
  std::condition_variable wake;
  std::deque<Task*> queue;
  bool running = false;  // a thread is serving the queue
};

// Never destroyed: the detached thread may still be waiting on it while
// static destructors run at exit.
State& Shared() {
  static State* s = new State();
  return *s;
}

void Serve();

// Under the lock. std::system_error if no thread can be started.
void StartThread(State& s) {
  std::thread(Serve).detach();
  s.running = true;
}

void Serve() {
  State& s = Shared();
  std::unique_lock<std::mutex> lock(s.mu);
  for (;;) {
    s.wake.wait(lock, [&] { return !s.queue.empty(); });
    Task* t = s.queue.front();
    s.queue.pop_front();
    lock.unlock();
    try {
      (*t->fn)();
    } catch (...) {
      t->error = std::current_exception();
    }
    // Home is the main (JS) thread's namespace, /proc/self/ns/net: that
    // thread never changes namespace. Opened per task rather than held, so
    // the process keeps no extra namespace fd open (fd-leak checks, and
    // forensics of this process, see exactly what the caller holds).
    int home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    bool home_again = home >= 0 && setns(home, CLONE_NEWNET) == 0;
    if (home >= 0) close(home);
    lock.lock();
    t->done = true;
    t->finished.notify_one();
    if (!home_again) break;
  }
  // Retire: exiting drops the namespace this thread could not leave. Tasks
  // still queued go to a successor.
  s.running = false;
  if (!s.queue.empty()) {
    try {
      StartThread(s);
    } catch (...) {
      for (Task* t : s.queue) {
        t->error = std::current_exception();
        t->done = true;
        t->finished.notify_one();
      }
      s.queue.clear();
    }
  }
  lock.unlock();
}

}  // namespace

void RunOnNamespaceThread(const std::function<void()>& fn) {
  State& s = Shared();
  Task t;
  t.fn = &fn;
  std::unique_lock<std::mutex> lock(s.mu);
  s.queue.push_back(&t);
  if (!s.running) {
    try {
      StartThread(s);
    } catch (...) {
      s.queue.pop_back();
      throw;
    }
  } else {
    s.wake.notify_one();
  }
  t.finished.wait(lock, [&] { return t.done; });
  if (t.error) std::rethrow_exception(t.error);
}

}  // namespace pw
