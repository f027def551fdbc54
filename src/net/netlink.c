/*
 * netlink.c — links, addresses, routes and network namespaces through
 * libnl-route-3 (never `ip`).
 *
 * Work inside a container's namespace runs on the calling thread, which
 * setns()es into it and back (ns_enter / ns_leave): a thread's network
 * namespace is its own, so berthd's other threads never see the switch, and
 * a netlink socket opened there stays bound to that namespace. (A helper
 * thread per visit cost a scheduling round trip each — milliseconds on a
 * loaded machine, twice per container start.)
 *
 * Setup speed: a veth is made, named and addressed with as few netlink
 * round trips as the kernel allows (the host end created up, the peer with
 * its final name in the container's namespace); see nl_veth_attach.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/ipvlan.h>
#include <netlink/route/link/macvlan.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>

#include "net/net_internal.h"

static struct nl_sock *sock_open(void) {
  struct nl_sock *sk = nl_socket_alloc();
  if (sk && nl_connect(sk, NETLINK_ROUTE) < 0) {
    nl_socket_free(sk);
    return NULL;
  }
  return sk;
}

static void sock_freep(struct nl_sock **sk) {
  if (*sk)
    nl_socket_free(*sk);
}
#define _cleanup_sock_ __attribute__((cleanup(sock_freep)))

static void link_putp(struct rtnl_link **l) {
  if (*l)
    rtnl_link_put(*l);
}
#define _cleanup_link_ __attribute__((cleanup(link_putp)))

static struct nl_addr *addr4(uint32_t a, int prefix) {
  uint32_t be = htonl(a);
  struct nl_addr *x = nl_addr_build(AF_INET, &be, 4);
  if (x)
    nl_addr_set_prefixlen(x, prefix);
  return x;
}

static int link_up(struct nl_sock *sk, const char *name) {
  _cleanup_link_ struct rtnl_link *l = NULL;
  int rc = rtnl_link_get_kernel(sk, 0, name, &l);
  if (rc < 0)
    return rc;
  _cleanup_link_ struct rtnl_link *ch = rtnl_link_alloc();
  rtnl_link_set_flags(ch, IFF_UP);
  return rtnl_link_change(sk, l, ch, 0);
}

static int link_index(struct nl_sock *sk, const char *name) {
  _cleanup_link_ struct rtnl_link *l = NULL;
  if (rtnl_link_get_kernel(sk, 0, name, &l) < 0)
    return -ENODEV;
  return rtnl_link_get_ifindex(l);
}

static int addr_add(struct nl_sock *sk, int ifindex, uint32_t ip, int prefix) {
  struct rtnl_addr *a = rtnl_addr_alloc();
  struct nl_addr *local = addr4(ip, prefix);
  uint32_t bcast = ip | ~ipam_mask(prefix);
  struct nl_addr *bc = addr4(bcast, prefix);
  rtnl_addr_set_ifindex(a, ifindex);
  rtnl_addr_set_local(a, local);
  if (prefix < 31)
    rtnl_addr_set_broadcast(a, bc);
  int rc = rtnl_addr_add(sk, a, 0);
  nl_addr_put(local);
  nl_addr_put(bc);
  rtnl_addr_put(a);
  return rc == -NLE_EXIST ? 0 : rc;
}

int nl_bridge_ensure(const char *name, uint32_t gw, int prefix, int mtu, struct berr **err) {
  _cleanup_sock_ struct nl_sock *sk = sock_open();
  if (sk == NULL)
    return berr_set(err, EIO, "netlink: cannot open a socket");
  _cleanup_link_ struct rtnl_link *br = rtnl_link_bridge_alloc();
  rtnl_link_set_name(br, name);
  if (mtu > 0)
    rtnl_link_set_mtu(br, (unsigned)mtu);
  int rc = rtnl_link_add(sk, br, NLM_F_CREATE | NLM_F_EXCL);
  if (rc < 0 && rc != -NLE_EXIST)
    return berr_set(err, EIO, "create bridge %s: %s", name, nl_geterror(rc));
  int idx = link_index(sk, name);
  if (idx < 0)
    return berr_set(err, ENODEV, "bridge %s: not found after creation", name);
  if ((rc = addr_add(sk, idx, gw, prefix)) < 0) {
    char b[16];
    return berr_set(err, EIO, "bridge %s: add address %s/%d: %s", name, ipam_fmt(gw, b), prefix,
                    nl_geterror(rc));
  }
  if ((rc = link_up(sk, name)) < 0)
    return berr_set(err, EIO, "bridge %s: set up: %s", name, nl_geterror(rc));
  return 0;
}

bool nl_link_exists(const char *name) {
  _cleanup_sock_ struct nl_sock *sk = sock_open();
  return sk && link_index(sk, name) > 0;
}

/* ---- deleting a link ----
 * RTM_DELLINK returns only after the kernel's netdev_run_todo: an
 * rcu_barrier() and the wait for the device's last references, 10-40 ms on a
 * busy machine, long after the device left the kernel's lists (unregistered,
 * gone from every listing, and announced with an RTM_DELLINK notification,
 * within the first milliseconds). The request therefore goes out on a
 * detached thread, and the caller waits only for that notification (or for
 * the thread, should the request fail): when nl_link_delete returns, the name
 * is free and `ip link` no longer shows the link, as before; the rest of the
 * kernel's work goes on without holding up a container's stop. */

