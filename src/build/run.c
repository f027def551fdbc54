/*
 * run.c — a RUN step's container (build_internal.h): an OCI bundle whose
 * rootfs is the step's mounted overlay snapshot, run in the foreground with
 * the runc-compatible runtime (`<runtime> --root R run --bundle B <id>`),
 * its stdout and stderr streamed as build output, its exit code returned.
 *
 * The container is not a user container (no shim, no container record):
 * it lives as long as the step, in its own cgroup <parent>/<id>, with
 * dockerd's default capabilities, and in the step's network namespace: the
 * one the daemon set up on its default bridge (RUN --network=default), the
 * host's ("host"), or a new one with only lo ("none", or no bridge).
 * The runtime deletes it when it exits (`run` without --keep).
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include "build/build_internal.h"
#include "oci/oci.h"

extern char **environ;

/* dockerd's default capability set (oci/caps.go DefaultCapabilities). */
static const char *const docker_caps[] = {
    "CAP_CHOWN",  "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER",     "CAP_MKNOD",
    "CAP_NET_RAW", "CAP_SETGID",      "CAP_SETUID", "CAP_SETFCAP",    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE", NULL};

static json_t *caps_array(void) {
  json_t *a = json_array();
  for (size_t i = 0; docker_caps[i]; i++)
    json_array_append_new(a, json_string(docker_caps[i]));
  return a;
}

static json_t *bundle_spec(const struct brun_opts *o) {
  json_t *spec = oci_spec_default(false, 0, 0);
  json_object_set_new(spec, "root", json_pack("{s:s,s:b}", "path", o->rootfs, "readonly", 0));
  json_t *p = json_object_get(spec, "process");
  json_object_set_new(p, "terminal", json_false());
  json_object_set_new(p, "noNewPrivileges", json_false());
  json_t *args = json_array();
  for (size_t i = 0; o->args[i]; i++)
    json_array_append_new(args, json_string(o->args[i]));
  json_object_set_new(p, "args", args);
  json_t *env = json_array();
  for (size_t i = 0; o->env && o->env[i]; i++)
    json_array_append_new(env, json_string(o->env[i]));
  json_object_set_new(p, "env", env);
  json_object_set_new(p, "cwd", json_string(o->cwd && *o->cwd ? o->cwd : "/"));
  json_object_set_new(p, "user", json_pack("{s:I,s:I}", "uid", (json_int_t)o->uid, "gid", (json_int_t)o->gid));
  json_object_set_new(p, "capabilities", json_pack("{s:o,s:o,s:o}", "bounding", caps_array(), "effective",
                                                   caps_array(), "permitted", caps_array()));
  json_object_set_new(spec, "hostname", json_string(o->hostname));
  json_t *lin = json_object_get(spec, "linux");
  if (o->cgroup_parent && *o->cgroup_parent) {
    _cleanup_free_ char *cg = xasprintf("%s/%s", o->cgroup_parent, o->cid);
    json_object_set_new(lin, "cgroupsPath", json_string(cg));
  }
  json_t *ns = json_object_get(lin, "namespaces");
  for (size_t i = json_array_size(ns); (o->host_net || o->netns) && i-- > 0;)
    if (!strcmp(json_string_value(json_object_get(json_array_get(ns, i), "type")), "network"))
      json_array_remove(ns, i);
  if (o->netns && !o->host_net)
    json_array_append_new(ns, json_pack("{s:s,s:s}", "type", "network", "path", o->netns));
  json_t *mounts = json_object_get(spec, "mounts");
  size_t i;
  json_t *m;
  json_array_foreach(o->mounts, i, m) json_array_append(mounts, m);
  return spec;
}

int brun_container(const struct brun_opts *o, int *status, struct berr **err) {
  _cleanup_json_ json_t *spec = bundle_spec(o);
  _cleanup_free_ char *cfg = xasprintf("%s/config.json", o->bundle);
  _cleanup_free_ char *text = json_dumps(spec, JSON_INDENT(1));
  int r = mkdir_p(o->bundle, 0700, err);
  if (r == 0)
    r = write_file_replace(cfg, text, strlen(text), 0600, err);
  if (r < 0)
    return r;
  int pfd[2];
  if (pipe2(pfd, O_CLOEXEC) < 0)
    return berr_sys(err, errno, "pipe");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
  posix_spawn_file_actions_adddup2(&fa, pfd[1], 2);
  char *const argv[] = {(char *)o->runtime, "--root", (char *)o->state_root, "run", "--bundle",
                        (char *)o->bundle, (char *)o->cid, NULL};
  pid_t pid;
  int e = posix_spawn(&pid, o->runtime, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(pfd[1]);
  if (e != 0) {
    close(pfd[0]);
    return berr_sys(err, e, "run %s", o->runtime);
  }
  char buf[4097];
  for (;;) {
    ssize_t k = read(pfd[0], buf, sizeof buf - 1);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      break;
    buf[k] = '\0';
    if (o->out)
      o->out(o->ctx, buf);
  }
  close(pfd[0]);
  int ws = 0;
  while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
    ;
  *status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + (WIFSIGNALED(ws) ? WTERMSIG(ws) : 0);
  return 0;
}
