/*
 * oci.h — OCI runtime-spec 1.1 configuration (config.json) as C structs.
 *
 * oci_spec_parse() turns the JSON into `struct oci_spec`, checking types and
 * the spec's MUSTs, with errors that name the field ("process.args: must be a
 * non-empty array of strings"). The runtime reads only these structs; the raw
 * JSON is kept in `raw` for hooks' state and for saving in the state dir.
 * Shared by the runtime, and later by the daemon and builder that generate
 * specs. Ownership: everything hangs off the spec and is freed by oci_spec_free.
 */
#ifndef BERTH_OCI_H
#define BERTH_OCI_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/common.h"

#define OCI_VERSION "1.1.0"

/* An optional integer: `set` says whether the key was present. */
struct oci_opt_i64 {
  bool set;
  int64_t v;
};
struct oci_opt_u64 {
  bool set;
  uint64_t v;
};

struct oci_rlimit {
  char *type; /* "RLIMIT_NOFILE" */
  int resource; /* resolved RLIMIT_* number */
  uint64_t soft, hard;
};

struct oci_caps {
  /* NULL-terminated vectors of "CAP_..." names, validated; NULL when absent. */
  char **bounding, **effective, **inheritable, **permitted, **ambient;
};

struct oci_user {
  uid_t uid;
  gid_t gid;
  struct oci_opt_u64 umask;
  gid_t *additional_gids;
  size_t n_additional_gids;
  char *username; /* Windows only; kept for completeness */
};

struct oci_console_size {
  unsigned height, width;
};

struct oci_process {
  bool terminal;
  bool has_console_size;
  struct oci_console_size console_size;
  char *cwd;   /* required, absolute */
  char **env;  /* "K=V" vector, may be NULL */
  char **args; /* required (non-empty) for the container's process */
  char *command_line; /* Windows only */
  struct oci_user user;
  struct oci_caps *caps; /* NULL when absent */
  struct oci_rlimit *rlimits;
  size_t n_rlimits;
  bool no_new_privileges;
  char *apparmor_profile; /* accepted, ignored on a kernel without AppArmor */
  struct oci_opt_i64 oom_score_adj;
  char *selinux_label;
  /* ioPriority, scheduler, execCPUAffinity */
  bool has_io_priority;
  char *io_priority_class; /* "IOPRIO_CLASS_RT" | "IOPRIO_CLASS_BE" | "IOPRIO_CLASS_IDLE" */
  int io_priority;
};

struct oci_mount {
  char *destination; /* absolute path in the container */
  char *type;        /* may be NULL: then "bind" if options have bind/rbind, else "none" */
  char *source;      /* may be NULL */
  char **options;    /* raw option strings, may be NULL */
  /* derived by oci_mount_options_parse (oci/mountopt.c) at parse time: */
  unsigned long flags;     /* MS_* to set */
  unsigned long clear;     /* MS_* to clear (for remounts: "rw", "suid", ...) */
  unsigned long propagation; /* MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE | MS_REC, 0 if none */
  bool bind, recursive;    /* bind or rbind */
  char *data;              /* comma-joined options that are not flags ("mode=755,size=65536k"), or NULL */
  bool tmpcopyup;
  /* uid/gid mappings for idmapped mounts: parsed, refused at create (unsupported) */
  bool has_idmap;
};

struct oci_hook {
  char *path;  /* absolute */
  char **args; /* may be NULL */
  char **env;  /* may be NULL */
  struct oci_opt_i64 timeout; /* seconds, > 0 when set */
};

enum oci_hook_kind {
  OCI_HOOK_PRESTART = 0,
  OCI_HOOK_CREATE_RUNTIME,
  OCI_HOOK_CREATE_CONTAINER,
  OCI_HOOK_START_CONTAINER,
  OCI_HOOK_POSTSTART,
  OCI_HOOK_POSTSTOP,
  OCI_HOOK_KINDS
};
/* JSON key of each kind: "prestart", "createRuntime", ... */
extern const char *const oci_hook_kind_names[OCI_HOOK_KINDS];