struct link_del {
  int ifindex;
  int efd;               /* eventfd: the thread's request has returned */
  atomic_int refs;       /* the caller's and the thread's */
  atomic_int rc;         /* the request's result */
};

static void link_del_unref(struct link_del *x) {
  if (atomic_fetch_sub(&x->refs, 1) == 1) {
    close(x->efd);
    free(x);
  }
}

static int link_del_sync(struct nl_sock *sk, int ifindex) {
  _cleanup_link_ struct rtnl_link *l = rtnl_link_alloc();
  rtnl_link_set_ifindex(l, ifindex);
  return rtnl_link_delete(sk, l);
}

static void *link_del_thread(void *p) {
  struct link_del *x = p;
  struct nl_sock *sk = sock_open();
  int rc = sk ? link_del_sync(sk, x->ifindex) : -NLE_NOMEM;
  if (sk)
    nl_socket_free(sk);
  atomic_store(&x->rc, rc);
  uint64_t one = 1;
  if (write(x->efd, &one, sizeof(one)) < 0)
    log_debug("netlink: link deletion: eventfd: %s", strerror(errno));
  link_del_unref(x);
  return NULL;
}

/* Does buf (n bytes read from a RTNLGRP_LINK socket) announce ifindex's end? */
static bool announces_deletion(const char *buf, ssize_t n, int ifindex) {
  for (const struct nlmsghdr *h = (const void *)buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n))
    if (h->nlmsg_type == RTM_DELLINK &&
        ((const struct ifinfomsg *)NLMSG_DATA(h))->ifi_index == ifindex)
      return true;
  return false;
}

/* Wait (10 s at most) until ifindex is announced deleted or the thread's
 * request returned; mon is subscribed to RTNLGRP_LINK. */
