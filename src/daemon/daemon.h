/*
 * daemon.h — berthd's shared context and the interfaces between its parts.
 *
 *   main.c          flags, daemon.json, listeners, signals (SIGHUP reload,
 *                   SIGTERM/SIGINT shutdown), start-up recovery
 *   config.c        daemon.json + command-line merge and validation
 *   http.c          the HTTP server (http.h)
 *   events.c        the event bus behind /events
 *   routes_*.c      one file per Engine API area, each exporting a route table
 *   container*.c    the container manager (containers.h)
 *
 * No process-wide globals: everything hangs off struct daemon, which every
 * handler gets as r->ctx.
 */
#ifndef BERTH_DAEMON_H
#define BERTH_DAEMON_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/common.h"
#include "daemon/http.h"
#include "store/store.h"

/* Effective configuration: daemon.json merged with flags (flags win). */
struct daemon_config {
  char *config_file;       /* --config-file (default /etc/berth/daemon.json) */
  char *data_root;         /* data-root (default /var/lib/berth) */
  char *exec_root;         /* exec-root (default /run/berth) */
  char *pidfile;           /* pidfile (default <exec-root>/berthd.pid) */
  char **hosts;            /* -H / hosts (default unix://<exec-root>/berth.sock) */
  char *group;             /* --group / group for the Unix socket (default "berth") */
  bool debug;              /* -D / debug */
  char *log_level;         /* log-level */
  char *storage_driver;    /* storage-driver (only "overlay2") */
  char *log_driver;        /* log-driver (default "json-file") */
  json_t *log_opts;        /* log-opts object (max-size, max-file as strings) */
  json_t *default_ulimits; /* default-ulimits {"nofile":{"Name":..,"Hard":..,"Soft":..}} */
  bool live_restore;       /* live-restore */
  bool userland_proxy;     /* userland-proxy (default true) */
  json_t *default_address_pools; /* [{"base":"…","size":N}] */
  char **insecure_registries;
  char **dns;              /* dns: containers' default nameservers (and the embedded DNS's upstreams) */
  char **dns_search;       /* dns-search: containers' default search domains */
  char **dns_opts;         /* dns-opts: containers' default resolv.conf options */
  char **registry_mirrors;
  char *default_runtime;   /* default-runtime (default "berth-runc") */
  json_t *runtimes;        /* {"name":{"path":"…","runtimeArgs":[…]}} */
  bool tls, tlsverify;
  char *tlscacert, *tlscert, *tlskey;
  char *shim_path;         /* berth-shim next to berthd unless --shim-path */
  char *runtime_path;      /* berth-runc next to berthd unless overridden */
  char *cgroup_parent;     /* --cgroup-parent / cgroup-parent: containers go in
                              <parent>/<id> (default "/berth"); tests set their own */
  char *bridge;            /* bridge (networking issue; "none" accepted) */
  bool iptables;           /* iptables (networking issue) */
  char *bip;               /* bip: the default bridge's address/prefix ("10.1.0.1/24") */
  char *userns_remap;      /* userns-remap: "default", "user[:group]", "uid[:gid]" (userns.c) */
  bool ipv6;               /* ipv6: IPv6 on the default bridge */
  char *fixed_cidr_v6;     /* fixed-cidr-v6: the default bridge's IPv6 subnet */
  json_t *cmdline;         /* the flags given, as daemon.json keys (config.c
                              checks file/flag conflicts, again at reload) */
};

/* ---------- configuration (config.c) ---------- */

struct daemon;

/* Build `c` (zeroed by the caller) from the defaults, the daemon.json at
 * `file` (absent is fine unless `file_required`) and `flags` (the command
 * line as daemon.json keys: {"debug":true,"hosts":[…]}; not stolen, a copy
 * is kept in c->cmdline). Errors use dockerd's wording: unknown keys, a key
 * both in the file and a flag, a wrong type (the key named), bad log-opts. */
int config_build(struct daemon_config *c, const char *file, bool file_required,
                 const json_t *flags, struct berr **err);
void config_free(struct daemon_config *c);
/* SIGHUP: re-read d->cfg.config_file, validate it whole, then (under
 * cfg_lock) take the reloadable keys: debug, log-level, live-restore,
 * insecure-registries, registry-mirrors, default-runtime, runtimes,
 * log-driver, log-opts, default-ulimits. Publishes the daemon "reload" event.
 * On error nothing changes. */
int config_reload(struct daemon *d, struct berr **err);
/* The path of runtime `name` ("berth-runc", "runc" or one of `runtimes`),
 * NULL when unknown. Caller holds cfg_lock when the config may reload;
 * the result is owned by the config. */
