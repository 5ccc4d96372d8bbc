#include "netns.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/netlink.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <dirent.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <map>
#include <mutex>

#include <linux/net_namespace.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "args.h"
#include "errors.h"
#include "ns_thread.h"
#include "socket.h"
#include "ops.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

namespace pw {

namespace {

[[noreturn]] void Fail(int errnum, const char* syscall, const std::string& object, const std::string& detail,
                       const char* code = nullptr) {
  NlError e;
  e.errnum = errnum;
  e.syscall = syscall;
  e.object = object;
  e.detail = detail;
  if (code) e.code = code;
  throw NlException{e};
}

std::string FsName(long magic) {
  switch (magic) {
    case 0xEF53: return "ext2/3/4";
    case 0x01021994: return "tmpfs";
    case 0x9fa0: return "proc";
    case 0x62656572: return "sysfs";
    case 0x58465342: return "xfs";
    case 0x9123683E: return "btrfs";
    case 0x794c7630: return "overlayfs";
    default: {
      char buf[32];
      std::snprintf(buf, sizeof(buf), "filesystem 0x%lx", magic);
      return buf;
    }
  }
}

const char* NsTypeName(int type) {
  switch (type) {
    case CLONE_NEWNS: return "mount";
    case CLONE_NEWUTS: return "uts";
    case CLONE_NEWIPC: return "ipc";
    case CLONE_NEWUSER: return "user";
    case CLONE_NEWPID: return "pid";
    case CLONE_NEWCGROUP: return "cgroup";
#ifdef CLONE_NEWTIME
    case CLONE_NEWTIME: return "time";
#endif
    default: return "unknown";
  }
}

Value Describe(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) Fail(errno, "fstat", "", "");
  Value v = Value::MakeObject();
  v.Set("fd", fd);
  v.Set("dev", uint64_t(st.st_dev));
  v.Set("ino", uint64_t(st.st_ino));
  return v;
}

// Opens and validates; closes the fd and throws on any failure.
Value OpenValidated(const std::string& path, const std::string& what) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    Fail(e, "open", path, e == ENOENT ? what + " does not exist" : "cannot open " + what, 
         e == ENOENT ? "ERR_PW_NETNS_NOT_FOUND" : nullptr);
  }
  try {
    ValidateNetnsFd(fd, what);
    return Describe(fd);
  } catch (...) {
    close(fd);
    throw;
  }
}

// The id of the mount `dir` is on, or 0 if the kernel cannot say.
uint64_t MountIdOf(const std::string& dir) {
  struct statx stx;
  if (statx(AT_FDCWD, dir.c_str(), 0, STATX_MNT_ID, &stx) != 0 || !(stx.stx_mask & STATX_MNT_ID)) return 0;
  return stx.stx_mnt_id;
}

// As iproute2 does: /run/netns becomes a shared mount (bind-mounted onto
// itself first if it is not a mount point), so a namespace mounted under it
// propagates to mount namespaces that are its slaves or peers.
// Making it shared (MS_REC) walks every mount under it, one per named
// namespace, under the kernel's namespace lock; on every create that was
// 0.52 ms per create over 1,000 sequential ones, against 0.48 once per
// mount. So: while the directory is still on the mount this process made
// shared (same mount id), there is nothing to do. Unmounted or replaced, it
// is a new mount id, and the directory is prepared again.
void PrepareRunDir(const std::string& dir) {
  static std::mutex mu;
  static std::map<std::string, uint64_t> prepared;
  // Held throughout: two creates that both found no mount point would stack two bind mounts.
  std::lock_guard<std::mutex> lock(mu);
  if (uint64_t id = MountIdOf(dir)) {
    auto it = prepared.find(dir);
    if (it != prepared.end() && it->second == id) return;
  }
  if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) Fail(errno, "mkdir", dir, "cannot create the netns directory");
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (mount("", dir.c_str(), "none", MS_SHARED | MS_REC, nullptr) == 0) {
      if (uint64_t id = MountIdOf(dir)) prepared[dir] = id;
      return;
    }
    if (errno != EINVAL || attempt == 1) Fail(errno, "mount", dir, "cannot make the netns directory a shared mount");
    if (mount(dir.c_str(), dir.c_str(), "none", MS_BIND | MS_REC, nullptr) != 0)
      Fail(errno, "mount", dir, "cannot bind-mount the netns directory onto itself");
  }
}

}  // namespace

