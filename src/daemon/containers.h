/*
 * containers.h — the container manager: records (SQLite + per-container
 * dirs), the Docker config → OCI spec translation, the lifecycle through
 * berth-shim, restart policies, health checks, exec instances.
 *
 * Files:
 *   container.c        records, names, lookup, persistence, the in-memory table
 *   container_spec.c   Config + HostConfig (+ image config) → OCI config.json
 *   container_run.c    start / stop / kill / wait / pause / rm / restart policy
 *   container_inspect.c inspect and list JSON in Docker's shape, filters
 *   container_exec.c   exec instances
 *   container_logs.c   logs (reading the json-file / local driver files)
 *   container_attach.c attach relay (hijacked HTTP ⇄ shim attach stream)
 *   routes_containers.c, routes_exec.c   the HTTP handlers
 *
 * Directories: <data-root>/containers/<id>/ (config.v2.json mirror, hostname,
 * hosts, resolv.conf, <id>-json.log) and <exec-root>/containers/<id>/ (bundle
 * config.json, the shim's state dir, runtime root).
 */
#ifndef BERTH_DAEMON_CONTAINERS_H
#define BERTH_DAEMON_CONTAINERS_H

#include <stdbool.h>

#include "common/common.h"

struct daemon;

/* Load every container from the DB, reconnect to the shims of running ones
 * (live restore), record exits that happened while berthd was away, remove
 * --rm containers that ended, start `always` / `unless-stopped` ones. */
int containers_init(struct daemon *d, struct berr **err);
/* Shutdown: with live-restore leave the containers running; else stop them
 * (their StopSignal, StopTimeout). Frees the manager. */
void containers_shutdown(struct daemon *d);

/* For /info. */
void containers_counts(struct daemon *d, int *total, int *running, int *paused, int *stopped);
/* For image removal (store_in_use_fn): does any container use image_id? ctx is
 * the struct daemon *; user (optional) gets the container's id, a running one
 * preferred, *running (optional) whether it runs. */
bool containers_image_in_use(const char *image_id, void *ctx, char *user,
                             bool *running);
/* For /system/df: the "Containers" array. */
json_t *containers_df(struct daemon *d);

#endif
