/*
 * endpoint.c — a container's place on a network: one row of net_endpoints
 * per (network, container), made when the container is created or
 * connected, "Active" (an address, a veth, host ports) only while it runs.
 *
 * Row doc: ContainerName, Hostname, EndpointID, MacAddress, IPAddress,
 * IPPrefixLen, IPv4Address ("ip/len"), Gateway, Aliases, Links, IPAMConfig
 * (what was asked), Active, Veth, IfName, Ports [{proto,cport,hport,hip}],
 * Publish (this endpoint carries the container's published ports).
 *
 * Invariants: an active endpoint's address is unique in its network and
 * never the network, gateway or broadcast address; a host port (proto,
 * address) belongs to one active endpoint at most (Docker's portallocator).
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/dns.h"
#include "net/net_internal.h"
#include "net/proxy.h"

/* ---- rows ---- */

static json_t *rows_where(struct net *n, const char *sql, const char *arg) {
  json_t *out = json_array();
  if (n->db == NULL)
    return out; /* unit tests of the ruleset */
  sqlite3 *h = db_handle(n->db);
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
    return out;
  if (arg)
    sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
  while (sqlite3_step(st) == SQLITE_ROW) {
    json_t *doc = json_loads((const char *)sqlite3_column_text(st, 2), 0, NULL);
    if (doc)
      json_array_append_new(out, json_pack("{s:s,s:s,s:o}", "network",
                                           (const char *)sqlite3_column_text(st, 0), "container",
                                           (const char *)sqlite3_column_text(st, 1), "doc", doc));
  }
  sqlite3_finalize(st);
  return out;
}

json_t *ep_of_network(struct net *n, const char *net_id) {
  return rows_where(n, "SELECT network, container, doc FROM net_endpoints WHERE network = ?",
                    net_id);
}

json_t *ep_all(struct net *n) {
  return rows_where(n, "SELECT network, container, doc FROM net_endpoints", NULL);
}

static json_t *ep_of_container(struct net *n, const char *cid) {
  return rows_where(n, "SELECT network, container, doc FROM net_endpoints WHERE container = ?",
                    cid);
}

static int ep_save(struct net *n, const char *net_id, const char *cid, const json_t *doc,
                   struct berr **err) {
  sqlite3 *h = db_handle(n->db);
  _cleanup_free_ char *txt = json_dump_compact(doc);
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(h, "INSERT OR REPLACE INTO net_endpoints(network, container, doc) "
                            "VALUES (?, ?, ?)",
                         -1, &st, NULL) != SQLITE_OK)
    return berr_set(err, EIO, "save endpoint of %s: %s", cid, sqlite3_errmsg(h));
  sqlite3_bind_text(st, 1, net_id, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, cid, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, txt, -1, SQLITE_STATIC);
  int s = sqlite3_step(st);
  sqlite3_finalize(st);
  return s == SQLITE_DONE ? 0 : berr_set(err, EIO, "save endpoint of %s: %s", cid,
                                         sqlite3_errmsg(h));
}

static void ep_delete(struct net *n, const char *net_id, const char *cid) {
  sqlite3 *h = db_handle(n->db);
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(h, "DELETE FROM net_endpoints WHERE network = ? AND container = ?", -1,
                         &st, NULL) != SQLITE_OK)
    return;
  sqlite3_bind_text(st, 1, net_id, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, cid, -1, SQLITE_STATIC);
  sqlite3_step(st);
  sqlite3_finalize(st);
}

void ep_drop_network(struct net *n, const char *net_id) {
  sqlite3 *h = db_handle(n->db);
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(h, "DELETE FROM net_endpoints WHERE network = ?", -1, &st, NULL) !=
      SQLITE_OK)
    return;
  sqlite3_bind_text(st, 1, net_id, -1, SQLITE_STATIC);
  sqlite3_step(st);
  sqlite3_finalize(st);
}

static json_t *ep_get(struct net *n, const char *net_id, const char *cid) {
  _cleanup_json_ json_t *rows = ep_of_container(n, cid);
  size_t i;
  json_t *r;
  json_array_foreach(rows, i, r) if (strcmp(json_string_value(json_object_get(r, "network")),
                                            net_id) == 0) return json_deep_copy(
      json_object_get(r, "doc"));
  return NULL;
}

static const char *sget(const json_t *o, const char *k) {
  const char *v = json_string_value(json_object_get(o, k));
  return v ? v : "";
}

/* ---- addresses ---- */

static bool ip_taken(struct net *n, const struct net_network *w, uint32_t ip, const char *self) {
  if (ip == w->gateway)
    return true;
  _cleanup_json_ json_t *rows = ep_of_network(n, w->id);
  size_t i;
  json_t *r;
  json_array_foreach(rows, i, r) {
    const json_t *d = json_object_get(r, "doc");
    uint32_t a;
    if (json_is_true(json_object_get(d, "Active")) &&
        strcmp(json_string_value(json_object_get(r, "container")), self) != 0 &&
        ipam_parse_ip(sget(d, "IPAddress"), &a) == 0 && a == ip)
      return true;
  }
  return false;
}

