/*
 * diff.c — an overlay upper directory back to a layer tar (commit, build,
 * push of a committed image), the reverse of layer.c's apply.
 *
 * The walk is depth-first with the entries of each directory in byte order
 * (as Go's filepath.Walk, which dockerd's archive.TarWithOptions uses), so
 * the same tree always gives the same tar and the same diff ID. Each entry
 * is opened relative to its parent's fd with O_NOFOLLOW: nothing in the
 * upper dir (a container wrote it) can make the walk leave it.
 *
 * Whiteouts go out in AUFS form, as dockerd's overlayWhiteoutConverter:
 *   0/0 character device NAME       → regular file ".wh.NAME", mode 0600, empty
 *   dir with trusted.overlay.opaque=y → the dir entry, then "DIR/.wh..wh..opq"
 *                                      (a regular file with the dir's
 *                                      permissions and owner)
 * Overlay's own xattrs (trusted.overlay.*) never go out; the others do.
 * A file with several links goes out once; later names are hard links to
 * the first. Times: mtime in whole seconds only (dockerd truncates and drops
 * atime/ctime), so a diff does not depend on when it was read.
 *
 * Tar blocking: no padding after the end-of-archive blocks (Go's
 * tar.Writer), so an empty upper dir is exactly 1024 zero bytes: Docker's
 * empty-layer digest.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "store/store_internal.h"

struct diff_sink {
  store_write_fn fn;
  void *ctx;
  EVP_MD_CTX *md;
  int64_t bytes;
  int error; /* the first failure of fn */
};

/* A file seen with st_nlink > 1: later names link to `path`. */
struct seen {
  dev_t dev;
  ino_t ino;
  char *path;
};

struct diff {
  struct archive *a;
  struct seen *seen;
  size_t nseen;
  struct berr **err;
};

static la_ssize_t sink_write(struct archive *a, void *client, const void *buf, size_t len) {
  struct diff_sink *k = client;
  if (k->fn) {
    int r = k->fn(k->ctx, buf, len);
    if (r < 0) {
      k->error = r;
      archive_set_error(a, -r, "write: %s", strerror(-r));
      return -1;
    }
  }
  EVP_DigestUpdate(k->md, buf, len);
  k->bytes += (int64_t)len;
  return (la_ssize_t)len;
}

static int cmp_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in directory fd, sorted (NULL-terminated, caller frees). */
static char **sorted_names(int fd, const char *rel, struct berr **err) {
  int dup_fd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dup_fd < 0) {
    berr_sys(err, errno, "diff: open %s", *rel ? rel : "/");
    return NULL;
  }
  DIR *d = fdopendir(dup_fd);
  if (!d) {
    berr_sys(err, errno, "diff: read %s", *rel ? rel : "/");
    close(dup_fd);
    return NULL;
  }
  char **v = xcalloc(1, sizeof *v);
  for (struct dirent *de; (de = readdir(d));)
    if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
      v = strv_append(v, xstrdup(de->d_name));
  closedir(d);
  qsort(v, strv_len(v), sizeof *v, cmp_name);
  return v;
}

static bool is_whiteout(const struct stat *st) {
  return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

/* Copy the xattrs of pfd/name (not followed) into e, but overlay's own. */
static int add_xattrs(struct archive_entry *e, int pfd, const char *name, const char *rel,
                      struct berr **err) {
  _cleanup_free_ char *p = xasprintf("/proc/self/fd/%d/%s", pfd, name);
  char list[8192];
  ssize_t n = llistxattr(p, list, sizeof list);
  if (n < 0)
    return errno == ENOTSUP ? 0 : berr_sys(err, errno, "diff: %s: list xattrs", rel);
  for (char *k = list; k < list + n; k += strlen(k) + 1) {
    if (str_has_prefix(k, "trusted.overlay."))
      continue;
    char val[4096];
    ssize_t vl = lgetxattr(p, k, val, sizeof val);
    if (vl < 0)
      return berr_sys(err, errno, "diff: %s: read xattr %s", rel, k);
    archive_entry_xattr_add_entry(e, k, val, (size_t)vl);
  }
  return 0;
}

static bool is_opaque(int pfd, const char *name) {
  _cleanup_free_ char *p = xasprintf("/proc/self/fd/%d/%s", pfd, name);
  char v[2] = {0};
  return lgetxattr(p, "trusted.overlay.opaque", v, sizeof v) == 1 && v[0] == 'y';
}

/* An entry with the stat's type, owner, mode and mtime (seconds). */
static struct archive_entry *entry_from_stat(const char *rel, const struct stat *st) {
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, rel);
  archive_entry_set_filetype(e, st->st_mode & S_IFMT);
  archive_entry_set_perm(e, st->st_mode & 07777);
  archive_entry_set_uid(e, st->st_uid);
  archive_entry_set_gid(e, st->st_gid);
  archive_entry_set_mtime(e, st->st_mtim.tv_sec, 0);
  if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))
    archive_entry_set_rdev(e, st->st_rdev);
  return e;
}

