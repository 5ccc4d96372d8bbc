#define _GNU_SOURCE
#include "nl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/if_link.h>

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif

static uint32_t seq;

double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

void die_errno(const char *what) {
  fprintf(stderr, "provision: %s: %s\n", what, strerror(errno));
  exit(1);
}

int nl_open(uint32_t groups) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) die_errno("socket");
  int one = 1;
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
  if (groups) {
    // Room for every deletion event of a large teardown (root may exceed rmem_max).
    int size = 16 << 20;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) != 0)
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
  }
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = groups};
  if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) die_errno("bind");
  return fd;
}

void nl_start(struct nlreq *r, uint16_t type, uint16_t flags, const void *hdr, size_t len) {
  memset(r->buf, 0, NLMSG_SPACE(len));
  r->h = (struct nlmsghdr *)r->buf;
  r->h->nlmsg_len = NLMSG_LENGTH(len);
  r->h->nlmsg_type = type;
  r->h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
  memcpy(NLMSG_DATA(r->h), hdr, len);
  r->h->nlmsg_len = NLMSG_ALIGN(r->h->nlmsg_len);
}

void nl_put(struct nlreq *r, uint16_t type, const void *data, size_t len) {
  struct rtattr *a = (struct rtattr *)(r->buf + r->h->nlmsg_len);
  if (r->h->nlmsg_len + RTA_SPACE(len) > sizeof(r->buf)) {
    fprintf(stderr, "provision: request too large\n");
    exit(1);
  }
  a->rta_type = type;
  a->rta_len = (unsigned short)RTA_LENGTH(len);
  if (len) memcpy(RTA_DATA(a), data, len);
  memset((char *)RTA_DATA(a) + len, 0, RTA_SPACE(len) - RTA_LENGTH(len));
  r->h->nlmsg_len += RTA_SPACE(len);
}

// A bare header inside a nest (VETH_INFO_PEER starts with an ifinfomsg).
void nl_put_raw(struct nlreq *r, const void *data, size_t len) {
  memcpy(r->buf + r->h->nlmsg_len, data, len);
  r->h->nlmsg_len += NLMSG_ALIGN(len);
}

void nl_put_u32(struct nlreq *r, uint16_t type, uint32_t v) { nl_put(r, type, &v, sizeof(v)); }

void nl_put_str(struct nlreq *r, uint16_t type, const char *s) { nl_put(r, type, s, strlen(s) + 1); }

struct rtattr *nl_nest(struct nlreq *r, uint16_t type) {
  struct rtattr *a = (struct rtattr *)(r->buf + r->h->nlmsg_len);
  nl_put(r, type, NULL, 0);
  return a;
}

void nl_end(struct nlreq *r, struct rtattr *nest) {
  nest->rta_len = (unsigned short)(r->buf + r->h->nlmsg_len - (char *)nest);
}

static const char *extack(const struct nlmsghdr *h) {
  if (!(h->nlmsg_flags & NLM_F_ACK_TLVS)) return "";
  const struct nlmsgerr *e = NLMSG_DATA(h);
  size_t off = NLMSG_HDRLEN + sizeof(*e);
  if (!(h->nlmsg_flags & NLM_F_CAPPED)) off += e->msg.nlmsg_len - NLMSG_HDRLEN;
  for (const struct rtattr *a = (const void *)((const char *)h + off);
       (const char *)a + sizeof(*a) <= (const char *)h + h->nlmsg_len && a->rta_len >= sizeof(*a);
       a = (const void *)((const char *)a + RTA_ALIGN(a->rta_len)))
    if (a->rta_type == NLMSGERR_ATTR_MSG) return RTA_DATA(a);
  return "";
}

static char last_extack[256];

int nl_try(int fd, struct nlreq *r, int *index_out) {
  r->h->nlmsg_seq = ++seq;
  if (send(fd, r->buf, r->h->nlmsg_len, 0) < 0) die_errno("send");
  static _Alignas(NLMSG_ALIGNTO) char rx[65536];
  for (;;) {
    ssize_t n = recv(fd, rx, sizeof(rx), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      die_errno("recv");
    }
    size_t left = (size_t)n;
    for (struct nlmsghdr *h = (void *)rx; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_seq != r->h->nlmsg_seq) continue;
      if (h->nlmsg_type == RTM_NEWLINK && index_out) *index_out = ((struct ifinfomsg *)NLMSG_DATA(h))->ifi_index;
      if (h->nlmsg_type == NLMSG_ERROR) {
        const struct nlmsgerr *e = NLMSG_DATA(h);
        snprintf(last_extack, sizeof(last_extack), "%s", extack(h));
        return e->error;
      }
    }
  }
}

void nl_call(int fd, struct nlreq *r, const char *what) {
  int err = nl_try(fd, r, NULL);
  if (err) {
    fprintf(stderr, "provision: %s: %s%s%s\n", what, strerror(-err), *last_extack ? ": " : "", last_extack);
    exit(1);
  }
}

int nl_link_index(int fd, const char *name) {
  struct nlreq r;
  struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
  nl_start(&r, RTM_GETLINK, 0, &ifi, sizeof(ifi));
  nl_put_str(&r, IFLA_IFNAME, name);
  int index = 0;
  int err = nl_try(fd, &r, &index);
  if (err || index <= 0) {
    fprintf(stderr, "provision: no link %s: %s\n", name, strerror(err ? -err : ENODEV));
    exit(1);
  }
  return index;
}

static int cmp_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

// Marks `name` gone if it is one of the names still awaited.
static void seen(char **names, int n, char *gone, const char *name, int *pending) {
  char **hit = bsearch(&name, names, (size_t)n, sizeof(*names), cmp_name);
  if (hit && !gone[hit - names]) {
    gone[hit - names] = 1;
    --*pending;
  }
}

static void poll_remaining(int query, char **names, int n, char *gone, int *pending) {
  while (*pending > 0) {
    for (int i = 0; i < n; i++) {
      if (gone[i]) continue;
      struct nlreq r;
      struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
      nl_start(&r, RTM_GETLINK, 0, &ifi, sizeof(ifi));
      nl_put_str(&r, IFLA_IFNAME, names[i]);
      if (nl_try(query, &r, NULL) == -ENODEV) {
        gone[i] = 1;
        --*pending;
      }
    }
    if (*pending > 0) usleep(1000);
  }
}

void nl_wait_deleted(int events, int query, char **names, int n, int *pending) {
  qsort(names, (size_t)n, sizeof(*names), cmp_name);
  char *gone = calloc((size_t)n, 1);
  static _Alignas(NLMSG_ALIGNTO) char rx[1 << 16];
  while (*pending > 0) {
    ssize_t len = recv(events, rx, sizeof(rx), 0);
    if (len < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOBUFS) {  // events were lost: ask about each name instead
        poll_remaining(query, names, n, gone, pending);
        break;
      }
      die_errno("recv events");
    }
    size_t left = (size_t)len;
    for (struct nlmsghdr *h = (void *)rx; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_type != RTM_DELLINK) continue;
      struct ifinfomsg *ifi = NLMSG_DATA(h);
      int alen = (int)IFLA_PAYLOAD(h);
      for (struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, alen); a = RTA_NEXT(a, alen))
        if (a->rta_type == IFLA_IFNAME) seen(names, n, gone, RTA_DATA(a), pending);
    }
  }
  free(gone);
}