static int ip_alloc(struct net *n, const struct net_network *w, const json_t *req, const char *cid,
                    uint32_t *out, struct berr **err) {
  const char *want = sget(json_object_get(req, "IPAMConfig"), "IPv4Address");
  uint32_t bcast = w->subnet | ~ipam_mask(w->prefix);
  if (*want) {
    uint32_t a;
    if (w->is_default || !w->has_subnet)
      return berr_set(err, EINVAL, "user specified IP address is supported on user defined "
                                   "networks only");
    if (ipam_parse_ip(want, &a) < 0)
      return berr_set(err, EINVAL, "invalid IPv4 address: %s", want);
    if (!ipam_overlap(a, 32, w->subnet, w->prefix) || a == w->subnet || a == bcast)
      return berr_set(err, EINVAL, "Invalid address %s: It does not belong to any of this "
                                   "network's subnets",
                      want);
    if (ip_taken(n, w, a, cid))
      return berr_set(err, EEXIST, "Address already in use");
    *out = a;
    return 0;
  }
  uint32_t lo = w->range_prefix ? w->range : w->subnet;
  uint32_t hi = w->range_prefix ? (w->range | ~ipam_mask(w->range_prefix)) : bcast;
  for (uint32_t a = lo; a <= hi && a != 0; a++) {
    if (a == w->subnet || a == bcast || ip_taken(n, w, a, cid))
      continue;
    *out = a;
    return 0;
  }
  return berr_set(err, ENOSPC, "no available IPv4 addresses on this network's address pools: %s "
                               "(%s)",
                  w->name, w->id);
}

/* ---- IPv6 addresses (networks with EnableIPv6 and a v6 subnet) ---- */

static bool ip6_taken(struct net *n, const struct net_network *w, const struct in6_addr *ip,
                      const char *self) {
  if (ipam6_eq(ip, &w->gateway6))
    return true;
  _cleanup_json_ json_t *rows = ep_of_network(n, w->id);
  size_t i;
  json_t *r;
  json_array_foreach(rows, i, r) {
    const json_t *d = json_object_get(r, "doc");
    struct in6_addr a;
    if (json_is_true(json_object_get(d, "Active")) &&
        strcmp(json_string_value(json_object_get(r, "container")), self) != 0 &&
        ipam6_parse_ip(sget(d, "GlobalIPv6Address"), &a) == 0 && ipam6_eq(&a, ip))
      return true;
  }
  return false;
}

/* --ip6, else the MAC-derived address on the default bridge (dockerd's
 * fixed-cidr-v6 of <= /80), else the lowest free one of the range / subnet
 * (dockerd's IPAM: the gateway takes ::1, the first container ::2). */
static int ip6_alloc(struct net *n, const struct net_network *w, const json_t *req,
                     const char *cid, const char *mac, struct in6_addr *out, struct berr **err) {
  const char *want = sget(json_object_get(req, "IPAMConfig"), "IPv6Address");
  if (*want) {
    if (ipam6_parse_ip(want, out) < 0)
      return berr_set(err, EINVAL, "invalid IPv6 address: %s", want);
    if (!ipam6_overlap(out, 128, &w->subnet6, w->prefix6))
      return berr_set(err, EINVAL, "Invalid address %s: It does not belong to any of this "
                                   "network's subnets",
                      want);
    return ip6_taken(n, w, out, cid) ? berr_set(err, EEXIST, "Address already in use") : 0;
  }
  if (w->is_default && ipam6_from_mac(&w->subnet6, w->prefix6, mac, out) == 0)
    return 0;
  struct in6_addr a = w->range6_prefix ? w->range6 : w->subnet6;
  int p = w->range6_prefix ? w->range6_prefix : w->prefix6;
  uint64_t span = p >= 112 ? (1ull << (128 - p)) : 65536; /* the first 64 Ki addresses */
  for (uint64_t k = 0; k < span; k++, ipam6_add(&a, 1)) {
    if (!ipam6_eq(&a, &w->subnet6) && !ip6_taken(n, w, &a, cid)) {
      *out = a;
      return 0;
    }
  }
  return berr_set(err, ENOSPC, "no available IPv6 addresses on this network's address pools: %s "
                               "(%s)",
                  w->name, w->id);
}

/* ---- host ports ---- */

static bool port_taken(struct net *n, const char *proto, int hport, uint32_t hip,
                       const char *self) {
  _cleanup_json_ json_t *rows = ep_all(n);
  size_t i, k;
  json_t *r, *p;
  json_array_foreach(rows, i, r) {
    const json_t *d = json_object_get(r, "doc");
    if (!json_is_true(json_object_get(d, "Active")) ||
        strcmp(json_string_value(json_object_get(r, "container")), self) == 0)
      continue;
    json_array_foreach(json_object_get(d, "Ports"), k, p) {
      uint32_t h = (uint32_t)json_integer_value(json_object_get(p, "hip"));
      if (strcmp(sget(p, "proto"), proto) == 0 &&
          json_integer_value(json_object_get(p, "hport")) == hport && (h == 0 || hip == 0 || h == hip))
        return true;
    }
  }
  return false;
}

/* Can the host port be bound now (another program may hold it)? */
static bool port_free_on_host(const char *proto, int port, uint32_t hip) {
  int type = strcmp(proto, "udp") == 0 ? SOCK_DGRAM : SOCK_STREAM;
  if (strcmp(proto, "sctp") == 0)
    return true;
  int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return true;
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                           .sin_addr.s_addr = htonl(hip)};
  bool ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
  close(fd);
  return ok;
}