void ValidateNetnsFd(int fd, const std::string& what) {
  struct statfs sfs;
  if (fstatfs(fd, &sfs) != 0) Fail(errno, "fstatfs", what, "cannot inspect " + what);
  if (sfs.f_type != NSFS_MAGIC)
    Fail(EINVAL, "fstatfs", what,
         what + " is not a namespace: it is a file on " + FsName(sfs.f_type) +
             " (a namespace is an nsfs file; a bind mount that was unmounted, or that is visible only in "
             "another mount namespace, leaves a plain file behind)",
         "ERR_PW_NOT_A_NETNS");
  int type = ioctl(fd, NS_GET_NSTYPE);
  if (type < 0) Fail(errno, "ioctl(NS_GET_NSTYPE)", what, "cannot query the namespace type of " + what);
  if (type != CLONE_NEWNET)
    Fail(EINVAL, "ioctl(NS_GET_NSTYPE)", what,
         what + " is a " + NsTypeName(type) + " namespace, not a network namespace", "ERR_PW_NOT_A_NETNS");
}

Value CreateNetns(const std::string& name, const std::string& runDir, std::shared_ptr<NlSocket>* socketOut) {
  std::string path;
  if (!name.empty()) {
    PrepareRunDir(runDir);
    path = runDir + "/" + name;
    int placeholder = open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
    if (placeholder < 0) {
      int e = errno;
      Fail(e, "open", path, e == EEXIST ? "a namespace named '" + name + "' already exists" : "cannot create " + path,
           e == EEXIST ? "ERR_PW_NETNS_EXISTS" : nullptr);
    }
    close(placeholder);
  }
  int fd = -1, sock = -1, err = 0;
  bool mounted = false;
  const char* failed = nullptr;
  // unshare() moves only a namespace thread into the new namespace (it
  // goes back afterwards). /proc/thread-self (not /proc/self, the main
  // thread's) names the new one. While the thread is inside, a netlink
  // socket costs one socket() call, against a setns() there and back later.
  RunOnNamespaceThread([&] {
    if (unshare(CLONE_NEWNET) != 0) { err = errno; failed = "unshare"; return; }
    fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (fd < 0) { err = errno; failed = "open"; return; }
    if (!path.empty()) {
      if (mount("/proc/thread-self/ns/net", path.c_str(), "none", MS_BIND, nullptr) != 0) {
        err = errno;
        failed = "mount";
        return;
      }
      mounted = true;
    }
    if (socketOut) {
      sock = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
      if (sock < 0) { err = errno; failed = "socket"; }
    }
  });
  auto undo = [&] {
    if (fd >= 0) close(fd);
    if (mounted) umount2(path.c_str(), MNT_DETACH);
    if (!path.empty()) unlink(path.c_str());
  };
  if (failed) {
    if (sock >= 0) close(sock);
    undo();
    Fail(err, failed, path.empty() ? "anonymous namespace" : path, "cannot create the network namespace");
  }
  if (socketOut) {
    try {
      *socketOut = std::make_shared<NlSocket>(NlSocket::Configured{ConfigureRouteSocket(sock, true)});
    } catch (...) {
      undo();
      throw;
    }
  }
  Value v = Describe(fd);
  if (!path.empty()) v.Set("path", path);
  return v;
}

Value OpenNetnsPath(const std::string& path) { return OpenValidated(path, path); }

Value OpenNetnsSelf() { return OpenValidated("/proc/self/ns/net", "/proc/self/ns/net"); }

Value OpenNetnsPid(int pid) {
  // A pidfd pins the process identity: if the process is still alive after
  // we opened its namespace, the PID was not recycled in between.
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) {
    int e = errno;
    Fail(e, "pidfd_open", "pid " + std::to_string(pid), e == ESRCH ? "no such process" : "cannot open the process",
         e == ESRCH ? "ERR_PW_NETNS_NOT_FOUND" : nullptr);
  }
  std::string path = "/proc/" + std::to_string(pid) + "/ns/net";
  Value v;
  try {
    v = OpenValidated(path, "the network namespace of pid " + std::to_string(pid));
  } catch (...) {
    close(pidfd);
    throw;
  }
  int alive = static_cast<int>(syscall(SYS_pidfd_send_signal, pidfd, 0, nullptr, 0));
  int e = errno;
  close(pidfd);
  if (alive != 0) {
    close(static_cast<int>(v.Get("fd").AsNumber()));
    Fail(e, "pidfd_send_signal", "pid " + std::to_string(pid), "the process exited while its namespace was being opened",
         "ERR_PW_NETNS_NOT_FOUND");
  }
  v.Set("pid", pid);
  return v;
}