struct oci_hooks {
  struct oci_hook *list[OCI_HOOK_KINDS];
  size_t n[OCI_HOOK_KINDS];
};

enum oci_ns_type {
  OCI_NS_PID = 0,
  OCI_NS_NETWORK,
  OCI_NS_MOUNT,
  OCI_NS_IPC,
  OCI_NS_UTS,
  OCI_NS_USER,
  OCI_NS_CGROUP,
  OCI_NS_TIME,
  OCI_NS_TYPES
};
/* spec names ("pid", "network", "mount", ...), CLONE_NEW* flags and /proc/PID/ns names */
extern const char *const oci_ns_names[OCI_NS_TYPES];
extern const int oci_ns_clone_flags[OCI_NS_TYPES];
extern const char *const oci_ns_proc_names[OCI_NS_TYPES];

struct oci_namespace {
  enum oci_ns_type type;
  char *path; /* NULL: create a new one; else join this one */
};

struct oci_id_mapping {
  uint32_t container_id, host_id, size;
};

struct oci_device {
  char *path;  /* absolute, in the container */
  char type;   /* 'c', 'b', 'u' or 'p' */
  int64_t major, minor; /* -1 when absent (only allowed for 'p') */
  struct oci_opt_u64 file_mode;
  struct oci_opt_u64 uid, gid;
};

struct oci_device_cgroup {
  bool allow;
  char type;    /* 'a', 'c' or 'b' ('a' when absent) */
  int64_t major, minor; /* -1 = wildcard ('*') */
  char *access; /* subset of "rwm"; "rwm" when absent */
};

struct oci_weight_device {
  int64_t major, minor;
  struct oci_opt_u64 weight, leaf_weight;
};
struct oci_throttle_device {
  int64_t major, minor;
  uint64_t rate;
};

struct oci_resources {
  struct oci_device_cgroup *devices;
  size_t n_devices;
  struct {
    struct oci_opt_i64 limit, reservation, swap, kernel, kernel_tcp;
    struct oci_opt_u64 swappiness;
    bool has_disable_oom_killer, disable_oom_killer;
    bool has_use_hierarchy, use_hierarchy;
    bool has_check_before_update, check_before_update;
  } memory;
  struct {
    struct oci_opt_u64 shares, period, realtime_period, idle_set;
    struct oci_opt_i64 quota, realtime_runtime, idle;
    struct oci_opt_u64 burst;
    char *cpus, *mems; /* cpuset strings, NULL when absent */
  } cpu;
  struct {
    bool set;
    int64_t limit; /* <= 0 means unlimited ("max") */
  } pids;
  struct {
    struct oci_opt_u64 weight, leaf_weight;
    struct oci_weight_device *weight_device;
    size_t n_weight_device;
    struct oci_throttle_device *throttle_read_bps, *throttle_write_bps, *throttle_read_iops, *throttle_write_iops;
    size_t n_throttle_read_bps, n_throttle_write_bps, n_throttle_read_iops, n_throttle_write_iops;
  } blkio;
  struct {
    char *page_size;
    uint64_t limit;
  } *hugepage_limits;
  size_t n_hugepage_limits;
  struct {
    struct oci_opt_u64 class_id;
    struct {
      char *name;
      uint32_t priority;
    } *priorities;
    size_t n_priorities;
  } network;
  /* cgroup v2 "unified": file name -> value, parallel vectors, NULL when absent */
  char **unified_keys, **unified_values;
};

struct oci_seccomp_arg {
  unsigned index;
  uint64_t value, value_two;
  char *op; /* "SCMP_CMP_EQ", ... validated */
};

struct oci_seccomp_syscall {
  char **names;  /* non-empty */
  char *action;  /* "SCMP_ACT_ERRNO", ... validated */
  struct oci_opt_u64 errno_ret;
  struct oci_seccomp_arg *args;
  size_t n_args;
};