static void ephemeral_range(int *lo, int *hi) {
  *lo = 32768;
  *hi = 60999;
  _cleanup_free_ char *t = NULL;
  if (read_file("/proc/sys/net/ipv4/ip_local_port_range", &t, NULL, NULL) == 0)
    sscanf(t, "%d %d", lo, hi);
}

static int host_port(struct net *n, const char *proto, const char *spec, uint32_t hip,
                     const char *cid, int *out, struct berr **err) {
  int lo, hi;
  bool any = spec == NULL || *spec == '\0' || strcmp(spec, "0") == 0;
  if (any) {
    ephemeral_range(&lo, &hi);
  } else if (sscanf(spec, "%d-%d", &lo, &hi) == 2) {
    if (lo < 1 || hi > 65535 || lo > hi)
      return berr_set(err, EINVAL, "invalid port range: %s", spec);
  } else {
    int64_t v;
    if (parse_int64(spec, &v) < 0 || v < 1 || v > 65535)
      return berr_set(err, EINVAL, "invalid port: %s", spec);
    lo = hi = (int)v;
  }
  for (int p = lo; p <= hi; p++)
    if (!port_taken(n, proto, p, hip, cid) && (lo == hi || port_free_on_host(proto, p, hip))) {
      *out = p;
      return 0;
    }
  char b[16];
  return berr_set(err, EEXIST, "Bind for %s:%s failed: port is already allocated",
                  ipam_fmt(hip, b), any ? "0" : spec);
}

/* PortBindings (+ ExposedPorts with -P) → [{proto,cport,hport,hip}] */
static int ports_alloc(struct net *n, const struct net_ep_req *rq, json_t **out,
                       struct berr **err) {
  _cleanup_json_ json_t *pb = json_is_object(rq->port_bindings) ? json_deep_copy(rq->port_bindings)
                                                                : json_object();
  if (rq->publish_all) {
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)rq->exposed, k, v) if (!json_object_get(pb, k))
        json_object_set_new(pb, k, json_pack("[{s:s,s:s}]", "HostIp", "", "HostPort", ""));
  }
  json_t *ports = json_array();
  const char *key;
  json_t *binds;
  json_object_foreach(pb, key, binds) {
    int cport;
    char proto[8];
    if (ipam_port_key(key, &cport, proto, sizeof(proto)) < 0) {
      json_decref(ports);
      return berr_set(err, EINVAL, "invalid port specification: \"%s\"", key);
    }
    size_t i;
    json_t *b;
    json_array_foreach(binds, i, b) {
      uint32_t hip = 0;
      const char *hs = sget(b, "HostIp");
      if (*hs && ipam_parse_ip(hs, &hip) < 0) {
        json_decref(ports);
        return berr_set(err, EINVAL, "invalid IP address: %s", hs);
      }
      int hp = 0;
      if (host_port(n, proto, sget(b, "HostPort"), hip, rq->container_id, &hp, err) < 0) {
        json_decref(ports);
        return -EEXIST;
      }
      /* reserve it against the next binding of the same request */
      json_array_append_new(ports, json_pack("{s:s,s:i,s:i,s:I}", "proto", proto, "cport", cport,
                                             "hport", hp, "hip", (json_int_t)hip));
      for (size_t k = 0; k + 1 < json_array_size(ports); k++) {
        json_t *q = json_array_get(ports, k);
        if (strcmp(sget(q, "proto"), proto) == 0 &&
            json_integer_value(json_object_get(q, "hport")) == hp) {
          json_decref(ports);
          char bb[16];
          return berr_set(err, EEXIST, "Bind for %s:%d failed: port is already allocated",
                          ipam_fmt(hip, bb), hp);
        }
      }
    }
  }
  *out = ports;
  return 0;
}

/* ---- userland proxy / DNS (net-dns's servers) ---- */

static void proxy_del(struct net *n, const json_t *ports, size_t upto) {
  if (n->proxy == NULL)
    return;
  for (size_t i = 0; i < upto && i < json_array_size(ports); i++) {
    const json_t *p = json_array_get(ports, i);
    char hb[16];
    if (strcmp(sget(p, "proto"), "sctp") != 0)
      proxy_remove(n->proxy, sget(p, "proto"),
                   ipam_fmt((uint32_t)json_integer_value(json_object_get(p, "hip")), hb),
                   (uint16_t)json_integer_value(json_object_get(p, "hport")));
  }
}

/* A listener per published port (userland-proxy): it serves 127.0.0.1 and
 * holds the host port, so a port another program holds fails the start as
 * dockerd's does ("Error starting userland proxy: listen tcp4 …: bind:
 * address already in use"); on error the listeners added are removed. */
