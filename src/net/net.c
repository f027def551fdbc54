/*
 * net.c — the network manager: the table of networks (bridge, host, null
 * drivers), their persistence in berthd.db, the bridge devices, and the
 * /networks API in Docker's JSON shapes. Endpoints are endpoint.c's; the
 * nftables ruleset is rules.c's (rebuilt whole after every change).
 *
 * Invariants: a network's subnet never overlaps another network's nor a
 * host route (checked at create); a network row exists iff the network is in
 * n->nets; the predefined networks (bridge unless --bridge none, host, none)
 * are made at open if missing and never removed.
 */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "net/dns.h"
#include "net/net_internal.h"
#include "net/proxy.h"

const char *net_default_bridge(void) { return "berth0"; }

static void random_id(char out[65]) {
  unsigned char b[32];
  if (getrandom(b, sizeof(b), 0) != sizeof(b))
    memset(b, 0x5a, sizeof(b));
  for (int i = 0; i < 32; i++)
    snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static void network_free(struct net_network *w) {
  if (w == NULL)
    return;
  free(w->name);
  free(w->driver);
  free(w->created);
  free(w->bridge);
  free(w->subnet6_text);
  json_decref(w->labels);
  json_decref(w->options);
  json_decref(w->ipam_options);
  free(w);
}

/* ---- persistence ---- */

static json_t *network_doc_base(const struct net_network *w) {
  char s[16], g[16], r[16];
  return json_pack("{s:s,s:s,s:s,s:s?,s:b,s:b,s:b,s:b,s:b,s:b,s:b,s:s,s:i,s:s,s:i,s:s,s:i,s:i,"
                   "s:O,s:O,s:O?,s:b}",
                   "id", w->id, "name", w->name, "driver", w->driver, "bridge", w->bridge,
                   "predefined", w->predefined, "default", w->is_default, "internal", w->internal,
                   "attachable", w->attachable, "masquerade", w->masquerade, "icc", w->icc,
                   "has_subnet", w->has_subnet, "subnet", ipam_fmt(w->subnet, s), "prefix",
                   w->prefix, "gateway", ipam_fmt(w->gateway, g), "mtu", w->mtu, "range",
                   ipam_fmt(w->range, r), "range_prefix", w->range_prefix, "unused", 0, "labels",
                   w->labels, "options", w->options, "ipam_options", w->ipam_options,
                   "gateway_given", w->gateway_given);
}

/* The IPv6 part of a network's row (keys absent: no v6 config). */
static void network_doc6(const struct net_network *w, json_t *d) {
  char g[INET6_ADDRSTRLEN], r[INET6_ADDRSTRLEN];
  json_object_set_new(d, "ipv6", json_boolean(w->ipv6));
  if (!w->has_subnet6)
    return;
  json_object_set_new(d, "subnet6", json_string(w->subnet6_text));
  json_object_set_new(d, "gateway6", json_string(ipam6_fmt(&w->gateway6, g)));
  json_object_set_new(d, "gateway6_given", json_boolean(w->gateway6_given));
  if (w->range6_prefix)
    json_object_set_new(d, "range6", json_sprintf("%s/%d", ipam6_fmt(&w->range6, r),
                                                  w->range6_prefix));
}

static void network_from_doc6(struct net_network *w, const json_t *d) {
  w->ipv6 = json_is_true(json_object_get(d, "ipv6"));
  const char *sub = json_string_value(json_object_get(d, "subnet6"));
  if (sub == NULL || ipam6_parse_cidr(sub, &w->subnet6, &w->prefix6) < 0)
    return;
  ipam6_mask(&w->subnet6, w->prefix6);
  w->subnet6_text = xstrdup(sub);
  w->has_subnet6 = true;
  w->gateway6_given = json_is_true(json_object_get(d, "gateway6_given"));
  ipam6_parse_ip(json_string_value(json_object_get(d, "gateway6")), &w->gateway6);
  const char *rg = json_string_value(json_object_get(d, "range6"));
  if (rg && ipam6_parse_cidr(rg, &w->range6, &w->range6_prefix) < 0)
    w->range6_prefix = 0;
}

static json_t *network_doc(const struct net_network *w) {
  json_t *d = network_doc_base(w);
  json_object_set_new(d, "subnet_given", json_boolean(w->subnet_given));
  network_doc6(w, d);
  return d;
}

static struct net_network *network_from_doc(const json_t *d, const char *created) {
  struct net_network *w = xcalloc(1, sizeof(*w));
  snprintf(w->id, sizeof(w->id), "%s", json_string_value(json_object_get(d, "id")));
  w->name = xstrdup(json_string_value(json_object_get(d, "name")));
  w->driver = xstrdup(json_string_value(json_object_get(d, "driver")));
  const char *br = json_string_value(json_object_get(d, "bridge"));
  w->bridge = br ? xstrdup(br) : NULL;
  w->created = xstrdup(created);
  w->predefined = json_is_true(json_object_get(d, "predefined"));
  w->is_default = json_is_true(json_object_get(d, "default"));
  w->internal = json_is_true(json_object_get(d, "internal"));
  w->attachable = json_is_true(json_object_get(d, "attachable"));
  w->masquerade = json_is_true(json_object_get(d, "masquerade"));
  w->icc = json_is_true(json_object_get(d, "icc"));
  w->has_subnet = json_is_true(json_object_get(d, "has_subnet"));
  w->gateway_given = json_is_true(json_object_get(d, "gateway_given"));
  w->subnet_given = json_is_true(json_object_get(d, "subnet_given"));
  ipam_parse_ip(json_string_value(json_object_get(d, "subnet")), &w->subnet);
  ipam_parse_ip(json_string_value(json_object_get(d, "gateway")), &w->gateway);
  ipam_parse_ip(json_string_value(json_object_get(d, "range")), &w->range);
  w->prefix = (int)json_integer_value(json_object_get(d, "prefix"));
  w->range_prefix = (int)json_integer_value(json_object_get(d, "range_prefix"));
  w->mtu = (int)json_integer_value(json_object_get(d, "mtu"));
  json_t *l = json_object_get(d, "labels");
  w->labels = json_is_object(l) ? json_deep_copy(l) : json_object();
  json_t *o = json_object_get(d, "options");
  w->options = json_is_object(o) ? json_deep_copy(o) : json_object();
  json_t *io = json_object_get(d, "ipam_options");
  w->ipam_options = json_is_object(io) ? json_deep_copy(io) : NULL;
  network_from_doc6(w, d);
  return w;
}

static int network_save(struct net *n, const struct net_network *w, struct berr **err) {
  sqlite3 *h = db_handle(n->db);
  _cleanup_json_ json_t *doc = network_doc(w);
  _cleanup_free_ char *txt = json_dump_compact(doc);
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(h, "INSERT OR REPLACE INTO networks(id, name, created, doc) "
                            "VALUES (?, ?, ?, ?)",
                         -1, &st, NULL) != SQLITE_OK)
    return berr_set(err, EIO, "save network %s: %s", w->name, sqlite3_errmsg(h));
  sqlite3_bind_text(st, 1, w->id, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, w->name, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, w->created, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 4, txt, -1, SQLITE_STATIC);
  int s = sqlite3_step(st);
  sqlite3_finalize(st);
  if (s != SQLITE_DONE)
    return berr_set(err, EIO, "save network %s: %s", w->name, sqlite3_errmsg(h));
  return 0;
}

