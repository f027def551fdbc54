/*
 * container_exec.c — exec instances (POST /containers/{id}/exec, /exec/{id}/…).
 *
 * An exec instance is a directory, not a table: <run_dir>/exec/<exec id>/ on
 * the exec-root (tmpfs, so it dies with the boot, as Docker's in-memory execs
 * die with dockerd) holds
 *   exec.json     the ExecConfig as created (what inspect shows)
 *   started       made with O_EXCL at the first start: a second start is a 409
 *   process.json  the OCI process given to `runtime exec --process`
 * and, once started, the exec's berth-shim files (shim.h: shim.sock, shim.pid,
 * init.pid, exit.json). Running, ExitCode and Pid are derived from those files,
 * never stored, like the runtime's status: started and no exit.json → running.
 * A start that fails before the process runs writes exit.json itself with
 * ExitCode 126, which is what dockerd 20.10 reports for any failed exec start
 * (a missing binary included: the CLI exits 126).
 *
 * Start order (no output lost): hijack, spawn the shim (the process runs, its
 * output stays in the shim's pipes), attach to the shim, then SHIM_START, which
 * for an exec means "begin reading" (shim.h); a detached start sends it at once.
 *
 * Looking an exec up scans the containers for the directory: no global table,
 * nothing to keep in step with container removal (the manager removes
 * run_dir), and berthd restarts keep the instances.
 *
 * Container ExecIDs: the ID is added at create and removed when the process
 * ends (or its start fails), as Docker does; then the instance stays
 * inspectable until the container goes.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>

#include <openssl/rand.h>

#include "daemon/container_internal.h"

/* ------------------------------------------------------------ helpers ---- */

static char *exec_new_id(void) {
  unsigned char b[32];
  if (RAND_bytes(b, sizeof b) != 1) {
    FILE *f = fopen("/dev/urandom", "re");
    if (f == NULL || fread(b, 1, sizeof b, f) != sizeof b)
      memset(b, 0x5a, sizeof b); /* never reached on Linux */
    if (f)
      fclose(f);
  }
  char *id = xmalloc(65);
  for (size_t i = 0; i < sizeof b; i++)
    snprintf(id + 2 * i, 3, "%02x", b[i]);
  return id;
}

static bool is_hex_id(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > 64)
    return false;
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return false;
  return true;
}

/* Cmd is a StrSlice in Docker: a string or an array of strings. */
static json_t *strslice(const json_t *v) {
  if (json_is_string(v))
    return json_pack("[s]", json_string_value(v));
  if (!json_is_array(v))
    return json_array();
  json_t *out = json_array();
  size_t i;
  json_t *x;
  json_array_foreach(v, i, x) if (json_is_string(x)) json_array_append(out, x);
  return out;
}

static const char *jstr(const json_t *o, const char *key) {
  const char *s = json_string_value(json_object_get(o, key));
  return s ? s : "";
}

/* "exec_create: sh -c true" — Docker joins entrypoint and args with a space,
 * leaving a trailing one when there are no args. */
static char *exec_action(const char *verb, const json_t *cfg) {
  char *s = xasprintf("%s: %s ", verb, jstr(cfg, "Entrypoint"));
  size_t i;
  json_t *a;
  bool first = true;
  json_array_foreach(json_object_get(cfg, "Arguments"), i, a) {
    char *t = xasprintf("%s%s%s", s, first ? "" : " ", json_string_value(a));
    free(s);
    s = t;
    first = false;
  }
  return s;
}

void exec_inst_free(struct exec_inst *e) {
  if (e == NULL)
    return;
  ctr_put(e->c);
  free(e->id);
  free(e->dir);
  json_decref(e->cfg);
  free(e);
}

void exec_inst_freep(struct exec_inst **e) {
  exec_inst_free(*e);
}

static int container_check_running(const struct container *c, struct berr **err) {
  /* Docker names the container by its full ID in these messages */
  switch (c->state) {
  case CTR_RUNNING:
    return 0;
  case CTR_PAUSED:
    return berr_set(err, EBUSY, "Container %s is paused, unpause the container before exec", c->id);
  case CTR_RESTARTING:
    return berr_set(err, EBUSY, "Container %s is restarting, wait until the container is running",
                    c->id);
  default:
    return berr_set(err, ENOTCONN, "Container %s is not running", c->id);
  }
}