static int proxy_ports(struct net *n, const json_t *ports, const char *ip, bool add,
                       struct berr **err) {
  if (!n->userland_proxy)
    return 0;
  if (!add) {
    proxy_del(n, ports, json_array_size(ports));
    return 0;
  }
  int rc;
  if (n->proxy == NULL && json_array_size(ports) && (rc = proxy_new(&n->proxy, err)) < 0)
    return rc;
  size_t i;
  json_t *p;
  json_array_foreach(ports, i, p) {
    char hb[16];
    const char *proto = sget(p, "proto");
    if (strcmp(proto, "sctp") == 0)
      continue;
    uint32_t hip = (uint32_t)json_integer_value(json_object_get(p, "hip"));
    uint16_t hp = (uint16_t)json_integer_value(json_object_get(p, "hport"));
    rc = proxy_add(n->proxy, proto, ipam_fmt(hip, hb), hp, ip,
                   (uint16_t)json_integer_value(json_object_get(p, "cport")), NULL, err);
    if (rc < 0) {
      proxy_del(n, ports, i);
      return berr_wrap(err, "Error starting userland proxy");
    }
  }
  return 0;
}

/* ---- attach / detach ---- */

static char *new_endpoint_id(void) {
  unsigned char b[32];
  if (getrandom(b, sizeof(b), 0) != sizeof(b))
    memset(b, 0x33, sizeof(b));
  char *s = xmalloc(65);
  for (int i = 0; i < 32; i++)
    snprintf(s + 2 * i, 3, "%02x", b[i]);
  return s;
}

/* The request's endpoint doc (inactive): what is kept while stopped. */
static json_t *ep_doc_new(const struct net_ep_req *rq, const struct net_network *w) {
  const json_t *s = rq->settings;
  json_t *al = json_object_get(s, "Aliases");
  json_t *ln = json_object_get(s, "Links");
  json_t *ipc = json_object_get(s, "IPAMConfig");
  return json_pack("{s:s,s:s,s:s,s:O?,s:O?,s:O?,s:s,s:b,s:s}", "ContainerName",
                   rq->container_name ? rq->container_name : "", "Hostname",
                   rq->hostname ? rq->hostname : "", "NetworkID", w->id, "Aliases",
                   json_is_array(al) ? al : NULL, "Links", json_is_array(ln) ? ln : NULL,
                   "IPAMConfig", json_is_object(ipc) ? ipc : NULL, "EndpointID", "", "Active", 0,
                   "MacAddress", sget(s, "MacAddress"));
}

static bool is_vlan(const struct net_network *w) {
  return strcmp(w->driver, "macvlan") == 0 || strcmp(w->driver, "ipvlan") == 0;
}

static bool user_defined(const struct net_network *w) {
  return (strcmp(w->driver, "bridge") == 0 && !w->is_default) || is_vlan(w);
}

/* dockerd's words for a published port that cannot be had at start (another
 * container's, or another program's): "driver failed programming external
 * connectivity on endpoint web (<endpoint id>): Bind for 0.0.0.0:80 failed:
 * port is already allocated". */
static int port_error(const struct net_ep_req *rq, const char *epid, struct berr **err) {
  return berr_wrap(err, "driver failed programming external connectivity on endpoint %s (%s)",
                   rq->container_name ? rq->container_name : rq->container_id, epid);
}

/* The IPv6 fields of an endpoint doc (ip NULL: none, as dockerd's empty strings). */
static void ep_doc_set6(json_t *doc, const struct net_network *w, const struct in6_addr *ip) {
  char a[INET6_ADDRSTRLEN], g[INET6_ADDRSTRLEN];
  json_object_set_new(doc, "GlobalIPv6Address", json_string(ip ? ipam6_fmt(ip, a) : ""));
  json_object_set_new(doc, "GlobalIPv6PrefixLen", json_integer(ip ? w->prefix6 : 0));
  json_object_set_new(doc, "IPv6Gateway", json_string(ip ? ipam6_fmt(&w->gateway6, g) : ""));
  json_object_set_new(doc, "IPv6Address", ip ? json_sprintf("%s/%d", a, w->prefix6)
                                             : json_string(""));
}

