// The floor the library is measured against: the benchmark's workload done
// by a minimal C program over raw NETLINK_ROUTE sockets (no libmnl, no
// helper library), as fast as plain C allows, doing the same kernel work.
//
//   provision N GROUP group|each
//
// Creates N guests on the existing bridge br0, prints {"phase":"created",...}
// as one JSON line, waits for a line on stdin (the driver verifies in
// between, untimed), tears everything down until every host end is gone,
// prints {"phase":"gone",...} and exits. Guest i: named namespace g<i>
// (iproute2-compatible bind mount under a shared /run/netns), a veth whose
// host end vg<i> is UP, a port of br0 and in link group GROUP, and whose peer
// is born inside g<i> as eth0; there 10.0.x.y/16, eth0 up, default via
// 10.0.0.1. Teardown "group": one RTM_DELLINK for the group, then every name
// unmounted and unlinked; "each": one RTM_DELLINK per host end. Either way it
// waits until the kernel has announced the deletion of every host end.
#define _GNU_SOURCE
#include "nl.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/veth.h>

#define RUN_DIR "/run/netns"

struct guest {
  int sock;   // NETLINK_ROUTE socket created inside the guest namespace
  int nsfd;   // the namespace itself, for IFLA_NET_NS_FD
  char ns[32], host_end[IFNAMSIZ];
};

static int n_guests;
static uint32_t group;
static struct guest *guests;
static int host_sock, br_index;
static double t_netns, t_veth, t_guest;

// iproute2 makes /run/netns a shared mount (bind-mounting it onto itself
// first if it is not a mount point), so names propagate to peer mount
// namespaces; the library does the same.
static void prepare_run_dir(void) {
  if (mkdir(RUN_DIR, 0755) != 0 && errno != EEXIST) die_errno("mkdir " RUN_DIR);
  if (mount("", RUN_DIR, "none", MS_SHARED | MS_REC, NULL) == 0) return;
  if (errno != EINVAL) die_errno("make " RUN_DIR " shared");
  if (mount(RUN_DIR, RUN_DIR, "none", MS_BIND | MS_REC, NULL) != 0) die_errno("bind " RUN_DIR);
  if (mount("", RUN_DIR, "none", MS_SHARED | MS_REC, NULL) != 0) die_errno("make " RUN_DIR " shared");
}

// Runs on the worker thread, which may change namespace freely: unshare()
// moves only this thread into a fresh namespace; the socket opened right
// after belongs to it for good, and the bind mount names it.
static void make_netns(struct guest *g) {
  char path[64];
  snprintf(path, sizeof(path), RUN_DIR "/%s", g->ns);
  int fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
  if (fd < 0) die_errno(path);
  close(fd);
  if (unshare(CLONE_NEWNET) != 0) die_errno("unshare");
  if (mount("/proc/thread-self/ns/net", path, "none", MS_BIND, NULL) != 0) die_errno("bind mount");
  g->nsfd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (g->nsfd < 0) die_errno("open ns");
  g->sock = nl_open(0);
}

// One request: the host end UP, enslaved and grouped, the peer born in the
// guest namespace under its final name.
static void add_veth(struct guest *g) {
  struct nlreq r;
  struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_flags = IFF_UP, .ifi_change = IFF_UP};
  nl_start(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof(ifi));
  nl_put_str(&r, IFLA_IFNAME, g->host_end);
  nl_put_u32(&r, IFLA_MASTER, (uint32_t)br_index);
  nl_put_u32(&r, IFLA_GROUP, group);
  struct rtattr *info = nl_nest(&r, IFLA_LINKINFO);
  nl_put(&r, IFLA_INFO_KIND, "veth", 4);
  struct rtattr *data = nl_nest(&r, IFLA_INFO_DATA);
  struct rtattr *peer = nl_nest(&r, VETH_INFO_PEER);
  struct ifinfomsg pifi = {.ifi_family = AF_UNSPEC};
  nl_put_raw(&r, &pifi, sizeof(pifi));
  nl_put_str(&r, IFLA_IFNAME, "eth0");
  nl_put_u32(&r, IFLA_NET_NS_FD, (uint32_t)g->nsfd);
  nl_end(&r, peer);
  nl_end(&r, data);
  nl_end(&r, info);
  nl_call(host_sock, &r, "add veth");
}

