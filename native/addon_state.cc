// The state directory's exports (registration in addon.cc): each forwards to
// the file that owns the concern, on the lock thread where it may wait.
#include "addon_state.h"

#include <string>
#include <vector>

#include "addon_args.h"
#include "file_lock.h"
#include "locked_dir.h"
#include "netns.h"
#include "state_file.h"
#include "worker.h"

namespace pw {

namespace {

// lockAcquire(root, sub, name, exclusive) -> Promise<{fd, gateFd?}>: an
// advisory lock, waited for on the lock thread (file_lock.h).
Napi::Value LockAcquire(const Napi::CallbackInfo& info) {
  std::string root = StringArg(info, 0, "root");
  std::string sub = StringArg(info, 1, "sub");
  std::string name = StringArg(info, 2, "name");
  bool exclusive = info[3].ToBoolean();
  bool wait = info.Length() < 5 || info[4].IsUndefined() || info[4].ToBoolean();
  return TaskWorker::Start(
      info.Env(), "lock.acquire", [=] { return AcquireFileLock(root, sub, name, exclusive, wait); }, nullptr, Lane::kLock);
}

// A lock just taken ({fd, gateFd?}), with `work` done under it; should the
// work fail, the lock is given back (its fds closed) before the error goes on.
template <typename Work>
Value UnderLock(Value lock, Work work) {
  try {
    work(lock);
  } catch (...) {
    CloseFd(static_cast<int>(lock.Get("fd").AsNumber()));
    if (lock.Has("gateFd")) CloseFd(static_cast<int>(lock.Get("gateFd").AsNumber()));
    throw;
  }
  return lock;
}

// lockAndWrite(root, lockSub, lockName, fileSub, fileName, data) -> Promise<{fd}>:
// a shared lock (file_lock.h), then a state file written under it
// (state_file.h), in one trip to the lock thread: an attach's journal
// entry and its lock, before its first change.
Napi::Value LockAndWrite(const Napi::CallbackInfo& info) {
  std::string root = StringArg(info, 0, "root");
  std::string lockSub = StringArg(info, 1, "lockSub");
  std::string lockName = StringArg(info, 2, "lockName");
  std::string fileSub = StringArg(info, 3, "fileSub");
  std::string fileName = StringArg(info, 4, "fileName");
  std::string data = StringArg(info, 5, "data");
  return TaskWorker::Start(
      info.Env(), "lock.write",
      [=] { return UnderLock(AcquireFileLock(root, lockSub, lockName, false), [&](Value&) { WriteStateFile(root, fileSub, fileName, data); }); },
      nullptr, Lane::kLock);
}

// lockAndRead(root, lockSub, lockName, fileSub, name) -> Promise<{fd,
// gateFd?, file}>: an exclusive lock waited for (file_lock.h), then the one
// state file it guards read by its name under it (null when absent), in one
// trip to the lock thread: a CNI call's container lock and its record. By
// name, so the lock thread's time does not grow with the records beside it.
Napi::Value LockAndRead(const Napi::CallbackInfo& info) {
  std::string root = StringArg(info, 0, "root");
  std::string lockSub = StringArg(info, 1, "lockSub");
  std::string lockName = StringArg(info, 2, "lockName");
  std::string fileSub = StringArg(info, 3, "fileSub");
  std::string name = StringArg(info, 4, "name");
  return TaskWorker::Start(
      info.Env(), "lock.read",
      [=] { return UnderLock(AcquireFileLock(root, lockSub, lockName, true), [&](Value& lock) { lock.Set("file", ReadStateFile(root, fileSub, name)); }); },
      nullptr, Lane::kLock);
}

// stateFileWrite(root, sub, name, data) -> Promise<void>: atomic and durable (state_file.h).
Napi::Value StateFileWrite(const Napi::CallbackInfo& info) {
  std::string root = StringArg(info, 0, "root");
  std::string sub = StringArg(info, 1, "sub");
  std::string name = StringArg(info, 2, "name");
  std::string data = StringArg(info, 3, "data");
  return TaskWorker::Start(info.Env(), "state.write", [=] { return WriteStateFile(root, sub, name, data); });
}

// stateFileRemove(root, sub, name) -> Promise<{removed}>.
Napi::Value StateFileRemove(const Napi::CallbackInfo& info) {
  std::string root = StringArg(info, 0, "root");
  std::string sub = StringArg(info, 1, "sub");
  std::string name = StringArg(info, 2, "name");
  return TaskWorker::Start(info.Env(), "state.remove", [=] { return RemoveStateFile(root, sub, name); });
}

// stateFileList(root, sub, prefix) -> Promise<[{name, data, mtimeMs}]>.
Napi::Value StateFileList(const Napi::CallbackInfo& info) {
  std::string root = StringArg(info, 0, "root");
  std::string sub = StringArg(info, 1, "sub");
  std::string prefix = StringArg(info, 2, "prefix");
  return TaskWorker::Start(info.Env(), "state.list", [=] { return ListStateFiles(root, sub, prefix); });
}

// stateFileRead(root, sub, name) -> Promise<{name, data, mtimeMs} | null>:
// one file by its name, without listing the directory (an entry looked at
// again costs the same with 10 entries or 10,000).
Napi::Value StateFileRead(const Napi::CallbackInfo& info) {
  std::string root = StringArg(info, 0, "root");
  std::string sub = StringArg(info, 1, "sub");
  std::string name = StringArg(info, 2, "name");
  return TaskWorker::Start(info.Env(), "state.read", [=] { return ReadStateFile(root, sub, name); });
}

// lockedDirOpen(parent, name, lockName, wait, since) -> Promise<{dirFd,
// lockFd, entries, same, reading} | {busy: true}>: a store directory shared
// with other programs, its lock taken and its entries read under it, those
// unchanged since reading `since` by name only (locked_dir.h). With wait, on the
// lock thread, where the wait holds up only other waits. Without, on a
// general thread, and only if the lock is free: reading a store of a few
// hundred leases takes a millisecond, which on the lock thread held up every
// lock request behind it, an attach's journal entry among them.
Napi::Value LockedDirOpenJs(const Napi::CallbackInfo& info) {
  std::string parent = StringArg(info, 0, "parent");
  std::string name = StringArg(info, 1, "name");
  std::string lockName = StringArg(info, 2, "lockName");
  bool wait = info[3].ToBoolean();
  double sinceArg = info.Length() > 4 && info[4].IsNumber() ? info[4].As<Napi::Number>().DoubleValue() : 0;
  if (!(sinceArg >= 0 && sinceArg <= 9007199254740991.0) || sinceArg != static_cast<double>(static_cast<uint64_t>(sinceArg)))
    throw Napi::TypeError::New(info.Env(), "since must be a reading's number (a non-negative integer)");
  uint64_t since = static_cast<uint64_t>(sinceArg);
  return TaskWorker::Start(
      info.Env(), "lockedDir.open", [=] { return LockedDirOpen(parent, name, lockName, wait, since); }, nullptr, wait ? Lane::kLock : Lane::kGeneral);
}

// lockedDirApply(dirFd, lockFd, changes, closeFds, path) -> Promise<string[]>:
// changes [{op: 'create'|'write'|'remove', name, data?}] (remove with data:
// only a file holding exactly that) run under the lock
// LockedDirOpen took; never on the lock thread (a holder must not wait behind
// a taker that waits for it).
Napi::Value LockedDirApplyJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int dirFd = IntArg(info, 0, "dirFd");
  int lockFd = IntArg(info, 1, "lockFd");
  if (!info[2].IsArray()) throw Napi::TypeError::New(env, "changes must be an array");
  bool closeFds = info[3].ToBoolean();
  std::string path = StringArg(info, 4, "path");
  auto arr = info[2].As<Napi::Array>();
  std::vector<LockedDirChange> changes;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value v = arr.Get(i);
    if (!v.IsObject()) throw Napi::TypeError::New(env, "changes[" + std::to_string(i) + "] must be an object");
    auto o = v.As<Napi::Object>();
    Napi::Value op = o.Get("op"), name = o.Get("name"), data = o.Get("data");
    if (!op.IsString() || !name.IsString()) throw Napi::TypeError::New(env, "changes[" + std::to_string(i) + "] needs op and name strings");
    std::string k = op.As<Napi::String>().Utf8Value();
    LockedDirChange c;
    if (k == "create") c.kind = LockedDirChange::Kind::kCreate;
    else if (k == "write") c.kind = LockedDirChange::Kind::kWrite;
    else if (k == "remove") c.kind = LockedDirChange::Kind::kRemove;
    else throw Napi::TypeError::New(env, "changes[" + std::to_string(i) + "].op must be create, write or remove");
    c.name = name.As<Napi::String>().Utf8Value();
    if (data.IsString()) c.data = data.As<Napi::String>().Utf8Value();
    else if (!data.IsUndefined()) throw Napi::TypeError::New(env, "changes[" + std::to_string(i) + "].data must be a string");
    c.expect = c.kind == LockedDirChange::Kind::kRemove && data.IsString();
    changes.push_back(std::move(c));
  }
  return TaskWorker::Start(env, "lockedDir.apply", [=] { return LockedDirApply(dirFd, lockFd, changes, closeFds, path); });
}

}  // namespace

void RegisterStateExports(Napi::Env env, Napi::Object exports) {
  exports.Set("lockAcquire", Napi::Function::New(env, LockAcquire));
  exports.Set("stateFileWrite", Napi::Function::New(env, StateFileWrite));
  exports.Set("lockAndWrite", Napi::Function::New(env, LockAndWrite));
  exports.Set("lockAndRead", Napi::Function::New(env, LockAndRead));
  exports.Set("stateFileRemove", Napi::Function::New(env, StateFileRemove));
  exports.Set("stateFileList", Napi::Function::New(env, StateFileList));
  exports.Set("stateFileRead", Napi::Function::New(env, StateFileRead));
  exports.Set("lockedDirOpen", Napi::Function::New(env, LockedDirOpenJs));
  exports.Set("lockedDirApply", Napi::Function::New(env, LockedDirApplyJs));
}

}  // namespace pw