static int network_delete_row(struct net *n, const char *id, struct berr **err) {
  sqlite3 *h = db_handle(n->db);
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(h, "DELETE FROM networks WHERE id = ?", -1, &st, NULL) != SQLITE_OK)
    return berr_set(err, EIO, "delete network %s: %s", id, sqlite3_errmsg(h));
  sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
  int s = sqlite3_step(st);
  sqlite3_finalize(st);
  return s == SQLITE_DONE ? 0 : berr_set(err, EIO, "delete network %s: %s", id, sqlite3_errmsg(h));
}

static void table_add(struct net *n, struct net_network *w) {
  n->nets = xrealloc(n->nets, (n->n_nets + 1) * sizeof(*n->nets));
  n->nets[n->n_nets++] = w;
}

static int load_all(struct net *n, struct berr **err) {
  sqlite3 *h = db_handle(n->db);
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(h, "SELECT doc, created FROM networks", -1, &st, NULL) != SQLITE_OK)
    return berr_set(err, EIO, "load networks: %s", sqlite3_errmsg(h));
  while (sqlite3_step(st) == SQLITE_ROW) {
    _cleanup_json_ json_t *doc = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
    if (json_is_object(doc))
      table_add(n, network_from_doc(doc, (const char *)sqlite3_column_text(st, 1)));
  }
  sqlite3_finalize(st);
  return 0;
}

/* ---- lookup ---- */

struct net_network *net_find_locked(struct net *n, const char *key, struct berr **err) {
  if (key == NULL || *key == '\0') {
    berr_set(err, ENOENT, "network  not found");
    return NULL;
  }
  for (size_t i = 0; i < n->n_nets; i++)
    if (strcmp(n->nets[i]->id, key) == 0 || strcmp(n->nets[i]->name, key) == 0)
      return n->nets[i];
  struct net_network *hit = NULL;
  size_t hits = 0;
  for (size_t i = 0; i < n->n_nets; i++)
    if (str_has_prefix(n->nets[i]->id, key)) {
      hit = n->nets[i];
      hits++;
    }
  if (hits == 1)
    return hit;
  if (hits > 1)
    berr_set(err, EINVAL, "network %s is ambiguous (%zu matches found based on ID prefix)", key,
             hits);
  else
    berr_set(err, ENOENT, "network %s not found", key);
  return NULL;
}

int net_lookup(struct net *n, const char *key, char **id, char **name, struct berr **err) {
  pthread_mutex_lock(&n->lock);
  struct net_network *w = net_find_locked(n, key, err);
  if (w) {
    if (id)
      *id = xstrdup(w->id);
    if (name)
      *name = xstrdup(w->name);
  }
  pthread_mutex_unlock(&n->lock);
  return w ? 0 : -ENOENT;
}

char *net_driver_of(struct net *n, const char *id) {
  pthread_mutex_lock(&n->lock);
  struct net_network *w = net_find_locked(n, id, NULL);
  char *d = w ? xstrdup(w->driver) : NULL;
  pthread_mutex_unlock(&n->lock);
  return d;
}

/* ---- subnets ---- */

/* Every subnet in use: networks and host routes (except the network's own
 * bridge, whose route exists once it is up). */
static size_t used_subnets(struct net *n, const char *skip_dev, uint32_t **a, int **p) {
  uint32_t *ra;
  int *rp;
  size_t nr = nl_host_routes(&ra, &rp);
  (void)skip_dev;
  *a = xcalloc(nr + n->n_nets + 1, sizeof(**a));
  *p = xcalloc(nr + n->n_nets + 1, sizeof(**p));
  size_t k = 0;
  for (size_t i = 0; i < nr; i++) {
    (*a)[k] = ra[i];
    (*p)[k++] = rp[i];
  }
  for (size_t i = 0; i < n->n_nets; i++)
    if (n->nets[i]->has_subnet) {
      (*a)[k] = n->nets[i]->subnet;
      (*p)[k++] = n->nets[i]->prefix;
    }
  free(ra);
  free(rp);
  return k;
}

