/*
 * layer.c — layers: a layer tar (plain, gzip, zstd) applied into an overlay
 * "diff" directory, and the layer directories keyed by chain ID.
 *
 *   layers/<chainhex>/diff   the layer's files, whiteouts in overlay's form
 *   layers/<chainhex>/meta   {"diff_id","parent","size"}
 *   layers/l/<short>         -> ../<chainhex>/diff (short lowerdir names for
 *                            the legacy mount path, as overlay2's "l/" dir)
 *
 * Applying: every path of the tar is cleaned lexically and refused when it
 * is absolute or climbs out with ".."; its parent directory is then opened
 * with openat2(RESOLVE_IN_ROOT) so a symlink planted by an earlier entry
 * cannot redirect a write outside, and the entry is created with *at()
 * calls relative to that parent, never following a symlink in the last
 * component. Hard-link targets are resolved the same way. Whiteouts:
 * ".wh.NAME" becomes a 0/0 character device NAME, ".wh..wh..opq" sets
 * trusted.overlay.opaque=y on its directory (what the kernel's overlayfs
 * reads). Ownership, modes (after chown, which clears set-id bits), xattrs
 * and times are kept; directory times are set last, deepest first, since
 * creating entries inside changes them.
 *
 * Atomicity: a layer is extracted into <root>/tmp/layer-XXXXXX and renamed
 * into layers/ whole; a refused or failed layer leaves nothing.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "store/store_internal.h"

struct dir_time {
  char *path; /* cleaned, relative to the layer root */
  struct timespec ts[2];
};

struct apply {
  int root;          /* the diff dir */
  int64_t size;      /* bytes of regular files and symlinks (Docker's directory.Size) */
  struct dir_time *dirs;
  size_t ndirs;
  struct berr **err;
};

/* Cleaned relative form of a tar path; NULL (error set) when it escapes. */
static char *clean_entry_path(const char *name, struct berr **err) {
  if (!name || !*name) {
    berr_set(err, EINVAL, "empty path in layer");
    return NULL;
  }
  if (name[0] == '/') {
    berr_set(err, EINVAL, "%s: absolute path in layer", name);
    return NULL;
  }
  bool escapes = false;
  char *c = path_clean(name, &escapes);
  if (escapes) {
    berr_set(err, EINVAL, "%s: path escapes the layer root", name);
    free(c);
    return NULL;
  }
  return c;
}

/* Open (O_PATH) directory `rel` inside root, creating missing components
 * (0755) as Docker does for entries whose parents were not in the tar. */
