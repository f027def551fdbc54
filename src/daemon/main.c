/*
 * berthd — the Engine API daemon's main: dockerd's command line, the start
 * sequence, signals and the orderly stop.
 *
 * Start: flags → daemon.json merge (config.c) → refuse when the pidfile names
 * a live berthd → dirs → pidfile → store, DB, engine ID → events → container
 * manager (recovery) → listeners → serve. Signals are blocked in every thread
 * and taken by one sigwait thread, which only asks for work: SIGTERM/SIGINT
 * stop the server (main then shuts the rest down in reverse order), SIGHUP
 * reloads daemon.json. Nothing runs in a signal handler.
 *
 * The flags are turned into a JSON object with daemon.json's key names, so
 * config.c checks both sources against one key table and can name a key set in
 * both, as dockerd does.
 */
#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "build/build.h"
#include "daemon/containers.h"
#include "daemon/daemon.h"
#include "daemon/userns.h"
#include "net/net.h"
#include "registry/registry.h"
#include "volume/volume.h"

#define SIG_QUIT_THREAD SIGUSR2 /* main → signal thread: end */

enum {
  OPT_CONFIG_FILE = 256, OPT_DATA_ROOT, OPT_EXEC_ROOT, OPT_STORAGE_DRIVER, OPT_LOG_DRIVER,
  OPT_LOG_OPT, OPT_DEFAULT_ULIMIT, OPT_LIVE_RESTORE, OPT_INSECURE_REGISTRY, OPT_REGISTRY_MIRROR,
  OPT_DEFAULT_RUNTIME, OPT_ADD_RUNTIME, OPT_TLS, OPT_TLSVERIFY, OPT_TLSCACERT, OPT_TLSCERT,
  OPT_TLSKEY, OPT_IPTABLES, OPT_IP6TABLES, OPT_USERLAND_PROXY, OPT_CGROUP_PARENT, OPT_SHIM_PATH,
  OPT_RUNTIME_PATH, OPT_HELP, OPT_BIP, OPT_DNS, OPT_DNS_SEARCH, OPT_DNS_OPT,
  OPT_IPV6, OPT_FIXED_CIDR_V6, OPT_USERNS_REMAP,
};

