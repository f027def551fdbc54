/*
 * cgroup.c — entry point of the cgroup layer: which host setup we are on, where
 * the container's cgroup lives, and which backend handles each operation.
 *
 *   mode      statfs(/sys/fs/cgroup): cgroup2 => v2; tmpfs => v1, or hybrid when
 *             /sys/fs/cgroup/unified is a cgroup2 mount. Cached: it cannot change.
 *   path      cgroupsPath resolved once (cgroup_resolve_path), the same in every hierarchy.
 *   dispatch  one ops table per mode. Hybrid is v1 for everything that limits or
 *             observes, plus a directory in the unified hierarchy that the container
 *             joins too (as runc does, so tools that read /proc/PID/cgroup's "0::"
 *             line find it); failures there are logged, never fatal.
 *   kill_all  generic: v2 cgroup.kill for SIGKILL, else freeze / signal each pid / thaw.
 *   state     cgroup_to_json / cgroup_from_json keep the directories across
 *             runtime invocations; nothing is re-derived from the host afterwards.
 *
 * The helpers at the end (cg_write, cg_mkdirs, cg_rmdir, ...) are shared with the
 * backends through cgroup_internal.h; they put the file and the value in every error.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>

#include "runtime/cgroup_internal.h"

/* ---------- mode ---------- */

static int statfs_type(const char *path, long *type) {
  struct statfs st;
  if (statfs(path, &st) < 0)
    return -errno;
  *type = (long)st.f_type;
  return 0;
}

int cgroup_detect_mode(enum cgroup_mode *out, struct berr **err) {
  static enum cgroup_mode cached; /* 0 until detected; a host property, never changes */
  if (cached) {
    *out = cached;
    return 0;
  }
  long type = 0, unified = 0;
  int r = statfs_type(CGROUP_ROOT, &type);
  if (r < 0)
    return berr_sys(err, -r, "cgroup: statfs %s", CGROUP_ROOT);
  if (type == CGROUP2_SUPER_MAGIC)
    cached = CGROUP_MODE_V2;
  else if (type == TMPFS_MAGIC)
    cached = statfs_type(CGROUP_HYBRID_UNIFIED, &unified) == 0 && unified == CGROUP2_SUPER_MAGIC ? CGROUP_MODE_HYBRID
                                                                                              : CGROUP_MODE_V1;
  else
    return berr_set(err, ENOTSUP, "cgroup: %s is neither cgroup2 nor a tmpfs of v1 hierarchies (f_type 0x%lx)",
                    CGROUP_ROOT, type);
  *out = cached;
  return 0;
}

static const struct {
  enum cgroup_mode mode;
  const char *name;
} mode_names[] = {{CGROUP_MODE_V1, "v1"}, {CGROUP_MODE_HYBRID, "hybrid"}, {CGROUP_MODE_V2, "v2"}};

static const char *mode_name(enum cgroup_mode m) {
  for (size_t i = 0; i < sizeof mode_names / sizeof *mode_names; i++)
    if (mode_names[i].mode == m)
      return mode_names[i].name;
  return NULL;
}

static int mode_parse(const char *s, enum cgroup_mode *out) {
  for (size_t i = 0; i < sizeof mode_names / sizeof *mode_names; i++)
    if (strcmp(mode_names[i].name, s) == 0) {
      *out = mode_names[i].mode;
      return 0;
    }
  return -EINVAL;
}

/* ---------- hybrid: v1 plus a best-effort unified dir ---------- */

static int hybrid_apply(struct cgroup *cg, const struct oci_resources *r, struct berr **err) {
  int ret = cgv1_apply(cg, r, err);
  if (ret < 0 || !r->unified_keys || !r->unified_keys[0])
    return ret;
  /* the user asked for these explicitly: failing to write them is an error */
  if (!cg->unified_dir)
    return berr_set(err, ENOTSUP, "cgroup: resources.unified needs the unified hierarchy, which %s could not join",
                    cg->path);
  return cgv2_apply_unified(cg->unified_dir, r, err);
}

static int hybrid_add_pid(struct cgroup *cg, pid_t pid, struct berr **err) {
  int ret = cgv1_add_pid(cg, pid, err);
  if (ret < 0 || !cg->unified_dir)
    return ret;
  _cleanup_berr_ struct berr *e = NULL;
  if (cgv2_add_pid(cg, pid, &e) < 0)
    log_warn("cgroup (hybrid, ignored): %s", e ? e->msg : "unified hierarchy");
  return 0;
}

