/*
 * net.h — container networking: the network table (bridge, host, null),
 * IPAM, veth / addresses / routes over netlink (libnl-route-3), NAT and
 * published ports in nftables (libnftables, loaded with dlopen on first use).
 *
 * berthd owns one `struct net` (d->net). Networks and endpoints live in two
 * tables of berthd.db (networks: id, name, doc; net_endpoints: network,
 * container, doc), so addresses survive a berthd restart; the nftables table
 * is rebuilt from them at start and removed at shutdown.
 *
 * Endpoints: a container joins networks through its own network namespace,
 * a file under <exec-root>/netns/<id> (a bind mount of the namespace) made
 * before the runtime runs and given to it as the spec's network path, so the
 * veths, addresses and routes exist before the process starts.
 *
 * Thread safety: every function takes the manager's lock.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <errno.h>
#include <netinet/in.h>

#include "common/common.h"
#include "store/store.h"

/* The default bridge device's name. */
const char *net_default_bridge(void);

struct net;

struct net_config {
  const char *bridge;       /* --bridge: the default network's device; "none": no default bridge */
  const char *bip;          /* --bip "10.20.0.1/24" (gateway/prefix), NULL: from the pools */
  bool iptables;            /* --iptables: NAT, isolation, published ports in nftables */
  bool userland_proxy;      /* daemon.json userland-proxy */
  const json_t *pools;      /* default-address-pools [{"base","size"}] (may be NULL/empty) */
  const char *exec_root;    /* netns files under <exec-root>/netns */
  int mtu;                  /* 0: 1500 */
  char *const *dns;         /* daemon --dns: the embedded DNS's upstreams when a
                               container names none (NULL/empty: the host's resolv.conf) */
  bool ipv6;                /* --ipv6: IPv6 on the default bridge */
  const char *fixed_cidr_v6; /* --fixed-cidr-v6: its IPv6 subnet (NULL: link-local only) */
};

/* Open the manager: tables, the predefined networks (bridge unless
 * bridge == "none", host, none), the bridge device and the nftables table
 * when enabled. Never loads libnftables with iptables off. */
int net_open(const struct net_config *cfg, struct db *db, struct net **out, struct berr **err);
/* Shutdown: remove the nftables table (addresses stay in the DB). */
void net_close(struct net *n);

/* ---- the /networks API (Docker's JSON shapes) ---- */

/* POST /networks/create body → *out {"Id","Warning":""}; Docker's errors
 * (409 "network with name X already exists", overlapping pools, unknown driver). */
int net_api_create(struct net *n, const json_t *body, json_t **out, struct berr **err);
/* GET /networks/{id}: -ENOENT "network X not found". */
int net_api_inspect(struct net *n, const char *name_or_id, json_t **out, struct berr **err);
/* GET /networks with parsed filters. */
int net_api_list(struct net *n, const json_t *filters, json_t **out, struct berr **err);
/* DELETE /networks/{id}: 403 for predefined networks, 403 with endpoints. */
int net_api_remove(struct net *n, const char *name_or_id, struct berr **err);
/* POST /networks/prune: {"NetworksDeleted":[names],"Ids":[their IDs]} (the
 * caller publishes events by ID and answers without "Ids"). */
int net_api_prune(struct net *n, const json_t *filters, json_t **out, struct berr **err);
/* Resolve a name / ID / prefix to the network's full ID and name (caller frees). */
int net_lookup(struct net *n, const char *name_or_id, char **id, char **name, struct berr **err);
/* Driver of a network ("bridge", "host", "null"); NULL if unknown. Caller frees. */
char *net_driver_of(struct net *n, const char *id);

/* ---- endpoints ---- */

/* What a container asks of one network (EndpointSettings of the API). */
struct net_ep_req {
  const char *container_id;
  const char *container_name; /* without "/" */
  const char *hostname;       /* Config.Hostname */
  const char *network;        /* name or ID */
  const json_t *settings;     /* EndpointSettings: IPAMConfig.IPv4Address, Aliases, MacAddress,
                                 Links (may be NULL) */
  const json_t *port_bindings; /* HostConfig.PortBindings (first bridge endpoint only) */
  const json_t *exposed;      /* Config.ExposedPorts (for -P) */
  bool publish_all;           /* HostConfig.PublishAllPorts */
  const char *mac;            /* Config.MacAddress */
  const char *netns;          /* the container's netns file; NULL: record only (not running) */
  int ifindex;                /* eth<ifindex> inside */
  bool publish;               /* this endpoint carries the published ports */
  bool gateway;               /* its gateway is the default route (the first one always is) */
};
/* Attach: allocate the address (and host ports), make the veth, configure it
 * inside the namespace, update nftables. *out the EndpointSettings as inspect
 * shows them (new reference). Undoes everything on error. */
int net_endpoint_attach(struct net *n, const struct net_ep_req *rq, json_t **out,
                        struct berr **err);
/* Detach container from network: delete its veth (if netns), release the
 * address and ports, drop the record. -ENOENT when not connected. */
int net_endpoint_detach(struct net *n, const char *container_id, const char *network,
                        const char *netns, struct berr **err);
