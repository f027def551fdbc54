/*
 * container_archive.c — files in and out of a container: the archive
 * endpoints `docker cp` uses (HEAD/GET/PUT /containers/{id}/archive) and
 * GET /containers/{id}/export.
 *
 * Every path is resolved inside the container's root with openat2
 * RESOLVE_IN_ROOT, and every file is then touched through *at() calls on a
 * directory fd, never through a host path string, so a symlink in the image
 * can never lead out of the container. The root is
 *   - /proc/<pid>/root while the container runs: its own mount namespace,
 *     so volumes, binds and tmpfs mounts are what `docker cp` sees, as in
 *     Docker (which mounts the volumes into its view of the rootfs); the walk
 *     does not descend into proc, sysfs, cgroup, devpts or mqueue mounts;
 *   - the store's merged mount otherwise (mounted on demand and left mounted:
 *     unmounting under a concurrent start would break it; rm unmounts).
 * export always uses the store's mount: the image and the writable layer,
 * without volumes, as `docker export` does.
 *
 * Docker's path rules: the final component is not followed (a symlink is
 * archived as a link) unless the path ends in "/" or "/."; the tar's names
 * start with the base name of the path ("." for "/.").
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <time.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

#include "daemon/container_internal.h"

/* --------------------------------------------------------------- roots ---- */

static int open_in_root(int rootfd, const char *rel, int flags, struct berr **err,
                        const char *shown) {
  while (*rel == '/')
    rel++;
  int fd = fs_open_in_root(rootfd, *rel ? rel : ".", flags, 0);
  if (fd < 0)
    return berr_sys(err, -fd, "open %s", shown);
  return fd;
}

int archive_openat_root(int rootfd, const char *rel, int flags, struct berr **err) {
  return open_in_root(rootfd, rel, flags, err, rel);
}

int archive_root_open(struct daemon *d, struct container *c, bool live, int *out,
                      struct berr **err) {
  _cleanup_free_ char *path = NULL;
  pthread_mutex_lock(&c->lock);
  if (live && c->pid > 0 && (c->state == CTR_RUNNING || c->state == CTR_PAUSED))
    path = xasprintf("/proc/%d/root", (int)c->pid);
  pthread_mutex_unlock(&c->lock);
  /* not c->rootfs: it may name a mount already gone; mounting a mounted
   * rootfs just returns its path */
  if (path == NULL && store_rw_mount(d->store, c->id, &path, err) < 0)
    return berr_wrap(err, "mount the rootfs of %s", c->id);
  int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return berr_sys(err, errno, "open the rootfs of %s", c->id);
  *out = fd;
  return 0;
}

/* A container path: its parent opened in the root and the final component. */
struct cpath {
  int dirfd;  /* the parent directory (or the object itself when follow) */
  char *base; /* the component in dirfd ("." when followed or "/") */
  char *name; /* the tar/stat name: the path's base name ("." for "/.") */
  char *abs;  /* the cleaned absolute path */
};

static void cpath_clear(struct cpath *p) {
  if (p->dirfd >= 0)
    close(p->dirfd);
  free(p->base);
  free(p->name);
  free(p->abs);
  p->dirfd = -1;
  p->base = p->name = p->abs = NULL;
}

static int cpath_resolve(int rootfd, const char *path, struct cpath *out, struct berr **err) {
  out->dirfd = -1;
  _cleanup_free_ char *abs0 = xasprintf("/%s", path);
  bool esc = false;
  out->abs = path_clean(abs0, &esc);
  size_t n = strlen(path);
  bool follow = n > 0 && (path[n - 1] == '/' || (n >= 2 && strcmp(path + n - 2, "/.") == 0) ||
                          strcmp(path, ".") == 0);
  if (strcmp(out->abs, "/") == 0 || follow) {
    int fd = open_in_root(rootfd, out->abs, O_PATH, err, path);
    if (fd < 0)
      return fd;
    out->dirfd = fd;
    out->base = xstrdup(".");
    const char *slash = strrchr(out->abs, '/');
    bool dot = n >= 2 && strcmp(path + n - 2, "/.") == 0;
    out->name = xstrdup(dot || strcmp(path, ".") == 0 ? "." : strcmp(out->abs, "/") == 0 ? "/"
                                                                                       : slash + 1);
    return 0;
  }
  char *slash = strrchr(out->abs, '/');
  out->base = xstrdup(slash + 1);
  out->name = xstrdup(slash + 1);
  _cleanup_free_ char *parent = xasprintf("%.*s", (int)(slash - out->abs), out->abs);
  int fd = open_in_root(rootfd, parent, O_PATH | O_DIRECTORY, err, path);
  if (fd < 0)
    return fd;
  out->dirfd = fd;
  return 0;
}

