/*
 * run.h — the option groups of `berth run` / `berth create` that live
 * outside cmd_run.c, one file each:
 *
 *   run_storage.c    volumes and mounts (--mount, --volumes-from, ...)
 *   run_resources.c  resource limits and security options (--cpu-*, --memory-*, ...)
 *   run_network.c    networks, ports and names (--ip, --dns-search, --network-alias, ...)
 *
 * Each group has its options struct, a function that appends its flags to
 * the command's table (pointing into the struct), one that writes the parsed
 * values into the create body (Config, HostConfig, NetworkingConfig), and one
 * that frees what parsing allocated. cmd_run.c merges the tables and calls
 * the groups after its own options, so a group may also adjust what
 * cmd_run.c wrote (HostConfig is shared).
 */
#pragma once

#include "cli/cli.h"

/* Most flags one group may add to the table. */
#define RUN_GROUP_MAX_FLAGS 48

struct run_storage_opts {
  char **mount;        /* --mount (repeatable) */
  char **volumes_from; /* --volumes-from (repeatable) */
};

struct run_resources_opts {
  int unused; /* fields are added with the group's flags */
};

struct run_network_opts {
  int unused; /* fields are added with the group's flags */
};

/* Append the group's flags at out[0..]; returns how many (<= RUN_GROUP_MAX_FLAGS). */
size_t run_storage_flags(struct run_storage_opts *o, struct flag *out);
size_t run_resources_flags(struct run_resources_opts *o, struct flag *out);
size_t run_network_flags(struct run_network_opts *o, struct flag *out);

/* Write the group's values into the create body: cfg is Config (the body's
 * top level), hc its HostConfig, nc its NetworkingConfig. Errors name the
 * flag and the value, in docker's wording. */
int run_storage_apply(const struct run_storage_opts *o, json_t *cfg, json_t *hc, json_t *nc,
                      struct berr **err);
int run_resources_apply(const struct run_resources_opts *o, json_t *cfg, json_t *hc, json_t *nc,
                        struct berr **err);
int run_network_apply(const struct run_network_opts *o, json_t *cfg, json_t *hc, json_t *nc,
                      struct berr **err);

void run_storage_free(struct run_storage_opts *o);
void run_resources_free(struct run_resources_opts *o);
void run_network_free(struct run_network_opts *o);
