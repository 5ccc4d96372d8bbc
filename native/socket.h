// A NETLINK_ROUTE socket bound to one network namespace for its whole life.
//
// The socket is created on a namespace thread (ns_thread.h), which setns()es
// into the target namespace and back, so neither the JS thread nor an
// executor thread ever changes namespace. Requests are serialized per socket (a
// request and its replies must not interleave with another's).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "message.h"

namespace pw {

// Opens a NETLINK_ROUTE socket inside the namespace nsfd refers to (-1: the
// process's own namespace), on a namespace thread. Returns the fd; throws
// NlException on failure.
int OpenRouteSocketIn(int nsfd, bool blocking);
// Sets a fresh NETLINK_ROUTE socket's options (buffers, extended ACK, strict
// checking, reply timeout when blocking) and binds it. Closes fd and throws
// on failure.
int ConfigureRouteSocket(int fd, bool blocking);

// How many dump attempts, process-wide, the kernel marked interrupted
// (NLM_F_DUMP_INTR) and were therefore retried or failed: for tests and stats.
uint64_t DumpRetries();

// Where the calling thread reads netlink messages into: kReceiveBufferSize
// bytes of its own, made on its first use and never zeroed (the kernel
// writes what is read). One per socket, zero-filled, cost each new socket
// or subscription ~40 µs of page faults and memset on this VM, and 64 KB
// for as long as it stayed open (docs/performance.md, change 30). A read
// loop parses what it read before it calls anything that could read again
// on the same thread, so one buffer per thread is enough.
constexpr size_t kReceiveBufferSize = 64 * 1024;
uint8_t* ThreadReceiveBuffer();

class NlSocket {
 public:
  explicit NlSocket(int nsfd);  // throws NlException
  // Takes over a blocking socket that ConfigureRouteSocket has prepared
  // (e.g. one opened inside a namespace as it was created).
  struct Configured {
    int fd;
  };
  explicit NlSocket(Configured c);
  ~NlSocket();
  NlSocket(const NlSocket&) = delete;
  NlSocket& operator=(const NlSocket&) = delete;

  // Sends the built request (with NLM_F_ACK) and waits for its ACK. Returns
  // the reply messages that came before the ACK (a GET's answer, an ECHO).
  // Throws NlException with errno and extended-ACK on a kernel error.
  std::vector<std::string> Request(Builder& b);
  // Sends a dump request and returns every message up to NLMSG_DONE. A dump
  // the kernel marks interrupted (NLM_F_DUMP_INTR) is retried a bounded number
  // of times and then fails with EINTR: never a torn result.
  std::vector<std::string> Dump(Builder& b);

  // The cookie of the namespace the socket lives in (SO_NETNS_COOKIE): unique
  // for the machine's uptime and never reused, unlike a namespace's nsfs
  // inode, which a new namespace gets as soon as the old one is gone. A
  // socket never changes namespace, so it is read once, as the socket is
  // made; answering costs no system call and takes no lock (any thread).
  // Throws what the kernel said then (ENOPROTOOPT before Linux 5.14).
  uint64_t NetnsCookie() const;

  // The index of the link named `name` in the socket's namespace, or -errno
  // (-ENODEV: no such link). Asked with SIOCGIFINDEX on this socket, which
  // the kernel answers in the socket's namespace for a socket of any family:
  // no netlink round trip and no RTNL. Unlike a GETLINK, it leaves the
  // device's pending link-watch work alone (see CompleteNewLinkEcho in link.cc).
  // Names of 1 to IFNAMSIZ - 1 bytes; a longer one (an altname) is -ENAMETOOLONG.
  int LinkIndexByName(const std::string& name) const;

  void Close();
  bool closed() const { return fd_ < 0; }

 private:
  std::vector<std::string> Transact(Builder& b, bool dump, bool* interrupted);
  int fd_ = -1;
  uint32_t portid_ = 0;
  uint64_t cookie_ = 0;
  int cookieErrno_ = 0;  // why cookie_ could not be read; 0 when it was
  uint32_t seq_ = 0;
  std::mutex mu_;
};

}  // namespace pw