/* Activate doc on w in netns: address, veth, ports. */
static int activate(struct net *n, struct net_network *w, const struct net_ep_req *rq,
                    json_t *doc, struct berr **err) {
  if (strcmp(w->driver, "bridge") != 0 && !is_vlan(w))
    return 0; /* host / null: nothing to plumb */
  uint32_t ip = 0;
  int rc = ip_alloc(n, w, doc, rq->container_id, &ip, err);
  if (rc < 0)
    return rc;
  _cleanup_json_ json_t *ports = NULL;
  _cleanup_free_ char *epid = new_endpoint_id();
  if (rq->publish && !is_vlan(w) && (rc = ports_alloc(n, rq, &ports, err)) < 0)
    return port_error(rq, epid, err);
  if (ports == NULL)
    ports = json_array();
  char ipb[16], gwb[16], macb[18];
  const char *mac = sget(doc, "MacAddress");
  if (!*mac && rq->mac && *rq->mac)
    mac = rq->mac;
  if (!*mac)
    mac = ipam_mac(ip, macb);
  _cleanup_free_ char *mac_copy = xstrdup(mac);
  _cleanup_free_ char *veth = xasprintf("veth%.7s", epid);
  _cleanup_free_ char *ifname = xasprintf("eth%d", rq->ifindex);
  uint32_t gw = rq->ifindex == 0 || rq->gateway ? w->gateway : 0;
  int mtu = w->mtu ? w->mtu : n->mtu;
  bool v6 = w->ipv6 && w->has_subnet6;
  struct in6_addr ip6;
  if (v6 && (rc = ip6_alloc(n, w, doc, rq->container_id, mac_copy, &ip6, err)) < 0)
    return rc;
  if (is_vlan(w)) {
    const char *mode = json_string_value(json_object_get(
        w->options, strcmp(w->driver, "macvlan") == 0 ? "macvlan_mode" : "ipvlan_mode"));
    _cleanup_free_ char *tmp = xasprintf("v%.10s", epid);
    if (mode && strcmp(mode, "l3") == 0)
      gw = 0;
    rc = nl_vlan_attach(rq->netns, w->driver, sget(w->options, "parent"), mode, tmp, ifname,
                        mac_copy, ip, w->prefix, gw, mtu, err);
    free(veth);
    veth = xstrdup(""); /* nothing on the host side: it goes with the namespace */
  } else {
    rc = nl_veth_attach(rq->netns, veth, w->bridge, ifname, mac_copy, ip, w->prefix, gw, mtu, err);
  }
  if (rc < 0)
    return rc;
  if (v6 && (rc = nl_ns_addr6(rq->netns, ifname, &ip6, w->prefix6, gw ? &w->gateway6 : NULL,
                              err)) < 0) {
    if (*veth)
      nl_link_delete(veth);
    else
      nl_ns_link_delete(rq->netns, ifname);
    return rc;
  }
  ep_doc_set6(doc, w, v6 ? &ip6 : NULL);
  json_object_set_new(doc, "EndpointID", json_string(epid));
  json_object_set_new(doc, "MacAddress", json_string(mac_copy));
  json_object_set_new(doc, "IPAddress", json_string(ipam_fmt(ip, ipb)));
  json_object_set_new(doc, "IPPrefixLen", json_integer(w->prefix));
  json_object_set_new(doc, "IPv4Address", json_sprintf("%s/%d", ipb, w->prefix));
  json_object_set_new(doc, "Gateway", json_string(ipam_fmt(w->gateway, gwb)));
  json_object_set_new(doc, "Veth", json_string(veth));
  json_object_set_new(doc, "IfName", json_string(ifname));
  json_object_set_new(doc, "Netns", json_string(rq->netns));
  json_object_set(doc, "Ports", ports);
  if ((rc = proxy_ports(n, ports, ipb, true, err)) < 0) {
    if (*veth)
      nl_link_delete(veth);
    return port_error(rq, epid, err);
  }
  json_object_set_new(doc, "Active", json_true());
  return 0;
}

/* Undo activate: veth (if the namespace is still there), proxy; the row
 * stays (inactive) unless the caller drops it. */
static void deactivate(struct net *n, json_t *doc, bool delete_link) {
  if (!json_is_true(json_object_get(doc, "Active")))
    return;
  proxy_ports(n, json_object_get(doc, "Ports"), sget(doc, "IPAddress"), false, NULL);
  if (delete_link && *sget(doc, "Veth"))
    nl_link_delete(sget(doc, "Veth"));
  static const char *const keys[] = {"EndpointID", "IPAddress", "IPv4Address", "Gateway",
                                     "Veth", "IfName", "Netns", "GlobalIPv6Address",
                                     "IPv6Gateway", "IPv6Address", NULL};
  for (size_t i = 0; keys[i]; i++)
    json_object_set_new(doc, keys[i], json_string(""));
  json_object_set_new(doc, "IPPrefixLen", json_integer(0));
  json_object_set_new(doc, "GlobalIPv6PrefixLen", json_integer(0));
  json_object_set_new(doc, "Ports", json_array());
  json_object_set_new(doc, "Active", json_false());
}

static int attach_locked(struct net *n, const struct net_ep_req *rq, json_t **out,
                         struct berr **err) {
  struct net_network *w = net_find_locked(n, rq->network, err);
  if (w == NULL)
    return -ENOENT;
  _cleanup_json_ json_t *old = ep_get(n, w->id, rq->container_id);
  if (old && json_is_true(json_object_get(old, "Active")))
    return berr_set(err, EPERM, "endpoint with name %s already exists in network %s",
                    rq->container_name, w->name);
  json_t *doc = ep_doc_new(rq, w);
  if (old && rq->settings == NULL) { /* start: keep what connect / create asked */
    json_decref(doc);
    doc = json_incref(old);
  }
  int rc = 0;
  if (rq->netns && (rc = activate(n, w, rq, doc, err)) < 0) {
    json_decref(doc);
    return rc;
  }
  if ((rc = ep_save(n, w->id, rq->container_id, doc, err)) < 0 ||
      (rq->netns && (rc = rules_apply(n, err)) < 0)) {
    deactivate(n, doc, true);
    ep_save(n, w->id, rq->container_id, doc, NULL);
    json_decref(doc);
    return rc;
  }
  if (out)
    *out = doc;
  else
    json_decref(doc);
  return 0;
}

int net_endpoint_attach(struct net *n, const struct net_ep_req *rq, json_t **out,
                        struct berr **err) {
  pthread_mutex_lock(&n->lock);
  int rc = attach_locked(n, rq, out, err);
  pthread_mutex_unlock(&n->lock);
  return rc;
}