/* ---------------------------------------------------------------- stat ---- */

/* Go's os.FileMode bits from st_mode (what the stat header's "mode" holds). */
uint64_t archive_go_mode(mode_t m) {
  uint64_t g = m & 0777;
  switch (m & S_IFMT) {
  case S_IFDIR: g |= 1ull << 31; break;
  case S_IFLNK: g |= 1ull << 27; break;
  case S_IFBLK: g |= 1ull << 26; break;
  case S_IFCHR: g |= (1ull << 26) | (1ull << 21); break;
  case S_IFIFO: g |= 1ull << 25; break;
  case S_IFSOCK: g |= 1ull << 24; break;
  default: break;
  }
  if (m & S_ISUID)
    g |= 1ull << 23;
  if (m & S_ISGID)
    g |= 1ull << 22;
  if (m & S_ISVTX)
    g |= 1ull << 20;
  return g;
}

/* A symlink's target fully evaluated in the container (Docker's linkTarget),
 * lexically, link after link (40 at most, as the kernel). */
static char *link_target(int rootfd, const char *abs) {
  _cleanup_free_ char *cur = xstrdup(abs);
  for (int i = 0; i < 40; i++) {
    struct cpath p = {.dirfd = -1};
    if (cpath_resolve(rootfd, cur, &p, NULL) < 0) {
      cpath_clear(&p);
      break;
    }
    char buf[4096];
    ssize_t n = readlinkat(p.dirfd, p.base, buf, sizeof buf - 1);
    cpath_clear(&p);
    if (n < 0)
      break;
    buf[n] = '\0';
    _cleanup_free_ char *dir = xstrdup(cur);
    *strrchr(dir, '/') = '\0';
    _cleanup_free_ char *joined = buf[0] == '/' ? xstrdup(buf) : xasprintf("%s/%s", dir, buf);
    free(cur);
    cur = path_clean(joined, NULL);
  }
  return steal_ptr(cur);
}

