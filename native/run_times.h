// How long each kind of request has been taking its thread, so that the JS
// thread waits only for answers that are likely to come within its wait
// (executor.h, SubmitAndWait): waiting in vain for a slow request takes a
// CPU the request's own kernel work may need.
#pragma once

#include <cstdint>
#include <string>

namespace pw {

// Any thread. A moving average of the kind's recent run times, in ns;
// 0 when the kind has not run yet.
uint64_t ExpectedRunNs(const std::string& kind);

// Executor threads: one more run of the kind took `ns`.
void RecordRunNs(const std::string& kind, uint64_t ns);

}  // namespace pw
