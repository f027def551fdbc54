/*
 * container_internal.h — the container manager's private types, shared by
 * container*.c, routes_containers.c and routes_exec.c only.
 *
 * Locking: the manager's `lock` guards the table (ids, names); every
 * container's `refs` is atomic; a container's own `lock` guards its fields, and
 * `changed` is broadcast on every state change (wait, restart, health). Take the manager
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
  int refs;                 /* ctr_get / ctr_put (atomic); the table holds one */
  bool removed;             /* deleted from the table; last ctr_put frees */
  uint64_t generation;      /* bumped at every start: monitors of old runs stop */
  uint64_t exits;           /* exits recorded since berthd started (wait next-exit) */
  bool busy;                /* a start / stop / rm is in progress (no second one) */
  bool stop_requested;      /* stop/kill/rm asked: no restart, wake the back-off */
  bool has_monitor;         /* a monitor thread waits on the current run */
  bool health_running;      /* a health-check thread runs for this run */
  int64_t started_ns;       /* CLOCK_REALTIME of the last start (restart back-off) */
  int64_t backoff_ms;       /* the restart policy's current delay */
  struct attach_pending *pending; /* attaches waiting for the next start */
};

/* An attach request waiting for the process to start (container_attach.c):
 * start connects it to the shim between shim_spawn and shim_start, so that
 * `docker run` without -d sees all of the output. */
struct attach_pending {
  struct attach_pending *next;
  bool in, out, err, stdin_once; /* what the client asked for */
  int fd;                        /* the shim stream once connected, else -1 */
  bool done;                     /* start connected it (fd) or gave up (fd -1) */
};

