/*
 * net_internal.h — the network manager's private types, shared by the files of src/net.
 *
 *   net.c       the manager: network table, persistence, the /networks API
 *   endpoint.c  container endpoints: addresses, veths, ports, hosts lines
 *   ipam.c      address arithmetic (pure)
 *   netlink.c   links, addresses, routes, namespaces over libnl-route-3
 *   nft.c       libnftables through dlopen
 *   rules.c     the nftables ruleset text built from the table (pure)
 *   evloop.c    the epoll thread of the embedded DNS and the userland proxy
 *
 * Locking: n->lock guards everything below; netlink and nftables calls are
 * made with it held (they are quick and keep the table and the kernel in step).
 */
#pragma once

#include <pthread.h>

#include "net/net.h"

/* One network: IPv4 always (on bridges), IPv6 besides when EnableIPv6. */
struct net_network {
  char id[65];
  char *name;
  char *driver;          /* "bridge", "host", "null" */
  char *created;         /* RFC 3339 */
  char *bridge;          /* the bridge device (bridge driver) */
  bool predefined;       /* bridge / host / none: never removed */
  bool is_default;       /* the default "bridge" network (legacy fields, no DNS) */
  bool internal, attachable, masquerade, icc;
  bool has_subnet;
  uint32_t subnet, gateway;
  int prefix;
  uint32_t range;        /* --ip-range (range_prefix 0: the whole subnet) */
  int range_prefix;
  int mtu;
  json_t *labels;        /* {"k":"v"} */
  json_t *options;       /* Options as given ({"com.docker.network.bridge.name":…}) */
  json_t *ipam_options;  /* IPAM.Options */
  bool gateway_given;    /* IPAM.Config had a Gateway */
  bool subnet_given;     /* IPAM.Config had a Subnet (inspect then shows Gateway only if given) */
  /* IPv6: a v6 IPAM config may exist without EnableIPv6 (dockerd keeps and
   * shows it; endpoints get v6 addresses only with ipv6 on) */
  bool ipv6;             /* EnableIPv6 */
  bool has_subnet6, gateway6_given;
  struct in6_addr subnet6, gateway6, range6;
  int prefix6, range6_prefix; /* range6_prefix 0: the whole subnet */
  char *subnet6_text;    /* the Subnet as given ("fd00:1::1/64" stays so in inspect, as dockerd) */
};

/* One published port of an endpoint. */
struct net_port {
  char proto[8];
  int cport, hport;
  uint32_t hip;          /* 0: every address */
};

struct nft;
struct proxy;
struct dns_server;

struct net {
  pthread_mutex_t lock;
  struct db *db;
  struct nft *nft;       /* NULL until the first rule (or with iptables off) */
  struct proxy *proxy;   /* the userland proxy, made at the first published port */
  struct dns_server *dns; /* the embedded DNS, made at the first user-network container */
  bool iptables, userland_proxy;
  char *default_bridge;  /* NULL: no default bridge network */
  char *bip;
  json_t *pools;
  char *exec_root;
  char **dns_default;    /* the daemon's --dns (the embedded DNS's default upstreams) */
  char *table;           /* the nftables table name (ip family; ip6 too with IPv6 networks) */
  bool table6;           /* the ip6 table exists (made with the first IPv6 network) */
  bool ipv6;             /* daemon --ipv6: the default bridge has IPv6 */
  char *fixed_cidr_v6;   /* daemon --fixed-cidr-v6: the default bridge's IPv6 subnet */
  int mtu;
  struct net_network **nets;
  size_t n_nets;
};

/* ---- evloop.c: the epoll thread of dns.c and proxy.c ---- */
struct evloop;
struct evloop_ops {
  /* one event on a watched fd; `data` as registered. Owner's lock held. */
  void (*event)(void *ctx, void *data, uint32_t events);
  /* after each iteration's events (timers, freeing the dead); returns the
   * next epoll timeout in ms, -1 for none. Owner's lock held. */
  int (*tick)(void *ctx);
};
/* Start the thread; `lock` (the owner's, initialised) is taken around every
 * iteration. `what` names the owner in errors ("dns server: epoll: …"). */
int evloop_new(struct evloop **out, pthread_mutex_t *lock, const struct evloop_ops *ops,
               void *ctx, const char *what, struct berr **err);
