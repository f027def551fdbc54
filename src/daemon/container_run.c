/*
 * container_run.c — the container lifecycle: create, start (through
 * berth-shim), the monitor thread of each run, stop / kill / restart /
 * pause / wait / rm / rename / update / resize / prune, restart policies and
 * AutoRemove, and picking containers up again at berthd's start.
 *
 * A start: mount the rootfs (store_rw_mount), write config.json, shim_spawn
 * (the runtime's create), connect pending attaches, shim_start, then a
 * detached monitor thread blocks in shim_wait and records the exit. Each run
 * has a generation number: a monitor whose generation is no longer current
 * does nothing (a stale monitor after a restart).
 *
 * Errors of a start follow dockerd 20.10: "OCI runtime create failed: …:
 * unknown"; 400 when the command is missing (exit code 127) or cannot be run
 * (126), 500 otherwise; the container stays "created" (or "exited") with
 * State.Error set and its rootfs unmounted.
 *
 * Locks: c->lock is never held across a shim, runtime or store call; `busy`
 * marks a start / stop / rm in progress instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "daemon/container_internal.h"
#include "daemon/container_network.h"
#include "daemon/container_volumes.h"
#include "daemon/userns.h"
#include "oci/oci.h"

extern char **environ;

struct monitor_arg {
  struct daemon *d;
  struct container *c;
  uint64_t generation;
};

static void *monitor_thread(void *arg);
static int do_start(struct daemon *d, struct container *c, struct berr **err);
static void remove_after_exit(struct daemon *d, struct container *c);

/* ----------------------------------------------------------- helpers ---- */

static void wait_abs(struct timespec *ts, int64_t ms) {
  clock_gettime(CLOCK_MONOTONIC, ts);
  ts->tv_sec += ms / 1000;
  ts->tv_nsec += (ms % 1000) * 1000000L;
  if (ts->tv_nsec >= 1000000000L) {
    ts->tv_sec++;
    ts->tv_nsec -= 1000000000L;
  }
}

static void set_str(char **dst, const char *s) {
  free(*dst);
  *dst = s ? xstrdup(s) : NULL;
}

static void save_locked(struct daemon *d, struct container *c) {
  _cleanup_berr_ struct berr *e = NULL;
  if (ctr_save(d, c, &e) < 0)
    log_error("%s", e->msg);
}

static const char *restart_name(const struct container *c) {
  const char *n =
      json_string_value(json_object_get(json_object_get(c->host_config, "RestartPolicy"), "Name"));
  return n && *n ? n : "no";
}

static bool auto_remove(const struct container *c) {
  return json_is_true(json_object_get(c->host_config, "AutoRemove"));
}

/* Docker's restartmanager.ShouldRestart */
static bool should_restart(const struct container *c, int exit_code) {
  const char *p = restart_name(c);
  if (c->manually_stopped || c->stop_requested)
    return false;
  if (strcmp(p, "always") == 0 || strcmp(p, "unless-stopped") == 0)
    return true;
  if (strcmp(p, "on-failure") == 0) {
    json_int_t max = json_integer_value(
        json_object_get(json_object_get(c->host_config, "RestartPolicy"), "MaximumRetryCount"));
    return exit_code != 0 && (max == 0 || c->restart_count < max);
  }
  return false;
}

/* Run the OCI runtime: `runtime --root R <args…>`; its stderr into the error. */
static int run_runtime(struct daemon *d, const struct container *c, const char *const *args,
                       struct berr **err) {
  _cleanup_free_ char *rt = ctr_runtime_path(d, c);
  _cleanup_free_ char *root = ctr_runtime_root(d, c);
  const char *argv[16];
  size_t n = 0;
  argv[n++] = rt;
  argv[n++] = "--root";
  argv[n++] = root;
  for (size_t i = 0; args[i] && n < 15; i++)
    argv[n++] = args[i];
  argv[n] = NULL;
  int pfd[2];
  if (pipe2(pfd, O_CLOEXEC) < 0)
    return berr_sys(err, errno, "runtime %s", args[0]);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pfd[1], 2);
  posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
  pid_t pid;
  int rc = posix_spawn(&pid, rt, &fa, NULL, (char *const *)argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(pfd[1]);
  if (rc != 0) {
    close(pfd[0]);
    return berr_sys(err, rc, "runtime %s: exec %s", args[0], rt);
  }
  char buf[2048];
  size_t got = 0;
  ssize_t r;
  while ((r = read(pfd[0], buf + got, sizeof(buf) - 1 - got)) > 0 && got < sizeof(buf) - 1)
    got += (size_t)r;
  buf[got] = '\0';
  close(pfd[0]);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
    return 0;
  while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == ' '))
    buf[--got] = '\0';
  return berr_set(err, EIO, "%s", got ? buf : "runtime failed");
}

static char *exe_dir_file(const char *sibling, const char *name) {
  if (sibling == NULL)
    return NULL;
  const char *slash = strrchr(sibling, '/');
  if (slash == NULL)
    return NULL;
  return xasprintf("%.*s/%s", (int)(slash - sibling), sibling, name);
}

/* Docker's default seccomp profile. The lead decides where it is shipped:
 * /etc/berth/seccomp.json, or share/berth/seccomp.json beside the binaries. */
static json_t *default_seccomp(struct daemon *d) {
  _cleanup_free_ char *near = exe_dir_file(d->cfg.shim_path, "../share/berth/seccomp.json");
  const char *cands[] = {"/etc/berth/seccomp.json", near};
  for (size_t i = 0; i < 2; i++) {
    json_t *j = NULL;
    _cleanup_berr_ struct berr *e = NULL;
    if (cands[i] && path_exists(cands[i]) && json_load_path(cands[i], &j, &e) == 0)
      return j;
  }
  return seccomp_default_profile(); /* built in: seccomp_profile.c */
}

/* ------------------------------------------------------------ create ---- */

static char *new_id(void) {
  unsigned char b[32];
  if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
    for (size_t i = 0; i < sizeof(b); i++)
      b[i] = (unsigned char)(ctr_now_ns() >> (i % 8));
  char *s = xmalloc(65);
  for (size_t i = 0; i < 32; i++)
    sprintf(s + 2 * i, "%02x", b[i]);
  return s;
}

static int log_config(struct daemon *d, json_t *hc, struct berr **err) {
  json_t *lc = json_object_get(hc, "LogConfig");
  if (!json_is_object(lc)) {
    lc = json_object();
    json_object_set_new(hc, "LogConfig", lc);
  }
  const char *type = json_string_value(json_object_get(lc, "Type"));
  if (type == NULL || *type == '\0') {
    pthread_mutex_lock(&d->cfg_lock);
    json_object_set_new(lc, "Type", json_string(d->cfg.log_driver ? d->cfg.log_driver
                                                                   : "json-file"));
    if (!json_is_object(json_object_get(lc, "Config")) && d->cfg.log_opts)
      json_object_set_new(lc, "Config", json_deep_copy(d->cfg.log_opts));
    pthread_mutex_unlock(&d->cfg_lock);
    type = json_string_value(json_object_get(lc, "Type"));
  }
  if (!json_is_object(json_object_get(lc, "Config")))
    json_object_set_new(lc, "Config", json_object());
  if (strcmp(type, "json-file") && strcmp(type, "local") && strcmp(type, "none"))
    return berr_set(err, EINVAL, "logger: no log driver named '%s' is registered", type);
  return 0;
}

