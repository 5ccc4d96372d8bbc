#include "worker.h"

#include <cerrno>

#include "js_value.h"
#include "json.h"
#include "message.h"
#include "addon_data.h"
#include "js_error.h"

namespace pw {

NlError CurrentExceptionToError(const std::string& op) {
  NlError e;
  try {
    throw;
  } catch (const NlException& ex) {
    e = ex.err;
  } catch (const EncodeError& ex) {
    e.errnum = EINVAL;
    e.kind = "invalid-argument";
    e.field = ex.field();
    e.detail = ex.what();
  } catch (const std::exception& ex) {
    e.kind = "internal";
    e.detail = ex.what();
  }
  if (e.op.empty()) e.op = op;
  return e;
}

TaskWorker::TaskWorker(std::string op, Work work, Finish finish, napi_deferred deferred)
    : deferred_(deferred), op_(std::move(op)), work_(std::move(work)), finish_(std::move(finish)) {}

Napi::Promise TaskWorker::Start(Napi::Env env, std::string op, Work work, Finish finish, Lane lane, std::string kind) {
  napi_deferred deferred;
  napi_value promise;
  NAPI_THROW_IF_FAILED(env, napi_create_promise(env, &deferred, &promise), Napi::Promise());
  std::unique_ptr<Job> job(new TaskWorker(std::move(op), std::move(work), std::move(finish), deferred));
  job->kind = std::move(kind);
  std::unique_ptr<Job> done = SubmitAndWait(env, lane, std::move(job));
  // Finished while we waited: settled now, its continuations run as microtasks.
  if (done) done->Settle(env);
  return Napi::Promise(env, promise);
}

void TaskWorker::Run() {
  try {
    result_ = work_();
    if (!finish_) json_ = ToJson(result_);
  } catch (...) {
    failed_ = true;
    err_ = CurrentExceptionToError(op_);
  }
  // What the work holds (a socket, say) is let go here, not on the JS thread.
  work_ = nullptr;
}

void TaskWorker::Refuse(const std::string& why) {
  failed_ = true;
  err_.kind = "internal";
  err_.op = op_;
  err_.detail = why;
}

void TaskWorker::Settle(Napi::Env env) {
  napi_value outcome;
  bool ok = !failed_;
  if (ok) {
    try {
      outcome = finish_ ? finish_(env, result_) : ToJsFast(env, result_, json_);
    } catch (const Napi::Error& e) {
      ok = false;
      outcome = e.Value();
    }
  } else {
    outcome = MakeJsError(env, err_).Value();
  }
  NAPI_THROW_IF_FAILED_VOID(env, ok ? napi_resolve_deferred(env, deferred_, outcome) : napi_reject_deferred(env, deferred_, outcome));
}

}  // namespace pw