/* The container stopped: release addresses and ports, drop veths, stop its
 * DNS; the rows stay (inactive) for the next start. */
void net_container_stop(struct net *n, const char *container_id);
/* The container was renamed: its endpoints (and so the embedded DNS) carry
 * the new name (without "/"). */
void net_container_rename(struct net *n, const char *container_id, const char *name);
/* The container is removed: net_container_stop, then drop its rows. */
void net_container_forget(struct net *n, const char *container_id);
/* The container's rows: [{"network":id,"container":id,"doc":{…}}]. New reference. */
json_t *net_container_rows(struct net *n, const char *container_id);
/* Serve the embedded DNS (127.0.0.11) inside netns for the container,
 * forwarding unknown names to `upstreams` (the container's --dns; NULL or
 * empty: the daemon's --dns, else the host's resolv.conf nameservers, asked
 * from berthd's own namespace as dockerd does). */
int net_dns_serve(struct net *n, const char *container_id, const char *netns,
                  char *const *upstreams, struct berr **err);
/* Every endpoint of a container: {"<network name>": EndpointSettings}. New reference. */
json_t *net_container_endpoints(struct net *n, const char *container_id);
/* Ports of the container in Docker's NetworkSettings.Ports shape (bindings
 * only; the caller adds exposed ports without binding). New reference. */
json_t *net_container_ports(struct net *n, const char *container_id);

/* The container's namespace file: create (bind mount of a new net
 * namespace, lo up) / delete (unmount, unlink). *path: caller frees. */
int net_netns_create(struct net *n, const char *container_id, char **path, struct berr **err);
/* Its path (whether or not it exists). Caller frees. */
char *net_netns_path(struct net *n, const char *container_id);
void net_netns_delete(struct net *n, const char *container_id);

/* /etc/hosts lines for the container's own addresses ("IP\thostname name alias…"). Caller frees. */
char *net_hosts_lines(struct net *n, const char *container_id, const char *hostname,
                      const char *domainname);
/* Is any of the container's networks user-defined (embedded DNS)? */
bool net_container_user_network(struct net *n, const char *container_id);
/* Name → IPv4 addresses seen from container `from` (names, aliases on its networks). */
int net_resolve(struct net *n, const char *from_container, const char *name, uint32_t *addrs,
                int max);

/* ---- pure helpers (ipam.c; unit-tested) ---- */

/* "a.b.c.d/len" → network address (host order) and prefix. -EINVAL. */
int ipam_parse_cidr(const char *s, uint32_t *addr, int *prefix);
/* "a.b.c.d" → host order. -EINVAL. */
int ipam_parse_ip(const char *s, uint32_t *out);
/* host order → "a.b.c.d" in buf (>= 16). */
const char *ipam_fmt(uint32_t a, char *buf);
static inline uint32_t ipam_mask(int prefix) {
  return prefix == 0 ? 0 : (uint32_t)(0xffffffffu << (32 - prefix));
}
static inline bool ipam_overlap(uint32_t a, int pa, uint32_t b, int pb) {
  int p = pa < pb ? pa : pb;
  return (a & ipam_mask(p)) == (b & ipam_mask(p));
}
/* The first /size subnet of `pools` (Docker's defaults when empty) that
 * overlaps none of `used` (n pairs addr/prefix). -ENOSPC with Docker's
 * "could not find an available, non-overlapping IPv4 address pool among the
 * defaults to assign to the network". */
int ipam_pick_subnet(const json_t *pools, const uint32_t *used, const int *used_prefix, size_t n,
                     uint32_t *out, int *out_prefix, struct berr **err);
/* Docker's MAC for an IPv4 address: 02:42:a.b.c.d. buf >= 18. */
const char *ipam_mac(uint32_t ip, char *buf);
/* Docker's port spec of a binding key "80/tcp" → port, proto (default tcp). */
int ipam_port_key(const char *key, int *port, char *proto, size_t proto_len);

/* ---- IPv6 helpers (ipam.c; unit-tested). Addresses are struct in6_addr in
 * network byte order. ---- */

/* "fd00::1" → -EINVAL unless a valid IPv6 address (an IPv4 one is refused). */
int ipam6_parse_ip(const char *s, struct in6_addr *out);
/* "fd00::/64" → address as written (not masked) and prefix. -EINVAL. */
int ipam6_parse_cidr(const char *s, struct in6_addr *addr, int *prefix);
/* Text form in buf (>= INET6_ADDRSTRLEN). */
const char *ipam6_fmt(const struct in6_addr *a, char *buf);
/* Clear the host bits. */
void ipam6_mask(struct in6_addr *a, int prefix);
bool ipam6_overlap(const struct in6_addr *a, int pa, const struct in6_addr *b, int pb);
bool ipam6_eq(const struct in6_addr *a, const struct in6_addr *b);
/* *a += k (with carry). */
void ipam6_add(struct in6_addr *a, uint64_t k);
/* dockerd's MAC-derived address on the default bridge (prefix <= 80, else
 * -EINVAL): the subnet with the 6 MAC bytes as its last 6 bytes. */
int ipam6_from_mac(const struct in6_addr *subnet, int prefix, const char *mac,
                   struct in6_addr *out);
