#include "store_file_cache.h"

#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace pw {

namespace {

// Stores a process uses at once: CNI networks on one host (a store per
// network); more are simply read afresh.
constexpr size_t kMaxCachedStores = 64;

// Every change to an entry of the directory, and to the directory itself.
// (IN_IGNORED, IN_UNMOUNT and IN_Q_OVERFLOW come without asking.)
constexpr uint32_t kWatchMask = IN_CREATE | IN_DELETE | IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO |
                                IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;

using StoreKey = StoreId;

// What the events of one watched directory said since its last reading.
struct Watch {
  StoreKey key;
  std::unordered_set<std::string> changed;
  bool allChanged = false;
};

// Everything below is guarded by mu.
std::mutex mu;
// The last reading's number.
uint64_t lastReading = 0;
// The process's inotify instance (-1: none yet), made at the first watch.
int inotifyFd = -1;
// Never destroyed: a lane's thread may still use them while static destructors run at exit.
std::map<StoreKey, CachedStore>& Stores() {
  static auto* stores = new std::map<StoreKey, CachedStore>();
  return *stores;
}
std::map<int, Watch>& Watches() {
  static auto* watches = new std::map<int, Watch>();
  return *watches;
}
std::map<StoreKey, int>& WatchOf() {
  static auto* watchOf = new std::map<StoreKey, int>();
  return *watchOf;
}

bool SameTime(const struct timespec& a, const struct timespec& b) { return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec; }

long long Ns(const struct timespec& t) { return static_cast<long long>(t.tv_sec) * 1'000'000'000LL + t.tv_nsec; }

void Forget(int wd) {
  auto w = Watches().find(wd);
  if (w == Watches().end()) return;
  WatchOf().erase(w->second.key);
  Watches().erase(w);
}

// Reads every queued event into the watches it belongs to.
void Drain() {
  if (inotifyFd < 0) return;
  alignas(struct inotify_event) char buf[8192];
  for (;;) {
    ssize_t n = read(inotifyFd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EAGAIN: nothing more; anything else: what was read stands, the rest waits
    for (ssize_t off = 0; off + static_cast<ssize_t>(sizeof(struct inotify_event)) <= n;) {
      const auto* ev = reinterpret_cast<const struct inotify_event*>(buf + off);
      off += static_cast<ssize_t>(sizeof(struct inotify_event) + ev->len);
      if (ev->mask & IN_Q_OVERFLOW) {
        for (auto& [wd, w] : Watches()) w.allChanged = true;
        continue;
      }
      auto w = Watches().find(ev->wd);
      if (w == Watches().end()) continue;  // a watch forgotten since
      if (ev->mask & (IN_IGNORED | IN_DELETE_SELF)) {
        // The directory removed (or its file system unmounted): nothing of it is of use.
        Stores().erase(w->second.key);
        Forget(ev->wd);
        continue;
      }
      if (ev->mask & (IN_MOVE_SELF | IN_UNMOUNT)) w->second.allChanged = true;
      else if (ev->len > 0) w->second.changed.insert(std::string(ev->name));
    }
  }
}

// Starts queueing dirFd's events. False when it cannot (no inotify, the
// user's limit of watches reached, no /proc): the stats then do.
bool AddWatch(int dirFd, const StoreKey& key) {
  if (inotifyFd < 0) {
    inotifyFd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (inotifyFd < 0) return false;
  }
  // By the fd already open (the directory reached without following links),
  // never by its path again: the watch is on the directory that was checked.
  const std::string self = "/proc/self/fd/" + std::to_string(dirFd);
  int wd = inotify_add_watch(inotifyFd, self.c_str(), kWatchMask);
  if (wd < 0) return false;
  // The same wd again means the same inode: a directory whose key we knew by another identity.
  auto old = Watches().find(wd);
  if (old != Watches().end()) WatchOf().erase(old->second.key);
  Watches()[wd] = Watch{key, {}, false};
  WatchOf()[key] = wd;
  return true;
}

// Every watch given up at once (the cache is cleared): closing the instance removes them.
void ForgetAllWatches() {
  Watches().clear();
  WatchOf().clear();
  if (inotifyFd >= 0) close(inotifyFd);
  inotifyFd = -1;
}

}  // namespace

bool StoreId::operator<(const StoreId& o) const {
  if (dev != o.dev) return dev < o.dev;
  if (ino != o.ino) return ino < o.ino;
  return bornNs < o.bornNs;
}

bool StoreId::operator==(const StoreId& o) const { return dev == o.dev && ino == o.ino && bornNs == o.bornNs; }

bool StoreIdOf(int dirFd, StoreId* id) {
  struct statx sx;
  if (statx(dirFd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_INO | STATX_BTIME, &sx) != 0) return false;
  id->dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
  id->ino = sx.stx_ino;
  id->bornNs = (sx.stx_mask & STATX_BTIME) ? static_cast<long long>(sx.stx_btime.tv_sec) * 1'000'000'000LL + sx.stx_btime.tv_nsec : -1;
  return true;
}

CachedStore TakeCachedFiles(int dirFd, const StoreId& key) {
  std::lock_guard<std::mutex> lock(mu);
  Drain();
  CachedStore taken;
  auto it = Stores().find(key);
  const bool readBefore = it != Stores().end();
  if (readBefore) {
    taken = std::move(it->second);
    Stores().erase(it);
  }
  taken.watched = false;
  taken.allChanged = true;
  taken.changed.clear();
  auto wd = WatchOf().find(key);
  if (wd != WatchOf().end()) {
    Watch& w = Watches()[wd->second];
    taken.watched = true;
    taken.allChanged = w.allChanged || !readBefore;
    taken.changed = std::move(w.changed);
    w.changed.clear();
    w.allChanged = false;
  } else if (readBefore) {
    // Read a second time: this process reads it again and again (an engine). Watched from now on.
    taken.watched = AddWatch(dirFd, key);
  }
  return taken;
}

uint64_t KeepCachedFiles(const StoreId& key, CachedFiles files) {
  std::lock_guard<std::mutex> lock(mu);
  auto& stores = Stores();
  if (stores.size() >= kMaxCachedStores && stores.find(key) == stores.end()) {
    stores.clear();
    ForgetAllWatches();
  }
  CachedStore& kept = stores[key];
  kept.files = std::move(files);
  kept.reading = ++lastReading;
  return lastReading;
}

bool StillTheSame(const CachedFile& c, const struct stat& st) {
  return c.hasData && S_ISREG(st.st_mode) && st.st_ino == c.ino && st.st_size == c.size && SameTime(st.st_mtim, c.mtime) && SameTime(st.st_ctim, c.ctime);
}

bool Settled(const struct stat& st, const struct timespec& now) { return Ns(now) - Ns(st.st_ctim) > kSettledNs; }

bool MayKeep(const struct stat& st, const struct timespec& now, bool watched) {
  return S_ISREG(st.st_mode) && static_cast<size_t>(st.st_size) <= kMaxCachedFile && (watched || Settled(st, now));
}

}  // namespace pw
