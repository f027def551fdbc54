/*
 * config.c — berthd's configuration: daemon.json merged with the command
 * line, validated the way dockerd validates it.
 *
 * One code path for both sources: main() turns the flags it saw into a JSON
 * object with daemon.json's key names, so the file and the flags are checked
 * against the same key table (name, type, field), and "set in both" is a key
 * present in both objects. Flags win only in the sense that a conflict is an
 * error, as in dockerd.
 *
 * Keys dockerd knows but berth does not act on (yet) are accepted with a
 * warning, so a daemon.json written for dockerd still starts berthd; keys
 * nobody knows are refused with dockerd's message.
 */
#include <errno.h>
#include <stddef.h>
#include <strings.h>

#include "daemon/containers.h"
#include "daemon/daemon.h"

enum ktype { K_BOOL, K_STR, K_STRV, K_OBJ, K_ARR };

struct key {
  const char *name;
  enum ktype type;
  size_t off;    /* offset in struct daemon_config */
  bool flag_only; /* berth's own flags, not daemon.json keys */
};

#define F(field) offsetof(struct daemon_config, field)
static const struct key keys[] = {
    {"data-root", K_STR, F(data_root)},
    {"exec-root", K_STR, F(exec_root)},
    {"pidfile", K_STR, F(pidfile)},
    {"hosts", K_STRV, F(hosts)},
    {"group", K_STR, F(group)},
    {"debug", K_BOOL, F(debug)},
    {"log-level", K_STR, F(log_level)},
    {"storage-driver", K_STR, F(storage_driver)},
    {"log-driver", K_STR, F(log_driver)},
    {"log-opts", K_OBJ, F(log_opts)},
    {"default-ulimits", K_OBJ, F(default_ulimits)},
    {"live-restore", K_BOOL, F(live_restore)},
    {"userland-proxy", K_BOOL, F(userland_proxy)},
    {"default-address-pools", K_ARR, F(default_address_pools)},
    {"insecure-registries", K_STRV, F(insecure_registries)},
    {"dns", K_STRV, F(dns)},
    {"dns-search", K_STRV, F(dns_search)},
    {"dns-opts", K_STRV, F(dns_opts)},
    {"registry-mirrors", K_STRV, F(registry_mirrors)},
    {"default-runtime", K_STR, F(default_runtime)},
    {"runtimes", K_OBJ, F(runtimes)},
    {"tls", K_BOOL, F(tls)},
    {"tlsverify", K_BOOL, F(tlsverify)},
    {"tlscacert", K_STR, F(tlscacert)},
    {"tlscert", K_STR, F(tlscert)},
    {"tlskey", K_STR, F(tlskey)},
    {"bridge", K_STR, F(bridge)},
    {"iptables", K_BOOL, F(iptables)},
    {"bip", K_STR, F(bip)},
    {"ipv6", K_BOOL, F(ipv6)},
    {"fixed-cidr-v6", K_STR, F(fixed_cidr_v6)},
    {"cgroup-parent", K_STR, F(cgroup_parent)},
    {"userns-remap", K_STR, F(userns_remap)},
    {"shim-path", K_STR, F(shim_path), true},
    {"runtime-path", K_STR, F(runtime_path), true},
};
#undef F

/* dockerd's keys that berth accepts and ignores (with a warning). */
static const char *const ignored[] = {
    "ip6tables", "fixed-cidr", "mtu", "ip", "ip-forward",
    "ip-masq", "icc", "storage-opts", "labels", "exec-opts", "features", "experimental",
    "max-concurrent-downloads", "max-concurrent-uploads", "max-download-attempts",
    "shutdown-timeout", "default-shm-size", "init",
    "init-path", "allow-nondistributable-artifacts", "containerd", "metrics-addr",
    "seccomp-profile", "selinux-enabled", "no-new-privileges", "default-cgroupns-mode",
    "default-ipc-mode", "oom-score-adjust", "raw-logs", "log-format",
    "authorization-plugins", "cluster-store", "cluster-advertise", "node-generic-resources",
    "swarm-default-advertise-addr", "default-gateway", "default-gateway-v6", "api-cors-header",
    "containerd-namespace", "containerd-plugin-namespace", NULL,
};