static int hybrid_destroy(struct cgroup *cg, struct berr **err) {
  int ret = cgv1_destroy(cg, err);
  _cleanup_berr_ struct berr *e = NULL;
  if (cg->unified_dir && cgv2_destroy(cg, &e) < 0)
    log_warn("cgroup (hybrid, ignored): %s", e ? e->msg : "unified hierarchy");
  return ret;
}

static int v1_apply(struct cgroup *cg, const struct oci_resources *r, struct berr **err) {
  if (r->unified_keys && r->unified_keys[0])
    return berr_set(err, ENOTSUP, "cgroup v1: resources.unified (\"%s\") needs cgroup v2", r->unified_keys[0]);
  return cgv1_apply(cg, r, err);
}

static int no_kill(struct cgroup *cg, struct berr **err) {
  (void)cg;
  (void)err;
  return -ENOTSUP;
}

static const struct cgroup_ops v1_ops = {
    .apply = v1_apply,
    .add_pid = cgv1_add_pid,
    .pids = cgv1_pids,
    .freeze = cgv1_freeze,
    .frozen = cgv1_frozen,
    .kill = no_kill,
    .destroy = cgv1_destroy,
};

static const struct cgroup_ops hybrid_ops = {
    .apply = hybrid_apply,
    .add_pid = hybrid_add_pid,
    .pids = cgv1_pids,
    .freeze = cgv1_freeze,
    .frozen = cgv1_frozen,
    .kill = no_kill,
    .destroy = hybrid_destroy,
};

static const struct cgroup_ops v2_ops = {
    .apply = cgv2_apply,
    .add_pid = cgv2_add_pid,
    .pids = cgv2_pids,
    .freeze = cgv2_freeze,
    .frozen = cgv2_frozen,
    .kill = cgv2_kill,
    .destroy = cgv2_destroy,
};

static const struct cgroup_ops *ops_for(const struct cgroup *cg) {
  switch (cg->mode) {
  case CGROUP_MODE_V1:
    return &v1_ops;
  case CGROUP_MODE_HYBRID:
    return &hybrid_ops;
  case CGROUP_MODE_V2:
    return &v2_ops;
  }
  return NULL;
}

/* ---------- create ---------- */

static int create_dirs(struct cgroup *cg, const char *v2_root, char ***created, struct berr **err) {
  switch (cg->mode) {
  case CGROUP_MODE_V1:
    return cgv1_create(cg, created, err);
  case CGROUP_MODE_HYBRID: {
    int r = cgv1_create(cg, created, err);
    if (r < 0)
      return r;
    _cleanup_berr_ struct berr *e = NULL;
    _cleanup_strv_ char **uni = NULL; /* undone here on failure: that failure is not fatal */
    if (cgv2_create(CGROUP_HYBRID_UNIFIED, cg->path, false, &cg->unified_dir, &uni, &e) < 0) {
      log_warn("cgroup (hybrid, ignored): %s", e ? e->msg : CGROUP_HYBRID_UNIFIED);
      cg_rollback(uni);
      return 0;
    }
    for (size_t i = 0; uni && uni[i]; i++)
      *created = strv_append(*created, steal_ptr(uni[i]));
    return 0;
  }
  case CGROUP_MODE_V2:
    return cgv2_create(v2_root, cg->path, true, &cg->unified_dir, created, err);
  }
  return berr_set(err, EINVAL, "cgroup: unknown mode %d", (int)cg->mode);
}

static int create_in(enum cgroup_mode mode, const char *v2_root, const char *cgroups_path, const char *id,
                     struct cgroup **out, struct berr **err) {
  _cleanup_cgroup_ struct cgroup *cg = xcalloc(1, sizeof *cg);
  cg->mode = mode;
  if (cgroup_resolve_path(cgroups_path, id, &cg->path) < 0)
    return berr_set(err, EINVAL, "cgroup: invalid cgroupsPath \"%s\" (container %s): must stay below the root",
                    cgroups_path ? cgroups_path : "", id ? id : "");
  _cleanup_strv_ char **created = NULL;
  int r = create_dirs(cg, v2_root, &created, err);
  if (r < 0) {
    cg_rollback(created);
    return r;
  }
  *out = steal_ptr(cg);
  return 0;
}

int cgroup_create(const char *cgroups_path, const char *id, struct cgroup **out, struct berr **err) {
  enum cgroup_mode mode;
  int r = cgroup_detect_mode(&mode, err);
  if (r < 0)
    return r;
  return create_in(mode, CGROUP_ROOT, cgroups_path, id, out, err);
}

int cgroup_create_v2_at(const char *root, const char *cgroups_path, const char *id, struct cgroup **out,
                        struct berr **err) {
  return create_in(CGROUP_MODE_V2, root, cgroups_path, id, out, err);
}

