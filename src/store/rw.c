/*
 * rw.c — container filesystems: a writable layer per container and the
 * overlay mount of it over the image's layers.
 *
 *   containers/<cid>/fs/upper   the container's changes (overlay upperdir)
 *   containers/<cid>/fs/work    overlay's workdir
 *   containers/<cid>/fs/merged  the mount point (the container's rootfs)
 *   containers/<cid>/fs/lower   the chain IDs under it, top first, one a line
 *   containers/<cid>/fs/empty   the only lowerdir of a `scratch` container
 * rw_layers (store.db) holds the same chain IDs so the layers outlive a
 * force-removed image while a container stands on them.
 *
 * Mounting: the new mount API (fsopen("overlay") and one "lowerdir+" per
 * layer, kernel 6.8+) has no limit on the number of layers but overlay's
 * own (500); older kernels get one mount(2) with a "lowerdir=l/…:l/…"
 * option string of short relative names (overlay2's "l/" links), made in a
 * helper thread that unshares its fs struct and chdirs into layers/, so the
 * daemon's working directory is never touched and a page holds ~170 layers.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "store/store_internal.h"

static char *fs_dir(struct store *s, const char *cid, const char *sub) {
  return sub ? xasprintf("%s/%s/fs/%s", s->ctrs, cid, sub) : xasprintf("%s/%s/fs", s->ctrs, cid);
}

static bool cid_valid(const char *cid) {
  if (!cid || !*cid || strlen(cid) > 128)
    return false;
  for (const char *p = cid; *p; p++)
    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
          *p == '-' || *p == '.'))
      return false;
  return cid[0] != '.';
}

/* The chain IDs under the container, top first (from fs/lower). */
static char **rw_lowers(struct store *s, const char *cid) {
  _cleanup_free_ char *p = fs_dir(s, cid, "lower");
  _cleanup_free_ char *data = NULL;
  char **v = xcalloc(1, sizeof *v);
  if (read_file(p, &data, NULL, NULL) < 0)
    return v;
  for (char *save = NULL, *t = strtok_r(data, "\n", &save); t; t = strtok_r(NULL, "\n", &save))
    v = strv_append(v, xstrdup(t));
  return v;
}