static void exec_ids_remove(struct daemon *d, struct container *c, const char *id) {
  pthread_mutex_lock(&c->lock);
  size_t i;
  json_t *v;
  json_array_foreach(c->exec_ids, i, v) if (strcmp(json_string_value(v), id) == 0) {
    json_array_remove(c->exec_ids, i);
    break;
  }
  _cleanup_berr_ struct berr *err = NULL;
  if (!c->removed && ctr_save(d, c, &err) < 0)
    log_warn("exec %s: save container %s: %s", id, c->id, err->msg);
  pthread_mutex_unlock(&c->lock);
}

/* ------------------------------------------------------------- create ---- */

int exec_create(struct daemon *d, struct container *c, const json_t *body, char **out_id,
                struct berr **err) {
  _cleanup_json_ json_t *cmd = strslice(json_object_get(body, "Cmd"));
  if (json_array_size(cmd) == 0)
    return berr_set(err, EINVAL, "No exec command specified");
  const char *keys = json_string_value(json_object_get(body, "DetachKeys"));
  if (keys && *keys) {
    unsigned char kb[16];
    size_t kn = 0;
    if (attach_parse_keys(keys, kb, sizeof kb, &kn, err) < 0)
      return -EINVAL;
  }
  json_t *env = json_object_get(body, "Env");
  if (env && !json_is_array(env) && !json_is_null(env))
    return berr_set(err, EINVAL, "exec: Env must be an array of strings");

  pthread_mutex_lock(&c->lock);
  int rc = container_check_running(c, err);
  pthread_mutex_unlock(&c->lock);
  if (rc < 0)
    return rc;

  _cleanup_free_ char *id = exec_new_id();
  _cleanup_free_ char *dir = xasprintf("%s/exec/%s", c->run_dir, id);
  if (mkdir_p(dir, 0700, err) < 0)
    return berr_wrap(err, "exec %s", id);
  _cleanup_json_ json_t *args = json_deep_copy(cmd);
  json_t *entry = json_array_get(cmd, 0);
  json_array_remove(args, 0);
  _cleanup_json_ json_t *env_v = json_is_array(env) ? json_incref(env) : json_array();
  _cleanup_json_ json_t *cfg = json_pack(
      "{s:s,s:s,s:O,s:O,s:b,s:b,s:b,s:b,s:s,s:O,s:s,s:s,s:b}", "ID", id, "ContainerID", c->id,
      "Entrypoint", entry, "Arguments", args, "Tty", json_is_true(json_object_get(body, "Tty")),
      "OpenStdin", json_is_true(json_object_get(body, "AttachStdin")), "OpenStdout",
      json_is_true(json_object_get(body, "AttachStdout")), "OpenStderr",
      json_is_true(json_object_get(body, "AttachStderr")), "DetachKeys", keys ? keys : "", "Env",
      env_v, "User", jstr(body, "User"), "WorkingDir",
      jstr(body, "WorkingDir"), "Privileged", json_is_true(json_object_get(body, "Privileged")));
  if (cfg == NULL)
    return berr_set(err, EINVAL, "exec: malformed ExecConfig");
  _cleanup_free_ char *path = xasprintf("%s/exec.json", dir);
  _cleanup_free_ char *doc = json_dump_compact(cfg);
  if (write_file_replace(path, doc, strlen(doc), 0600, err) < 0)
    return berr_wrap(err, "exec %s", id);

  pthread_mutex_lock(&c->lock);
  if (!json_is_array(c->exec_ids)) {
    json_decref(c->exec_ids);
    c->exec_ids = json_array();
  }
  json_array_append_new(c->exec_ids, json_string(id));
  _cleanup_berr_ struct berr *serr = NULL;
  if (ctr_save(d, c, &serr) < 0)
    log_warn("exec %s: save container %s: %s", id, c->id, serr->msg);
  pthread_mutex_unlock(&c->lock);

  _cleanup_free_ char *action = exec_action("exec_create", cfg);
  ctr_event(d, c, action, json_pack("{s:s}", "execID", id));
  *out_id = steal_ptr(id);
  return 0;
}

