/*
 * copy.c — COPY and ADD into a mounted rootfs (build_internal.h).
 *
 * Sources are opened inside their root (the context dir or another stage's
 * rootfs) with fs_open_in_root (openat2 RESOLVE_IN_ROOT), so a symlink in the context cannot
 * reach outside it; a lexical "../" escape is refused first with dockerd's
 * message. The destination is resolved inside the rootfs the same way
 * (Docker's FollowSymlinkInScope). Files keep their permission bits and
 * mtimes and become root-owned unless --chown; new dirs are 0755 (with the
 * --chown owner); --chmod sets files' and copied dirs' modes.
 *
 * Docker's copy rules: a file goes to DEST/<name> when DEST ends with "/" or
 * is an existing dir, else to DEST; a dir's CONTENTS go into DEST; several
 * sources need a DEST ending in "/". ADD unpacks a local tar (any
 * compression) into DEST instead of copying it.
 *
 * The description hash (history "file:<hex>") is a sha256 over each copied
 * entry's relative name, type, mode, owner and content, in sorted order:
 * stable across mtimes, so it is also the cache key of the step.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>

#include "build/build_internal.h"

int bfs_mkdir_in_root(int root_fd, const char *path, uid_t uid, gid_t gid) {
  _cleanup_free_ char *p = xstrdup(path);
  struct sbuf done = {0};
  sbuf_add(&done, "/");
  char *save = NULL;
  for (char *c = strtok_r(p, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
    if (strcmp(c, ".") == 0)
      continue;
    _cleanup_close_ int parent = fs_open_in_root(root_fd, done.s, O_RDONLY | O_DIRECTORY, 0);
    if (parent < 0) {
      sbuf_free(&done);
      return parent;
    }
    if (mkdirat(parent, c, 0755) == 0) {
      if (fchownat(parent, c, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 || fchmodat(parent, c, 0755, 0) < 0) {
        int e = -errno;
        sbuf_free(&done);
        return e;
      }
    } else if (errno != EEXIST) {
      int e = -errno;
      sbuf_free(&done);
      return e;
    }
    if (done.len > 1)
      sbuf_addc(&done, '/');
    sbuf_add(&done, c);
  }
  int fd = fs_open_in_root(root_fd, done.s, O_RDONLY | O_DIRECTORY, 0);
  sbuf_free(&done);
  return fd;
}

/* ---------- hashing ---------- */

struct copier {
  const struct bcopy_opts *o;
  EVP_MD_CTX *md;
  size_t nfiles, ndirs;
  size_t src_prefix; /* length of the current source's "dir/" prefix in rel paths */
  bool no_hash;      /* extracting an archive whose bytes were hashed whole */
  struct berr **err;
};

static void hash_rec(struct copier *c, char type, const char *rel, mode_t mode, uid_t uid, gid_t gid) {
  if (c->no_hash)
    return;
  char hdr[64];
  int n = snprintf(hdr, sizeof hdr, "%c %o %u %u ", type, (unsigned)(mode & 07777), (unsigned)uid, (unsigned)gid);
  EVP_DigestUpdate(c->md, hdr, (size_t)n);
  EVP_DigestUpdate(c->md, rel, strlen(rel) + 1);
}

static bool excluded(const struct copier *c, const char *rel) {
  /* patterns match the path in the context, or inside the source dir */
  const char *inner = strlen(rel) > c->src_prefix ? rel + c->src_prefix : rel;
  for (size_t i = 0; c->o->excludes && c->o->excludes[i]; i++)
    if (bignore_match(c->o->excludes[i], rel) || bignore_match(c->o->excludes[i], inner))
      return true;
  return false;
}

/* ---------- one entry ---------- */

static void owner_of(const struct copier *c, uid_t *uid, gid_t *gid) {
  *uid = c->o->do_chown ? c->o->uid : 0;
  *gid = c->o->do_chown ? c->o->gid : 0;
}

/* A file's bytes into the hash, and into dfd unless it is -1 (the
 * hash-only pass). */
