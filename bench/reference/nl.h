// Raw rtnetlink plumbing for the C reference: a request builder, a
// request/ACK exchange, a name lookup and a wait for link deletions. Plain
// libc and kernel headers only, so the reference needs no package.
#pragma once

#include <stdint.h>
#include <stddef.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

struct nlreq {
  struct nlmsghdr *h;
  // Large enough for the biggest request here (a veth with its peer).
  _Alignas(NLMSG_ALIGNTO) char buf[1024];
};

double now_ms(void);
__attribute__((noreturn)) void die_errno(const char *what);

// A NETLINK_ROUTE socket in the calling thread's namespace, subscribed to
// the given multicast groups (0: none).
int nl_open(uint32_t groups);

void nl_start(struct nlreq *r, uint16_t type, uint16_t flags, const void *hdr, size_t len);
void nl_put(struct nlreq *r, uint16_t type, const void *data, size_t len);
void nl_put_raw(struct nlreq *r, const void *data, size_t len);
void nl_put_u32(struct nlreq *r, uint16_t type, uint32_t v);
void nl_put_str(struct nlreq *r, uint16_t type, const char *s);
struct rtattr *nl_nest(struct nlreq *r, uint16_t type);
void nl_end(struct nlreq *r, struct rtattr *nest);

// Sends with NLM_F_ACK and waits for the ACK; returns 0 or -errno.
int nl_try(int fd, struct nlreq *r, int *index_out);
// As nl_try, but exits with the kernel's message on failure.
void nl_call(int fd, struct nlreq *r, const char *what);
// The index of a link by name (one RTM_GETLINK, not a dump); exits if none.
int nl_link_index(int fd, const char *name);

// Reads link events from `events` (subscribed before the deletions started)
// until the kernel has announced the deletion of every name. If the event
// socket overflowed, falls back to asking `query` about each name left.
void nl_wait_deleted(int events, int query, char **names, int n, int *pending);