/* ------------------------------------------------------------- lookup ---- */

int exec_find(struct daemon *d, const char *id, struct exec_inst **out, struct berr **err) {
  if (id == NULL || !is_hex_id(id) || strlen(id) != 64)
    return berr_set(err, ENOENT, "No such exec instance: %s", id ? id : "");
  size_t n = 0;
  struct container **v = ctr_list(d, &n);
  struct exec_inst *e = NULL;
  for (size_t i = 0; i < n && e == NULL; i++) {
    _cleanup_free_ char *dir = xasprintf("%s/exec/%s", v[i]->run_dir, id);
    _cleanup_free_ char *path = xasprintf("%s/exec.json", dir);
    json_t *cfg = NULL;
    if (!path_exists(path) || json_load_path(path, &cfg, NULL) < 0)
      continue;
    e = xcalloc(1, sizeof(*e));
    e->c = v[i];
    __atomic_add_fetch(&v[i]->refs, 1, __ATOMIC_ACQ_REL);
    e->id = xstrdup(id);
    e->dir = steal_ptr(dir);
    e->cfg = cfg;
  }
  ctr_list_free(v, n);
  if (e == NULL)
    return berr_set(err, ENOENT, "No such exec instance: %s", id);
  *out = e;
  return 0;
}

/* ------------------------------------------------------------ inspect ---- */

static bool exec_started(const struct exec_inst *e) {
  _cleanup_free_ char *p = xasprintf("%s/started", e->dir);
  return path_exists(p);
}

static pid_t exec_pid(const struct exec_inst *e) {
  _cleanup_free_ char *p = xasprintf("%s/init.pid", e->dir);
  _cleanup_free_ char *s = NULL;
  if (read_file(p, &s, NULL, NULL) < 0)
    return 0;
  int64_t v = 0;
  s[strcspn(s, "\n")] = '\0';
  return parse_int64(s, &v) == 0 && v > 0 && v < INT32_MAX ? (pid_t)v : 0;
}

json_t *exec_inspect_json(const struct exec_inst *e) {
  const json_t *cfg = e->cfg;
  struct shim_exit ex;
  bool exited = shim_read_exit(e->dir, &ex, NULL) == 0;
  bool running = exec_started(e) && !exited;
  json_t *pc = json_pack("{s:b,s:O,s:O,s:b}", "tty", json_is_true(json_object_get(cfg, "Tty")),
                         "entrypoint", json_object_get(cfg, "Entrypoint"), "arguments",
                         json_object_get(cfg, "Arguments"), "privileged",
                         json_is_true(json_object_get(cfg, "Privileged")));
  if (*jstr(cfg, "User")) /* omitempty in Docker */
    json_object_set_new(pc, "user", json_string(jstr(cfg, "User")));
  return json_pack("{s:s,s:b,s:o,s:o,s:b,s:b,s:b,s:b,s:s,s:s,s:i}", "ID", e->id, "Running",
                   running, "ExitCode", exited ? json_integer(ex.exit_code) : json_null(),
                   "ProcessConfig", pc, "OpenStdin",
                   json_is_true(json_object_get(cfg, "OpenStdin")), "OpenStderr",
                   json_is_true(json_object_get(cfg, "OpenStderr")), "OpenStdout",
                   json_is_true(json_object_get(cfg, "OpenStdout")), "CanRemove", false,
                   "ContainerID", e->c->id, "DetachKeys", jstr(cfg, "DetachKeys"), "Pid",
                   running ? (int)exec_pid(e) : 0);
}

/* ------------------------------------------------------------- resize ---- */

int exec_resize(struct exec_inst *e, int height, int width, struct berr **err) {
  struct shim_exit ex;
  if (!exec_started(e) || shim_read_exit(e->dir, &ex, NULL) == 0)
    return berr_set(err, ENOTCONN, "Exec %s is not running", e->id);
  return shim_resize(e->dir, height, width, err);
}

/* -------------------------------------------------------------- start ---- */

