/*
 * container_internal.h — the container manager's private types, shared by
 * container*.c, routes_containers.c and routes_exec.c only.
 *
 * Locking: the manager's `lock` guards the tables (by id, by name) and every
 * container's `refs`; a container's own `lock` guards its fields, and `changed`
 * is broadcast on every state change (wait, restart, health). Take the manager
 * lock before a container's lock, never the other way round. Never hold a lock
 * across a call to the shim, the runtime or the client.
 *
 * Persistence: each container is one row of <data-root>/berthd.db
 * (containers: id, name, doc = ctr_to_record()), written in one transaction at
 * every state change, so a SIGKILL of berthd at any moment leaves either the old
 * or the new record.
 *
 * Paths:
 *   c->root_dir  = <data-root>/containers/<id>   hostname, hosts, resolv.conf,
 *                                                <id>-json.log (+ .1, .2 … rotated)
 *   c->run_dir   = <exec-root>/containers/<id>   config.json (the bundle: root.path
 *                                                is the store's merged mount),
 *                                                shim/ (the init's shim state dir),
 *                                                exec/<exec id>/ (each exec's)
 *   runtime root = <exec-root>/runtime/<runtime name>   (--root of every call)
 */
#ifndef BERTH_DAEMON_CONTAINER_INTERNAL_H
#define BERTH_DAEMON_CONTAINER_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "daemon/containers.h"
#include "daemon/daemon.h"
#include "shim/shim.h"

/* Docker's State.Status values, in Docker's words (ctr_state_name). */
enum ctr_state {
  CTR_CREATED = 0,
  CTR_RUNNING,
  CTR_PAUSED,
  CTR_RESTARTING,
  CTR_REMOVING,
  CTR_EXITED,
  CTR_DEAD,
};

struct container {
  char id[65];              /* 64 hex */
  char *name;               /* without the leading "/" */
  json_t *config;           /* Docker's Config, merged with the image's */
  json_t *host_config;      /* Docker's HostConfig, defaults filled in */
  char *image_id;           /* "sha256:…" (NULL for scratch-less errors) */
  char *created;            /* RFC 3339 nano */
  char *path;               /* Path: the first word of Entrypoint + Cmd */
  json_t *args;             /* Args: the rest */
  char *runtime;            /* HostConfig.Runtime resolved ("berth-runc") */

  /* State (inspect's State object) */
  enum ctr_state state;
  pid_t pid;                /* the init's pid while running, else 0 */
  int exit_code;
  bool oom_killed;
  char *error;              /* State.Error */
  char *started_at;         /* "0001-01-01T00:00:00Z" until started */
  char *finished_at;
  int restart_count;
  bool manually_stopped;    /* stop/kill by the user: `unless-stopped` stays down */
  bool auto_remove_pending; /* HostConfig.AutoRemove and it ended: being removed */
  json_t *health;           /* {"Status","FailingStreak","Log"} or NULL without healthcheck */
  json_t *exec_ids;         /* array of exec instance IDs (ExecIDs) */

  /* Paths (see the file comment) */
  char *root_dir;
  char *run_dir;
  char *log_path;
  char *rootfs;             /* the merged mount while mounted, else NULL */

  /* Run-time bookkeeping, never persisted */
  pthread_mutex_t lock;
  pthread_cond_t changed;
  int refs;                 /* ctr_get / ctr_put; the table holds one */
  bool removed;             /* deleted from the table; last ctr_put frees */
  uint64_t generation;      /* bumped at every start: monitors of old runs stop */
};

struct containers {
  pthread_mutex_t lock;
  struct container **items; /* the table (small: a linear scan is fine to 10k) */
  size_t n, cap;
  struct daemon *d;
};

/* ---- container.c: table, lookup, persistence ---- */

/* Find by full ID, unique ID prefix, or name (with or without "/"). Takes a
 * reference (ctr_put it). -ENOENT "No such container: NAME"; an ambiguous prefix
 * is -EINVAL "multiple IDs found with provided prefix: …". */
int ctr_get(struct daemon *d, const char *name_or_id, struct container **out, struct berr **err);
void ctr_put(struct container *c);
/* Persist c (call with c->lock held). */
int ctr_save(struct daemon *d, struct container *c, struct berr **err);
const char *ctr_state_name(enum ctr_state s);
/* Runtime paths for c: the runtime binary, its --root, the init shim's state dir.
 * Caller frees each. */
char *ctr_runtime_path(struct daemon *d, const struct container *c);
char *ctr_runtime_root(struct daemon *d, const struct container *c);
char *ctr_shim_dir(const struct container *c);

/* ---- container_attach.c: the attach relay (also used by exec start) ---- */

/* Relay between a hijacked HTTP connection and a shim attach stream until the
 * process's output ends, the client goes, or the client types the detach keys
 * (detach_keys NULL: Docker's default ctrl-p,ctrl-q; "" none). Returns 0, or
 * 1 when the client detached. Closes neither fd/connection. */
int attach_relay(struct http_req *r, int shim_fd, bool tty, bool want_stdin,
                 const char *detach_keys);

/* ---- events helpers ---- */

/* Publish a container event with Docker's attributes (name, image, labels +
 * extra, which is stolen; may be NULL). */
void ctr_event(struct daemon *d, const struct container *c, const char *action, json_t *extra);

#endif
