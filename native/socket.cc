#include "socket.h"

#include <net/if.h>  // before the linux/ headers, which know to defer to it
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>

#include "errors.h"
#include "ns_thread.h"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_GET_STRICT_CHK
#define NETLINK_GET_STRICT_CHK 12
#endif

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

namespace pw {

namespace {

// A dump of thousands of links takes 30-50 ms, longer than the quiet gaps
// between changes on a busy host: with 3,000 links and a veth added and
// deleted in a loop, a dump needed a median of 5 and up to 25 attempts
// (measured), so 10 failed about one list in eight. Bounded all the same.
constexpr int kDumpRetries = 100;
constexpr int kReplyTimeoutSeconds = 30;

std::atomic<uint64_t> gDumpRetries{0};

void SetOpt(int fd, int level, int name, int value, const char* what) {
  if (setsockopt(fd, level, name, &value, sizeof(value)) != 0) {
    int e = errno;
    close(fd);
    ThrowErrno(e, "setsockopt", what);
  }
}

}  // namespace

uint64_t DumpRetries() { return gDumpRetries.load(std::memory_order_relaxed); }

int OpenRouteSocketIn(int nsfd, bool blocking) {
  int type = SOCK_RAW | SOCK_CLOEXEC | (blocking ? 0 : SOCK_NONBLOCK);
  int fd = -1;
  InNetns(nsfd, "opening a netlink socket", [&] {
    fd = socket(AF_NETLINK, type, NETLINK_ROUTE);
    if (fd < 0) ThrowErrno(errno, "socket", "opening a netlink socket in the namespace");
  });
  return ConfigureRouteSocket(fd, blocking);
}

int ConfigureRouteSocket(int fd, bool blocking) {
  SetOpt(fd, SOL_SOCKET, SO_SNDBUF, 1 << 20, "SO_SNDBUF");
  SetOpt(fd, SOL_SOCKET, SO_RCVBUF, 4 << 20, "SO_RCVBUF");
  SetOpt(fd, SOL_NETLINK, NETLINK_EXT_ACK, 1, "NETLINK_EXT_ACK");
  SetOpt(fd, SOL_NETLINK, NETLINK_CAP_ACK, 1, "NETLINK_CAP_ACK");
  SetOpt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1, "NETLINK_GET_STRICT_CHK");
  if (blocking) {
    timeval tv{kReplyTimeoutSeconds, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  sockaddr_nl sa{};
  sa.nl_family = AF_NETLINK;
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
    int e = errno;
    close(fd);
    ThrowErrno(e, "bind");
  }
  return fd;
}

NlSocket::NlSocket(int nsfd) : NlSocket(Configured{OpenRouteSocketIn(nsfd, true)}) {}

NlSocket::NlSocket(Configured c) {
  fd_ = c.fd;
  sockaddr_nl sa{};
  socklen_t len = sizeof(sa);
  if (getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
    int e = errno;
    Close();
    ThrowErrno(e, "getsockname");
  }
  portid_ = sa.nl_pid;
  socklen_t cookieLen = sizeof cookie_;
  if (getsockopt(fd_, SOL_SOCKET, SO_NETNS_COOKIE, &cookie_, &cookieLen) != 0) cookieErrno_ = errno;
}

NlSocket::~NlSocket() { Close(); }

uint8_t* ThreadReceiveBuffer() {
  thread_local std::unique_ptr<uint8_t[]> buf(new uint8_t[kReceiveBufferSize]);
  return buf.get();
}

uint64_t NlSocket::NetnsCookie() const {
  if (cookieErrno_ != 0) ThrowErrno(cookieErrno_, "getsockopt", "SO_NETNS_COOKIE");
  return cookie_;
}

int NlSocket::LinkIndexByName(const std::string& name) const {
  if (name.empty()) return -EINVAL;
  if (name.size() >= IFNAMSIZ) return -ENAMETOOLONG;
  ifreq req{};
  std::memcpy(req.ifr_name, name.data(), name.size());
  if (ioctl(fd_, SIOCGIFINDEX, &req) != 0) return -errno;
  return req.ifr_ifindex;
}

void NlSocket::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

std::vector<std::string> NlSocket::Request(Builder& b) {
  b.header()->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
  return Transact(b, false, nullptr);
}

std::vector<std::string> NlSocket::Dump(Builder& b) {
  b.header()->nlmsg_flags |= NLM_F_REQUEST | NLM_F_DUMP;
  for (int attempt = 0;; ++attempt) {
    bool interrupted = false;
    auto msgs = Transact(b, true, &interrupted);
    if (!interrupted) return msgs;
    gDumpRetries.fetch_add(1, std::memory_order_relaxed);
    if (attempt + 1 >= kDumpRetries)
      ThrowErrno(EINTR, "dump", "the dump was interrupted by concurrent changes " +
                                    std::to_string(kDumpRetries) + " times in a row");
  }
}

namespace {

// Decodes an NLMSG_ERROR (or NLMSG_DONE carrying an error) into NlError,
// including the extended-ACK TLVs.
NlError DecodeKernelError(const nlmsghdr* h, int error, const Builder& req, size_t errHdrLen) {
  NlError e;
  e.errnum = -error;
  e.syscall = "netlink";
  if (h->nlmsg_flags & NLM_F_ACK_TLVS) {
    size_t off = NLMSG_HDRLEN + NLMSG_ALIGN(errHdrLen);
    if (h->nlmsg_len > off) {
      AttrTable tlv(reinterpret_cast<const uint8_t*>(h) + off, h->nlmsg_len - off, NLMSGERR_ATTR_MAX);
      if (auto m = tlv.Str(NLMSGERR_ATTR_MSG)) e.extack = *m;
      if (auto o = tlv.U32(NLMSGERR_ATTR_OFFS)) {
        e.offset = *o;
        e.field = req.FieldAt(*o);
      }
    }
  }
  return e;
}

}  // namespace

std::vector<std::string> NlSocket::Transact(Builder& b, bool dump, bool* interrupted) {
  std::lock_guard<std::mutex> lock(mu_);
  if (fd_ < 0) ThrowErrno(EBADF, "sendmsg", "the handle is closed");
  nlmsghdr* hdr = b.header();
  hdr->nlmsg_seq = ++seq_;
  hdr->nlmsg_pid = 0;
  const uint32_t seq = hdr->nlmsg_seq;

  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  ssize_t sent;
  do {
    sent = sendto(fd_, b.bytes().data(), b.bytes().size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel));
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) ThrowErrno(errno, "sendmsg");