struct containers {
  pthread_mutex_t lock;
  struct container **items; /* the table (small: a linear scan is fine to 10k) */
  size_t n, cap;
  struct daemon *d;
  bool closing;             /* shutdown: monitors that wake now touch nothing */
  int active;               /* monitors recording an exit right now */
  pthread_cond_t idle;      /* broadcast when active drops to 0 */
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

/* The table: add under the manager lock, checking the name (Docker's 409
 * conflict message); a NULL c->name gets a random adjective_surname. */
int ctr_register(struct daemon *d, struct container *c, struct berr **err);
/* Take c out of the table (its name is free again) and delete its record. */
int ctr_unregister(struct daemon *d, struct container *c, struct berr **err);
/* A new, empty container record (refs 1, state created, locks set up). */
struct container *ctr_alloc(void);
/* Fill root_dir, run_dir, log_path from the daemon's roots and c->id. */
void ctr_set_paths(struct daemon *d, struct container *c);
/* Docker's name rule: [a-zA-Z0-9][a-zA-Z0-9_.-]+ (a leading "/" allowed). */
int ctr_name_check(const char *name, struct berr **err);
/* Every container (a reference on each; ctr_list_free puts them). */
struct container **ctr_list(struct daemon *d, size_t *n);
void ctr_list_free(struct container **v, size_t n);
/* Rename under the manager lock (409 when the new name is taken). */
int ctr_set_name(struct daemon *d, struct container *c, const char *name, struct berr **err);
/* The record (what ctr_save stores) and back. */
json_t *ctr_to_record(const struct container *c);
int ctr_from_record(struct daemon *d, const json_t *doc, struct container **out, struct berr **err);
/* CLOCK_REALTIME in ns; RFC 3339 → ns (0 for Go's zero time or garbage). */
int64_t ctr_now_ns(void);
int64_t ctr_parse_time(const char *rfc3339);

/* ---- container_spec.c: Docker's config → OCI spec (pure functions) ---- */

/* Merge the image's container config (image config "config") into the
 * user's Config as Docker does (Env by key, Entrypoint resets Cmd, …). */
void spec_merge_image(json_t *cfg, const json_t *image_cfg);
/* Fill HostConfig's defaults (NetworkMode "default", RestartPolicy, LogConfig
 * …) and refuse bad values (400 with Docker's messages). */
int spec_hostconfig_check(json_t *hc, struct berr **err);

struct spec_input {
  const char *id;
  const json_t *config;      /* merged Config */
  const json_t *host_config; /* HostConfig */
  const char *rootfs;        /* the merged mount (also where /etc/passwd is read) */
  const char *root_dir;      /* hostname, hosts, resolv.conf live here */
  const char *cgroup_parent; /* the daemon's cgroup-parent ("/berth") */
  const json_t *default_ulimits; /* daemon.json default-ulimits, may be NULL */
  const json_t *seccomp;     /* Docker-format profile (default or the user's), NULL: none */
  const char *netns_path;    /* NetworkMode container:x → its netns path, else NULL */
  const char *ipcns_path;    /* IpcMode container:x */
  const char *pidns_path;    /* PidMode container:x */
  const char *init_path;     /* HostConfig.Init: berth-init on the host, else NULL */
  const json_t *volume_mounts; /* container_volumes.c: OCI bind mounts of the recorded mount
                                  points (volumes, binds); NULL: Binds/Mounts read here */
  const json_t *uid_mappings;  /* --userns-remap (userns.c): a user namespace with these
                                  OCI mappings; NULL: the host's */
  const json_t *gid_mappings;
};
/* Build the OCI config.json. *out is a new object (caller decrefs). Errors:
 * an unknown user (Docker's "unable to find user x: no matching entries in
 * passwd file"), bad binds, bad capability names. */
int spec_build(const struct spec_input *in, json_t **out, struct berr **err);
/* Docker's seccomp profile (JSON) → the OCI linux.seccomp object, honouring
 * includes/excludes by capability list `caps` (the process's effective set,
 * "CAP_…" names) and the host architecture. */
int spec_seccomp_convert(const json_t *profile, const json_t *caps, json_t **out,
                         struct berr **err);
/* The process's Docker default capabilities after CapAdd/CapDrop ("ALL",
 * with or without "CAP_"); -EINVAL for an unknown name. */
int spec_capabilities(const json_t *hc, json_t **out, struct berr **err);
/* linux.resources (+ linux.devices) from HostConfig into `linux_obj`
 * (also what `update` sends to the runtime). */
int spec_build_resources(const json_t *hc, json_t *linux_obj, struct berr **err);
/* The files bound into the container: contents of /etc/hostname, /etc/hosts,
 * /etc/resolv.conf from Config/HostConfig (Dns, DnsSearch, DnsOptions,
 * ExtraHosts; the host's resolv.conf otherwise). Caller frees each. */
void spec_etc_files(const json_t *cfg, const json_t *hc, const char *host_resolv, char **hostname,
                    char **hosts, char **resolv);
/* HostConfig with the daemon's --dns / --dns-search / --dns-opt where the
 * container sets none of its own, as dockerd applies them. New reference. */
json_t *spec_dns_defaults(struct daemon *d, const json_t *hc);

/* ---- container_limits.c: resources and security checks, spec helpers ---- */

/* dockerd's create-time checks of HostConfig (capabilities, resources,
 * namespace modes incl. "container:x" existing, isolation, security opts);
 * may discard unsupported values (BlkioWeight) with a warning appended to
 * `warnings` (may be NULL). d may be NULL (no container lookups). */
int limits_check_create(struct daemon *d, json_t *hc, json_t *warnings, struct berr **err);
/* The resource part only (also for update). */
int limits_check_resources(json_t *hc, json_t *warnings, struct berr **err);
/* "0-3,5" → bits[nbits]; 0, -1 bad format, -2 beyond nbits. */
int limits_parse_list(const char *s, unsigned char *bits, size_t nbits);
/* What dockerd refuses only at start, when it builds the spec (CpuShares < 0). */
int limits_spec_check(const json_t *hc, struct berr **err);
/* Block I/O weight devices and throttles into linux.resources.blockIO. */
int limits_spec_blkio(const json_t *hc, json_t *resources, struct berr **err);
/* DeviceCgroupRules appended to linux.resources.devices. */
void limits_spec_cgroup_rules(const json_t *hc, json_t *rules);

/* ---- seccomp_profile.c: the built-in default profile ---- */

/* berth's profile text format (see the file's comment) → Docker's JSON
 * shape (what spec_seccomp_convert takes). */
int seccomp_profile_parse(const char *text, json_t **out, struct berr **err);
/* The built-in default (Docker's allow rules), Docker-shaped; new object. */
json_t *seccomp_default_profile(void);

/* ---- container_run.c: the lifecycle ---- */

/* POST /containers/create: *out_id the new ID (caller frees); *warnings a
 * JSON array. */
int ctr_create(struct daemon *d, json_t *body, const char *name, char **out_id,
               json_t **warnings, struct berr **err);
/* Each returns 0, or 1 for "nothing to do" (304), or a negative errno. */
int ctr_start(struct daemon *d, struct container *c, struct berr **err);
int ctr_stop(struct daemon *d, struct container *c, int64_t timeout, struct berr **err);
int ctr_kill(struct daemon *d, struct container *c, const char *signal, struct berr **err);
int ctr_restart(struct daemon *d, struct container *c, int64_t timeout, struct berr **err);
int ctr_pause(struct daemon *d, struct container *c, bool pause, struct berr **err);
/* Block until `condition` ("not-running" default, "next-exit", "removed"):
 * *code the exit code. */
int ctr_wait(struct daemon *d, struct container *c, const char *condition, int *code,
             struct berr **err);
int ctr_remove(struct daemon *d, struct container *c, bool force, bool volumes,
               struct berr **err);
int ctr_rename(struct daemon *d, struct container *c, const char *name, struct berr **err);
int ctr_update(struct daemon *d, struct container *c, const json_t *body, json_t **warnings,
               struct berr **err);
int ctr_resize(struct daemon *d, struct container *c, int height, int width, struct berr **err);
/* *out: {"ContainersDeleted":[…],"SpaceReclaimed":N} */
int ctr_prune(struct daemon *d, const json_t *filters, json_t **out, struct berr **err);
/* containers_init: pick a running container up again (monitor on its shim,
 * or record the exit that happened while berthd was away). */
void ctr_resume(struct daemon *d, struct container *c);
/* Stop at shutdown: StopSignal, StopTimeout, then SIGKILL. */
void ctr_shutdown_stop(struct daemon *d, struct container *c);

/* ---- container_inspect.c ---- */

json_t *ctr_inspect_json(struct daemon *d, struct container *c, bool size);
/* GET /containers/json: all, limit, size, filters (parsed). */
int ctr_list_json(struct daemon *d, bool all, int64_t limit, bool size, const json_t *filters,
                  json_t **out, struct berr **err);
/* "Up 3 seconds", "Exited (0) 2 minutes ago", … */
char *ctr_status_text(const struct container *c);
/* Docker's units.HumanDuration. Caller frees. */
char *human_duration(int64_t secs);

/* ---- container_logs.c ---- */

void ctr_logs_serve(struct daemon *d, struct http_req *r, struct container *c);
/* attach?logs=1: write the logged output so far to a hijacked connection. */
void ctr_logs_replay(struct container *c, struct http_req *r, bool out, bool err, bool tty);

/* ---- container_health.c ---- */

/* Start the health-check thread for the current run (no-op without one). */
void ctr_health_start(struct daemon *d, struct container *c);
/* The Health object with Docker's shape (a new reference), or NULL. */
json_t *ctr_health_json(const struct container *c);

/* ---- container_attach.c: the attach relay (also used by exec start) ---- */

/* Relay between a hijacked HTTP connection and a shim attach stream until the
 * process's output ends, the client goes, or the client types the detach keys
 * (detach_keys NULL: Docker's default ctrl-p,ctrl-q; "" none). Returns 0, or
 * 1 when the client detached. Closes neither fd/connection. */
int attach_relay(struct http_req *r, int shim_fd, bool tty, bool want_stdin,
                 const char *detach_keys);
/* Docker's detach-keys syntax ("ctrl-p,ctrl-q", "a", "ctrl-@") → bytes in
 * `out` (up to `cap`); *n the count. -EINVAL "Invalid escape keys (x) provided". */
int attach_parse_keys(const char *keys, unsigned char *out, size_t cap, size_t *n,
                      struct berr **err);
/* POST /containers/{id}/attach */
void ctr_attach_serve(struct daemon *d, struct http_req *r, struct container *c);
/* Called by start between shim_spawn and shim_start (c->lock held). */
void attach_connect_pending(struct container *c);

/* ---- events helpers ---- */

/* Publish a container event with Docker's attributes (name, image, labels +
 * extra, which is stolen; may be NULL). */
void ctr_event(struct daemon *d, const struct container *c, const char *action, json_t *extra);


/* ==== exec instances and per-container operations (ops helper: container_exec.c,
 * container_stats.c, container_archive.c, routes_exec.c, routes_container_ops.c) ==== */

/* ---- container_exec.c ---- */

/* One exec instance found by exec_find: its container (a reference), ID, state
 * dir (<run_dir>/exec/<id>) and ExecConfig as created (exec.json). */
struct exec_inst {
  struct container *c;
  char *id;
  char *dir;
  json_t *cfg;
};
void exec_inst_free(struct exec_inst *e);
void exec_inst_freep(struct exec_inst **e);
#define _cleanup_exec_ __attribute__((cleanup(exec_inst_freep)))

/* POST /containers/{id}/exec: validate the ExecConfig (body), check the
 * container runs (409s), make the instance, add it to ExecIDs, publish
 * "exec_create: CMD". *out_id: the new ID (caller frees). */
int exec_create(struct daemon *d, struct container *c, const json_t *body, char **out_id,
                struct berr **err);
/* -ENOENT "No such exec instance: ID" unless found. */
int exec_find(struct daemon *d, const char *id, struct exec_inst **out, struct berr **err);
/* GET /exec/{id}/json in Docker's shape. New reference. */
json_t *exec_inspect_json(const struct exec_inst *e);
/* POST /exec/{id}/start: answers r itself (hijack, 200 when detached, or error). */
void exec_start_serve(struct daemon *d, struct http_req *r, struct exec_inst *e,
                      const json_t *body);
int exec_resize(struct exec_inst *e, int height, int width, struct berr **err);

/* The exec's OCI process (pure, unit-tested): */
struct exec_spec_in {
  const json_t *base;      /* the container's spec "process" */
  const json_t *cfg;       /* exec.json: Entrypoint, Arguments, Env, User, WorkingDir, Tty,
                              Privileged */
  const json_t *group_add; /* HostConfig.GroupAdd, may be NULL */
  const char *passwd;      /* the container's /etc/passwd and /etc/group (NULL: none) */
  const char *group;
  const json_t *all_caps;  /* every capability name (for Privileged) */
};
int exec_build_process(const struct exec_spec_in *in, json_t **out, struct berr **err);
/* Docker's user spec ("name", "uid", "name:group", "uid:gid") → the OCI user
 * object {"uid","gid","additionalGids"?}, with libcontainer's lookup rules and
 * messages ("unable to find user x: no matching entries in passwd file"). */
int exec_resolve_user(const char *spec, const char *passwd, const char *group,
                      const json_t *group_add, json_t **out, struct berr **err);
/* Every capability name up to the kernel's cap_last_cap. New reference. */
json_t *exec_all_caps(void);


/* ---- container_stats.c: stats and top ---- */

/* The raw inputs of one stats sample: file contents (NULL when absent). */
struct stats_src {
  bool v2;                   /* unified hierarchy (else v1 controllers, hybrid included) */
  long clk_tck;              /* USER_HZ (cpuacct.stat, /proc/stat ticks) */
  int online_cpus;
  uint64_t machine_memory;   /* caps memory_stats.limit, as dockerd does */
  char *proc_stat;           /* /proc/stat (system_cpu_usage) */
  /* v1 */
  char *cpuacct_usage, *cpuacct_percpu, *cpuacct_stat;
  char *memory_usage, *memory_max_usage, *memory_failcnt;
  char *blkio_bytes, *blkio_ios; /* "MAJ:MIN Op N" lines */
  /* both (v1 names / v2 names) */
  char *cpu_stat;            /* v1 cpu.stat (throttling) / v2 cpu.stat (all cpu) */
  char *memory_limit;        /* memory.limit_in_bytes / memory.max */
  char *memory_stat;
  char *pids_current, *pids_max;
  /* v2 */
  char *memory_current, *io_stat;
};
/* Read the files of the cgroup at `cg` ("/berth/<id>") into s (clears it first). */
void stats_read(const char *cg, struct stats_src *s);
void stats_src_clear(struct stats_src *s);
/* Pure: {"pids_stats","blkio_stats","num_procs","storage_stats","cpu_stats",
 * "memory_stats"} in Docker's shape. New reference. */
json_t *stats_build(const struct stats_src *s);
/* A stopped container's stats object (zeros, empty objects). New reference. */
json_t *stats_empty(void);
/* The container's cgroup path (its spec's cgroupsPath, else <cgroup-parent>/<id>). */
char *stats_cgroup_path(struct daemon *d, const struct container *c);
/* GET /containers/{id}/stats: answers r (stream, one-shot). */
void ctr_stats_serve(struct daemon *d, struct http_req *r, struct container *c);
/* Pure: ps output + the container's pids → {"Titles":[…],"Processes":[[…]]}. */
int top_parse(const char *ps_out, const json_t *pids, json_t **out, struct berr **err);
/* GET /containers/{id}/top: 409 unless running; ps_args NULL → "-ef". */
int ctr_top(struct daemon *d, struct container *c, const char *ps_args, json_t **out,
            struct berr **err);


/* ---- passwd.c: the container's users (one lookup for run, exec and cp) ---- */

struct ctr_user {
  int64_t uid, gid;
  char *home;   /* the passwd line's HOME; NULL without a line */
  json_t *gids; /* supplementary gids, in order (never empty after a resolve) */
};
/* Docker's user spec ("name", "uid", "name:group", "uid:gid") and GroupAdd →
 * ids, from the contents of the container's /etc/passwd and /etc/group
 * (NULL: no file), with libcontainer's rules and messages ("unable to find
 * user x: no matching entries in passwd file"). -EINVAL on error. */
int ctr_user_resolve(const char *spec, const char *passwd, const char *group,
                     const json_t *group_add, struct ctr_user *out, struct berr **err);
void ctr_user_clear(struct ctr_user *u);
/* The OCI process.user object {"uid","gid","additionalGids"?}. New reference. */
json_t *ctr_user_oci(const struct ctr_user *u);
/* The rootfs's etc/passwd and etc/group, resolved inside it (NULL: absent). */
void ctr_user_files(const char *rootfs, char **passwd, char **group);

/* ---- container_archive.c: docker cp and export ---- */

/* The root the archive ops work in, as an O_PATH fd (caller closes): with
 * `live`, /proc/<pid>/root of a running container (its mounts included), else
 * the store's merged mount (mounted if needed). */
int archive_root_open(struct daemon *d, struct container *c, bool live, int *out,
                      struct berr **err);
/* fs_open_in_root(rootfd, rel, flags) with the error named: fd or negative errno. */
int archive_openat_root(int rootfd, const char *rel, int flags, struct berr **err);
/* Go's os.FileMode bits for st_mode (pure). */
uint64_t archive_go_mode(mode_t m);
/* {"name","size","mode","mtime","linkTarget"} of a path (final symlink not
 * followed unless the path ends in "/" or "/."); -ENOENT "Could not find the
 * file P in container NAME". */
int archive_stat(int rootfd, const char *path, const char *ctr_name, json_t **out,
                 struct berr **err);
/* base64 of the stat JSON: the X-Docker-Container-Path-Stat value. Caller frees. */
char *archive_stat_header(const json_t *stat);
/* HEAD/GET /containers/{id}/archive: answers r (the tar is spooled in tmp_dir). */
void archive_get_serve(struct http_req *r, int rootfd, const char *path, const char *ctr_name,
                       const char *tmp_dir);
/* GET /containers/{id}/export: streams the tar of the whole tree. */
void archive_export_serve(struct http_req *r, int rootfd);
struct archive_put_opts {
  const char *path;             /* the extraction point (an existing directory) */
  const char *ctr_name;         /* for messages, as the client named it */
  bool no_overwrite_dir_nondir; /* refuse a dir replacing a non-dir and the reverse */
  bool chown_to;                /* own every file by uid:gid (copyUIDGID + Config.User) */
  uid_t uid;
  gid_t gid;
};
/* PUT /containers/{id}/archive: extract the (streamed) request body. */
int archive_put(struct http_req *r, int rootfd, const struct archive_put_opts *o,
                struct berr **err);

#endif