static void link_del_wait(struct nl_sock *mon, struct link_del *x) {
  struct pollfd p[2] = {{.fd = nl_socket_get_fd(mon), .events = POLLIN},
                        {.fd = x->efd, .events = POLLIN}};
  for (int left = 10000; left > 0;) {
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int r = poll(p, 2, left);
    if (r <= 0 && !(r < 0 && errno == EINTR))
      return;
    if (p[1].revents)
      return;
    if (p[0].revents) {
      char buf[8192];
      ssize_t n = recv(p[0].fd, buf, sizeof(buf), MSG_DONTWAIT);
      if (n < 0 && errno == ENOBUFS)
        p[0].fd = -1; /* events lost: the thread's answer is all we can wait for */
      if (n > 0 && announces_deletion(buf, n, x->ifindex))
        return;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    left -= (int)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
  }
}

int nl_link_delete(const char *name) {
  _cleanup_sock_ struct nl_sock *sk = sock_open();
  if (sk == NULL)
    return -EIO;
  int idx = link_index(sk, name);
  if (idx < 0)
    return -ENODEV;
  /* subscribed before the request goes out: its notification cannot be missed */
  _cleanup_sock_ struct nl_sock *mon = nl_socket_alloc();
  int efd = eventfd(0, EFD_CLOEXEC);
  if (mon == NULL || efd < 0 || nl_connect(mon, NETLINK_ROUTE) < 0 ||
      nl_socket_add_membership(mon, RTNLGRP_LINK) < 0) {
    if (efd >= 0)
      close(efd);
    return link_del_sync(sk, idx) < 0 ? -ENODEV : 0;
  }
  struct link_del *x = xcalloc(1, sizeof(*x));
  x->ifindex = idx;
  x->efd = efd;
  atomic_init(&x->refs, 2);
  atomic_init(&x->rc, 0);
  pthread_attr_t at;
  pthread_t t;
  pthread_attr_init(&at);
  pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
  bool spawned = pthread_create(&t, &at, link_del_thread, x) == 0;
  pthread_attr_destroy(&at);
  if (!spawned) {
    link_del_unref(x);
    link_del_unref(x);
    return link_del_sync(sk, idx) < 0 ? -ENODEV : 0;
  }
  link_del_wait(mon, x);
  int rc = atomic_load(&x->rc);
  link_del_unref(x);
  return rc < 0 ? -ENODEV : 0;
}

/* ---- work inside a namespace ---- */

/* Enter the network namespace at path (or a new one with path NULL) on this
 * thread; *home gets a descriptor of the thread's own namespace to come back
 * to. On failure the thread has not moved. */
static int ns_enter(const char *path, int *home, char *msg, size_t len) {
  *home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (*home < 0) {
    int e = errno;
    snprintf(msg, len, "open /proc/thread-self/ns/net: %s", strerror(e));
    return -e;
  }
  int rc = 0;
  if (path == NULL) {
    if (unshare(CLONE_NEWNET) < 0) {
      rc = -errno;
      snprintf(msg, len, "unshare: %s", strerror(errno));
    }
  } else {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
      rc = -errno;
      snprintf(msg, len, "%s %s: %s", fd < 0 ? "open" : "setns", path, strerror(errno));
    }
    if (fd >= 0)
      close(fd);
  }
  if (rc < 0) {
    close(*home);
    *home = -1;
  }
  return rc;
}

/* Back to the namespace ns_enter left. setns() to a namespace we hold
 * cannot fail short of the kernel running out of memory; if it ever did,
 * this thread would stay in the container's namespace, so say so loudly. */
static void ns_leave(int home) {
  if (setns(home, CLONE_NEWNET) < 0)
    log_error("netlink: cannot return to berthd's network namespace: %s", strerror(errno));
  close(home);
}

static int in_ns(const char *netns, int (*fn)(struct nl_sock *, void *), void *arg,
                 struct berr **err, const char *what) {
  char msg[256];
  int home;
  int rc = ns_enter(netns, &home, msg, sizeof(msg));
  if (rc < 0)
    return berr_set(err, -rc, "%s: %s", what, msg);
  struct nl_sock *sk = sock_open();
  if (sk == NULL) {
    ns_leave(home);
    return berr_set(err, EIO, "%s: netlink socket in %s", what, netns);
  }
  rc = fn(sk, arg);
  nl_socket_free(sk);
  ns_leave(home);
  if (rc < 0)
    return berr_set(err, EIO, "%s: %s", what, nl_geterror(rc));
  return 0;
}

struct inside {
  const char *tmp, *ifname; /* tmp NULL: the link has its final name */
  uint32_t ip, gw;
  int prefix;
};

/* The default route via gw on link idx (dst: the family's any/0; both
 * addresses are released here). An existing one is not an error. */
static int default_route_add(struct nl_sock *sk, int family, int idx, struct nl_addr *dst,
                             struct nl_addr *gw) {
  struct rtnl_route *r = rtnl_route_alloc();
  struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
  rtnl_route_set_family(r, (uint8_t)family);
  rtnl_route_set_table(r, RT_TABLE_MAIN);
  rtnl_route_set_scope(r, RT_SCOPE_UNIVERSE);
  rtnl_route_set_protocol(r, RTPROT_BOOT);
  rtnl_route_set_dst(r, dst);
  rtnl_route_nh_set_gateway(nh, gw);
  rtnl_route_nh_set_ifindex(nh, idx);
  rtnl_route_add_nexthop(r, nh);
  int rc = rtnl_route_add(sk, r, NLM_F_CREATE);
  nl_addr_put(dst);
  nl_addr_put(gw);
  rtnl_route_put(r);
  return rc == -NLE_EXIST ? 0 : rc;
}

