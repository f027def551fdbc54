/*
 * context.c — the build context of POST /build (build.h): the request body
 * (a tar, any compression libarchive knows; or a bare Dockerfile, which old
 * `docker build - <Dockerfile` clients send) becomes a directory of the
 * builder.
 *
 * The body is streamed into libarchive (no spool file): its first 64 KiB are
 * kept in memory to tell a tar from a Dockerfile, then replayed. Entries are
 * resolved inside the dir (openat2 RESOLVE_IN_ROOT); "../" entries are
 * dropped, as Docker's breakout check refuses them.
 *
 * Speed: a rebuild sends the same context again. The dir a build used is not
 * removed but kept warm (builder.c: builder_context_claim / _release), and
 * the next unpack UPDATES it in place: an entry already there with the same
 * type, size and content (compared byte for byte, never trusted from
 * metadata), owner, mode and mtime costs a stat and a read, not a create
 * now and an unlink later, which on a journalled filesystem under load is
 * most of a cached build's time. Whatever the tar does not name is removed
 * at the end, so the result is exactly the tar's tree, warm or not.
 *
 * A RUN --mount=type=bind,rw of the context writes into this dir: the next
 * unpack compares everything it kept (bytes, type, owner, mode, mtime, and
 * the dir's own mode), so no change survives into another build.
 *
 * Invariants: a regular file is only rewritten in place when it has one
 * link (else another name would change with it); directories get their
 * mtimes last (as Docker's unpack does, so creating children does not move
 * them); on any error the dir is removed, never kept warm.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "build/build_internal.h"

#define SNIFF_LEN 65536
/* A context bigger than this is removed after the build, not kept warm. */
#define WARM_MAX_BYTES (256ull << 20)

/* ---------- the body as a libarchive source ---------- */

struct body {
  ssize_t (*rd)(void *rctx, void *buf, size_t len);
  void *rctx;
  char *pre; /* the first bytes (sniffed), replayed first */
  size_t prelen, preoff;
  int rerr; /* -errno of a failed read */
  char buf[65536];
};

static ssize_t body_read_some(struct body *b, char *buf, size_t len) {
  ssize_t k = b->rd(b->rctx, buf, len);
  if (k < 0)
    b->rerr = (int)k;
  return k;
}

/* Fill b->pre with up to SNIFF_LEN bytes (less only at the end of the body). */
static int body_sniff(struct body *b) {
  b->pre = xmalloc(SNIFF_LEN);
  while (b->prelen < SNIFF_LEN) {
    ssize_t k = body_read_some(b, b->pre + b->prelen, SNIFF_LEN - b->prelen);
    if (k < 0)
      return (int)k;
    if (k == 0)
      break;
    b->prelen += (size_t)k;
  }
  return 0;
}

static la_ssize_t body_cb(struct archive *a, void *ctx, const void **out) {
  struct body *b = ctx;
  if (b->preoff < b->prelen) {
    *out = b->pre + b->preoff;
    size_t n = b->prelen - b->preoff;
    b->preoff = b->prelen;
    return (la_ssize_t)n;
  }
  ssize_t k = body_read_some(b, b->buf, sizeof b->buf);
  if (k < 0) {
    archive_set_error(a, -(int)k, "read the build context");
    return -1;
  }
  *out = b->buf;
  return (la_ssize_t)k;
}

static struct archive *reader_new(void) {
  struct archive *a = archive_read_new();
  archive_read_support_filter_gzip(a);
  archive_read_support_filter_bzip2(a);
  archive_read_support_filter_xz(a);
  archive_read_support_filter_zstd(a);
  archive_read_support_format_tar(a);
  archive_read_support_format_gnutar(a);
  return a;
}

/* Does the body start with a tar header (after any decompression)? */
static bool looks_like_archive(const struct body *b) {
  if (b->prelen == 0)
    return false;
  struct archive *a = reader_new();
  struct archive_entry *e;
  bool ok = archive_read_open_memory(a, b->pre, b->prelen) == ARCHIVE_OK &&
            archive_read_next_header(a, &e) == ARCHIVE_OK;
  archive_read_free(a);
  return ok;
}

/* ---------- the sync ---------- */

/* A set of relative paths (open addressing): what the tar names, and
 * every parent dir of it. Looked up by (pointer, length), so a prefix of a
 * path needs no copy. */
struct pset {
  char **slot;
  size_t cap, n;
};

static size_t pset_hash(const char *p, size_t n) {
  size_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++)
    h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
  return h;
}