static const struct option long_opts[] = {
    {"config-file", required_argument, NULL, OPT_CONFIG_FILE},
    {"data-root", required_argument, NULL, OPT_DATA_ROOT},
    {"exec-root", required_argument, NULL, OPT_EXEC_ROOT},
    {"host", required_argument, NULL, 'H'},
    {"group", required_argument, NULL, 'G'},
    {"debug", optional_argument, NULL, 'D'},
    {"log-level", required_argument, NULL, 'l'},
    {"pidfile", required_argument, NULL, 'p'},
    {"storage-driver", required_argument, NULL, 's'},
    {"log-driver", required_argument, NULL, OPT_LOG_DRIVER},
    {"log-opt", required_argument, NULL, OPT_LOG_OPT},
    {"default-ulimit", required_argument, NULL, OPT_DEFAULT_ULIMIT},
    {"live-restore", optional_argument, NULL, OPT_LIVE_RESTORE},
    {"insecure-registry", required_argument, NULL, OPT_INSECURE_REGISTRY},
    {"registry-mirror", required_argument, NULL, OPT_REGISTRY_MIRROR},
    {"default-runtime", required_argument, NULL, OPT_DEFAULT_RUNTIME},
    {"add-runtime", required_argument, NULL, OPT_ADD_RUNTIME},
    {"tls", optional_argument, NULL, OPT_TLS},
    {"tlsverify", optional_argument, NULL, OPT_TLSVERIFY},
    {"tlscacert", required_argument, NULL, OPT_TLSCACERT},
    {"tlscert", required_argument, NULL, OPT_TLSCERT},
    {"tlskey", required_argument, NULL, OPT_TLSKEY},
    {"bridge", required_argument, NULL, 'b'},
    {"iptables", optional_argument, NULL, OPT_IPTABLES},
    {"bip", required_argument, NULL, OPT_BIP},
    {"dns", required_argument, NULL, OPT_DNS},
    {"dns-search", required_argument, NULL, OPT_DNS_SEARCH},
    {"dns-opt", required_argument, NULL, OPT_DNS_OPT},
    {"ip6tables", optional_argument, NULL, OPT_IP6TABLES},
    {"ipv6", optional_argument, NULL, OPT_IPV6},
    {"fixed-cidr-v6", required_argument, NULL, OPT_FIXED_CIDR_V6},
    {"userns-remap", required_argument, NULL, OPT_USERNS_REMAP},
    {"userland-proxy", optional_argument, NULL, OPT_USERLAND_PROXY},
    {"cgroup-parent", required_argument, NULL, OPT_CGROUP_PARENT},
    {"shim-path", required_argument, NULL, OPT_SHIM_PATH},
    {"runtime-path", required_argument, NULL, OPT_RUNTIME_PATH},
    {"version", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static const char usage[] =
    "Usage:\tberthd [OPTIONS]\n\n"
    "A self-sufficient runtime for containers, speaking the Docker Engine API.\n\n"
    "Options:\n"
    "      --add-runtime name=path    Register an additional OCI runtime\n"
    "      --bip string               Specify network bridge IP\n"
    "  -b, --bridge string            Attach containers to a network bridge (\"none\")\n"
    "      --cgroup-parent string     Parent cgroup for all containers (default /berth)\n"
    "      --config-file string       Daemon configuration file (default /etc/berth/daemon.json)\n"
    "      --data-root string         Root directory of persistent state (default /var/lib/berth)\n"
    "  -D, --debug                    Enable debug mode\n"
    "      --dns list                 DNS server to use\n"
    "      --dns-opt list             DNS options to use\n"
    "      --dns-search list          DNS search domains to use\n"
    "      --default-runtime string   Default OCI runtime for containers (default berth-runc)\n"
    "      --default-ulimit ulimit    Default ulimits for containers (name=soft[:hard])\n"
    "      --exec-root string         Root directory for execution state (default /run/berth)\n"
    "      --fixed-cidr-v6 string     IPv6 subnet for the default bridge's containers\n"
    "  -G, --group string             Group for the unix socket (default \"berth\")\n"
    "  -H, --host list                Daemon socket(s) to listen on (unix://, tcp://)\n"
    "      --insecure-registry list   Enable insecure registry communication\n"
    "      --iptables, --ip6tables    Enable iptables rules (default true)\n"
    "      --ipv6                     Enable IPv6 networking on the default bridge\n"
    "      --live-restore             Keep containers running while berthd is down\n"
    "      --log-driver string        Default log driver for containers (default json-file)\n"
    "      --log-opt map              Default log driver options for containers\n"
    "  -l, --log-level string         Logging level (debug, info, warn, error, fatal)\n"
    "  -p, --pidfile string           Path of the daemon's PID file (default <exec-root>/berthd.pid)\n"
    "      --registry-mirror list     Preferred registry mirror\n"
    "      --runtime-path string      berth-runc to use (default: next to berthd)\n"
    "      --shim-path string         berth-shim to use (default: next to berthd)\n"
    "  -s, --storage-driver string    Storage driver to use (overlay2)\n"
    "      --tls                      Use TLS; implied by --tlsverify\n"
    "      --tlscacert string         Trust certs signed only by this CA\n"
    "      --tlscert string           Path to TLS certificate file\n"
    "      --tlskey string            Path to TLS key file\n"
    "      --tlsverify                Use TLS and verify the remote\n"
    "      --userland-proxy           Use userland proxy for loopback traffic (default true)\n"
    "      --userns-remap string      User/Group setting for user namespaces\n"
    "  -v, --version                  Print version information and quit\n";

/* ------------------------------------------------------------- flags ---- */

static int flag_bool(const char *name, const char *arg, bool *out) {
  if (arg == NULL || strcasecmp(arg, "true") == 0 || strcmp(arg, "1") == 0) {
    *out = true;
    return 0;
  }
  if (strcasecmp(arg, "false") == 0 || strcmp(arg, "0") == 0) {
    *out = false;
    return 0;
  }
  fprintf(stderr, "invalid argument \"%s\" for \"--%s\" flag: strconv.ParseBool: parsing \"%s\": "
                  "invalid syntax\n",
          arg, name, arg);
  return -EINVAL;
}

static void flag_append(json_t *flags, const char *key, const char *value) {
  json_t *a = json_object_get(flags, key);
  if (a == NULL) {
    a = json_array();
    json_object_set_new(flags, key, a);
  }
  json_array_append_new(a, json_string(value));
}

static json_t *flag_object(json_t *flags, const char *key) {
  json_t *o = json_object_get(flags, key);
  if (o == NULL) {
    o = json_object();
    json_object_set_new(flags, key, o);
  }
  return o;
}

/* "name=value" → key/value, or an error naming the flag. */
static int split_kv(const char *flag, const char *arg, char **k, const char **v) {
  const char *eq = strchr(arg, '=');
  if (eq == NULL || eq == arg) {
    fprintf(stderr, "invalid argument \"%s\" for \"--%s\" flag: expected name=value\n", arg, flag);
    return -EINVAL;
  }
  *k = strndup(arg, (size_t)(eq - arg));
  *v = eq + 1;
  return 0;
}

/* --default-ulimit nofile=1024[:2048] → {"Name":"nofile","Soft":1024,"Hard":2048} */
static int flag_ulimit(json_t *flags, const char *arg) {
  _cleanup_free_ char *name = NULL;
  const char *v;
  if (split_kv("default-ulimit", arg, &name, &v) < 0)
    return -EINVAL;
  const char *colon = strchr(v, ':');
  _cleanup_free_ char *soft_s = colon ? strndup(v, (size_t)(colon - v)) : xstrdup(v);
  int64_t soft, hard;
  if (parse_int64(soft_s, &soft) < 0 || parse_int64(colon ? colon + 1 : v, &hard) < 0) {
    fprintf(stderr, "invalid argument \"%s\" for \"--default-ulimit\" flag: invalid ulimit\n", arg);
    return -EINVAL;
  }
  json_object_set_new(flag_object(flags, "default-ulimits"), name,
                      json_pack("{s:s, s:I, s:I}", "Name", name, "Hard", (json_int_t)hard, "Soft",
                                (json_int_t)soft));
  return 0;
}

static int flag_one(json_t *flags, int opt, const char *arg, const char **config_file,
                    bool *show_version) {
  static const struct {
    int opt;
    const char *key;
  } strs[] = {{OPT_DATA_ROOT, "data-root"},         {OPT_EXEC_ROOT, "exec-root"},
              {'G', "group"},                       {'l', "log-level"},
              {'p', "pidfile"},                     {'s', "storage-driver"},
              {OPT_LOG_DRIVER, "log-driver"},       {OPT_DEFAULT_RUNTIME, "default-runtime"},
              {OPT_TLSCACERT, "tlscacert"},         {OPT_TLSCERT, "tlscert"},
              {OPT_TLSKEY, "tlskey"},               {'b', "bridge"},
              {OPT_CGROUP_PARENT, "cgroup-parent"}, {OPT_SHIM_PATH, "shim-path"},
              {OPT_RUNTIME_PATH, "runtime-path"}, {OPT_BIP, "bip"},
              {OPT_FIXED_CIDR_V6, "fixed-cidr-v6"}, {OPT_USERNS_REMAP, "userns-remap"}};
  static const struct {
    int opt;
    const char *key;
  } bools[] = {{'D', "debug"},          {OPT_LIVE_RESTORE, "live-restore"}, {OPT_TLS, "tls"},
               {OPT_TLSVERIFY, "tlsverify"}, {OPT_IPTABLES, "iptables"},
               {OPT_USERLAND_PROXY, "userland-proxy"}, {OPT_IPV6, "ipv6"}};
  for (size_t i = 0; i < sizeof(strs) / sizeof(*strs); i++)
    if (strs[i].opt == opt) {
      json_object_set_new(flags, strs[i].key, json_string(arg));
      return 0;
    }
  for (size_t i = 0; i < sizeof(bools) / sizeof(*bools); i++)
    if (bools[i].opt == opt) {
      bool b;
      if (flag_bool(bools[i].key, arg, &b) < 0)
        return -EINVAL;
      json_object_set_new(flags, bools[i].key, json_boolean(b));
      return 0;
    }
  _cleanup_free_ char *k = NULL;
  const char *v;
  bool ignored;
  switch (opt) {
  case OPT_CONFIG_FILE: *config_file = arg; return 0;
  case 'H': flag_append(flags, "hosts", arg); return 0;
  case OPT_INSECURE_REGISTRY: flag_append(flags, "insecure-registries", arg); return 0;
  case OPT_DNS: flag_append(flags, "dns", arg); return 0;
  case OPT_DNS_SEARCH: flag_append(flags, "dns-search", arg); return 0;
  case OPT_DNS_OPT: flag_append(flags, "dns-opts", arg); return 0;
  case OPT_REGISTRY_MIRROR: flag_append(flags, "registry-mirrors", arg); return 0;
  case OPT_IP6TABLES: return flag_bool("ip6tables", arg, &ignored);
  case OPT_DEFAULT_ULIMIT: return flag_ulimit(flags, arg);
  case 'v': *show_version = true; return 0;
  case OPT_LOG_OPT:
    if (split_kv("log-opt", arg, &k, &v) < 0)
      return -EINVAL;
    json_object_set_new(flag_object(flags, "log-opts"), k, json_string(v));
    return 0;
  case OPT_ADD_RUNTIME:
    if (split_kv("add-runtime", arg, &k, &v) < 0)
      return -EINVAL;
    json_object_set_new(flag_object(flags, "runtimes"), k, json_pack("{s:s}", "path", v));
    return 0;
  default:
    return -EINVAL;
  }
}

/* Parse argv: 0, 1 when berthd should just exit 0 (--help, --version), or
 * -EINVAL (usage printed). */
static int parse_flags(int argc, char **argv, json_t *flags, const char **config_file,
                       bool *config_explicit) {
  bool show_version = false;
  int opt;
  opterr = 0;
  while ((opt = getopt_long(argc, argv, "H:G:Dl:p:s:b:v", long_opts, NULL)) != -1) {
    if (opt == OPT_HELP) {
      fputs(usage, stdout);
      return 1;
    }
    if (opt == '?' || opt == ':') {
      fprintf(stderr, "unknown flag: %s\nSee 'berthd --help'.\n", argv[optind - 1]);
      return -EINVAL;
    }
    if (opt == OPT_CONFIG_FILE)
      *config_explicit = true;
    if (flag_one(flags, opt, optarg, config_file, &show_version) < 0)
      return -EINVAL;
  }
  if (optind < argc) {
    fprintf(stderr, "berthd: unexpected argument %s\nSee 'berthd --help'.\n", argv[optind]);
    return -EINVAL;
  }
  if (show_version) {
    printf("berth version %s, build %s\n", BERTH_VERSION,
#ifdef BERTH_GIT_COMMIT
           BERTH_GIT_COMMIT
#else
           "unknown"
#endif
    );
    return 1;
  }
  return 0;
}

/* ------------------------------------------------------------ start-up ---- */

/* berth-shim / berth-runc: next to berthd, or where the build tree puts them
 * (src/daemon/berthd, src/shim/berth-shim, src/berth-runc). Caller frees. */
static char *sibling(const char *name, const char *build_rel) {
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n <= 0)
    return xstrdup(name);
  exe[n] = '\0';
  const char *dir = dirname(exe);
  char *p = xasprintf("%s/%s", dir, name);
  if (access(p, X_OK) == 0)
    return p;
  free(p);
  p = xasprintf("%s/%s", dir, build_rel);
  if (access(p, X_OK) == 0)
    return p;
  free(p);
  return xasprintf("%s/%s", dir, name);
}

/* Refuse to start beside a live berthd; then write our pid. */
static int pidfile_take(const char *path, struct berr **err) {
  _cleanup_free_ char *old = NULL;
  if (read_file(path, &old, NULL, NULL) == 0) {
    int64_t pid = 0;
    old[strcspn(old, "\n")] = '\0';
    if (parse_int64(old, &pid) == 0 && pid > 0 && pid != getpid() && kill((pid_t)pid, 0) == 0) {
      _cleanup_free_ char *comm = NULL, *cp = xasprintf("/proc/%lld/comm", (long long)pid);
      if (read_file(cp, &comm, NULL, NULL) == 0 && strncmp(comm, "berthd", 6) == 0)
        return berr_set(err, EEXIST,
                        "pid file found, ensure berthd is not running or delete %s", path);
    }
  }
  _cleanup_free_ char *dir = xstrdup(path);
  int rc = mkdir_p(dirname(dir), 0755, err);
  if (rc < 0)
    return rc;
  _cleanup_free_ char *pid = xasprintf("%d\n", getpid());
  return write_file_replace(path, pid, strlen(pid), 0644, err);
}

/* A stable engine ID in <data-root>/engine-id (a random UUID, once). */
static int engine_id(const char *data_root, char **out, struct berr **err) {
  _cleanup_free_ char *path = xasprintf("%s/engine-id", data_root);
  _cleanup_free_ char *id = NULL;
  if (read_file(path, &id, NULL, NULL) == 0) {
    id[strcspn(id, "\n")] = '\0';
    if (*id) {
      *out = steal_ptr(id);
      return 0;
    }
  }
  free(id);
  id = NULL;
  int rc = read_file("/proc/sys/kernel/random/uuid", &id, NULL, err);
  if (rc < 0)
    return rc;
  id[strcspn(id, "\n")] = '\0';
  rc = write_file_atomic(path, id, strlen(id), 0600, err);
  if (rc < 0)
    return rc;
  *out = steal_ptr(id);
  return 0;
}

static int listen_all(struct daemon *d, struct berr **err) {
  struct daemon_config *c = &d->cfg;
  struct http_tls_opts tls = {.cert = c->tlscert, .key = c->tlskey, .ca = c->tlscacert,
                              .verify = c->tlsverify};
  for (char **h = c->hosts; *h; h++) {
    int rc;
    if (str_has_prefix(*h, "unix://")) {
      rc = http_server_listen_unix(d->http, *h + 7, 0660, c->group, err);
    } else {
      if (!c->tls)
        log_warn("binding to %s without --tlsverify is insecure: anyone who can reach it has "
                 "root on this machine",
                 *h);
      rc = http_server_listen_tcp(d->http, *h + 6, c->tls ? &tls : NULL, err);
    }
    if (rc < 0)
      return rc;
    log_info("API listen on %s", str_has_prefix(*h, "unix://") ? *h + 7 : *h + 6);
  }
  return 0;
}

static void set_log_level(const struct daemon_config *c) {
  enum log_level lvl = LOG_INFO;
  if (c->log_level)
    config_log_level(c->log_level, &lvl);
  if (c->debug)
    lvl = LOG_DEBUG;
  log_open(NULL, LOG_TEXT, lvl, NULL);
}

static int daemon_open(struct daemon *d, bool *took_pidfile, struct berr **err) {
  struct daemon_config *c = &d->cfg;
  int rc;
  if ((rc = mkdir_p(c->data_root, 0711, err)) < 0 || (rc = mkdir_p(c->exec_root, 0700, err)) < 0)
    return rc;
  if ((rc = pidfile_take(c->pidfile, err)) < 0)
    return rc;
  *took_pidfile = true;
  if ((rc = userns_daemon_setup(d, err)) < 0) /* userns.c: may move c->data_root */
    return rc;
  if ((rc = store_open(c->data_root, &d->store, err)) < 0)
    return berr_wrap(err, "open the image store in %s", c->data_root);
  if (d->userns) /* containers' rootfs through idmapped layers (userns.c) */
    store_set_idmap(d->store, d->userns->ns_fd, d->userns->root_uid, d->userns->root_gid);
  _cleanup_free_ char *dbp = xasprintf("%s/berthd.db", c->data_root);
  if ((rc = db_open(dbp, NULL, &d->db, err)) < 0)
    return rc;
  if ((rc = engine_id(c->data_root, &d->id, err)) < 0)
    return rc;
  if ((rc = volumes_open(c->data_root, &d->volumes, err)) < 0)
    return rc;
  struct net_config nc = {.bridge = c->bridge, .bip = c->bip, .iptables = c->iptables,
                          .userland_proxy = c->userland_proxy,
                          .pools = c->default_address_pools, .exec_root = c->exec_root,
                          .dns = c->dns, .ipv6 = c->ipv6, .fixed_cidr_v6 = c->fixed_cidr_v6};
  if ((rc = net_open(&nc, d->db, &d->net, err)) < 0)
    return berr_wrap(err, "networking");
  if ((rc = registry_new(&d->registry, err)) < 0) /* the distribution client (routes_distribution.c) */
    return rc;
  if ((rc = builder_new(d->store, d->db, c->data_root, &d->builder, err)) < 0) /* routes_build.c */
    return berr_wrap(err, "builder");
  events_new(&d->events);
  d->http = http_server_new(d);
  http_server_add_routes(d->http, routes_system);
  http_server_add_routes(d->http, routes_images);
  http_server_add_routes(d->http, routes_containers);
  http_server_add_routes(d->http, routes_exec);
  http_server_add_routes(d->http, routes_container_ops);
  http_server_add_routes(d->http, routes_distribution);
  http_server_add_routes(d->http, routes_volumes);
  http_server_add_routes(d->http, routes_networks);
  http_server_add_routes(d->http, routes_build);
  if ((rc = containers_init(d, err)) < 0)
    return berr_wrap(err, "restore containers");
  return listen_all(d, err);
}

static void daemon_close(struct daemon *d, bool took_pidfile) {
  /* end the /events streams, then the connections (their handlers may use
   * the container manager), then the manager */
  if (d->events)
    events_close(d->events);
  http_server_free(d->http); /* waits up to 2 s for handlers; removes the sockets */
  if (d->ctrs || d->store)
    containers_shutdown(d);
  volumes_close(d->volumes); /* after the containers: their stops release volumes */
  net_close(d->net);         /* after the containers: removes berthd's nftables table */
  registry_free(d->registry);
  builder_free(d->builder);
  events_free(d->events);
  if (d->db)
    db_close(d->db);
  if (d->store)
    store_close(d->store);
  if (took_pidfile && d->cfg.pidfile)
    unlink(d->cfg.pidfile);
  free(d->id);
  userns_free(d->userns);
  config_free(&d->cfg);
  pthread_mutex_destroy(&d->cfg_lock);
}

/* ------------------------------------------------------------- signals ---- */

static void *signal_thread(void *arg) {
  struct daemon *d = arg;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIG_QUIT_THREAD);
  for (;;) {
    int sig;
    if (sigwait(&set, &sig) != 0)
      continue;
    if (sig == SIG_QUIT_THREAD)
      return NULL;
    if (sig == SIGHUP) {
      _cleanup_berr_ struct berr *err = NULL;
      if (config_reload(d, &err) < 0)
        log_error("%s", err->msg);
      continue;
    }
    log_info("Processing signal '%s'", sig == SIGTERM ? "terminated" : "interrupt");
    http_server_stop(d->http);
  }
}