int net_endpoint_detach(struct net *n, const char *cid, const char *network, const char *netns,
                        struct berr **err) {
  pthread_mutex_lock(&n->lock);
  struct net_network *w = net_find_locked(n, network, err);
  int rc = w ? 0 : -ENOENT;
  _cleanup_json_ json_t *doc = w ? ep_get(n, w->id, cid) : NULL;
  if (w && doc == NULL)
    rc = berr_set(err, ENOENT, "container %s is not connected to network %s", cid, w->name);
  if (rc == 0) {
    if (netns && *sget(doc, "IfName"))
      nl_ns_link_delete(netns, sget(doc, "IfName"));
    deactivate(n, doc, true);
    ep_delete(n, w->id, cid);
    rc = rules_apply(n, err);
  }
  pthread_mutex_unlock(&n->lock);
  return rc;
}

void net_container_stop(struct net *n, const char *cid) {
  pthread_mutex_lock(&n->lock);
  if (n->dns)
    dns_server_remove(n->dns, cid);
  _cleanup_json_ json_t *rows = ep_of_container(n, cid);
  size_t i;
  json_t *r;
  bool changed = false;
  json_array_foreach(rows, i, r) {
    json_t *doc = json_object_get(r, "doc");
    if (!json_is_true(json_object_get(doc, "Active")))
      continue;
    deactivate(n, doc, true);
    ep_save(n, json_string_value(json_object_get(r, "network")), cid, doc, NULL);
    changed = true;
  }
  if (changed)
    rules_apply(n, NULL);
  pthread_mutex_unlock(&n->lock);
}

void net_container_forget(struct net *n, const char *cid) {
  net_container_stop(n, cid);
  pthread_mutex_lock(&n->lock);
  _cleanup_json_ json_t *rows = ep_of_container(n, cid);
  size_t i;
  json_t *r;
  json_array_foreach(rows, i, r) ep_delete(n, json_string_value(json_object_get(r, "network")),
                                           cid);
  pthread_mutex_unlock(&n->lock);
}

void net_container_rename(struct net *n, const char *cid, const char *name) {
  pthread_mutex_lock(&n->lock);
  _cleanup_json_ json_t *rows = ep_of_container(n, cid);
  size_t i;
  json_t *r;
  json_array_foreach(rows, i, r) {
    json_t *doc = json_object_get(r, "doc");
    json_object_set_new(doc, "ContainerName", json_string(name));
    ep_save(n, json_string_value(json_object_get(r, "network")), cid, doc, NULL);
  }
  pthread_mutex_unlock(&n->lock);
}

json_t *net_container_rows(struct net *n, const char *cid) {
  pthread_mutex_lock(&n->lock);
  json_t *rows = ep_of_container(n, cid);
  pthread_mutex_unlock(&n->lock);
  return rows;
}

/* ---- views ---- */

json_t *net_container_endpoints(struct net *n, const char *cid) {
  pthread_mutex_lock(&n->lock);
  _cleanup_json_ json_t *rows = ep_of_container(n, cid);
  json_t *out = json_object();
  size_t i;
  json_t *r;
  json_array_foreach(rows, i, r) {
    const json_t *d = json_object_get(r, "doc");
    struct net_network *w = net_find_locked(n, json_string_value(json_object_get(r, "network")),
                                            NULL);
    if (w == NULL)
      continue;
    json_t *al = json_object_get(d, "Aliases");
    json_t *ln = json_object_get(d, "Links");
    json_t *ipc = json_object_get(d, "IPAMConfig");
    json_object_set_new(
        out, w->name,
        json_pack("{s:O?,s:O?,s:O?,s:n,s:s,s:s,s:s,s:s,s:I,s:s,s:s,s:i,s:s,s:n}", "IPAMConfig",
                  json_is_object(ipc) ? ipc : NULL, "Links", json_is_array(ln) ? ln : NULL,
                  "Aliases", json_is_array(al) ? al : NULL, "DriverOpts", "NetworkID", w->id,
                  "EndpointID", sget(d, "EndpointID"), "Gateway", sget(d, "Gateway"),
                  "IPAddress", sget(d, "IPAddress"), "IPPrefixLen",
                  json_integer_value(json_object_get(d, "IPPrefixLen")), "IPv6Gateway",
                  sget(d, "IPv6Gateway"), "GlobalIPv6Address", sget(d, "GlobalIPv6Address"),
                  "GlobalIPv6PrefixLen", (int)json_integer_value(json_object_get(d, "GlobalIPv6PrefixLen")),
                  "MacAddress",
                  sget(d, "MacAddress"), "DriverOpts"));
    if (json_object_get(json_object_get(out, w->name), "IPAMConfig") == NULL)
      json_object_set_new(json_object_get(out, w->name), "IPAMConfig", json_null());
  }
  pthread_mutex_unlock(&n->lock);
  return out;
}

json_t *net_container_ports(struct net *n, const char *cid) {
  pthread_mutex_lock(&n->lock);
  _cleanup_json_ json_t *rows = ep_of_container(n, cid);
  json_t *out = json_object();
  size_t i, k;
  json_t *r, *p;
  json_array_foreach(rows, i, r) {
    json_array_foreach(json_object_get(json_object_get(r, "doc"), "Ports"), k, p) {
      _cleanup_free_ char *key = xasprintf("%d/%s", (int)json_integer_value(
                                                        json_object_get(p, "cport")),
                                           sget(p, "proto"));
      json_t *arr = json_object_get(out, key);
      if (arr == NULL) {
        arr = json_array();
        json_object_set_new(out, key, arr);
      }
      char hb[16];
      json_array_append_new(
          arr, json_pack("{s:s,s:s++}", "HostIp",
                         ipam_fmt((uint32_t)json_integer_value(json_object_get(p, "hip")), hb),
                         "HostPort", "", ""));
      json_object_set_new(json_array_get(arr, json_array_size(arr) - 1), "HostPort",
                          json_sprintf("%d", (int)json_integer_value(json_object_get(p, "hport"))));
    }
  }
  pthread_mutex_unlock(&n->lock);
  return out;
}

