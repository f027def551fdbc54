/*
 * cgroup.h — the container's control group, behind one interface for the three
 * host setups (private to src/runtime):
 *   v1      every controller its own hierarchy under /sys/fs/cgroup/<name>
 *   hybrid  v1 controllers plus an (almost empty) cgroup2 at /sys/fs/cgroup/unified
 *   v2      one unified hierarchy at /sys/fs/cgroup
 * The backend is picked at run time from statfs(/sys/fs/cgroup) (DESIGN.md practice 4):
 * cgroup_v1.c and cgroup_v2.c implement the ops, cgroup.c dispatches, and
 * cgroup_util.c holds the pure conversions (shares -> weight, ...) that the unit tests cover.
 *
 * A `struct cgroup` is saved into the container's state (cgroup_to_json) so later
 * runtime invocations (kill --all, pause, update, delete) find the same directories.
 */
#ifndef BERTH_RUNTIME_CGROUP_H
#define BERTH_RUNTIME_CGROUP_H

#include <sys/types.h>

#include "common/common.h"
#include "oci/oci.h"

enum cgroup_mode { CGROUP_MODE_V1 = 1, CGROUP_MODE_HYBRID, CGROUP_MODE_V2 };

/* One v1 hierarchy the container is placed in. */
struct cgroup_hier {
  char *name;  /* basename of the hierarchy's mount point: "memory", "cpu,cpuacct", "systemd" */
  char *mount; /* the hierarchy's mount point: "/sys/fs/cgroup/memory" */
  char *dir;   /* the container's directory: "/sys/fs/cgroup/memory/berth/abc" */
  char *controllers; /* from the mount's super options: "cpu,cpuacct", "name=systemd" (added) */
};

struct cgroup {
  enum cgroup_mode mode;
  char *path;        /* resolved cgroupsPath, absolute within each hierarchy: "/berth/abc" */
  struct cgroup_hier *hiers; /* v1 and hybrid: every mounted v1 hierarchy */
  size_t n_hiers;
  char *unified_dir; /* v2, and hybrid's unified dir: "/sys/fs/cgroup/unified/berth/abc"; else NULL */
};

/* Mode of this host; cached after the first call. */
int cgroup_detect_mode(enum cgroup_mode *out, struct berr **err);

/* Resolve a spec's cgroupsPath (NULL: "/<id>"; relative paths are taken from the root,
 * as runc does for cgroupfs) and create the directories in every hierarchy.
 * v1: cpuset.cpus/mems are filled from the parent where empty (else tasks cannot join).
 * v2: controllers are enabled in each ancestor's cgroup.subtree_control.
 * Nothing is left behind on failure. *out is new (cgroup_free). */
int cgroup_create(const char *cgroups_path, const char *id, struct cgroup **out, struct berr **err);

/* Write the limits. Called at create and by `update`. Errors name the file and value. */
int cgroup_apply(struct cgroup *cg, const struct oci_resources *r, struct berr **err);

/* Move a process into every hierarchy of the cgroup. */
int cgroup_add_pid(struct cgroup *cg, pid_t pid, struct berr **err);

/* Every pid in the cgroup and its descendants (from the pids/memory/unified tree). Caller frees. */
int cgroup_pids(struct cgroup *cg, pid_t **pids, size_t *n, struct berr **err);

/* Freeze or thaw, returning once the kernel reports the new state. */
int cgroup_freeze(struct cgroup *cg, bool frozen, struct berr **err);
int cgroup_frozen(struct cgroup *cg, bool *frozen, struct berr **err);

/* Signal every process in the cgroup (freezing first so none can fork away, then thawing). */
int cgroup_kill_all(struct cgroup *cg, int sig, struct berr **err);

/* Remove the directories (waiting briefly for dying tasks); absent dirs are fine. */
int cgroup_destroy(struct cgroup *cg, struct berr **err);

json_t *cgroup_to_json(const struct cgroup *cg);
int cgroup_from_json(json_t *j, struct cgroup **out, struct berr **err);
void cgroup_free(struct cgroup *cg);
void cgroup_freep(struct cgroup **cg);
#define _cleanup_cgroup_ __attribute__((cleanup(cgroup_freep)))

/* ---- pure conversions (cgroup_util.c), unit-tested ---- */

/* cpu.shares (2..262144) -> cgroup v2 cpu.weight (1..10000), as runc converts. 0 -> 0. */
uint64_t cgroup_shares_to_weight(uint64_t shares);
/* blkio weight (10..1000) -> io.weight (1..10000). 0 -> 0. */
uint64_t cgroup_blkio_to_io_weight(uint64_t w);
/* v2 memory.swap.max from the spec's memory+swap total: swap - limit; -1 -> "max".
 * Writes the value text into buf. -EINVAL when swap < limit. */
int cgroup_v2_swap_value(int64_t limit, int64_t swap, char *buf, size_t len);
/* "max" or the number; n <= 0 -> "max" for pids, -1 -> "max" for memory. */
void cgroup_fmt_limit(int64_t n, char *buf, size_t len);
/* Parse /proc/PID/cgroup text for `controller` ("" for the v2 line, "name=systemd" for named). Caller frees. */
int cgroup_parse_proc_line(const char *proc_cgroup, const char *controller, char **out);

/* ---- added: more pure helpers, unit-tested ---- */

/* Resolve a spec's cgroupsPath: NULL or "" -> "/<id>", "a/b" -> "/a/b", cleaned ("//", ".").
 * -EINVAL when ".." climbs above the root or the result is the root itself. Caller frees *out. */
int cgroup_resolve_path(const char *cgroups_path, const char *id, char **out);
/* One line of /proc/self/mountinfo. Returns 1 for a v1 ("cgroup") mount and fills the mount
 * point (octal escapes decoded), the controllers from the super options ("cpu,cpuacct",
 * "name=systemd") and the "MAJ:MIN" of the hierarchy (one per hierarchy, for de-duplication);
 * 0 for any other mount; -EINVAL for a malformed line. Caller frees the strings. */
int cgroup_parse_mountinfo_line(const char *line, char **mount, char **controllers, char **devid);
/* true when the comma list `controllers` ("cpu,cpuacct") names `name` ("cpu"). */
bool cgroup_list_has(const char *controllers, const char *name);
/* v1 devices.allow/deny text for a rule: "c 1:3 rwm", "b *:* r", "a *:* rwm". -EINVAL on a bad rule. */
int cgroup_v1_device_rule(const struct oci_device_cgroup *d, char *buf, size_t len);
/* cgroup v2 device filter: an eBPF BPF_PROG_TYPE_CGROUP_DEVICE program for `rules`
 * (last matching rule wins, default deny). *insns is new (free()), *n_insns its length.
 * -EINVAL naming nothing on a bad rule (type not a/b/c, access not within "rwm"). */
struct bpf_insn;
int cgroup_devices_bpf(const struct oci_device_cgroup *rules, size_t n, struct bpf_insn **insns, size_t *n_insns);

#endif