static int open_dir_in_root(int root, const char *rel, struct berr **err) {
  if (!*rel || strcmp(rel, ".") == 0)
    return fs_open_in_root(root, ".", O_PATH | O_DIRECTORY, 0);
  int fd = fs_open_in_root(root, rel, O_PATH | O_DIRECTORY, 0);
  if (fd != -ENOENT) {
    if (fd < 0)
      berr_sys(err, -fd, "%s: open parent directory", rel);
    return fd;
  }
  _cleanup_free_ char *dup = xstrdup(rel);
  char *slash = strrchr(dup, '/');
  const char *base = dup;
  _cleanup_close_ int pfd = -1;
  if (slash) {
    *slash = '\0';
    base = slash + 1;
    pfd = open_dir_in_root(root, dup, err);
  } else {
    pfd = fs_open_in_root(root, ".", O_PATH | O_DIRECTORY, 0);
  }
  if (pfd < 0)
    return pfd;
  if (mkdirat(pfd, base, 0755) < 0 && errno != EEXIST)
    return berr_sys(err, errno, "%s: mkdir", rel);
  fd = openat(pfd, base, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return berr_sys(err, errno, "%s: open", rel);
  return fd;
}

static void split_path(const char *clean, char **dir, const char **base) {
  const char *slash = strrchr(clean, '/');
  *dir = slash ? xasprintf("%.*s", (int)(slash - clean), clean) : xstrdup(".");
  *base = slash ? slash + 1 : clean;
}

/* Remove what is at pfd/base unless both it and the new entry are dirs. */
static int clear_existing(int pfd, const char *base, bool new_is_dir, const char *path,
                          struct berr **err) {
  struct stat st;
  if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : berr_sys(err, errno, "%s: stat", path);
  if (new_is_dir && S_ISDIR(st.st_mode))
    return 0;
  if (!S_ISDIR(st.st_mode)) {
    if (unlinkat(pfd, base, 0) < 0)
      return berr_sys(err, errno, "%s: remove existing", path);
    return 0;
  }
  _cleanup_free_ char *p = xasprintf("/proc/self/fd/%d/%s", pfd, base);
  return rm_rf(p, err);
}

static int write_data(struct archive *a, int fd, int64_t *size, const char *path, struct berr **err) {
  const void *buf;
  size_t len;
  int64_t off;
  for (;;) {
    int r = archive_read_data_block(a, &buf, &len, &off);
    if (r == ARCHIVE_EOF)
      return 0;
    if (r < ARCHIVE_WARN)
      return berr_set(err, EIO, "%s: read layer: %s", path, archive_error_string(a));
    const char *p = buf;
    while (len > 0) {
      ssize_t n = pwrite(fd, p, len, off);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return berr_sys(err, errno, "%s: write", path);
      p += n;
      off += n;
      len -= (size_t)n;
      *size += n;
    }
  }
}

static int set_xattrs(struct archive_entry *e, int pfd, const char *base, const char *path,
                      struct berr **err) {
  if (archive_entry_xattr_reset(e) == 0)
    return 0;
  _cleanup_free_ char *p = xasprintf("/proc/self/fd/%d/%s", pfd, base);
  const char *name;
  const void *val;
  size_t len;
  while (archive_entry_xattr_next(e, &name, &val, &len) == ARCHIVE_OK) {
    if (lsetxattr(p, name, val, len, 0) < 0 && errno != ENOTSUP)
      return berr_sys(err, errno, "%s: set xattr %s", path, name);
  }
  return 0;
}

static int set_meta(struct apply *ap, struct archive_entry *e, int pfd, const char *base,
                    const char *path, mode_t type) {
  struct berr **err = ap->err;
  if (fchownat(pfd, base, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e),
               AT_SYMLINK_NOFOLLOW) < 0)
    return berr_sys(err, errno, "%s: chown", path);
  if (type != AE_IFLNK && fchmodat(pfd, base, archive_entry_perm(e) & 07777, 0) < 0)
    return berr_sys(err, errno, "%s: chmod", path);
  if (set_xattrs(e, pfd, base, path, err) < 0)
    return -EIO;
  struct timespec ts[2] = {
      {archive_entry_atime(e), archive_entry_atime_nsec(e)},
      {archive_entry_mtime(e), archive_entry_mtime_nsec(e)},
  };
  if (!archive_entry_atime_is_set(e))
    ts[0] = ts[1];
  if (type == AE_IFDIR) { /* later: entries inside would change it */
    ap->dirs = xrealloc(ap->dirs, (ap->ndirs + 1) * sizeof *ap->dirs);
    ap->dirs[ap->ndirs].path = xstrdup(path);
    memcpy(ap->dirs[ap->ndirs].ts, ts, sizeof ts);
    ap->ndirs++;
    return 0;
  }
  if (utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
    return berr_sys(err, errno, "%s: set times", path);
  return 0;
}

static int apply_whiteout(struct apply *ap, struct archive_entry *e, int pfd, const char *dir,
                          const char *base, const char *path) {
  if (strcmp(base, ".wh..wh..opq") == 0) {
    _cleanup_free_ char *p = xasprintf("/proc/self/fd/%d", pfd);
    if (setxattr(p, "trusted.overlay.opaque", "y", 1, 0) < 0)
      return berr_sys(ap->err, errno, "%s: mark opaque", dir);
    return 0;
  }
  const char *name = base + 4;
  if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
    return berr_set(ap->err, EINVAL, "%s: invalid whiteout", path);
  if (clear_existing(pfd, name, false, path, ap->err) < 0)
    return -EIO;
  if (mknodat(pfd, name, S_IFCHR | 0, makedev(0, 0)) < 0)
    return berr_sys(ap->err, errno, "%s: make whiteout", path);
  if (fchownat(pfd, name, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e),
               AT_SYMLINK_NOFOLLOW) < 0)
    return berr_sys(ap->err, errno, "%s: chown whiteout", path);
  return 0;
}

static int apply_hardlink(struct apply *ap, const char *target, int pfd, const char *base,
                          const char *path) {
  _cleanup_free_ char *t = clean_entry_path(target, ap->err);
  if (!t)
    return -EINVAL;
  _cleanup_free_ char *tdir = NULL;
  const char *tbase;
  split_path(t, &tdir, &tbase);
  _cleanup_close_ int tfd = fs_open_in_root(ap->root, tdir, O_PATH | O_DIRECTORY, 0);
  if (tfd < 0)
    return berr_sys(ap->err, -tfd, "%s: hard link target %s", path, target);
  if (linkat(tfd, tbase, pfd, base, 0) < 0)
    return berr_sys(ap->err, errno, "%s: hard link to %s", path, target);
  return 0;
}