struct oci_seccomp {
  char *default_action;
  struct oci_opt_u64 default_errno_ret;
  char **architectures; /* "SCMP_ARCH_X86_64", ..., may be NULL */
  char **flags;         /* "SECCOMP_FILTER_FLAG_LOG", ..., may be NULL */
  char *listener_path;
  char *listener_metadata;
  struct oci_seccomp_syscall *syscalls;
  size_t n_syscalls;
};

struct oci_linux {
  struct oci_namespace *namespaces;
  size_t n_namespaces;
  struct oci_id_mapping *uid_mappings, *gid_mappings;
  size_t n_uid_mappings, n_gid_mappings;
  /* timeOffsets for the time namespace */
  bool has_time_offsets;
  struct {
    int64_t secs;
    uint32_t nanosecs;
  } time_monotonic, time_boottime;
  struct oci_device *devices;
  size_t n_devices;
  char *cgroups_path; /* NULL when absent */
  struct oci_resources *resources; /* NULL when absent */
  char *rootfs_propagation; /* "shared" | "slave" | "private" | "unbindable" (+ r- forms), NULL */
  char **sysctl_keys, **sysctl_values; /* parallel NULL-terminated vectors, or NULL */
  struct oci_seccomp *seccomp;  /* NULL when absent */
  char **masked_paths, **readonly_paths; /* NULL when absent */
  char *mount_label;
  char *intel_rdt_clos; /* refused if set: not supported */
  char *personality_domain; /* "LINUX" | "LINUX32", NULL */
};

struct oci_spec {
  char *oci_version; /* required */
  struct {
    char *path; /* required; relative to the bundle or absolute */
    bool readonly;
  } root;
  struct oci_process *process; /* may be NULL (create requires it) */
  char *hostname, *domainname;
  struct oci_mount *mounts;
  size_t n_mounts;
  struct oci_hooks hooks;
  char **annotation_keys, **annotation_values; /* parallel, or NULL */
  struct oci_linux *linux_; /* NULL when absent */
  json_t *raw; /* the document as parsed (owned) */
};

/* Parse a config document. `what` names it in errors ("config.json").
 * On success *out is a new spec (free with oci_spec_free). */
int oci_spec_parse(json_t *doc, const char *what, struct oci_spec **out, struct berr **err);
int oci_spec_load(const char *path, struct oci_spec **out, struct berr **err);
void oci_spec_free(struct oci_spec *spec);
void oci_spec_freep(struct oci_spec **spec);
#define _cleanup_spec_ __attribute__((cleanup(oci_spec_freep)))

/* A process document alone (runc exec --process FILE). */
int oci_process_parse(json_t *doc, const char *what, struct oci_process **out, struct berr **err);
void oci_process_free(struct oci_process *p);

/* Resources alone (runc update -r FILE): the LinuxResources object. */
int oci_resources_parse(json_t *doc, const char *what, struct oci_resources **out, struct berr **err);
void oci_resources_free(struct oci_resources *r);

/* Look up a namespace entry; NULL when the config does not list it. */
const struct oci_namespace *oci_spec_namespace(const struct oci_spec *spec, enum oci_ns_type type);

/* runc's default spec (`runc spec`): a busybox-style sh in a new pid/net/ipc/uts/mount ns.
 * rootless adds a user namespace mapping the caller's uid/gid. Returns a new JSON object. */
json_t *oci_spec_default(bool rootless, uid_t uid, gid_t gid);

/* ---------- mount options (oci/mountopt.c) ---------- */

/* Parse m->options into flags/clear/propagation/bind/recursive/data. `what` names the mount. */
int oci_mount_options_parse(struct oci_mount *m, const char *what, struct berr **err);
/* Propagation word ("rslave", "private", ...) to MS_* flags; -EINVAL when unknown. */
int oci_propagation_parse(const char *s, unsigned long *out);

/* ---------- signals (oci/signals.c) ---------- */

/* "KILL", "SIGKILL", "9", "sigterm" -> number; "RTMIN+3" too. -EINVAL when unknown. */
int oci_signal_parse(const char *s, int *out);
/* Canonical name without SIG ("KILL"); NULL if unknown. Static string. */
const char *oci_signal_name(int sig);

#endif
