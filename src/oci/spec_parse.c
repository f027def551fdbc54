/*
 * spec_parse.c — config.json (OCI runtime-spec 1.1) -> struct oci_spec.
 *
 * One recursive-descent pass over the jansson tree. Every field goes through a
 * small typed getter (get_string, get_uint, get_strv, ...) that checks the JSON
 * type and range and, on failure, writes a one-line error naming the document
 * and the field path: "config.json: linux.namespaces[2].type: unknown
 * namespace type "foo"". Parsers of nested objects take the path of the object
 * they parse ("mounts[1]", "linux.resources.memory"); the path is built only
 * for objects and array items, and field names are appended only when an error
 * is written.
 *
 * Invariants:
 *   - JSON null counts as absent (Go tools marshal empty slices as null).
 *   - Integers must be JSON integers (no reals, no strings); unsigned fields
 *     refuse negatives and values above the field's range.
 *   - Unknown keys are ignored, as the spec requires.
 *   - Arrays are allocated zeroed and their count set *before* items are
 *     parsed, so the free functions can release a half-parsed spec: any error
 *     path ends in oci_spec_free() of the partial spec and leaks nothing.
 *   - Names checked by the runtime against the running system (capability
 *     names, seccomp actions/arches/syscalls) are only type-checked here.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <sys/resource.h>

#include "oci/oci.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif

/* ---------- public tables ---------- */

const char *const oci_hook_kind_names[OCI_HOOK_KINDS] = {
  [OCI_HOOK_PRESTART] = "prestart",
  [OCI_HOOK_CREATE_RUNTIME] = "createRuntime",
  [OCI_HOOK_CREATE_CONTAINER] = "createContainer",
  [OCI_HOOK_START_CONTAINER] = "startContainer",
  [OCI_HOOK_POSTSTART] = "poststart",
  [OCI_HOOK_POSTSTOP] = "poststop",
};

const char *const oci_ns_names[OCI_NS_TYPES] = {
  [OCI_NS_PID] = "pid",   [OCI_NS_NETWORK] = "network", [OCI_NS_MOUNT] = "mount",
  [OCI_NS_IPC] = "ipc",   [OCI_NS_UTS] = "uts",         [OCI_NS_USER] = "user",
  [OCI_NS_CGROUP] = "cgroup", [OCI_NS_TIME] = "time",
};

const int oci_ns_clone_flags[OCI_NS_TYPES] = {
  [OCI_NS_PID] = CLONE_NEWPID,   [OCI_NS_NETWORK] = CLONE_NEWNET, [OCI_NS_MOUNT] = CLONE_NEWNS,
  [OCI_NS_IPC] = CLONE_NEWIPC,   [OCI_NS_UTS] = CLONE_NEWUTS,     [OCI_NS_USER] = CLONE_NEWUSER,
  [OCI_NS_CGROUP] = CLONE_NEWCGROUP, [OCI_NS_TIME] = CLONE_NEWTIME,
};

const char *const oci_ns_proc_names[OCI_NS_TYPES] = {
  [OCI_NS_PID] = "pid", [OCI_NS_NETWORK] = "net", [OCI_NS_MOUNT] = "mnt",   [OCI_NS_IPC] = "ipc",
  [OCI_NS_UTS] = "uts", [OCI_NS_USER] = "user",   [OCI_NS_CGROUP] = "cgroup", [OCI_NS_TIME] = "time",
};

