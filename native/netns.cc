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
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include <linux/net_namespace.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "args.h"
#include "errors.h"
#include "ns_thread.h"
#include "socket.h"
#include "ops.h"
#include "netns_dir.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif
#ifndef UMOUNT_NOFOLLOW
#define UMOUNT_NOFOLLOW 0x00000008
#endif

namespace pw {

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

Value DescribeNetnsFd(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) FailAt(errno, "fstat", "", "");
  Value v = Value::MakeObject();
  v.Set("fd", fd);
  v.Set("dev", uint64_t(st.st_dev));
  v.Set("ino", uint64_t(st.st_ino));
  return v;
}

namespace {

// Opens and validates; closes the fd and throws on any failure.
Value OpenValidated(const std::string& path, const std::string& what) {
  // O_NONBLOCK: a FIFO given as a path must not block this thread forever.
  int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    FailAt(e, "open", path, e == ENOENT ? what + " does not exist" : "cannot open " + what, 
         e == ENOENT ? "netns-not-found" : nullptr);
  }
  try {
    ValidateNetnsFd(fd, what);
    return DescribeNetnsFd(fd);
  } catch (...) {
    close(fd);
    throw;
  }
}

}  // namespace

void ValidateNetnsFd(int fd, const std::string& what) {
  struct statfs sfs;
  if (fstatfs(fd, &sfs) != 0) FailAt(errno, "fstatfs", what, "cannot inspect " + what);
  if (sfs.f_type != NSFS_MAGIC)
    FailAt(EINVAL, "fstatfs", what,
         what + " is not a namespace: it is a file on " + FsName(sfs.f_type) +
             " (a namespace is an nsfs file; a bind mount that was unmounted, or that is visible only in "
             "another mount namespace, leaves a plain file behind)",
         "not-a-netns");
  int type = ioctl(fd, NS_GET_NSTYPE);
  if (type < 0) FailAt(errno, "ioctl(NS_GET_NSTYPE)", what, "cannot query the namespace type of " + what);
  if (type != CLONE_NEWNET)
    FailAt(EINVAL, "ioctl(NS_GET_NSTYPE)", what,
         what + " is a " + NsTypeName(type) + " namespace, not a network namespace", "not-a-netns");
}

Value CreateNetns(const std::string& name, const std::string& runDir, std::shared_ptr<NlSocket>* socketOut) {
  std::string path;
  // Named: every path operation goes through the directory's fd (never
  // following a symlink), and the bind mount lands on the very placeholder
  // file we created, named by its own fd.
  UniqueFd dir, placeholder;
  if (!name.empty()) {
    dir = PrepareRunDir(runDir);
    path = runDir + "/" + name;
    // O_EXCL never follows a symlink: an existing name of any kind is EEXIST.
    placeholder = UniqueFd(openat(dir.get(), name.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0));
    if (!placeholder) {
      int e = errno;
      FailAt(e, "openat", path, e == EEXIST ? "a namespace named '" + name + "' already exists" : "cannot create " + path,
             e == EEXIST ? "netns-exists" : nullptr);
    }
  }
  const std::string target = placeholder ? ProcFdPath(placeholder.get()) : "";
  int fd = -1, sock = -1, err = 0;
  bool mounted = false;
  const char* failed = nullptr;
  // unshare() moves only a namespace thread into the new namespace (it
  // goes back afterwards). /proc/thread-self (not /proc/self, the main
  // thread's) names the new one. While the thread is inside, a netlink
  // socket costs one socket() call, against a setns() there and back later.
  auto inside = [&] {
    if (unshare(CLONE_NEWNET) != 0) { err = errno; failed = "unshare"; return; }
    fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (fd < 0) { err = errno; failed = "open"; return; }
    if (!target.empty()) {
      if (mount("/proc/thread-self/ns/net", target.c_str(), "none", MS_BIND, nullptr) != 0) {
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
  };
  auto undo = [&] {
    if (fd >= 0) close(fd);
    if (mounted) umount2(ProcFdPath(dir.get(), name).c_str(), MNT_DETACH | UMOUNT_NOFOLLOW);
    if (dir) unlinkat(dir.get(), name.c_str(), 0);
  };
  try {
    RunOnNamespaceThread(inside);
  } catch (...) {
    // No thread to run it, or one that could not get home afterwards: what
    // it made (if anything) goes before the error is reported.
    if (sock >= 0) close(sock);
    placeholder = UniqueFd();
    undo();
    throw;
  }
  placeholder = UniqueFd();
  if (failed) {
    if (sock >= 0) close(sock);
    undo();
    FailAt(err, failed, path.empty() ? "anonymous namespace" : path, "cannot create the network namespace");
  }
  if (socketOut) {
    try {
      *socketOut = std::make_shared<NlSocket>(NlSocket::Configured{ConfigureRouteSocket(sock, true)});
    } catch (...) {
      undo();
      throw;
    }
  }
  Value v = DescribeNetnsFd(fd);
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
    FailAt(e, "pidfd_open", "pid " + std::to_string(pid), e == ESRCH ? "no such process" : "cannot open the process",
         e == ESRCH ? "netns-not-found" : nullptr);
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
    FailAt(e, "pidfd_send_signal", "pid " + std::to_string(pid), "the process exited while its namespace was being opened",
         "netns-not-found");
  }
  v.Set("pid", pid);
  return v;
}

Value CloseFd(int fd) {
  if (close(fd) != 0) FailAt(errno, "close", "fd " + std::to_string(fd), "");
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