/* Record a start that never ran the process: ExitCode 126 (dockerd 20.10). */
static void exec_record_failure(const struct exec_inst *e) {
  _cleanup_free_ char *p = xasprintf("%s/exit.json", e->dir);
  char when[64];
  shim_format_time(ctr_now_ns(), when);
  _cleanup_json_ json_t *j =
      json_pack("{s:i,s:s,s:b,s:i}", "ExitCode", 126, "FinishedAt", when, "OOMKilled", 0,
                "Signal", 0);
  _cleanup_free_ char *s = json_dump_compact(j);
  if (write_file_replace(p, s, strlen(s), 0600, NULL) < 0)
    log_warn("exec %s: cannot record its failed start", e->id);
}

/* The process.json for the exec: the container's own process (its bundle's
 * config.json) with the exec's command, env, user, cwd, terminal and, when
 * privileged, every capability. */
static int exec_write_process(struct exec_inst *e, struct berr **err) {
  _cleanup_free_ char *bundle = xasprintf("%s/config.json", e->c->run_dir);
  _cleanup_json_ json_t *spec = NULL;
  if (json_load_path(bundle, &spec, err) < 0)
    return berr_wrap(err, "exec %s", e->id);
  const char *root = json_string_value(json_object_get(json_object_get(spec, "root"), "path"));
  pthread_mutex_lock(&e->c->lock);
  _cleanup_free_ char *rootfs = xstrdup(e->c->rootfs ? e->c->rootfs : root ? root : "/");
  _cleanup_json_ json_t *group_add =
      json_incref(json_object_get(e->c->host_config, "GroupAdd"));
  pthread_mutex_unlock(&e->c->lock);
  _cleanup_free_ char *passwd = NULL, *group = NULL;
  ctr_user_files(rootfs, &passwd, &group);
  _cleanup_json_ json_t *caps = exec_all_caps();
  struct exec_spec_in in = {.base = json_object_get(spec, "process"),
                            .cfg = e->cfg,
                            .group_add = group_add,
                            .passwd = passwd,
                            .group = group,
                            .all_caps = caps};
  _cleanup_json_ json_t *proc = NULL;
  if (exec_build_process(&in, &proc, err) < 0)
    return -EINVAL;
  _cleanup_free_ char *path = xasprintf("%s/process.json", e->dir);
  _cleanup_free_ char *s = json_dump_compact(proc);
  return write_file_replace(path, s, strlen(s), 0600, err);
}

struct exec_monitor {
  struct daemon *d;
  struct container *c; /* a reference */
  char *id, *dir;
};

/* Wait for the exec's end: exec_die, drop it from ExecIDs, let its shim go. */
static void *exec_monitor_main(void *arg) {
  struct exec_monitor *m = arg;
  struct shim_exit ex;
  _cleanup_berr_ struct berr *err = NULL;
  if (shim_wait(m->dir, &ex, &err) < 0 && shim_read_exit(m->dir, &ex, NULL) < 0) {
    /* the shim died without recording anything */
    log_warn("exec %s: %s", m->id, err ? err->msg : "shim gone");
    ex.exit_code = 255;
  }
  char code[16];
  snprintf(code, sizeof code, "%d", ex.exit_code);
  ctr_event(m->d, m->c, "exec_die", json_pack("{s:s,s:s}", "execID", m->id, "exitCode", code));
  exec_ids_remove(m->d, m->c, m->id);
  _cleanup_berr_ struct berr *derr = NULL;
  if (shim_delete(m->dir, &derr) < 0)
    log_debug("exec %s: shim delete: %s", m->id, derr->msg);
  ctr_put(m->c);
  free(m->id);
  free(m->dir);
  free(m);
  return NULL;
}

static void exec_monitor_start(struct daemon *d, struct exec_inst *e) {
  struct exec_monitor *m = xcalloc(1, sizeof(*m));
  m->d = d;
  m->c = e->c;
  __atomic_add_fetch(&e->c->refs, 1, __ATOMIC_ACQ_REL);
  m->id = xstrdup(e->id);
  m->dir = xstrdup(e->dir);
  pthread_t t;
  pthread_attr_t a;
  pthread_attr_init(&a);
  pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
  if (pthread_create(&t, &a, exec_monitor_main, m) != 0) {
    log_error("exec %s: cannot start its monitor thread", e->id);
    ctr_put(m->c);
    free(m->id);
    free(m->dir);
    free(m);
  }
  pthread_attr_destroy(&a);
}

