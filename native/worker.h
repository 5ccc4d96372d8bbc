// TaskWorker: runs a plain C++ function on one of the addon's threads
// (executor.h) and settles a promise on the JS thread (dispatch.h). The
// function works on Values only; failures are NlException (kernel/syscall)
// or EncodeError (bad argument), both turned into NetlinkError for JS.
#pragma once

#include <napi.h>

#include <functional>
#include <optional>
#include <string>

#include "dispatch.h"
#include "errors.h"
#include "executor.h"
#include "value.h"

namespace pw {

class TaskWorker : public Job {
 public:
  using Work = std::function<Value()>;
  // Optional: build the JS result from the Value (e.g. wrap a native object).
  using Finish = std::function<Napi::Value(Napi::Env, Value&)>;

  // kind: what run_times.h knows the request by; a request with a kind may
  // be waited for on the JS thread (executor.h, SubmitAndWait).
  static Napi::Promise Start(Napi::Env env, std::string op, Work work, Finish finish = nullptr,
                             Lane lane = Lane::kGeneral, std::string kind = std::string());

  void Run() override;
  void Refuse(const std::string& why) override;
  void Settle(Napi::Env env) override;

 private:
  TaskWorker(std::string op, Work work, Finish finish, napi_deferred deferred);
  napi_deferred deferred_;  // settled exactly once, in Settle
  std::string op_;
  Work work_;
  Finish finish_;
  Value result_;
  // result_ as JSON, written on the executor thread so that the JS thread
  // only has to parse it (json.h); empty when there is a finish_ or JSON
  // cannot say it.
  std::optional<std::string> json_;
  bool failed_ = false;
  NlError err_;
};

// Converts whatever a task threw into an NlError (for code shared with batch runs).
NlError CurrentExceptionToError(const std::string& op);

}  // namespace pw