int store_rw_create(struct store *s, const char *cid, const char *image_id, struct berr **err) {
  if (!cid_valid(cid))
    return berr_set(err, EINVAL, "invalid container ID \"%s\"", cid ? cid : "");
  struct image *img = NULL;
  int r = 0;
  if (image_id && (r = store_image_get(s, image_id, &img, err)) < 0)
    return r;
  _cleanup_strv_ char **chains = image_chain_ids(img ? img->diff_ids : NULL);
  image_free(img);
  _cleanup_free_ char *fs = fs_dir(s, cid, NULL);
  _cleanup_free_ char *lower = xstrdup("");
  for (size_t i = strv_len(chains); i-- > 0;) {
    char *t = xasprintf("%s%s\n", lower, chains[i]);
    free(lower);
    lower = t;
  }
  static const char *const subs[] = {"upper", "work", "merged", "empty"};
  pthread_mutex_lock(&s->lock);
  for (size_t i = 0; r == 0 && i < 4; i++) {
    _cleanup_free_ char *d = fs_dir(s, cid, subs[i]);
    r = mkdir_p(d, 0755, err);
  }
  if (r == 0) {
    /* A cache of rw_layers (the DB row is the truth): no fsync needed. */
    _cleanup_free_ char *lp = fs_dir(s, cid, "lower");
    r = write_file_replace(lp, lower, strlen(lower), 0600, err);
  }
  if (r == 0 && (r = db_begin(s->db, err)) == 0) {
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(db_handle(s->db), "INSERT INTO rw_layers(cid, chain_id) VALUES(?1, ?2)", -1, &st, NULL);
    for (size_t i = 0; st && chains[i]; i++) {
      sqlite3_reset(st);
      sqlite3_bind_text(st, 1, cid, -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(st, 2, chains[i], -1, SQLITE_TRANSIENT);
      if (sqlite3_step(st) != SQLITE_DONE)
        r = berr_set(err, EIO, "rw layer %s: %s", cid, sqlite3_errmsg(db_handle(s->db)));
    }
    sqlite3_finalize(st);
    if (r == 0)
      r = db_commit(s->db, err);
    else
      db_rollback(s->db);
  }
  pthread_mutex_unlock(&s->lock);
  if (r < 0) {
    rm_rf(fs, NULL);
    return berr_wrap(err, "create rw layer for %s", cid);
  }
  return 0;
}

static bool is_mounted(const char *merged) {
  struct stat a, b;
  _cleanup_free_ char *parent = xasprintf("%s/..", merged);
  if (stat(merged, &a) < 0 || stat(parent, &b) < 0)
    return false;
  /* overlay gets its own device; a bind of the same fs would not, but
   * nothing else is mounted here */
  return a.st_dev != b.st_dev;
}

static int mount_new_api(struct store *s, char **lowers, const char *cid, const char *merged) {
  _cleanup_close_ int fd = fsopen("overlay", FSOPEN_CLOEXEC);
  if (fd < 0)
    return -errno;
  _cleanup_free_ char *upper = fs_dir(s, cid, "upper");
  _cleanup_free_ char *work = fs_dir(s, cid, "work");
  _cleanup_free_ char *empty = fs_dir(s, cid, "empty");
  for (size_t i = 0; lowers[i]; i++) {
    _cleanup_free_ char *d = layer_diff_path(s, lowers[i]);
    if (fsconfig(fd, FSCONFIG_SET_STRING, "lowerdir+", d, 0) < 0)
      return -errno;
  }
  if (!lowers[0] && fsconfig(fd, FSCONFIG_SET_STRING, "lowerdir+", empty, 0) < 0)
    return -errno;
  if (fsconfig(fd, FSCONFIG_SET_STRING, "upperdir", upper, 0) < 0 ||
      fsconfig(fd, FSCONFIG_SET_STRING, "workdir", work, 0) < 0 ||
      fsconfig(fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
    return -errno;
  _cleanup_close_ int mfd = fsmount(fd, FSMOUNT_CLOEXEC, 0);
  if (mfd < 0)
    return -errno;
  if (move_mount(mfd, "", AT_FDCWD, merged, MOVE_MOUNT_F_EMPTY_PATH) < 0)
    return -errno;
  return 0;
}

struct legacy_mount {
  const char *dir;  /* chdir here first (layers/) */
  const char *opts;
  const char *merged;
  int result;
};

static void *legacy_mount_thread(void *arg) {
  struct legacy_mount *m = arg;
  /* a private cwd for this thread only */
  if (unshare(CLONE_FS) < 0 || chdir(m->dir) < 0)
    m->result = -errno;
  else
    m->result = mount("overlay", m->merged, "overlay", 0, m->opts) < 0 ? -errno : 0;
  return NULL;
}

static int mount_legacy(struct store *s, char **lowers, const char *cid, const char *merged) {
  _cleanup_free_ char *upper = fs_dir(s, cid, "upper");
  _cleanup_free_ char *work = fs_dir(s, cid, "work");
  _cleanup_free_ char *empty = fs_dir(s, cid, "empty");
  _cleanup_free_ char *lo = xstrdup("");
  for (size_t i = 0; lowers[i]; i++) {
    char *t = xasprintf("%s%sl/%.20s", lo, i ? ":" : "", digest_hex(lowers[i]));
    free(lo);
    lo = t;
  }
  _cleanup_free_ char *opts = xasprintf("lowerdir=%s,upperdir=%s,workdir=%s", lowers[0] ? lo : empty, upper, work);
  if (strlen(opts) >= 4096)
    return -E2BIG;
  struct legacy_mount m = {s->layers, opts, merged, 0};
  pthread_t t;
  if (pthread_create(&t, NULL, legacy_mount_thread, &m) != 0)
    return -EAGAIN;
  pthread_join(t, NULL);
  return m.result;
}

int store_rw_mount(struct store *s, const char *cid, char **path, struct berr **err) {
  if (!cid_valid(cid))
    return berr_set(err, EINVAL, "invalid container ID \"%s\"", cid ? cid : "");
  _cleanup_free_ char *merged = fs_dir(s, cid, "merged");
  if (!path_exists(merged))
    return berr_set(err, ENOENT, "mount rootfs of %s: no rw layer", cid);
  if (is_mounted(merged)) {
    *path = steal_ptr(merged);
    return 0;
  }
  _cleanup_strv_ char **lowers = rw_lowers(s, cid);
  if (rw_is_idmapped(s, cid)) { /* --userns-remap: never mounted plainly (rw_idmap.c) */
    int ri = rw_mount_idmapped(s, lowers, cid, merged);
    if (ri < 0)
      return berr_sys(err, -ri, "mount the idmapped rootfs of %s", cid);
    *path = steal_ptr(merged);
    return 0;
  }
  int r = mount_new_api(s, lowers, cid, merged);
  if (r == -EINVAL || r == -ENOSYS || r == -EOPNOTSUPP) /* no "lowerdir+" before 6.8 */
    r = mount_legacy(s, lowers, cid, merged);
  if (r < 0)
    return berr_sys(err, -r, "mount rootfs of %s (%zu layers)", cid, strv_len(lowers));
  *path = steal_ptr(merged);
  return 0;
}

int store_rw_unmount(struct store *s, const char *cid, struct berr **err) {
  if (!cid_valid(cid))
    return berr_set(err, EINVAL, "invalid container ID \"%s\"", cid ? cid : "");
  _cleanup_free_ char *merged = fs_dir(s, cid, "merged");
  while (is_mounted(merged))
    if (umount2(merged, MNT_DETACH) < 0)
      return errno == EINVAL || errno == ENOENT ? 0 : berr_sys(err, errno, "unmount rootfs of %s", cid);
  return 0;
}

static void *trash_thread(void *dir) {
  rm_rf(dir, NULL);
  free(dir);
  return NULL;
}

/* Delete a container's fs/ without making the caller wait (a few ms of
 * unlinks for even a small upper dir, on every `run --rm`): rename it into
 * tmp/ (same filesystem, atomic) and remove it from a detached thread. A crash
 * before the thread is done leaves it in tmp/, which store_open empties. Any
 * failure along the way falls back to removing it here. */
static int remove_in_background(struct store *s, const char *dir, struct berr **err) {
  char *trash = xasprintf("%s/trash-XXXXXX", s->tmp);
  if (!mkdtemp(trash)) {
    free(trash);
    return rm_rf(dir, err);
  }
  _cleanup_free_ char *dest = xasprintf("%s/fs", trash);
  if (rename(dir, dest) < 0) {
    rmdir(trash);
    free(trash);
    return rm_rf(dir, err);
  }
  pthread_attr_t a;
  pthread_attr_init(&a);
  pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&a, 128 * 1024);
  pthread_t t;
  int r = pthread_create(&t, &a, trash_thread, trash);
  pthread_attr_destroy(&a);
  if (r != 0)
    trash_thread(trash);
  return 0;
}

int store_rw_remove(struct store *s, const char *cid, struct berr **err) {
  if (!cid_valid(cid))
    return berr_set(err, EINVAL, "invalid container ID \"%s\"", cid ? cid : "");
  int r = store_rw_unmount(s, cid, err);
  if (r < 0)
    return r;
  _cleanup_strv_ char **lowers = rw_lowers(s, cid);
  _cleanup_free_ char *fs = fs_dir(s, cid, NULL);
  if (path_exists(fs) && (r = remove_in_background(s, fs, err)) < 0)
    return r;
  pthread_mutex_lock(&s->lock);
  if ((r = db_begin(s->db, err)) == 0) {
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(db_handle(s->db), "DELETE FROM rw_layers WHERE cid=?1", -1, &st, NULL);
    sqlite3_bind_text(st, 1, cid, -1, SQLITE_TRANSIENT);
    sqlite3_step(st);
    sqlite3_finalize(st);
    r = db_commit(s->db, err);
  }
  /* layers of an image removed while this container stood on them */
  for (size_t i = 0; r == 0 && lowers[i]; i++)
    if (!layer_in_use(s, lowers[i]))
      r = layer_remove(s, lowers[i], err);
  pthread_mutex_unlock(&s->lock);
  return r;
}

/* ---------- inspect helpers ---------- */

static char *join_diffs(struct store *s, char *const *chains, size_t from) {
  char *out = xstrdup("");
  for (size_t i = from; chains[i]; i++) {
    _cleanup_free_ char *d = layer_diff_path(s, chains[i]);
    char *t = xasprintf("%s%s%s", out, *out ? ":" : "", d);
    free(out);
    out = t;
  }
  return out;
}

json_t *store_rw_graphdriver(struct store *s, const char *cid) {
  _cleanup_strv_ char **lowers = rw_lowers(s, cid);
  _cleanup_free_ char *lo = join_diffs(s, lowers, 0);
  _cleanup_free_ char *m = fs_dir(s, cid, "merged");
  _cleanup_free_ char *u = fs_dir(s, cid, "upper");
  _cleanup_free_ char *w = fs_dir(s, cid, "work");
  json_t *data = json_pack("{s:s,s:s,s:s}", "MergedDir", m, "UpperDir", u, "WorkDir", w);
  if (*lo)
    json_object_set_new(data, "LowerDir", json_string(lo));
  return json_pack("{s:o,s:s}", "Data", data, "Name", "overlay2");
}

json_t *store_image_graphdriver(struct store *s, const struct image *img) {
  _cleanup_strv_ char **chains = image_chain_ids(img->diff_ids);
  size_t n = strv_len(chains);
  if (n == 0)
    return json_pack("{s:n,s:s}", "Data", "Name", "overlay2");
  /* top first, as overlay2 reports it */
  char **rev = xcalloc(n + 1, sizeof *rev);
  for (size_t i = 0; i < n; i++)
    rev[i] = chains[n - 1 - i];
  _cleanup_free_ char *lo = join_diffs(s, rev, 1);
  _cleanup_free_ char *top = layer_diff_path(s, rev[0]);
  free(rev);
  _cleanup_free_ char *base = xstrdup(top);
  base[strlen(base) - 5] = '\0'; /* strip "/diff" */
  _cleanup_free_ char *m = xasprintf("%s/merged", base);
  _cleanup_free_ char *w = xasprintf("%s/work", base);
  json_t *data = json_pack("{s:s,s:s,s:s}", "MergedDir", m, "UpperDir", top, "WorkDir", w);
  if (*lo)
    json_object_set_new(data, "LowerDir", json_string(lo));
  return json_pack("{s:o,s:s}", "Data", data, "Name", "overlay2");
}

static int64_t tree_size(int dfd) {
  _cleanup_closedir_ DIR *d = fdopendir(dfd);
  if (!d) {
    close(dfd);
    return 0;
  }
  int64_t n = 0;
  for (struct dirent *de; (de = readdir(d));) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
      continue;
    struct stat st;
    if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
      continue;
    if (S_ISDIR(st.st_mode)) {
      int c = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (c >= 0)
        n += tree_size(c);
    } else if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) {
      n += st.st_size;
    }
  }
  return n;
}

