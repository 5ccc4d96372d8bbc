// The namespace threads: the only threads of the process that change network
// namespace (unshare to create one, setns to open a socket inside one). They
// start on demand (one per CPU, 2 to 4), live as long as the process and go
// back to the process's namespace after every task, so neither the JS thread
// nor an executor thread (executor.h) ever changes namespace.
//
// Why not a throwaway thread per task (the first design): measured here,
// unshare(CLONE_NEWNET) on a freshly started thread took 1.2-1.9 ms against
// 0.5-0.8 ms on a long-lived one, and a thread per setns+socket 30-290 µs
// against 4-14 µs for setns + socket + setns back on a long-lived one.
#pragma once

#include <functional>
#include <string>

namespace pw {

// Runs fn on a namespace thread and waits for it; an exception fn throws is
// rethrown here. fn may unshare() or setns() freely: the thread then returns
// to the namespace it started in. Should that ever fail, the thread retires
// (it exits, dropping whatever namespace it was left in) and another takes
// its place. Tasks start in the order they were queued.
//
// Called from a namespace thread (a task that itself runs on one, see
// QueueOnNamespaceThread), fn runs right there and the thread goes home
// before this returns; should it not get home, this throws after fn (fn's
// work stands: the caller undoes what it must) and the thread retires
// after its task.
void RunOnNamespaceThread(const std::function<void()>& fn);

// Queues fn for a namespace thread and returns at once: a whole job that
// would otherwise run elsewhere and wait for a namespace thread in the
// middle (two more thread wake-ups; executor.h, Lane::kNamespace). fn must
// not throw. If no thread can ever take it, abandoned(why) is called
// instead, on whichever thread finds that out (possibly this one).
void QueueOnNamespaceThread(std::function<void()> fn, std::function<void(const std::string&)> abandoned);

// Makes the calling thread, one of the addon's own that is not a namespace
// thread (executor.h: the routing thread), a namespace thread as well, for
// good: RunOnNamespaceThread called on it runs fn right there and goes home
// afterwards, as for a task on a namespace thread. Why: a caller that awaits
// one namespace creation after another otherwise wakes a sleeping
// namespace thread for each and the routing thread again for the request
// that follows (on this VM, the creation took 0.42-0.44 against 0.49-0.53
// ms, and a guest's typical calls ~7 % less in all: docs/performance.md,
// change 24). Such a thread that could not
// get home is stranded (NamespaceThreadStranded): it must retire once its
// job is done, and another takes its place.
void BecomeNamespaceThread();

// True on a thread made a namespace thread by BecomeNamespaceThread once it
// failed to go home after a task: its namespace is not the process's.
bool NamespaceThreadStranded();

// Moves the calling thread into the process's network namespace (the main
// thread's); false (errno set) if it cannot. For a thread started by a
// stranded one, which starts where its starter was.
bool ReturnHome();

// Runs fn inside the network namespace nsfd names: on a namespace thread
// that enters it first, or, for nsfd -1 (the process's own namespace, every
// thread's but a namespace thread's while it works), on the calling thread.
// A socket fn opens belongs to that namespace for good. A failure to enter
// throws (syscall "setns", saying `what` was being done); fn's own
// exceptions are rethrown here.
void InNetns(int nsfd, const std::string& what, const std::function<void()>& fn);

}  // namespace pw