/* Docker refuses a relative symlink whose target, joined to the link's
 * directory, climbs above the layer's root ("invalid symlink"; moby
 * pkg/archive createTarFile). Absolute targets resolve inside the root and
 * are kept, as dockerd keeps them. `dir` is the link's directory, relative
 * to the root ("" or "." at the top). */
static bool symlink_climbs_out(const char *dir, const char *target) {
  if (target[0] == '/')
    return false;
  _cleanup_free_ char *joined = xasprintf("%s/%s", dir && *dir ? dir : ".", target);
  bool escapes = false;
  _cleanup_free_ char *clean = path_clean(joined, &escapes);
  return escapes;
}

static int apply_entry(struct apply *ap, struct archive *a, struct archive_entry *e) {
  _cleanup_free_ char *path = clean_entry_path(archive_entry_pathname(e), ap->err);
  if (!path)
    return -EINVAL;
  if (strcmp(path, ".") == 0)
    return 0; /* the root itself: Docker leaves it as it is */
  _cleanup_free_ char *dir = NULL;
  const char *base;
  split_path(path, &dir, &base);
  _cleanup_close_ int pfd = open_dir_in_root(ap->root, dir, ap->err);
  if (pfd < 0)
    return pfd;
  if (str_has_prefix(base, ".wh."))
    return apply_whiteout(ap, e, pfd, dir, base, path);

  const char *hl = archive_entry_hardlink(e);
  mode_t type = archive_entry_filetype(e);
  if (clear_existing(pfd, base, !hl && type == AE_IFDIR, path, ap->err) < 0)
    return -EIO;
  if (hl)
    return apply_hardlink(ap, hl, pfd, base, path);
  switch (type) {
  case AE_IFREG: {
    _cleanup_close_ int fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
      return berr_sys(ap->err, errno, "%s: create", path);
    if (write_data(a, fd, &ap->size, path, ap->err) < 0)
      return -EIO;
    break;
  }
  case AE_IFDIR:
    if (mkdirat(pfd, base, 0700) < 0 && errno != EEXIST)
      return berr_sys(ap->err, errno, "%s: mkdir", path);
    break;
  case AE_IFLNK: {
    const char *target = archive_entry_symlink(e) ? archive_entry_symlink(e) : "";
    if (symlink_climbs_out(dir, target))
      return berr_set(ap->err, EINVAL, "invalid symlink \"%s\" -> \"%s\"", path, target);
    if (symlinkat(target, pfd, base) < 0)
      return berr_sys(ap->err, errno, "%s: symlink", path);
    ap->size += (int64_t)strlen(target); /* as du of the diff */
    break;
  }
  case AE_IFCHR:
  case AE_IFBLK:
  case AE_IFIFO:
    if (mknodat(pfd, base, type | 0600, archive_entry_rdev(e)) < 0)
      return berr_sys(ap->err, errno, "%s: mknod", path);
    break;
  default:
    return 0; /* sockets and the like: nothing to unpack (as Docker) */
  }
  return set_meta(ap, e, pfd, base, path, type);
}

static int apply_dir_times(struct apply *ap) {
  for (size_t i = ap->ndirs; i-- > 0;) {
    _cleanup_close_ int fd = fs_open_in_root(ap->root, ap->dirs[i].path, O_PATH | O_DIRECTORY, 0);
    if (fd < 0)
      continue; /* replaced by a later entry */
    if (utimensat(fd, "", ap->dirs[i].ts, AT_EMPTY_PATH) < 0 && errno != EINVAL) {
      _cleanup_free_ char *p = xasprintf("/proc/self/fd/%d", fd);
      if (utimensat(AT_FDCWD, p, ap->dirs[i].ts, 0) < 0)
        return berr_sys(ap->err, errno, "%s: set times", ap->dirs[i].path);
    }
  }
  return 0;
}

/* Apply an archive already opened for reading. Frees it. */
static int apply_archive(struct archive *a, int dir_fd, int64_t *size, struct berr **err) {
  struct apply ap = {.root = dir_fd, .err = err};
  int r = 0;
  for (;;) {
    struct archive_entry *e;
    int ar = archive_read_next_header(a, &e);
    if (ar == ARCHIVE_EOF)
      break;
    if (ar < ARCHIVE_WARN) {
      r = berr_set(err, EINVAL, "read layer: %s", archive_error_string(a));
      goto out;
    }
    if ((r = apply_entry(&ap, a, e)) < 0)
      goto out;
  }
  r = apply_dir_times(&ap);
out:
  for (size_t i = 0; i < ap.ndirs; i++)
    free(ap.dirs[i].path);
  free(ap.dirs);
  archive_read_free(a);
  if (r == 0 && size)
    *size = ap.size;
  return r;
}

