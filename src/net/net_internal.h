/*
 * net_internal.h — the network manager's private types, shared by the files of src/net.
 *
 *   net.c       the manager: network table, persistence, the /networks API
 *   endpoint.c  container endpoints: addresses, veths, ports, hosts lines
 *   ipam.c      address arithmetic (pure)
 *   netlink.c   links, addresses, routes, namespaces over libnl-route-3
 *   nft.c       libnftables through dlopen
 *   rules.c     the nftables ruleset text built from the table (pure)
 *
 * Locking: n->lock guards everything below; netlink and nftables calls are
 * made with it held (they are quick and keep the table and the kernel in step).
 */
#pragma once

#include <pthread.h>

#include "net/net.h"

/* One network (IPv4 only for now). */
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
  char *table;           /* the nftables table name (ip family) */
  int mtu;
  struct net_network **nets;
  size_t n_nets;
};

/* ---- nft.c ---- */
int nft_run(struct nft **t, const char *cmds, struct berr **err);
void nft_free(struct nft *t);

/* ---- rules.c ---- */
/* The whole table's text (a delete+add transaction) from the networks and
 * endpoints. Caller frees. */
char *rules_build(struct net *n);
/* Apply it (no-op with iptables off). Caller holds n->lock. */
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
