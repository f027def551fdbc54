/*
 * netlink.c — links, addresses, routes and network namespaces through
 * libnl-route-3 (never `ip`).
 *
 * Work inside a container's namespace runs on a short-lived thread that
 * setns()es into it: a thread's network namespace is its own, so berthd's
 * other threads never see the switch, and a netlink socket opened there
 * stays bound to that namespace.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
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

int nl_link_delete(const char *name) {
  _cleanup_sock_ struct nl_sock *sk = sock_open();
  if (sk == NULL)
    return -EIO;
  _cleanup_link_ struct rtnl_link *l = rtnl_link_alloc();
  rtnl_link_set_name(l, name);
  int rc = rtnl_link_delete(sk, l);
  return rc < 0 ? -ENODEV : 0;
}

/* ---- work inside a namespace ---- */

struct ns_job {
  const char *netns;
  int (*fn)(struct nl_sock *sk, void *arg);
  void *arg;
  int rc;
  char msg[256];
};

static void *ns_thread(void *p) {
  struct ns_job *j = p;
  int fd = open(j->netns, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    j->rc = -errno;
    snprintf(j->msg, sizeof(j->msg), "open %s: %s", j->netns, strerror(errno));
    return NULL;
  }
  if (setns(fd, CLONE_NEWNET) < 0) {
    j->rc = -errno;
    snprintf(j->msg, sizeof(j->msg), "setns %s: %s", j->netns, strerror(errno));
    close(fd);
    return NULL;
  }
  close(fd);
  struct nl_sock *sk = sock_open();
  if (sk == NULL) {
    j->rc = -EIO;
    snprintf(j->msg, sizeof(j->msg), "netlink socket in %s", j->netns);
    return NULL;
  }
  j->rc = j->fn(sk, j->arg);
  if (j->rc < 0)
    snprintf(j->msg, sizeof(j->msg), "%s", nl_geterror(j->rc));
  nl_socket_free(sk);
  return NULL;
}

static int in_ns(const char *netns, int (*fn)(struct nl_sock *, void *), void *arg,
                 struct berr **err, const char *what) {
  struct ns_job j = {.netns = netns, .fn = fn, .arg = arg};
  pthread_t t;
  if (pthread_create(&t, NULL, ns_thread, &j) != 0)
    return berr_set(err, EAGAIN, "%s: cannot start a thread", what);
  pthread_join(t, NULL);
  if (j.rc < 0)
    return berr_set(err, EIO, "%s: %s", what, j.msg);
  return 0;
}

struct inside {
  const char *tmp, *ifname;
  uint32_t ip, gw;
  int prefix;
};

static int configure_inside(struct nl_sock *sk, void *arg) {
  struct inside *a = arg;
  _cleanup_link_ struct rtnl_link *l = NULL;
  int rc = rtnl_link_get_kernel(sk, 0, a->tmp, &l);
  if (rc < 0)
    return rc;
  int idx = rtnl_link_get_ifindex(l);
  /* the peer arrives with a temporary name: eth0 may already exist in the
   * namespace of another (removed) endpoint being torn down */
  _cleanup_link_ struct rtnl_link *ch = rtnl_link_alloc();
  rtnl_link_set_name(ch, a->ifname);
  rtnl_link_set_flags(ch, IFF_UP);
  if ((rc = rtnl_link_change(sk, l, ch, 0)) < 0)
    return rc;
  if ((rc = addr_add(sk, idx, a->ip, a->prefix)) < 0)
    return rc;
  if (a->gw == 0)
    return 0;
  struct rtnl_route *r = rtnl_route_alloc();
  struct nl_addr *dst = addr4(0, 0);
  struct nl_addr *gw = addr4(a->gw, 32);
  struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
  rtnl_route_set_family(r, AF_INET);
  rtnl_route_set_table(r, RT_TABLE_MAIN);
  rtnl_route_set_scope(r, RT_SCOPE_UNIVERSE);
  rtnl_route_set_protocol(r, RTPROT_BOOT);
  rtnl_route_set_dst(r, dst);
  rtnl_route_nh_set_gateway(nh, gw);
  rtnl_route_nh_set_ifindex(nh, idx);
  rtnl_route_add_nexthop(r, nh);
  rc = rtnl_route_add(sk, r, NLM_F_CREATE);
  nl_addr_put(dst);
  nl_addr_put(gw);
  rtnl_route_put(r);
  return rc == -NLE_EXIST ? 0 : rc;
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
  char tmp[IFNAMSIZ];
  snprintf(tmp, sizeof(tmp), "p%s", host_name + 4);
  _cleanup_link_ struct rtnl_link *veth = rtnl_link_veth_alloc();
  _cleanup_link_ struct rtnl_link *peer = rtnl_link_veth_get_peer(veth);
  rtnl_link_set_name(veth, host_name);
  rtnl_link_set_master(veth, br);
  rtnl_link_set_name(peer, tmp);
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
  if (rc < 0)
    return berr_set(err, EIO, "create veth %s: %s", host_name, nl_geterror(rc));
  if ((rc = link_up(sk, host_name)) < 0) {
    nl_link_delete(host_name);
    return berr_set(err, EIO, "veth %s: set up: %s", host_name, nl_geterror(rc));
  }
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
  struct inside a = {.tmp = tmp, .ifname = ifname, .ip = ip, .gw = gw, .prefix = prefix};
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

struct mk_ns {
  const char *path;
  int rc;
  char msg[256];
};

static void *mkns_thread(void *p) {
  struct mk_ns *m = p;
  if (unshare(CLONE_NEWNET) < 0) {
    m->rc = -errno;
    snprintf(m->msg, sizeof(m->msg), "unshare: %s", strerror(errno));
    return NULL;
  }
  struct nl_sock *sk = sock_open();
  if (sk) {
    link_up(sk, "lo");
    nl_socket_free(sk);
  }
  char self[64];
  snprintf(self, sizeof(self), "/proc/self/task/%d/ns/net", (int)gettid());
  if (mount(self, m->path, NULL, MS_BIND, NULL) < 0) {
    m->rc = -errno;
    snprintf(m->msg, sizeof(m->msg), "bind mount on %s: %s", m->path, strerror(errno));
  }
  return NULL;
}

int nl_netns_create(const char *path, struct berr **err) {
  int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0444);
  if (fd < 0)
    return berr_sys(err, errno, "create %s", path);
  close(fd);
  struct mk_ns m = {.path = path};
  pthread_t t;
  if (pthread_create(&t, NULL, mkns_thread, &m) != 0)
    return berr_set(err, EAGAIN, "network namespace %s: cannot start a thread", path);
  pthread_join(t, NULL);
  if (m.rc < 0) {
    unlink(path);
    return berr_set(err, -m.rc, "network namespace %s: %s", path, m.msg);
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
