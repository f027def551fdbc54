/*
 * cgroup_internal.h — what cgroup.c, cgroup_v1.c and cgroup_v2.c share, and
 * nothing else includes (except the live test, which drives the v2 backend on
 * an arbitrary cgroup2 mount).
 *
 * cgroup.c owns mode detection, path resolution, the ops tables (one per mode:
 * v1, hybrid = v1 + a best-effort unified dir, v2) and the file helpers below;
 * each backend exports plain functions that the tables point at.
 */
#ifndef BERTH_RUNTIME_CGROUP_INTERNAL_H
#define BERTH_RUNTIME_CGROUP_INTERNAL_H

#include "runtime/cgroup.h"

#define CGROUP_ROOT "/sys/fs/cgroup"
#define CGROUP_HYBRID_UNIFIED "/sys/fs/cgroup/unified"

/* One backend's operations on an existing cgroup (creation differs by mode: see cgroup.c). */
struct cgroup_ops {
  int (*apply)(struct cgroup *cg, const struct oci_resources *r, struct berr **err);
  int (*add_pid)(struct cgroup *cg, pid_t pid, struct berr **err);
  int (*pids)(struct cgroup *cg, pid_t **pids, size_t *n, struct berr **err);
  int (*freeze)(struct cgroup *cg, bool frozen, struct berr **err);
  int (*frozen)(struct cgroup *cg, bool *frozen, struct berr **err);
  /* Kill everything in one step (v2 cgroup.kill); -ENOTSUP without error when unavailable. */
  int (*kill)(struct cgroup *cg, struct berr **err);
  int (*destroy)(struct cgroup *cg, struct berr **err);
};

/* ---- file helpers (cgroup.c); every error names the file and, for writes, the value ---- */

/* Write `value` to dir/file in one write(2): `cgroup: write "V" to DIR/FILE: <errno text>`. */
int cg_write(const char *dir, const char *file, const char *value, struct berr **err);
int cg_writef(const char *dir, const char *file, struct berr **err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Read dir/file with trailing newlines removed. Caller frees *out. -ENOENT when absent. */
int cg_read(const char *dir, const char *file, char **out, struct berr **err);
bool cg_has(const char *dir, const char *file);
/* mkdir every missing level of `path` below `root`; each created dir is appended to *created
 * (so a failed create can be undone with cg_rollback). Existing levels are fine. */
int cg_mkdirs(const char *root, const char *path, char ***created, struct berr **err);
/* rmdir the dirs of `created` in reverse order, ignoring errors. */
void cg_rollback(char **created);
/* Remove `dir` and the cgroups below it, retrying EBUSY for about a second; absent is fine. */
int cg_rmdir(const char *dir, struct berr **err);
/* Append the pids of dir/cgroup.procs and of every cgroup below it. */
int cg_procs_tree(const char *dir, pid_t **pids, size_t *n, struct berr **err);
/* Hand an error collected in a local `src` to the caller's `dst` (if it has none); returns r. */
int cg_err_move(struct berr **dst, struct berr **src, int r);
/* Sleep for `ms` milliseconds. */
void cg_sleep_ms(unsigned ms);

/* ---- v1 backend (cgroup_v1.c) ---- */

/* Fill cg->hiers from /proc/self/mountinfo and create cg->path in each (cpuset filled). */
int cgv1_create(struct cgroup *cg, char ***created, struct berr **err);
int cgv1_apply(struct cgroup *cg, const struct oci_resources *r, struct berr **err);
int cgv1_add_pid(struct cgroup *cg, pid_t pid, struct berr **err);
int cgv1_pids(struct cgroup *cg, pid_t **pids, size_t *n, struct berr **err);
int cgv1_freeze(struct cgroup *cg, bool frozen, struct berr **err);
int cgv1_frozen(struct cgroup *cg, bool *frozen, struct berr **err);
int cgv1_destroy(struct cgroup *cg, struct berr **err);

/* ---- v2 backend (cgroup_v2.c); works on any cgroup2 mount, cg->unified_dir ---- */

/* Create root+path; with enable_controllers, turn on cpuset/cpu/io/memory/pids (where the
 * parent offers them) in each ancestor's cgroup.subtree_control. *dir is new. */
int cgv2_create(const char *root, const char *path, bool enable_controllers, char **dir, char ***created,
                struct berr **err);
int cgv2_apply(struct cgroup *cg, const struct oci_resources *r, struct berr **err);
/* Only the resources.unified keys, written verbatim into `dir` (hybrid mode uses this). */
int cgv2_apply_unified(const char *dir, const struct oci_resources *r, struct berr **err);
int cgv2_add_pid(struct cgroup *cg, pid_t pid, struct berr **err);
int cgv2_pids(struct cgroup *cg, pid_t **pids, size_t *n, struct berr **err);
int cgv2_freeze(struct cgroup *cg, bool frozen, struct berr **err);
int cgv2_frozen(struct cgroup *cg, bool *frozen, struct berr **err);
int cgv2_kill(struct cgroup *cg, struct berr **err);
int cgv2_destroy(struct cgroup *cg, struct berr **err);

/* cgroup_create on the cgroup2 hierarchy mounted at `root`, in v2 mode, whatever this host's
 * mode is: lets the tests drive the v2 backend on a hybrid host's /sys/fs/cgroup/unified. */
int cgroup_create_v2_at(const char *root, const char *cgroups_path, const char *id, struct cgroup **out,
                        struct berr **err);

#endif
