/*
 * state.c — a container's state directory under --root:
 *
 *   <root>/<id>/state.json   what later invocations need (pid, start time, bundle,
 *                            cgroup dirs, the config), written atomically
 *   <root>/<id>/exec.fifo    exists from create until start: the init blocks
 *                            reading it; `start` writes one byte and unlinks it
 *
 * The status is derived, never stored (runtime-spec "State"): no live pid (or a
 * reused one, caught by the start time) => stopped; fifo present => created;
 * frozen cgroup => paused; else running.
 */
#include <errno.h>
#include <signal.h>
#include <sys/stat.h>

#include "runtime-internal.h"

const char *const rt_status_names[] = {"creating", "created", "running", "paused", "stopped"};

char *rt_state_dir(struct rt_context *ctx, const char *id) {
  return xasprintf("%s/%s", ctx->root, id);
}

void rt_state_free(struct rt_state *st) {
  if (!st)
    return;
  free(st->id);
  free(st->bundle);
  free(st->rootfs);
  free(st->created);
  free(st->owner);
  free(st->dir);
  cgroup_free(st->cgroup);
  json_decref(st->config);
  free(st);
}

void rt_state_freep(struct rt_state **st) {
  rt_state_free(*st);
  *st = NULL;
}

unsigned long long rt_proc_start_time(pid_t pid, bool *zombie) {
  char path[64];
  _cleanup_free_ char *buf = NULL;
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  if (zombie)
    *zombie = false;
  if (read_file(path, &buf, NULL, NULL) < 0)
    return 0;
  /* comm (field 2) may hold spaces and parentheses: parse after the last ')' */
  char *p = strrchr(buf, ')');
  if (!p)
    return 0;
  /* fields 3 .. 22 after it: state, then 18 numbers, then starttime. Split by hand:
   * sscanf would pull glibc's whole scanf engine into the static binary. */
  const char *f = p + 2;
  char state = *f;
  for (int field = 3; field < 22 && f; field++) {
    f = strchr(f, ' ');
    if (f)
      f++;
  }
  if (!f)
    return 0;
  unsigned long long start = strtoull(f, NULL, 10);
  if (zombie)
    *zombie = state == 'Z' || state == 'X';
  return start;
}

static json_t *str_or_empty(const char *s) {
  return json_string(s ? s : "");
}

int rt_state_save(struct rt_state *st, struct berr **err) {
  _cleanup_json_ json_t *o = json_object();
  json_object_set_new(o, "id", json_string(st->id));
  json_object_set_new(o, "pid", json_integer(st->pid));
  json_object_set_new(o, "start_time", json_integer((json_int_t)st->start_time));
  json_object_set_new(o, "bundle", str_or_empty(st->bundle));
  json_object_set_new(o, "rootfs", str_or_empty(st->rootfs));
  json_object_set_new(o, "created", str_or_empty(st->created));
  json_object_set_new(o, "owner", str_or_empty(st->owner));
  if (st->cgroup)
    json_object_set_new(o, "cgroup", cgroup_to_json(st->cgroup));
  if (st->config)
    json_object_set(o, "config", st->config);
  _cleanup_free_ char *text = json_dump_compact(o);
  _cleanup_free_ char *path = xasprintf("%s/state.json", st->dir);
  return write_file_replace(path, text, strlen(text), 0600, err); /* run-time state: tmpfs, no fsync */
}

static char *json_str_dup(json_t *o, const char *key) {
  const char *s = json_string_value(json_object_get(o, key));
  return s ? xstrdup(s) : NULL;
}

int rt_state_load(struct rt_context *ctx, const char *id, struct rt_state **out, struct berr **err) {
  if (!rt_valid_id(id))
    return berr_set(err, EINVAL, "invalid container id format: %s", id);
  _cleanup_free_ char *dir = rt_state_dir(ctx, id);
  _cleanup_free_ char *path = xasprintf("%s/state.json", dir);
  if (access(path, F_OK) < 0)
    return berr_set(err, ENOENT, "container does not exist: %s", id);
  _cleanup_json_ json_t *o = NULL;
  int r = json_load_path(path, &o, err);
  if (r < 0)
    return berr_wrap(err, "load state of container %s", id);
  struct rt_state *st = xcalloc(1, sizeof *st);
  st->id = xstrdup(id);
  st->dir = steal_ptr(dir);
  st->pid = (pid_t)json_integer_value(json_object_get(o, "pid"));
  st->start_time = (unsigned long long)json_integer_value(json_object_get(o, "start_time"));
  st->bundle = json_str_dup(o, "bundle");
  st->rootfs = json_str_dup(o, "rootfs");
  st->created = json_str_dup(o, "created");
  st->owner = json_str_dup(o, "owner");
  st->config = json_incref(json_object_get(o, "config"));
  json_t *cg = json_object_get(o, "cgroup");
  if (cg && (r = cgroup_from_json(cg, &st->cgroup, err)) < 0) {
    rt_state_free(st);
    return berr_wrap(err, "load state of container %s", id);
  }
  *out = st;
  return 0;
}

static bool process_alive(struct rt_state *st) {
  if (st->pid <= 0)
    return false;
  bool zombie = false;
  unsigned long long start = rt_proc_start_time(st->pid, &zombie);
  return start != 0 && !zombie && start == st->start_time;
}

enum rt_status rt_state_status(struct rt_state *st) {
  if (!process_alive(st))
    return RT_STOPPED;
  _cleanup_free_ char *fifo = xasprintf("%s/exec.fifo", st->dir);
  if (access(fifo, F_OK) == 0)
    return RT_CREATED;
  bool frozen = false;
  if (st->cgroup && cgroup_frozen(st->cgroup, &frozen, NULL) == 0 && frozen)
    return RT_PAUSED;
  return RT_RUNNING;
}

json_t *rt_state_json(struct rt_state *st, enum rt_status status) {
  json_t *o = json_object();
  json_object_set_new(o, "ociVersion", json_string(OCI_VERSION));
  json_object_set_new(o, "id", json_string(st->id));
  json_object_set_new(o, "pid", json_integer(status == RT_STOPPED ? 0 : st->pid));
  json_object_set_new(o, "status", json_string(rt_status_names[status]));
  json_object_set_new(o, "bundle", str_or_empty(st->bundle));
  json_object_set_new(o, "rootfs", str_or_empty(st->rootfs));
  json_object_set_new(o, "created", str_or_empty(st->created));
  json_object_set_new(o, "owner", str_or_empty(st->owner));
  json_t *ann = st->config ? json_object_get(st->config, "annotations") : NULL;
  if (json_is_object(ann) && json_object_size(ann) > 0)
    json_object_set(o, "annotations", ann);
  return o;
}

/* runc's rule: letters, digits, '_', '+', '-', '.', and not "." or "..". */
bool rt_valid_id(const char *id) {
  if (!id || !*id || strcmp(id, ".") == 0 || strcmp(id, "..") == 0 || strlen(id) > 1024)
    return false;
  for (const char *p = id; *p; p++) {
    char c = *p;
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '+' ||
          c == '-' || c == '.'))
      return false;
  }
  return true;
}