static bool bridge_route_is_ours(struct net *n, uint32_t a, int p) {
  for (size_t i = 0; i < n->n_nets; i++)
    if (n->nets[i]->has_subnet && n->nets[i]->subnet == a && n->nets[i]->prefix == p)
      return true;
  return false;
}

/* Does a/p overlap a network or a host route (other than our bridges')? */
static bool subnet_taken(struct net *n, uint32_t a, int p, bool routes) {
  for (size_t i = 0; i < n->n_nets; i++)
    if (n->nets[i]->has_subnet && ipam_overlap(a, p, n->nets[i]->subnet, n->nets[i]->prefix))
      return true;
  if (!routes)
    return false; /* macvlan / ipvlan live on the parent's own subnet */
  uint32_t *ra;
  int *rp;
  size_t nr = nl_host_routes(&ra, &rp);
  bool hit = false;
  for (size_t i = 0; i < nr && !hit; i++)
    if (!bridge_route_is_ours(n, ra[i], rp[i]) && ipam_overlap(a, p, ra[i], rp[i]))
      hit = true;
  free(ra);
  free(rp);
  return hit;
}

static int pick_subnet(struct net *n, struct net_network *w, struct berr **err) {
  uint32_t *ua;
  int *up;
  size_t nu = used_subnets(n, NULL, &ua, &up);
  int rc = ipam_pick_subnet(n->pools, ua, up, nu, &w->subnet, &w->prefix, err);
  free(ua);
  free(up);
  if (rc < 0)
    return rc;
  w->gateway = w->subnet + 1;
  w->has_subnet = true;
  return 0;
}

/* ---- predefined networks ---- */

static struct net_network *network_new(const char *name, const char *driver) {
  struct net_network *w = xcalloc(1, sizeof(*w));
  random_id(w->id);
  w->name = xstrdup(name);
  w->driver = xstrdup(driver);
  w->created = time_now_rfc3339();
  w->labels = json_object();
  w->options = json_object();
  w->masquerade = true;
  w->icc = true;
  return w;
}

/* The bridge device with its IPv4 gateway, and its IPv6 one with EnableIPv6. */
static int bridge_up(const struct net_network *w, struct berr **err) {
  int rc = nl_bridge_ensure(w->bridge, w->gateway, w->prefix, w->mtu, err);
  if (rc == 0 && w->ipv6 && w->has_subnet6) {
    rc = nl_bridge_addr6(w->bridge, &w->gateway6, w->prefix6, err);
    nl_sysctl("net/ipv6/conf/all/forwarding", "1"); /* dockerd does so for IPv6 bridges */
  }
  return rc;
}

/* daemon --ipv6 / --fixed-cidr-v6 on the default bridge (dockerd: the bridge
 * gets the subnet's ::1). */
static int default_bridge_v6(struct net *n, struct net_network *w, struct berr **err) {
  w->ipv6 = n->ipv6;
  free(w->subnet6_text);
  w->subnet6_text = NULL;
  w->has_subnet6 = false;
  if (!n->ipv6 || n->fixed_cidr_v6 == NULL)
    return 0; /* dockerd ignores --fixed-cidr-v6 without --ipv6 */
  if (ipam6_parse_cidr(n->fixed_cidr_v6, &w->subnet6, &w->prefix6) < 0 || w->prefix6 > 126)
    return berr_set(err, EINVAL, "invalid fixed-cidr-v6: %s", n->fixed_cidr_v6);
  ipam6_mask(&w->subnet6, w->prefix6);
  w->gateway6 = w->subnet6;
  ipam6_add(&w->gateway6, 1);
  w->subnet6_text = xstrdup(n->fixed_cidr_v6);
  w->has_subnet6 = true;
  return 0;
}

static int default_bridge_network(struct net *n, struct berr **err) {
  struct net_network *w = net_find_locked(n, "bridge", NULL);
  if (w == NULL) {
    w = network_new("bridge", "bridge");
    w->predefined = w->is_default = true;
    table_add(n, w);
  }
  if (w->bridge == NULL || strcmp(w->bridge, n->default_bridge) != 0)
    w->has_subnet = false; /* --bridge changed since the network was saved */
  free(w->bridge);
  w->bridge = xstrdup(n->default_bridge);
  if (n->bip) {
    uint32_t a;
    int p;
    if (ipam_parse_cidr(n->bip, &a, &p) < 0 || p > 30)
      return berr_set(err, EINVAL, "invalid bip: %s", n->bip);
    w->gateway = a;
    w->subnet = a & ipam_mask(p);
    w->prefix = p;
    w->has_subnet = true;
  } else if (!w->has_subnet) {
    int rc = pick_subnet(n, w, err);
    if (rc < 0)
      return rc;
  }
  w->mtu = n->mtu;
  json_decref(w->options);
  w->options = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "com.docker.network.bridge.default_bridge",
                         "true", "com.docker.network.bridge.enable_icc", "true",
                         "com.docker.network.bridge.enable_ip_masquerade", "true",
                         "com.docker.network.bridge.host_binding_ipv4", "0.0.0.0",
                         "com.docker.network.bridge.name", n->default_bridge,
                         "com.docker.network.driver.mtu", "1500");
  int rc = default_bridge_v6(n, w, err);
  if (rc == 0)
    rc = bridge_up(w, err);
  if (rc < 0)
    return rc;
  return network_save(n, w, err);
}