static int write_etc(struct daemon *d, const struct container *c, struct berr **err) {
  _cleanup_free_ char *host_resolv = NULL;
  (void)read_file("/etc/resolv.conf", &host_resolv, NULL, NULL);
  _cleanup_free_ char *hn = NULL, *hosts = NULL, *resolv = NULL;
  _cleanup_json_ json_t *hc = spec_dns_defaults(d, c->host_config);
  spec_etc_files(c->config, hc, host_resolv, &hn, &hosts, &resolv);
  const char *names[] = {"hostname", "hosts", "resolv.conf"};
  const char *data[] = {hn, hosts, resolv};
  /* No fsync (each cost 1-6 ms of every create): these files derive from the
   * record in SQLite, and do_start writes them again if a crash lost them. */
  for (size_t i = 0; i < 3; i++) {
    _cleanup_free_ char *p = xasprintf("%s/%s", c->root_dir, names[i]);
    if (write_file_replace(p, data[i], strlen(data[i]), 0644, err) < 0)
      return berr_wrap(err, "create %s", c->id);
  }
  return 0;
}

/* Split the create body into Config and HostConfig; merge the image. */
static int build_config(struct daemon *d, json_t *body, struct container *c, struct berr **err) {
  if (!json_is_object(body))
    return berr_set(err, EINVAL, "config cannot be empty in order to create a container");
  json_t *cfg = json_deep_copy(body);
  json_object_del(cfg, "HostConfig");
  json_object_del(cfg, "NetworkingConfig");
  c->config = cfg;
  json_t *hc = json_object_get(body, "HostConfig");
  c->host_config = json_is_object(hc) ? json_deep_copy(hc) : json_object();
  const char *image = json_string_value(json_object_get(cfg, "Image"));
  if (image == NULL || *image == '\0')
    return berr_set(err, EINVAL, "No such image: ");
  struct image *img = NULL;
  int rc = store_image_get(d->store, image, &img, err);
  if (rc < 0)
    return rc;
  c->image_id = xstrdup(img->id);
  spec_merge_image(cfg, json_object_get(img->config, "config"));
  image_free(img);
  if ((rc = spec_hostconfig_check(c->host_config, err)) < 0)
    return rc;
  if ((rc = log_config(d, c->host_config, err)) < 0)
    return rc;
  const char *hn = json_string_value(json_object_get(cfg, "Hostname"));
  if (hn == NULL || *hn == '\0') {
    const char *nm = json_string_value(json_object_get(c->host_config, "NetworkMode"));
    char host[256] = "";
    if (nm && strcmp(nm, "host") == 0 && gethostname(host, sizeof(host) - 1) == 0)
      json_object_set_new(cfg, "Hostname", json_string(host));
    else
      json_object_set_new(cfg, "Hostname", json_stringn(c->id, 12));
  }
  json_t *args = json_array();
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(cfg, "Entrypoint"), i, v) json_array_append(args, v);
  json_array_foreach(json_object_get(cfg, "Cmd"), i, v) json_array_append(args, v);
  if (json_array_size(args) == 0 || !json_is_string(json_array_get(args, 0))) {
    json_decref(args);
    return berr_set(err, EINVAL, "No command specified");
  }
  c->path = xstrdup(json_string_value(json_array_get(args, 0)));
  json_array_remove(args, 0);
  c->args = args;
  const char *rt = json_string_value(json_object_get(c->host_config, "Runtime"));
  pthread_mutex_lock(&d->cfg_lock);
  if (rt == NULL || *rt == '\0')
    rt = d->cfg.default_runtime ? d->cfg.default_runtime : "berth-runc";
  bool known = config_runtime_path(&d->cfg, rt) != NULL || strcmp(rt, "berth-runc") == 0;
  c->runtime = xstrdup(rt);
  pthread_mutex_unlock(&d->cfg_lock);
  if (!known)
    return berr_set(err, EINVAL, "Unknown runtime specified %s", rt);
  json_object_set_new(c->host_config, "Runtime", json_string(c->runtime));
  return 0;
}

int ctr_create(struct daemon *d, json_t *body, const char *name, char **out_id,
               json_t **warnings, struct berr **err) {
  int rc;
  if (name && *name && (rc = ctr_name_check(name, err)) < 0)
    return rc;
  struct container *c = ctr_alloc();
  _cleanup_free_ char *id = new_id();
  memcpy(c->id, id, 65);
  if (name && *name)
    c->name = xstrdup(name[0] == '/' ? name + 1 : name);
  c->created = time_now_rfc3339();
  ctr_set_paths(d, c);
  _cleanup_json_ json_t *warns = json_array();
  if ((rc = build_config(d, body, c, err)) < 0 ||
      (rc = limits_check_create(d, c->host_config, warns, err)) < 0 ||
      (rc = userns_check_create(d->userns, c->host_config, err)) < 0) {
    ctr_put(c);
    return rc;
  }
  if ((rc = ctr_register(d, c, err)) < 0) {
    ctr_put(c);
    return rc;
  }
  /* from here a failure unregisters: nothing half-created stays */
  if ((rc = mkdir_p(c->root_dir, 0710, err)) < 0 || (rc = write_etc(d, c, err)) < 0 ||
      (rc = ctr_volumes_create(d, c, err)) < 0 || (rc = ctr_net_create(d, c, body, err)) < 0 ||
      (rc = store_rw_create(d->store, c->id, c->image_id, err)) < 0 ||
      (rc = userns_ctr_create(d, c, err)) < 0 || (rc = ctr_volumes_populate(d, c, err)) < 0 ||
      (rc = ctr_save(d, c, err)) < 0) {
    _cleanup_berr_ struct berr *e2 = NULL;
    store_rw_remove(d->store, c->id, &e2);
    ctr_volumes_remove(d, c, true);
    ctr_net_remove(d, c);
    rm_rf(c->root_dir, &e2);
    ctr_unregister(d, c, &e2);
    ctr_put(c);
    return rc;
  }
  ctr_event(d, c, "create", NULL);
  *out_id = xstrdup(c->id);
  *warnings = json_incref(warns);
  ctr_put(c);
  return 0;
}

/* ------------------------------------------------------------- start ---- */

/* A namespace of another container (NetworkMode / IpcMode / PidMode
 * "container:x"): the path of its init's namespace. */
static int joined_ns(struct daemon *d, const json_t *hc, const char *key, const char *nsname,
                     char **out, struct berr **err) {
  const char *m = json_string_value(json_object_get(hc, key));
  *out = NULL;
  if (m == NULL || !str_has_prefix(m, "container:"))
    return 0;
  struct container *o = NULL;
  int rc = ctr_get(d, m + 10, &o, err);
  if (rc < 0)
    return berr_wrap(err, "joining network namespace of container");
  pthread_mutex_lock(&o->lock);
  pid_t pid = o->state == CTR_RUNNING || o->state == CTR_PAUSED ? o->pid : 0;
  pthread_mutex_unlock(&o->lock);
  if (pid == 0) {
    rc = berr_set(err, ENOTCONN, "cannot join network of a non running container: %s", o->id);
    ctr_put(o);
    return rc;
  }
  ctr_put(o);
  *out = xasprintf("/proc/%d/ns/%s", (int)pid, nsname);
  return 0;
}

static void log_opts_parse(const json_t *lc, struct shim_opts *o) {
  const json_t *cfg = json_object_get(lc, "Config");
  const char *ms = json_string_value(json_object_get(cfg, "max-size"));
  const char *mf = json_string_value(json_object_get(cfg, "max-file"));
  int64_t v = 0;
  o->log_max_size = -1;
  o->log_max_file = 1;
  if (ms && parse_size_bytes(ms, &v) == 0)
    o->log_max_size = v;
  if (mf && parse_int64(mf, &v) == 0 && v >= 1)
    o->log_max_file = (int)v;
  if (o->log_driver && strcmp(o->log_driver, "local") == 0) {
    if (!ms)
      o->log_max_size = 20 * 1024 * 1024;
    if (!mf)
      o->log_max_file = 5;
  }
}