static void configure_guest(struct guest *g, int i) {
  int idx = nl_link_index(g->sock, "eth0");
  uint32_t host = (uint32_t)(i + 1);
  uint8_t addr[4] = {10, 0, (uint8_t)(host >> 8), (uint8_t)(host & 255)};
  uint8_t gw[4] = {10, 0, 0, 1};

  struct nlreq r;
  struct ifaddrmsg ifa = {.ifa_family = AF_INET, .ifa_prefixlen = 16, .ifa_index = (uint32_t)idx};
  nl_start(&r, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &ifa, sizeof(ifa));
  nl_put(&r, IFA_LOCAL, addr, 4);
  nl_put(&r, IFA_ADDRESS, addr, 4);
  nl_call(g->sock, &r, "add address");

  struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = idx, .ifi_flags = IFF_UP, .ifi_change = IFF_UP};
  nl_start(&r, RTM_NEWLINK, 0, &ifi, sizeof(ifi));
  nl_call(g->sock, &r, "set eth0 up");

  struct rtmsg rtm = {.rtm_family = AF_INET, .rtm_table = RT_TABLE_MAIN, .rtm_protocol = RTPROT_BOOT,
                      .rtm_scope = RT_SCOPE_UNIVERSE, .rtm_type = RTN_UNICAST};
  nl_start(&r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &rtm, sizeof(rtm));
  nl_put(&r, RTA_GATEWAY, gw, 4);
  nl_call(g->sock, &r, "add default route");
}

static void *create_all(void *unused) {
  (void)unused;
  prepare_run_dir();
  br_index = nl_link_index(host_sock, "br0");
  for (int i = 0; i < n_guests; i++) {
    struct guest *g = &guests[i];
    double t0 = now_ms();
    make_netns(g);
    double t1 = now_ms();
    add_veth(g);
    double t2 = now_ms();
    configure_guest(g, i + 1);
    t_guest += now_ms() - t2;
    t_veth += t2 - t1;
    t_netns += t1 - t0;
  }
  return NULL;
}

static void remove_names(void) {
  for (int i = 0; i < n_guests; i++) {
    char path[64];
    snprintf(path, sizeof(path), RUN_DIR "/%s", guests[i].ns);
    // Lazy unmount, then unlink: unlinking also detaches copies of the
    // mount in other mount namespaces.
    if (umount2(path, MNT_DETACH) != 0) die_errno("umount");
    if (unlink(path) != 0) die_errno("unlink");
    close(guests[i].sock);
    close(guests[i].nsfd);
  }
}

int main(int argc, char **argv) {
  if (argc != 4 || (strcmp(argv[3], "group") && strcmp(argv[3], "each"))) {
    fprintf(stderr, "usage: %s N GROUP group|each\n", argv[0]);
    return 2;
  }
  n_guests = atoi(argv[1]);
  group = (uint32_t)strtoul(argv[2], NULL, 0);
  guests = calloc((size_t)n_guests, sizeof(*guests));
  for (int i = 0; i < n_guests; i++) {
    snprintf(guests[i].ns, sizeof(guests[i].ns), "g%d", i + 1);
    snprintf(guests[i].host_end, sizeof(guests[i].host_end), "vg%d", i + 1);
  }

  double t0 = now_ms();
  host_sock = nl_open(0);
  // The main thread never changes namespace; one worker thread does all the
  // creating, unsharing into each new namespace in turn.
  pthread_t worker;
  if (pthread_create(&worker, NULL, create_all, NULL) != 0) die_errno("pthread_create");
  pthread_join(worker, NULL);
  double create_ms = now_ms() - t0;
  printf("{\"phase\":\"created\",\"createMs\":%.3f,\"phases\":{\"netnsMs\":%.3f,\"vethMs\":%.3f,\"guestMs\":%.3f}}\n",
         create_ms, t_netns, t_veth, t_guest);
  fflush(stdout);

  char line[64];
  if (!fgets(line, sizeof(line), stdin)) return 1;

  t0 = now_ms();
  // Subscribed before deleting: no deletion can be announced unseen.
  int events = nl_open(RTMGRP_LINK);
  if (strcmp(argv[3], "group") == 0) {
    struct nlreq r;
    struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
    nl_start(&r, RTM_DELLINK, 0, &ifi, sizeof(ifi));
    nl_put_u32(&r, IFLA_GROUP, group);
    nl_call(host_sock, &r, "delete group");
  } else {
    for (int i = 0; i < n_guests; i++) {
      struct nlreq r;
      struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
      nl_start(&r, RTM_DELLINK, 0, &ifi, sizeof(ifi));
      nl_put_str(&r, IFLA_IFNAME, guests[i].host_end);
      nl_call(host_sock, &r, "delete link");
    }
  }
  remove_names();
  int pending = n_guests;
  char **names = malloc(sizeof(char *) * (size_t)n_guests);
  for (int i = 0; i < n_guests; i++) names[i] = guests[i].host_end;
  nl_wait_deleted(events, host_sock, names, n_guests, &pending);
  double teardown_ms = now_ms() - t0;
  printf("{\"phase\":\"gone\",\"teardownMs\":%.3f}\n", teardown_ms);
  return 0;
}