static int configure_inside(struct nl_sock *sk, void *arg) {
  struct inside *a = arg;
  _cleanup_link_ struct rtnl_link *l = NULL;
  int rc = rtnl_link_get_kernel(sk, 0, a->tmp ? a->tmp : a->ifname, &l);
  if (rc < 0)
    return rc;
  int idx = rtnl_link_get_ifindex(l);
  /* (a device is renamed only while down: the rename goes with the up) */
  _cleanup_link_ struct rtnl_link *ch = rtnl_link_alloc();
  if (a->tmp)
    rtnl_link_set_name(ch, a->ifname);
  rtnl_link_set_flags(ch, IFF_UP);
  if ((rc = rtnl_link_change(sk, l, ch, 0)) < 0)
    return rc;
  if ((rc = addr_add(sk, idx, a->ip, a->prefix)) < 0)
    return rc;
  if (a->gw == 0)
    return 0;
  return default_route_add(sk, AF_INET, idx, addr4(0, 0), addr4(a->gw, 32));
}

/* One RTM_NEWLINK: the veth host_name on bridge br, up, and its peer peer_name
 * in the namespace nsfd with mac and mtu. (The peer cannot be made up in the
 * same request: the kernel opens it before the pair is linked, ENOTCONN.) */
static int veth_create(struct nl_sock *sk, const char *host_name, int br, const char *peer_name,
                       int nsfd, const char *mac, int mtu) {
  _cleanup_link_ struct rtnl_link *veth = rtnl_link_veth_alloc();
  _cleanup_link_ struct rtnl_link *peer = rtnl_link_veth_get_peer(veth);
  rtnl_link_set_name(veth, host_name);
  rtnl_link_set_master(veth, br);
  rtnl_link_set_flags(veth, IFF_UP);
  rtnl_link_set_name(peer, peer_name);
  rtnl_link_set_ns_fd(peer, nsfd);
  struct nl_addr *hw = NULL;
  if (mac && nl_addr_parse(mac, AF_LLC, &hw) == 0)
    rtnl_link_set_addr(peer, hw);
  if (mtu > 0) {
    rtnl_link_set_mtu(veth, (unsigned)mtu);
    rtnl_link_set_mtu(peer, (unsigned)mtu);
  }
  int rc = rtnl_link_add(sk, veth, NLM_F_CREATE | NLM_F_EXCL);
  if (hw)
    nl_addr_put(hw);
  return rc;
}

int nl_veth_attach(const char *netns, const char *host_name, const char *bridge,
                   const char *ifname, const char *mac, uint32_t ip, int prefix, uint32_t gw,
                   int mtu, struct berr **err) {
  _cleanup_sock_ struct nl_sock *sk = sock_open();
  if (sk == NULL)
    return berr_set(err, EIO, "netlink: cannot open a socket");
  _cleanup_close_ int nsfd = open(netns, O_RDONLY | O_CLOEXEC);
  if (nsfd < 0)
    return berr_sys(err, errno, "open network namespace %s", netns);
  int br = link_index(sk, bridge);
  if (br < 0)
    return berr_set(err, ENODEV, "bridge %s not found", bridge);
  /* Made up on the host side, the peer with its final name: no lookup and
   * no rename on the host. Should ifname still exist in the namespace (an
   * endpoint of it being torn down), the peer arrives as tmp and is renamed
   * inside. */
  char tmp[IFNAMSIZ];
  snprintf(tmp, sizeof(tmp), "p%s", host_name + 4);
  const char *rename_from = NULL;
  int rc = veth_create(sk, host_name, br, ifname, nsfd, mac, mtu);
  if (rc == -NLE_EXIST && link_index(sk, host_name) < 0) {
    rename_from = tmp;
    rc = veth_create(sk, host_name, br, tmp, nsfd, mac, mtu);
  }
  if (rc < 0)
    return berr_set(err, EIO, "create veth %s: %s", host_name, nl_geterror(rc));
  /* hairpin: with br_netfilter a container's packet DNATed back to itself
   * is bridged out of the port it came in on, which the bridge refuses
   * unless the port is in hairpin mode (Docker sets it too) */
  _cleanup_free_ char *hp = xasprintf("/sys/class/net/%s/brport/hairpin_mode", host_name);
  int hfd = open(hp, O_WRONLY | O_CLOEXEC);
  if (hfd >= 0) {
    if (write(hfd, "1", 1) < 0)
      log_debug("veth %s: hairpin mode: %s", host_name, strerror(errno));
    close(hfd);
  }
  struct inside a = {.tmp = rename_from, .ifname = ifname, .ip = ip, .gw = gw, .prefix = prefix};
  if ((rc = in_ns(netns, configure_inside, &a, err, "configure the container's interface")) < 0) {
    nl_link_delete(host_name);
    return rc;
  }
  return 0;
}