char *net_hosts_lines(struct net *n, const char *cid, const char *hostname,
                      const char *domainname) {
  pthread_mutex_lock(&n->lock);
  _cleanup_json_ json_t *rows = ep_of_container(n, cid);
  char *out = xstrdup("");
  size_t i;
  json_t *r;
  json_array_foreach(rows, i, r) {
    const json_t *d = json_object_get(r, "doc");
    const char *ips[] = {sget(d, "IPAddress"), sget(d, "GlobalIPv6Address")};
    for (size_t k = 0; k < 2; k++) { /* dockerd writes a line for each family */
      if (!*ips[k])
        continue;
      char *x = domainname && *domainname
                    ? xasprintf("%s%s\t%s.%s %s\n", out, ips[k], hostname, domainname, hostname)
                    : xasprintf("%s%s\t%s\n", out, ips[k], hostname);
      free(out);
      out = x;
    }
  }
  pthread_mutex_unlock(&n->lock);
  return out;
}

bool net_container_user_network(struct net *n, const char *cid) {
  pthread_mutex_lock(&n->lock);
  _cleanup_json_ json_t *rows = ep_of_container(n, cid);
  bool any = false;
  size_t i;
  json_t *r;
  json_array_foreach(rows, i, r) {
    struct net_network *w = net_find_locked(n, json_string_value(json_object_get(r, "network")),
                                            NULL);
    any |= w && user_defined(w);
  }
  pthread_mutex_unlock(&n->lock);
  return any;
}

/* ---- embedded DNS ---- */

static bool name_is(const json_t *r, const char *name) {
  const json_t *d = json_object_get(r, "doc");
  const char *cid = json_string_value(json_object_get(r, "container"));
  if (strcasecmp(sget(d, "ContainerName"), name) == 0 || strncmp(cid, name, 12) == 0 ||
      (strlen(name) == 12 && strncmp(cid, name, 12) == 0))
    return true;
  size_t i;
  json_t *a;
  json_array_foreach(json_object_get(d, "Aliases"), i, a) if (strcasecmp(json_string_value(a),
                                                                          name) == 0) return true;
  return false;
}

/* The link aliases of the asker: "target:alias" → does name equal alias?
 * (the target container's name) */
static const char *link_target(const json_t *asker_doc, const char *name) {
  size_t i;
  json_t *l;
  json_array_foreach(json_object_get(asker_doc, "Links"), i, l) {
    const char *s = json_string_value(l);
    const char *c = s ? strchr(s, ':') : NULL;
    if (c && strcasecmp(c + 1, name) == 0)
      return s;
  }
  return NULL;
}

static int lookup_locked(struct net *n, const char *from, const char *name, uint16_t qtype,
                         struct dns_lookup_result *res) {
  _cleanup_json_ json_t *mine = ep_of_container(n, from);
  size_t i, k;
  json_t *m, *r;
  json_array_foreach(mine, i, m) {
    const char *nid = json_string_value(json_object_get(m, "network"));
    struct net_network *w = net_find_locked(n, nid, NULL);
    if (w == NULL || !user_defined(w))
      continue;
    _cleanup_json_ json_t *rows = ep_of_network(n, nid);
    /* "name" or "name.network" */
    _cleanup_free_ char *suffix = xasprintf(".%s", w->name);
    _cleanup_free_ char *base = xstrdup(name);
    if (str_has_suffix(base, suffix) && strlen(base) > strlen(suffix))
      base[strlen(base) - strlen(suffix)] = '\0';
    const char *lt = link_target(json_object_get(m, "doc"), base);
    _cleanup_free_ char *ltn = lt ? strndup(lt, (size_t)(strchr(lt, ':') - lt)) : NULL;
    json_array_foreach(rows, k, r) {
      const json_t *d = json_object_get(r, "doc");
      uint32_t a;
      struct in6_addr a6;
      if (!json_is_true(json_object_get(d, "Active")))
        continue;
      bool has4 = ipam_parse_ip(sget(d, "IPAddress"), &a) == 0;
      bool has6 = ipam6_parse_ip(sget(d, "GlobalIPv6Address"), &a6) == 0;
      if (qtype == DNS_TYPE_PTR) {
        uint32_t q;
        struct in6_addr q6;
        if ((has4 && ipam_parse_ip(name, &q) == 0 && q == a) ||
            (has6 && ipam6_parse_ip(name, &q6) == 0 && ipam6_eq(&q6, &a6))) {
          snprintf(res->ptr_name, sizeof(res->ptr_name), "%s.%s", sget(d, "ContainerName"),
                   w->name);
          return DNS_LOOKUP_FOUND;
        }
        continue;
      }
      if (!name_is(r, base) && !(ltn && name_is(r, ltn)))
        continue;
      if (has4 && res->n_addrs < DNS_MAX_ADDRS) {
        res->addrs[res->n_addrs].family = AF_INET;
        res->addrs[res->n_addrs++].v4.s_addr = htonl(a);
      }
      if (has6 && res->n_addrs < DNS_MAX_ADDRS) { /* AAAA (dockerd answers them on v6 networks) */
        res->addrs[res->n_addrs].family = AF_INET6;
        res->addrs[res->n_addrs++].v6 = a6;
      }
    }
    if (res->n_addrs)
      return DNS_LOOKUP_FOUND;
    if (w->internal)
      return DNS_LOOKUP_NXDOMAIN;
  }
  return DNS_LOOKUP_FORWARD;
}