/* dockerd 20.10's translation of a runtime start error (status and exit code). */
static int start_error(struct container *c, bool from_runtime, struct berr **err) {
  const char *m = err && *err ? (*err)->msg : "unknown error";
  /* dockerd's own errors while it builds the spec (a device, a user, a
   * group that does not exist) come as they are; the runtime's are wrapped */
  _cleanup_free_ char *msg =
      from_runtime ? xasprintf("OCI runtime create failed: %s: unknown", m) : xstrdup(m);
  /* Go's error strings are lower case, and the docker CLI matches them
   * case-sensitively ("no such file or directory" → exit 127) */
  static const char *const lower[][2] = {
      {"No such file or directory", "no such file or directory"},
      {"Permission denied", "permission denied"},
      {"Not a directory", "not a directory"},
  };
  for (size_t i = 0; i < 3; i++)
    for (char *p = strstr(msg, lower[i][0]); p; p = strstr(p, lower[i][0]))
      memcpy(p, lower[i][1], strlen(lower[i][1]));
  int code = EIO, exit_code = -1;
  if (strstr(m, "executable file not found") || strstr(m, "no such file or directory") ||
      strstr(m, "No such file or directory")) {
    code = EINVAL;
    exit_code = 127;
  } else if (strstr(m, "permission denied") || strstr(m, "Permission denied")) {
    code = EINVAL;
    exit_code = 126;
  } else if (strstr(m, "not a directory") || strstr(m, "Not a directory")) {
    code = EINVAL;
    exit_code = 127;
  }
  if (!from_runtime)
    exit_code = 128; /* dockerd: an error before the runtime ran */
  pthread_mutex_lock(&c->lock);
  set_str(&c->error, msg);
  if (exit_code >= 0)
    c->exit_code = exit_code;
  pthread_mutex_unlock(&c->lock);
  berr_free(*err);
  *err = NULL;
  return berr_set(err, code, "%s", msg);
}

struct start_ctx {
  json_t *cfg, *hc;
  char *rootfs, *shim_dir, *runtime, *runtime_root, *netns, *ipcns, *pidns, *init_path;
  json_t *vmounts; /* container_volumes.c: the OCI binds of volumes and binds */
  bool poststart;  /* the spec has poststart hooks: only the runtime's `start` runs them */
};

static void start_ctx_free(struct start_ctx *s) {
  json_decref(s->cfg);
  json_decref(s->hc);
  free(s->rootfs);
  free(s->shim_dir);
  free(s->runtime);
  free(s->runtime_root);
  free(s->netns);
  free(s->ipcns);
  free(s->pidns);
  free(s->init_path);
  json_decref(s->vmounts);
}

static int write_bundle(struct daemon *d, struct container *c, struct start_ctx *s,
                        struct berr **err) {
  _cleanup_json_ json_t *seccomp = default_seccomp(d);
  pthread_mutex_lock(&d->cfg_lock);
  _cleanup_json_ json_t *ulimits = json_deep_copy(d->cfg.default_ulimits);
  pthread_mutex_unlock(&d->cfg_lock);
  struct spec_input in = {
      .id = c->id, .config = s->cfg, .host_config = s->hc, .rootfs = s->rootfs,
      .root_dir = c->root_dir, .cgroup_parent = d->cfg.cgroup_parent,
      .default_ulimits = ulimits, .seccomp = seccomp, .netns_path = s->netns,
      .ipcns_path = s->ipcns, .pidns_path = s->pidns, .init_path = s->init_path,
      .volume_mounts = s->vmounts, .uid_mappings = userns_uid_map(d, s->hc),
      .gid_mappings = userns_gid_map(d, s->hc),
  };
  _cleanup_json_ json_t *spec = NULL;
  int rc = userns_ctr_start(d, c, err);
  if (rc == 0)
    rc = spec_build(&in, &spec, err);
  if (rc < 0)
    return rc;
  s->poststart = json_array_size(json_object_get(json_object_get(spec, "hooks"), "poststart")) > 0;
  _cleanup_free_ char *txt = json_dumps(spec, JSON_INDENT(1));
  _cleanup_free_ char *p = xasprintf("%s/config.json", c->run_dir);
  return write_file_replace(p, txt, strlen(txt), 0600, err);
}

/* berth-init for --init: next to berth-shim (an install), or ../init/ (the
 * build tree: src/shim/berth-shim, src/init/berth-init). dockerd's
 * --init-path / "init-path" key is not wired into the config yet. */
static char *find_init(struct daemon *d) {
  static const char *const rel[] = {"berth-init", "../init/berth-init"};
  for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
    char *p = exe_dir_file(d->cfg.shim_path, rel[i]);
    if (p && access(p, X_OK) == 0)
      return p;
    free(p);
  }
  return NULL;
}

static int prepare(struct daemon *d, struct container *c, struct start_ctx *s, struct berr **err) {
  int rc;
  s->shim_dir = ctr_shim_dir(c);
  s->runtime = ctr_runtime_path(d, c);
  s->runtime_root = ctr_runtime_root(d, c);
  if (json_is_true(json_object_get(s->hc, "Init"))) {
    s->init_path = find_init(d);
    if (s->init_path == NULL)
      return berr_set(err, EINVAL,
                      "start %s: --init: berth-init not found next to berth-shim (%s)", c->id,
                      d->cfg.shim_path ? d->cfg.shim_path : "berth-shim");
  }
  if ((rc = joined_ns(d, s->hc, "NetworkMode", "net", &s->netns, err)) < 0 ||
      (rc = joined_ns(d, s->hc, "IpcMode", "ipc", &s->ipcns, err)) < 0 ||
      (rc = joined_ns(d, s->hc, "PidMode", "pid", &s->pidns, err)) < 0)
    return rc;
  rm_rf(s->shim_dir, NULL);
  if ((rc = mkdir_p(s->shim_dir, 0700, err)) < 0 || (rc = mkdir_p(s->runtime_root, 0700, err)) < 0)
    return rc;
  if ((rc = store_rw_mount(d->store, c->id, &s->rootfs, err)) < 0)
    return rc;
  if ((rc = ctr_volumes_start(d, c, s->rootfs, &s->vmounts, err)) < 0 ||
      (rc = ctr_net_start(d, c, s->cfg, s->hc, &s->netns, err)) < 0 ||
      (rc = write_bundle(d, c, s, err)) < 0) {
    store_rw_unmount(d->store, c->id, NULL);
    ctr_volumes_release(d, c);
    ctr_net_stop(d, c);
    return rc;
  }
  return 0;
}

static void spawn_monitor(struct daemon *d, struct container *c, uint64_t gen) {
  struct monitor_arg *a = xcalloc(1, sizeof(*a));
  a->d = d;
  a->c = c;
  a->generation = gen;
  __atomic_add_fetch(&c->refs, 1, __ATOMIC_ACQ_REL);
  pthread_attr_t at;
  pthread_attr_init(&at);
  pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
  pthread_t t;
  if (pthread_create(&t, &at, monitor_thread, a) != 0) {
    log_error("container %s: cannot start its monitor thread", c->id);
    ctr_put(c);
    free(a);
  }
  pthread_attr_destroy(&at);
}