static int write_header(struct diff *df, struct archive_entry *e, const char *rel) {
  int r = archive_write_header(df->a, e);
  if (r < ARCHIVE_WARN)
    return berr_set(df->err, EIO, "diff: %s: %s", rel, archive_error_string(df->a));
  return 0;
}

static int write_file_data(struct diff *df, int pfd, const char *name, const char *rel) {
  _cleanup_close_ int fd = openat(pfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return berr_sys(df->err, errno, "diff: open %s", rel);
  char buf[64 * 1024];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return berr_sys(df->err, errno, "diff: read %s", rel);
    if (n == 0)
      return 0;
    if (archive_write_data(df->a, buf, (size_t)n) != n)
      return berr_set(df->err, EIO, "diff: %s: %s", rel, archive_error_string(df->a));
  }
}

/* The first name of a multiply-linked file, or NULL (then it is recorded). */
static const char *link_target(struct diff *df, const struct stat *st, const char *rel) {
  for (size_t i = 0; i < df->nseen; i++)
    if (df->seen[i].dev == st->st_dev && df->seen[i].ino == st->st_ino)
      return df->seen[i].path;
  df->seen = xrealloc(df->seen, (df->nseen + 1) * sizeof *df->seen);
  df->seen[df->nseen++] = (struct seen){st->st_dev, st->st_ino, xstrdup(rel)};
  return NULL;
}

static int walk_dir(struct diff *df, int dfd, const char *rel);

/* ".wh.NAME" for a whiteout device at rel "DIR/NAME". */
static int write_whiteout(struct diff *df, const char *dir, const char *name, const struct stat *st) {
  _cleanup_free_ char *wh = *dir ? xasprintf("%s/.wh.%s", dir, name) : xasprintf(".wh.%s", name);
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, wh);
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0600);
  archive_entry_set_uid(e, st->st_uid);
  archive_entry_set_gid(e, st->st_gid);
  archive_entry_set_mtime(e, st->st_mtim.tv_sec, 0);
  archive_entry_set_size(e, 0);
  int r = write_header(df, e, wh);
  archive_entry_free(e);
  return r;
}

static int write_opaque_marker(struct diff *df, const char *rel, const struct stat *st) {
  _cleanup_free_ char *wh = xasprintf("%s/.wh..wh..opq", rel);
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, wh);
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, st->st_mode & 0777);
  archive_entry_set_uid(e, st->st_uid);
  archive_entry_set_gid(e, st->st_gid);
  archive_entry_set_size(e, 0);
  int r = write_header(df, e, wh);
  archive_entry_free(e);
  return r;
}