static int predefined(struct net *n, const char *name, const char *driver, struct berr **err) {
  if (net_find_locked(n, name, NULL))
    return 0;
  struct net_network *w = network_new(name, driver);
  w->predefined = true;
  table_add(n, w);
  return network_save(n, w, err);
}

/* Bridges of user networks come back at start (they may be gone after a reboot). */
static void bridges_up(struct net *n) {
  for (size_t i = 0; i < n->n_nets; i++) {
    struct net_network *w = n->nets[i];
    _cleanup_berr_ struct berr *e = NULL;
    if (!w->is_default && strcmp(w->driver, "bridge") == 0 && w->bridge && bridge_up(w, &e) < 0)
      log_warn("network %s: %s", w->name, e->msg);
  }
}

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS networks (id TEXT PRIMARY KEY, name TEXT NOT NULL, "
    "created TEXT NOT NULL, doc TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS net_endpoints (network TEXT NOT NULL, container TEXT NOT NULL, "
    "doc TEXT NOT NULL, PRIMARY KEY (network, container));";

static char *table_name(const char *bridge, const char *exec_root) {
  /* one table per berthd: FNV-1a of the exec-root and bridge names */
  uint32_t hsh = 2166136261u;
  for (const char *s = exec_root; s && *s; s++)
    hsh = (hsh ^ (unsigned char)*s) * 16777619u;
  for (const char *s = bridge; s && *s; s++)
    hsh = (hsh ^ (unsigned char)*s) * 16777619u;
  return xasprintf("berth_%08x", hsh);
}

int net_open(const struct net_config *cfg, struct db *db, struct net **out, struct berr **err) {
  struct net *n = xcalloc(1, sizeof(*n));
  pthread_mutex_init(&n->lock, NULL);
  n->db = db;
  n->iptables = cfg->iptables;
  n->userland_proxy = cfg->userland_proxy;
  bool none = cfg->bridge && strcmp(cfg->bridge, "none") == 0;
  n->default_bridge = none ? NULL : xstrdup(cfg->bridge && *cfg->bridge ? cfg->bridge : "berth0");
  n->bip = cfg->bip && *cfg->bip ? xstrdup(cfg->bip) : NULL;
  n->pools = cfg->pools ? json_deep_copy(cfg->pools) : json_array();
  n->exec_root = xstrdup(cfg->exec_root ? cfg->exec_root : "/run/berth");
  n->dns_default = strv_dup(cfg->dns);
  n->table = table_name(n->default_bridge ? n->default_bridge : "none", n->exec_root);
  n->mtu = cfg->mtu > 0 ? cfg->mtu : 1500;
  n->ipv6 = cfg->ipv6;
  n->fixed_cidr_v6 = cfg->fixed_cidr_v6 && *cfg->fixed_cidr_v6 ? xstrdup(cfg->fixed_cidr_v6) : NULL;
  *out = n;
  int rc = db_exec(db, schema, err);
  if (rc == 0)
    rc = load_all(n, err);
  if (rc == 0 && n->default_bridge)
    rc = default_bridge_network(n, err);
  if (rc == 0 && (rc = predefined(n, "host", "host", err)) == 0)
    rc = predefined(n, "none", "null", err);
  if (rc < 0)
    return rc;
  if (n->default_bridge == NULL && n->n_nets <= 3 && !n->iptables)
    return 0; /* --bridge none --iptables=false: behave as before networking */
  bridges_up(n);
  _cleanup_free_ char *nsdir = xasprintf("%s/netns", n->exec_root);
  if ((rc = mkdir_p(nsdir, 0700, err)) < 0)
    return rc;
  if (n->iptables) {
    nl_sysctl("net/ipv4/ip_forward", "1");
    n->table6 = true; /* a crashed berthd's ip6 table goes at the first apply */
    pthread_mutex_lock(&n->lock);
    rc = rules_apply(n, err);
    pthread_mutex_unlock(&n->lock);
  }
  if (rc == 0)
    ep_restore_live(n);
  return rc;
}

void net_close(struct net *n) {
  if (n == NULL)
    return;
  if (n->nft) {
    _cleanup_free_ char *cmd = xasprintf("delete table ip %s\n%s%s%s", n->table,
                                         n->table6 ? "delete table ip6 " : "",
                                         n->table6 ? n->table : "", n->table6 ? "\n" : "");
    _cleanup_berr_ struct berr *e = NULL;
    if (nft_run(&n->nft, cmd, &e) < 0)
      log_warn("%s", e->msg);
    nft_free(n->nft);
  }
  dns_server_free(n->dns);
  proxy_free(n->proxy);
  for (size_t i = 0; i < n->n_nets; i++)
    network_free(n->nets[i]);
  free(n->nets);
  free(n->default_bridge);
  free(n->bip);
  json_decref(n->pools);
  free(n->exec_root);
  strv_free(n->dns_default);
  free(n->table);
  free(n->fixed_cidr_v6);
  pthread_mutex_destroy(&n->lock);
  free(n);
}

/* ---- filters (the daemon's filters.c is a layer above) ---- */

int net_filters_check(const json_t *f, const char *const *ok, struct berr **err) {
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)f, k, v) {
    bool known = false;
    for (size_t i = 0; ok[i]; i++)
      known |= strcmp(ok[i], k) == 0;
    if (!known)
      return berr_set(err, EINVAL, "invalid filter '%s'", k);
  }
  return 0;
}

