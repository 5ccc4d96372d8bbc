// The addon's own threads for blocking work, in three lanes.
//
// Requests to the kernel's routing netlink go through one thread, in order.
// The kernel serializes nearly all of them under one lock (rtnl) anyway:
// when several threads sent them at once (libuv's pool), all but the holder
// spun on that lock on the other CPUs (mutex_spin_on_owner: ~10 % of the
// pool's time during 200 concurrent attaches), CPU the event loop needed.
// One thread that finds its next request already queued also never has to
// be woken (waking an idle pool thread cost the JS thread 20-25 µs on this
// VM, docs/performance.md).
//
// Gratuitous ARPs go through one other thread. A broadcast is flooded to
// every port of the bridge and handled in every guest, all in the sender's
// context: ~1 ms of kernel time with 200 guests, which this kernel does not
// interrupt. One at a time, next to the routing requests, the kernel's work
// for us takes at most two CPUs' worth of threads and never four.
//
// Other work - opening and creating namespaces and sockets, unmounting -
// mostly waits (for a namespace thread, for RCU) and overlaps well, so it
// gets a few threads. No lane uses libuv's pool, which belongs to the
// application (fs, dns.lookup).
//
// A link's deletion is the exception to the one routing thread: the kernel
// answers RTM_DELLINK only after the device's teardown has waited for RCU
// (netdev_run_todo, after rtnl is released: ~18 ms of sleep per deletion
// measured here, barely any CPU). On the one thread, 16 deletions at once
// (a runtime tearing down 16 containers) waited ~18 ms each in a row; on
// threads of their own the waits overlap, as separate processes' do. They
// hold rtnl only for the short unregister, so nothing spins long on it.
//
// A job that creates a namespace runs on a namespace thread (ns_thread.h)
// from start to end, rather than on a general thread that hands the middle
// of it to a namespace thread and waits: two thread wake-ups less, which on
// this VM was 0.1-0.2 ms of a 0.8 ms Netns.create. The routing thread is a
// namespace thread too, and takes such a job itself when it finds itself
// idle with nothing queued: then nothing needs waking for the creation, nor
// for the request that follows it (docs/performance.md, change 24).
//
// Waits for an advisory lock (file_lock.h) go through a thread of their own:
// a wait may last as long as another process holds the lock, and must hold
// up nothing but the lock requests queued behind it (which would wait for
// the same holder anyway). One thread keeps them in order, so a process's
// exclusive request is not overtaken by its own later shared ones.
#pragma once

#include <napi.h>

#include <memory>

#include "dispatch.h"

namespace pw {

enum class Lane {
  kNet,       // routing netlink requests: one thread, in order
  kUnlink,    // routing netlink requests that delete a link: up to eight threads
  kAnnounce,  // packets sent into a guest's network (gratuitous ARP): one thread
  kGeneral,   // everything else: up to four threads
  kLock,      // waits for advisory locks: one thread
  kNamespace,  // jobs that create or enter a namespace (and never wait on a path): on a
               // namespace thread itself (ns_thread.h), the routing thread when it is idle
};

// Runs job->Run() on a thread of the lane, then job->Settle() on env's JS
// thread (dispatch.h). JS thread only. If no thread can be started to run
// it, it is refused (Job::Refuse) and finished all the same.
void Submit(Napi::Env env, Lane lane, std::unique_ptr<Job> job);

// As Submit, but a routing request (kNet) of a kind that has lately been
// quick (run_times.h) and that finds its thread idle is waited for on the
// JS thread: at most 200 µs (PIPEWRIGHT_ANSWER_WAIT_US), and only while
// this turn of the event loop has waited for less than its budget
// (dispatch.h, MayWait). Returns the job when it finished meanwhile: the
// caller settles it (and Dispatcher::Post is not called); otherwise
// nullptr, and the job is settled as any other. The routing thread, having
// handed an answer over, looks for the next request a moment before it
// sleeps. Why: an awaited call otherwise wakes two sleeping threads (ours
// with the request, the event loop's with the answer), each the wake-up of
// a halted virtual CPU on a VM: 70-90 µs per call, against 30-50 µs so
// (bench/call-cost.js; docs/performance.md, change 19).
std::unique_ptr<Job> SubmitAndWait(Napi::Env env, Lane lane, std::unique_ptr<Job> job);

// How often the JS thread waited for an answer, and got it meanwhile.
struct AnswerWaitCounts {
  uint64_t waits;
  uint64_t answered;
};
AnswerWaitCounts CountAnswerWaits();

// Where jobs of Lane::kNamespace ran: on the routing thread, or on a
// namespace thread of their own.
struct NamespaceJobCounts {
  uint64_t onRoutingThread;
  uint64_t onNamespaceThreads;
};
NamespaceJobCounts CountNamespaceJobs();

// The longest wait for one answer (µs, 0 = never), replacing what
// PIPEWRIGHT_ANSWER_WAIT_US said; and the wait in force. JS thread only.
void SetAnswerWaitUs(uint32_t us);
uint32_t AnswerWaitUs();

}  // namespace pw