/* berthd serves each connection on a thread of its own, and glibc gives
 * threads arenas of their own and trims the free top of a heap back to the
 * kernel past 128 KiB: every request then page-faulted its working memory in
 * again (half of a 100-container `ps -a`'s time in the daemon). One arena
 * that keeps up to 1 MiB free, and allocations up to 1 MiB served from it,
 * let requests reuse warm pages; the idle RSS grows by at most that MiB. */
static void tune_malloc(void) {
  mallopt(M_ARENA_MAX, 1);
  mallopt(M_TRIM_THRESHOLD, 1 << 20);
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
}

int main(int argc, char **argv) {
  tune_malloc();
  _cleanup_json_ json_t *flags = json_object();
  const char *config_file = "/etc/berth/daemon.json";
  bool explicit = false;
  int rc = parse_flags(argc, argv, flags, &config_file, &explicit);
  if (rc != 0)
    return rc > 0 ? 0 : 125;
  struct daemon d = {0};
  pthread_mutex_init(&d.cfg_lock, NULL);
  _cleanup_berr_ struct berr *err = NULL;
  if (config_build(&d.cfg, config_file, explicit, flags, &err) < 0) {
    fprintf(stderr, "%s\n", err->msg);
    config_free(&d.cfg);
    return 1;
  }
  set_log_level(&d.cfg);
  if (d.cfg.shim_path == NULL)
    d.cfg.shim_path = sibling("berth-shim", "../shim/berth-shim");
  if (d.cfg.runtime_path == NULL)
    d.cfg.runtime_path = sibling("berth-runc", "../berth-runc");
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  d.started_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;

  /* signals: blocked here, before any thread exists, so every thread
   * inherits the mask and only the signal thread takes them */
  signal(SIGPIPE, SIG_IGN);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIG_QUIT_THREAD);
  pthread_sigmask(SIG_BLOCK, &set, NULL);

  log_info("starting up (berth %s, data-root %s, exec-root %s)", BERTH_VERSION, d.cfg.data_root,
           d.cfg.exec_root);
  bool took_pidfile = false;
  rc = daemon_open(&d, &took_pidfile, &err);
  if (rc < 0) {
    log_error("failed to start daemon: %s", err->msg);
    if (log_is_file())
      fprintf(stderr, "failed to start daemon: %s\n", err->msg);
    daemon_close(&d, took_pidfile);
    return 1;
  }
  pthread_t sig_tid;
  if (pthread_create(&sig_tid, NULL, signal_thread, &d) != 0) {
    log_error("failed to start daemon: cannot start the signal thread");
    daemon_close(&d, true);
    return 1;
  }
  log_info("Daemon has completed initialization");
  events_publish(d.events, "daemon", "start", d.id, json_pack("{s:s}", "name", "berthd"));
  http_server_run(d.http);
  log_info("stopping");
  pthread_kill(sig_tid, SIG_QUIT_THREAD);
  pthread_join(sig_tid, NULL);
  daemon_close(&d, true);
  log_info("stopped");
  return 0;
}