bool filters_match_value(const json_t *f, const char *key, const char *value) {
  const json_t *vals = json_object_get(f, key);
  if (vals == NULL)
    return true;
  size_t i;
  json_t *v;
  json_array_foreach(vals, i, v) if (value && strcmp(json_string_value(v), value) == 0) return true;
  return false;
}

/* "label" (every k or k=v holds) and "label!" (none holds). */
bool filters_match_labels_obj(const json_t *f, const json_t *labels) {
  static const char *const keys[] = {"label", "label!"};
  for (int neg = 0; neg < 2; neg++) {
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(f, keys[neg]), i, v) {
      const char *s = json_string_value(v);
      const char *eq = strchr(s, '=');
      _cleanup_free_ char *k = eq ? strndup(s, (size_t)(eq - s)) : xstrdup(s);
      const char *have = json_string_value(json_object_get(labels, k));
      bool hit = have && (eq == NULL || strcmp(have, eq + 1) == 0);
      if (hit == (bool)neg)
        return false;
    }
  }
  return true;
}

/* ---- API: inspect / list ---- */

static json_t *ipam_json(const struct net_network *w) {
  json_t *cfgs = json_array();
  if (w->has_subnet) {
    char s[16], g[16], r[16];
    json_t *c = json_pack("{s:s,s:s}", "Subnet", "", "Gateway", ipam_fmt(w->gateway, g));
    json_object_set_new(c, "Subnet", json_sprintf("%s/%d", ipam_fmt(w->subnet, s), w->prefix));
    if (w->subnet_given && !w->gateway_given)
      json_object_del(c, "Gateway"); /* as dockerd: only what was asked */
    if (w->range_prefix)
      json_object_set_new(c, "IPRange", json_sprintf("%s/%d", ipam_fmt(w->range, r),
                                                     w->range_prefix));
    json_array_append_new(cfgs, c);
  }
  if (w->has_subnet6) {
    char g[INET6_ADDRSTRLEN], r[INET6_ADDRSTRLEN];
    json_t *c = json_pack("{s:s}", "Subnet", w->subnet6_text);
    if (w->range6_prefix)
      json_object_set_new(c, "IPRange", json_sprintf("%s/%d", ipam6_fmt(&w->range6, r),
                                                     w->range6_prefix));
    if (w->gateway6_given)
      json_object_set_new(c, "Gateway", json_string(ipam6_fmt(&w->gateway6, g)));
    json_array_append_new(cfgs, c);
  }
  return json_pack("{s:s,s:O?,s:o}", "Driver", "default", "Options", w->ipam_options, "Config",
                   cfgs);
}

static json_t *containers_json(struct net *n, const struct net_network *w) {
  json_t *out = json_object();
  _cleanup_json_ json_t *eps = ep_of_network(n, w->id);
  size_t i;
  json_t *e;
  json_array_foreach(eps, i, e) {
    const json_t *d = json_object_get(e, "doc");
    if (!json_is_true(json_object_get(d, "Active")))
      continue;
    const char *ip = json_string_value(json_object_get(d, "IPAddress"));
    json_object_set_new(
        out, json_string_value(json_object_get(e, "container")),
        json_pack("{s:O,s:O,s:O,s:s,s:s}", "Name", json_object_get(d, "ContainerName"),
                  "EndpointID", json_object_get(d, "EndpointID"), "MacAddress",
                  json_object_get(d, "MacAddress"), "IPv4Address",
                  ip && *ip ? json_string_value(json_object_get(d, "IPv4Address")) : "",
                  "IPv6Address", ""));
    const char *ip6 = json_string_value(json_object_get(d, "IPv6Address"));
    if (ip6 && *ip6)
      json_object_set_new(json_object_get(out, json_string_value(json_object_get(e, "container"))),
                          "IPv6Address", json_string(ip6));
  }
  return out;
}

static json_t *network_json(struct net *n, const struct net_network *w, bool containers) {
  const char *scope = "local";
  json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:o,s:b,s:b,s:b,s:{s:s},s:b}", "Name", w->name,
                        "Id", w->id, "Created", w->created, "Scope", scope, "Driver", w->driver,
                        "EnableIPv6", w->ipv6, "IPAM", ipam_json(w), "Internal", w->internal,
                        "Attachable", w->attachable, "Ingress", 0, "ConfigFrom", "Network", "",
                        "ConfigOnly", 0);
  json_object_set_new(j, "Containers", containers ? containers_json(n, w) : json_object());
  json_object_set_new(j, "Options", json_deep_copy(w->options));
  json_object_set_new(j, "Labels", json_deep_copy(w->labels));
  return j;
}

int net_api_inspect(struct net *n, const char *key, json_t **out, struct berr **err) {
  pthread_mutex_lock(&n->lock);
  struct net_network *w = net_find_locked(n, key, err);
  if (w)
    *out = network_json(n, w, true);
  pthread_mutex_unlock(&n->lock);
  return w ? 0 : -ENOENT;
}

/* Endpoints of running containers (a stopped container's row does not keep
 * the network: dockerd removes it too, and the container starts without it). */
static bool has_endpoints(struct net *n, const struct net_network *w) {
  _cleanup_json_ json_t *eps = ep_of_network(n, w->id);
  size_t i;
  json_t *e;
  json_array_foreach(eps, i, e) if (json_is_true(json_object_get(json_object_get(e, "doc"),
                                                                 "Active"))) return true;
  return false;
}

