/*
 * runtime-internal.h — what the runtime's files share privately.
 *
 *   state.c     the container's state directory: state.json, exec.fifo, status
 *   container.c create/start/run/kill/delete/pause/resume/update/ps/list
 *   process.c   the container's init: namespaces, sync with the parent, finalize + execve
 *   nsjoin.c    the two-step fork that creates / joins namespaces (shared with exec)
 *   rootfs.c    mounts, devices, pivot_root, masked and read-only paths
 *   exec.c      `exec`: a new process in a running container
 *   hooks.c     the six hook kinds, state JSON on stdin, timeouts
 *   console.c   pty allocation and SCM_RIGHTS hand-off to --console-socket
 */
#ifndef BERTH_RUNTIME_INTERNAL_H
#define BERTH_RUNTIME_INTERNAL_H

#include "runtime.h"
#include "cgroup.h"
#include "security.h"

/* ---- state.c ---- */

enum rt_status { RT_CREATING, RT_CREATED, RT_RUNNING, RT_PAUSED, RT_STOPPED };
extern const char *const rt_status_names[];

struct rt_state {
  char *id;
  pid_t pid;                /* the container's init, host pid namespace */
  unsigned long long start_time; /* /proc/PID/stat field 22: guards against pid reuse */
  char *bundle, *rootfs, *created, *owner;
  struct cgroup *cgroup;    /* NULL until created */
  json_t *config;           /* the spec as given (owned) */
  char *dir;                /* <root>/<id> */
};

char *rt_state_dir(struct rt_context *ctx, const char *id);
int rt_state_load(struct rt_context *ctx, const char *id, struct rt_state **out, struct berr **err);
int rt_state_save(struct rt_state *st, struct berr **err);
void rt_state_free(struct rt_state *st);
void rt_state_freep(struct rt_state **st);
#define _cleanup_state_ __attribute__((cleanup(rt_state_freep)))
enum rt_status rt_state_status(struct rt_state *st);
/* The spec's state document for `state` and for hooks' stdin. */
json_t *rt_state_json(struct rt_state *st, enum rt_status status);
/* Read field 22 of /proc/PID/stat; 0 when the process is gone. Sets *zombie. */
unsigned long long rt_proc_start_time(pid_t pid, bool *zombie);

/* ---- sync messages between the runtime and the container's init ---- */

enum rt_sync_type {
  SYNC_PID = 1,   /* init -> parent: value = host pid of the init */
  SYNC_USERMAP,   /* child -> parent: write my uid/gid maps; value = pid */
  SYNC_USERMAP_DONE,
  SYNC_GO,        /* parent -> init: continue */
  SYNC_HOOKS,     /* init -> parent: namespaces exist, run prestart/createRuntime */
  SYNC_READY,     /* init -> parent: set up, waiting for start */
  SYNC_ERROR,     /* child -> parent: text is the error */
};
/* text of the first SYNC_GO when the parent has prestart/createRuntime hooks to run */
#define SYNC_TEXT_HOOKS "hooks"
/* ... when it joins the init to its cgroup while the init mounts; a SYNC_GO follows */
#define SYNC_TEXT_JOIN_LATER "join-later"
struct rt_sync_msg {
  int type;
  int value;
  char text[1024];
};
int rt_sync_send(int fd, int type, int value, const char *text);
int rt_sync_recv(int fd, struct rt_sync_msg *m, struct berr **err);
/* Expect a message of `type`; a SYNC_ERROR becomes *err. */
int rt_sync_expect(int fd, int type, struct rt_sync_msg *m, struct berr **err);

/* ---- nsjoin.c / process.c ---- */

struct rt_init_args {
  const struct oci_spec *spec;
  const struct oci_process *process;
  const char *rootfs;          /* absolute host path */
  int sync_fd;                 /* init's end of the socketpair */
  int fifo_fd;                 /* exec.fifo opened O_RDWR, or -1 for exec */
  int console_fd;              /* connected console socket, or -1 */
  struct seccomp_filter *seccomp; /* built by the parent, or NULL */
  bool no_pivot, no_new_keyring, is_exec;
  int preserve_fds;
  /* exec only: the container init's pid whose namespaces we join */
  pid_t join_pid;
  const struct cgroup *cgroup;  /* the container's cgroup (for type "cgroup" mounts) */
  json_t *hook_state;          /* state document for hooks run by init (pid/status updated) */
};

/* Fork the container's init (or an exec'd process): the first child joins and
 * creates namespaces, forks the final child and reports its pid; the caller
 * must be a child subreaper so the final child becomes its child.
 * Runs rt_init_main() in the final child. *pid = final child's host pid. */
int rt_spawn(struct rt_init_args *a, pid_t *pid, int parent_fd, struct berr **err);
/* Final child's body; never returns. */
__attribute__((noreturn)) void rt_init_main(struct rt_init_args *a);
/* Resolve argv[0] against PATH from env, in the current root; caller frees. */
int rt_find_executable(const char *cmd, char *const *env, char **out, struct berr **err);
/* In the final child: set rlimits, user, caps, no_new_privs, seccomp; then execve. */
int rt_finalize_and_exec(struct rt_init_args *a, const char *exe, struct berr **err);

/* ---- rootfs.c ---- */

int rt_rootfs_prepare(const struct oci_spec *spec, const char *rootfs, const struct cgroup *cg, struct berr **err);
int rt_rootfs_pivot(const char *rootfs, bool no_pivot, struct berr **err);
int rt_rootfs_finish(const struct oci_spec *spec, struct berr **err);

/* ---- container.c ---- */

/* create with an already connected console channel (taken over; -1 for none);
 * on success *st_out and *spec_out (both optional) get the new state and spec. */
int rt_create_internal(struct rt_context *ctx, const char *id, const struct rt_create_opts *o, int console_fd,
                       struct rt_state **st_out, struct oci_spec **spec_out, struct berr **err);
/* start / delete a container whose state (and spec, optional for delete) are loaded. */
int rt_start_loaded(struct rt_state *st, const struct oci_spec *spec, struct berr **err);
int rt_delete_loaded(struct rt_state *st, const struct oci_spec *spec, bool force, struct berr **err);

/* ---- hooks.c ---- */

/* Run every hook of `kind` with `state` on stdin; the error names the hook. */
int rt_hooks_run(const struct oci_spec *spec, enum oci_hook_kind kind, json_t *state, struct berr **err);
/* Check every hook path exists and is executable (at create, so nothing is left half-made). */
int rt_hooks_check(const struct oci_spec *spec, struct berr **err);
/* The spec's seccomp filter, its compiled program cached under
 * <root>/.seccomp (security.h seccomp_filter_build_cached). */
int rt_seccomp_build(const char *root, const struct oci_spec *spec, struct seccomp_filter **out,
                     struct berr **err);

/* ---- console.c ---- */

/* Connect to the console socket path. */
int rt_console_connect(const char *path, int *fd, struct berr **err);
/* In the container: open a pty, send its master over sock_fd, make the slave our
 * controlling terminal and stdio. */
int rt_console_setup(int sock_fd, const struct oci_process *p, struct berr **err);
/* Receive an fd sent with SCM_RIGHTS. */
int rt_recv_fd(int sock_fd, int *fd, struct berr **err);

#endif
