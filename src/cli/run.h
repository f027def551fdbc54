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
  int64_t blkio_weight, cpu_period, cpu_quota, cpu_rt_period, cpu_rt_runtime, cpu_shares;
  int64_t kernel_memory, memory_reservation, memory_swappiness, oom_score_adj;
  bool blkio_weight_set, cpu_period_set, cpu_quota_set, cpu_rt_period_set, cpu_rt_runtime_set;
  bool cpu_shares_set, kernel_memory_set, memory_reservation_set, memory_swappiness_set;
  bool oom_score_adj_set, oom_kill_disable;
  const char *cgroupns, *cpuset_cpus, *cpuset_mems, *ipc, *isolation, *memory_swap, *pid;
  const char *userns, *uts;
  char **blkio_weight_device, **device, **device_cgroup_rule, **device_read_bps;
  char **device_read_iops, **device_write_bps, **device_write_iops, **group_add;
  char **security_opt, **sysctl, **ulimit;
};

struct run_network_opts {
  const char *ip, *ip6;     /* --ip, --ip6 */
  const char *mac;          /* --mac-address */
  const char *domainname;   /* --domainname */
  bool publish_all;         /* -P / --publish-all */
  char **aliases;           /* --network-alias */
  char **links;             /* --link */
  char **dns_search;        /* --dns-search */
  char **dns_option;        /* --dns-option / --dns-opt */
  char **link_local_ip;     /* --link-local-ip (accepted, unused) */
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

/* run_resources.c's value parsers (docker CLI's wording; "invalid argument"
 * errors are the flag parser's, the others are shown as "berth: ..."). Each
 * *out is a new HostConfig item (caller owns). */
int run_parse_ulimit(const char *v, json_t **out, struct berr **err);
int run_parse_weight_device(const char *v, json_t **out, struct berr **err);
int run_parse_throttle(const char *flag, const char *v, bool iops, json_t **out,
                       struct berr **err);
int run_parse_device(const char *v, json_t **out, struct berr **err);
int run_parse_memory_swap(const char *v, int64_t *out, struct berr **err);
int run_check_sysctl(const char *v, struct berr **err);
int run_check_cgroup_rule(const char *v, struct berr **err);
/* --security-opt value → what is sent (a seccomp file inlined); *out malloc'd */
int run_security_opt(const char *v, char **out, struct berr **err);

/* run_storage.c: one --mount value (docker CLI's CSV fields) → a HostConfig.Mounts
 * entry (*out new); errors are the flag parser's "invalid argument ..." text. */
int run_parse_mount(const char *spec, json_t **out, struct berr **err);

void run_storage_free(struct run_storage_opts *o);
void run_resources_free(struct run_resources_opts *o);
void run_network_free(struct run_network_opts *o);