static bool type_match(const json_t *f, const struct net_network *w) {
  const json_t *t = json_object_get(f, "type");
  if (t == NULL)
    return true;
  return filters_match_value(f, "type", w->predefined ? "builtin" : "custom");
}

static bool list_match(struct net *n, const json_t *f, const struct net_network *w) {
  if (!filters_match_value(f, "driver", w->driver) || !type_match(f, w) ||
      !filters_match_value(f, "scope", "local") || !filters_match_labels_obj(f, w->labels))
    return false;
  const json_t *names = json_object_get(f, "name");
  if (names) { /* substring match, as Docker */
    bool ok = false;
    size_t i;
    json_t *v;
    json_array_foreach(names, i, v) ok |= strstr(w->name, json_string_value(v)) != NULL;
    if (!ok)
      return false;
  }
  const json_t *ids = json_object_get(f, "id");
  if (ids) {
    bool ok = false;
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v) ok |= str_has_prefix(w->id, json_string_value(v));
    if (!ok)
      return false;
  }
  const json_t *dg = json_object_get(f, "dangling");
  if (dg) {
    const char *v = json_string_value(json_array_get(dg, 0));
    bool want = v && (strcmp(v, "true") == 0 || strcmp(v, "1") == 0);
    bool dangling = !w->predefined && !has_endpoints(n, w);
    if (want != dangling)
      return false;
  }
  return true;
}

int net_api_list(struct net *n, const json_t *f, json_t **out, struct berr **err) {
  static const char *const ok[] = {"driver", "id", "label", "name", "scope", "type", "dangling",
                                   NULL};
  int rc = net_filters_check(f, ok, err);
  if (rc < 0)
    return rc;
  const json_t *t = json_object_get(f, "type");
  size_t i;
  json_t *v;
  json_array_foreach(t, i, v) if (strcmp(json_string_value(v), "custom") &&
                                  strcmp(json_string_value(v), "builtin")) return berr_set(
      err, EINVAL, "invalid filter: 'type'='%s'", json_string_value(v));
  pthread_mutex_lock(&n->lock);
  *out = json_array();
  for (size_t k = 0; k < n->n_nets; k++)
    if (list_match(n, f, n->nets[k]))
      json_array_append_new(*out, network_json(n, n->nets[k], false));
  pthread_mutex_unlock(&n->lock);
  return 0;
}

/* ---- API: create ---- */

static const char *opt_str(const json_t *o, const char *k) {
  return json_string_value(json_object_get(o, k));
}

static bool opt_false(const json_t *o, const char *k) {
  const char *v = opt_str(o, k);
  return v && (strcmp(v, "false") == 0 || strcmp(v, "0") == 0);
}

/* An IPAM Config entry is IPv6 when its subnet (else gateway, else range) is. */
static bool cfg_is_v6(const json_t *c) {
  const char *sub = opt_str(c, "Subnet"), *gw = opt_str(c, "Gateway");
  const char *x = sub && *sub ? sub : gw && *gw ? gw : opt_str(c, "IPRange");
  return x && strchr(x, ':');
}

static bool subnet6_taken(struct net *n, const struct in6_addr *a, int p) {
  for (size_t i = 0; i < n->n_nets; i++)
    if (n->nets[i]->has_subnet6 &&
        ipam6_overlap(a, p, &n->nets[i]->subnet6, n->nets[i]->prefix6))
      return true;
  return false;
}

/* One IPv6 config: Subnet (required), Gateway (default: the subnet's ::1),
 * IPRange; dockerd's words for each error. */
static int parse_ipam6(struct net *n, struct net_network *w, const json_t *c, struct berr **err) {
  const char *sub = opt_str(c, "Subnet"), *gw = opt_str(c, "Gateway"),
             *rg = opt_str(c, "IPRange");
  if (sub == NULL || *sub == '\0')
    return berr_set(err, EPERM, "cannot specify a gateway or an IP range without a subnet");
  if (w->has_subnet6)
    return berr_set(err, EINVAL, "network %s: berth supports one IPv6 subnet per network",
                    w->name);
  struct in6_addr a;
  int p;
  if (ipam6_parse_cidr(sub, &a, &p) < 0)
    return berr_set(err, EINVAL, "Invalid subnet %s : invalid CIDR address: %s", sub, sub);
  ipam6_mask(&a, p);
  if (p > 126)
    return berr_set(err, EINVAL, "Invalid subnet %s : too small for any address", sub);
  if (subnet6_taken(n, &a, p))
    return berr_set(err, EPERM, "Pool overlaps with other one on this address space");
  w->subnet6 = w->gateway6 = a;
  w->prefix6 = p;
  w->subnet6_text = xstrdup(sub);
  w->has_subnet6 = true;
  ipam6_add(&w->gateway6, 1);
  if (gw && *gw) {
    if (ipam6_parse_ip(gw, &w->gateway6) < 0 || !ipam6_overlap(&w->gateway6, 128, &a, p))
      return berr_set(err, EPERM, "no matching subnet for gateway %s", gw);
    w->gateway6_given = true;
  }
  if (rg && *rg) {
    if (ipam6_parse_cidr(rg, &w->range6, &w->range6_prefix) < 0 || w->range6_prefix < p ||
        !ipam6_overlap(&w->range6, w->range6_prefix, &a, p))
      return berr_set(err, EPERM, "no matching subnet for range %s", rg);
    ipam6_mask(&w->range6, w->range6_prefix);
  }
  return 0;
}

static int parse_ipam4(struct net *n, struct net_network *w, const json_t *c, struct berr **err);