/* Claim the instance for this start (O_EXCL): Docker's 409s otherwise. */
static int exec_claim(struct exec_inst *e, struct berr **err) {
  _cleanup_free_ char *p = xasprintf("%s/started", e->dir);
  int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    close(fd);
    return 0;
  }
  if (errno != EEXIST)
    return berr_sys(err, errno, "exec %s: claim", e->id);
  struct shim_exit ex;
  if (shim_read_exit(e->dir, &ex, NULL) == 0)
    return berr_set(err, EEXIST, "Error: Exec command %s has already run", e->id);
  return berr_set(err, EEXIST, "Error: Exec command %s is already running", e->id);
}

/* The runtime's exec error in dockerd's words; a missing or non-executable
 * binary is the client's fault (400), anything else the daemon's. */
static int exec_runtime_error(struct berr **err, const struct berr *cause) {
  const char *m = cause && cause->msg ? cause->msg : "unknown error";
  bool client = strstr(m, "not found") || strstr(m, "no such file") ||
                strstr(m, "No such file") || strstr(m, "permission denied") ||
                strstr(m, "Permission denied");
  return berr_set(err, client ? EINVAL : EIO, "OCI runtime exec failed: %s: unknown", m);
}

/* Everything before the process runs: checks, process.json, the shim. */
static int exec_launch(struct daemon *d, struct exec_inst *e, pid_t *pid, struct berr **err) {
  pthread_mutex_lock(&e->c->lock);
  int rc = container_check_running(e->c, err);
  pthread_mutex_unlock(&e->c->lock);
  if (rc < 0)
    return rc;
  if (exec_write_process(e, err) < 0)
    return -EINVAL;
  _cleanup_free_ char *shim = NULL;
  pthread_mutex_lock(&d->cfg_lock);
  shim = xstrdup(d->cfg.shim_path ? d->cfg.shim_path : "berth-shim");
  pthread_mutex_unlock(&d->cfg_lock);
  _cleanup_free_ char *runtime = ctr_runtime_path(d, e->c);
  _cleanup_free_ char *rt_root = ctr_runtime_root(d, e->c);
  _cleanup_free_ char *process = xasprintf("%s/process.json", e->dir);
  struct shim_opts o = {
      .id = e->c->id,
      .exec_id = e->id,
      .bundle = e->c->run_dir,
      .state_dir = e->dir,
      .runtime = runtime,
      .runtime_root = rt_root,
      .process_json = process,
      .tty = json_is_true(json_object_get(e->cfg, "Tty")),
      .open_stdin = json_is_true(json_object_get(e->cfg, "OpenStdin")),
      .log_driver = "none", /* Docker never logs an exec's output */
      .log_max_file = 1,
  };
  _cleanup_berr_ struct berr *serr = NULL;
  if (shim_spawn(shim, &o, pid, &serr) < 0)
    return exec_runtime_error(err, serr);
  return 0;
}

/* Let the exec's shim read the process's output (shim.h, SHIM_START): after
 * the attach stream is connected, or at once when detached. The process runs
 * already; a failure here leaves it blocked on full pipes, so kill it. */
static void exec_begin(const struct exec_inst *e) {
  _cleanup_berr_ struct berr *err = NULL;
  if (shim_start(e->dir, &err) == 0)
    return;
  log_warn("exec %s: shim start: %s", e->id, err->msg);
  _cleanup_berr_ struct berr *kerr = NULL;
  if (shim_kill(e->dir, SIGKILL, false, &kerr) < 0)
    log_warn("exec %s: kill: %s", e->id, kerr->msg);
}

/* Write a start error into the hijacked stream, as dockerd does: a stdout
 * frame (raw bytes with a tty) holding the message and "\r\n". */
