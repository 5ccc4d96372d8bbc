#include "run_times.h"

#include <mutex>
#include <unordered_map>

namespace pw {

namespace {

// Kinds are few (the op lists the library sends: tens), so the table is
// bounded by the code, not by the traffic; a cap keeps it so regardless.
constexpr size_t kMaxKinds = 1024;

std::mutex mu;
// Never destroyed: threads may record while static destructors run at exit.
auto* averages = new std::unordered_map<std::string, uint64_t>();

}  // namespace

uint64_t ExpectedRunNs(const std::string& kind) {
  std::lock_guard<std::mutex> lock(mu);
  auto it = averages->find(kind);
  return it == averages->end() ? 0 : it->second;
}

void RecordRunNs(const std::string& kind, uint64_t ns) {
  std::lock_guard<std::mutex> lock(mu);
  auto it = averages->find(kind);
  if (it == averages->end()) {
    if (averages->size() < kMaxKinds) averages->emplace(kind, ns);
    return;
  }
  // A quarter of the new run: one slow run (rtnl held by someone else)
  // does not stop the waiting for long, and a kind that became slow stops
  // being waited for after a few runs.
  it->second = (it->second * 3 + ns) / 4;
}

}  // namespace pw
