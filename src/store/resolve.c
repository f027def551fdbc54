/*
 * resolve.c — open a path inside a directory as if that directory were the
 * root: symlinks (absolute or with "..") cannot lead out. openat2 with
 * RESOLVE_IN_ROOT does it in the kernel (5.6+); without it (ENOSYS: old
 * kernels, valgrind) we walk one component at a time, expanding symlinks
 * ourselves and clamping ".." at the root — the same rule, 40 links at most.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>

#include "store/store_internal.h"

static int openat_in_root_slow(int root_fd, const char *rel, int flags, mode_t mode) {
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
    if (n < 0) {
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
      done[0] = '\0';
  }
  int fd = openat(root_fd, *done ? done : ".", flags | O_CLOEXEC | O_NOFOLLOW, mode);
  return fd < 0 ? -errno : fd;
}

int openat_in_root(int root_fd, const char *rel, int flags, mode_t mode) {
  struct open_how how = {
      .flags = (uint64_t)(flags | O_CLOEXEC),
      .mode = (flags & O_CREAT) ? mode : 0,
      .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
  };
  int fd = (int)syscall(SYS_openat2, root_fd, rel, &how, sizeof how);
  if (fd < 0 && errno == ENOSYS)
    return openat_in_root_slow(root_fd, rel, flags, mode);
  return fd < 0 ? -errno : fd;
}