static const struct key *key_find(const char *name) {
  for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++)
    if (strcmp(keys[i].name, name) == 0)
      return &keys[i];
  return NULL;
}

static bool is_ignored(const char *name) {
  for (const char *const *p = ignored; *p; p++)
    if (strcmp(*p, name) == 0)
      return true;
  return false;
}

static const char *type_name(enum ktype t) {
  static const char *const n[] = {"a boolean", "a string", "a list of strings", "an object",
                                  "a list"};
  return n[t];
}

static const char *json_kind(const json_t *v) {
  switch (json_typeof(v)) {
  case JSON_OBJECT: return "an object";
  case JSON_ARRAY: return "a list";
  case JSON_STRING: return "a string";
  case JSON_INTEGER: case JSON_REAL: return "a number";
  case JSON_TRUE: case JSON_FALSE: return "a boolean";
  default: return "null";
  }
}

static bool type_ok(enum ktype t, const json_t *v) {
  switch (t) {
  case K_BOOL: return json_is_boolean(v);
  case K_STR: return json_is_string(v);
  case K_OBJ: return json_is_object(v);
  case K_ARR: return json_is_array(v);
  case K_STRV: {
    if (!json_is_array(v))
      return false;
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
      if (!json_is_string(e))
        return false;
    }
    return true;
  }
  }
  return false;
}

/* Go's %v of a JSON value, for the conflict message: [a b], true, text. */
static char *go_value(const json_t *v) {
  if (json_is_string(v))
    return xstrdup(json_string_value(v));
  if (json_is_array(v)) {
    char *s = xstrdup("[");
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
      _cleanup_free_ char *one = go_value(e);
      char *n = xasprintf("%s%s%s", s, i ? " " : "", one);
      free(s);
      s = n;
    }
    char *n = xasprintf("%s]", s);
    free(s);
    return n;
  }
  if (json_is_object(v)) {
    char *s = xstrdup("map[");
    const char *k;
    json_t *e;
    bool first = true;
    json_object_foreach((json_t *)v, k, e) {
      _cleanup_free_ char *one = go_value(e);
      char *n = xasprintf("%s%s%s:%s", s, first ? "" : " ", k, one);
      free(s);
      s = n;
      first = false;
    }
    char *n = xasprintf("%s]", s);
    free(s);
    return n;
  }
  return json_dump_compact(v);
}

/* The file's keys against the table and the flags; dockerd's messages. */
static int check_file(const json_t *file, const json_t *flags, const char *path,
                      struct berr **err) {
  _cleanup_free_ char *unknown = NULL, *conflicts = NULL;
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)file, k, v) {
    const struct key *key = key_find(k);
    if ((key == NULL || key->flag_only) && !is_ignored(k)) {
      char *n = xasprintf("%s%s%s", unknown ? unknown : "", unknown ? ", " : "", k);
      free(unknown);
      unknown = n;
      continue;
    }
    json_t *fv = flags ? json_object_get(flags, k) : NULL;
    if (fv) {
      _cleanup_free_ char *a = go_value(fv), *b = go_value(v);
      char *n = xasprintf("%s%s%s: (from flag: %s, from file: %s)", conflicts ? conflicts : "",
                          conflicts ? ", " : "", k, a, b);
      free(conflicts);
      conflicts = n;
    }
  }
  if (unknown)
    return berr_set(err, EINVAL,
                    "unable to configure the berth daemon with file %s: the following directives "
                    "don't match any configuration option: %s",
                    path, unknown);
  if (conflicts)
    return berr_set(err, EINVAL,
                    "unable to configure the berth daemon with file %s: the following directives "
                    "are specified both as a flag and in the configuration file: %s",
                    path, conflicts);
  return 0;
}

