#include "store_file_cache.h"

#include <map>
#include <mutex>
#include <utility>

namespace pw {

namespace {

// Stores a process uses at once: CNI networks on one host (a store per
// network); more are simply read afresh.
constexpr size_t kMaxCachedStores = 64;

using StoreKey = std::pair<dev_t, ino_t>;

std::mutex mu;
// The last reading's number; guarded by mu.
uint64_t lastReading = 0;
// Never destroyed: a lane's thread may still use it while static destructors run at exit.
std::map<StoreKey, CachedStore>& Stores() {
  static auto* stores = new std::map<StoreKey, CachedStore>();
  return *stores;
}

bool SameTime(const struct timespec& a, const struct timespec& b) { return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec; }

long long Ns(const struct timespec& t) { return static_cast<long long>(t.tv_sec) * 1'000'000'000LL + t.tv_nsec; }

}  // namespace

CachedStore TakeCachedFiles(const struct stat& dir) {
  std::lock_guard<std::mutex> lock(mu);
  auto it = Stores().find({dir.st_dev, dir.st_ino});
  if (it == Stores().end()) return {};
  CachedStore taken = std::move(it->second);
  Stores().erase(it);
  return taken;
}

uint64_t KeepCachedFiles(const struct stat& dir, CachedFiles files) {
  std::lock_guard<std::mutex> lock(mu);
  auto& stores = Stores();
  if (stores.size() >= kMaxCachedStores && stores.find({dir.st_dev, dir.st_ino}) == stores.end()) stores.clear();
  stores[{dir.st_dev, dir.st_ino}] = CachedStore{std::move(files), ++lastReading};
  return lastReading;
}

bool StillTheSame(const CachedFile& c, const struct stat& st) {
  return S_ISREG(st.st_mode) && st.st_ino == c.ino && st.st_size == c.size && SameTime(st.st_mtim, c.mtime) && SameTime(st.st_ctim, c.ctime);
}

bool MayKeep(const struct stat& st, const struct timespec& now) {
  return S_ISREG(st.st_mode) && static_cast<size_t>(st.st_size) <= kMaxCachedFile && Ns(now) - Ns(st.st_ctim) > kSettledNs;
}

}  // namespace pw