/* The start itself; `busy` is set by the caller. */
static int do_start(struct daemon *d, struct container *c, struct berr **err) {
  struct start_ctx s = {0};
  pthread_mutex_lock(&c->lock);
  s.cfg = json_deep_copy(c->config);
  s.hc = json_deep_copy(c->host_config);
  pthread_mutex_unlock(&c->lock);
  int rc = 0;
  /* written without fsync at create: after a power cut they may be gone */
  _cleanup_free_ char *hn_path = xasprintf("%s/hostname", c->root_dir);
  if (!path_exists(hn_path))
    rc = write_etc(d, c, err);
  if (rc == 0)
    rc = prepare(d, c, &s, err);
  if (rc < 0) {
    rc = start_error(c, false, err);
    start_ctx_free(&s);
    return rc;
  }
  const json_t *lc = json_object_get(s.hc, "LogConfig");
  struct shim_opts o = {
      .id = c->id, .bundle = c->run_dir, .state_dir = s.shim_dir, .runtime = s.runtime,
      .runtime_root = s.runtime_root, .tty = json_is_true(json_object_get(s.cfg, "Tty")),
      .open_stdin = json_is_true(json_object_get(s.cfg, "OpenStdin")),
      .log_driver = json_string_value(json_object_get(lc, "Type")), .log_path = c->log_path,
      /* our own runtime: the shim writes its exec.fifo instead of running `start` */
      .direct_start = !s.poststart && (!c->runtime || strcmp(c->runtime, "berth-runc") == 0),
  };
  log_opts_parse(lc, &o);
  if (o.log_driver && strcmp(o.log_driver, "local") == 0)
    o.log_path = NULL; /* the shim picks its own file for `local` */
  const json_t *cs = json_object_get(s.hc, "ConsoleSize");
  if (json_array_size(cs) == 2) {
    o.height = (int)json_integer_value(json_array_get(cs, 0));
    o.width = (int)json_integer_value(json_array_get(cs, 1));
  }
  pid_t pid = 0;
  log_debug("start %.12s: bundle ready", c->id);
  if ((rc = shim_spawn(d->cfg.shim_path, &o, &pid, err)) < 0) {
    store_rw_unmount(d->store, c->id, NULL);
    ctr_volumes_release(d, c);
    ctr_net_stop(d, c);
    rc = start_error(c, true, err);
    start_ctx_free(&s);
    return rc;
  }
  log_debug("start %.12s: shim up, init pid %d", c->id, (int)pid);
  pthread_mutex_lock(&c->lock);
  attach_connect_pending(c);
  pthread_mutex_unlock(&c->lock);
  if ((rc = shim_start(s.shim_dir, err)) < 0) {
    shim_kill(s.shim_dir, SIGKILL, true, NULL);
    struct shim_exit ex;
    shim_wait(s.shim_dir, &ex, NULL);
    shim_delete(s.shim_dir, NULL);
    store_rw_unmount(d->store, c->id, NULL);
    ctr_volumes_release(d, c);
    ctr_net_stop(d, c);
    rc = start_error(c, true, err);
    start_ctx_free(&s);
    return rc;
  }
  pthread_mutex_lock(&c->lock);
  c->state = CTR_RUNNING;
  c->pid = pid;
  c->exit_code = 0;
  c->oom_killed = false;
  set_str(&c->error, "");
  free(c->started_at);
  c->started_at = time_now_rfc3339();
  c->started_ns = ctr_now_ns();
  set_str(&c->rootfs, s.rootfs);
  uint64_t gen = ++c->generation;
  save_locked(d, c);
  pthread_cond_broadcast(&c->changed);
  pthread_mutex_unlock(&c->lock);
  start_ctx_free(&s);
  log_debug("start %.12s: started", c->id);
  ctr_event(d, c, "start", NULL);
  spawn_monitor(d, c, gen);
  ctr_health_start(d, c);
  return 0;
}

int ctr_start(struct daemon *d, struct container *c, struct berr **err) {
  pthread_mutex_lock(&c->lock);
  int rc = 0;
  if (c->state == CTR_PAUSED)
    rc = berr_set(err, EBUSY, "cannot start a paused container, try unpause instead");
  else if (c->state == CTR_RUNNING)
    rc = 1;
  else if (c->state == CTR_REMOVING || c->state == CTR_DEAD || c->removed)
    rc = berr_set(err, EBUSY, "container is marked for removal and cannot be started");
  else if (c->busy)
    rc = berr_set(err, EBUSY, "container %s is busy: another operation is in progress", c->id);
  if (rc != 0) {
    pthread_mutex_unlock(&c->lock);
    return rc;
  }
  c->busy = true;
  /* dockerd's containerStart(resetRestartManager): a start by the user (or
   * at daemon start) begins a new restart history */
  c->manually_stopped = false;
  c->stop_requested = false;
  c->backoff_ms = 0;
  c->restart_count = 0;
  pthread_mutex_unlock(&c->lock);
  rc = do_start(d, c, err);
  pthread_mutex_lock(&c->lock);
  c->busy = false;
  bool rm = rc < 0 && auto_remove(c);
  if (rc < 0)
    save_locked(d, c);
  pthread_cond_broadcast(&c->changed);
  pthread_mutex_unlock(&c->lock);
  /* dockerd removes an AutoRemove container whose start failed (the CLI's
   * `run --rm` waits for "removed") */
  if (rm)
    remove_after_exit(d, c);
  return rc;
}

/* ----------------------------------------------------------- monitor ---- */

static void remove_after_exit(struct daemon *d, struct container *c) {
  _cleanup_berr_ struct berr *e = NULL;
  if (ctr_remove(d, c, true, true, &e) < 0)
    log_warn("auto-remove %s: %s", c->id, e->msg);
}

static bool closing(struct daemon *d) {
  return __atomic_load_n(&d->ctrs->closing, __ATOMIC_ACQUIRE);
}

/* The restart policy's back-off (Docker's restartmanager): 100 ms, doubling
 * at each restart, back to 100 ms after a run of 10 s or more, at most 1 min. */
static bool restart_after_backoff(struct daemon *d, struct container *c, uint64_t gen) {
  pthread_mutex_lock(&c->lock);
  int64_t ran_ms = (ctr_now_ns() - c->started_ns) / 1000000;
  c->backoff_ms = (ran_ms >= 10000 || c->backoff_ms == 0) ? 100 : c->backoff_ms * 2;
  if (c->backoff_ms > 60000)
    c->backoff_ms = 60000;
  c->state = CTR_RESTARTING;
  save_locked(d, c);
  pthread_cond_broadcast(&c->changed);
  struct timespec ts;
  wait_abs(&ts, c->backoff_ms);
  while (!c->stop_requested && !c->removed && c->generation == gen && !closing(d) &&
         pthread_cond_timedwait(&c->changed, &c->lock, &ts) != ETIMEDOUT)
    ;
  bool go = !c->stop_requested && !c->removed && c->generation == gen && !c->busy &&
            c->state == CTR_RESTARTING && !closing(d);
  if (go) {
    c->busy = true;
    c->restart_count++;
  } else if (closing(d)) {
    /* berthd is going down (live restore): the record stays "restarting",
     * and the next berthd applies the policy */
  } else if (c->state == CTR_RESTARTING) {
    c->state = CTR_EXITED;
    save_locked(d, c);
  }
  pthread_mutex_unlock(&c->lock);
  if (!go)
    return false;
  _cleanup_berr_ struct berr *e = NULL;
  int rc = do_start(d, c, &e);
  pthread_mutex_lock(&c->lock);
  c->busy = false;
  if (rc < 0) {
    log_warn("restart %s: %s", c->id, e->msg);
    c->state = CTR_EXITED;
    save_locked(d, c);
  }
  pthread_cond_broadcast(&c->changed);
  pthread_mutex_unlock(&c->lock);
  return rc == 0;
}