static const struct {
  const char *name;
  int resource;
} rlimit_names[] = {
  { "RLIMIT_AS", RLIMIT_AS },           { "RLIMIT_CORE", RLIMIT_CORE },
  { "RLIMIT_CPU", RLIMIT_CPU },         { "RLIMIT_DATA", RLIMIT_DATA },
  { "RLIMIT_FSIZE", RLIMIT_FSIZE },     { "RLIMIT_LOCKS", RLIMIT_LOCKS },
  { "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK }, { "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
  { "RLIMIT_NICE", RLIMIT_NICE },       { "RLIMIT_NOFILE", RLIMIT_NOFILE },
  { "RLIMIT_NPROC", RLIMIT_NPROC },     { "RLIMIT_RSS", RLIMIT_RSS },
  { "RLIMIT_RTPRIO", RLIMIT_RTPRIO },   { "RLIMIT_RTTIME", RLIMIT_RTTIME },
  { "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING }, { "RLIMIT_STACK", RLIMIT_STACK },
};

static const char *const io_priority_classes[] = { "IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE" };

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The anonymous element types of struct oci_resources' arrays. */
typedef __typeof__(*((struct oci_resources *)0)->hugepage_limits) hugepage_limit_t;
typedef __typeof__(*((struct oci_resources *)0)->network.priorities) net_priority_t;

/* ---------- error context and field paths ---------- */

struct pctx {
  const char *what;  /* the document, first word of every message ("config.json") */
  struct berr **err;
};

/* "path.key", or whichever of the two is non-empty. Caller frees. */
static char *path_join(const char *path, const char *key) {
  if (key == NULL || *key == '\0')
    return xstrdup(path ? path : "");
  if (path == NULL || *path == '\0')
    return xstrdup(key);
  return xasprintf("%s.%s", path, key);
}

/* "path.key[i]". Caller frees. */
static char *path_item(const char *path, const char *key, size_t i) {
  _cleanup_free_ char *base = path_join(path, key);
  return xasprintf("%s[%zu]", base, i);
}

/* "path.key["name"]" for map entries, whose names may contain dots. Caller frees. */
static char *path_entry(const char *path, const char *key, const char *name) {
  _cleanup_free_ char *base = path_join(path, key);
  return xasprintf("%s[\"%s\"]", base, name);
}

static int field_err(const struct pctx *c, const char *path, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Set "<what>: <path.key>: <message>" (or "<what>: <message>" at the top) and return -EINVAL. */
static int field_err(const struct pctx *c, const char *path, const char *key, const char *fmt, ...) {
  _cleanup_free_ char *msg = NULL;
  va_list ap;
  va_start(ap, fmt);
  int n = vasprintf(&msg, fmt, ap);
  va_end(ap);
  if (n < 0)
    abort(); /* out of memory, as in xasprintf */
  _cleanup_free_ char *where = path_join(path, key);
  if (*where == '\0')
    return berr_set(c->err, EINVAL, "%s: %s", c->what, msg);
  return berr_set(c->err, EINVAL, "%s: %s: %s", c->what, where, msg);
}

/* ---------- typed getters ---------- */

/* obj[key], with JSON null treated as absent; NULL when obj is NULL. */
static json_t *field(json_t *obj, const char *key) {
  json_t *v = obj ? json_object_get(obj, key) : NULL;
  return json_is_null(v) ? NULL : v;
}

static void *alloc_array(size_t n, size_t size) {
  return n ? xcalloc(n, size) : NULL;
}

static bool is_abs_path(const char *s) {
  return s && s[0] == '/';
}

static int get_object(const struct pctx *c, json_t *obj, const char *path, const char *key, bool required,
                      json_t **out) {
  json_t *v = field(obj, key);
  *out = NULL;
  if (v == NULL)
    return required ? field_err(c, path, key, "missing") : 0;
  if (!json_is_object(v))
    return field_err(c, path, key, "must be an object");
  *out = v;
  return 0;
}

static int get_array(const struct pctx *c, json_t *obj, const char *path, const char *key, json_t **out) {
  json_t *v = field(obj, key);
  *out = NULL;
  if (v == NULL)
    return 0;
  if (!json_is_array(v))
    return field_err(c, path, key, "must be an array");
  *out = v;
  return 0;
}

static int get_string(const struct pctx *c, json_t *obj, const char *path, const char *key, bool required,
                      char **out) {
  json_t *v = field(obj, key);
  if (v == NULL)
    return required ? field_err(c, path, key, "missing") : 0;
  if (!json_is_string(v))
    return field_err(c, path, key, "must be a string");
  free(*out);
  *out = xstrdup(json_string_value(v));
  return 0;
}

/* A string that must be an absolute path. */
static int get_abs_path(const struct pctx *c, json_t *obj, const char *path, const char *key, bool required,
                        char **out) {
  int r = get_string(c, obj, path, key, required, out);
  if (r < 0)
    return r;
  if (*out && !is_abs_path(*out))
    return field_err(c, path, key, "must be an absolute path");
  return 0;
}

static int get_bool(const struct pctx *c, json_t *obj, const char *path, const char *key, bool *out,
                    bool *set) {
  json_t *v = field(obj, key);
  if (v == NULL)
    return 0;
  if (!json_is_boolean(v))
    return field_err(c, path, key, "must be a boolean");
  *out = json_is_true(v);
  if (set)
    *set = true;
  return 0;
}

/* A signed integer in [min, max]. *set (optional) tells whether it was present. */
static int get_int(const struct pctx *c, json_t *obj, const char *path, const char *key, bool required,
                   int64_t min, int64_t max, int64_t *out, bool *set) {
  json_t *v = field(obj, key);
  if (v == NULL)
    return required ? field_err(c, path, key, "missing") : 0;
  if (!json_is_integer(v))
    return field_err(c, path, key, "must be an integer");
  int64_t n = json_integer_value(v);
  if (n < min || n > max)
    return field_err(c, path, key, "must be between %" PRId64 " and %" PRId64, min, max);
  *out = n;
  if (set)
    *set = true;
  return 0;
}

/* An unsigned integer in [0, max]. *set (optional) tells whether it was present. */
static int get_uint(const struct pctx *c, json_t *obj, const char *path, const char *key, bool required,
                    uint64_t max, uint64_t *out, bool *set) {
  json_t *v = field(obj, key);
  if (v == NULL)
    return required ? field_err(c, path, key, "missing") : 0;
  if (!json_is_integer(v) || json_integer_value(v) < 0)
    return field_err(c, path, key, "must be a non-negative integer");
  uint64_t n = (uint64_t)json_integer_value(v);
  if (n > max)
    return field_err(c, path, key, "must be at most %" PRIu64, max);
  *out = n;
  if (set)
    *set = true;
  return 0;
}

static int get_u32(const struct pctx *c, json_t *obj, const char *path, const char *key, bool required,
                   uint32_t *out) {
  uint64_t v = 0;
  int r = get_uint(c, obj, path, key, required, UINT32_MAX, &v, NULL);
  if (r == 0)
    *out = (uint32_t)v;
  return r;
}

static int get_opt_u64(const struct pctx *c, json_t *obj, const char *path, const char *key, uint64_t max,
                       struct oci_opt_u64 *out) {
  return get_uint(c, obj, path, key, false, max, &out->v, &out->set);
}

static int get_opt_i64(const struct pctx *c, json_t *obj, const char *path, const char *key,
                       struct oci_opt_i64 *out) {
  return get_int(c, obj, path, key, false, INT64_MIN, INT64_MAX, &out->v, &out->set);
}

/* An array of strings as a NULL-terminated vector (an empty array gives an empty
 * vector, not NULL). With `nonempty`, absence and [] are errors too. */
static int get_strv(const struct pctx *c, json_t *obj, const char *path, const char *key, bool nonempty,
                    char ***out) {
  const char *expect = nonempty ? "must be a non-empty array of strings" : "must be an array of strings";
  json_t *v = field(obj, key);
  if (v == NULL)
    return nonempty ? field_err(c, path, key, "%s", expect) : 0;
  if (!json_is_array(v) || (nonempty && json_array_size(v) == 0))
    return field_err(c, path, key, "%s", expect);
  size_t n = json_array_size(v);
  char **strv = xcalloc(n + 1, sizeof(char *));
  for (size_t i = 0; i < n; i++) {
    json_t *s = json_array_get(v, i);
    if (!json_is_string(s)) {
      strv_free(strv);
      return field_err(c, path, key, "%s", expect);
    }
    strv[i] = xstrdup(json_string_value(s));
  }
  strv_free(*out);
  *out = strv;
  return 0;
}

/* Every entry of a string vector must be an absolute path. */
static int get_abs_path_strv(const struct pctx *c, json_t *obj, const char *path, const char *key, char ***out) {
  int r = get_strv(c, obj, path, key, false, out);
  for (size_t i = 0; r == 0 && *out && (*out)[i]; i++) {
    if (!is_abs_path((*out)[i])) {
      _cleanup_free_ char *p = path_item(path, key, i);
      r = field_err(c, p, NULL, "must be an absolute path");
    }
  }
  return r;
}

/* An object of strings as parallel NULL-terminated vectors; NULL when absent. */
static int get_string_map(const struct pctx *c, json_t *obj, const char *path, const char *key,
                          bool nonempty_keys, char ***keys, char ***values) {
  json_t *map;
  int r = get_object(c, obj, path, key, false, &map);
  if (r < 0 || map == NULL)
    return r;
  size_t n = json_object_size(map);
  *keys = xcalloc(n + 1, sizeof(char *));
  *values = xcalloc(n + 1, sizeof(char *));
  size_t i = 0;
  const char *k;
  json_t *v;
  json_object_foreach(map, k, v) {
    if (nonempty_keys && *k == '\0')
      return field_err(c, path, key, "keys must not be empty");
    if (!json_is_string(v)) {
      _cleanup_free_ char *p = path_entry(path, key, k);
      return field_err(c, p, NULL, "must be a string");
    }
    (*keys)[i] = xstrdup(k);
    (*values)[i] = xstrdup(json_string_value(v));
    i++;
  }
  return 0;
}

/* ---------- arrays of objects ---------- */

typedef int (*item_parser)(const struct pctx *c, json_t *item, const char *path, void *out);

/* Run `parse` on each object of `arr`, writing items of `size` bytes from `base`. */
static int parse_each_object(const struct pctx *c, json_t *arr, const char *path, const char *key, void *base,
                             size_t size, item_parser parse) {
  size_t i;
  json_t *item;
  json_array_foreach(arr, i, item) {
    _cleanup_free_ char *p = path_item(path, key, i);
    if (!json_is_object(item))
      return field_err(c, p, NULL, "must be an object");
    int r = parse(c, item, p, (char *)base + i * size);
    if (r < 0)
      return r;
  }
  return 0;
}

/* obj[key], an optional array of objects, into a new zeroed array `field` of
 * `n_field` items; the count is set before parsing so a failure leaves a
 * freeable array. Evaluates to 0 or a negative errno. */
#define parse_object_list(c, obj, path, key, field_, n_field, parser)                                  \
  __extension__({                                                                                     \
    json_t *arr_;                                                                                     \
    int r_ = get_array((c), (obj), (path), (key), &arr_);                                             \
    if (r_ == 0 && arr_ != NULL) {                                                                    \
      (n_field) = json_array_size(arr_);                                                              \
      (field_) = alloc_array((n_field), sizeof(*(field_)));                                           \
      r_ = parse_each_object((c), arr_, (path), (key), (field_), sizeof(*(field_)), (parser));        \
    }                                                                                                 \
    r_;                                                                                               \
  })

/* ---------- process ---------- */

static int parse_rlimit(const struct pctx *c, json_t *obj, const char *path, void *out) {
  struct oci_rlimit *rl = out;
  int r = get_string(c, obj, path, "type", true, &rl->type);
  if (r < 0)
    return r;
  rl->resource = -1;
  for (size_t i = 0; i < ARRAY_SIZE(rlimit_names); i++)
    if (strcmp(rl->type, rlimit_names[i].name) == 0)
      rl->resource = rlimit_names[i].resource;
  if (rl->resource < 0)
    return field_err(c, path, "type", "unknown rlimit \"%s\"", rl->type);
  r = get_uint(c, obj, path, "soft", true, UINT64_MAX, &rl->soft, NULL);
  if (r == 0)
    r = get_uint(c, obj, path, "hard", true, UINT64_MAX, &rl->hard, NULL);
  return r;
}

static int check_rlimits_unique(const struct pctx *c, const struct oci_process *p, const char *path) {
  for (size_t i = 0; i < p->n_rlimits; i++) {
    for (size_t j = 0; j < i; j++) {
      if (p->rlimits[i].resource == p->rlimits[j].resource) {
        _cleanup_free_ char *at = path_item(path, "rlimits", i);
        return field_err(c, at, "type", "duplicate rlimit \"%s\"", p->rlimits[i].type);
      }
    }
  }
  return 0;
}

/* One capability set: strings that look like capability names. */
static int parse_cap_set(const struct pctx *c, json_t *obj, const char *path, const char *key, char ***out) {
  int r = get_strv(c, obj, path, key, false, out);
  for (size_t i = 0; r == 0 && *out && (*out)[i]; i++) {
    if (!str_has_prefix((*out)[i], "CAP_")) {
      _cleanup_free_ char *p = path_item(path, key, i);
      r = field_err(c, p, NULL, "\"%s\" is not a capability name (CAP_...)", (*out)[i]);
    }
  }
  return r;
}

static int parse_caps(const struct pctx *c, json_t *obj, const char *path, struct oci_caps *caps) {
  int r = parse_cap_set(c, obj, path, "bounding", &caps->bounding);
  if (r == 0)
    r = parse_cap_set(c, obj, path, "effective", &caps->effective);
  if (r == 0)
    r = parse_cap_set(c, obj, path, "inheritable", &caps->inheritable);
  if (r == 0)
    r = parse_cap_set(c, obj, path, "permitted", &caps->permitted);
  if (r == 0)
    r = parse_cap_set(c, obj, path, "ambient", &caps->ambient);
  return r;
}

static int parse_additional_gids(const struct pctx *c, json_t *obj, const char *path, struct oci_user *u) {
  json_t *arr;
  int r = get_array(c, obj, path, "additionalGids", &arr);
  if (r < 0 || arr == NULL)
    return r;
  u->n_additional_gids = json_array_size(arr);
  u->additional_gids = alloc_array(u->n_additional_gids, sizeof(gid_t));
  for (size_t i = 0; i < u->n_additional_gids; i++) {
    json_t *v = json_array_get(arr, i);
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > UINT32_MAX) {
      _cleanup_free_ char *p = path_item(path, "additionalGids", i);
      return field_err(c, p, NULL, "must be an integer between 0 and %" PRIu32, UINT32_MAX);
    }
    u->additional_gids[i] = (gid_t)json_integer_value(v);
  }
  return 0;
}

static int parse_user(const struct pctx *c, json_t *obj, const char *path, struct oci_user *u) {
  uint32_t uid = 0, gid = 0;
  int r = get_u32(c, obj, path, "uid", false, &uid);
  if (r == 0)
    r = get_u32(c, obj, path, "gid", false, &gid);
  u->uid = uid;
  u->gid = gid;
  if (r == 0)
    r = get_opt_u64(c, obj, path, "umask", UINT32_MAX, &u->umask);
  if (r == 0)
    r = parse_additional_gids(c, obj, path, u);
  if (r == 0)
    r = get_string(c, obj, path, "username", false, &u->username);
  return r;
}

static int parse_console_size(const struct pctx *c, json_t *obj, const char *path, struct oci_process *p) {
  uint32_t h = 0, w = 0;
  int r = get_u32(c, obj, path, "height", true, &h);
  if (r == 0)
    r = get_u32(c, obj, path, "width", true, &w);
  p->console_size.height = h;
  p->console_size.width = w;
  p->has_console_size = r == 0;
  return r;
}

static int parse_io_priority(const struct pctx *c, json_t *obj, const char *path, struct oci_process *p) {
  int r = get_string(c, obj, path, "class", true, &p->io_priority_class);
  if (r < 0)
    return r;
  bool known = false;
  for (size_t i = 0; i < ARRAY_SIZE(io_priority_classes); i++)
    known = known || strcmp(p->io_priority_class, io_priority_classes[i]) == 0;
  if (!known)
    return field_err(c, path, "class", "unknown I/O priority class \"%s\"", p->io_priority_class);
  int64_t prio = 0;
  r = get_int(c, obj, path, "priority", false, 0, 7, &prio, NULL);
  p->io_priority = (int)prio;
  p->has_io_priority = r == 0;
  return r;
}

/* The members of a process object; `path` is "process" in a config, "" alone. */
static int parse_process_members(const struct pctx *c, json_t *obj, const char *path, struct oci_process *p) {
  json_t *sub;
  int r = get_bool(c, obj, path, "terminal", &p->terminal, NULL);
  if (r == 0)
    r = get_object(c, obj, path, "consoleSize", false, &sub);
  if (r == 0 && sub) {
    _cleanup_free_ char *sp = path_join(path, "consoleSize");
    r = parse_console_size(c, sub, sp, p);
  }
  if (r == 0)
    r = get_abs_path(c, obj, path, "cwd", true, &p->cwd);
  if (r == 0)
    r = get_strv(c, obj, path, "env", false, &p->env);
  if (r == 0)
    r = get_strv(c, obj, path, "args", true, &p->args);
  if (r == 0)
    r = get_string(c, obj, path, "commandLine", false, &p->command_line);
  if (r == 0)
    r = get_object(c, obj, path, "user", false, &sub);
  if (r == 0 && sub) {
    _cleanup_free_ char *sp = path_join(path, "user");
    r = parse_user(c, sub, sp, &p->user);
  }
  if (r == 0)
    r = get_object(c, obj, path, "capabilities", false, &sub);
  if (r == 0 && sub) {
    _cleanup_free_ char *sp = path_join(path, "capabilities");
    p->caps = xcalloc(1, sizeof(*p->caps));
    r = parse_caps(c, sub, sp, p->caps);
  }
  if (r == 0)
    r = parse_object_list(c, obj, path, "rlimits", p->rlimits, p->n_rlimits, parse_rlimit);
  if (r == 0)
    r = check_rlimits_unique(c, p, path);
  if (r == 0)
    r = get_bool(c, obj, path, "noNewPrivileges", &p->no_new_privileges, NULL);
  if (r == 0)
    r = get_string(c, obj, path, "apparmorProfile", false, &p->apparmor_profile);
  if (r == 0)
    r = get_int(c, obj, path, "oomScoreAdj", false, -1000, 1000, &p->oom_score_adj.v, &p->oom_score_adj.set);
  if (r == 0)
    r = get_string(c, obj, path, "selinuxLabel", false, &p->selinux_label);
  if (r == 0)
    r = get_object(c, obj, path, "ioPriority", false, &sub);
  if (r == 0 && sub) {
    _cleanup_free_ char *sp = path_join(path, "ioPriority");
    r = parse_io_priority(c, sub, sp, p);
  }
  return r;
}

void oci_process_free(struct oci_process *p) {
  if (p == NULL)
    return;
  free(p->cwd);
  strv_free(p->env);
  strv_free(p->args);
  free(p->command_line);
  free(p->user.additional_gids);
  free(p->user.username);
  if (p->caps) {
    strv_free(p->caps->bounding);
    strv_free(p->caps->effective);
    strv_free(p->caps->inheritable);
    strv_free(p->caps->permitted);
    strv_free(p->caps->ambient);
    free(p->caps);
  }
  for (size_t i = 0; i < p->n_rlimits; i++)
    free(p->rlimits[i].type);
  free(p->rlimits);
  free(p->apparmor_profile);
  free(p->selinux_label);
  free(p->io_priority_class);
  free(p);
}

static void oci_process_freep(struct oci_process **p) {
  oci_process_free(*p);
}

/* A process object at `path` into a new struct; *out untouched on error. */
static int parse_process_at(const struct pctx *c, json_t *obj, const char *path, struct oci_process **out) {
  __attribute__((cleanup(oci_process_freep))) struct oci_process *p = xcalloc(1, sizeof(*p));
  int r = parse_process_members(c, obj, path, p);
  if (r < 0)
    return r;
  *out = steal_ptr(p);
  return 0;
}

int oci_process_parse(json_t *doc, const char *what, struct oci_process **out, struct berr **err) {
  struct pctx c = { what ? what : "process.json", err };
  if (!json_is_object(doc))
    return field_err(&c, NULL, NULL, "must be a JSON object");
  return parse_process_at(&c, doc, "", out);
}

/* ---------- mounts, root, hooks ---------- */

static int parse_id_mapping(const struct pctx *c, json_t *obj, const char *path, void *out) {
  struct oci_id_mapping *m = out;
  int r = get_u32(c, obj, path, "containerID", true, &m->container_id);
  if (r == 0)
    r = get_u32(c, obj, path, "hostID", true, &m->host_id);
  if (r == 0)
    r = get_u32(c, obj, path, "size", true, &m->size);
  return r;
}

/* A mount's uidMappings/gidMappings: checked, not kept (idmapped mounts are refused at create). */
static int check_mount_id_mappings(const struct pctx *c, json_t *obj, const char *path, struct oci_mount *m) {
  struct oci_id_mapping *uids = NULL, *gids = NULL;
  size_t n_uids = 0, n_gids = 0;
  int r = parse_object_list(c, obj, path, "uidMappings", uids, n_uids, parse_id_mapping);
  if (r == 0)
    r = parse_object_list(c, obj, path, "gidMappings", gids, n_gids, parse_id_mapping);
  bool has_uids = field(obj, "uidMappings") != NULL, has_gids = field(obj, "gidMappings") != NULL;
  if (r == 0 && has_uids != has_gids)
    r = field_err(c, path, has_uids ? "gidMappings" : "uidMappings",
                  "missing (uidMappings and gidMappings go together)");
  if (has_uids || has_gids)
    m->has_idmap = true;
  free(uids);
  free(gids);
  return r;
}

static int parse_mount(const struct pctx *c, json_t *obj, const char *path, void *out) {
  struct oci_mount *m = out;
  int r = get_abs_path(c, obj, path, "destination", true, &m->destination);
  if (r == 0)
    r = get_string(c, obj, path, "type", false, &m->type);
  if (r == 0)
    r = get_string(c, obj, path, "source", false, &m->source);
  if (r == 0)
    r = get_strv(c, obj, path, "options", false, &m->options);
  if (r == 0) {
    r = oci_mount_options_parse(m, path, c->err);
    if (r < 0)
      berr_wrap(c->err, "%s", c->what);
  }
  if (r == 0)
    r = check_mount_id_mappings(c, obj, path, m);
  return r;
}

static int parse_root(const struct pctx *c, json_t *doc, struct oci_spec *spec) {
  json_t *root;
  int r = get_object(c, doc, NULL, "root", true, &root);
  if (r == 0)
    r = get_string(c, root, "root", "path", true, &spec->root.path);
  if (r == 0 && spec->root.path[0] == '\0')
    r = field_err(c, "root", "path", "must not be empty");
  if (r == 0)
    r = get_bool(c, root, "root", "readonly", &spec->root.readonly, NULL);
  return r;
}

static int parse_hook(const struct pctx *c, json_t *obj, const char *path, void *out) {
  struct oci_hook *h = out;
  int r = get_abs_path(c, obj, path, "path", true, &h->path);
  if (r == 0)
    r = get_strv(c, obj, path, "args", false, &h->args);
  if (r == 0)
    r = get_strv(c, obj, path, "env", false, &h->env);
  if (r == 0)
    r = get_int(c, obj, path, "timeout", false, INT64_MIN, INT64_MAX, &h->timeout.v, &h->timeout.set);
  if (r == 0 && h->timeout.set && h->timeout.v <= 0)
    r = field_err(c, path, "timeout", "must be greater than zero");
  return r;
}

static int parse_hooks(const struct pctx *c, json_t *doc, struct oci_hooks *hooks) {
  json_t *obj;
  int r = get_object(c, doc, NULL, "hooks", false, &obj);
  for (int k = 0; r == 0 && obj && k < OCI_HOOK_KINDS; k++)
    r = parse_object_list(c, obj, "hooks", oci_hook_kind_names[k], hooks->list[k], hooks->n[k], parse_hook);
  return r;
}

static void hooks_free(struct oci_hooks *hooks) {
  for (int k = 0; k < OCI_HOOK_KINDS; k++) {
    for (size_t i = 0; i < hooks->n[k]; i++) {
      free(hooks->list[k][i].path);
      strv_free(hooks->list[k][i].args);
      strv_free(hooks->list[k][i].env);
    }
    free(hooks->list[k]);
  }
}

/* ---------- linux.resources ---------- */

/* "rwm", "r", "mw", ...: a non-empty subset of r, w and m. */
static bool is_device_access(const char *s) {
  if (*s == '\0' || strlen(s) > 3)
    return false;
  return strspn(s, "rwm") == strlen(s);
}

static int parse_device_cgroup(const struct pctx *c, json_t *obj, const char *path, void *out) {
  struct oci_device_cgroup *d = out;
  _cleanup_free_ char *type = NULL;
  d->type = 'a';
  d->major = d->minor = -1;
  if (field(obj, "allow") == NULL)
    return field_err(c, path, "allow", "missing");
  int r = get_bool(c, obj, path, "allow", &d->allow, NULL);
  if (r == 0)
    r = get_string(c, obj, path, "type", false, &type);
  if (r == 0 && type) {
    if (strlen(type) != 1 || strchr("acb", type[0]) == NULL)
      return field_err(c, path, "type", "must be \"a\", \"c\" or \"b\", not \"%s\"", type);
    d->type = type[0];
  }
  if (r == 0)
    r = get_int(c, obj, path, "major", false, -1, INT64_MAX, &d->major, NULL);
  if (r == 0)
    r = get_int(c, obj, path, "minor", false, -1, INT64_MAX, &d->minor, NULL);
  if (r == 0)
    r = get_string(c, obj, path, "access", false, &d->access);
  if (r == 0 && d->access && !is_device_access(d->access))
    return field_err(c, path, "access", "must be a combination of r, w and m, not \"%s\"", d->access);
  if (r == 0 && d->access == NULL)
    d->access = xstrdup("rwm");
  return r;
}

static int parse_memory(const struct pctx *c, json_t *obj, const char *path, struct oci_resources *res) {
  int r = get_opt_i64(c, obj, path, "limit", &res->memory.limit);
  if (r == 0)
    r = get_opt_i64(c, obj, path, "reservation", &res->memory.reservation);
  if (r == 0)
    r = get_opt_i64(c, obj, path, "swap", &res->memory.swap);
  if (r == 0)
    r = get_opt_i64(c, obj, path, "kernel", &res->memory.kernel);
  if (r == 0)
    r = get_opt_i64(c, obj, path, "kernelTCP", &res->memory.kernel_tcp);
  if (r == 0)
    r = get_opt_u64(c, obj, path, "swappiness", 100, &res->memory.swappiness);
  if (r == 0)
    r = get_bool(c, obj, path, "disableOOMKiller", &res->memory.disable_oom_killer,
                 &res->memory.has_disable_oom_killer);
  if (r == 0)
    r = get_bool(c, obj, path, "useHierarchy", &res->memory.use_hierarchy, &res->memory.has_use_hierarchy);
  if (r == 0)
    r = get_bool(c, obj, path, "checkBeforeUpdate", &res->memory.check_before_update,
                 &res->memory.has_check_before_update);
  return r;
}

static int parse_cpu(const struct pctx *c, json_t *obj, const char *path, struct oci_resources *res) {
  int r = get_opt_u64(c, obj, path, "shares", UINT64_MAX, &res->cpu.shares);
  if (r == 0)
    r = get_opt_i64(c, obj, path, "quota", &res->cpu.quota);
  if (r == 0)
    r = get_opt_u64(c, obj, path, "burst", UINT64_MAX, &res->cpu.burst);
  if (r == 0)
    r = get_opt_u64(c, obj, path, "period", UINT64_MAX, &res->cpu.period);
  if (r == 0)
    r = get_opt_i64(c, obj, path, "realtimeRuntime", &res->cpu.realtime_runtime);
  if (r == 0)
    r = get_opt_u64(c, obj, path, "realtimePeriod", UINT64_MAX, &res->cpu.realtime_period);
  if (r == 0)
    r = get_string(c, obj, path, "cpus", false, &res->cpu.cpus);
  if (r == 0)
    r = get_string(c, obj, path, "mems", false, &res->cpu.mems);
  if (r == 0)
    r = get_opt_i64(c, obj, path, "idle", &res->cpu.idle);
  return r;
}

static int parse_pids(const struct pctx *c, json_t *obj, const char *path, struct oci_resources *res) {
  return get_int(c, obj, path, "limit", true, INT64_MIN, INT64_MAX, &res->pids.limit, &res->pids.set);
}

static int parse_weight_device(const struct pctx *c, json_t *obj, const char *path, void *out) {
  struct oci_weight_device *d = out;
  int r = get_int(c, obj, path, "major", true, 0, INT64_MAX, &d->major, NULL);
  if (r == 0)
    r = get_int(c, obj, path, "minor", true, 0, INT64_MAX, &d->minor, NULL);
  if (r == 0)
    r = get_opt_u64(c, obj, path, "weight", UINT16_MAX, &d->weight);
  if (r == 0)
    r = get_opt_u64(c, obj, path, "leafWeight", UINT16_MAX, &d->leaf_weight);
  if (r == 0 && !d->weight.set && !d->leaf_weight.set)
    r = field_err(c, path, NULL, "must set weight or leafWeight");
  return r;
}

static int parse_throttle_device(const struct pctx *c, json_t *obj, const char *path, void *out) {
  struct oci_throttle_device *d = out;
  int r = get_int(c, obj, path, "major", true, 0, INT64_MAX, &d->major, NULL);
  if (r == 0)
    r = get_int(c, obj, path, "minor", true, 0, INT64_MAX, &d->minor, NULL);
  if (r == 0)
    r = get_uint(c, obj, path, "rate", true, UINT64_MAX, &d->rate, NULL);
  return r;
}

static int parse_blkio(const struct pctx *c, json_t *obj, const char *path, struct oci_resources *res) {
  int r = get_opt_u64(c, obj, path, "weight", UINT16_MAX, &res->blkio.weight);
  if (r == 0)
    r = get_opt_u64(c, obj, path, "leafWeight", UINT16_MAX, &res->blkio.leaf_weight);
  if (r == 0)
    r = parse_object_list(c, obj, path, "weightDevice", res->blkio.weight_device, res->blkio.n_weight_device,
                          parse_weight_device);
  if (r == 0)
    r = parse_object_list(c, obj, path, "throttleReadBpsDevice", res->blkio.throttle_read_bps,
                          res->blkio.n_throttle_read_bps, parse_throttle_device);
  if (r == 0)
    r = parse_object_list(c, obj, path, "throttleWriteBpsDevice", res->blkio.throttle_write_bps,
                          res->blkio.n_throttle_write_bps, parse_throttle_device);
  if (r == 0)
    r = parse_object_list(c, obj, path, "throttleReadIOPSDevice", res->blkio.throttle_read_iops,
                          res->blkio.n_throttle_read_iops, parse_throttle_device);
  if (r == 0)
    r = parse_object_list(c, obj, path, "throttleWriteIOPSDevice", res->blkio.throttle_write_iops,
                          res->blkio.n_throttle_write_iops, parse_throttle_device);
  return r;
}

/* "64KB", "2MB", "1GB": ^[1-9][0-9]*[KMG]B$ */
static bool is_hugepage_size(const char *s) {
  size_t digits = strspn(s, "0123456789");
  return digits > 0 && s[0] != '0' && s[digits] != '\0' && strchr("KMG", s[digits]) && s[digits + 1] == 'B' &&
         s[digits + 2] == '\0';
}

static int parse_hugepage_limit(const struct pctx *c, json_t *obj, const char *path, void *out) {
  hugepage_limit_t *h = out;
  int r = get_string(c, obj, path, "pageSize", true, &h->page_size);
  if (r == 0 && !is_hugepage_size(h->page_size))
    r = field_err(c, path, "pageSize", "\"%s\" is not a size like 2MB or 1GB", h->page_size);
  if (r == 0)
    r = get_uint(c, obj, path, "limit", true, UINT64_MAX, &h->limit, NULL);
  return r;
}

static int parse_net_priority(const struct pctx *c, json_t *obj, const char *path, void *out) {
  net_priority_t *p = out;
  int r = get_string(c, obj, path, "name", true, &p->name);
  if (r == 0)
    r = get_u32(c, obj, path, "priority", true, &p->priority);
  return r;
}

static int parse_network(const struct pctx *c, json_t *obj, const char *path, struct oci_resources *res) {
  int r = get_opt_u64(c, obj, path, "classID", UINT32_MAX, &res->network.class_id);
  if (r == 0)
    r = parse_object_list(c, obj, path, "priorities", res->network.priorities, res->network.n_priorities,
                          parse_net_priority);
  return r;
}

typedef int (*resource_parser)(const struct pctx *c, json_t *obj, const char *path, struct oci_resources *res);

/* Run `parse` on obj[key] when it is present (it must be an object). */
static int parse_sub_object(const struct pctx *c, json_t *obj, const char *path, const char *key,
                            resource_parser parse, struct oci_resources *res) {
  json_t *sub;
  int r = get_object(c, obj, path, key, false, &sub);
  if (r < 0 || sub == NULL)
    return r;
  _cleanup_free_ char *sp = path_join(path, key);
  return parse(c, sub, sp, res);
}

static int parse_resources_members(const struct pctx *c, json_t *obj, const char *path,
                                   struct oci_resources *res) {
  int r = parse_object_list(c, obj, path, "devices", res->devices, res->n_devices, parse_device_cgroup);
  if (r == 0)
    r = parse_sub_object(c, obj, path, "memory", parse_memory, res);
  if (r == 0)
    r = parse_sub_object(c, obj, path, "cpu", parse_cpu, res);
  if (r == 0)
    r = parse_sub_object(c, obj, path, "pids", parse_pids, res);
  if (r == 0)
    r = parse_sub_object(c, obj, path, "blockIO", parse_blkio, res);
  if (r == 0)
    r = parse_object_list(c, obj, path, "hugepageLimits", res->hugepage_limits, res->n_hugepage_limits,
                          parse_hugepage_limit);
  if (r == 0)
    r = parse_sub_object(c, obj, path, "network", parse_network, res);
  if (r == 0)
    r = get_string_map(c, obj, path, "unified", true, &res->unified_keys, &res->unified_values);
  return r;
}

void oci_resources_free(struct oci_resources *r) {
  if (r == NULL)
    return;
  for (size_t i = 0; i < r->n_devices; i++)
    free(r->devices[i].access);
  free(r->devices);
  free(r->cpu.cpus);
  free(r->cpu.mems);
  free(r->blkio.weight_device);
  free(r->blkio.throttle_read_bps);
  free(r->blkio.throttle_write_bps);
  free(r->blkio.throttle_read_iops);
  free(r->blkio.throttle_write_iops);
  for (size_t i = 0; i < r->n_hugepage_limits; i++)
    free(r->hugepage_limits[i].page_size);
  free(r->hugepage_limits);
  for (size_t i = 0; i < r->network.n_priorities; i++)
    free(r->network.priorities[i].name);
  free(r->network.priorities);
  strv_free(r->unified_keys);
  strv_free(r->unified_values);
  free(r);
}

static void oci_resources_freep(struct oci_resources **r) {
  oci_resources_free(*r);
}

static int parse_resources_at(const struct pctx *c, json_t *obj, const char *path, struct oci_resources **out) {
  __attribute__((cleanup(oci_resources_freep))) struct oci_resources *res = xcalloc(1, sizeof(*res));
  int r = parse_resources_members(c, obj, path, res);
  if (r < 0)
    return r;
  *out = steal_ptr(res);
  return 0;
}

int oci_resources_parse(json_t *doc, const char *what, struct oci_resources **out, struct berr **err) {
  struct pctx c = { what ? what : "resources.json", err };
  if (!json_is_object(doc))
    return field_err(&c, NULL, NULL, "must be a JSON object");
  return parse_resources_at(&c, doc, "", out);
}

/* ---------- linux ---------- */

static int parse_namespace(const struct pctx *c, json_t *obj, const char *path, void *out) {
  struct oci_namespace *ns = out;
  _cleanup_free_ char *type = NULL;
  int r = get_string(c, obj, path, "type", true, &type);
  if (r < 0)
    return r;
  ns->type = OCI_NS_TYPES;
  for (int t = 0; t < OCI_NS_TYPES; t++)
    if (strcmp(type, oci_ns_names[t]) == 0)
      ns->type = (enum oci_ns_type)t;
  if (ns->type == OCI_NS_TYPES)
    return field_err(c, path, "type", "unknown namespace type \"%s\"", type);
  return get_abs_path(c, obj, path, "path", false, &ns->path);
}

static int parse_namespaces(const struct pctx *c, json_t *obj, const char *path, struct oci_linux *lx) {
  int r = parse_object_list(c, obj, path, "namespaces", lx->namespaces, lx->n_namespaces, parse_namespace);
  bool seen[OCI_NS_TYPES] = { false };
  for (size_t i = 0; r == 0 && i < lx->n_namespaces; i++) {
    enum oci_ns_type t = lx->namespaces[i].type;
    if (seen[t])
      return field_err(c, path, "namespaces", "duplicate namespace \"%s\"", oci_ns_names[t]);
    seen[t] = true;
  }
  return r;
}

static int parse_device(const struct pctx *c, json_t *obj, const char *path, void *out) {
  struct oci_device *d = out;
  _cleanup_free_ char *type = NULL;
  d->major = d->minor = -1;
  int r = get_abs_path(c, obj, path, "path", true, &d->path);
  if (r == 0)
    r = get_string(c, obj, path, "type", true, &type);
  if (r < 0)
    return r;
  if (strlen(type) != 1 || strchr("cbup", type[0]) == NULL)
    return field_err(c, path, "type", "must be \"c\", \"b\", \"u\" or \"p\", not \"%s\"", type);
  d->type = type[0];
  bool numbers_required = d->type != 'p';
  r = get_int(c, obj, path, "major", numbers_required, 0, INT64_MAX, &d->major, NULL);
  if (r == 0)
    r = get_int(c, obj, path, "minor", numbers_required, 0, INT64_MAX, &d->minor, NULL);
  if (r == 0)
    r = get_opt_u64(c, obj, path, "fileMode", UINT32_MAX, &d->file_mode);
  if (r == 0)
    r = get_opt_u64(c, obj, path, "uid", UINT32_MAX, &d->uid);
  if (r == 0)
    r = get_opt_u64(c, obj, path, "gid", UINT32_MAX, &d->gid);
  return r;
}

/* One clock of timeOffsets: {"secs": int64, "nanosecs": uint32}. */
static int parse_time_offset(const struct pctx *c, json_t *obj, const char *path, int64_t *secs,
                             uint32_t *nanosecs) {
  if (!json_is_object(obj))
    return field_err(c, path, NULL, "must be an object");
  int r = get_int(c, obj, path, "secs", false, INT64_MIN, INT64_MAX, secs, NULL);
  if (r == 0)
    r = get_u32(c, obj, path, "nanosecs", false, nanosecs);
  return r;
}

static int parse_time_offsets(const struct pctx *c, json_t *obj, const char *path, struct oci_linux *lx) {
  json_t *offsets;
  int r = get_object(c, obj, path, "timeOffsets", false, &offsets);
  if (r < 0 || offsets == NULL)
    return r;
  lx->has_time_offsets = true;
  const char *clock;
  json_t *v;
  json_object_foreach(offsets, clock, v) {
    _cleanup_free_ char *p = path_entry(path, "timeOffsets", clock);
    if (strcmp(clock, "monotonic") == 0)
      r = parse_time_offset(c, v, p, &lx->time_monotonic.secs, &lx->time_monotonic.nanosecs);
    else if (strcmp(clock, "boottime") == 0)
      r = parse_time_offset(c, v, p, &lx->time_boottime.secs, &lx->time_boottime.nanosecs);
    else
      r = field_err(c, p, NULL, "unknown clock (monotonic or boottime)");
    if (r < 0)
      return r;
  }
  return 0;
}

static int parse_seccomp_arg(const struct pctx *c, json_t *obj, const char *path, void *out) {
  struct oci_seccomp_arg *a = out;
  uint32_t index = 0;
  int r = get_u32(c, obj, path, "index", true, &index);
  a->index = index;
  if (r == 0)
    r = get_uint(c, obj, path, "value", true, UINT64_MAX, &a->value, NULL);
  if (r == 0)
    r = get_uint(c, obj, path, "valueTwo", false, UINT64_MAX, &a->value_two, NULL);
  if (r == 0)
    r = get_string(c, obj, path, "op", true, &a->op);
  return r;
}

static int parse_seccomp_syscall(const struct pctx *c, json_t *obj, const char *path, void *out) {
  struct oci_seccomp_syscall *s = out;
  int r = get_strv(c, obj, path, "names", true, &s->names);
  if (r == 0)
    r = get_string(c, obj, path, "action", true, &s->action);
  if (r == 0)
    r = get_opt_u64(c, obj, path, "errnoRet", UINT32_MAX, &s->errno_ret);
  if (r == 0)
    r = parse_object_list(c, obj, path, "args", s->args, s->n_args, parse_seccomp_arg);
  return r;
}

static int parse_seccomp_members(const struct pctx *c, json_t *obj, const char *path, struct oci_seccomp *s) {
  int r = get_string(c, obj, path, "defaultAction", true, &s->default_action);
  if (r == 0)
    r = get_opt_u64(c, obj, path, "defaultErrnoRet", UINT32_MAX, &s->default_errno_ret);
  if (r == 0)
    r = get_strv(c, obj, path, "architectures", false, &s->architectures);
  if (r == 0)
    r = get_strv(c, obj, path, "flags", false, &s->flags);
  if (r == 0)
    r = get_string(c, obj, path, "listenerPath", false, &s->listener_path);
  if (r == 0)
    r = get_string(c, obj, path, "listenerMetadata", false, &s->listener_metadata);
  if (r == 0 && s->listener_metadata && s->listener_path == NULL)
    r = field_err(c, path, "listenerMetadata", "must not be set without listenerPath");
  if (r == 0)
    r = parse_object_list(c, obj, path, "syscalls", s->syscalls, s->n_syscalls, parse_seccomp_syscall);
  return r;
}

static void seccomp_free(struct oci_seccomp *s) {
  if (s == NULL)
    return;
  free(s->default_action);
  strv_free(s->architectures);
  strv_free(s->flags);
  free(s->listener_path);
  free(s->listener_metadata);
  for (size_t i = 0; i < s->n_syscalls; i++) {
    struct oci_seccomp_syscall *sc = &s->syscalls[i];
    strv_free(sc->names);
    free(sc->action);
    for (size_t j = 0; j < sc->n_args; j++)
      free(sc->args[j].op);
    free(sc->args);
  }
  free(s->syscalls);
  free(s);
}

static int parse_rootfs_propagation(const struct pctx *c, json_t *obj, const char *path, struct oci_linux *lx) {
  unsigned long flags;
  int r = get_string(c, obj, path, "rootfsPropagation", false, &lx->rootfs_propagation);
  if (r == 0 && lx->rootfs_propagation && oci_propagation_parse(lx->rootfs_propagation, &flags) < 0)
    r = field_err(c, path, "rootfsPropagation", "unknown propagation \"%s\"", lx->rootfs_propagation);
  return r;
}

static int parse_personality(const struct pctx *c, json_t *obj, const char *path, struct oci_linux *lx) {
  _cleanup_strv_ char **flags = NULL;
  int r = get_string(c, obj, path, "domain", true, &lx->personality_domain);
  if (r < 0)
    return r;
  if (strcmp(lx->personality_domain, "LINUX") != 0 && strcmp(lx->personality_domain, "LINUX32") != 0)
    return field_err(c, path, "domain", "must be \"LINUX\" or \"LINUX32\", not \"%s\"", lx->personality_domain);
  r = get_strv(c, obj, path, "flags", false, &flags);
  if (r == 0 && flags && flags[0])
    r = field_err(c, path, "flags", "flag \"%s\" is not supported", flags[0]);
  return r;
}

/* The optional objects of linux: seccomp, resources, intelRdt, personality. */
static int parse_linux_objects(const struct pctx *c, json_t *obj, const char *path, struct oci_linux *lx) {
  json_t *sub;
  int r = get_object(c, obj, path, "resources", false, &sub);
  if (r == 0 && sub) {
    _cleanup_free_ char *sp = path_join(path, "resources");
    r = parse_resources_at(c, sub, sp, &lx->resources);
  }
  if (r == 0)
    r = get_object(c, obj, path, "seccomp", false, &sub);
  if (r == 0 && sub) {
    _cleanup_free_ char *sp = path_join(path, "seccomp");
    lx->seccomp = xcalloc(1, sizeof(*lx->seccomp));
    r = parse_seccomp_members(c, sub, sp, lx->seccomp);
  }
  if (r == 0)
    r = get_object(c, obj, path, "intelRdt", false, &sub);
  if (r == 0 && sub) {
    _cleanup_free_ char *sp = path_join(path, "intelRdt");
    r = get_string(c, sub, sp, "closID", false, &lx->intel_rdt_clos);
  }
  if (r == 0)
    r = get_object(c, obj, path, "personality", false, &sub);
  if (r == 0 && sub) {
    _cleanup_free_ char *sp = path_join(path, "personality");
    r = parse_personality(c, sub, sp, lx);
  }
  return r;
}

static int parse_linux_members(const struct pctx *c, json_t *obj, const char *path, struct oci_linux *lx) {
  int r = parse_namespaces(c, obj, path, lx);
  if (r == 0)
    r = parse_object_list(c, obj, path, "uidMappings", lx->uid_mappings, lx->n_uid_mappings, parse_id_mapping);
  if (r == 0)
    r = parse_object_list(c, obj, path, "gidMappings", lx->gid_mappings, lx->n_gid_mappings, parse_id_mapping);
  if (r == 0)
    r = parse_time_offsets(c, obj, path, lx);
  if (r == 0)
    r = parse_object_list(c, obj, path, "devices", lx->devices, lx->n_devices, parse_device);
  if (r == 0)
    r = get_string(c, obj, path, "cgroupsPath", false, &lx->cgroups_path);
  if (r == 0)
    r = parse_rootfs_propagation(c, obj, path, lx);
  if (r == 0)
    r = get_string_map(c, obj, path, "sysctl", true, &lx->sysctl_keys, &lx->sysctl_values);
  if (r == 0)
    r = get_abs_path_strv(c, obj, path, "maskedPaths", &lx->masked_paths);
  if (r == 0)
    r = get_abs_path_strv(c, obj, path, "readonlyPaths", &lx->readonly_paths);
  if (r == 0)
    r = get_string(c, obj, path, "mountLabel", false, &lx->mount_label);
  if (r == 0)
    r = parse_linux_objects(c, obj, path, lx);
  return r;
}

static void linux_free(struct oci_linux *lx) {
  if (lx == NULL)
    return;
  for (size_t i = 0; i < lx->n_namespaces; i++)
    free(lx->namespaces[i].path);
  free(lx->namespaces);
  free(lx->uid_mappings);
  free(lx->gid_mappings);
  for (size_t i = 0; i < lx->n_devices; i++)
    free(lx->devices[i].path);
  free(lx->devices);
  free(lx->cgroups_path);
  oci_resources_free(lx->resources);
  free(lx->rootfs_propagation);
  strv_free(lx->sysctl_keys);
  strv_free(lx->sysctl_values);
  seccomp_free(lx->seccomp);
  strv_free(lx->masked_paths);
  strv_free(lx->readonly_paths);
  free(lx->mount_label);
  free(lx->intel_rdt_clos);
  free(lx->personality_domain);
  free(lx);
}

/* ---------- the whole document ---------- */

static int parse_spec_members(const struct pctx *c, json_t *doc, struct oci_spec *spec) {
  json_t *sub;
  int r = get_string(c, doc, NULL, "ociVersion", true, &spec->oci_version);
  if (r == 0 && spec->oci_version[0] == '\0')
    r = field_err(c, NULL, "ociVersion", "must not be empty");
  if (r == 0)
    r = parse_root(c, doc, spec);
  if (r == 0)
    r = get_object(c, doc, NULL, "process", false, &sub);
  if (r == 0 && sub)
    r = parse_process_at(c, sub, "process", &spec->process);
  if (r == 0)
    r = get_string(c, doc, NULL, "hostname", false, &spec->hostname);
  if (r == 0)
    r = get_string(c, doc, NULL, "domainname", false, &spec->domainname);
  if (r == 0)
    r = parse_object_list(c, doc, NULL, "mounts", spec->mounts, spec->n_mounts, parse_mount);
  if (r == 0)
    r = parse_hooks(c, doc, &spec->hooks);
  if (r == 0)
    r = get_string_map(c, doc, NULL, "annotations", true, &spec->annotation_keys, &spec->annotation_values);
  if (r == 0)
    r = get_object(c, doc, NULL, "linux", false, &sub);
  if (r == 0 && sub) {
    spec->linux_ = xcalloc(1, sizeof(*spec->linux_));
    r = parse_linux_members(c, sub, "linux", spec->linux_);
  }
  return r;
}

int oci_spec_parse(json_t *doc, const char *what, struct oci_spec **out, struct berr **err) {
  struct pctx c = { what ? what : "config.json", err };
  if (!json_is_object(doc))
    return field_err(&c, NULL, NULL, "must be a JSON object");
  _cleanup_spec_ struct oci_spec *spec = xcalloc(1, sizeof(*spec));
  spec->raw = json_incref(doc);
  int r = parse_spec_members(&c, doc, spec);
  if (r < 0)
    return r;
  *out = steal_ptr(spec);
  return 0;
}

int oci_spec_load(const char *path, struct oci_spec **out, struct berr **err) {
  _cleanup_json_ json_t *doc = NULL;
  int r = json_load_path(path, &doc, err);
  if (r < 0)
    return r;
  return oci_spec_parse(doc, path, out, err);
}

static void mounts_free(struct oci_mount *mounts, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(mounts[i].destination);
    free(mounts[i].type);
    free(mounts[i].source);
    strv_free(mounts[i].options);
    free(mounts[i].data);
  }
  free(mounts);
}

void oci_spec_free(struct oci_spec *spec) {
  if (spec == NULL)
    return;
  free(spec->oci_version);
  free(spec->root.path);
  oci_process_free(spec->process);
  free(spec->hostname);
  free(spec->domainname);
  mounts_free(spec->mounts, spec->n_mounts);
  hooks_free(&spec->hooks);
  strv_free(spec->annotation_keys);
  strv_free(spec->annotation_values);
  linux_free(spec->linux_);
  json_decref(spec->raw);
  free(spec);
}

void oci_spec_freep(struct oci_spec **spec) {
  if (spec) {
    oci_spec_free(*spec);
    *spec = NULL;
  }
}

const struct oci_namespace *oci_spec_namespace(const struct oci_spec *spec, enum oci_ns_type type) {
  if (spec == NULL || spec->linux_ == NULL)
    return NULL;
  for (size_t i = 0; i < spec->linux_->n_namespaces; i++)
    if (spec->linux_->namespaces[i].type == type)
      return &spec->linux_->namespaces[i];
  return NULL;
}
