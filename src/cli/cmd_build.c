/*
 * cmd_build.c — the berth CLI's build commands: build (= image build,
 * builder build) and builder prune.
 *
 * build packs the context as the docker CLI's classic builder does: a tar
 * of the context dir (entries owned 0:0, modes and mtimes kept) without what
 * .dockerignore excludes — but the Dockerfile and .dockerignore always go; a
 * Dockerfile outside the context, or from stdin (-f -), is added under a
 * random ".dockerfile.<hex>" name. PATH "-" reads a tar context (or a bare
 * Dockerfile) from stdin. The tar is built in memory and POSTed to /build
 * with Docker's query parameters; the JSON stream is printed like
 * jsonmessage (Step lines, " ---> id", errors), -q prints the aux image ID.
 *
 * --secret: each secret is read here (secrets.c) and sent before the
 * context, its length in X-Berth-Build-Secrets; buffers that held it are
 * wiped. -o: the result's filesystem, from `export` of a container made
 * from the image (created, exported, removed), as a tar or unpacked into a
 * directory with in-root resolution.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "build/build.h"
#include "cli/cli.h"

/* ---------- the context tar, in memory ---------- */

struct tarbuf {
  struct sb b;
};

static la_ssize_t tb_write(struct archive *a, void *ctx, const void *buf, size_t len) {
  (void)a;
  sb_addn(&((struct tarbuf *)ctx)->b, buf, len);
  return (la_ssize_t)len;
}

struct packer {
  struct archive *a;
  struct bignore ig;
  const char *root;      /* the context dir */
  const char *keep[2];   /* always sent: the Dockerfile (relative) and .dockerignore */
  struct berr **err;
};

static bool kept(const struct packer *p, const char *rel) {
  for (size_t i = 0; i < 2; i++)
    if (p->keep[i] && !strcmp(p->keep[i], rel))
      return true;
  return false;
}

static int add_entry(struct packer *p, const char *abs, const char *rel, const struct stat *st) {
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, rel);
  archive_entry_set_mode(e, st->st_mode);
  archive_entry_set_uid(e, 0);
  archive_entry_set_gid(e, 0);
  archive_entry_set_mtime(e, st->st_mtim.tv_sec, 0);
  int r = 0;
  if (S_ISLNK(st->st_mode)) {
    char target[PATH_MAX];
    ssize_t n = readlink(abs, target, sizeof target - 1);
    if (n < 0) {
      archive_entry_free(e);
      return berr_sys(p->err, errno, "readlink %s", abs);
    }
    target[n] = '\0';
    archive_entry_set_symlink(e, target);
    archive_entry_set_size(e, 0);
  } else if (S_ISREG(st->st_mode)) {
    archive_entry_set_size(e, st->st_size);
  } else {
    archive_entry_set_size(e, 0);
  }
  if (archive_write_header(p->a, e) != ARCHIVE_OK)
    r = berr_set(p->err, EIO, "tar %s: %s", rel, archive_error_string(p->a));
  if (r == 0 && S_ISREG(st->st_mode)) {
    _cleanup_close_ int fd = open(abs, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      r = berr_sys(p->err, errno, "open %s", abs);
    char buf[65536];
    ssize_t k;
    while (r == 0 && (k = read(fd, buf, sizeof buf)) > 0)
      if (archive_write_data(p->a, buf, (size_t)k) < 0)
        r = berr_set(p->err, EIO, "tar %s: %s", rel, archive_error_string(p->a));
  }
  archive_entry_free(e);
  return r;
}

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int walk(struct packer *p, const char *rel) {
  _cleanup_free_ char *abs = *rel ? xasprintf("%s/%s", p->root, rel) : xstrdup(p->root);
  _cleanup_closedir_ DIR *d = opendir(abs);
  if (!d)
    return berr_sys(p->err, errno, "open %s", abs);
  _cleanup_strv_ char **names = xcalloc(1, sizeof(char *));
  struct dirent *de;
  while ((de = readdir(d)))
    if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
      names = strv_append(names, xstrdup(de->d_name));
  qsort(names, strv_len(names), sizeof(char *), cmp_names);
  for (size_t i = 0; names[i]; i++) {
    _cleanup_free_ char *r2 = *rel ? xasprintf("%s/%s", rel, names[i]) : xstrdup(names[i]);
    _cleanup_free_ char *a2 = xasprintf("%s/%s", p->root, r2);
    struct stat st;
    if (lstat(a2, &st) < 0)
      return berr_sys(p->err, errno, "lstat %s", a2);
    bool ex = bignore_excluded(&p->ig, r2) && !kept(p, r2);
    if (ex && !(S_ISDIR(st.st_mode) && bignore_has_exceptions(&p->ig)))
      continue;
    int r = ex ? 0 : add_entry(p, a2, r2, &st);
    if (r == 0 && S_ISDIR(st.st_mode))
      r = walk(p, r2);
    if (r < 0)
      return r;
  }
  return 0;
}

