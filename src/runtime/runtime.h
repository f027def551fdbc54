/*
 * runtime.h — the public API of berth's OCI runtime library (src/runtime).
 *
 * berth-runc's main (src/bin/berth-runc.c + runtime/cli.c) parses runc's command
 * line and makes one call here per command, the way crun's front end calls
 * libcrun. The daemon will call the same functions later instead of exec'ing a
 * runtime binary when that saves a fork.
 */
#ifndef BERTH_RUNTIME_H
#define BERTH_RUNTIME_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/common.h"
#include "oci/oci.h"

#define RT_DEFAULT_ROOT "/run/berth-runc"

struct rt_context {
  const char *root; /* state root: <root>/<id>/state.json */
  bool debug;
};

struct rt_create_opts {
  const char *bundle;         /* NULL: current directory */
  const char *pid_file;       /* NULL: none */
  const char *console_socket; /* AF_UNIX path that receives the pty master */
  bool no_pivot;              /* MS_MOVE + chroot instead of pivot_root */
  bool no_new_keyring;        /* keep the caller's session keyring */
  int preserve_fds;           /* extra fds (from 3) passed to the container */
  bool detach;                /* run: return after start */
  bool keep;                  /* run: do not delete after exit */
};

struct rt_exec_opts {
  const char *process_file;   /* --process: a process JSON; overrides the flags */
  char **args;                /* command, if no process file */
  char **env;                 /* --env additions */
  const char *cwd;
  const char *user;           /* "uid[:gid]" */
  gid_t *additional_gids;
  size_t n_additional_gids;
  char **caps;                /* --cap additions */
  bool tty, detach, no_new_privs;
  const char *console_socket;
  const char *pid_file;
  int preserve_fds;
};

bool rt_valid_id(const char *id);

int rt_create(struct rt_context *ctx, const char *id, const struct rt_create_opts *o, struct berr **err);
int rt_start(struct rt_context *ctx, const char *id, struct berr **err);
/* create + start; unless detached, wait, delete and report the exit status in *status
 * (the process's code, or 128+signal). */
int rt_run(struct rt_context *ctx, const char *id, const struct rt_create_opts *o, int *status, struct berr **err);
/* The spec's state JSON (ociVersion, id, status, pid, bundle, rootfs, created, owner, annotations). */
int rt_state(struct rt_context *ctx, const char *id, json_t **out, struct berr **err);
int rt_kill(struct rt_context *ctx, const char *id, int sig, bool all, struct berr **err);
int rt_delete(struct rt_context *ctx, const char *id, bool force, struct berr **err);
int rt_pause(struct rt_context *ctx, const char *id, struct berr **err);
int rt_resume(struct rt_context *ctx, const char *id, struct berr **err);
int rt_update(struct rt_context *ctx, const char *id, const struct oci_resources *r, struct berr **err);
int rt_ps(struct rt_context *ctx, const char *id, pid_t **pids, size_t *n, struct berr **err);
/* Every container under the root, as an array of state objects. */
int rt_list(struct rt_context *ctx, json_t **out, struct berr **err);
int rt_exec(struct rt_context *ctx, const char *id, const struct rt_exec_opts *o, int *status, struct berr **err);
/* `features` document (runtime-spec features.md). */
json_t *rt_features(void);

#endif