const char *config_runtime_path(const struct daemon_config *c, const char *name);
/* log-level name → level (debug, info, warn/warning, error/fatal/panic): -EINVAL if unknown. */
int config_log_level(const char *name, enum log_level *out);

struct events;     /* events.c */
struct containers; /* the container manager (containers.h) */
struct registry;   /* src/registry/registry.h */
struct volumes;    /* src/volume/volume.h */
struct net;        /* src/net/net.h */
struct builder;    /* src/build/build.h */
struct userns;     /* userns.h */

struct daemon {
  struct daemon_config cfg;
  pthread_mutex_t cfg_lock;   /* guards the reloadable parts of cfg (SIGHUP) */
  struct store *store;
  struct db *db;              /* <data-root>/berthd.db: the daemon's own tables */
  struct events *events;
  struct containers *ctrs;
  struct http_server *http;
  struct registry *registry;  /* src/registry: auth cache, mirrors (routes_distribution.c) */
  struct volumes *volumes;    /* src/volume: the volume store (routes_volumes.c) */
  struct net *net;            /* src/net: networks, IPAM, NAT, DNS (routes_networks.c) */
  struct builder *builder;    /* src/build: build cache (routes_build.c) */
  struct userns *userns;      /* --userns-remap (userns.h); NULL: containers share the host's */
  char *id;                   /* a stable engine ID (kept in the data root) */
  int64_t started_ns;         /* CLOCK_REALTIME at start */
};

/* ---------- events (events.c) ---------- */

int events_new(struct events **out);
void events_free(struct events *ev);
/* Publish Docker's event shape: {"Type","Action","Actor":{"ID","Attributes"},
 * "scope":"local","time","timeNano"} (+ the legacy "status","id","from").
 * `attrs` is stolen (may be NULL). */
void events_publish(struct events *ev, const char *type, const char *action, const char *id,
                    json_t *attrs);
/* Stream events to `r` (the /events handler): replays kept events since
 * `since_ns`, then live ones until `until_ns` (0: forever) or the client
 * goes; `filters` is Docker's filters JSON (may be NULL). */
void events_serve(struct events *ev, struct http_req *r, int64_t since_ns, int64_t until_ns,
                  json_t *filters);
/* Docker's since/until value: unix seconds with optional ".nanoseconds"
 * ("1700000000.5" → 1700000000500000000); NULL/"" → 0. -EINVAL if malformed. */
int events_parse_time(const char *s, int64_t *out_ns);
/* Does event `e` (the published JSON) pass Docker's events filters? */
bool events_match(const json_t *e, const json_t *filters);
/* /events streams now open (NEventsListener). */
unsigned events_listeners(struct events *ev);
/* Shutdown: end every /events stream. */
void events_close(struct events *ev);

/* ---------- route tables (one per routes_*.c) ---------- */

extern const struct http_route routes_system[];     /* _ping, version, info, events, system/df */
extern const struct http_route routes_images[];     /* images/... */
extern const struct http_route routes_containers[]; /* containers/... */
extern const struct http_route routes_exec[];       /* containers/{}/exec, exec/... */
extern const struct http_route routes_container_ops[]; /* containers/{}/top, stats, archive, changes, export */
extern const struct http_route routes_distribution[]; /* images/create (pull), images/{}/push, auth, distribution */
extern const struct http_route routes_volumes[];   /* volumes/... */
extern const struct http_route routes_networks[];  /* networks/... */
extern const struct http_route routes_build[];
/* POST /images/create with fromSrc (import a tarball; routes_images.c): the
 * pull handler in routes_distribution.c hands such requests over. */
void images_import(struct http_req *r);     /* build, build/prune */

/* ---------- helpers shared by route files (filters.c) ---------- */

/* Parse Docker's filters query parameter ({"key":{"value":true}} or the old
 * {"key":["value"]}) into {"key":["value",...]}. NULL/empty → empty object. */
int filters_parse(const char *s, json_t **out, struct berr **err);
/* Does filter `key` accept `value` (true when the key is absent)? */
bool filters_match(const json_t *filters, const char *key, const char *value);
/* Refuse keys not in `accepted` (NULL-terminated): -EINVAL "invalid filter 'KEY'"
 * (Docker's message and 400). */
int filters_check(const json_t *filters, const char *const *accepted, struct berr **err);
/* The "label" filter against a labels object ({"k":"v"}): every "k" or
 * "k=v" given must hold (true when the key is absent). */
bool filters_match_labels(const json_t *filters, const char *key, const json_t *labels);

#endif
