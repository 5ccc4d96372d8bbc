#include "ns_thread.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

#include "errors.h"

namespace pw {

namespace {

struct Task {
  const std::function<void()>* fn;
  std::exception_ptr error;
  bool done = false;
  std::condition_variable finished;
  // Queued without a waiter (QueueOnNamespaceThread): the task owns its
  // function and is deleted by the thread that ran or abandoned it.
  bool queued = false;
  std::function<void()> own;
  std::function<void(const std::string&)> abandoned;
};

// Set on namespace threads: RunOnNamespaceThread runs inline there.
thread_local bool tl_namespace_thread = false;
// A namespace thread that could not get home inside its task: it retires
// once the task is done.
thread_local bool tl_stranded = false;

std::string WhatOf(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  } catch (...) {
    return "unknown error";
  }
}

struct State {
  std::mutex mu;
  std::condition_variable wake;
  std::deque<Task*> queue;
  int threads = 0;  // started and not retired
  int idle = 0;     // of those, waiting for a task
};

// Never destroyed: a detached thread may still be waiting on it while static
// destructors run at exit.
State& Shared() {
  static State* s = new State();
  return *s;
}

// Namespace creation is partly parallel in the kernel: concurrent callers
// (Promise.all over Netns.create) get up to this many threads, started on
// demand. One per CPU, at least 2, at most 4.
int MaxThreads() {
  static const int n = std::clamp(static_cast<int>(std::thread::hardware_concurrency()), 2, 4);
  return n;
}

void Serve();

// Under the lock. std::system_error if no thread can be started.
void StartThread(State& s) {
  std::thread(Serve).detach();
  ++s.threads;
}

// Under the lock, after queueing a task: wakes an idle thread, and starts
// one more while tasks outnumber idle threads (up to MaxThreads; beyond it,
// a busy thread takes the task when it is done).
void Dispatch(State& s) {
  if (s.idle > 0) s.wake.notify_one();
  if (s.queue.size() > static_cast<size_t>(s.idle) && s.threads < MaxThreads()) StartThread(s);
}

// Back to the process's namespace: the main thread's, which never changes
// (/proc/self is the thread-group leader). Opened each time rather than held:
// a held fd would be one more namespace reference for the process to carry
// (and for leak checks to explain); the open costs a few µs.
bool GoHome() {
  int home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  if (home < 0) return false;
  bool ok = setns(home, CLONE_NEWNET) == 0;
  const int setns_errno = errno;  // what the caller reports, not close's
  close(home);
  errno = setns_errno;
  return ok;
}

void Serve() {
  tl_namespace_thread = true;
  State& s = Shared();
  std::unique_lock<std::mutex> lock(s.mu);
  for (;;) {
    ++s.idle;
    s.wake.wait(lock, [&] { return !s.queue.empty(); });
    --s.idle;
    Task* t = s.queue.front();
    s.queue.pop_front();
    lock.unlock();
    try {
      (*t->fn)();
    } catch (...) {
      t->error = std::current_exception();
    }
    bool home_again = GoHome() && !tl_stranded;
    if (t->queued) {
      delete t;
      lock.lock();
    } else {
      lock.lock();
      t->done = true;
      t->finished.notify_one();
    }
    if (!home_again) break;
  }
  // Retire: exiting drops the namespace this thread could not leave. Tasks
  // still queued go to another thread.
  --s.threads;
  if (!s.queue.empty()) {
    try {
      Dispatch(s);
    } catch (...) {
      if (s.threads == 0) {
        for (Task* t : s.queue) {
          if (t->queued) {
            t->abandoned("no namespace thread can be started: " + WhatOf(std::current_exception()));
            delete t;
            continue;
          }
          t->error = std::current_exception();
          t->done = true;
          t->finished.notify_one();
        }
        s.queue.clear();
      }
    }
  }
}

}  // namespace

void RunOnNamespaceThread(const std::function<void()>& fn) {
  if (tl_namespace_thread) {
    std::exception_ptr error;
    try {
      fn();
    } catch (...) {
      error = std::current_exception();
    }
    if (!GoHome()) {
      tl_stranded = true;
      if (!error) ThrowErrno(errno, "setns", "cannot return the namespace thread to the process's namespace");
    }
    if (error) std::rethrow_exception(error);
    return;
  }
  State& s = Shared();
  Task t;
  t.fn = &fn;
  std::unique_lock<std::mutex> lock(s.mu);
  s.queue.push_back(&t);
  try {
    Dispatch(s);
  } catch (...) {
    // No thread could be started; if none runs either, nobody will take it.
    if (s.threads == 0) {
      s.queue.erase(std::find(s.queue.begin(), s.queue.end(), &t));
      throw;
    }
  }
  t.finished.wait(lock, [&] { return t.done; });
  if (t.error) std::rethrow_exception(t.error);
}

void BecomeNamespaceThread() { tl_namespace_thread = true; }

bool NamespaceThreadStranded() { return tl_stranded; }

bool ReturnHome() { return GoHome(); }

void QueueOnNamespaceThread(std::function<void()> fn, std::function<void(const std::string&)> abandoned) {
  State& s = Shared();
  auto* t = new Task();
  t->queued = true;
  t->own = std::move(fn);
  t->fn = &t->own;
  t->abandoned = std::move(abandoned);
  std::unique_lock<std::mutex> lock(s.mu);
  s.queue.push_back(t);
  try {
    Dispatch(s);
  } catch (const std::exception& e) {
    if (s.threads == 0) {
      s.queue.erase(std::find(s.queue.begin(), s.queue.end(), t));
      lock.unlock();
      t->abandoned(std::string("no namespace thread can be started: ") + e.what());
      delete t;
    }
  }
}

void InNetns(int nsfd, const std::string& what, const std::function<void()>& fn) {
  if (nsfd < 0) {
    fn();
    return;
  }
  RunOnNamespaceThread([&] {
    if (setns(nsfd, CLONE_NEWNET) != 0) ThrowErrno(errno, "setns", what + ": cannot enter the namespace of fd " + std::to_string(nsfd));
    fn();
  });
}

}  // namespace pw