/* Watch fd (-errno on failure); change / stop watching it (fd < 0: no-op). */
int evloop_add(struct evloop *l, int fd, uint32_t events, void *data);
void evloop_mod(struct evloop *l, int fd, uint32_t events, void *data);
void evloop_del(struct evloop *l, int fd);
/* Make the loop run an iteration (e.g. after a removal, to free the dead). */
void evloop_wake(struct evloop *l);
/* Stop and join the thread (call without the owner's lock); watches may still
 * be deleted afterwards. Idempotent. */
void evloop_stop(struct evloop *l);
/* evloop_stop, then close everything and free. NULL is fine. */
void evloop_free(struct evloop *l);
/* pthread_create with every signal blocked in the new thread (the loop's, and
 * dns.c's short-lived setns threads): no process handler ever runs there. */
int evloop_thread_start(pthread_t *t, void *(*fn)(void *), void *arg);

/* ---- nft.c ---- */
int nft_run(struct nft **t, const char *cmds, struct berr **err);
/* nft_run for a whole ruleset, skipped when it is the one nft_apply wrote
 * last (nft_run of anything else in between forgets that). */
int nft_apply(struct nft **t, const char *ruleset, struct berr **err);
bool nft_is_applied(const struct nft *t, const char *ruleset);
void nft_free(struct nft *t);

/* ---- rules.c ---- */
/* The whole table's text (a delete+add transaction) from the networks and
 * endpoints. Caller frees. */
char *rules_build(struct net *n);
/* The ip6 table's text when a network has IPv6 ("delete table" when the last
 * one went, "" when there is none). Caller frees. */
char *rules_build6(struct net *n);
/* Apply both (no-op with iptables off). Caller holds n->lock. */
int rules_apply(struct net *n, struct berr **err);

/* ---- netlink.c ---- */
/* Create the bridge if absent, give it gw/prefix, set it up. */
int nl_bridge_ensure(const char *name, uint32_t gw, int prefix, int mtu, struct berr **err);
int nl_link_delete(const char *name);
bool nl_link_exists(const char *name);
/* veth host_name (on bridge, up) ⇄ ifname inside netns (MAC, address, up,
 * default route via gw when gw != 0). */
int nl_veth_attach(const char *netns, const char *host_name, const char *bridge,
                   const char *ifname, const char *mac, uint32_t ip, int prefix, uint32_t gw,
                   int mtu, struct berr **err);
/* A macvlan / ipvlan (kind) of parent, made inside netns as tmp, then
 * configured as nl_veth_attach's peer. */
int nl_vlan_attach(const char *netns, const char *kind, const char *parent, const char *mode,
                   const char *tmp, const char *ifname, const char *mac, uint32_t ip, int prefix,
                   uint32_t gw, int mtu, struct berr **err);
/* Delete ifname inside netns. */
int nl_ns_link_delete(const char *netns, const char *ifname);
/* A new namespace, lo up, bind-mounted on path. */
int nl_netns_create(const char *path, struct berr **err);
/* Host routes (IPv4, not default): *dst / *prefix arrays (caller frees). */
size_t nl_host_routes(uint32_t **dst, int **prefix);
/* IPv6 (additive): the bridge's gateway address, no DAD (as dockerd: the
 * address is ours, waiting for DAD would only delay the first packets). */
int nl_bridge_addr6(const char *name, const struct in6_addr *gw, int prefix, struct berr **err);
/* Inside netns: ip6/prefix on ifname (no DAD) and, when gw != NULL, the
 * default IPv6 route through it. */
int nl_ns_addr6(const char *netns, const char *ifname, const struct in6_addr *ip, int prefix,
                const struct in6_addr *gw, struct berr **err);
/* Write a sysctl file ("net/ipv4/ip_forward"). */
int nl_sysctl(const char *key, const char *val);

/* ---- net.c ---- */
struct net_network *net_find_locked(struct net *n, const char *name_or_id, struct berr **err);

/* ---- endpoint.c ---- */
/* Endpoints of a network (from the DB): [{"container","doc"}]. New reference. */
json_t *ep_of_network(struct net *n, const char *net_id);
/* Every endpoint row: [{"network","container","doc"}]. */
json_t *ep_all(struct net *n);
/* The network is removed: drop its (inactive) rows. */
void ep_drop_network(struct net *n, const char *net_id);
/* At open: proxy and DNS again for endpoints of running containers. */
void ep_restore_live(struct net *n);

/* ---- net.c: filters (Docker's parsed filters {"key":["v",…]}) ---- */
int net_filters_check(const json_t *f, const char *const *ok, struct berr **err);
bool filters_match_value(const json_t *f, const char *key, const char *value);
bool filters_match_labels_obj(const json_t *f, const json_t *labels);
