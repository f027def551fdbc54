/*
 * container_network.c — the container manager's side of networking
 * (container_network.h): which networks a container is on (its NetworkMode
 * and NetworkingConfig, recorded by src/net as inactive endpoints at create),
 * plumbing them at start in a namespace berthd makes before the runtime runs
 * (the spec's network path), /etc/hosts and /etc/resolv.conf with the
 * addresses, NetworkSettings for inspect, live connect / disconnect.
 *
 * Modes: "default" is "bridge" when the daemon has a default bridge (else
 * nothing: --bridge none keeps the namespace with only lo); "host", "none"
 * are recorded but need no plumbing; "container:x" joins x's namespace and
 * has no endpoint of its own.
 */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/container_network.h"
#include "net/net.h"

static const char *mode_of(const json_t *hc) {
  const char *m = json_string_value(json_object_get(hc, "NetworkMode"));
  return m && *m ? m : "default";
}

/* The network a mode names, NULL for container: and a bridgeless default. */
static const char *mode_network(struct daemon *d, const char *m) {
  if (str_has_prefix(m, "container:"))
    return NULL;
  if (strcmp(m, "default") == 0)
    return net_lookup(d->net, "bridge", NULL, NULL, NULL) == 0 ? "bridge" : NULL;
  return m;
}

static bool is_builtin(const char *drv) {
  return drv && (strcmp(drv, "host") == 0 || strcmp(drv, "null") == 0);
}

/* Drivers whose endpoints are plumbed in the container's namespace. */
static bool plumbed(const char *drv) {
  return drv && (strcmp(drv, "bridge") == 0 || strcmp(drv, "macvlan") == 0 ||
                 strcmp(drv, "ipvlan") == 0);
}

/* Docker's checks on what an endpoint asks of a network. */
static int check_settings(struct daemon *d, const char *netid, const char *netname,
                          const json_t *settings, struct berr **err) {
  _cleanup_free_ char *drv = net_driver_of(d->net, netid);
  bool user = !(strcmp(netname, "bridge") == 0 || is_builtin(drv));
  if (!user && json_array_size(json_object_get(settings, "Aliases")))
    return berr_set(err, EINVAL,
                    "network-scoped alias is supported only for containers in user defined "
                    "networks");
  const json_t *ipc = json_object_get(settings, "IPAMConfig");
  const char *ip = json_string_value(json_object_get(ipc, "IPv4Address"));
  const char *ip6 = json_string_value(json_object_get(ipc, "IPv6Address"));
  if (!user && ((ip && *ip) || (ip6 && *ip6)))
    return berr_set(err, EINVAL,
                    "user specified IP address is supported on user defined networks only");
  return 0;
}

/* Settings for the request: the user's, plus the short ID as an alias on
 * user-defined networks (as dockerd 20.10 does). New reference. */
static json_t *settings_for(struct daemon *d, const struct container *c, const char *netid,
                            const json_t *given) {
  json_t *s = json_is_object(given) ? json_deep_copy(given) : json_object();
  _cleanup_free_ char *drv = net_driver_of(d->net, netid);
  _cleanup_free_ char *name = NULL;
  net_lookup(d->net, netid, NULL, &name, NULL);
  if (plumbed(drv) && name && strcmp(name, "bridge") != 0) {
    json_t *al = json_object_get(s, "Aliases");
    if (!json_is_array(al)) {
      al = json_array();
      json_object_set_new(s, "Aliases", al);
    }
    json_array_append_new(al, json_stringn(c->id, 12));
  }
  return s;
}

static const json_t *endpoint_config(const json_t *body, const char *name, const char *id) {
  const json_t *ec = json_object_get(json_object_get(body, "NetworkingConfig"), "EndpointsConfig");
  const json_t *s = json_object_get(ec, name);
  return s ? s : json_object_get(ec, id);
}

int ctr_net_create(struct daemon *d, struct container *c, const json_t *body, struct berr **err) {
  const char *m = mode_network(d, mode_of(c->host_config));
  if (m == NULL || d->net == NULL)
    return 0;
  _cleanup_free_ char *id = NULL, *name = NULL;
  int rc = net_lookup(d->net, m, &id, &name, err);
  if (rc < 0)
    return rc;
  const json_t *given = endpoint_config(body, name, id);
  if ((rc = check_settings(d, id, name, given, err)) < 0)
    return rc;
  _cleanup_json_ json_t *s = settings_for(d, c, id, given);
  struct net_ep_req rq = {.container_id = c->id, .container_name = c->name,
                          .hostname = json_string_value(json_object_get(c->config, "Hostname")),
                          .network = id, .settings = s};
  return net_endpoint_attach(d->net, &rq, NULL, err);
}