/* Record an exit (from the shim's wait or exit.json). */
/* Persist the exit before the shim (and its exit.json) goes, without
 * showing it yet: a waiter that sees "exited" may start the next run, whose
 * rootfs our unmount must not take away. So the record says "exited" while
 * the in-memory state still says "running" until the clean-up is done; a
 * SIGKILL of berthd in between loses nothing. Call with c->lock held. */
static void save_exit_early(struct daemon *d, struct container *c, const struct shim_exit *ex) {
  enum ctr_state st = c->state;
  pid_t pid = c->pid;
  int code = c->exit_code;
  bool oom = c->oom_killed;
  char *fin = c->finished_at;
  c->state = CTR_EXITED;
  c->pid = 0;
  c->exit_code = ex->exit_code;
  c->oom_killed = ex->oom_killed;
  c->finished_at = ex->finished_at[0] ? xstrdup(ex->finished_at) : time_now_rfc3339();
  save_locked(d, c);
  free(c->finished_at);
  c->state = st;
  c->pid = pid;
  c->exit_code = code;
  c->oom_killed = oom;
  c->finished_at = fin;
}

static void record_exit(struct daemon *d, struct container *c, uint64_t gen,
                        const struct shim_exit *ex) {
  _cleanup_free_ char *sd = ctr_shim_dir(c);
  pthread_mutex_lock(&c->lock);
  bool current = c->generation == gen;
  if (current)
    save_exit_early(d, c, ex);
  pthread_mutex_unlock(&c->lock);
  if (!current)
    return; /* a stale monitor: the shim dir belongs to a newer run */
  shim_delete(sd, NULL);
  store_rw_unmount(d->store, c->id, NULL);
  ctr_volumes_release(d, c);
  ctr_net_stop(d, c);
  pthread_mutex_lock(&c->lock);
  if (c->generation != gen) {
    pthread_mutex_unlock(&c->lock);
    return;
  }
  c->state = CTR_EXITED;
  c->pid = 0;
  c->exit_code = ex->exit_code;
  c->oom_killed = ex->oom_killed;
  free(c->finished_at);
  c->finished_at = ex->finished_at[0] ? xstrdup(ex->finished_at) : time_now_rfc3339();
  set_str(&c->rootfs, NULL);
  c->exits++;
  bool restart = should_restart(c, ex->exit_code);
  bool rm = auto_remove(c) && !restart;
  /* the record save_exit_early wrote is this one (the fields changed since
   * are not persisted); an AutoRemove container's next save is "removing" */
  if (!rm)
    save_locked(d, c);
  pthread_cond_broadcast(&c->changed);
  pthread_mutex_unlock(&c->lock);
  if (ex->oom_killed)
    ctr_event(d, c, "oom", NULL);
  json_t *attrs = json_object();
  json_object_set_new(attrs, "exitCode", json_sprintf("%d", ex->exit_code));
  ctr_event(d, c, "die", attrs);
  if (rm)
    remove_after_exit(d, c);
  else if (restart)
    restart_after_backoff(d, c, gen);
}

static void *monitor_thread(void *arg) {
  struct monitor_arg *a = arg;
  struct daemon *d = a->d;
  struct container *c = a->c;
  _cleanup_free_ char *sd = ctr_shim_dir(c);
  struct shim_exit ex = {0};
  _cleanup_berr_ struct berr *e = NULL;
  if (shim_wait(sd, &ex, &e) < 0 && shim_read_exit(sd, &ex, NULL) < 0) {
    /* the shim went away without an exit record: Docker reports 255 */
    memset(&ex, 0, sizeof(ex));
    ex.exit_code = 255;
    log_warn("container %s: lost its shim: %s", c->id, e ? e->msg : "?");
  }
  log_debug("container %.12s: exited with %d", c->id, ex.exit_code);
  struct containers *m = d->ctrs;
  pthread_mutex_lock(&m->lock);
  bool closing = m->closing;
  if (!closing)
    m->active++;
  pthread_mutex_unlock(&m->lock);
  if (!closing) {
    record_exit(d, c, a->generation, &ex);
    pthread_mutex_lock(&m->lock);
    if (--m->active == 0)
      pthread_cond_broadcast(&m->idle);
    pthread_mutex_unlock(&m->lock);
  }
  ctr_put(c);
  free(a);
  return NULL;
}

/* ---------------------------------------------------------- stop/kill ---- */

static bool is_up(enum ctr_state s) {
  return s == CTR_RUNNING || s == CTR_PAUSED;
}

/* Wait until the run `gen` ended (or `ms` passed; ms < 0: forever). */
static bool wait_exit(struct container *c, uint64_t exits0, int64_t ms) {
  struct timespec ts;
  wait_abs(&ts, ms < 0 ? 3600 * 1000 : ms);
  pthread_mutex_lock(&c->lock);
  int rc = 0;
  while (c->exits == exits0 && is_up(c->state) && rc != ETIMEDOUT)
    rc = pthread_cond_timedwait(&c->changed, &c->lock, &ts);
  bool done = !(c->exits == exits0 && is_up(c->state));
  pthread_mutex_unlock(&c->lock);
  return done;
}

static int stop_signal(const struct container *c) {
  const char *s = json_string_value(json_object_get(c->config, "StopSignal"));
  int sig = SIGTERM;
  if (s && *s && oci_signal_parse(s, &sig) < 0)
    sig = SIGTERM;
  return sig;
}

static int resume_if_paused(struct daemon *d, struct container *c) {
  pthread_mutex_lock(&c->lock);
  bool paused = c->state == CTR_PAUSED;
  pthread_mutex_unlock(&c->lock);
  if (!paused)
    return 0;
  const char *args[] = {"resume", c->id, NULL};
  int rc = run_runtime(d, c, args, NULL);
  pthread_mutex_lock(&c->lock);
  if (rc == 0 && c->state == CTR_PAUSED)
    c->state = CTR_RUNNING;
  pthread_mutex_unlock(&c->lock);
  return rc;
}

/* Stop a run: signal, wait `timeout` seconds (< 0: forever), SIGKILL. */
static int stop_run(struct daemon *d, struct container *c, int64_t timeout, bool manual,
                    struct berr **err) {
  _cleanup_free_ char *sd = ctr_shim_dir(c);
  pthread_mutex_lock(&c->lock);
  if (c->state == CTR_RESTARTING) {
    c->stop_requested = true;
    c->manually_stopped = c->manually_stopped || manual;
    c->state = CTR_EXITED;
    save_locked(d, c);
    pthread_cond_broadcast(&c->changed);
    pthread_mutex_unlock(&c->lock);
    return 0;
  }
  if (!is_up(c->state)) {
    pthread_mutex_unlock(&c->lock);
    return 1;
  }
  c->stop_requested = true;
  if (manual)
    c->manually_stopped = true;
  save_locked(d, c);
  uint64_t exits0 = c->exits;
  int sig = stop_signal(c);
  if (timeout == INT64_MIN) {
    json_t *st = json_object_get(c->config, "StopTimeout");
    timeout = json_is_integer(st) ? json_integer_value(st) : 10;
  }
  pthread_mutex_unlock(&c->lock);
  ctr_event(d, c, "kill", json_pack("{s:i}", "signal", sig));
  _cleanup_berr_ struct berr *e = NULL;
  if (shim_kill(sd, sig, false, &e) < 0)
    log_debug("stop %s: signal %d: %s", c->id, sig, e->msg);
  resume_if_paused(d, c);
  if (!wait_exit(c, exits0, timeout < 0 ? -1 : timeout * 1000)) {
    ctr_event(d, c, "kill", json_pack("{s:i}", "signal", SIGKILL));
    if (shim_kill(sd, SIGKILL, true, err) < 0)
      log_debug("stop %s: SIGKILL failed", c->id);
    if (!wait_exit(c, exits0, 30000))
      return berr_set(err, EIO, "stop %s: the process did not exit after SIGKILL", c->id);
  }
  return 0;
}