/* Set one field from a JSON value of the right type. */
static void set_field(struct daemon_config *c, const struct key *k, const json_t *v) {
  char *base = (char *)c + k->off;
  switch (k->type) {
  case K_BOOL:
    *(bool *)base = json_is_true(v);
    break;
  case K_STR:
    free(*(char **)base);
    *(char **)base = xstrdup(json_string_value(v));
    break;
  case K_STRV: {
    strv_free(*(char ***)base);
    char **sv = xcalloc(1, sizeof(char *));
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) sv = strv_append(sv, xstrdup(json_string_value(e)));
    *(char ***)base = sv;
    break;
  }
  case K_OBJ:
  case K_ARR:
    json_decref(*(json_t **)base);
    *(json_t **)base = json_deep_copy(v);
    break;
  }
}

/* Apply an object's keys (types checked, the key named in the error). */
static int apply(struct daemon_config *c, const json_t *obj, const char *origin,
                 struct berr **err) {
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)obj, k, v) {
    const struct key *key = key_find(k);
    if (key == NULL) {
      if (is_ignored(k))
        log_warn("%s: %s is not supported by berth; ignored", origin, k);
      continue;
    }
    if (!type_ok(key->type, v))
      return berr_set(err, EINVAL, "%s: %s must be %s, not %s", origin, k, type_name(key->type),
                      json_kind(v));
    set_field(c, key, v);
  }
  return 0;
}

int config_log_level(const char *name, enum log_level *out) {
  static const struct {
    const char *name;
    enum log_level level;
  } levels[] = {{"debug", LOG_DEBUG}, {"trace", LOG_DEBUG}, {"info", LOG_INFO},
                {"warn", LOG_WARN},   {"warning", LOG_WARN}, {"error", LOG_ERROR},
                {"fatal", LOG_ERROR}, {"panic", LOG_ERROR}};
  for (size_t i = 0; i < sizeof(levels) / sizeof(*levels); i++)
    if (strcasecmp(levels[i].name, name) == 0) {
      *out = levels[i].level;
      return 0;
    }
  return -EINVAL;
}

static int check_log_opts(const struct daemon_config *c, struct berr **err) {
  static const char *const drivers[] = {"json-file", "local", "none", NULL};
  bool known = false;
  for (const char *const *d = drivers; *d && !known; d++)
    known = strcmp(*d, c->log_driver) == 0;
  if (!known)
    return berr_set(err, EINVAL, "logging driver not supported by berth: %s (json-file, local, none)",
                    c->log_driver);
  const char *k;
  json_t *v;
  json_object_foreach(c->log_opts, k, v) {
    if (!json_is_string(v))
      return berr_set(err, EINVAL, "log-opts: %s must be a string, not %s", k, json_kind(v));
    const char *s = json_string_value(v);
    int64_t n;
    if (strcmp(k, "max-size") == 0) {
      if (parse_size_bytes(s, &n) < 0 || (n < 1 && n != -1))
        return berr_set(err, EINVAL, "log-opts: invalid max-size: %s", s);
    } else if (strcmp(k, "max-file") == 0) {
      if (parse_int64(s, &n) < 0)
        return berr_set(err, EINVAL, "log-opts: invalid max-file: %s", s);
      if (n < 1)
        return berr_set(err, EINVAL, "max-file cannot be less than 1");
    } else if (strcmp(k, "compress") == 0 || strcmp(k, "labels") == 0 ||
               strcmp(k, "labels-regex") == 0 || strcmp(k, "env") == 0 ||
               strcmp(k, "env-regex") == 0 || strcmp(k, "tag") == 0 || strcmp(k, "mode") == 0 ||
               strcmp(k, "max-buffer-size") == 0) {
      continue;
    } else {
      return berr_set(err, EINVAL, "unknown log opt '%s' for %s log driver", k, c->log_driver);
    }
  }
  return 0;
}