static struct archive *tar_reader(void) {
  struct archive *a = archive_read_new();
  /* the compressions Docker accepts (not filter_all: lz4, lzip, uu, rpm… would
   * pull more libraries into a static berthd for formats no image uses) */
  archive_read_support_filter_gzip(a);
  archive_read_support_filter_bzip2(a);
  archive_read_support_filter_xz(a);
  archive_read_support_filter_zstd(a);
  archive_read_support_format_tar(a);
  archive_read_support_format_gnutar(a);
  return a;
}

int layer_apply_fd(int fd, int dir_fd, int64_t *size, struct berr **err) {
  struct archive *a = tar_reader();
  if (archive_read_open_fd(a, fd, 128 * 1024) != ARCHIVE_OK) {
    int r = berr_set(err, EINVAL, "read layer: %s", archive_error_string(a));
    archive_read_free(a);
    return r;
  }
  return apply_archive(a, dir_fd, size, err);
}

struct read_src {
  store_read_fn fn;
  void *ctx;
  char buf[128 * 1024];
};

static la_ssize_t read_cb(struct archive *a, void *client, const void **buf) {
  struct read_src *src = client;
  ssize_t n = src->fn(src->ctx, src->buf, sizeof src->buf);
  if (n < 0) {
    archive_set_error(a, (int)-n, "read: %s", strerror((int)-n));
    return -1;
  }
  *buf = src->buf;
  return n;
}

int layer_apply_read(store_read_fn fn, void *ctx, int dir_fd, int64_t *size, struct berr **err) {
  struct archive *a = tar_reader();
  struct read_src *src = xmalloc(sizeof *src);
  src->fn = fn;
  src->ctx = ctx;
  int r;
  if (archive_read_open(a, src, NULL, read_cb, NULL) != ARCHIVE_OK) {
    r = berr_set(err, EINVAL, "read archive: %s", archive_error_string(a));
    archive_read_free(a);
  } else {
    r = apply_archive(a, dir_fd, size, err);
  }
  free(src);
  return r;
}

/* Decompress (gzip / zstd / none) `fd` into the content store, verified
 * against `diff_id` (the digest of the uncompressed tar). */
int layer_import_blob(struct store *s, int fd, const char *diff_id, struct berr **err) {
  if (content_exists(s, diff_id))
    return 0;
  struct archive *a = archive_read_new();
  /* the compressions Docker accepts (not filter_all: lz4, lzip, uu, rpm… would
   * pull more libraries into a static berthd for formats no image uses) */
  archive_read_support_filter_gzip(a);
  archive_read_support_filter_bzip2(a);
  archive_read_support_filter_xz(a);
  archive_read_support_filter_zstd(a);
  archive_read_support_format_raw(a);
  struct content_writer *w = NULL;
  struct archive_entry *e;
  int r = 0;
  if (archive_read_open_fd(a, fd, 128 * 1024) != ARCHIVE_OK ||
      archive_read_next_header(a, &e) != ARCHIVE_OK) {
    r = berr_set(err, EINVAL, "layer %s: %s", diff_id, archive_error_string(a));
    goto out;
  }
  if ((r = content_writer_open(s, &w, err)) < 0)
    goto out;
  char buf[64 * 1024];
  for (;;) {
    la_ssize_t n = archive_read_data(a, buf, sizeof buf);
    if (n == 0)
      break;
    if (n < 0) {
      r = berr_set(err, EINVAL, "layer %s: %s", diff_id, archive_error_string(a));
      goto out;
    }
    if ((r = content_writer_write(w, buf, (size_t)n, err)) < 0)
      goto out;
  }
  r = content_writer_commit(steal_ptr(w), diff_id, NULL, err);
  if (r < 0)
    berr_wrap(err, "layer %s", diff_id);
out:
  content_writer_abort(w);
  archive_read_free(a);
  return r;
}

/* ---------- layer directories ---------- */

char *layer_diff_path(struct store *s, const char *chain_id) {
  return xasprintf("%s/%s/diff", s->layers, digest_hex(chain_id) ? digest_hex(chain_id) : "x");
}

char **image_chain_ids(char *const *diff_ids) {
  char **v = xcalloc(1, sizeof *v);
  const char *prev = NULL;
  for (size_t i = 0; diff_ids && diff_ids[i]; i++) {
    char *c = chain_id_next(prev, diff_ids[i]);
    v = strv_append(v, c);
    prev = c;
  }
  return v;
}