int archive_stat(int rootfd, const char *path, const char *ctr_name, json_t **out,
                 struct berr **err) {
  struct cpath p = {.dirfd = -1};
  struct stat st;
  if (cpath_resolve(rootfd, path, &p, NULL) < 0 ||
      fstatat(p.dirfd, p.base, &st, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) < 0) {
    cpath_clear(&p);
    return berr_set(err, ENOENT, "Could not find the file %s in container %s", path, ctr_name);
  }
  _cleanup_free_ char *target = S_ISLNK(st.st_mode) ? link_target(rootfd, p.abs) : xstrdup("");
  char mtime[64];
  shim_format_time((int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec, mtime);
  *out = json_pack("{s:s,s:I,s:I,s:s,s:s}", "name", p.name, "size", (json_int_t)st.st_size,
                   "mode", (json_int_t)archive_go_mode(st.st_mode), "mtime", mtime, "linkTarget",
                   target);
  cpath_clear(&p);
  return 0;
}

char *archive_stat_header(const json_t *stat) {
  _cleanup_free_ char *s = json_dump_compact(stat);
  size_t n = strlen(s);
  char *b = xmalloc(4 * ((n + 2) / 3) + 1);
  EVP_EncodeBlock((unsigned char *)b, (const unsigned char *)s, (int)n);
  return b;
}

/* ------------------------------------------------------------ tar out ---- */

struct tar_out {
  struct archive *a;
  struct archive_entry_linkresolver *lr;
  struct berr **err;
  int rc;
};

static bool skip_fs(int fd) {
  struct statfs fs;
  if (fstatfs(fd, &fs) < 0)
    return false;
  switch ((unsigned long)fs.f_type) {
  case PROC_SUPER_MAGIC: case SYSFS_MAGIC: case CGROUP_SUPER_MAGIC: case CGROUP2_SUPER_MAGIC:
  case DEVPTS_SUPER_MAGIC: case 0x19800202 /* mqueue */:
    return true;
  default:
    return false;
  }
}

static int name_cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int tar_write_entry(struct tar_out *t, struct archive_entry *e, int datafd) {
  if (archive_write_header(t->a, e) != ARCHIVE_OK)
    return berr_set(t->err, EIO, "tar: %s: %s", archive_entry_pathname(e),
                    archive_error_string(t->a));
  if (datafd < 0 || archive_entry_size(e) == 0)
    return 0;
  char buf[65536];
  for (;;) {
    ssize_t n = read(datafd, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return berr_sys(t->err, errno, "tar: read %s", archive_entry_pathname(e));
    if (n == 0)
      break;
    if (archive_write_data(t->a, buf, (size_t)n) < 0)
      return berr_set(t->err, EPIPE, "tar: write %s: %s", archive_entry_pathname(e),
                      archive_error_string(t->a));
  }
  return 0;
}

/* Add dirfd/name as `arc` (recursively for directories). */
static int tar_add(struct tar_out *t, int dirfd, const char *name, const char *arc) {
  struct stat st;
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) < 0)
    return errno == ENOENT ? 0 : berr_sys(t->err, errno, "tar: stat %s", arc);
  if (S_ISSOCK(st.st_mode))
    return 0; /* tar has no sockets; Docker skips them */
  struct archive_entry *e = archive_entry_new();
  archive_entry_copy_stat(e, &st);
  _cleanup_free_ char *an = S_ISDIR(st.st_mode) && *arc && !str_has_suffix(arc, "/")
                                ? xasprintf("%s/", arc)
                                : xstrdup(arc);
  archive_entry_copy_pathname(e, an);
  _cleanup_close_ int fd = -1;
  int rc = 0;
  if (S_ISLNK(st.st_mode)) {
    char buf[4096];
    ssize_t n = readlinkat(dirfd, name, buf, sizeof buf - 1);
    buf[n < 0 ? 0 : n] = '\0';
    archive_entry_copy_symlink(e, buf);
  } else if (S_ISREG(st.st_mode)) {
    fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      archive_entry_free(e);
      return berr_sys(t->err, errno, "tar: open %s", arc);
    }
  }
  if (!S_ISDIR(st.st_mode)) {
    struct archive_entry *spare = NULL;
    archive_entry_linkify(t->lr, &e, &spare); /* a second name of a file: a hard link */
    archive_entry_free(spare);
    if (e == NULL)
      return 0;
    if (archive_entry_hardlink(e))
      archive_entry_set_size(e, 0);
  }
  rc = tar_write_entry(t, e, fd);
  archive_entry_free(e);
  if (rc < 0 || !S_ISDIR(st.st_mode))
    return rc;
  _cleanup_close_ int dfd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0 || skip_fs(dfd))
    return 0;
  DIR *dir = fdopendir(dfd);
  if (dir == NULL)
    return 0;
  int keep = move_fd(&dfd);
  char **names = NULL;
  for (struct dirent *de; (de = readdir(dir)) != NULL;)
    if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
      names = strv_append(names, xstrdup(de->d_name));
  size_t n = strv_len(names);
  if (n > 1)
    qsort(names, n, sizeof *names, name_cmp);
  for (size_t i = 0; i < n && rc == 0; i++) {
    _cleanup_free_ char *child = *arc ? xasprintf("%s%s%s", arc, str_has_suffix(arc, "/") ? "" : "/",
                                                  names[i])
                                      : xstrdup(names[i]);
    rc = tar_add(t, keep, names[i], child);
  }
  strv_free(names);
  closedir(dir);
  return rc;
}