/* ---------- dispatch ---------- */

int cgroup_apply(struct cgroup *cg, const struct oci_resources *r, struct berr **err) {
  if (!r)
    return 0;
  return ops_for(cg)->apply(cg, r, err);
}

int cgroup_add_pid(struct cgroup *cg, pid_t pid, struct berr **err) { return ops_for(cg)->add_pid(cg, pid, err); }

int cgroup_pids(struct cgroup *cg, pid_t **pids, size_t *n, struct berr **err) {
  *pids = NULL;
  *n = 0;
  int r = ops_for(cg)->pids(cg, pids, n, err);
  if (r < 0) {
    free(*pids);
    *pids = NULL;
    *n = 0;
  }
  return r;
}

int cgroup_freeze(struct cgroup *cg, bool frozen, struct berr **err) { return ops_for(cg)->freeze(cg, frozen, err); }

int cgroup_frozen(struct cgroup *cg, bool *frozen, struct berr **err) { return ops_for(cg)->frozen(cg, frozen, err); }

int cgroup_destroy(struct cgroup *cg, struct berr **err) { return ops_for(cg)->destroy(cg, err); }

static int signal_pids(const pid_t *pids, size_t n, int sig, struct berr **err) {
  int ret = 0;
  for (size_t i = 0; i < n; i++)
    if (kill(pids[i], sig) < 0 && errno != ESRCH && ret == 0)
      ret = berr_sys(err, errno, "cgroup: kill pid %d with signal %d", (int)pids[i], sig);
  return ret;
}

/*
 * Freezing first means no task can fork a child we would miss. Without a freezer
 * (a v1 host that does not mount one) we signal anyway. The previous state is kept,
 * except that SIGKILL always thaws: v1 frozen tasks cannot die until thawed.
 */
int cgroup_kill_all(struct cgroup *cg, int sig, struct berr **err) {
  const struct cgroup_ops *ops = ops_for(cg);
  if (sig == SIGKILL) {
    int r = ops->kill(cg, err);
    if (r != -ENOTSUP)
      return r;
  }
  bool was_frozen = false, can_freeze = true;
  _cleanup_berr_ struct berr *ferr = NULL;
  if (ops->frozen(cg, &was_frozen, &ferr) < 0) {
    log_debug("cgroup: kill without freezing: %s", ferr ? ferr->msg : "no freezer");
    can_freeze = false;
  }
  if (can_freeze && !was_frozen) {
    int r = ops->freeze(cg, true, err);
    if (r < 0)
      return r;
  }
  _cleanup_free_ pid_t *pids = NULL;
  size_t n = 0;
  int ret = cgroup_pids(cg, &pids, &n, err);
  if (ret == 0)
    ret = signal_pids(pids, n, sig, err);
  if (can_freeze && (!was_frozen || sig == SIGKILL)) {
    int r = ops->freeze(cg, false, ret < 0 ? NULL : err);
    if (ret == 0)
      ret = r;
  }
  return ret;
}

/* ---------- state ---------- */

static json_t *hier_to_json(const struct cgroup_hier *h) {
  return json_pack("{s:s, s:s, s:s, s:s?}", "name", h->name, "mount", h->mount, "dir", h->dir, "controllers",
                   h->controllers);
}

json_t *cgroup_to_json(const struct cgroup *cg) {
  json_t *hiers = json_array();
  for (size_t i = 0; i < cg->n_hiers; i++)
    json_array_append_new(hiers, hier_to_json(&cg->hiers[i]));
  return json_pack("{s:s, s:s, s:o, s:s?}", "mode", mode_name(cg->mode), "path", cg->path, "hierarchies", hiers,
                   "unified_dir", cg->unified_dir);
}

/* A required (or, with optional, possibly absent/null) string member, copied into *out. */
static int json_str_field(json_t *obj, const char *key, bool optional, char **out, struct berr **err) {
  json_t *v = json_object_get(obj, key);
  if ((!v || json_is_null(v)) && optional)
    return 0;
  if (!json_is_string(v))
    return berr_set(err, EINVAL, "cgroup state: \"%s\" must be a string", key);
  *out = xstrdup(json_string_value(v));
  return 0;
}

static int hier_from_json(json_t *j, struct cgroup_hier *h, struct berr **err) {
  if (!json_is_object(j))
    return berr_set(err, EINVAL, "cgroup state: hierarchies entries must be objects");
  int r = json_str_field(j, "name", false, &h->name, err);
  if (r == 0)
    r = json_str_field(j, "mount", false, &h->mount, err);
  if (r == 0)
    r = json_str_field(j, "dir", false, &h->dir, err);
  if (r == 0)
    r = json_str_field(j, "controllers", true, &h->controllers, err);
  return r;
}