static int dns_lookup(void *ctx, const char *key, const char *name, uint16_t qtype,
                      struct dns_lookup_result *res) {
  struct net *n = ctx;
  pthread_mutex_lock(&n->lock);
  int rc = lookup_locked(n, key, name, qtype, res);
  pthread_mutex_unlock(&n->lock);
  return rc;
}

int net_resolve(struct net *n, const char *from, const char *name, uint32_t *addrs, int max) {
  struct dns_lookup_result res = {0};
  if (dns_lookup(n, from, name, DNS_TYPE_A, &res) != DNS_LOOKUP_FOUND)
    return 0;
  int k = 0;
  for (size_t i = 0; i < res.n_addrs && k < max; i++)
    addrs[k++] = ntohl(res.addrs[i].v4.s_addr);
  return k;
}

/* the embedded DNS's upstreams for one container (net.h net_dns_serve) */
static char **dns_upstreams(const struct net *n, char *const *given) {
  if (given && given[0])
    return strv_dup(given);
  if (n->dns_default && n->dns_default[0])
    return strv_dup(n->dns_default);
  char **ups = NULL;
  dns_resolv_conf_nameservers("/etc/resolv.conf", &ups, NULL);
  return ups;
}

int net_dns_serve(struct net *n, const char *cid, const char *netns, char *const *upstreams,
                  struct berr **err) {
  pthread_mutex_lock(&n->lock);
  int rc = 0;
  if (n->dns == NULL)
    rc = dns_server_new(&n->dns, dns_lookup, n, err);
  pthread_mutex_unlock(&n->lock);
  if (rc < 0)
    return rc;
  _cleanup_strv_ char **ups = dns_upstreams(n, upstreams);
  _cleanup_close_ int fd = open(netns, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return berr_sys(err, errno, "open %s", netns);
  _cleanup_berr_ struct berr *e = NULL;
  rc = dns_server_add(n->dns, cid, fd, ups, &e);
  if (rc == -EEXIST) /* already served (a connect to a second network) */
    return 0;
  if (rc < 0)
    *err = steal_ptr(e);
  return rc;
}

/* berthd restarted with containers still running (live restore): their
 * published ports go back to the userland proxy and their DNS is served
 * again; a container that died meanwhile is cleaned by the container
 * manager's resume (net_container_stop). */
void ep_restore_live(struct net *n) {
  pthread_mutex_lock(&n->lock);
  _cleanup_json_ json_t *rows = ep_all(n);
  _cleanup_json_ json_t *dns = json_object();
  size_t i;
  json_t *r;
  json_array_foreach(rows, i, r) {
    const json_t *d = json_object_get(r, "doc");
    const char *ns = sget(d, "Netns");
    if (!json_is_true(json_object_get(d, "Active")) || access(ns, F_OK) != 0)
      continue;
    _cleanup_berr_ struct berr *e = NULL;
    if (proxy_ports(n, json_object_get(d, "Ports"), sget(d, "IPAddress"), true, &e) < 0)
      log_warn("container %s: %s", sget(r, "container"), e->msg);
    struct net_network *w = net_find_locked(n, sget(r, "network"), NULL);
    if (w && user_defined(w))
      json_object_set_new(dns, sget(r, "container"), json_string(ns));
  }
  pthread_mutex_unlock(&n->lock);
  const char *cid;
  json_t *ns;
  json_object_foreach(dns, cid, ns) {
    _cleanup_berr_ struct berr *e = NULL;
    if (net_dns_serve(n, cid, json_string_value(ns), NULL, &e) < 0)
      log_warn("container %s: embedded DNS: %s", cid, e->msg);
  }
}

/* ---- namespaces ---- */

char *net_netns_path(struct net *n, const char *cid) {
  return xasprintf("%s/netns/%.12s", n->exec_root, cid);
}

int net_netns_create(struct net *n, const char *cid, char **path, struct berr **err) {
  _cleanup_free_ char *p = net_netns_path(n, cid);
  _cleanup_free_ char *dir = xasprintf("%s/netns", n->exec_root);
  int rc = mkdir_p(dir, 0700, err);
  if (rc < 0)
    return rc;
  umount2(p, MNT_DETACH); /* a stale one from a crash */
  unlink(p);
  if ((rc = nl_netns_create(p, err)) < 0)
    return rc;
  *path = steal_ptr(p);
  return 0;
}

void net_netns_delete(struct net *n, const char *cid) {
  _cleanup_free_ char *p = net_netns_path(n, cid);
  if (umount2(p, MNT_DETACH) == 0 || errno == EINVAL)
    unlink(p);
}
