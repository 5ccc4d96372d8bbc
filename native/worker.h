// TaskWorker: runs a plain C++ function on a libuv pool thread and settles a
// promise on the JS thread. The function works on Values only; failures are
// NlException (kernel/syscall) or EncodeError (bad argument), both turned
// into NetlinkError for JS.
#pragma once

#include <napi.h>

#include <functional>
#include <string>

#include "errors.h"
#include "value.h"

namespace pw {

class TaskWorker : public Napi::AsyncWorker {
 public:
  using Work = std::function<Value()>;
  // Optional: build the JS result from the Value (e.g. wrap a native object).
  using Finish = std::function<Napi::Value(Napi::Env, Value&)>;

  static Napi::Promise Start(Napi::Env env, std::string op, Work work, Finish finish = nullptr);

  void Execute() override;
  void OnOK() override;

 private:
  TaskWorker(Napi::Env env, std::string op, Work work, Finish finish);
  Napi::Promise::Deferred deferred_;
  std::string op_;
  Work work_;
  Finish finish_;
  Value result_;
  bool failed_ = false;
  NlError err_;
};

// Converts whatever a task threw into an NlError (for code shared with batch runs).
NlError CurrentExceptionToError(const std::string& op);

}  // namespace pw