static bool pset_has(const struct pset *h, const char *p, size_t n) {
  if (!h->cap)
    return false;
  for (size_t i = pset_hash(p, n) & (h->cap - 1);; i = (i + 1) & (h->cap - 1)) {
    const char *q = h->slot[i];
    if (!q)
      return false;
    if (!strncmp(q, p, n) && q[n] == '\0')
      return true;
  }
}

static void pset_put(struct pset *h, char *owned) {
  for (size_t i = pset_hash(owned, strlen(owned)) & (h->cap - 1);; i = (i + 1) & (h->cap - 1))
    if (!h->slot[i]) {
      h->slot[i] = owned;
      return;
    }
}

static void pset_add(struct pset *h, const char *p, size_t n) {
  if (pset_has(h, p, n))
    return;
  if (2 * (h->n + 1) > h->cap) { /* at most half full */
    struct pset g = {.cap = h->cap ? 2 * h->cap : 256};
    g.slot = xcalloc(g.cap, sizeof *g.slot);
    for (size_t i = 0; i < h->cap; i++)
      if (h->slot[i])
        pset_put(&g, h->slot[i]);
    free(h->slot);
    h->slot = g.slot;
    h->cap = g.cap;
  }
  pset_put(h, strndup(p, n));
  h->n++;
}

static void pset_free(struct pset *h) {
  for (size_t i = 0; i < h->cap; i++)
    free(h->slot[i]);
  free(h->slot);
}

struct dir_time {
  char *path;
  time_t mtime;
};

struct sync {
  int root;
  struct berr **err;
  /* the parent dir of the last entry (entries come dir by dir) */
  char *pdir;
  int pfd;
  struct pset seen; /* every path the tar names, and their parents */
  struct dir_time *dirs;
  size_t ndirs;
  unsigned long long bytes;
};

/* Mark `path` and its parent dirs as the tar's. */
static void seen_add(struct sync *s, const char *path) {
  for (size_t n = strlen(path); n > 0 && !pset_has(&s->seen, path, n);) {
    pset_add(&s->seen, path, n);
    while (n > 0 && path[n - 1] != '/')
      n--;
    if (n > 0)
      n--; /* the separator */
  }
}

static void sync_free(struct sync *s) {
  pset_free(&s->seen);
  for (size_t i = 0; i < s->ndirs; i++)
    free(s->dirs[i].path);
  free(s->dirs);
  free(s->pdir);
  if (s->pfd >= 0)
    close(s->pfd);
}

/* Remove `name` in dfd, a whole tree if it is a dir (never crossing into
 * another filesystem: a build never mounts anything in its context). */
static int rm_tree_at(int dfd, const char *name) {
  if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT)
    return 0;
  if (errno != EISDIR && errno != EPERM)
    return -errno;
  int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  DIR *d = fdopendir(fd);
  if (!d) {
    close(fd);
    return -errno;
  }
  int r = 0;
  for (struct dirent *de; r == 0 && (de = readdir(d));)
    if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
      r = rm_tree_at(dirfd(d), de->d_name);
  closedir(d);
  if (r == 0 && unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
    r = -errno;
  return r;
}

/* A warm dir may hold a file or a symlink where this tar's entry needs a
 * parent dir: each component of `dir` that the tar did not make (not in
 * seen) and is not a dir is removed, so bfs_mkdir_in_root makes a real dir
 * there and nothing is written through a stale symlink. */
static void clear_stale_parents(struct sync *s, const char *dir) {
  for (size_t n = 0;; n++) {
    if (dir[n] != '/' && dir[n] != '\0')
      continue;
    if (!pset_has(&s->seen, dir, n)) {
      size_t b = n;
      while (b > 0 && dir[b - 1] != '/')
        b--;
      _cleanup_free_ char *up = strndup(dir, b ? b - 1 : 0);
      _cleanup_free_ char *name = strndup(dir + b, n - b);
      _cleanup_close_ int fd = fs_open_in_root(s->root, up, O_RDONLY | O_DIRECTORY, 0);
      struct stat st;
      if (fd >= 0 && fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode))
        unlinkat(fd, name, 0);
    }
    if (dir[n] == '\0')
      return;
  }
}

/* The fd of the entry's parent dir (made, 0755 root, when missing); *base
 * points into `path`. */