/* the container's own --dns servers: the embedded DNS's upstreams (NULL
 * when none: the daemon's, else the host's) */
static char **dns_of(const json_t *hc) {
  char **v = NULL;
  size_t i;
  json_t *s;
  json_array_foreach(json_object_get(hc, "Dns"), i, s)
    if (json_is_string(s))
      v = strv_append(v, xstrdup(json_string_value(s)));
  return v;
}

/* /etc/hosts and /etc/resolv.conf with the endpoints' addresses; on a
 * user-defined network the resolver is the embedded DNS (127.0.0.11). */
static int write_etc(struct daemon *d, struct container *c, const json_t *cfg, const json_t *hc,
                     struct berr **err) {
  _cleanup_free_ char *host_resolv = NULL;
  (void)read_file("/etc/resolv.conf", &host_resolv, NULL, NULL);
  _cleanup_free_ char *hn = NULL, *hosts = NULL, *resolv = NULL;
  _cleanup_json_ json_t *ehc = spec_dns_defaults(d, hc);
  spec_etc_files(cfg, ehc, host_resolv, &hn, &hosts, &resolv);
  const char *h = json_string_value(json_object_get(cfg, "Hostname"));
  const char *dom = json_string_value(json_object_get(cfg, "Domainname"));
  _cleanup_free_ char *mine = net_hosts_lines(d->net, c->id, h ? h : "", dom);
  _cleanup_free_ char *all_hosts = xasprintf("%s%s", hosts, mine);
  _cleanup_free_ char *p = xasprintf("%s/hosts", c->root_dir);
  int rc = write_file_replace(p, all_hosts, strlen(all_hosts), 0644, err);
  if (rc < 0 || !net_container_user_network(d->net, c->id))
    return rc;
  /* keep search / options, point nameserver at the embedded DNS */
  _cleanup_free_ char *out = xstrdup("nameserver 127.0.0.11\n");
  bool have_opts = false;
  char *save = NULL;
  for (char *l = strtok_r(resolv, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    if (str_has_prefix(l, "nameserver"))
      continue;
    char *x = xasprintf("%s%s%s\n", out, l, str_has_prefix(l, "options") ? " ndots:0" : "");
    have_opts |= str_has_prefix(l, "options");
    free(out);
    out = x;
  }
  if (!have_opts) {
    char *x = xasprintf("%soptions ndots:0\n", out);
    free(out);
    out = x;
  }
  _cleanup_free_ char *rp = xasprintf("%s/resolv.conf", c->root_dir);
  return write_file_replace(rp, out, strlen(out), 0644, err);
}

/* Is any of the container's networks of a driver `pred` accepts? */
static bool any_driver(struct daemon *d, const json_t *rows, bool (*pred)(const char *drv)) {
  size_t i;
  json_t *r;
  json_array_foreach(rows, i, r) {
    _cleanup_free_ char *drv =
        net_driver_of(d->net, json_string_value(json_object_get(r, "network")));
    if (pred(drv))
      return true;
  }
  return false;
}

static bool needs_namespace(struct daemon *d, const json_t *rows) { return any_driver(d, rows, plumbed); }

static bool is_null(const char *drv) { return drv && strcmp(drv, "null") == 0; }

/* On "none" (the null driver). */
static bool on_null_network(struct daemon *d, const json_t *rows) { return any_driver(d, rows, is_null); }

/* --network none: dockerd's sandbox is a namespace whose lo is up (127.0.0.1
 * answers); a namespace the runtime made itself would have lo down. */
static int loopback_only(struct daemon *d, struct container *c, char **netns, struct berr **err) {
  net_netns_delete(d->net, c->id); /* one left by a run that ended while berthd was away */
  return net_netns_create(d->net, c->id, netns, err);
}

static void fill_req(struct net_ep_req *rq, const struct container *c, const json_t *cfg,
                     const json_t *hc) {
  rq->container_id = c->id;
  rq->container_name = c->name;
  rq->hostname = json_string_value(json_object_get(cfg, "Hostname"));
  rq->port_bindings = json_object_get(hc, "PortBindings");
  rq->exposed = json_object_get(cfg, "ExposedPorts");
  rq->publish_all = json_is_true(json_object_get(hc, "PublishAllPorts"));
  rq->mac = json_string_value(json_object_get(cfg, "MacAddress"));
}

/* Errors dockerd gives as they are (a port taken, an address taken, the
 * network gone): the rest say where they come from. */
static int start_failed(struct berr **err) {
  int code = err && *err ? (*err)->code : EIO;
  if (code == EEXIST || code == ENOENT || code == EINVAL || code == ENOSPC || code == EPERM ||
      code == EADDRINUSE)
    return -code;
  return berr_wrap(err, "failed to set up container networking");
}

int ctr_net_start(struct daemon *d, struct container *c, const json_t *cfg, const json_t *hc,
                  char **netns, struct berr **err) {
  if (d->net == NULL || str_has_prefix(mode_of(hc), "container:"))
    return 0;
  const char *m = mode_network(d, mode_of(hc));
  if (m && net_lookup(d->net, m, NULL, NULL, NULL) < 0) /* removed since create */
    return berr_set(err, ENOENT, "network %s not found", m);
  _cleanup_json_ json_t *rows = net_container_rows(d->net, c->id);
  if (!needs_namespace(d, rows))
    /* "none", or the default network of a daemon run with --bridge none */
    return on_null_network(d, rows) || m == NULL ? loopback_only(d, c, netns, err) : 0;
  net_container_stop(d->net, c->id); /* a run that ended while berthd was away */
  _cleanup_free_ char *path = NULL;
  int rc = net_netns_create(d->net, c->id, &path, err);
  if (rc < 0)
    return rc;
  size_t i;
  json_t *r;
  int idx = 0;
  json_array_foreach(rows, i, r) {
    const char *nid = json_string_value(json_object_get(r, "network"));
    _cleanup_free_ char *drv = net_driver_of(d->net, nid);
    if (!plumbed(drv))
      continue;
    struct net_ep_req rq = {.network = nid, .netns = path, .ifindex = idx, .publish = idx == 0,
                            .gateway = idx == 0};
    fill_req(&rq, c, cfg, hc);
    if ((rc = net_endpoint_attach(d->net, &rq, NULL, err)) < 0)
      break;
    idx++;
  }
  if (rc == 0 && (rc = write_etc(d, c, cfg, hc, err)) == 0 &&
      net_container_user_network(d->net, c->id)) {
    _cleanup_berr_ struct berr *e = NULL;
    _cleanup_strv_ char **ups = dns_of(hc);
    if (net_dns_serve(d->net, c->id, path, ups, &e) < 0)
      log_warn("container %s: embedded DNS: %s", c->id, e->msg);
  }
  if (rc < 0) {
    net_container_stop(d->net, c->id);
    net_netns_delete(d->net, c->id);
    return start_failed(err);
  }
  *netns = steal_ptr(path);
  return 0;
}

void ctr_net_stop(struct daemon *d, struct container *c) {
  if (d->net == NULL)
    return;
  net_container_stop(d->net, c->id);
  net_netns_delete(d->net, c->id);
}

void ctr_net_remove(struct daemon *d, struct container *c) {
  if (d->net == NULL)
    return;
  net_container_forget(d->net, c->id);
  net_netns_delete(d->net, c->id);
}

/* Ports: every exposed port (null when not published) and the bindings. */
static json_t *ports_json(struct daemon *d, const struct container *c) {
  json_t *p = net_container_ports(d->net, c->id);
  const char *k;
  json_t *v;
  json_object_foreach(json_object_get(c->config, "ExposedPorts"), k, v) {
    if (json_object_get(p, k) == NULL)
      json_object_set_new(p, k, json_null());
  }
  return p;
}

void ctr_net_inspect(struct daemon *d, const struct container *c, json_t *ns) {
  if (d->net == NULL || !json_is_object(ns))
    return;
  json_object_set_new(ns, "Networks", net_container_endpoints(d->net, c->id));
  bool running = c->state == CTR_RUNNING || c->state == CTR_PAUSED;
  if (!running || json_object_get(ns, "Ports") == NULL)
    return; /* the list's short form, or stopped: Docker shows {} */
  json_object_set_new(ns, "Ports", ports_json(d, c));
  _cleanup_free_ char *sk = net_netns_path(d->net, c->id);
  if (access(sk, F_OK) == 0) {
    json_object_set_new(ns, "SandboxKey", json_string(sk));
    json_object_set_new(ns, "SandboxID", json_string(c->id));
  }
  const json_t *br = json_object_get(json_object_get(ns, "Networks"), "bridge");
  static const char *const legacy[] = {"EndpointID", "Gateway", "IPAddress", "IPPrefixLen",
                                       "MacAddress", "GlobalIPv6Address", "GlobalIPv6PrefixLen",
                                       "IPv6Gateway", NULL};
  for (size_t i = 0; br && legacy[i]; i++)
    json_object_set(ns, legacy[i], json_object_get(br, legacy[i]));
}

void ctr_net_list(struct daemon *d, const struct container *c, json_t *entry) {
  if (d->net == NULL)
    return;
  ctr_net_inspect(d, c, json_object_get(entry, "NetworkSettings"));
  bool running = c->state == CTR_RUNNING || c->state == CTR_PAUSED;
  _cleanup_json_ json_t *ports = running ? ports_json(d, c) : json_object();
  json_t *arr = json_array();
  const char *k;
  json_t *v;
  json_object_foreach(ports, k, v) {
    int port = 0;
    char proto[8] = "tcp";
    if (ipam_port_key(k, &port, proto, sizeof(proto)) < 0)
      continue;
    if (!json_array_size(v))
      json_array_append_new(arr, json_pack("{s:i,s:s}", "PrivatePort", port, "Type", proto));
    size_t i;
    json_t *b;
    json_array_foreach(v, i, b) {
      int64_t hp = 0;
      parse_int64(json_string_value(json_object_get(b, "HostPort")), &hp);
      json_array_append_new(arr, json_pack("{s:O,s:i,s:I,s:s}", "IP", json_object_get(b, "HostIp"),
                                           "PrivatePort", port, "PublicPort", (json_int_t)hp,
                                           "Type", proto));
    }
  }
  json_object_set_new(entry, "Ports", arr);
}

void ctr_net_rename(struct daemon *d, const struct container *c, const char *name) {
  if (d->net)
    net_container_rename(d->net, c->id, name && name[0] == '/' ? name + 1 : name);
}

/* ---- connect / disconnect ---- */

static int count_active(struct daemon *d, const char *cid) {
  _cleanup_json_ json_t *rows = net_container_rows(d->net, cid);
  int k = 0;
  size_t i;
  json_t *r;
  json_array_foreach(rows, i, r) k += json_is_true(json_object_get(json_object_get(r, "doc"),
                                                                   "Active"));
  return k;
}

int ctr_net_connect(struct daemon *d, const char *network, const char *container,
                    const json_t *ec, struct berr **err) {
  struct container *c = NULL;
  int rc = ctr_get(d, container, &c, err);
  if (rc < 0)
    return rc;
  _cleanup_free_ char *id = NULL, *name = NULL;
  if ((rc = net_lookup(d->net, network, &id, &name, err)) < 0) {
    ctr_put(c);
    return rc;
  }
  pthread_mutex_lock(&c->lock);
  _cleanup_json_ json_t *cfg = json_deep_copy(c->config);
  _cleanup_json_ json_t *hc = json_deep_copy(c->host_config);
  bool running = c->state == CTR_RUNNING || c->state == CTR_PAUSED;
  pthread_mutex_unlock(&c->lock);
  const char *m = mode_of(hc);
  _cleanup_free_ char *drv = net_driver_of(d->net, id);
  if (strcmp(m, "host") == 0 || strcmp(m, "none") == 0 || str_has_prefix(m, "container:") ||
      is_builtin(drv)) {
    ctr_put(c);
    return berr_set(err, EPERM, "container sharing network namespace with another container or "
                                "host cannot be connected to any other network");
  }
  if ((rc = check_settings(d, id, name, ec, err)) < 0) {
    ctr_put(c);
    return rc;
  }
  _cleanup_json_ json_t *s = settings_for(d, c, id, ec);
  _cleanup_free_ char *ns = net_netns_path(d->net, c->id);
  bool live = running && access(ns, F_OK) == 0;
  struct net_ep_req rq = {.network = id, .settings = s, .netns = live ? ns : NULL};
  fill_req(&rq, c, cfg, hc);
  rq.ifindex = count_active(d, c->id);
  rq.gateway = rq.ifindex == 0;
  rc = net_endpoint_attach(d->net, &rq, NULL, err);
  if (rc == 0 && live) {
    _cleanup_berr_ struct berr *e = NULL;
    _cleanup_strv_ char **ups = dns_of(hc);
    if (write_etc(d, c, cfg, hc, &e) < 0 ||
        (net_container_user_network(d->net, c->id) && net_dns_serve(d->net, c->id, ns, ups, &e) < 0))
      log_warn("connect %s: %s", c->id, e->msg);
  }
  ctr_put(c);
  return rc;
}

int ctr_net_disconnect(struct daemon *d, const char *network, const char *container, bool force,
                       struct berr **err) {
  struct container *c = NULL;
  int rc = ctr_get(d, container, &c, err);
  if (rc < 0) {
    if (!force)
      return rc;
    berr_free(*err);
    *err = NULL;
    return 0;
  }
  pthread_mutex_lock(&c->lock);
  bool running = c->state == CTR_RUNNING || c->state == CTR_PAUSED;
  pthread_mutex_unlock(&c->lock);
  _cleanup_free_ char *ns = net_netns_path(d->net, c->id);
  rc = net_endpoint_detach(d->net, c->id, network, running && access(ns, F_OK) == 0 ? ns : NULL,
                           err);
  ctr_put(c);
  return rc;
}