int cgroup_from_json(json_t *j, struct cgroup **out, struct berr **err) {
  if (!json_is_object(j))
    return berr_set(err, EINVAL, "cgroup state: not an object");
  _cleanup_cgroup_ struct cgroup *cg = xcalloc(1, sizeof *cg);
  _cleanup_free_ char *mode = NULL;
  int r = json_str_field(j, "mode", false, &mode, err);
  if (r < 0)
    return r;
  if (mode_parse(mode, &cg->mode) < 0)
    return berr_set(err, EINVAL, "cgroup state: unknown mode \"%s\"", mode);
  if ((r = json_str_field(j, "path", false, &cg->path, err)) < 0 ||
      (r = json_str_field(j, "unified_dir", true, &cg->unified_dir, err)) < 0)
    return r;
  json_t *hiers = json_object_get(j, "hierarchies");
  if (hiers && !json_is_array(hiers))
    return berr_set(err, EINVAL, "cgroup state: \"hierarchies\" must be an array");
  size_t n = hiers ? json_array_size(hiers) : 0;
  cg->hiers = n ? xcalloc(n, sizeof *cg->hiers) : NULL;
  for (size_t i = 0; i < n; i++, cg->n_hiers++)
    if ((r = hier_from_json(json_array_get(hiers, i), &cg->hiers[i], err)) < 0) {
      cg->n_hiers++; /* free the partly filled entry too */
      return r;
    }
  if (cg->mode == CGROUP_MODE_V2 && !cg->unified_dir)
    return berr_set(err, EINVAL, "cgroup state: v2 needs \"unified_dir\"");
  *out = steal_ptr(cg);
  return 0;
}

void cgroup_free(struct cgroup *cg) {
  if (!cg)
    return;
  for (size_t i = 0; i < cg->n_hiers; i++) {
    free(cg->hiers[i].name);
    free(cg->hiers[i].mount);
    free(cg->hiers[i].dir);
    free(cg->hiers[i].controllers);
  }
  free(cg->hiers);
  free(cg->path);
  free(cg->unified_dir);
  free(cg);
}

void cgroup_freep(struct cgroup **cg) {
  cgroup_free(*cg);
  *cg = NULL;
}

/* ---------- file helpers shared with the backends ---------- */

int cg_err_move(struct berr **dst, struct berr **src, int r) {
  if (dst && !*dst)
    *dst = steal_ptr(*src);
  return r;
}

void cg_sleep_ms(unsigned ms) {
  struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
    ;
}

int cg_write(const char *dir, const char *file, const char *value, struct berr **err) {
  _cleanup_free_ char *path = xasprintf("%s/%s", dir, file);
  _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return berr_sys(err, errno, "cgroup: write \"%s\" to %s", value, path);
  size_t len = strlen(value);
  ssize_t w = write(fd, value, len);
  if (w < 0)
    return berr_sys(err, errno, "cgroup: write \"%s\" to %s", value, path);
  if ((size_t)w != len)
    return berr_set(err, EIO, "cgroup: write \"%s\" to %s: short write", value, path);
  return 0;
}

int cg_writef(const char *dir, const char *file, struct berr **err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  _cleanup_free_ char *value = NULL;
  if (vasprintf(&value, fmt, ap) < 0)
    abort();
  va_end(ap);
  return cg_write(dir, file, value, err);
}

int cg_read(const char *dir, const char *file, char **out, struct berr **err) {
  _cleanup_free_ char *path = xasprintf("%s/%s", dir, file);
  _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return berr_sys(err, errno, "cgroup: read %s", path);
  size_t cap = 4096, len = 0;
  _cleanup_free_ char *buf = xmalloc(cap);
  for (;;) {
    if (len + 1 >= cap)
      buf = xrealloc(buf, cap *= 2);
    ssize_t n = read(fd, buf + len, cap - len - 1);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return berr_sys(err, errno, "cgroup: read %s", path);
    if (n == 0)
      break;
    len += (size_t)n;
  }
  while (len > 0 && buf[len - 1] == '\n')
    len--;
  buf[len] = '\0';
  *out = steal_ptr(buf);
  return 0;
}

bool cg_has(const char *dir, const char *file) {
  _cleanup_free_ char *path = xasprintf("%s/%s", dir, file);
  return access(path, F_OK) == 0;
}