static int parent_of(struct sync *s, const char *path, const char **base) {
  const char *slash = strrchr(path, '/');
  *base = slash ? slash + 1 : path;
  size_t dl = slash ? (size_t)(slash - path) : 0;
  if (s->pfd >= 0 && strlen(s->pdir) == dl && !strncmp(s->pdir, path, dl))
    return s->pfd;
  if (s->pfd >= 0)
    close(s->pfd);
  free(s->pdir);
  s->pdir = strndup(path, dl);
  if (dl > 0)
    clear_stale_parents(s, s->pdir);
  s->pfd = dl > 0 ? bfs_mkdir_in_root(s->root, s->pdir, 0, 0) : fs_open_in_root(s->root, ".", O_RDONLY | O_DIRECTORY, 0);
  if (s->pfd < 0) {
    int e = s->pfd;
    free(s->pdir);
    s->pdir = NULL;
    return e;
  }
  return s->pfd;
}

/* Compare the entry's data with the existing file `fd` while reading it;
 * from the first difference on, write instead. *changed: something was
 * written. */
static int sync_data(struct sync *s, struct archive *a, int fd, const char *path, bool *changed) {
  const void *buf;
  size_t len;
  la_int64_t off;
  int ar;
  char cmp[65536];
  while ((ar = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK) {
    s->bytes += len;
    const char *p = buf;
    size_t done = 0;
    while (!*changed && done < len) {
      size_t n = len - done < sizeof cmp ? len - done : sizeof cmp;
      ssize_t k = pread(fd, cmp, n, off + (off_t)done);
      if (k != (ssize_t)n || memcmp(cmp, p + done, n) != 0)
        *changed = true;
      else
        done += n;
    }
    if (*changed && done < len && pwrite(fd, p + done, len - done, off + (off_t)done) != (ssize_t)(len - done))
      return berr_sys(s->err, errno, "write %s", path);
  }
  if (ar != ARCHIVE_EOF)
    return berr_set(s->err, EIO, "read archive entry %s: %s", path, archive_error_string(a));
  return 0;
}

/* A regular file: kept when equal, else rewritten (in place when it has one
 * link and the same size, else made anew). */
static int sync_file(struct sync *s, struct archive *a, struct archive_entry *e, int pfd, const char *base,
                     const char *path, const struct stat *old) {
  la_int64_t size = archive_entry_size(e);
  /* sparse entries are written anew: their holes are not compared */
  bool reuse = old && S_ISREG(old->st_mode) && old->st_nlink == 1 && old->st_size == size &&
               archive_entry_sparse_count(e) == 0;
  if (old && !reuse) {
    int r = rm_tree_at(pfd, base);
    if (r < 0)
      return berr_sys(s->err, -r, "replace %s", path);
  }
  _cleanup_close_ int fd = reuse ? openat(pfd, base, O_RDWR | O_NOFOLLOW | O_CLOEXEC)
                                 : openat(pfd, base, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                                          archive_entry_perm(e) & 0777); /* sync_attrs fixes what umask took */
  if (fd < 0)
    return berr_sys(s->err, errno, "create %s", path);
  bool changed = !reuse;
  int r = sync_data(s, a, fd, path, &changed);
  if (r == 0 && !reuse && ftruncate(fd, size) < 0) /* a sparse tail */
    r = berr_sys(s->err, errno, "write %s", path);
  return r;
}

/* A symlink: kept when it points to the same target. */
static int sync_symlink(struct sync *s, struct archive_entry *e, int pfd, const char *base, const char *path,
                        const struct stat *old) {
  const char *target = archive_entry_symlink(e);
  if (!target)
    target = "";
  if (old && S_ISLNK(old->st_mode) && (size_t)old->st_size == strlen(target)) {
    char cur[4096];
    ssize_t n = readlinkat(pfd, base, cur, sizeof cur);
    if (n >= 0 && (size_t)n == strlen(target) && !memcmp(cur, target, (size_t)n))
      return 0;
  }
  int r = old ? rm_tree_at(pfd, base) : 0;
  if (r < 0)
    return berr_sys(s->err, -r, "replace %s", path);
  if (symlinkat(target, pfd, base) < 0)
    return berr_sys(s->err, errno, "symlink %s", path);
  return 0;
}

/* A hard link: always made anew (its target is already in place). */
static int sync_hardlink(struct sync *s, const char *hl, int pfd, const char *base, const char *path,
                         const struct stat *old) {
  bool esc = false;
  _cleanup_free_ char *hclean = path_clean(hl[0] == '/' ? hl + 1 : hl, &esc);
  if (esc)
    return 0;
  const char *slash = strrchr(hclean, '/');
  _cleanup_free_ char *hdir = slash ? strndup(hclean, (size_t)(slash - hclean)) : xstrdup(".");
  _cleanup_close_ int hfd = fs_open_in_root(s->root, hdir, O_RDONLY | O_DIRECTORY, 0);
  if (hfd < 0)
    return berr_sys(s->err, -hfd, "extract %s", hclean);
  int r = old ? rm_tree_at(pfd, base) : 0;
  if (r < 0)
    return berr_sys(s->err, -r, "replace %s", path);
  if (linkat(hfd, slash ? slash + 1 : hclean, pfd, base, 0) < 0)
    return berr_sys(s->err, errno, "link %s", path);
  return 0;
}

/* Owner, mode and mtime as the tar says, touching only what differs. */
static int sync_attrs(struct sync *s, struct archive_entry *e, int pfd, const char *base, const char *path,
                      bool is_link) {
  struct stat st;
  if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return berr_sys(s->err, errno, "stat %s", path);
  uid_t uid = (uid_t)archive_entry_uid(e);
  gid_t gid = (gid_t)archive_entry_gid(e);
  mode_t mode = archive_entry_perm(e);
  if ((st.st_uid != uid || st.st_gid != gid) && fchownat(pfd, base, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
    return berr_sys(s->err, errno, "set attributes of %s", path);
  /* chown clears set-id bits: the mode goes after it */
  if (!is_link && ((st.st_mode & 07777) != mode || st.st_uid != uid || st.st_gid != gid) &&
      fchmodat(pfd, base, mode, 0) < 0)
    return berr_sys(s->err, errno, "set attributes of %s", path);
  time_t mt = archive_entry_mtime(e);
  if (st.st_mtim.tv_sec != mt || st.st_mtim.tv_nsec != 0) {
    struct timespec ts[2] = {{mt, 0}, {mt, 0}};
    utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW);
  }
  return 0;
}

static int sync_entry(struct sync *s, struct archive *a, struct archive_entry *e) {
  const char *raw = archive_entry_pathname(e);
  if (!raw)
    return 0;
  bool esc = false;
  _cleanup_free_ char *clean = path_clean(raw[0] == '/' ? raw + 1 : raw, &esc);
  if (esc || !*clean || !strcmp(clean, "."))
    return 0;
  unsigned type = archive_entry_filetype(e);
  const char *hl = archive_entry_hardlink(e);
  if (!hl && type != AE_IFDIR && type != AE_IFLNK && type != AE_IFREG)
    return 0; /* devices and fifos: not in build contexts */
  const char *base = NULL;
  int pfd = parent_of(s, clean, &base);
  if (pfd < 0)
    return berr_sys(s->err, -pfd, "extract %s", clean);
  seen_add(s, clean);
  struct stat old;
  bool exists = fstatat(pfd, base, &old, AT_SYMLINK_NOFOLLOW) == 0;
  int r;
  if (hl)
    return sync_hardlink(s, hl, pfd, base, clean, exists ? &old : NULL);
  switch (type) {
  case AE_IFDIR:
    if (exists && !S_ISDIR(old.st_mode) && unlinkat(pfd, base, 0) < 0)
      return berr_sys(s->err, errno, "replace %s", clean);
    if ((!exists || !S_ISDIR(old.st_mode)) && mkdirat(pfd, base, archive_entry_perm(e) & 0777) < 0 &&
        errno != EEXIST)
      return berr_sys(s->err, errno, "mkdir %s", clean);
    s->dirs = xrealloc(s->dirs, (s->ndirs + 1) * sizeof *s->dirs);
    s->dirs[s->ndirs++] = (struct dir_time){xstrdup(clean), archive_entry_mtime(e)};
    r = 0;
    break;
  case AE_IFLNK:
    r = sync_symlink(s, e, pfd, base, clean, exists ? &old : NULL);
    break;
  default:
    r = sync_file(s, a, e, pfd, base, clean, exists ? &old : NULL);
    break;
  }
  return r < 0 ? r : sync_attrs(s, e, pfd, base, clean, type == AE_IFLNK);
}

/* Remove what the tar did not name (what a warm dir kept from before). */
static int sweep(struct sync *s, int dfd, const char *rel) {
  int fd = openat(dfd, *rel ? rel : ".", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return berr_sys(s->err, errno, "open %s", *rel ? rel : "the context");
  DIR *d = fdopendir(fd);
  if (!d) {
    close(fd);
    return berr_sys(s->err, errno, "open %s", rel);
  }
  int r = 0;
  for (struct dirent *de; r == 0 && (de = readdir(d));) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
      continue;
    _cleanup_free_ char *p = *rel ? xasprintf("%s/%s", rel, de->d_name) : xstrdup(de->d_name);
    if (!pset_has(&s->seen, p, strlen(p))) {
      int q = rm_tree_at(dirfd(d), de->d_name);
      if (q < 0)
        r = berr_sys(s->err, -q, "remove %s", p);
    } else if (de->d_type == DT_DIR) {
      r = sweep(s, dfd, p);
    }
  }
  closedir(d);
  return r;
}

/* Directory mtimes last (children made or removed above moved them). */
static void dir_times(struct sync *s) {
  for (size_t i = s->ndirs; i-- > 0;) {
    _cleanup_close_ int fd = fs_open_in_root(s->root, s->dirs[i].path, O_RDONLY | O_DIRECTORY, 0);
    struct timespec ts[2] = {{s->dirs[i].mtime, 0}, {s->dirs[i].mtime, 0}};
    if (fd >= 0)
      futimens(fd, ts);
  }
}

static int unpack_tar(struct sync *s, struct body *b) {
  struct archive *a = reader_new();
  int r = 0;
  if (archive_read_open(a, b, NULL, body_cb, NULL) != ARCHIVE_OK) {
    r = berr_set(s->err, EIO, "unpack the build context: open archive: %s", archive_error_string(a));
    archive_read_free(a);
    return r;
  }
  struct archive_entry *e;
  int ar;
  while (r == 0 && (ar = archive_read_next_header(a, &e)) == ARCHIVE_OK)
    r = sync_entry(s, a, e);
  if (r == 0 && ar != ARCHIVE_EOF)
    r = b->rerr ? berr_sys(s->err, -b->rerr, "read the build context")
                : berr_set(s->err, EIO, "unpack the build context: read archive: %s", archive_error_string(a));
  else if (r < 0)
    berr_wrap(s->err, "unpack the build context");
  archive_read_free(a);
  return r;
}

/* Not a tar: the whole body is the Dockerfile. */
static int write_dockerfile(struct sync *s, struct body *b) {
  seen_add(s, "Dockerfile");
  int r = rm_tree_at(s->root, "Dockerfile");
  if (r < 0)
    return berr_sys(s->err, -r, "write Dockerfile");
  _cleanup_close_ int out = openat(s->root, "Dockerfile", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (out < 0)
    return berr_sys(s->err, errno, "write Dockerfile");
  const char *p = b->pre;
  ssize_t k = (ssize_t)b->prelen;
  while (k > 0) {
    if (write(out, p, (size_t)k) != k)
      return berr_sys(s->err, errno, "write Dockerfile");
    k = body_read_some(b, b->buf, sizeof b->buf);
    p = b->buf;
  }
  return k < 0 ? berr_sys(s->err, (int)-k, "read the build context") : 0;
}

int build_context_unpack(struct builder *b, ssize_t (*rd)(void *rctx, void *buf, size_t len), void *rctx,
                         char **dir, struct berr **err) {
  _cleanup_free_ char *tmp = NULL;
  int r = builder_context_claim(b, &tmp, err);
  if (r < 0)
    return r;
  struct body *body = xcalloc(1, sizeof *body);
  body->rd = rd;
  body->rctx = rctx;
  struct sync s = {.err = err, .pfd = -1};
  s.root = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  struct stat rst;
  if (s.root < 0)
    r = berr_sys(err, errno, "open %s", tmp);
  else if (fstat(s.root, &rst) == 0 && (rst.st_mode & 07777) != 0700) /* a RUN's rw bind may have changed it */
    fchmod(s.root, 0700);
  else if ((r = body_sniff(body)) < 0)
    r = berr_sys(err, -r, "read the build context");
  else if (looks_like_archive(body))
    r = unpack_tar(&s, body);
  else if (body->prelen > 0)
    r = write_dockerfile(&s, body);
  if (r == 0)
    r = sweep(&s, s.root, "");
  if (r == 0)
    dir_times(&s);
  if (s.root >= 0)
    close(s.root);
  sync_free(&s);
  free(body->pre);
  free(body);
  if (r == 0 && s.bytes > WARM_MAX_BYTES)
    builder_context_no_warm(b, &tmp);
  if (r < 0) {
    rm_rf(tmp, NULL);
    return r;
  }
  *dir = steal_ptr(tmp);
  return 0;
}