int ctr_stop(struct daemon *d, struct container *c, int64_t timeout, struct berr **err) {
  int rc = stop_run(d, c, timeout, true, err);
  if (rc == 0)
    ctr_event(d, c, "stop", NULL);
  return rc;
}

void ctr_shutdown_stop(struct daemon *d, struct container *c) {
  _cleanup_berr_ struct berr *e = NULL;
  if (stop_run(d, c, INT64_MIN, false, &e) < 0)
    log_warn("shutdown: %s", e->msg);
}

int ctr_kill(struct daemon *d, struct container *c, const char *signal, struct berr **err) {
  int sig = SIGKILL;
  if (signal && *signal && oci_signal_parse(signal, &sig) < 0)
    return berr_set(err, EINVAL, "Invalid signal: %s", signal);
  pthread_mutex_lock(&c->lock);
  if (!is_up(c->state)) {
    pthread_mutex_unlock(&c->lock);
    return berr_set(err, ENOTCONN, "Cannot kill container: %s: Container %s is not running",
                    c->name, c->id);
  }
  if (sig == SIGKILL || sig == stop_signal(c)) {
    c->manually_stopped = true;
    c->stop_requested = true;
    save_locked(d, c);
  }
  pthread_mutex_unlock(&c->lock);
  _cleanup_free_ char *sd = ctr_shim_dir(c);
  int rc = shim_kill(sd, sig, false, err);
  if (rc < 0)
    return berr_wrap(err, "Cannot kill container: %s", c->name);
  ctr_event(d, c, "kill", json_pack("{s:i}", "signal", sig));
  return 0;
}

int ctr_restart(struct daemon *d, struct container *c, int64_t timeout, struct berr **err) {
  int rc = stop_run(d, c, timeout, false, err);
  if (rc < 0)
    return rc;
  if (rc == 0)
    ctr_event(d, c, "stop", NULL);
  pthread_mutex_lock(&c->lock);
  c->stop_requested = false;
  pthread_mutex_unlock(&c->lock);
  rc = ctr_start(d, c, err);
  if (rc < 0)
    return rc;
  ctr_event(d, c, "restart", NULL);
  return 0;
}

int ctr_pause(struct daemon *d, struct container *c, bool pause, struct berr **err) {
  pthread_mutex_lock(&c->lock);
  int rc = 0;
  if (!is_up(c->state))
    rc = berr_set(err, ENOTCONN, "Container %s is not running", c->id);
  else if (pause && c->state == CTR_PAUSED)
    rc = berr_set(err, ENOTCONN, "Container %s is already paused", c->id);
  else if (!pause && c->state != CTR_PAUSED)
    rc = berr_set(err, ENOTCONN, "Container %s is not paused", c->id);
  pthread_mutex_unlock(&c->lock);
  if (rc < 0)
    return rc;
  const char *args[] = {pause ? "pause" : "resume", c->id, NULL};
  if ((rc = run_runtime(d, c, args, err)) < 0)
    return berr_wrap(err, "Cannot %s container %s", pause ? "pause" : "unpause", c->id);
  pthread_mutex_lock(&c->lock);
  if (is_up(c->state))
    c->state = pause ? CTR_PAUSED : CTR_RUNNING;
  save_locked(d, c);
  pthread_cond_broadcast(&c->changed);
  pthread_mutex_unlock(&c->lock);
  ctr_event(d, c, pause ? "pause" : "unpause", NULL);
  return 0;
}

/* -------------------------------------------------------------- wait ---- */

int ctr_wait(struct daemon *d, struct container *c, const char *condition, int *code,
             struct berr **err) {
  (void)d;
  const char *cond = condition && *condition ? condition : "not-running";
  if (strcmp(cond, "not-running") && strcmp(cond, "next-exit") && strcmp(cond, "removed"))
    return berr_set(err, EINVAL, "invalid condition: \"%s\"", cond);
  pthread_mutex_lock(&c->lock);
  uint64_t exits0 = c->exits;
  for (;;) {
    bool up = c->state == CTR_RUNNING || c->state == CTR_PAUSED || c->state == CTR_RESTARTING ||
              c->busy;
    if (strcmp(cond, "removed") == 0 ? c->removed
        : strcmp(cond, "next-exit") == 0 ? c->exits != exits0
                                         : (!up || c->removed))
      break;
    if (strcmp(cond, "next-exit") == 0 && c->removed)
      break;
    pthread_cond_wait(&c->changed, &c->lock);
  }
  *code = c->exit_code;
  pthread_mutex_unlock(&c->lock);
  return 0;
}

/* ------------------------------------------------------------ remove ---- */

int ctr_remove(struct daemon *d, struct container *c, bool force, bool volumes,
               struct berr **err) {
  pthread_mutex_lock(&c->lock);
  if (c->removed || c->state == CTR_REMOVING) {
    pthread_mutex_unlock(&c->lock);
    return berr_set(err, EBUSY, "removal of container %s is already in progress", c->name);
  }
  bool up = is_up(c->state) || c->state == CTR_RESTARTING;
  if (up && !force) {
    pthread_mutex_unlock(&c->lock);
    return berr_set(err, EBUSY,
                    "You cannot remove a %s container %s. Stop the container before attempting "
                    "removal or force remove",
                    c->state == CTR_PAUSED ? "paused" : c->state == CTR_RESTARTING ? "restarting"
                                                                                    : "running",
                    c->id);
  }
  c->stop_requested = true;
  pthread_mutex_unlock(&c->lock);
  if (up) {
    _cleanup_free_ char *sd = ctr_shim_dir(c);
    pthread_mutex_lock(&c->lock);
    uint64_t exits0 = c->exits;
    bool restarting = c->state == CTR_RESTARTING;
    if (restarting) {
      c->state = CTR_EXITED;
      pthread_cond_broadcast(&c->changed);
    }
    pthread_mutex_unlock(&c->lock);
    if (!restarting) {
      shim_kill(sd, SIGKILL, true, NULL);
      resume_if_paused(d, c);
      if (!wait_exit(c, exits0, 30000))
        return berr_set(err, EIO, "Could not kill running container %s, cannot remove", c->id);
    }
  }
  pthread_mutex_lock(&c->lock);
  if (c->removed || c->state == CTR_REMOVING) {
    pthread_mutex_unlock(&c->lock);
    return 0; /* AutoRemove got there first */
  }
  c->state = CTR_REMOVING;
  save_locked(d, c); /* a berthd killed from here on finds it "dead" (ctr_resume) */
  pthread_mutex_unlock(&c->lock);
  _cleanup_berr_ struct berr *e = NULL;
  _cleanup_free_ char *sd = ctr_shim_dir(c);
  if (shim_alive(sd))
    shim_delete(sd, NULL);
  log_debug("remove %.12s: shim and runtime state deleted", c->id);
  if (store_rw_remove(d->store, c->id, &e) < 0) {
    pthread_mutex_lock(&c->lock);
    c->state = CTR_DEAD;
    save_locked(d, c);
    pthread_mutex_unlock(&c->lock);
    return berr_set(err, EIO, "unable to remove filesystem for %s: %s", c->id, e->msg);
  }
  ctr_volumes_remove(d, c, volumes); /* rm -v / --rm: the anonymous volumes go too */
  ctr_net_remove(d, c);
  rm_rf(c->run_dir, NULL);
  rm_rf(c->root_dir, NULL);
  int rc = ctr_unregister(d, c, err);
  log_debug("remove %.12s: removed", c->id);
  ctr_event(d, c, "destroy", NULL);
  return rc;
}