int64_t store_rw_size(struct store *s, const char *cid) {
  _cleanup_free_ char *u = fs_dir(s, cid, "upper");
  int fd = open(u, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  return fd < 0 ? -1 : tree_size(fd);
}

/* ---------- changes ---------- */

struct walk {
  struct store *s;
  char **lowers;  /* diff dirs, top first */
  json_t *out;
};

static bool is_whiteout(const struct stat *st) {
  return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

/* The file at rel in the lower layers, as overlay would show it. */
static bool lower_stat(struct walk *w, const char *rel, struct stat *out) {
  for (size_t i = 0; w->lowers[i]; i++) {
    _cleanup_free_ char *p = xasprintf("%s%s", w->lowers[i], rel);
    if (lstat(p, out) == 0)
      return !is_whiteout(out);
  }
  return false;
}

static void add_change(struct walk *w, const char *rel, int kind) {
  json_array_append_new(w->out, json_pack("{s:s,s:i}", "Path", rel, "Kind", kind));
}

static void walk_upper(struct walk *w, int dfd, const char *rel) {
  _cleanup_closedir_ DIR *d = fdopendir(dfd);
  if (!d) {
    close(dfd);
    return;
  }
  for (struct dirent *de; (de = readdir(d));) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
      continue;
    _cleanup_free_ char *path = xasprintf("%s/%s", rel, de->d_name);
    struct stat st, lst;
    if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
      continue;
    if (is_whiteout(&st)) {
      add_change(w, path, 2);
      continue;
    }
    bool in_lower = lower_stat(w, path, &lst);
    if (S_ISDIR(st.st_mode)) {
      char v[2] = {0};
      _cleanup_free_ char *pp = xasprintf("/proc/self/fd/%d/%s", dirfd(d), de->d_name);
      if (in_lower && lgetxattr(pp, "trusted.overlay.opaque", v, 1) == 1 && v[0] == 'y')
        add_change(w, path, 2); /* Docker: an opaque dir replaces the lower one */
      else if (!in_lower)
        add_change(w, path, 1);
      else if (!(S_ISDIR(lst.st_mode) && lst.st_mode == st.st_mode && lst.st_mtim.tv_sec == st.st_mtim.tv_sec &&
                 lst.st_mtim.tv_nsec == st.st_mtim.tv_nsec))
        add_change(w, path, 0);
      int c = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (c >= 0)
        walk_upper(w, c, path);
      continue;
    }
    add_change(w, path, in_lower ? 0 : 1);
  }
}

static int cmp_change(const void *a, const void *b) {
  return strcmp(json_string_value(json_object_get(*(json_t *const *)a, "Path")),
                json_string_value(json_object_get(*(json_t *const *)b, "Path")));
}

int store_rw_changes(struct store *s, const char *cid, json_t **out, struct berr **err) {
  if (!cid_valid(cid))
    return berr_set(err, EINVAL, "invalid container ID \"%s\"", cid ? cid : "");
  _cleanup_free_ char *u = fs_dir(s, cid, "upper");
  int fd = open(u, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return berr_sys(err, errno, "changes of %s", cid);
  _cleanup_strv_ char **chains = rw_lowers(s, cid);
  char **dirs = xcalloc(1, sizeof *dirs);
  for (size_t i = 0; chains[i]; i++)
    dirs = strv_append(dirs, layer_diff_path(s, chains[i]));
  struct walk w = {s, dirs, json_array()};
  walk_upper(&w, fd, "");
  strv_free(dirs);
  /* sort by path, as Docker does */
  size_t n = json_array_size(w.out);
  json_t **v = xcalloc(n ? n : 1, sizeof *v);
  for (size_t i = 0; i < n; i++)
    v[i] = json_incref(json_array_get(w.out, i));
  qsort(v, n, sizeof *v, cmp_change);
  json_array_clear(w.out);
  for (size_t i = 0; i < n; i++)
    json_array_append_new(w.out, v[i]);
  free(v);
  *out = w.out;
  return 0;
}