Value DeleteNamedNetns(const std::string& name, const std::string& runDir) {
  std::string path = runDir + "/" + name;
  bool mounted = umount2(path.c_str(), MNT_DETACH) == 0;
  int umountErr = errno;
  if (unlink(path.c_str()) != 0) {
    int e = errno;
    if (e == ENOENT && !mounted)
      Fail(e, "unlink", path, "no namespace named '" + name + "'", "ERR_PW_NETNS_NOT_FOUND");
    if (e != ENOENT) Fail(e, "unlink", path, "cannot remove the namespace name");
  }
  Value v = Value::MakeObject();
  v.Set("path", path);
  v.Set("wasMounted", mounted || umountErr != EINVAL);
  return v;
}

Value ListNamedNetns(const std::string& runDir) {
  Value list = Value::MakeArray();
  DIR* d = opendir(runDir.c_str());
  if (!d) {
    if (errno == ENOENT) return list;
    Fail(errno, "opendir", runDir, "cannot list named namespaces");
  }
  while (dirent* ent = readdir(d)) {
    std::string name = ent->d_name;
    if (name == "." || name == "..") continue;
    Value e = Value::MakeObject();
    std::string path = runDir + "/" + name;
    e.Set("name", name);
    e.Set("path", path);
    try {
      Value info = OpenValidated(path, path);
      close(static_cast<int>(info.Get("fd").AsNumber()));
      e.Set("valid", true);
      e.Set("dev", info.Get("dev"));
      e.Set("ino", info.Get("ino"));
    } catch (const NlException& ex) {
      e.Set("valid", false);
      e.Set("reason", ex.err.detail);
    }
    list.Push(e);
  }
  closedir(d);
  return list;
}

Value IdentifyNetnsFd(int fd) {
  ValidateNetnsFd(fd, "fd " + std::to_string(fd));
  return Describe(fd);
}

Value CloseFd(int fd) {
  if (close(fd) != 0) Fail(errno, "close", "fd " + std::to_string(fd), "");
  return Value();
}

// Namespace ids. RTM_GETNSID asks the namespace a socket lives in which id
// it gives another namespace (named by an fd). A veth or macvlan reports the
// namespace of its other end only as such an id (IFLA_LINK_NETNSID); this
// turns the id back into a namespace without guessing.
namespace {

// netns.nsid {fd}: the id of the namespace behind fd, as seen from here.
// netns.nsid {nsid}: is that id still given to a namespace? (ENOENT if not.)
void EncodeNsidGet(const Value& a, Builder& b) {
  b.Start(RTM_GETNSID, 0);
  rtgenmsg g{};
  g.rtgen_family = AF_UNSPEC;
  b.PutHeader(g);
  if (a.Has("nsid")) b.PutU32(NETNSA_NSID, uint32_t(ReqUint(a, "nsid", INT32_MAX)), "nsid");
  else b.PutU32(NETNSA_FD, uint32_t(ReqUint(a, "fd", INT32_MAX)), "fd");
}

// {nsid}: null when this namespace has given it no id (NETNSA_NSID_NOT_ASSIGNED).
Value DecodeNsid(const nlmsghdr* h, const Value&) {
  if (h->nlmsg_type != RTM_NEWNSID) return Value();
  AttrTable t = MessageAttrs<rtgenmsg>(h, NETNSA_MAX);
  Value v = Value::MakeObject();
  auto id = t.U32(NETNSA_NSID);
  if (id && int32_t(*id) >= 0) v.Set("nsid", int32_t(*id));
  else v.Set("nsid", Value::Null());
  return v;
}

// netns.nsidAssign {fd}: gives the namespace behind fd an id here (the
// kernel picks it, as `ip netns set NAME auto`), so that this namespace is
// told (RTM_DELNSID) when that one is destroyed. EEXIST when it has one.
void EncodeNsidAssign(const Value& a, Builder& b) {
  b.Start(RTM_NEWNSID, 0);
  rtgenmsg g{};
  g.rtgen_family = AF_UNSPEC;
  b.PutHeader(g);
  b.PutU32(NETNSA_FD, uint32_t(ReqUint(a, "fd", INT32_MAX)), "fd");
  b.PutU32(NETNSA_NSID, uint32_t(-1), "nsid");
}

}  // namespace

void AddNsidOps(std::vector<OpSpec>& ops) {
  ops.push_back({"netns.nsid", EncodeNsidGet, false, DecodeNsid});
  ops.push_back({"netns.nsidAssign", EncodeNsidAssign, false, nullptr});
}

}  // namespace pw