int nl_vlan_attach(const char *netns, const char *kind, const char *parent, const char *mode,
                   const char *tmp, const char *ifname, const char *mac, uint32_t ip, int prefix,
                   uint32_t gw, int mtu, struct berr **err) {
  _cleanup_sock_ struct nl_sock *sk = sock_open();
  if (sk == NULL)
    return berr_set(err, EIO, "netlink: cannot open a socket");
  _cleanup_close_ int nsfd = open(netns, O_RDONLY | O_CLOEXEC);
  if (nsfd < 0)
    return berr_sys(err, errno, "open network namespace %s", netns);
  int pidx = link_index(sk, parent);
  if (pidx < 0)
    return berr_set(err, ENODEV, "-o parent interface was not found on the host: %s", parent);
  bool mv = strcmp(kind, "macvlan") == 0;
  _cleanup_link_ struct rtnl_link *l = mv ? rtnl_link_macvlan_alloc() : rtnl_link_ipvlan_alloc();
  rtnl_link_set_link(l, pidx);
  rtnl_link_set_name(l, tmp);
  rtnl_link_set_ns_fd(l, nsfd);
  if (mv) {
    int m = rtnl_link_macvlan_str2mode(mode && *mode ? mode : "bridge");
    if (m > 0)
      rtnl_link_macvlan_set_mode(l, (uint32_t)m);
  } else {
    int m = rtnl_link_ipvlan_str2mode(mode && *mode ? mode : "l2");
    if (m >= 0)
      rtnl_link_ipvlan_set_mode(l, (uint16_t)m);
  }
  struct nl_addr *hw = NULL;
  if (mv && mac && nl_addr_parse(mac, AF_LLC, &hw) == 0)
    rtnl_link_set_addr(l, hw);
  if (mtu > 0)
    rtnl_link_set_mtu(l, (unsigned)mtu);
  int rc = rtnl_link_add(sk, l, NLM_F_CREATE | NLM_F_EXCL);
  if (hw)
    nl_addr_put(hw);
  if (rc < 0)
    return berr_set(err, EIO, "create %s on %s: %s", kind, parent, nl_geterror(rc));
  struct inside a = {.tmp = tmp, .ifname = ifname, .ip = ip, .gw = gw, .prefix = prefix};
  if ((rc = in_ns(netns, configure_inside, &a, err, "configure the container's interface")) < 0) {
    nl_ns_link_delete(netns, tmp);
    return rc;
  }
  return 0;
}

static int delete_inside(struct nl_sock *sk, void *arg) {
  _cleanup_link_ struct rtnl_link *l = rtnl_link_alloc();
  rtnl_link_set_name(l, arg);
  int rc = rtnl_link_delete(sk, l);
  return rc == -NLE_OBJ_NOTFOUND || rc == -NLE_NODEV ? 0 : rc;
}

int nl_ns_link_delete(const char *netns, const char *ifname) {
  return in_ns(netns, delete_inside, (void *)ifname, NULL, "delete interface");
}

/* ---- namespaces ---- */

/* lo up in a new namespace: one RTM_NEWLINK, no lookup (lo is always
 * ifindex 1, LOOPBACK_IFINDEX) */
static int lo_up(struct nl_sock *sk) {
  _cleanup_link_ struct rtnl_link *lo = rtnl_link_alloc();
  _cleanup_link_ struct rtnl_link *ch = rtnl_link_alloc();
  rtnl_link_set_ifindex(lo, 1);
  rtnl_link_set_flags(ch, IFF_UP);
  return rtnl_link_change(sk, lo, ch, 0);
}

int nl_netns_create(const char *path, struct berr **err) {
  int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0444);
  if (fd < 0)
    return berr_sys(err, errno, "create %s", path);
  close(fd);
  char msg[256];
  int home;
  int rc = ns_enter(NULL, &home, msg, sizeof(msg));
  if (rc == 0) {
    struct nl_sock *sk = sock_open();
    if (sk) {
      if (lo_up(sk) < 0)
        link_up(sk, "lo");
      nl_socket_free(sk);
    }
    if (mount("/proc/thread-self/ns/net", path, NULL, MS_BIND, NULL) < 0) {
      rc = -errno;
      snprintf(msg, sizeof(msg), "bind mount on %s: %s", path, strerror(errno));
    }
    ns_leave(home);
  }
  if (rc < 0) {
    unlink(path);
    return berr_set(err, -rc, "network namespace %s: %s", path, msg);
  }
  return 0;
}

