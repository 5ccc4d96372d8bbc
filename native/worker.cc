#include "worker.h"

#include <cerrno>

#include "js_value.h"
#include "message.h"
#include "addon_data.h"

namespace pw {

NlError CurrentExceptionToError(const std::string& op) {
  NlError e;
  try {
    throw;
  } catch (const NlException& ex) {
    e = ex.err;
  } catch (const EncodeError& ex) {
    e.errnum = EINVAL;
    e.code = "ERR_PW_INVALID_ARGUMENT";
    e.field = ex.field();
    e.detail = ex.what();
  } catch (const std::exception& ex) {
    e.code = "ERR_PW_INTERNAL";
    e.detail = ex.what();
  }
  if (e.op.empty()) e.op = op;
  return e;
}

TaskWorker::TaskWorker(Napi::Env env, std::string op, Work work, Finish finish)
    : Napi::AsyncWorker(env, "pipewright"), deferred_(env), op_(std::move(op)), work_(std::move(work)),
      finish_(std::move(finish)) {}

Napi::Promise TaskWorker::Start(Napi::Env env, std::string op, Work work, Finish finish) {
  auto* w = new TaskWorker(env, std::move(op), std::move(work), std::move(finish));
  Napi::Promise p = w->deferred_.Promise();
  w->Queue();
  return p;
}

void TaskWorker::Execute() {
  try {
    result_ = work_();
  } catch (...) {
    failed_ = true;
    err_ = CurrentExceptionToError(op_);
  }
}

void TaskWorker::OnOK() {
  Napi::Env env = Env();
  if (failed_) {
    deferred_.Reject(MakeJsError(env, err_).Value());
    return;
  }
  try {
    deferred_.Resolve(finish_ ? finish_(env, result_) : ToJs(env, result_));
  } catch (const Napi::Error& e) {
    deferred_.Reject(e.Value());
  }
}

}  // namespace pw