static int check_runtimes(const struct daemon_config *c, struct berr **err) {
  const char *k;
  json_t *v;
  json_object_foreach(c->runtimes, k, v) {
    if (strcmp(k, "berth-runc") == 0 || strcmp(k, "runc") == 0)
      return berr_set(err, EINVAL, "runtime name '%s' is reserved", k);
    if (!json_is_object(v) || !json_is_string(json_object_get(v, "path")))
      return berr_set(err, EINVAL, "runtimes: %s: a \"path\" (string) is required", k);
    json_t *args = json_object_get(v, "runtimeArgs");
    if (args && !type_ok(K_STRV, args))
      return berr_set(err, EINVAL, "runtimes: %s: runtimeArgs must be a list of strings", k);
  }
  if (config_runtime_path(c, c->default_runtime) == NULL)
    return berr_set(err, EINVAL, "specified default runtime '%s' does not exist",
                    c->default_runtime);
  return 0;
}

static int check_ulimits(const struct daemon_config *c, struct berr **err) {
  const char *k;
  json_t *v;
  json_object_foreach(c->default_ulimits, k, v) {
    if (!json_is_object(v) || !json_is_integer(json_object_get(v, "Soft")) ||
        !json_is_integer(json_object_get(v, "Hard")))
      return berr_set(err, EINVAL,
                      "default-ulimits: %s must be {\"Name\":\"%s\",\"Soft\":N,\"Hard\":N}", k, k);
    if (json_integer_value(json_object_get(v, "Soft")) >
        json_integer_value(json_object_get(v, "Hard")))
      return berr_set(err, EINVAL, "default-ulimits: %s: soft limit is above the hard limit", k);
  }
  return 0;
}

static int check_hosts(const struct daemon_config *c, struct berr **err) {
  for (char **h = c->hosts; h && *h; h++) {
    if (str_has_prefix(*h, "unix://") ? (*h)[7] != '/'
                                      : !str_has_prefix(*h, "tcp://") || !strchr(*h + 6, ':'))
      return berr_set(err, EINVAL, "invalid host %s: use unix:///path or tcp://host:port", *h);
  }
  return 0;
}

/* Cross-key checks and defaults of the merged result. */
static int finish(struct daemon_config *c, struct berr **err) {
  enum log_level lvl;
  if (c->log_level && config_log_level(c->log_level, &lvl) < 0)
    return berr_set(err, EINVAL, "unable to parse logging level: %s", c->log_level);
  if (strcmp(c->storage_driver, "overlay2") != 0)
    return berr_set(err, EINVAL, "storage-driver %s is not supported by berth (overlay2 only)",
                    c->storage_driver);
  if (c->data_root[0] != '/' || c->exec_root[0] != '/')
    return berr_set(err, EINVAL, "data-root and exec-root must be absolute paths");
  if (c->tlsverify)
    c->tls = true;
  int rc;
  if ((rc = check_log_opts(c, err)) < 0 || (rc = check_runtimes(c, err)) < 0 ||
      (rc = check_ulimits(c, err)) < 0 || (rc = check_hosts(c, err)) < 0)
    return rc;
  if (c->pidfile == NULL)
    c->pidfile = xasprintf("%s/berthd.pid", c->exec_root);
  if (c->hosts == NULL || c->hosts[0] == NULL) {
    strv_free(c->hosts);
    c->hosts = strv_append(NULL, xasprintf("unix://%s/berth.sock", c->exec_root));
  }
  return 0;
}

static void defaults(struct daemon_config *c) {
  c->data_root = xstrdup("/var/lib/berth");
  c->exec_root = xstrdup("/run/berth");
  c->group = xstrdup("berth");
  c->storage_driver = xstrdup("overlay2");
  c->log_driver = xstrdup("json-file");
  c->log_opts = json_object();
  c->default_ulimits = json_object();
  c->userland_proxy = true;
  c->iptables = true;
  c->default_address_pools = json_array();
  c->insecure_registries = xcalloc(1, sizeof(char *));
  c->dns = xcalloc(1, sizeof(char *));
  c->dns_search = xcalloc(1, sizeof(char *));
  c->dns_opts = xcalloc(1, sizeof(char *));
  c->registry_mirrors = xcalloc(1, sizeof(char *));
  c->default_runtime = xstrdup("berth-runc");
  c->runtimes = json_object();
  c->cgroup_parent = xstrdup("/berth");
}

