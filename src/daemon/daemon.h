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
};

struct events;     /* events.c */
struct containers; /* the container manager (containers.h) */

struct daemon {
  struct daemon_config cfg;
  pthread_mutex_t cfg_lock;   /* guards the reloadable parts of cfg (SIGHUP) */
  struct store *store;
  struct db *db;              /* <data-root>/berthd.db: the daemon's own tables */
  struct events *events;
  struct containers *ctrs;
  struct http_server *http;
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

/* ---------- route tables (one per routes_*.c) ---------- */

extern const struct http_route routes_system[];     /* _ping, version, info, events, system/df */
extern const struct http_route routes_images[];     /* images/... */
extern const struct http_route routes_containers[]; /* containers/... */
extern const struct http_route routes_exec[];       /* containers/{}/exec, exec/... */
extern const struct http_route routes_container_ops[]; /* containers/{}/top, stats, archive, changes, export */

/* ---------- helpers shared by route files (filters.c) ---------- */

/* Parse Docker's filters query parameter ({"key":{"value":true}} or the old
 * {"key":["value"]}) into {"key":["value",...]}. NULL/empty → empty object. */
int filters_parse(const char *s, json_t **out, struct berr **err);
/* Does filter `key` accept `value` (true when the key is absent)? */
bool filters_match(const json_t *filters, const char *key, const char *value);

#endif