static void exec_stream_error(struct http_req *r, bool tty, const char *msg) {
  _cleanup_free_ char *text = xasprintf("%s\r\n", msg);
  size_t n = strlen(text);
  if (!tty) {
    unsigned char h[8] = {1, 0, 0, 0, (unsigned char)(n >> 24), (unsigned char)(n >> 16),
                          (unsigned char)(n >> 8), (unsigned char)n};
    if (http_conn_write(r->conn, h, sizeof h) < 0)
      return;
  }
  (void)http_conn_write(r->conn, text, n);
}

void exec_start_serve(struct daemon *d, struct http_req *r, struct exec_inst *e,
                      const json_t *body) {
  _cleanup_berr_ struct berr *err = NULL;
  bool detach = json_is_true(json_object_get(body, "Detach"));
  bool tty = json_is_true(json_object_get(e->cfg, "Tty"));
  if (exec_claim(e, &err) < 0) {
    http_reply_berr(r, err);
    return;
  }
  _cleanup_free_ char *action = exec_action("exec_start", e->cfg);
  pid_t pid = 0;
  if (detach) {
    if (exec_launch(d, e, &pid, &err) < 0) {
      exec_record_failure(e);
      exec_ids_remove(d, e->c, e->id);
      http_reply_berr(r, err);
      return;
    }
    ctr_event(d, e->c, action, json_pack("{s:s}", "execID", e->id));
    exec_begin(e); /* no client: its output goes nowhere, as in Docker */
    exec_monitor_start(d, e);
    http_reply(r, 200, NULL, NULL, 0);
    return;
  }
  /* Docker hijacks first, then starts: errors go into the stream. */
  const char *ctype = tty || r->api_minor < 42 ? "application/vnd.docker.raw-stream"
                                               : "application/vnd.docker.multiplexed-stream";
  if (http_hijack(r, ctype) < 0) {
    /* the client is gone; nothing started */
    exec_record_failure(e);
    exec_ids_remove(d, e->c, e->id);
    return;
  }
  if (exec_launch(d, e, &pid, &err) < 0) {
    exec_record_failure(e);
    exec_ids_remove(d, e->c, e->id);
    exec_stream_error(r, tty, err->msg);
    http_conn_close(r->conn);
    return;
  }
  ctr_event(d, e->c, action, json_pack("{s:s}", "execID", e->id));
  bool in = json_is_true(json_object_get(e->cfg, "OpenStdin"));
  bool out = json_is_true(json_object_get(e->cfg, "OpenStdout"));
  bool errs = json_is_true(json_object_get(e->cfg, "OpenStderr"));
  _cleanup_berr_ struct berr *aerr = NULL;
  int fd = shim_attach(e->dir, in, out, errs, true, &aerr);
  /* only now may the shim read the output: the attach stream is there to get it */
  exec_begin(e);
  exec_monitor_start(d, e);
  if (fd < 0) {
    log_warn("exec %s: attach: %s", e->id, aerr->msg);
    http_conn_close(r->conn);
    return;
  }
  const char *keys = jstr(e->cfg, "DetachKeys");
  int detached = attach_relay(r, fd, tty, in, *keys ? keys : NULL);
  close(fd);
  if (detached == 0) {
    /* `docker exec` inspects the exec for its ExitCode as soon as the stream
     * ends: make sure exit.json is there by then. */
    struct shim_exit ex;
    _cleanup_berr_ struct berr *werr = NULL;
    (void)shim_wait(e->dir, &ex, &werr);
  }
  http_conn_close(r->conn);
}

/* ------------------------------------- the process spec (pure functions) ---- */

int exec_resolve_user(const char *spec, const char *passwd, const char *group,
                      const json_t *group_add, json_t **out, struct berr **err) {
  struct ctr_user u;
  if (ctr_user_resolve(spec, passwd, group, group_add, &u, err) < 0)
    return -EINVAL;
  *out = ctr_user_oci(&u);
  ctr_user_clear(&u);
  return 0;
}

/* Docker's ReplaceOrAppendEnvValues: an override replaces the same key or is
 * appended; a bare "KEY" unsets it. */