int config_build(struct daemon_config *c, const char *file, bool file_required,
                 const json_t *flags, struct berr **err) {
  defaults(c);
  c->config_file = xstrdup(file ? file : "/etc/berth/daemon.json");
  c->cmdline = flags ? json_deep_copy(flags) : json_object();
  _cleanup_json_ json_t *fj = NULL;
  if (file_required || path_exists(c->config_file)) {
    int rc = json_load_path(c->config_file, &fj, err);
    if (rc < 0)
      return berr_wrap(err, "unable to configure the berth daemon with file %s", c->config_file);
    if (!json_is_object(fj))
      return berr_set(err, EINVAL,
                      "unable to configure the berth daemon with file %s: not a JSON object",
                      c->config_file);
    if ((rc = check_file(fj, flags, c->config_file, err)) < 0 ||
        (rc = apply(c, fj, c->config_file, err)) < 0)
      return rc;
  }
  int rc = apply(c, c->cmdline, "flags", err);
  if (rc < 0)
    return rc;
  return finish(c, err);
}

void config_free(struct daemon_config *c) {
  for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++) {
    char *base = (char *)c + keys[i].off;
    if (keys[i].type == K_STR)
      free(*(char **)base);
    else if (keys[i].type == K_STRV)
      strv_free(*(char ***)base);
    else if (keys[i].type == K_OBJ || keys[i].type == K_ARR)
      json_decref(*(json_t **)base);
  }
  free(c->config_file);
  json_decref(c->cmdline);
  memset(c, 0, sizeof(*c));
}

const char *config_runtime_path(const struct daemon_config *c, const char *name) {
  if (name == NULL)
    return NULL;
  if (strcmp(name, "berth-runc") == 0)
    return c->runtime_path ? c->runtime_path : "berth-runc";
  if (strcmp(name, "runc") == 0)
    return "runc";
  return json_string_value(json_object_get(json_object_get(c->runtimes, name), "path"));
}

#define SWAP(field)                                                                                \
  do {                                                                                             \
    __typeof__(d->cfg.field) t_ = d->cfg.field;                                                    \
    d->cfg.field = n.field;                                                                        \
    n.field = t_;                                                                                  \
  } while (0)

int config_reload(struct daemon *d, struct berr **err) {
  struct daemon_config n = {0};
  pthread_mutex_lock(&d->cfg_lock);
  _cleanup_free_ char *file = xstrdup(d->cfg.config_file);
  _cleanup_json_ json_t *flags = json_incref(d->cfg.cmdline);
  pthread_mutex_unlock(&d->cfg_lock);
  /* the file must exist at reload only if it was asked for by flag */
  int rc = config_build(&n, file, false, flags, err);
  if (rc < 0) {
    config_free(&n);
    return berr_wrap(err, "reload");
  }
  pthread_mutex_lock(&d->cfg_lock);
  n.runtime_path = steal_ptr(n.runtime_path);
  SWAP(debug);
  SWAP(log_level);
  SWAP(live_restore);
  SWAP(insecure_registries);
  SWAP(dns);
  SWAP(dns_search);
  SWAP(dns_opts);
  SWAP(registry_mirrors);
  SWAP(default_runtime);
  SWAP(runtimes);
  SWAP(log_driver);
  SWAP(log_opts);
  SWAP(default_ulimits);
  bool debug = d->cfg.debug;
  _cleanup_free_ char *level = d->cfg.log_level ? xstrdup(d->cfg.log_level) : NULL;
  pthread_mutex_unlock(&d->cfg_lock);
  config_free(&n);
  enum log_level lvl = LOG_INFO;
  if (level)
    config_log_level(level, &lvl);
  if (debug)
    lvl = LOG_DEBUG;
  log_open(NULL, LOG_TEXT, lvl, NULL);
  log_info("reloaded configuration from %s", file);
  json_t *attrs = json_pack("{s:s, s:s}", "name", "berthd", "config-file", file);
  events_publish(d->events, "daemon", "reload", d->id, attrs);
  return 0;
}