struct writer_ctx {
  struct http_req *r; /* the chunked stream */
};

static la_ssize_t tar_write_cb(struct archive *a, void *ctx, const void *buf, size_t n) {
  struct writer_ctx *w = ctx;
  if (http_stream_write(w->r, buf, n) < 0) {
    archive_set_error(a, EPIPE, "client gone");
    return -1;
  }
  return (la_ssize_t)n;
}

/* Write a tar of dirfd/name (named `arc`; "" for the whole tree: export) to w. */
static int tar_tree(int dirfd, const char *name, const char *arc, struct writer_ctx *w,
                    struct berr **err) {
  struct tar_out t = {.a = archive_write_new(), .lr = archive_entry_linkresolver_new(), .err = err};
  archive_write_set_format_pax_restricted(t.a);
  archive_entry_linkresolver_set_strategy(t.lr, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
  /* 64 KiB per write (one HTTP chunk each), the last block unpadded */
  archive_write_set_bytes_per_block(t.a, 65536);
  archive_write_set_bytes_in_last_block(t.a, 1);
  int rc = 0;
  if (archive_write_open(t.a, w, NULL, tar_write_cb, NULL) != ARCHIVE_OK)
    rc = berr_set(err, EIO, "tar: %s", archive_error_string(t.a));
  if (rc == 0 && *arc == '\0') {
    /* export: the tree's children, not the root itself */
    _cleanup_close_ int dfd = openat(dirfd, *name ? name : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *dir = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (dir == NULL)
      rc = berr_sys(err, errno, "export: open the rootfs");
    else {
      int keep = move_fd(&dfd);
      char **names = NULL;
      for (struct dirent *de; (de = readdir(dir)) != NULL;)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
          names = strv_append(names, xstrdup(de->d_name));
      size_t n = strv_len(names);
      if (n > 1)
        qsort(names, n, sizeof *names, name_cmp);
      for (size_t i = 0; i < n && rc == 0; i++)
        rc = tar_add(&t, keep, names[i], names[i]);
      strv_free(names);
      closedir(dir);
    }
  } else if (rc == 0) {
    rc = tar_add(&t, dirfd, name, arc);
  }
  if (archive_write_close(t.a) != ARCHIVE_OK && rc == 0)
    rc = berr_set(err, EIO, "tar: %s", archive_error_string(t.a));
  archive_write_free(t.a);
  archive_entry_linkresolver_free(t.lr);
  return rc;
}

void archive_get_serve(struct http_req *r, int rootfd, const char *path, const char *ctr_name,
                       const char *tmp_dir) {
  _cleanup_berr_ struct berr *err = NULL;
  _cleanup_json_ json_t *st = NULL;
  if (archive_stat(rootfd, path, ctr_name, &st, &err) < 0) {
    http_reply_berr(r, err);
    return;
  }
  _cleanup_free_ char *b64 = archive_stat_header(st);
  _cleanup_free_ char *hdr = xasprintf("X-Docker-Container-Path-Stat: %s\r\n", b64);
  if (strcmp(r->method, "HEAD") == 0) {
    http_reply_extra(r, 200, NULL, hdr, NULL, 0);
    return;
  }
  struct cpath p = {.dirfd = -1};
  if (cpath_resolve(rootfd, path, &p, &err) < 0) {
    cpath_clear(&p);
    http_reply_berr(r, err);
    return;
  }
  /* Stream the tar as it is made, the stat header with the response's
   * headers. An error past this point can only cut the tar short, as in
   * Docker (which also streams). */
  (void)tmp_dir; /* no spooling any more; kept for the caller's signature */
  if (http_stream_begin_extra(r, 200, "application/x-tar", hdr) < 0) {
    cpath_clear(&p);
    return;
  }
  struct writer_ctx w = {.r = r};
  if (tar_tree(p.dirfd, p.base, p.name, &w, &err) < 0)
    log_warn("archive %s: %s", path, err->msg);
  cpath_clear(&p);
  (void)http_stream_end(r);
}

void archive_export_serve(struct http_req *r, int rootfd) {
  _cleanup_berr_ struct berr *err = NULL;
  if (http_stream_begin(r, 200, "application/x-tar") < 0)
    return;
  struct writer_ctx w = {.r = r};
  if (tar_tree(rootfd, "", "", &w, &err) < 0)
    log_warn("export: %s", err->msg); /* mid-stream: the client sees a short tar */
  (void)http_stream_end(r);
}

/* ------------------------------------------------------------- tar in ---- */

struct body_ctx {
  struct http_req *r;
  char buf[65536];
};

static la_ssize_t body_read_cb(struct archive *a, void *ctx, const void **buf) {
  struct body_ctx *b = ctx;
  ssize_t n = http_body_read(b->r, b->buf, sizeof b->buf);
  if (n < 0) {
    archive_set_error(a, (int)-n, "read the request body: %s", strerror((int)-n));
    return -1;
  }
  *buf = b->buf;
  return n;
}

struct dir_time {
  char *rel;
  struct timespec ts[2];
};

struct tar_in {
  int destfd;            /* the extraction point (a directory fd) */
  const char *dest;      /* its container path, for messages */
  bool no_overwrite_dir_nondir;
  bool chown_to;         /* copyUIDGID with a container user: every file to uid:gid */
  uid_t uid;
  gid_t gid;
  struct dir_time *dirs; /* directory times, set once their contents are in */
  size_t ndirs;
  struct berr **err;
};

/* Open (creating missing directories, 0755) the parent of rel inside destfd. */
static int parent_open(struct tar_in *x, const char *rel, struct berr **err) {
  const char *slash = strrchr(rel, '/');
  if (slash == NULL)
    return fcntl(x->destfd, F_DUPFD_CLOEXEC, 3);
  _cleanup_free_ char *dir = xasprintf("%.*s", (int)(slash - rel), rel);
  int fd = open_in_root(x->destfd, dir, O_RDONLY | O_DIRECTORY, NULL, dir);
  if (fd >= 0)
    return fd;
  /* create it one component at a time, each resolved in the extraction root */
  _cleanup_free_ char *work = xstrdup(dir);
  _cleanup_free_ char *acc = xstrdup("");
  for (char *save = NULL, *c = strtok_r(work, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
    char *next = *acc ? xasprintf("%s/%s", acc, c) : xstrdup(c);
    free(acc);
    acc = next;
    _cleanup_close_ int pfd = parent_open(x, acc, err);
    if (pfd < 0)
      return pfd;
    if (mkdirat(pfd, c, 0755) < 0 && errno != EEXIST)
      return berr_sys(err, errno, "extract: mkdir %s/%s", x->dest, acc);
  }
  return open_in_root(x->destfd, dir, O_RDONLY | O_DIRECTORY, err, dir);
}

/* Remove whatever is at pfd/base (a directory with its contents). */
static int remove_any(int pfd, const char *base, struct berr **err) {
  if (unlinkat(pfd, base, 0) == 0 || errno == ENOENT)
    return 0;
  if (errno != EISDIR && errno != EPERM)
    return berr_sys(err, errno, "extract: remove %s", base);
  _cleanup_free_ char *p = xasprintf("/proc/self/fd/%d/%s", pfd, base);
  return rm_rf(p, err);
}

static int write_data(struct archive *a, int fd, const char *name, struct berr **err) {
  const void *buf;
  size_t len;
  la_int64_t off;
  for (;;) {
    int r = archive_read_data_block(a, &buf, &len, &off);
    if (r == ARCHIVE_EOF)
      return 0;
    if (r != ARCHIVE_OK)
      return berr_set(err, EIO, "extract %s: %s", name, archive_error_string(a));
    if (pwrite(fd, buf, len, off) != (ssize_t)len)
      return berr_sys(err, errno, "extract %s: write", name);
  }
}

static int extract_one(struct tar_in *x, struct archive *a, struct archive_entry *e,
                       const char *rel) {
  struct berr **err = x->err;
  _cleanup_close_ int pfd = parent_open(x, rel, err);
  if (pfd < 0)
    return pfd;
  const char *slash = strrchr(rel, '/');
  const char *base = slash ? slash + 1 : rel;
  mode_t type = archive_entry_filetype(e);
  const char *hard = archive_entry_hardlink(e);
  bool is_dir = type == AE_IFDIR && hard == NULL;
  struct stat old;
  bool exists = fstatat(pfd, base, &old, AT_SYMLINK_NOFOLLOW) == 0;
  if (exists && x->no_overwrite_dir_nondir) {
    /* Docker's messages (pkg/archive: createTarFile) */
    if (S_ISDIR(old.st_mode) && !is_dir)
      return berr_set(err, EIO,
                      "Error processing tar file(exit status 1): cannot overwrite directory "
                      "\"%s/%s\" with non-directory \"%s\"",
                      strcmp(x->dest, "/") ? x->dest : "", rel, x->dest);
    if (!S_ISDIR(old.st_mode) && is_dir)
      return berr_set(err, EIO,
                      "Error processing tar file(exit status 1): cannot overwrite non-directory "
                      "\"%s/%s\" with directory \"%s\"",
                      strcmp(x->dest, "/") ? x->dest : "", rel, x->dest);
  }
  if (exists && !(is_dir && S_ISDIR(old.st_mode)) && remove_any(pfd, base, err) < 0)
    return -EIO;
  mode_t perm = archive_entry_perm(e) & 07777;
  if (hard) {
    _cleanup_free_ char *hrel = path_clean(hard, NULL);
    const char *h = hrel[0] == '/' ? hrel + 1 : hrel;
    _cleanup_close_ int hfd = parent_open(x, h, err);
    const char *hs = strrchr(h, '/');
    if (hfd < 0 || linkat(hfd, hs ? hs + 1 : h, pfd, base, 0) < 0)
      return hfd < 0 ? hfd : berr_sys(err, errno, "extract %s: link to %s", rel, hard);
    return 0;
  }
  switch (type) {
  case AE_IFDIR:
    if (!exists && mkdirat(pfd, base, 0700) < 0)
      return berr_sys(err, errno, "extract %s: mkdir", rel);
    break;
  case AE_IFREG: {
    _cleanup_close_ int fd =
        openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
      return berr_sys(err, errno, "extract %s: create", rel);
    if (write_data(a, fd, rel, err) < 0)
      return -EIO;
    if (ftruncate(fd, archive_entry_size(e)) < 0)
      return berr_sys(err, errno, "extract %s: truncate", rel);
    break;
  }
  case AE_IFLNK:
    if (symlinkat(archive_entry_symlink(e), pfd, base) < 0)
      return berr_sys(err, errno, "extract %s: symlink", rel);
    break;
  case AE_IFCHR: case AE_IFBLK: case AE_IFIFO:
    if (mknodat(pfd, base, type | perm, archive_entry_rdev(e)) < 0)
      return berr_sys(err, errno, "extract %s: mknod", rel);
    break;
  default:
    return 0; /* sockets and the like: nothing to make */
  }
  uid_t uid = x->chown_to ? x->uid : (uid_t)archive_entry_uid(e);
  gid_t gid = x->chown_to ? x->gid : (gid_t)archive_entry_gid(e);
  if (fchownat(pfd, base, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
    return berr_sys(err, errno, "extract %s: chown", rel);
  if (type != AE_IFLNK && fchmodat(pfd, base, perm, 0) < 0)
    return berr_sys(err, errno, "extract %s: chmod", rel);
  struct timespec ts[2] = {{archive_entry_atime(e), archive_entry_atime_nsec(e)},
                           {archive_entry_mtime(e), archive_entry_mtime_nsec(e)}};
  if (!archive_entry_atime_is_set(e))
    ts[0] = ts[1];
  if (type == AE_IFDIR) {
    x->dirs = xrealloc(x->dirs, (x->ndirs + 1) * sizeof *x->dirs);
    x->dirs[x->ndirs++] = (struct dir_time){xstrdup(rel), {ts[0], ts[1]}};
  } else {
    (void)utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW);
  }
  return 0;
}

static void dir_times_apply(struct tar_in *x) {
  for (size_t i = x->ndirs; i-- > 0;) {
    _cleanup_close_ int fd = open_in_root(x->destfd, x->dirs[i].rel, O_RDONLY | O_DIRECTORY,
                                          NULL, x->dirs[i].rel);
    if (fd >= 0)
      (void)futimens(fd, x->dirs[i].ts);
    free(x->dirs[i].rel);
  }
  free(x->dirs);
  x->dirs = NULL;
  x->ndirs = 0;
}

int archive_put(struct http_req *r, int rootfd, const struct archive_put_opts *o,
                struct berr **err) {
  struct cpath p = {.dirfd = -1};
  struct stat st;
  if (cpath_resolve(rootfd, o->path, &p, NULL) < 0 ||
      fstatat(p.dirfd, p.base, &st, AT_EMPTY_PATH) < 0) {
    cpath_clear(&p);
    return berr_set(err, ENOENT, "Could not find the file %s in container %s", o->path,
                    o->ctr_name);
  }
  if (!S_ISDIR(st.st_mode)) {
    cpath_clear(&p);
    return berr_set(err, EINVAL, "extraction point is not a directory");
  }
  _cleanup_free_ char *full = strcmp(p.base, ".") == 0 ? xstrdup(p.abs) : xstrdup(p.abs);
  int destfd = open_in_root(rootfd, full, O_RDONLY | O_DIRECTORY, err, o->path);
  cpath_clear(&p);
  if (destfd < 0)
    return destfd;
  struct tar_in x = {.destfd = destfd,
                     .dest = full,
                     .no_overwrite_dir_nondir = o->no_overwrite_dir_nondir,
                     .chown_to = o->chown_to,
                     .uid = o->uid,
                     .gid = o->gid,
                     .err = err};
  struct archive *a = archive_read_new();
  archive_read_support_format_tar(a);
  /* the compressions Docker accepts (not filter_all: lz4, lzip, uu, rpm… would
   * pull more libraries into a static berthd for formats no image uses) */
  archive_read_support_filter_gzip(a);
  archive_read_support_filter_bzip2(a);
  archive_read_support_filter_xz(a);
  archive_read_support_filter_zstd(a);
  struct body_ctx *b = xmalloc(sizeof *b);
  b->r = r;
  int rc = 0;
  if (archive_read_open(a, b, NULL, body_read_cb, NULL) != ARCHIVE_OK)
    rc = berr_set(err, EINVAL, "Error processing tar file: %s", archive_error_string(a));
  struct archive_entry *e;
  while (rc == 0) {
    int k = archive_read_next_header(a, &e);
    if (k == ARCHIVE_EOF)
      break;
    if (k != ARCHIVE_OK && k != ARCHIVE_WARN) {
      rc = berr_set(err, EINVAL, "Error processing tar file: %s", archive_error_string(a));
      break;
    }
    bool esc = false;
    _cleanup_free_ char *rel0 = path_clean(archive_entry_pathname(e), &esc);
    const char *rel = rel0;
    while (*rel == '/')
      rel++;
    if (esc || *rel == '\0' || strcmp(rel, ".") == 0)
      continue; /* ".." escapes and the root entry itself */
    rc = extract_one(&x, a, e, rel);
  }
  /* drain what the client still sends, so that the reply can be read */
  char sink[4096];
  while (http_body_read(r, sink, sizeof sink) > 0)
    ;
  dir_times_apply(&x);
  archive_read_free(a);
  free(b);
  close(destfd);
  return rc;
}
