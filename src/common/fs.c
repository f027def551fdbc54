/*
 * fs.c — filesystem helpers: mkdir -p, whole-file read/write, atomic replace,
 * rm -rf that stays on one filesystem, and lexical path cleaning / joining.
 *
 * path_join_in_root is lexical only; code that then opens the result inside a
 * container's rootfs must still resolve symlinks within the root:
 * fs_open_in_root is the one resolver every subsystem uses for that (the
 * runtime's mounts, the store's layers, docker cp on both sides, the builder).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "common.h"

int mkdir_p(const char *path, mode_t mode, struct berr **err) {
  _cleanup_free_ char *p = xstrdup(path);
  size_t len = strlen(p);
  for (size_t i = 1; i <= len; i++) {
    if (p[i] != '/' && p[i] != '\0')
      continue;
    char saved = p[i];
    p[i] = '\0';
    if (mkdir(p, mode) < 0 && errno != EEXIST)
      return berr_sys(err, errno, "mkdir %s", p);
    p[i] = saved;
  }
  struct stat st;
  if (stat(path, &st) < 0)
    return berr_sys(err, errno, "mkdir %s", path);
  if (!S_ISDIR(st.st_mode))
    return berr_set(err, ENOTDIR, "mkdir %s: exists and is not a directory", path);
  return 0;
}

int read_file(const char *path, char **out, size_t *len, struct berr **err) {
  _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return berr_sys(err, errno, "open %s", path);
  size_t cap = 4096, n = 0;
  _cleanup_free_ char *buf = xmalloc(cap);
  for (;;) {
    if (n + 1 >= cap)
      buf = xrealloc(buf, cap *= 2);
    ssize_t r = read(fd, buf + n, cap - n - 1);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      return berr_sys(err, errno, "read %s", path);
    }
    if (r == 0)
      break;
    n += (size_t)r;
  }
  buf[n] = '\0';
  if (len)
    *len = n;
  *out = steal_ptr(buf);
  return 0;
}

int write_file(const char *path, const char *data, size_t len, struct berr **err) {
  _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return berr_sys(err, errno, "open %s", path);
  ssize_t w = write(fd, data, len);
  if (w < 0)
    return berr_sys(err, errno, "write \"%.*s\" to %s", (int)(len > 64 ? 64 : len), data, path);
  if ((size_t)w != len)
    return berr_set(err, EIO, "write to %s: short write", path);
  return 0;
}

static int write_all(int fd, const char *data, size_t len) {
  while (len > 0) {
    ssize_t w = write(fd, data, len);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    data += w;
    len -= (size_t)w;
  }
  return 0;
}

static int replace_file(const char *path, const char *data, size_t len, mode_t mode, bool durable,
                        struct berr **err) {
  _cleanup_free_ char *tmp = xasprintf("%s.tmp-%d", path, (int)getpid());
  _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0)
    return berr_sys(err, errno, "create %s", tmp);
  int r = write_all(fd, data, len);
  if (r == 0 && durable && fsync(fd) < 0)
    r = -errno;
  if (r == 0 && rename(tmp, path) < 0)
    r = -errno;
  if (r < 0) {
    unlink(tmp);
    return berr_sys(err, -r, "write %s", path);
  }
  return 0;
}

int write_file_atomic(const char *path, const char *data, size_t len, mode_t mode, struct berr **err) {
  return replace_file(path, data, len, mode, true, err);
}

int write_file_replace(const char *path, const char *data, size_t len, mode_t mode, struct berr **err) {
  return replace_file(path, data, len, mode, false, err);
}

static int rm_rf_at(int parent, const char *name, dev_t dev) {
  struct stat st;
  if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : -errno;
  if (!S_ISDIR(st.st_mode))
    return unlinkat(parent, name, 0) < 0 && errno != ENOENT ? -errno : 0;
  if (st.st_dev != dev)
    return -EXDEV; /* a mount point: never descend into another filesystem */
  int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  _cleanup_closedir_ DIR *d = fdopendir(fd);
  if (!d) {
    close(fd);
    return -errno;
  }
  int r = 0;
  for (struct dirent *de; (de = readdir(d));) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
      continue;
    int q = rm_rf_at(dirfd(d), de->d_name, dev);
    if (q < 0 && r == 0)
      r = q;
  }
  if (unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT && r == 0)
    r = -errno;
  return r;
}

int rm_rf(const char *path, struct berr **err) {
  struct stat st;
  if (lstat(path, &st) < 0)
    return errno == ENOENT ? 0 : berr_sys(err, errno, "remove %s", path);
  int r = rm_rf_at(AT_FDCWD, path, st.st_dev);
  if (r < 0)
    return berr_sys(err, -r, "remove %s", path);
  return 0;
}