static int digest_copy(struct copier *c, int sfd, int dfd, const char *rel) {
  char buf[65536];
  for (;;) {
    ssize_t k = read(sfd, buf, sizeof buf);
    if (k < 0 && errno == EINTR)
      continue;
    if (k < 0)
      return berr_sys(c->err, errno, "read %s", rel);
    if (k == 0)
      return 0;
    EVP_DigestUpdate(c->md, buf, (size_t)k);
    for (ssize_t off = 0; dfd >= 0 && off < k;) {
      ssize_t w = write(dfd, buf + off, (size_t)(k - off));
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0)
        return berr_sys(c->err, errno, "write %s", rel);
      off += w;
    }
  }
}

/* The hash-only pass's copy_reg: the same record and bytes, nothing written. */
static int hash_file(struct copier *c, int sfd, const char *rel, mode_t mode, uid_t uid, gid_t gid) {
  hash_rec(c, 'f', rel, mode, uid, gid);
  int r = digest_copy(c, sfd, -1, rel);
  if (r == 0)
    c->nfiles++;
  return r;
}

static int copy_reg(struct copier *c, int sfd, const struct stat *st, int dparent, const char *name, const char *rel) {
  uid_t uid;
  gid_t gid;
  owner_of(c, &uid, &gid);
  mode_t mode = c->o->do_chmod ? c->o->mode : (st->st_mode & 07777);
  if (c->o->hash_only)
    return hash_file(c, sfd, rel, mode, uid, gid);
  /* replace whatever is there (a symlink must not be followed) */
  struct stat dst;
  if (fstatat(dparent, name, &dst, AT_SYMLINK_NOFOLLOW) == 0) {
    if (S_ISDIR(dst.st_mode))
      return berr_set(c->err, EISDIR, "cannot copy to %s: it is a directory", rel);
    unlinkat(dparent, name, 0);
  }
  _cleanup_close_ int dfd = openat(dparent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (dfd < 0)
    return berr_sys(c->err, errno, "create %s", rel);
  hash_rec(c, 'f', rel, mode, uid, gid);
  int r = digest_copy(c, sfd, dfd, rel);
  if (r < 0)
    return r;
  struct timespec ts[2] = {st->st_atim, st->st_mtim};
  if (fchown(dfd, uid, gid) < 0 || fchmod(dfd, mode) < 0 || futimens(dfd, ts) < 0)
    return berr_sys(c->err, errno, "set attributes of %s", rel);
  c->nfiles++;
  return 0;
}

static int copy_symlink(struct copier *c, int sdir, const char *sname, int dparent, const char *name,
                        const struct stat *st, const char *rel) {
  char target[4096];
  ssize_t n = readlinkat(sdir, sname, target, sizeof target - 1);
  if (n < 0)
    return berr_sys(c->err, errno, "readlink %s", rel);
  target[n] = '\0';
  uid_t uid;
  gid_t gid;
  owner_of(c, &uid, &gid);
  if (c->o->hash_only) {
    hash_rec(c, 'l', rel, 0777, uid, gid);
    EVP_DigestUpdate(c->md, target, (size_t)n);
    c->nfiles++;
    return 0;
  }
  struct stat dst;
  if (fstatat(dparent, name, &dst, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(dst.st_mode))
    unlinkat(dparent, name, 0);
  if (symlinkat(target, dparent, name) < 0)
    return berr_sys(c->err, errno, "symlink %s", rel);
  hash_rec(c, 'l', rel, 0777, uid, gid);
  EVP_DigestUpdate(c->md, target, (size_t)n);
  struct timespec ts[2] = {st->st_atim, st->st_mtim};
  if (fchownat(dparent, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 ||
      utimensat(dparent, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
    return berr_sys(c->err, errno, "set attributes of %s", rel);
  c->nfiles++;
  return 0;
}

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int copy_dir_contents(struct copier *c, int sdir, int ddir, const char *rel);

/* Copy entry `sname` of dir `sdir` to `name` in `ddir`. */
static int copy_entry(struct copier *c, int sdir, const char *sname, int ddir, const char *name, const char *rel) {
  struct stat st;
  if (fstatat(sdir, sname, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return berr_sys(c->err, errno, "stat %s", rel);
  if (S_ISLNK(st.st_mode))
    return copy_symlink(c, sdir, sname, ddir, name, &st, rel);
  if (S_ISREG(st.st_mode)) {
    _cleanup_close_ int sfd = openat(sdir, sname, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (sfd < 0)
      return berr_sys(c->err, errno, "open %s", rel);
    return copy_reg(c, sfd, &st, ddir, name, rel);
  }
  if (!S_ISDIR(st.st_mode))
    return 0; /* devices, fifos, sockets in a context: skipped */
  uid_t uid;
  gid_t gid;
  owner_of(c, &uid, &gid);
  mode_t mode = c->o->do_chmod ? c->o->mode : (st.st_mode & 07777);
  if (c->o->hash_only) {
    _cleanup_close_ int s2 = openat(sdir, sname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (s2 < 0)
      return berr_sys(c->err, errno, "open dir %s", rel);
    hash_rec(c, 'd', rel, mode, uid, gid);
    c->ndirs++;
    return copy_dir_contents(c, s2, -1, rel);
  }
  struct stat dst;
  if (fstatat(ddir, name, &dst, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(dst.st_mode))
    unlinkat(ddir, name, 0);
  if (mkdirat(ddir, name, mode) < 0 && errno != EEXIST)
    return berr_sys(c->err, errno, "mkdir %s", rel);
  _cleanup_close_ int s2 = openat(sdir, sname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  _cleanup_close_ int d2 = openat(ddir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (s2 < 0 || d2 < 0)
    return berr_sys(c->err, errno, "open dir %s", rel);
  hash_rec(c, 'd', rel, mode, uid, gid);
  int r = copy_dir_contents(c, s2, d2, rel);
  if (r < 0)
    return r;
  struct timespec ts[2] = {st.st_atim, st.st_mtim};
  if (fchown(d2, uid, gid) < 0 || fchmod(d2, mode) < 0 || futimens(d2, ts) < 0)
    return berr_sys(c->err, errno, "set attributes of %s", rel);
  c->ndirs++;
  return 0;
}

static int copy_dir_contents(struct copier *c, int sdir, int ddir, const char *rel) {
  int dup_fd = dup(sdir);
  if (dup_fd < 0)
    return berr_sys(c->err, errno, "dup");
  _cleanup_closedir_ DIR *d = fdopendir(dup_fd);
  if (!d) {
    close(dup_fd);
    return berr_sys(c->err, errno, "opendir %s", rel);
  }
  _cleanup_strv_ char **names = xcalloc(1, sizeof(char *));
  struct dirent *de;
  while ((de = readdir(d)))
    if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
      names = strv_append(names, xstrdup(de->d_name));
  qsort(names, strv_len(names), sizeof(char *), cmp_names);
  for (size_t i = 0; names[i]; i++) {
    _cleanup_free_ char *r2 = *rel ? xasprintf("%s/%s", rel, names[i]) : xstrdup(names[i]);
    if (excluded(c, r2))
      continue;
    int r = copy_entry(c, sdir, names[i], ddir, names[i], r2);
    if (r < 0)
      return r;
  }
  return 0;
}

/* ---------- ADD: local archives ---------- */

/* Is the file a tar (any compression libarchive knows)? */
static bool is_archive(int fd) {
  struct archive *a = archive_read_new();
  archive_read_support_filter_gzip(a);
  archive_read_support_filter_bzip2(a);
  archive_read_support_filter_xz(a);
  archive_read_support_filter_zstd(a);
  archive_read_support_format_tar(a);
  archive_read_support_format_gnutar(a);
  struct archive_entry *e;
  bool ok = archive_read_open_fd(a, fd, 65536) == ARCHIVE_OK && archive_read_next_header(a, &e) == ARCHIVE_OK;
  archive_read_free(a);
  lseek(fd, 0, SEEK_SET);
  return ok;
}

/* Split a cleaned relative path into its parent dir fd (created) and base. */
static int entry_parent(int root, const char *path, char **base) {
  const char *slash = strrchr(path, '/');
  *base = xstrdup(slash ? slash + 1 : path);
  if (!slash)
    return fs_open_in_root(root, ".", O_RDONLY | O_DIRECTORY, 0);
  _cleanup_free_ char *dir = strndup(path, (size_t)(slash - path));
  return bfs_mkdir_in_root(root, dir, 0, 0);
}

static int extract_one(struct copier *c, struct archive *a, struct archive_entry *e, int root) {
  bool esc = false;
  const char *raw = archive_entry_pathname(e);
  if (!raw)
    return 0;
  _cleanup_free_ char *clean = path_clean(raw[0] == '/' ? raw + 1 : raw, &esc);
  if (esc || !*clean || strcmp(clean, ".") == 0)
    return 0; /* ".." entries are dropped, as Docker's breakout check refuses them */
  _cleanup_free_ char *base = NULL;
  _cleanup_close_ int pfd = entry_parent(root, clean, &base);
  if (pfd < 0)
    return berr_sys(c->err, -pfd, "extract %s", clean);
  mode_t mode = archive_entry_perm(e);
  uid_t uid = (uid_t)archive_entry_uid(e);
  gid_t gid = (gid_t)archive_entry_gid(e);
  struct stat dst;
  bool exists = fstatat(pfd, base, &dst, AT_SYMLINK_NOFOLLOW) == 0;
  hash_rec(c, 'a', clean, mode, uid, gid);
  const char *hl = archive_entry_hardlink(e);
  if (hl) {
    _cleanup_free_ char *hclean = path_clean(hl[0] == '/' ? hl + 1 : hl, &esc);
    if (esc)
      return 0;
    _cleanup_free_ char *hbase = NULL;
    _cleanup_close_ int hfd = entry_parent(root, hclean, &hbase);
    if (hfd < 0)
      return berr_sys(c->err, -hfd, "extract %s", hclean);
    if (exists && !S_ISDIR(dst.st_mode))
      unlinkat(pfd, base, 0);
    if (linkat(hfd, hbase, pfd, base, 0) < 0)
      return berr_sys(c->err, errno, "link %s", clean);
    return 0;
  }
  switch (archive_entry_filetype(e)) {
  case AE_IFDIR:
    if (exists && !S_ISDIR(dst.st_mode))
      unlinkat(pfd, base, 0);
    if (mkdirat(pfd, base, mode) < 0 && errno != EEXIST)
      return berr_sys(c->err, errno, "mkdir %s", clean);
    break;
  case AE_IFLNK:
    if (exists && !S_ISDIR(dst.st_mode))
      unlinkat(pfd, base, 0);
    if (symlinkat(archive_entry_symlink(e), pfd, base) < 0)
      return berr_sys(c->err, errno, "symlink %s", clean);
    break;
  case AE_IFREG: {
    if (exists && !S_ISDIR(dst.st_mode))
      unlinkat(pfd, base, 0);
    _cleanup_close_ int fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
      return berr_sys(c->err, errno, "create %s", clean);
    const void *buf;
    size_t len;
    la_int64_t off;
    int ar;
    while ((ar = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK) {
      if (!c->no_hash)
        EVP_DigestUpdate(c->md, buf, len);
      if (pwrite(fd, buf, len, off) != (ssize_t)len)
        return berr_sys(c->err, errno, "write %s", clean);
    }
    if (ar != ARCHIVE_EOF)
      return berr_set(c->err, EIO, "read archive entry %s: %s", clean, archive_error_string(a));
    break;
  }
  default:
    return 0; /* devices and fifos: not in build contexts */
  }
  if (fchownat(pfd, base, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 ||
      (archive_entry_filetype(e) != AE_IFLNK && fchmodat(pfd, base, mode, 0) < 0))
    return berr_sys(c->err, errno, "set attributes of %s", clean);
  struct timespec ts[2] = {{archive_entry_mtime(e), 0}, {archive_entry_mtime(e), 0}};
  utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW);
  c->nfiles++;
  return 0;
}

static int extract_archive(struct copier *c, int sfd, int ddir) {
  struct archive *a = archive_read_new();
  archive_read_support_filter_gzip(a);
  archive_read_support_filter_bzip2(a);
  archive_read_support_filter_xz(a);
  archive_read_support_filter_zstd(a);
  archive_read_support_format_tar(a);
  archive_read_support_format_gnutar(a);
  int r = 0;
  if (archive_read_open_fd(a, sfd, 65536) != ARCHIVE_OK) {
    r = berr_set(c->err, EIO, "open archive: %s", archive_error_string(a));
    archive_read_free(a);
    return r;
  }
  struct archive_entry *e;
  int ar;
  while (r == 0 && (ar = archive_read_next_header(a, &e)) == ARCHIVE_OK)
    r = extract_one(c, a, e, ddir);
  if (r == 0 && ar != ARCHIVE_EOF)
    r = berr_set(c->err, EIO, "read archive: %s", archive_error_string(a));
  archive_read_free(a);
  return r;
}

int bfs_extract_fd(int fd, int root_fd, struct berr **err) {
  struct bcopy_opts o = {.cmd = "extract"};
  struct copier c = {.o = &o, .err = err, .md = EVP_MD_CTX_new()};
  EVP_DigestInit_ex(c.md, EVP_sha256(), NULL);
  int r = extract_archive(&c, fd, root_fd);
  EVP_MD_CTX_free(c.md);
  return r;
}

/* ---------- sources ---------- */

static bool has_wildcard(const char *s) { return strpbrk(s, "*?[") != NULL; }

/* Expand one source into relative paths (wildcards match within the root). */
static int expand_source(struct copier *c, const char *src, char ***out) {
  bool esc = false;
  _cleanup_free_ char *clean = path_clean(src, &esc);
  const char *what = c->o->src_is_context ? "build context" : "source";
  (void)what;
  if (esc)
    return berr_set(c->err, EINVAL, "%s failed: forbidden path outside the build context: %s ()", c->o->cmd, src);
  const char *rel = clean;
  while (*rel == '/')
    rel++;
  if (!*rel)
    rel = ".";
  if (!has_wildcard(rel)) {
    *out = strv_append(*out, xstrdup(rel));
    return 0;
  }
  /* wildcard in the last component (the common case) */
  const char *slash = strrchr(rel, '/');
  _cleanup_free_ char *dir = slash ? strndup(rel, (size_t)(slash - rel)) : xstrdup(".");
  const char *pat = slash ? slash + 1 : rel;
  if (has_wildcard(dir))
    return berr_set(c->err, ENOTSUP, "%s failed: wildcards are only supported in the last path component: %s",
                    c->o->cmd, src);
  int dfd = fs_open_in_root(c->o->src_root, dir, O_RDONLY | O_DIRECTORY, 0);
  if (dfd < 0)
    return 0;
  _cleanup_closedir_ DIR *d = fdopendir(dfd);
  if (!d) {
    close(dfd);
    return 0;
  }
  _cleanup_strv_ char **names = xcalloc(1, sizeof(char *));
  struct dirent *de;
  while ((de = readdir(d)))
    if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && bignore_match(pat, de->d_name))
      names = strv_append(names, xstrdup(de->d_name));
  qsort(names, strv_len(names), sizeof(char *), cmp_names);
  for (size_t i = 0; names[i]; i++)
    *out = strv_append(*out, strcmp(dir, ".") ? xasprintf("%s/%s", dir, names[i]) : xstrdup(names[i]));
  return 0;
}

static const char *base_name(const char *p) {
  const char *s = strrchr(p, '/');
  return s ? s + 1 : p;
}

static int copy_one_source(struct copier *c, const char *rel, bool dest_dir) {
  const struct bcopy_opts *o = c->o;
  int sfd = fs_open_in_root(o->src_root, rel, O_RDONLY, 0);
  if (sfd < 0) {
    if ((sfd == -ENOENT || sfd == -ENOTDIR || sfd == -ELOOP) && !o->src_is_context)
      return berr_set(c->err, ENOENT, "%s failed: stat %s: file does not exist", o->cmd, rel);
    if (sfd == -ENOENT || sfd == -ENOTDIR || sfd == -ELOOP)
      return berr_set(c->err, ENOENT,
                      "%s failed: file not found in build context or excluded by .dockerignore: stat %s: file does not exist",
                      o->cmd, rel);
    return berr_sys(c->err, -sfd, "%s failed: open %s", o->cmd, rel);
  }
  _cleanup_close_ int sfd_c = sfd;
  struct stat st;
  if (fstat(sfd, &st) < 0)
    return berr_sys(c->err, errno, "stat %s", rel);
  /* --parents: the source's own directories are kept under DEST */
  _cleanup_free_ char *dpath = NULL;
  _cleanup_free_ char *parent_rel = NULL;
  if (o->parents && strcmp(rel, ".") != 0) {
    const char *sl = strrchr(rel, '/');
    parent_rel = sl ? strndup(rel, (size_t)(sl - rel)) : NULL;
  }
  _cleanup_free_ char *dest_base =
      parent_rel ? xasprintf("%s/%s", o->dest, parent_rel) : xstrdup(o->dest);
  c->src_prefix = strcmp(rel, ".") ? strlen(rel) + 1 : 0;
  if (S_ISDIR(st.st_mode)) {
    _cleanup_close_ int dd = o->hash_only ? -1
                                          : bfs_mkdir_in_root(o->dst_root, dest_base, o->do_chown ? o->uid : 0,
                                                              o->do_chown ? o->gid : 0);
    if (dd < 0 && !o->hash_only)
      return berr_sys(c->err, -dd, "%s failed: mkdir %s", o->cmd, dest_base);
    hash_rec(c, 'D', rel, st.st_mode, 0, 0);
    if (parent_rel || o->parents) {
      /* with --parents a dir source keeps its own name */
      if (o->parents && strcmp(rel, ".") != 0)
        return copy_entry(c, sfd, ".", dd, base_name(rel), rel);
    }
    return copy_dir_contents(c, sfd, dd, strcmp(rel, ".") == 0 ? "" : rel);
  }
  if (o->extract && S_ISREG(st.st_mode) && is_archive(sfd)) {
    _cleanup_close_ int dd = o->hash_only ? -1 : bfs_mkdir_in_root(o->dst_root, dest_base, 0, 0);
    if (dd < 0 && !o->hash_only)
      return berr_sys(c->err, -dd, "%s failed: mkdir %s", o->cmd, dest_base);
    /* the archive's bytes are the step's content (as dockerd's "file:" hash) */
    hash_rec(c, 'A', rel, st.st_mode, 0, 0);
    char buf[65536];
    ssize_t k;
    while ((k = read(sfd, buf, sizeof buf)) > 0)
      EVP_DigestUpdate(c->md, buf, (size_t)k);
    if (o->hash_only)
      return 0;
    lseek(sfd, 0, SEEK_SET);
    c->no_hash = true;
    int r = extract_archive(c, sfd, dd);
    c->no_hash = false;
    return r;
  }
  if (o->hash_only)
    return S_ISREG(st.st_mode) ? copy_reg(c, sfd, &st, -1, base_name(rel), rel) : 0;
  /* a file: into DEST/ when DEST is a dir, else DEST itself */
  bool into = dest_dir || parent_rel;
  if (!into) {
    _cleanup_close_ int probe = fs_open_in_root(o->dst_root, dest_base, O_RDONLY | O_DIRECTORY, 0);
    into = probe >= 0;
  }
  _cleanup_free_ char *target = into ? xasprintf("%s/%s", dest_base, base_name(rel)) : xstrdup(dest_base);
  bool esc = false;
  _cleanup_free_ char *tclean = path_clean(target, &esc);
  const char *sl = strrchr(tclean, '/');
  _cleanup_free_ char *tdir = sl && sl != tclean ? strndup(tclean, (size_t)(sl - tclean)) : xstrdup("/");
  _cleanup_close_ int dd = bfs_mkdir_in_root(o->dst_root, tdir, o->do_chown ? o->uid : 0, o->do_chown ? o->gid : 0);
  if (dd < 0)
    return berr_sys(c->err, -dd, "%s failed: mkdir %s", o->cmd, tdir);
  if (S_ISLNK(st.st_mode)) /* not reached: open follows in-root links */
    return 0;
  return copy_reg(c, sfd, &st, dd, base_name(tclean), rel);
}

int bcopy_run(const struct bcopy_opts *o, char **desc, struct berr **err) {
  struct copier c = {.o = o, .err = err};
  _cleanup_strv_ char **srcs = xcalloc(1, sizeof(char *));
  int r = 0;
  for (size_t i = 0; r == 0 && o->srcs[i]; i++)
    r = expand_source(&c, o->srcs[i], &srcs);
  if (r < 0)
    return r;
  if (!srcs[0])
    return berr_set(err, ENOENT, "%s failed: no source files were specified", o->cmd);
  bool multi = strv_len(srcs) > 1;
  if (multi && !o->dest_is_dir)
    return berr_set(err, EINVAL,
                    "When using %s with more than one source file, the destination must be a directory and end with a /",
                    o->cmd);
  c.md = EVP_MD_CTX_new();
  EVP_DigestInit_ex(c.md, EVP_sha256(), NULL);
  bool any_dir = false;
  for (size_t i = 0; r == 0 && srcs[i]; i++) {
    struct stat st;
    int fd = fs_open_in_root(o->src_root, srcs[i], O_RDONLY, 0);
    if (fd >= 0) {
      if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
        any_dir = true;
      close(fd);
    }
    r = copy_one_source(&c, srcs[i], o->dest_is_dir || multi);
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned mdlen = 0;
  EVP_DigestFinal_ex(c.md, md, &mdlen);
  EVP_MD_CTX_free(c.md);
  if (r < 0)
    return r;
  char hex[2 * EVP_MAX_MD_SIZE + 1];
  for (unsigned i = 0; i < mdlen; i++)
    snprintf(hex + 2 * i, 3, "%02x", md[i]);
  *desc = xasprintf("%s:%s", multi ? "multi" : any_dir ? "dir" : "file", hex);
  return 0;
}

/* ---------- --chown ---------- */

/* Look `name` up in an /etc/passwd-style file of the rootfs: field 3 (id). */
static int lookup_id(int root_fd, const char *file, const char *name, int64_t *id) {
  int fd = fs_open_in_root(root_fd, file, O_RDONLY, 0);
  if (fd < 0)
    return -ENOENT;
  _cleanup_fclose_ FILE *f = fdopen(fd, "r");
  if (!f) {
    close(fd);
    return -ENOENT;
  }
  char line[1024];
  size_t nl = strlen(name);
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, name, nl) == 0 && line[nl] == ':') {
      char *p = strchr(line + nl + 1, ':');
      if (p && parse_int64(strtok(p + 1, ":\n"), id) == 0)
        return 0;
    }
  }
  return -ENOENT;
}

int bchown_parse(const char *spec, int root_fd, uid_t *uid, gid_t *gid, struct berr **err) {
  _cleanup_free_ char *s = xstrdup(spec);
  char *colon = strchr(s, ':');
  if (colon)
    *colon = '\0';
  const char *u = s, *g = colon ? colon + 1 : NULL;
  int64_t v;
  if (parse_int64(u, &v) == 0 && v >= 0)
    *uid = (uid_t)v;
  else if (lookup_id(root_fd, "/etc/passwd", u, &v) == 0)
    *uid = (uid_t)v;
  else
    return berr_set(err, EINVAL, "unable to convert uid/gid chown string to host mapping: can't find uid for user %s: no such user: %s",
                    u, u);
  if (!g || !*g) {
    *gid = (gid_t)*uid;
    /* Docker: a user name without group takes the user's primary group */
    if (parse_int64(u, &v) != 0) {
      int fd = fs_open_in_root(root_fd, "/etc/passwd", O_RDONLY, 0);
      _cleanup_fclose_ FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
      char line[1024];
      size_t nl = strlen(u);
      while (f && fgets(line, sizeof line, f))
        if (strncmp(line, u, nl) == 0 && line[nl] == ':') {
          char *save = NULL;
          strtok_r(line, ":", &save);
          strtok_r(NULL, ":", &save);
          strtok_r(NULL, ":", &save);
          char *gs = strtok_r(NULL, ":", &save);
          if (gs && parse_int64(gs, &v) == 0)
            *gid = (gid_t)v;
        }
    }
    return 0;
  }
  if (parse_int64(g, &v) == 0 && v >= 0)
    *gid = (gid_t)v;
  else if (lookup_id(root_fd, "/etc/group", g, &v) == 0)
    *gid = (gid_t)v;
  else
    return berr_set(err, EINVAL, "unable to convert uid/gid chown string to host mapping: can't find gid for group %s: no such group: %s",
                    g, g);
  return 0;
}