/* layers/l/<short>: 20 hex characters of the chain ID keep a 128-layer
 * lowerdir list under a page. */
static void layer_link(struct store *s, const char *chain_id) {
  const char *hex = digest_hex(chain_id);
  _cleanup_free_ char *l = xasprintf("%s/l/%.20s", s->layers, hex);
  _cleanup_free_ char *t = xasprintf("../%s/diff", hex);
  if (symlink(t, l) < 0 && errno != EEXIST)
    log_warn("layer %s: short link: %s", chain_id, strerror(errno));
}

int layer_ensure(struct store *s, const char *chain_id, const char *diff_id, const char *parent_chain,
                 struct berr **err) {
  const char *hex = digest_hex(chain_id);
  if (!hex || !digest_valid(diff_id))
    return berr_set(err, EINVAL, "layer %s: invalid digest", chain_id);
  _cleanup_free_ char *final = xasprintf("%s/%s", s->layers, hex);
  if (path_exists(final)) {
    layer_link(s, chain_id);
    return 0;
  }
  _cleanup_free_ char *tmp = xasprintf("%s/layer-XXXXXX", s->tmp);
  if (!mkdtemp(tmp))
    return berr_sys(err, errno, "layer %s: temp dir", diff_id);
  _cleanup_free_ char *diff = xasprintf("%s/diff", tmp);
  _cleanup_free_ char *blob = content_path(s, diff_id);
  int r = 0;
  _cleanup_close_ int bfd = open(blob, O_RDONLY | O_CLOEXEC);
  _cleanup_close_ int dfd = -1;
  int64_t size = 0;
  if (bfd < 0)
    r = berr_sys(err, errno, "layer %s: open blob", diff_id);
  else if (mkdir(diff, 0755) < 0)
    r = berr_sys(err, errno, "layer %s: mkdir", diff_id);
  else if ((dfd = open(diff, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
    r = berr_sys(err, errno, "layer %s: open", diff_id);
  else if ((r = layer_apply_fd(bfd, dfd, &size, err)) < 0)
    berr_wrap(err, "layer %s", diff_id);
  if (r == 0) {
    json_t *meta = json_pack("{s:s,s:s?,s:I}", "diff_id", diff_id, "parent", parent_chain,
                             "size", (json_int_t)size);
    _cleanup_free_ char *m = json_dump_compact(meta);
    json_decref(meta);
    _cleanup_free_ char *mp = xasprintf("%s/meta", tmp);
    r = write_file_atomic(mp, m, strlen(m), 0644, err);
  }
  if (r == 0 && rename(tmp, final) < 0) {
    if (errno != EEXIST && errno != ENOTEMPTY)
      r = berr_sys(err, errno, "layer %s: rename", diff_id);
    /* else: another load made the same layer first */
  }
  if (path_exists(tmp))
    rm_rf(tmp, NULL);
  if (r == 0)
    layer_link(s, chain_id);
  return r;
}

int layer_remove(struct store *s, const char *chain_id, struct berr **err) {
  const char *hex = digest_hex(chain_id);
  if (!hex)
    return 0;
  _cleanup_free_ char *l = xasprintf("%s/l/%.20s", s->layers, hex);
  unlink(l);
  /* rename first so a half-removed layer is never seen under its name */
  _cleanup_free_ char *dir = xasprintf("%s/%s", s->layers, hex);
  _cleanup_free_ char *tmp = xasprintf("%s/rm-%s", s->tmp, hex);
  if (rename(dir, tmp) < 0)
    return errno == ENOENT ? 0 : berr_sys(err, errno, "remove layer %s", chain_id);
  return rm_rf(tmp, err);
}

char *layer_diff_id(struct store *s, const char *chain_id) {
  const char *hex = digest_hex(chain_id);
  _cleanup_free_ char *mp = xasprintf("%s/%s/meta", s->layers, hex ? hex : "x");
  _cleanup_json_ json_t *m = NULL;
  if (json_load_path(mp, &m, NULL) < 0)
    return NULL;
  const char *d = json_string_value(json_object_get(m, "diff_id"));
  return d ? xstrdup(d) : NULL;
}

int64_t layer_size(struct store *s, const char *chain_id) {
  const char *hex = digest_hex(chain_id);
  _cleanup_free_ char *mp = xasprintf("%s/%s/meta", s->layers, hex ? hex : "x");
  json_t *m = NULL;
  if (json_load_path(mp, &m, NULL) < 0)
    return 0;
  int64_t n = json_integer_value(json_object_get(m, "size"));
  json_decref(m);
  return n;
}