static int add_blob(struct archive *a, const char *name, const char *data, size_t len, struct berr **err) {
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, name);
  archive_entry_set_mode(e, S_IFREG | 0644);
  archive_entry_set_size(e, (la_int64_t)len);
  archive_entry_set_mtime(e, time(NULL), 0);
  int r = 0;
  if (archive_write_header(a, e) != ARCHIVE_OK || archive_write_data(a, data, len) < 0)
    r = berr_set(err, EIO, "tar %s: %s", name, archive_error_string(a));
  archive_entry_free(e);
  return r;
}

static struct archive *tar_new(struct tarbuf *tb) {
  struct archive *a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_set_bytes_in_last_block(a, 1);
  archive_write_open(a, tb, NULL, tb_write, NULL);
  return a;
}

static char *random_dockerfile_name(void) {
  unsigned char r[6] = {0};
  if (getrandom(r, sizeof r, 0) < 0)
    memset(r, 0x5a, sizeof r);
  return xasprintf(".dockerfile.%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5]);
}

static int read_all_fd(int fd, struct sb *out, struct berr **err) {
  char buf[65536];
  for (;;) {
    ssize_t k = read(fd, buf, sizeof buf);
    if (k < 0 && errno == EINTR)
      continue;
    if (k < 0)
      return berr_sys(err, errno, "read stdin");
    if (k == 0)
      return 0;
    sb_addn(out, buf, (size_t)k);
  }
}

static bool is_tar_or_compressed(const char *s, size_t n) {
  const unsigned char *u = (const unsigned char *)s;
  if (n >= 262 && !memcmp(s + 257, "ustar", 5))
    return true;
  if (n >= 2 && u[0] == 0x1f && u[1] == 0x8b)
    return true;
  if (n >= 3 && !memcmp(s, "BZh", 3))
    return true;
  if (n >= 6 && !memcmp(s, "\xfd" "7zXZ\0", 6))
    return true;
  return n >= 4 && !memcmp(s, "\x28\xb5\x2f\xfd", 4);
}

/* The context tar (*tb) and the Dockerfile's name in it (*dfname). */
static int make_context(const char *path, const char *file, struct tarbuf *tb, char **dfname, struct berr **err) {
  if (!strcmp(path, "-")) {
    if (file && !strcmp(file, "-"))
      return berr_set(err, EINVAL, "invalid argument: can't use stdin for both build context and dockerfile");
    struct sb in = {0};
    int r = read_all_fd(STDIN_FILENO, &in, err);
    if (r < 0) {
      sb_free(&in);
      return r;
    }
    if (is_tar_or_compressed(in.s ? in.s : "", in.len)) {
      tb->b = in;
      *dfname = xstrdup(file ? file : "Dockerfile");
      return 0;
    }
    struct archive *a = tar_new(tb);
    *dfname = xstrdup("Dockerfile");
    r = add_blob(a, *dfname, in.s ? in.s : "", in.len, err);
    archive_write_close(a);
    archive_write_free(a);
    sb_free(&in);
    return r;
  }
  if (str_has_prefix(path, "http://") || str_has_prefix(path, "https://") || str_has_prefix(path, "git@") ||
      str_has_prefix(path, "git://"))
    return berr_set(err, ENOTSUP, "unable to prepare context: remote contexts (%s) are not supported", path);
  struct stat st;
  if (stat(path, &st) < 0)
    return berr_set(err, ENOENT, "unable to prepare context: path \"%s\" not found", path);
  if (!S_ISDIR(st.st_mode))
    return berr_set(err, EINVAL, "unable to prepare context: context must be a directory: %s", path);
  char root[PATH_MAX];
  if (!realpath(path, root))
    return berr_sys(err, errno, "unable to prepare context: %s", path);
  /* the Dockerfile: inside the context (sent by its relative name), outside
   * or on stdin (added under a random name) */
  _cleanup_free_ char *stdin_df = NULL;
  _cleanup_free_ char *outside = NULL;
  struct sb sdf = {0};
  if (file && !strcmp(file, "-")) {
    int r = read_all_fd(STDIN_FILENO, &sdf, err);
    if (r < 0) {
      sb_free(&sdf);
      return r;
    }
    *dfname = random_dockerfile_name();
    stdin_df = xstrdup(*dfname);
  } else {
    _cleanup_free_ char *dfp = file ? xstrdup(file) : xasprintf("%s/Dockerfile", root);
    char real[PATH_MAX];
    if (!realpath(dfp, real))
      return berr_set(err, ENOENT,
                      "unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat %s: no such file or directory",
                      dfp);
    size_t rl = strlen(root);
    if (!strncmp(real, root, rl) && real[rl] == '/') {
      *dfname = xstrdup(real + rl + 1);
    } else {
      *dfname = random_dockerfile_name();
      outside = xstrdup(real);
    }
  }
  struct packer p = {.root = root, .err = err};
  p.keep[0] = *dfname;
  p.keep[1] = ".dockerignore";
  _cleanup_free_ char *igp = xasprintf("%s/.dockerignore", root);
  _cleanup_free_ char *igtext = NULL;
  int r = 0;
  if (path_exists(igp) && (r = read_file(igp, &igtext, NULL, err)) < 0)
    return r;
  if (igtext && (r = bignore_parse(igtext, &p.ig, err)) < 0)
    return berr_wrap(err, "parse .dockerignore");
  p.a = tar_new(tb);
  r = walk(&p, "");
  if (r == 0 && stdin_df)
    r = add_blob(p.a, stdin_df, sdf.s ? sdf.s : "", sdf.len, err);
  if (r == 0 && outside) {
    _cleanup_free_ char *data = NULL;
    size_t len = 0;
    if ((r = read_file(outside, &data, &len, err)) == 0)
      r = add_blob(p.a, *dfname, data, len, err);
  }
  archive_write_close(p.a);
  archive_write_free(p.a);
  bignore_free(&p.ig);
  sb_free(&sdf);
  return r;
}

/* ---------- the request ---------- */

static void add_kv_json(json_t *o, char *const *kvs, bool from_env) {
  for (size_t i = 0; kvs && kvs[i]; i++) {
    const char *eq = strchr(kvs[i], '=');
    _cleanup_free_ char *k = eq ? strndup(kvs[i], (size_t)(eq - kvs[i])) : xstrdup(kvs[i]);
    const char *v = eq ? eq + 1 : from_env ? getenv(k) : "";
    if (v)
      json_object_set_new(o, k, json_string(v));
    else
      json_object_set_new(o, k, json_null());
  }
}

/* ---------- -o / --output: the result's filesystem ---------- */

/* One -o value, as the docker CLI 20.10's BuildKit path parses it: "DIR"
 * (type=local), "-" (type=tar on stdout), or csv "type=…,dest=…". */
struct build_output {
  char *type; /* "local" or "tar" */
  char *dest; /* a dir, a file, or "-" */
};

static void build_output_free(struct build_output *o) {
  free(o->type);
  free(o->dest);
  o->type = o->dest = NULL;
}

static int build_output_parse(const char *spec, struct build_output *o, struct berr **err) {
  memset(o, 0, sizeof *o);
  if (!strchr(spec, '=') && !strchr(spec, ',')) {
    o->type = xstrdup(strcmp(spec, "-") ? "local" : "tar");
    o->dest = xstrdup(spec);
  } else {
    _cleanup_free_ char *copy = xstrdup(spec);
    char *save = NULL;
    for (char *f = strtok_r(copy, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
      char *eq = strchr(f, '=');
      if (!eq) {
        build_output_free(o);
        return berr_set(err, EINVAL, "invalid value %s", f);
      }
      *eq = '\0';
      char **dst = !strcasecmp(f, "type") ? &o->type : !strcasecmp(f, "dest") ? &o->dest : NULL;
      if (dst) {
        free(*dst);
        *dst = xstrdup(eq + 1);
      }
    }
  }
  int r = 0;
  if (!o->type || !*o->type)
    r = berr_set(err, EINVAL, "type is required for output");
  else if (strcmp(o->type, "local") && strcmp(o->type, "tar"))
    r = berr_set(err, ENOTSUP, "output type \"%s\" is not supported by berth's builder (local and tar are)", o->type);
  else if (!strcmp(o->type, "local") && !o->dest)
    r = berr_set(err, EINVAL, "dest is required for local output");
  else if (!strcmp(o->type, "tar") && !o->dest)
    o->dest = xstrdup("-");
  if (r == 0 && !strcmp(o->type, "tar") && !strcmp(o->dest, "-") && isatty(STDOUT_FILENO))
    r = berr_set(err, EINVAL, "output file is required for tar exporter. refusing to write to console");
  if (r == 0 && !strcmp(o->type, "tar") && strcmp(o->dest, "-")) {
    struct stat st;
    if (stat(o->dest, &st) == 0 && S_ISDIR(st.st_mode))
      r = berr_set(err, EISDIR, "destination file %s is a directory", o->dest);
  }
  if (r < 0)
    build_output_free(o);
  return r;
}

static int write_fd_all(int fd, const char *p, size_t n, struct berr **err) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0)
      return berr_sys(err, errno, "write");
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

struct export_rd {
  struct http_resp *resp;
  char buf[65536];
};

static la_ssize_t export_read(struct archive *a, void *ctx, const void **buf) {
  struct export_rd *x = ctx;
  ssize_t k = resp_read(x->resp, x->buf, sizeof x->buf);
  if (k < 0) {
    archive_set_error(a, EPROTO, "error reading the daemon's stream: unexpected EOF");
    return -1;
  }
  *buf = x->buf;
  return k;
}

/* The parent dir of `name` under root (made, 0755, when missing: an export
 * lists parents first, so this is rare), opened; *base: the last component. */
static int out_parent(int root, const char *name, const char **base, struct berr **err) {
  const char *slash = strrchr(name, '/');
  *base = slash ? slash + 1 : name;
  _cleanup_free_ char *dir = slash ? strndup(name, (size_t)(slash - name)) : xstrdup(".");
  int fd = fs_open_in_root(root, dir, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
  for (char *p = dir; fd == -ENOENT && p; p = strchr(p + 1, '/')) {
    char *next = strchr(p + 1, '/');
    if (next)
      *next = '\0';
    int made = fs_open_in_root(root, dir, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
    if (made == -ENOENT) { /* create dir's last component in its parent */
      const char *leaf;
      _cleanup_close_ int up = out_parent(root, dir, &leaf, err);
      if (up < 0)
        return up;
      if (mkdirat(up, leaf, 0755) < 0 && errno != EEXIST)
        return berr_sys(err, errno, "mkdir %s", dir);
    } else if (made >= 0) {
      close(made);
    }
    if (next)
      *next = '/';
    else
      fd = fs_open_in_root(root, dir, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
  }
  if (fd < 0)
    return berr_sys(err, -fd, "open %s", dir);
  return fd;
}

/* One entry, written in the root (in-root resolution: "..", absolute names
 * and symlinks in the tar cannot reach outside it); owners kept when root.
 * By hand, not archive_write_disk: its ACL code would pull libacl into the
 * static CLI. */
static int out_entry(struct archive *in, struct archive_entry *e, int root, struct berr **err) {
  const char *name = archive_entry_pathname(e);
  while (name[0] == '.' && name[1] == '/')
    name += 2;
  _cleanup_free_ char *clean = xstrdup(name);
  for (size_t n = strlen(clean); n > 0 && clean[n - 1] == '/';)
    clean[--n] = '\0';
  if (!*clean || !strcmp(clean, "."))
    return 0;
  const char *base;
  _cleanup_close_ int pfd = out_parent(root, clean, &base, err);
  if (pfd < 0)
    return pfd;
  mode_t type = archive_entry_filetype(e), perm = archive_entry_perm(e);
  struct stat old;
  bool exists = fstatat(pfd, base, &old, AT_SYMLINK_NOFOLLOW) == 0;
  if (exists && !(S_ISDIR(old.st_mode) && type == AE_IFDIR) &&
      unlinkat(pfd, base, S_ISDIR(old.st_mode) ? AT_REMOVEDIR : 0) < 0)
    return berr_sys(err, errno, "replace %s", clean);
  const char *hl = archive_entry_hardlink(e);
  if (hl) {
    const char *lbase;
    _cleanup_close_ int lfd = out_parent(root, hl, &lbase, err);
    if (lfd < 0)
      return lfd;
    return linkat(lfd, lbase, pfd, base, 0) < 0 ? berr_sys(err, errno, "link %s", clean) : 0;
  }
  if (type == AE_IFDIR) {
    if (!exists && mkdirat(pfd, base, 0700) < 0)
      return berr_sys(err, errno, "mkdir %s", clean);
  } else if (type == AE_IFLNK) {
    if (symlinkat(archive_entry_symlink(e), pfd, base) < 0)
      return berr_sys(err, errno, "symlink %s", clean);
  } else if (type == AE_IFREG) {
    _cleanup_close_ int fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
      return berr_sys(err, errno, "open %s", clean);
    const void *buf;
    size_t sz;
    la_int64_t off;
    int ar;
    while ((ar = archive_read_data_block(in, &buf, &sz, &off)) == ARCHIVE_OK)
      if (pwrite(fd, buf, sz, off) != (ssize_t)sz)
        return berr_sys(err, errno, "write %s", clean);
    if (ar != ARCHIVE_EOF || ftruncate(fd, archive_entry_size(e)) < 0)
      return berr_set(err, EIO, "write %s: %s", clean, archive_error_string(in));
  } else if (mknodat(pfd, base, type | perm, archive_entry_rdev(e)) < 0) {
    return berr_sys(err, errno, "mknod %s", clean);
  }
  if (geteuid() == 0 &&
      fchownat(pfd, base, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e), AT_SYMLINK_NOFOLLOW) < 0)
    return berr_sys(err, errno, "chown %s", clean);
  if (type != AE_IFLNK && fchmodat(pfd, base, perm, 0) < 0)
    return berr_sys(err, errno, "chmod %s", clean);
  struct timespec ts[2] = {{archive_entry_mtime(e), 0}, {archive_entry_mtime(e), 0}};
  utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW);
  return 0;
}

/* type=local: the export stream unpacked into dest (created). Directory
 * times are set again at the end (their entries changed them). */
static int export_extract(struct http_resp *resp, const char *dest, struct berr **err) {
  if (mkdir(dest, 0755) < 0 && errno != EEXIST)
    return berr_sys(err, errno, "failed to create %s", dest);
  _cleanup_close_ int root = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root < 0)
    return errno == ENOTDIR ? berr_set(err, ENOTDIR, "destination directory %s is a file", dest)
                            : berr_sys(err, errno, "open %s", dest);
  struct export_rd *x = xcalloc(1, sizeof *x);
  x->resp = resp;
  struct archive *a = archive_read_new();
  archive_read_support_format_tar(a);
  _cleanup_json_ json_t *dirs = json_array();
  int r = 0, ar = ARCHIVE_EOF;
  if (archive_read_open(a, x, NULL, export_read, NULL) != ARCHIVE_OK)
    r = berr_set(err, EIO, "read the export: %s", archive_error_string(a));
  struct archive_entry *e;
  while (r == 0 && (ar = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
    r = out_entry(a, e, root, err);
    if (r == 0 && archive_entry_filetype(e) == AE_IFDIR)
      json_array_append_new(dirs, json_pack("[s,I]", archive_entry_pathname(e), (json_int_t)archive_entry_mtime(e)));
  }
  if (r == 0 && ar != ARCHIVE_EOF)
    r = berr_set(err, EIO, "read the export: %s", archive_error_string(a));
  size_t i;
  json_t *d;
  json_array_foreach(dirs, i, d) {
    if (r < 0)
      break;
    _cleanup_close_ int fd = fs_open_in_root(root, json_string_value(json_array_get(d, 0)), O_RDONLY | O_DIRECTORY, 0);
    struct timespec ts[2] = {{(time_t)json_integer_value(json_array_get(d, 1)), 0}};
    ts[1] = ts[0];
    if (fd >= 0)
      futimens(fd, ts);
  }
  archive_read_free(a);
  free(x);
  return r;
}

/* type=tar: the stream as is, to a file (written beside it, then renamed) or stdout. */
static int export_tar(struct http_resp *resp, const char *dest, struct berr **err) {
  bool to_stdout = !strcmp(dest, "-");
  _cleanup_free_ char *tmp = to_stdout ? NULL : xasprintf("%s.berth-tmp", dest);
  _cleanup_close_ int fd = to_stdout ? -1 : open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (!to_stdout && fd < 0)
    return berr_set(err, errno, "failed to open open %s: %s", dest, strerror(errno));
  int out = to_stdout ? STDOUT_FILENO : fd;
  char buf[65536];
  ssize_t k;
  int r = 0;
  while (r == 0 && (k = resp_read(resp, buf, sizeof buf)) != 0)
    r = k < 0 ? berr_set(err, EPROTO, "error reading the daemon's stream: unexpected EOF")
              : write_fd_all(out, buf, (size_t)k, err);
  if (r == 0 && !to_stdout && rename(tmp, dest) < 0)
    r = berr_sys(err, errno, "rename %s", dest);
  if (r < 0 && !to_stdout)
    unlink(tmp);
  return r;
}

/* The image's filesystem as `export` of a container made from it gives it:
 * create (never started), GET /containers/{id}/export, remove. */
static int build_export(struct cli *cli, const char *image, const struct build_output *o, struct berr **err) {
  _cleanup_json_ json_t *body = json_pack("{s:s,s:[s],s:{s:s}}", "Image", image, "Cmd", "berth-build-export",
                                          "HostConfig", "NetworkMode", "none");
  _cleanup_json_ json_t *created = NULL;
  if (cli_call(cli, "POST", "/containers/create", body, &created, NULL, err) < 0)
    return berr_wrap(err, "export the build result");
  const char *cid = json_string_value(json_object_get(created, "Id"));
  if (!cid)
    return berr_set(err, EPROTO, "export the build result: no container ID");
  _cleanup_free_ char *path = xasprintf("/containers/%s/export", cid);
  struct http_resp resp;
  int r = cli_stream(cli, "GET", path, NULL, NULL, 0, &resp, err);
  if (r == 0) {
    r = !strcmp(o->type, "tar") ? export_tar(&resp, o->dest, err) : export_extract(&resp, o->dest, err);
    resp_free(&resp);
  }
  _cleanup_free_ char *del = xasprintf("/containers/%s?force=1&v=1", cid);
  struct berr *e2 = NULL;
  if (cli_call(cli, "DELETE", del, NULL, NULL, NULL, &e2) < 0 && r == 0)
    r = berr_set(err, e2->code, "%s", e2->msg);
  berr_free(e2);
  return r;
}

static void secret_wire_free(char *wire, size_t len) {
  if (wire)
    explicit_bzero(wire, len);
  free(wire);
}

int cmd_build(struct cmd_ctx *ctx, int argc, char **argv) {
  _cleanup_strv_ char **tags = NULL, **build_args = NULL, **labels = NULL, **hosts = NULL, **secrets = NULL,
                      **cache_from = NULL, **outputs = NULL, **nocache_filter = NULL;
  const char *file = NULL, *target = NULL, *iidfile = NULL, *network = NULL, *platform = NULL, *progress = NULL;
  bool no_cache = false, pull = false, quiet = false, rm = true, force_rm = false, compress = false;
  const struct flag flags[] = {
      {"add-host", 0, FLAG_STRV, &hosts, "Add a custom host-to-IP mapping (host:ip)", NULL},
      {"build-arg", 0, FLAG_STRV, &build_args, "Set build-time variables", NULL},
      {"cache-from", 0, FLAG_STRV, &cache_from, "Images to consider as cache sources", NULL},
      {"compress", 0, FLAG_BOOL, &compress, "Compress the build context using gzip", NULL},
      {"file", 'f', FLAG_STR, &file, "Name of the Dockerfile (Default is 'PATH/Dockerfile')", NULL},
      {"force-rm", 0, FLAG_BOOL, &force_rm, "Always remove intermediate containers", NULL},
      {"iidfile", 0, FLAG_STR, &iidfile, "Write the image ID to the file", NULL},
      {"label", 0, FLAG_STRV, &labels, "Set metadata for an image", NULL},
      {"network", 0, FLAG_STR, &network, "Set the networking mode for the RUN instructions during build", NULL},
      {"no-cache", 0, FLAG_BOOL, &no_cache, "Do not use cache when building the image", NULL},
      {"no-cache-filter", 0, FLAG_STRV, &nocache_filter, "Do not cache specified stages", NULL},
      {"output", 'o', FLAG_STRV, &outputs, "Output destination (format: type=local,dest=path)", NULL},
      {"platform", 0, FLAG_STR, &platform, "Set platform if server is multi-platform capable", NULL},
      {"progress", 0, FLAG_STR, &progress, "Set type of progress output (auto, plain, tty)", NULL},
      {"pull", 0, FLAG_BOOL, &pull, "Always attempt to pull a newer version of the image", NULL},
      {"quiet", 'q', FLAG_BOOL, &quiet, "Suppress the build output and print image ID on success", NULL},
      {"rm", 0, FLAG_BOOL, &rm, "Remove intermediate containers after a successful build", NULL},
      {"secret", 0, FLAG_STRV, &secrets, "Secret to expose to the build (id=mysecret[,src=/local/secret])", NULL},
      {"tag", 't', FLAG_STRV, &tags, "Name and optionally a tag in the 'name:tag' format", NULL},
      {"target", 0, FLAG_STR, &target, "Set the target build stage to build", NULL},
      {0}};
  _cleanup_free_ char **args = NULL;
  int rc = cmd_parse(ctx, flags, argc, argv, true, &args);
  if (rc || (rc = cmd_need_args(ctx, args, 1, 1)))
    return rc;
  _cleanup_berr_ struct berr *err = NULL;
  __attribute__((cleanup(build_output_free))) struct build_output out = {0};
  if (outputs && outputs[0] && outputs[1]) {
    fprintf(stderr, "multiple outputs currently unsupported\n");
    return 1;
  }
  if (outputs && outputs[0] && build_output_parse(outputs[0], &out, &err) < 0) {
    cmd_print_err(err);
    return 1;
  }
  /* --secret: resolved here, sent before the context (secrets.c) */
  char *wire = NULL;
  size_t wire_len = 0;
  for (size_t i = 0; secrets && secrets[i]; i++) {
    struct build_secret_spec sp;
    int r = build_secret_spec_parse(secrets[i], &sp, &err);
    if (r == 0)
      r = build_secret_encode(&sp, &wire, &wire_len, &err);
    build_secret_spec_free(&sp);
    if (r < 0) {
      secret_wire_free(wire, wire_len);
      cmd_print_err(err);
      return 1;
    }
  }
  struct tarbuf tb = {0};
  _cleanup_free_ char *dfname = NULL;
  if (make_context(args[0], file, &tb, &dfname, &err) < 0) {
    secret_wire_free(wire, wire_len);
    sb_free(&tb.b);
    cmd_print_err(err);
    return 1;
  }
  _cleanup_sb_ struct sb q = {0};
  sb_add(&q, "/build");
  for (size_t i = 0; tags && tags[i]; i++)
    sb_query(&q, "t", tags[i]);
  if (dfname && strcmp(dfname, "Dockerfile"))
    sb_query(&q, "dockerfile", dfname);
  if (build_args && build_args[0]) {
    _cleanup_json_ json_t *j = json_object();
    add_kv_json(j, build_args, true);
    _cleanup_free_ char *s = json_dump_compact(j);
    sb_query(&q, "buildargs", s);
  }
  if (labels && labels[0]) {
    _cleanup_json_ json_t *j = json_object();
    add_kv_json(j, labels, false);
    _cleanup_free_ char *s = json_dump_compact(j);
    sb_query(&q, "labels", s);
  }
  if (target)
    sb_query(&q, "target", target);
  if (no_cache)
    sb_query(&q, "nocache", "1");
  if (nocache_filter && nocache_filter[0]) {
    /* berthd's "nocachefilter": a JSON array; a value may list stages with "," */
    _cleanup_json_ json_t *j = json_array();
    for (size_t i = 0; nocache_filter[i]; i++) {
      _cleanup_free_ char *copy = xstrdup(nocache_filter[i]);
      char *save = NULL;
      for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
        json_array_append_new(j, json_string(t));
    }
    _cleanup_free_ char *s = json_dump_compact(j);
    sb_query(&q, "nocachefilter", s);
  }
  if (pull)
    sb_query(&q, "pull", "1");
  if (quiet)
    sb_query(&q, "q", "1");
  sb_query(&q, "rm", rm ? "1" : "0");
  if (force_rm)
    sb_query(&q, "forcerm", "1");
  if (network)
    sb_query(&q, "networkmode", network);
  for (size_t i = 0; hosts && hosts[i]; i++)
    sb_query(&q, "extrahosts", hosts[i]);
  if (platform)
    sb_query(&q, "platform", platform);
  if (cache_from && cache_from[0]) {
    _cleanup_json_ json_t *j = json_array();
    for (size_t i = 0; cache_from[i]; i++)
      json_array_append_new(j, json_string(cache_from[i]));
    _cleanup_free_ char *s = json_dump_compact(j);
    sb_query(&q, "cachefrom", s);
  }
  {
    /* docker CLI 28: on stdout, or on stderr with -q */
    _cleanup_free_ char *sz = fmt_human_size((double)tb.b.len, 4);
    FILE *msg = quiet || (out.type && !strcmp(out.dest, "-")) ? stderr : stdout;
    fprintf(msg, "Sending build context to Docker daemon  %s\n", sz);
    fflush(msg);
  }
  struct http_resp resp;
  /* X-Registry-Config: the auth configs for pulls ("{}" base64: none);
   * secrets go in front of the context, their length in a header */
  _cleanup_free_ char *hdrs = wire ? xasprintf("X-Registry-Config: e30=\r\n%s: %zu\r\n", BUILD_SECRETS_HEADER, wire_len)
                                   : xstrdup("X-Registry-Config: e30=\r\n");
  if (wire) {
    struct sb body = {0};
    sb_addn(&body, wire, wire_len);
    sb_addn(&body, tb.b.s ? tb.b.s : "", tb.b.len);
    secret_wire_free(wire, wire_len);
    sb_free(&tb.b);
    tb.b = body;
  }
  rc = cli_stream_headers(ctx->cli, "POST", q.s, "application/x-tar", tb.b.s ? tb.b.s : "", tb.b.len, hdrs, &resp,
                          &err);
  if (wire_len && tb.b.s)
    explicit_bzero(tb.b.s, wire_len);
  sb_free(&tb.b);
  if (rc < 0) {
    cmd_print_err(err);
    return 1;
  }
  json_t *aux = NULL;
  /* with -o -, the tar owns stdout: progress goes to stderr */
  bool tar_stdout = out.type && !strcmp(out.dest, "-");
  rc = progress_display(&resp, quiet ? NULL : tar_stdout ? stderr : stdout, false, &aux, &err);
  resp_free(&resp);
  const char *id = json_string_value(json_object_get(aux, "ID"));
  if (rc == 0 && id && out.type)
    rc = build_export(ctx->cli, id, &out, &err);
  if (rc == 0 && id) {
    if (quiet)
      printf("%s\n", id);
    if (iidfile) {
      struct berr *e2 = NULL;
      if (write_file_atomic(iidfile, id, strlen(id), 0644, &e2) < 0) {
        fprintf(stderr, "write image ID to %s: %s\n", iidfile, e2->msg);
        berr_free(e2);
        json_decref(aux);
        return 1;
      }
    }
  }
  json_decref(aux);
  if (rc < 0) {
    cmd_print_err(err);
    /* the docker CLI exits with a failed RUN's code (the error's "code",
     * which berthd and dockerd put in this message too) */
    const char *m = err && err->msg ? strstr(err->msg, "returned a non-zero code: ") : NULL;
    int64_t code;
    if (m && parse_int64(m + strlen("returned a non-zero code: "), &code) == 0 && code > 0 && code < 256)
      return (int)code;
    return 1;
  }
  return 0;
}

int cmd_builder_prune(struct cmd_ctx *ctx, int argc, char **argv) {
  bool all = false, force = false;
  _cleanup_strv_ char **filters = NULL;
  const struct flag flags[] = {
      {"all", 'a', FLAG_BOOL, &all, "Remove all unused build cache, not just dangling ones", NULL},
      {"filter", 0, FLAG_STRV, &filters, "Provide filter values (e.g. \"until=24h\")", NULL},
      {"force", 'f', FLAG_BOOL, &force, "Do not prompt for confirmation", NULL},
      {0}};
  _cleanup_free_ char **args = NULL;
  int rc = cmd_parse(ctx, flags, argc, argv, true, &args);
  if (rc || (rc = cmd_need_args(ctx, args, 0, 0)))
    return rc;
  if (!force && !cli_confirm("WARNING! This will remove all dangling build cache."))
    return 0;
  _cleanup_berr_ struct berr *err = NULL;
  _cleanup_json_ json_t *out = NULL;
  if (cli_call(ctx->cli, "POST", all ? "/build/prune?all=1" : "/build/prune", NULL, &out, NULL, &err) < 0) {
    cmd_print_err(err);
    return 1;
  }
  json_int_t n = json_integer_value(json_object_get(out, "SpaceReclaimed"));
  _cleanup_free_ char *sz = fmt_human_size((double)n, 3);
  printf("Total reclaimed space: %s\n", sz);
  return 0;
}