/* ------------------------------------------------------ rename/update ---- */

int ctr_rename(struct daemon *d, struct container *c, const char *name, struct berr **err) {
  const char *n = name && name[0] == '/' ? name + 1 : name;
  if (n == NULL || *n == '\0')
    return berr_set(err, EINVAL, "Neither old nor new names may be empty");
  pthread_mutex_lock(&c->lock);
  _cleanup_free_ char *old = xstrdup(c->name);
  pthread_mutex_unlock(&c->lock);
  if (strcmp(old, n) == 0)
    return berr_set(err, EINVAL, "Renaming a container with the same name as its current name");
  int rc = ctr_set_name(d, c, name, err);
  if (rc < 0)
    return rc;
  ctr_net_rename(d, c, n); /* the embedded DNS answers the new name */
  pthread_mutex_lock(&c->lock);
  rc = ctr_save(d, c, err);
  pthread_mutex_unlock(&c->lock);
  ctr_event(d, c, "rename", json_pack("{s:s+}", "oldName", "/", old));
  return rc;
}

static const char *const update_keys[] = {
    "CpuShares", "Memory", "CgroupParent", "BlkioWeight", "CpuPeriod", "CpuQuota",
    "CpuRealtimePeriod", "CpuRealtimeRuntime", "CpusetCpus", "CpusetMems", "MemoryReservation",
    "MemorySwap", "KernelMemory", "NanoCpus", "PidsLimit", "MemorySwappiness", NULL,
};

int ctr_update(struct daemon *d, struct container *c, const json_t *body, json_t **warnings,
               struct berr **err) {
  *warnings = json_array();
  /* dockerd checks the request's resources alone first, unwrapped */
  _cleanup_json_ json_t *req = json_is_object(body) ? json_deep_copy(body) : json_object();
  if (limits_check_resources(req, *warnings, err) < 0)
    return -1;
  pthread_mutex_lock(&c->lock);
  _cleanup_json_ json_t *hc = json_deep_copy(c->host_config);
  pthread_mutex_unlock(&c->lock);
  for (size_t i = 0; update_keys[i]; i++) {
    json_t *v = json_object_get(body, update_keys[i]);
    if (v && !json_is_null(v) && !(json_is_integer(v) && json_integer_value(v) == 0 &&
                                   !json_object_get(hc, update_keys[i])))
      json_object_set(hc, update_keys[i], v);
  }
  json_t *rp = json_object_get(body, "RestartPolicy");
  if (json_is_object(rp) && json_string_length(json_object_get(rp, "Name")) > 0) {
    if (json_is_true(json_object_get(hc, "AutoRemove")) &&
        strcmp(json_string_value(json_object_get(rp, "Name")), "no") != 0)
      return berr_set(err, EINVAL,
                      "Restart policy cannot be updated because AutoRemove is enabled for the "
                      "container");
    json_object_set(hc, "RestartPolicy", rp);
  }
  int rc = spec_hostconfig_check(hc, err);
  if (rc < 0 || (rc = limits_check_resources(hc, NULL, err)) < 0)
    return berr_wrap(err, "Cannot update container %s", c->id);
  pthread_mutex_lock(&c->lock);
  bool up = is_up(c->state);
  pthread_mutex_unlock(&c->lock);
  if (up) {
    _cleanup_json_ json_t *lin = json_object();
    if ((rc = spec_build_resources(hc, lin, err)) < 0)
      return berr_wrap(err, "Cannot update container %s", c->id);
    json_t *res = json_object_get(lin, "resources");
    json_object_del(res, "devices");
    _cleanup_free_ char *txt = json_dump_compact(res);
    _cleanup_free_ char *p = xasprintf("%s/update.json", c->run_dir);
    if ((rc = write_file_replace(p, txt, strlen(txt), 0600, err)) < 0)
      return rc;
    const char *args[] = {"update", "-r", p, c->id, NULL};
    if ((rc = run_runtime(d, c, args, err)) < 0)
      return berr_wrap(err, "Cannot update container %s", c->id);
  }
  pthread_mutex_lock(&c->lock);
  json_decref(c->host_config);
  c->host_config = json_incref(hc);
  rc = ctr_save(d, c, err);
  pthread_mutex_unlock(&c->lock);
  ctr_event(d, c, "update", NULL);
  return rc;
}

int ctr_resize(struct daemon *d, struct container *c, int height, int width, struct berr **err) {
  (void)d;
  pthread_mutex_lock(&c->lock);
  bool up = is_up(c->state);
  pthread_mutex_unlock(&c->lock);
  if (!up)
    return berr_set(err, ENOTCONN, "Container %s is not running", c->id);
  _cleanup_free_ char *sd = ctr_shim_dir(c);
  return shim_resize(sd, height, width, err);
}

/* ------------------------------------------------------------- prune ---- */

static bool prune_until_ok(const json_t *filters, const struct container *c) {
  json_t *u = json_object_get(filters, "until");
  if (json_array_size(u) == 0)
    return true;
  const char *s = json_string_value(json_array_get(u, 0));
  int64_t created = ctr_parse_time(c->created) / 1000000000LL, t = 0;
  if (parse_int64(s, &t) < 0) {
    int64_t ns = ctr_parse_time(s);
    t = ns ? ns / 1000000000LL : INT64_MAX;
  }
  return created < t;
}

int ctr_prune(struct daemon *d, const json_t *filters, json_t **out, struct berr **err) {
  static const char *const accepted[] = {"until", "label", "label!", NULL};
  int rc = filters_check(filters, accepted, err);
  if (rc < 0)
    return rc;
  size_t n = 0;
  struct container **v = ctr_list(d, &n);
  json_t *deleted = json_array();
  int64_t space = 0;
  for (size_t i = 0; i < n; i++) {
    struct container *c = v[i];
    pthread_mutex_lock(&c->lock);
    bool candidate = (c->state == CTR_EXITED || c->state == CTR_CREATED || c->state == CTR_DEAD)
                     && !c->busy && prune_until_ok(filters, c) &&
                     filters_match_labels(filters, "label", json_object_get(c->config, "Labels"));
    json_t *neg = json_object_get(filters, "label!");
    if (candidate && json_array_size(neg) > 0) {
      _cleanup_json_ json_t *f = json_pack("{s:O}", "label", neg);
      candidate = !filters_match_labels(f, "label", json_object_get(c->config, "Labels"));
    }
    pthread_mutex_unlock(&c->lock);
    if (!candidate)
      continue;
    int64_t sz = store_rw_size(d->store, c->id);
    _cleanup_berr_ struct berr *e = NULL;
    if (ctr_remove(d, c, false, false, &e) == 0) {
      json_array_append_new(deleted, json_string(c->id));
      space += sz > 0 ? sz : 0;
    }
  }
  ctr_list_free(v, n);
  *out = json_pack("{s:o,s:I}", "ContainersDeleted", deleted, "SpaceReclaimed",
                   (json_int_t)space);
  if (json_array_size(deleted) == 0)
    json_object_set_new(*out, "ContainersDeleted", json_null());
  if (d->events) {
    json_t *attrs = json_object();
    json_object_set_new(attrs, "reclaimed", json_sprintf("%lld", (long long)space));
    events_publish(d->events, "container", "prune", "", attrs);
  }
  return 0;
}