/* IPAM: the first IPv4 config (none: a subnet from the pools) and at most one
 * IPv6 config, in any order (the CLI sends one entry per --subnet). */
static int parse_ipam(struct net *n, struct net_network *w, const json_t *ipam,
                      struct berr **err) {
  const char *drv = json_string_value(json_object_get(ipam, "Driver"));
  if (drv && *drv && strcmp(drv, "default") != 0)
    return berr_set(err, ENOENT, "plugin \"%s\" not found", drv);
  const json_t *io = json_object_get(ipam, "Options");
  if (json_is_object(io))
    w->ipam_options = json_deep_copy(io);
  const json_t *c4 = NULL;
  size_t i;
  json_t *c;
  int rc;
  json_array_foreach(json_object_get(ipam, "Config"), i, c) {
    if (!cfg_is_v6(c))
      c4 = c4 ? c4 : c;
    else if ((rc = parse_ipam6(n, w, c, err)) < 0)
      return rc;
  }
  if ((rc = parse_ipam4(n, w, c4, err)) < 0)
    return rc;
  if (w->ipv6 && !w->has_subnet6)
    return berr_set(err, ENOSPC, "could not find an available, non-overlapping IPv6 address "
                                 "pool among the defaults to assign to the network");
  return 0;
}

static int parse_ipam4(struct net *n, struct net_network *w, const json_t *c, struct berr **err) {
  const char *sub = opt_str(c, "Subnet"), *gw = opt_str(c, "Gateway"),
             *rg = opt_str(c, "IPRange");
  if (sub == NULL || *sub == '\0') {
    if ((gw && *gw) || (rg && *rg))
      return berr_set(err, EPERM, "cannot specify a gateway or an IP range without a subnet");
    return pick_subnet(n, w, err);
  }
  uint32_t a;
  int p;
  if (ipam_parse_cidr(sub, &a, &p) < 0 || p > 30)
    return berr_set(err, EINVAL, "Invalid subnet %s : invalid CIDR address: %s", sub, sub);
  w->subnet = a & ipam_mask(p);
  w->prefix = p;
  w->subnet_given = true;
  if (subnet_taken(n, w->subnet, p, strcmp(w->driver, "bridge") == 0))
    return berr_set(err, EPERM, "Pool overlaps with other one on this address space");
  w->has_subnet = true;
  w->gateway = w->subnet + 1;
  if (gw && *gw) {
    if (ipam_parse_ip(gw, &w->gateway) < 0 || !ipam_overlap(w->gateway, 32, w->subnet, p))
      return berr_set(err, EPERM, "no matching subnet for gateway %s", gw);
    w->gateway_given = true;
  }
  if (rg && *rg) {
    if (ipam_parse_cidr(rg, &w->range, &w->range_prefix) < 0 || w->range_prefix < p ||
        !ipam_overlap(w->range, w->range_prefix, w->subnet, p))
      return berr_set(err, EPERM, "no matching subnet for range %s", rg);
    w->range &= ipam_mask(w->range_prefix);
  }
  return 0;
}

static char *bridge_name_for(struct net_network *w) {
  const char *b = opt_str(w->options, "com.docker.network.bridge.name");
  if (b && *b)
    return xstrdup(b);
  return xasprintf("br-%.12s", w->id);
}

/* macvlan / ipvlan: the parent must exist, the mode be known (no device is
 * made for the network itself: each endpoint gets its own sub-interface). */
static int vlan_check(struct net_network *w, struct berr **err) {
  const char *parent = opt_str(w->options, "parent");
  if (parent == NULL || *parent == '\0')
    return berr_set(err, EINVAL, "%s: the parent interface is required (-o parent=IFACE)",
                    w->driver);
  if (!nl_link_exists(parent))
    return berr_set(err, EINVAL, "-o parent interface was not found on the host: %s", parent);
  const char *mode = opt_str(w->options, strcmp(w->driver, "macvlan") == 0 ? "macvlan_mode"
                                                                           : "ipvlan_mode");
  static const char *const ok[] = {"", "bridge", "private", "vepa", "passthru", "l2", "l3",
                                   NULL};
  bool known = mode == NULL;
  for (size_t i = 0; ok[i] && mode; i++)
    known |= strcmp(ok[i], mode) == 0;
  if (!known)
    return berr_set(err, EINVAL, "requested %s mode '%s' is not valid", w->driver, mode);
  return 0;
}