bool path_exists(const char *path) {
  return access(path, F_OK) == 0;
}

char *path_clean(const char *path, bool *escapes) {
  bool abs = path[0] == '/';
  size_t len = strlen(path);
  char *out = xmalloc(len + 2);
  size_t n = 0;  /* bytes in out */
  int depth = 0; /* components kept, to know when ".." climbs too far */
  if (escapes)
    *escapes = false;
  if (abs)
    out[n++] = '/';
  const char *p = path;
  while (*p) {
    while (*p == '/')
      p++;
    const char *s = p;
    while (*p && *p != '/')
      p++;
    size_t cl = (size_t)(p - s);
    if (cl == 0 || (cl == 1 && s[0] == '.'))
      continue;
    if (cl == 2 && s[0] == '.' && s[1] == '.') {
      if (depth > 0) {
        while (n > (abs ? 1u : 0u) && out[n - 1] != '/')
          n--;
        if (n > (abs ? 1u : 0u))
          n--; /* drop the separator too */
        depth--;
      } else {
        if (escapes)
          *escapes = true;
        if (!abs) {
          if (n > 0)
            out[n++] = '/';
          memcpy(out + n, "..", 2);
          n += 2;
        }
      }
      continue;
    }
    if (n > 0 && out[n - 1] != '/')
      out[n++] = '/';
    memcpy(out + n, s, cl);
    n += cl;
    depth++;
  }
  if (n == 0)
    out[n++] = '.';
  out[n] = '\0';
  return out;
}

int path_join_in_root(const char *root, const char *path, char **out, struct berr **err) {
  bool escapes = false;
  _cleanup_free_ char *clean = path_clean(path, &escapes);
  if (escapes)
    return berr_set(err, EINVAL, "path %s escapes the root %s", path, root);
  const char *rel = clean;
  while (*rel == '/')
    rel++;
  if (*rel == '\0' || strcmp(rel, ".") == 0)
    *out = xstrdup(root);
  else
    *out = xasprintf("%s%s%s", root, str_has_suffix(root, "/") ? "" : "/", rel);
  return 0;
}

/* ---------- opening a path inside a root ----------
 *
 * openat2 with RESOLVE_IN_ROOT does it in the kernel (5.6+). Without it
 * (ENOSYS: older kernels, valgrind) the path is walked one component at a
 * time, expanding symlinks here and clamping ".." at the root: the same rule,
 * bounded like the kernel's 40 links. */

static int open_in_root_walk(int root_fd, const char *rel, int flags, mode_t mode) {
  _cleanup_free_ char *todo = xstrdup(rel);
  _cleanup_free_ char *done = xstrdup("");
  int links = 0;
  for (;;) {
    char *p = todo;
    while (*p == '/')
      p++;
    if (*p == '\0')
      break;
    char *slash = strchr(p, '/');
    _cleanup_free_ char *comp = slash ? xasprintf("%.*s", (int)(slash - p), p) : xstrdup(p);
    _cleanup_free_ char *rest = xstrdup(slash ? slash : "");
    free(todo);
    todo = steal_ptr(rest);
    if (strcmp(comp, ".") == 0)
      continue;
    if (strcmp(comp, "..") == 0) {
      char *last = strrchr(done, '/');
      if (last)
        *last = '\0';
      else
        done[0] = '\0';
      continue;
    }
    _cleanup_free_ char *cand = *done ? xasprintf("%s/%s", done, comp) : xstrdup(comp);
    char target[4096];
    ssize_t n = readlinkat(root_fd, cand, target, sizeof target - 1);
    if (n < 0) { /* not a symlink (or missing): keep it */
      free(done);
      done = steal_ptr(cand);
      continue;
    }
    if (++links > 40)
      return -ELOOP;
    target[n] = '\0';
    char *next = xasprintf("%s%s", target, todo);
    free(todo);
    todo = next;
    if (target[0] == '/')
      done[0] = '\0'; /* an absolute link starts again from the root */
  }
  int fd = openat(root_fd, *done ? done : ".", flags | O_CLOEXEC | O_NOFOLLOW, mode);
  return fd < 0 ? -errno : fd;
}

int fs_open_in_root(int root_fd, const char *rel, int flags, mode_t mode) {
  if (!*rel) /* "" names the root itself */
    rel = ".";
  struct open_how how = {
      .flags = (uint64_t)(flags | O_CLOEXEC),
      .mode = (flags & O_CREAT) ? mode : 0,
      .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
  };
  int fd = (int)syscall(SYS_openat2, root_fd, rel, &how, sizeof how);
  if (fd < 0 && errno == ENOSYS)
    return open_in_root_walk(root_fd, rel, flags, mode);
  return fd < 0 ? -errno : fd;
}