static int write_one(struct diff *df, int pfd, const char *dir, const char *name) {
  _cleanup_free_ char *rel = *dir ? xasprintf("%s/%s", dir, name) : xstrdup(name);
  struct stat st;
  if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return berr_sys(df->err, errno, "diff: stat %s", rel);
  if (is_whiteout(&st))
    return write_whiteout(df, dir, name, &st);
  if (S_ISSOCK(st.st_mode))
    return 0; /* as dockerd: sockets are not archived */
  struct archive_entry *e = entry_from_stat(rel, &st);
  int r = 0;
  const char *hl = S_ISREG(st.st_mode) && st.st_nlink > 1 ? link_target(df, &st, rel) : NULL;
  if (hl) {
    archive_entry_set_hardlink(e, hl);
    archive_entry_set_size(e, 0);
  } else if (S_ISREG(st.st_mode)) {
    archive_entry_set_size(e, st.st_size);
  } else if (S_ISLNK(st.st_mode)) {
    char target[PATH_MAX];
    ssize_t n = readlinkat(pfd, name, target, sizeof target - 1);
    if (n < 0)
      r = berr_sys(df->err, errno, "diff: readlink %s", rel);
    else {
      target[n] = '\0';
      archive_entry_set_symlink(e, target);
    }
  }
  if (r == 0)
    r = add_xattrs(e, pfd, name, rel, df->err);
  if (r == 0)
    r = write_header(df, e, rel);
  archive_entry_free(e);
  if (r < 0)
    return r;
  if (S_ISREG(st.st_mode) && !hl && st.st_size > 0)
    return write_file_data(df, pfd, name, rel);
  if (!S_ISDIR(st.st_mode))
    return 0;
  if (is_opaque(pfd, name) && (r = write_opaque_marker(df, rel, &st)) < 0)
    return r;
  _cleanup_close_ int cfd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (cfd < 0)
    return berr_sys(df->err, errno, "diff: open %s", rel);
  return walk_dir(df, cfd, rel);
}

static int walk_dir(struct diff *df, int dfd, const char *rel) {
  _cleanup_strv_ char **names = sorted_names(dfd, rel, df->err);
  if (!names)
    return -EIO;
  for (size_t i = 0; names[i]; i++) {
    int r = write_one(df, dfd, rel, names[i]);
    if (r < 0)
      return r;
  }
  return 0;
}

int store_diff_tar(const char *upper, store_write_fn write, void *wctx, char **diff_id,
                   int64_t *size, struct berr **err) {
  _cleanup_close_ int fd = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return berr_sys(err, errno, "diff: open %s", upper);
  struct diff_sink k = {.fn = write, .ctx = wctx, .md = EVP_MD_CTX_new()};
  EVP_DigestInit_ex(k.md, EVP_sha256(), NULL);
  struct diff df = {.a = archive_write_new(), .err = err};
  archive_write_set_format_pax_restricted(df.a);
  archive_write_set_bytes_per_block(df.a, 10240);
  archive_write_set_bytes_in_last_block(df.a, 1); /* no padding after the end blocks */
  int r = 0;
  if (archive_write_open(df.a, &k, NULL, sink_write, NULL) != ARCHIVE_OK)
    r = berr_set(err, EIO, "diff: %s", archive_error_string(df.a));
  if (r == 0)
    r = walk_dir(&df, fd, "");
  if (r == 0 && archive_write_close(df.a) != ARCHIVE_OK)
    r = berr_set(err, EIO, "diff: %s", archive_error_string(df.a));
  archive_write_free(df.a);
  for (size_t i = 0; i < df.nseen; i++)
    free(df.seen[i].path);
  free(df.seen);
  _cleanup_free_ char *d = digest_final(k.md);
  EVP_MD_CTX_free(k.md);
  if (r < 0)
    return k.error ? k.error : r; /* the sink's own errno (-EPIPE: the client went) */
  if (diff_id)
    *diff_id = steal_ptr(d);
  if (size)
    *size = k.bytes;
  return 0;
}

int store_rw_diff(struct store *s, const char *cid, store_write_fn write, void *wctx,
                  char **diff_id, int64_t *size, struct berr **err) {
  _cleanup_free_ char *upper = xasprintf("%s/%s/fs/upper", s->ctrs, cid);
  if (!cid || !*cid || strchr(cid, '/') || cid[0] == '.')
    return berr_set(err, EINVAL, "invalid container ID \"%s\"", cid ? cid : "");
  if (!path_exists(upper))
    return berr_set(err, ENOENT, "diff of %s: no rw layer", cid);
  int r = store_diff_tar(upper, write, wctx, diff_id, size, err);
  return r < 0 ? berr_wrap(err, "container %s", cid) : 0;
}