size_t nl_host_routes(uint32_t **dst, int **prefix) {
  *dst = NULL;
  *prefix = NULL;
  _cleanup_free_ char *txt = NULL;
  if (read_file("/proc/net/route", &txt, NULL, NULL) < 0)
    return 0;
  size_t n = 0, cap = 0;
  char *save = NULL;
  for (char *line = strtok_r(txt, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    char ifn[32];
    unsigned d, g, fl, mask;
    int refc, use, metric;
    if (sscanf(line, "%31s %x %x %x %d %d %d %x", ifn, &d, &g, &fl, &refc, &use, &metric,
               &mask) != 8 ||
        mask == 0)
      continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 16;
      *dst = xrealloc(*dst, cap * sizeof(**dst));
      *prefix = xrealloc(*prefix, cap * sizeof(**prefix));
    }
    (*dst)[n] = ntohl(d);
    (*prefix)[n] = __builtin_popcount(mask);
    n++;
  }
  return n;
}

int nl_sysctl(const char *key, const char *val) {
  _cleanup_free_ char *p = xasprintf("/proc/sys/%s", key);
  int fd = open(p, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  ssize_t w = write(fd, val, strlen(val));
  int e = errno;
  close(fd);
  return w < 0 ? -e : 0;
}

/* ---- IPv6 (additive: bridges and endpoints of networks with EnableIPv6) ---- */

static struct nl_addr *addr6(const struct in6_addr *a, int prefix) {
  struct nl_addr *x = nl_addr_build(AF_INET6, a, 16);
  if (x)
    nl_addr_set_prefixlen(x, prefix);
  return x;
}

/* No DAD: dockerd sets IFA_F_NODAD too; a tentative address would make the
 * container's first packets (and the default route) wait ~1 s. */
static int addr6_add(struct nl_sock *sk, int ifindex, const struct in6_addr *ip, int prefix) {
  struct rtnl_addr *a = rtnl_addr_alloc();
  struct nl_addr *local = addr6(ip, prefix);
  rtnl_addr_set_ifindex(a, ifindex);
  rtnl_addr_set_local(a, local);
  rtnl_addr_set_flags(a, IFA_F_NODAD);
  int rc = rtnl_addr_add(sk, a, 0);
  nl_addr_put(local);
  rtnl_addr_put(a);
  return rc == -NLE_EXIST ? 0 : rc;
}

int nl_bridge_addr6(const char *name, const struct in6_addr *gw, int prefix, struct berr **err) {
  _cleanup_sock_ struct nl_sock *sk = sock_open();
  if (sk == NULL)
    return berr_set(err, EIO, "netlink: cannot open a socket");
  _cleanup_free_ char *k = xasprintf("net/ipv6/conf/%s/disable_ipv6", name);
  nl_sysctl(k, "0");
  int idx = link_index(sk, name);
  if (idx < 0)
    return berr_set(err, ENODEV, "bridge %s not found", name);
  int rc = addr6_add(sk, idx, gw, prefix);
  if (rc < 0) {
    char b[INET6_ADDRSTRLEN];
    return berr_set(err, EIO, "bridge %s: add address %s/%d: %s", name, ipam6_fmt(gw, b), prefix,
                    nl_geterror(rc));
  }
  return 0;
}

struct inside6 {
  const char *ifname;
  const struct in6_addr *ip, *gw;
  int prefix;
};

static int configure_inside6(struct nl_sock *sk, void *arg) {
  struct inside6 *a = arg;
  int idx = link_index(sk, a->ifname);
  if (idx < 0)
    return -NLE_NODEV;
  int rc = addr6_add(sk, idx, a->ip, a->prefix);
  if (rc < 0 || a->gw == NULL)
    return rc;
  return default_route_add(sk, AF_INET6, idx, addr6(&in6addr_any, 0), addr6(a->gw, 128));
}

int nl_ns_addr6(const char *netns, const char *ifname, const struct in6_addr *ip, int prefix,
                const struct in6_addr *gw, struct berr **err) {
  struct inside6 a = {.ifname = ifname, .ip = ip, .gw = gw, .prefix = prefix};
  return in_ns(netns, configure_inside6, &a, err, "configure the container's IPv6 address");
}