static void env_apply(json_t *env, const json_t *overrides) {
  size_t i;
  json_t *o;
  json_array_foreach(overrides, i, o) {
    const char *kv = json_string_value(o);
    if (kv == NULL)
      continue;
    size_t klen = strcspn(kv, "=");
    bool replaced = false;
    for (size_t j = 0; j < json_array_size(env); j++) {
      const char *e = json_string_value(json_array_get(env, j));
      if (e && strncmp(e, kv, klen) == 0 && (e[klen] == '=' || e[klen] == '\0')) {
        json_array_set_new(env, j, json_string(kv));
        replaced = true;
        break;
      }
    }
    if (!replaced)
      json_array_append_new(env, json_string(kv));
  }
  for (size_t j = 0; j < json_array_size(env);) {
    const char *e = json_string_value(json_array_get(env, j));
    if (e == NULL || strchr(e, '=') == NULL)
      json_array_remove(env, j);
    else
      j++;
  }
}

static bool env_has(const json_t *env, const char *key) {
  size_t i, n = strlen(key);
  json_t *e;
  json_array_foreach(env, i, e) {
    const char *s = json_string_value(e);
    if (s && strncmp(s, key, n) == 0 && s[n] == '=')
      return true;
  }
  return false;
}

int exec_build_process(const struct exec_spec_in *in, json_t **out, struct berr **err) {
  const json_t *cfg = in->cfg;
  _cleanup_json_ json_t *p =
      json_is_object(in->base) ? json_deep_copy(in->base) : json_object();
  json_t *args = json_pack("[O]", json_object_get(cfg, "Entrypoint"));
  json_array_extend(args, json_object_get(cfg, "Arguments"));
  json_object_set_new(p, "args", args);

  json_t *env = json_object_get(p, "env");
  if (!json_is_array(env)) {
    env = json_array();
    json_object_set_new(p, "env", env);
  }
  bool tty = json_is_true(json_object_get(cfg, "Tty"));
  if (tty && !env_has(env, "TERM"))
    json_array_append_new(env, json_string("TERM=xterm"));
  env_apply(env, json_object_get(cfg, "Env"));

  const char *wd = json_string_value(json_object_get(cfg, "WorkingDir"));
  if (wd && *wd)
    json_object_set_new(p, "cwd", json_string(wd));
  else if (!json_is_string(json_object_get(p, "cwd")))
    json_object_set_new(p, "cwd", json_string("/"));
  json_object_set_new(p, "terminal", json_boolean(tty));
  json_object_del(p, "consoleSize");

  const char *user = json_string_value(json_object_get(cfg, "User"));
  if (user && *user) {
    json_t *u = NULL;
    if (exec_resolve_user(user, in->passwd, in->group, in->group_add, &u, err) < 0)
      return -EINVAL;
    json_t *old = json_object_get(json_object_get(p, "user"), "umask");
    if (old)
      json_object_set(u, "umask", old);
    json_object_set_new(p, "user", u);
  } else if (!json_is_object(json_object_get(p, "user"))) {
    json_object_set_new(p, "user", json_pack("{s:i,s:i}", "uid", 0, "gid", 0));
  }

  if (json_is_true(json_object_get(cfg, "Privileged")) && in->all_caps) {
    /* dockerd: every capability in all four sets; ambient stays */
    json_t *caps = json_object_get(p, "capabilities");
    if (!json_is_object(caps)) {
      caps = json_object();
      json_object_set_new(p, "capabilities", caps);
    }
    const char *sets[] = {"bounding", "effective", "permitted", "inheritable"};
    for (size_t i = 0; i < sizeof sets / sizeof *sets; i++)
      json_object_set_new(caps, sets[i], json_deep_copy(in->all_caps));
  }
  *out = steal_ptr(p);
  return 0;
}

/* Every capability name the kernel knows (up to cap_last_cap). */
static const char *const cap_names[] = {
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
    "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
    "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
};

json_t *exec_all_caps(void) {
  size_t n = sizeof cap_names / sizeof *cap_names;
  _cleanup_free_ char *s = NULL;
  int64_t last = 0;
  if (read_file("/proc/sys/kernel/cap_last_cap", &s, NULL, NULL) == 0) {
    s[strcspn(s, "\n")] = '\0';
    if (parse_int64(s, &last) == 0 && last >= 0 && (size_t)last + 1 < n)
      n = (size_t)last + 1;
  }
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(a, json_string(cap_names[i]));
  return a;
}