static int mkdir_one(const char *path, bool *made, struct berr **err) {
  *made = false;
  if (mkdir(path, 0755) == 0) {
    *made = true;
    return 0;
  }
  if (errno != EEXIST)
    return berr_sys(err, errno, "cgroup: mkdir %s", path);
  struct stat st;
  if (stat(path, &st) < 0)
    return berr_sys(err, errno, "cgroup: stat %s", path);
  if (!S_ISDIR(st.st_mode))
    return berr_set(err, ENOTDIR, "cgroup: %s exists and is not a cgroup directory", path);
  return 0;
}

int cg_mkdirs(const char *root, const char *path, char ***created, struct berr **err) {
  _cleanup_free_ char *full = xasprintf("%s%s", root, path);
  /* walk each '/' after the root: "/sys/fs/cgroup/memory" + "/a/b" -> .../a, .../a/b */
  for (char *p = full + strlen(root) + 1;; p++) {
    if (*p != '/' && *p != '\0')
      continue;
    char saved = *p;
    *p = '\0';
    bool made = false;
    int r = mkdir_one(full, &made, err);
    if (r == 0 && made)
      *created = strv_append(*created, xstrdup(full));
    *p = saved;
    if (r < 0)
      return r;
    if (saved == '\0')
      return 0;
  }
}

void cg_rollback(char **created) {
  for (size_t i = strv_len(created); i-- > 0;)
    if (rmdir(created[i]) < 0 && errno != ENOENT)
      log_debug("cgroup: rollback rmdir %s: %s", created[i], strerror(errno));
}

#define RMDIR_BUSY_TRIES 100 /* x 10 ms: about a second for dying tasks to leave */

static int rmdir_busy_retry(const char *dir, struct berr **err) {
  for (int i = 0;; i++) {
    if (rmdir(dir) == 0 || errno == ENOENT)
      return 0;
    if (errno != EBUSY || i == RMDIR_BUSY_TRIES)
      return berr_sys(err, errno, "cgroup: rmdir %s", dir);
    cg_sleep_ms(10);
  }
}

static bool is_subdir(DIR *d, const struct dirent *e) {
  if (e->d_name[0] == '.' && (e->d_name[1] == '\0' || (e->d_name[1] == '.' && e->d_name[2] == '\0')))
    return false;
  if (e->d_type != DT_UNKNOWN)
    return e->d_type == DT_DIR;
  struct stat st;
  return fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

int cg_rmdir(const char *dir, struct berr **err) {
  /* cgroups below ours (a nested runtime or systemd in the container made them) go first */
  _cleanup_closedir_ DIR *d = opendir(dir);
  if (!d)
    return errno == ENOENT ? 0 : berr_sys(err, errno, "cgroup: open %s", dir);
  struct dirent *e;
  while ((e = readdir(d)))
    if (is_subdir(d, e)) {
      _cleanup_free_ char *child = xasprintf("%s/%s", dir, e->d_name);
      int r = cg_rmdir(child, err);
      if (r < 0)
        return r;
    }
  return rmdir_busy_retry(dir, err);
}

static int parse_procs(const char *text, pid_t **pids, size_t *n) {
  for (const char *p = text; *p;) {
    char *end;
    errno = 0;
    long v = strtol(p, &end, 10);
    if (end == p || errno || v <= 0)
      return -EINVAL;
    *pids = xrealloc(*pids, (*n + 1) * sizeof **pids);
    (*pids)[(*n)++] = (pid_t)v;
    p = end;
    while (*p == '\n')
      p++;
  }
  return 0;
}

static int procs_tree(const char *dir, bool top, pid_t **pids, size_t *n, struct berr **err) {
  _cleanup_free_ char *procs = NULL;
  _cleanup_berr_ struct berr *rerr = NULL;
  int r = cg_read(dir, "cgroup.procs", &procs, &rerr);
  if (r == -ENOENT && !top)
    return 0; /* a child cgroup removed while we walk */
  if (r < 0)
    return berr_set(err, -r, "%s", rerr ? rerr->msg : "cgroup: read cgroup.procs");
  if (parse_procs(procs, pids, n) < 0)
    return berr_set(err, EINVAL, "cgroup: %s/cgroup.procs: unexpected content", dir);
  _cleanup_closedir_ DIR *d = opendir(dir);
  if (!d)
    return errno == ENOENT && !top ? 0 : berr_sys(err, errno, "cgroup: open %s", dir);
  struct dirent *e;
  while ((e = readdir(d)))
    if (is_subdir(d, e)) {
      _cleanup_free_ char *child = xasprintf("%s/%s", dir, e->d_name);
      if ((r = procs_tree(child, false, pids, n, err)) < 0)
        return r;
    }
  return 0;
}

int cg_procs_tree(const char *dir, pid_t **pids, size_t *n, struct berr **err) {
  return procs_tree(dir, true, pids, n, err);
}