static int create_locked(struct net *n, const json_t *body, struct net_network **out,
                         struct berr **err) {
  const char *name = json_string_value(json_object_get(body, "Name"));
  if (name == NULL || *name == '\0')
    return berr_set(err, EINVAL, "Name is required");
  if (net_find_locked(n, name, NULL) && strcmp(net_find_locked(n, name, NULL)->name, name) == 0)
    return berr_set(err, EEXIST, "network with name %s already exists", name);
  const char *drv = json_string_value(json_object_get(body, "Driver"));
  if (drv == NULL || *drv == '\0')
    drv = "bridge";
  if (strcmp(drv, "host") == 0 || strcmp(drv, "null") == 0)
    return berr_set(err, EPERM, "only one instance of \"%s\" network is allowed", drv);
  bool vlan = strcmp(drv, "macvlan") == 0 || strcmp(drv, "ipvlan") == 0;
  if (strcmp(drv, "bridge") != 0 && !vlan)
    return berr_set(err, ENOENT, "plugin \"%s\" not found", drv);
  struct net_network *w = network_new(name, drv);
  *out = w;
  w->ipv6 = json_is_true(json_object_get(body, "EnableIPv6"));
  const json_t *o = json_object_get(body, "Options");
  if (json_is_object(o)) {
    json_decref(w->options);
    w->options = json_deep_copy(o);
  }
  const json_t *l = json_object_get(body, "Labels");
  if (json_is_object(l)) {
    json_decref(w->labels);
    w->labels = json_deep_copy(l);
  }
  w->internal = json_is_true(json_object_get(body, "Internal"));
  w->attachable = json_is_true(json_object_get(body, "Attachable"));
  w->masquerade = !opt_false(w->options, "com.docker.network.bridge.enable_ip_masquerade");
  w->icc = !opt_false(w->options, "com.docker.network.bridge.enable_icc");
  const char *mtu = opt_str(w->options, "com.docker.network.driver.mtu");
  int64_t m = 0;
  if (mtu && (parse_int64(mtu, &m) < 0 || m < 68 || m > 65535))
    return berr_set(err, EINVAL, "invalid MTU number: %s", mtu);
  w->mtu = m ? (int)m : n->mtu;
  int rc = parse_ipam(n, w, json_object_get(body, "IPAM"), err);
  if (rc < 0)
    return rc;
  if (vlan)
    return vlan_check(w, err);
  w->bridge = bridge_name_for(w);
  for (size_t i = 0; i < n->n_nets; i++)
    if (n->nets[i]->bridge && strcmp(n->nets[i]->bridge, w->bridge) == 0)
      return berr_set(err, EEXIST, "bridge name %s is already used by network %s", w->bridge,
                      n->nets[i]->name);
  if (strlen(w->bridge) >= 16)
    return berr_set(err, EINVAL, "bridge name %s is too long", w->bridge);
  if ((rc = bridge_up(w, err)) < 0) {
    nl_link_delete(w->bridge);
    return rc;
  }
  return 0;
}

int net_api_create(struct net *n, const json_t *body, json_t **out, struct berr **err) {
  pthread_mutex_lock(&n->lock);
  struct net_network *w = NULL;
  int rc = create_locked(n, body, &w, err);
  if (rc == 0) {
    table_add(n, w);
    if ((rc = network_save(n, w, err)) == 0)
      rc = rules_apply(n, err);
    if (rc < 0) {
      n->n_nets--;
      network_delete_row(n, w->id, NULL);
      if (w->bridge)
        nl_link_delete(w->bridge);
      rules_apply(n, NULL);
    }
  }
  if (rc == 0)
    *out = json_pack("{s:s,s:s}", "Id", w->id, "Warning", "");
  else
    network_free(w);
  pthread_mutex_unlock(&n->lock);
  return rc;
}

/* ---- API: remove / prune ---- */

static int remove_locked(struct net *n, struct net_network *w, struct berr **err) {
  if (w->predefined)
    return berr_set(err, EPERM, "%s is a pre-defined network and cannot be removed", w->name);
  if (has_endpoints(n, w))
    return berr_set(err, EPERM,
                    "error while removing network: network %s id %s has active endpoints",
                    w->name, w->id);
  int rc = network_delete_row(n, w->id, err);
  if (rc < 0)
    return rc;
  ep_drop_network(n, w->id);
  for (size_t i = 0; i < n->n_nets; i++)
    if (n->nets[i] == w) {
      memmove(&n->nets[i], &n->nets[i + 1], (n->n_nets - i - 1) * sizeof(*n->nets));
      n->n_nets--;
      break;
    }
  if (w->bridge)
    nl_link_delete(w->bridge);
  network_free(w);
  return rules_apply(n, err);
}

int net_api_remove(struct net *n, const char *key, struct berr **err) {
  pthread_mutex_lock(&n->lock);
  struct net_network *w = net_find_locked(n, key, err);
  int rc = w ? remove_locked(n, w, err) : -ENOENT;
  pthread_mutex_unlock(&n->lock);
  return rc;
}

static bool prune_until(const json_t *f, const struct net_network *w) {
  const json_t *u = json_object_get(f, "until");
  if (u == NULL)
    return true;
  const char *v = json_string_value(json_array_get(u, 0));
  int64_t secs;
  if (v == NULL || parse_int64(v, &secs) < 0)
    return true;
  char buf[32];
  snprintf(buf, sizeof(buf), "%.19s", w->created);
  struct tm tm = {0};
  if (strptime(buf, "%Y-%m-%dT%H:%M:%S", &tm) == NULL)
    return true;
  return (int64_t)timegm(&tm) < secs;
}

int net_api_prune(struct net *n, const json_t *f, json_t **out, struct berr **err) {
  static const char *const ok[] = {"until", "label", "label!", NULL};
  int rc = net_filters_check(f, ok, err);
  if (rc < 0)
    return rc;
  pthread_mutex_lock(&n->lock);
  json_t *del = json_array(), *ids = json_array();
  for (size_t i = 0; i < n->n_nets;) {
    struct net_network *w = n->nets[i];
    if (!w->predefined && !has_endpoints(n, w) && prune_until(f, w) &&
        filters_match_labels_obj(f, w->labels)) {
      _cleanup_free_ char *name = xstrdup(w->name);
      _cleanup_free_ char *id = xstrdup(w->id);
      if (remove_locked(n, w, NULL) == 0) {
        json_array_append_new(del, json_string(name));
        json_array_append_new(ids, json_string(id));
        continue;
      }
    }
    i++;
  }
  pthread_mutex_unlock(&n->lock);
  *out = json_pack("{s:o,s:o}", "NetworksDeleted", del, "Ids", ids);
  return 0;
}