/* ------------------------------------------------------------ resume ---- */

/* Docker's restore decision (daemon.restore + restartmanager.ShouldRestart with
 * a fresh manager): at daemon start `always` comes back even after a `docker
 * stop`, `unless-stopped` unless stopped by the user, `on-failure` after a
 * non-zero exit within MaximumRetryCount; only containers started before. */
static bool restart_at_daemon_start(const struct container *c) {
  const char *p = restart_name(c);
  if (ctr_parse_time(c->started_at) == 0)
    return false;
  if (strcmp(p, "always") == 0)
    return true;
  if (strcmp(p, "unless-stopped") == 0)
    return !c->manually_stopped;
  if (strcmp(p, "on-failure") == 0) {
    json_int_t max = json_integer_value(
        json_object_get(json_object_get(c->host_config, "RestartPolicy"), "MaximumRetryCount"));
    return c->exit_code != 0 && (max == 0 || c->restart_count < max);
  }
  return false;
}

/* A run whose process ended while berthd was away: its exit from exit.json
 * (255 when the shim left none, as dockerd reports a lost task). */
static void record_exit_offline(struct daemon *d, struct container *c, const char *sd) {
  struct shim_exit ex = {0};
  if (shim_read_exit(sd, &ex, NULL) < 0) {
    memset(&ex, 0, sizeof(ex));
    ex.exit_code = 255;
  }
  if (shim_alive(sd))
    shim_delete(sd, NULL);
  store_rw_unmount(d->store, c->id, NULL);
  ctr_net_stop(d, c);
  pthread_mutex_lock(&c->lock);
  c->state = CTR_EXITED;
  c->pid = 0;
  c->exit_code = ex.exit_code;
  c->oom_killed = ex.oom_killed;
  free(c->finished_at);
  c->finished_at = ex.finished_at[0] ? xstrdup(ex.finished_at) : time_now_rfc3339();
  c->exits++;
  save_locked(d, c);
  pthread_mutex_unlock(&c->lock);
  rm_rf(sd, NULL);
  log_info("container %.12s exited (%d) while berthd was down", c->id, ex.exit_code);
  json_t *attrs = json_object();
  json_object_set_new(attrs, "exitCode", json_sprintf("%d", ex.exit_code));
  ctr_event(d, c, "die", attrs);
}

/* The shim of a container whose record does not say it runs: berthd died in
 * the middle of a start (after the shim's spawn, before the record said
 * "running"). Undo that start: the record is the truth. */
static void undo_interrupted_start(struct daemon *d, struct container *c, const char *sd) {
  log_warn("container %.12s: a start was interrupted by berthd's end; undoing it", c->id);
  _cleanup_berr_ struct berr *e = NULL;
  if (shim_delete_force(sd, true, &e) < 0) {
    /* not serving yet: end the shim (shim_alive checked it is one), then
     * whatever its runtime create made */
    log_debug("container %.12s: %s; killing its shim", c->id, e->msg);
    _cleanup_free_ char *pidfile = xasprintf("%s/shim.pid", sd);
    _cleanup_free_ char *txt = NULL;
    int64_t pid = 0;
    if (shim_alive(sd) && read_file(pidfile, &txt, NULL, NULL) == 0) {
      txt[strcspn(txt, "\n")] = '\0';
      if (parse_int64(txt, &pid) == 0 && pid > 1)
        kill((pid_t)pid, SIGKILL);
    }
    const char *args[] = {"delete", "--force", c->id, NULL};
    run_runtime(d, c, args, NULL);
  }
  store_rw_unmount(d->store, c->id, NULL);
  ctr_net_stop(d, c);
  rm_rf(sd, NULL);
}

/* A shim whose berthd was killed in the middle of shim_spawn may still be on
 * its way up (shim.pid, the runtime's create, then shim.sock): when its state
 * dir is recent, give it up to 3 s to be serving or gone before deciding. */
static bool shim_settled_alive(const char *sd) {
  struct stat st;
  if (stat(sd, &st) < 0)
    return false;
  if (ctr_now_ns() / 1000000000LL - (int64_t)st.st_mtime > 15)
    return shim_alive(sd);
  _cleanup_free_ char *sock = xasprintf("%s/shim.sock", sd);
  for (int i = 0; i < 30; i++) {
    bool alive = shim_alive(sd);
    if (alive && path_exists(sock))
      return true;
    if (!alive && i >= 5)
      return false;
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  return shim_alive(sd);
}

/* Keep the health status of a run that goes on (ctr_health_start resets it
 * for a new run): only the probing thread is new. */
static void health_resume(struct daemon *d, struct container *c) {
  pthread_mutex_lock(&c->lock);
  _cleanup_json_ json_t *old = c->health ? json_deep_copy(c->health) : NULL;
  pthread_mutex_unlock(&c->lock);
  ctr_health_start(d, c);
  pthread_mutex_lock(&c->lock);
  if (old && c->health) {
    json_object_set(c->health, "Status", json_object_get(old, "Status"));
    json_object_set(c->health, "FailingStreak", json_object_get(old, "FailingStreak"));
  }
  pthread_mutex_unlock(&c->lock);
}

void ctr_resume(struct daemon *d, struct container *c) {
  _cleanup_free_ char *sd = ctr_shim_dir(c);
  pthread_mutex_lock(&c->lock);
  enum ctr_state st = c->state;
  uint64_t gen = ++c->generation;
  /* the back-off of a run that went on: measured from its start */
  c->started_ns = ctr_parse_time(c->started_at);
  pthread_mutex_unlock(&c->lock);
  bool alive = is_up(st) ? shim_alive(sd) : shim_settled_alive(sd);
  if (st == CTR_REMOVING) {
    /* killed during a removal: like dockerd, "dead"; `docker rm` finishes it */
    if (alive)
      undo_interrupted_start(d, c, sd);
    pthread_mutex_lock(&c->lock);
    c->state = CTR_DEAD;
    c->pid = 0;
    save_locked(d, c);
    pthread_mutex_unlock(&c->lock);
    return;
  }
  if (is_up(st) && alive) {
    /* live restore: the shim kept the container; watch it again */
    log_debug("container %.12s: restored (%s)", c->id, ctr_state_name(st));
    ctr_volumes_resume(d, c);
    spawn_monitor(d, c, gen);
    health_resume(d, c);
    return;
  }
  if (is_up(st)) {
    record_exit_offline(d, c, sd);
  } else {
    if (alive)
      undo_interrupted_start(d, c, sd);
    if (st == CTR_RESTARTING) {
      /* between two runs: the exit is recorded already */
      pthread_mutex_lock(&c->lock);
      c->state = CTR_EXITED;
      save_locked(d, c);
      pthread_mutex_unlock(&c->lock);
    }
  }
  pthread_mutex_lock(&c->lock);
  bool restart = restart_at_daemon_start(c);
  bool rm = !restart && auto_remove(c);
  pthread_mutex_unlock(&c->lock);
  if (restart) {
    _cleanup_berr_ struct berr *e = NULL;
    if (ctr_start(d, c, &e) < 0)
      log_warn("restart %s at daemon start: %s", c->id, e->msg);
  } else if (rm) {
    /* dockerd removes every AutoRemove container that is not running */
    remove_after_exit(d, c);
  }
}