  uint8_t* rx = ThreadReceiveBuffer();
  std::vector<std::string> out;
  for (;;) {
    sockaddr_nl from{};
    iovec iov{rx, kReceiveBufferSize};
    msghdr mh{};
    mh.msg_name = &from;
    mh.msg_namelen = sizeof(from);
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    ssize_t n = recvmsg(fd_, &mh, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) ThrowErrno(ETIMEDOUT, "recvmsg", "no reply from the kernel");
      ThrowErrno(errno, "recvmsg");
    }
    if (mh.msg_flags & MSG_TRUNC) ThrowErrno(EMSGSIZE, "recvmsg", "reply larger than the receive buffer");
    if (from.nl_pid != 0) continue;  // only the kernel talks to us

    // NLMSG_OK/NLMSG_NEXT are written for an int length: with a size_t, a
    // last message whose length is not 4-aligned would wrap it around.
    int left = static_cast<int>(n);
    for (auto* h = reinterpret_cast<nlmsghdr*>(rx); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
      // A reply to an earlier request that gave up (timeout) is not ours.
      if (h->nlmsg_seq != seq || h->nlmsg_pid != portid_) continue;
      if (h->nlmsg_flags & NLM_F_DUMP_INTR) {
        if (interrupted) *interrupted = true;
      }
      if (h->nlmsg_type == NLMSG_ERROR) {
        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))) ThrowErrno(EPROTO, "recvmsg", "short error message");
        auto* err = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
        if (err->error == 0) return out;  // the ACK
        size_t errLen = (h->nlmsg_flags & NLM_F_CAPPED) ? sizeof(nlmsgerr)
                                                       : sizeof(nlmsgerr) + err->msg.nlmsg_len - NLMSG_HDRLEN;
        throw NlException{DecodeKernelError(h, err->error, b, errLen)};
      }
      if (h->nlmsg_type == NLMSG_DONE) {
        int error = 0;
        if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(int))) std::memcpy(&error, NLMSG_DATA(h), sizeof(int));
        if (error < 0) throw NlException{DecodeKernelError(h, error, b, sizeof(int))};
        if (dump) return out;
        continue;
      }
      out.emplace_back(reinterpret_cast<const char*>(h), h->nlmsg_len);
    }
    if (left >= static_cast<int>(sizeof(nlmsghdr))) ThrowErrno(EPROTO, "recvmsg", "malformed reply from the kernel");
  }
}

}  // namespace pw
