/*
 * rw_idmap.c — a container's rootfs for berthd's --userns-remap: the same
 * overlay as rw.c's, but every layer (the image's lowers, and the fs/ dir
 * holding upper/ and work/) is an idmapped mount (open_tree + mount_setattr
 * MOUNT_ATTR_IDMAP) of the daemon's user namespace. Files keep the image's
 * own ids on disk; through the mount, on-disk uid N is host uid (root + N),
 * which is what the container's root (host `root`) sees as N again.
 *
 * Kernel facts this relies on (6.x; overlayfs accepts idmapped layers since
 * 5.19, and layers given as file descriptors with FSCONFIG_SET_FD since
 * 6.13):
 *  - overlay does its own work (work/work, copy-up, whiteouts) with the
 *    mounter's credentials, captured at FSCONFIG_CMD_CREATE. Host root is not
 *    representable in the idmapped upper (EOVERFLOW, then a read-only
 *    overlay), so the mount is made by a helper thread whose fsuid/fsgid are
 *    the remapped root's, its capabilities raised again (setfsuid drops the
 *    file ones); credentials are per thread, the thread ends after.
 *  - the detached idmapped mounts are only referenced by fd: overlay takes
 *    its own private clones, so closing them leaves nothing mounted.
 * A container made with a remapping carries the marker fs/idmapped; rw.c's
 * store_rw_mount mounts such a container only this way (also for cp,
 * export, diff), never plainly.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/mount.h>
#include <pthread.h>
#include <sys/fsuid.h>
#include <sys/mount.h>
#include <sys/syscall.h>

#include "store/store_internal.h"

#ifndef MOUNT_ATTR_IDMAP
#define MOUNT_ATTR_IDMAP 0x00100000
#endif

static char *fs_path(struct store *s, const char *cid, const char *sub) {
  return sub ? xasprintf("%s/%s/fs/%s", s->ctrs, cid, sub) : xasprintf("%s/%s/fs", s->ctrs, cid);
}

void store_set_idmap(struct store *s, int userns_fd, uid_t root_uid, gid_t root_gid) {
  s->idmap = userns_fd >= 0;
  s->idmap_fd = userns_fd;
  s->idmap_uid = root_uid;
  s->idmap_gid = root_gid;
}

int store_rw_set_idmapped(struct store *s, const char *cid, struct berr **err) {
  if (!s->idmap)
    return berr_set(err, EINVAL, "rw layer %s: the store has no id mapping", cid);
  _cleanup_free_ char *p = fs_path(s, cid, "idmapped");
  return write_file_replace(p, "", 0, 0600, err);
}

bool rw_is_idmapped(struct store *s, const char *cid) {
  _cleanup_free_ char *p = fs_path(s, cid, "idmapped");
  return path_exists(p);
}

/* A detached idmapped clone of `path` (an fd), or -errno. */
static int idmapped_tree(const char *path, int userns_fd) {
  int t = (int)syscall(SYS_open_tree, AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  if (t < 0)
    return -errno;
  struct mount_attr a = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns_fd};
  if (syscall(SYS_mount_setattr, t, "", AT_EMPTY_PATH, &a, sizeof a) < 0) {
    int e = errno;
    close(t);
    return -e;
  }
  return t;
}

struct idmap_mount {
  int *lowers;   /* fds, nlowers of them */
  size_t nlowers;
  int upper, work;
  const char *merged;
  uid_t uid;
  gid_t gid;
  int result;
};

/* The remapped root as this thread's fs ids, with every capability the
 * thread had still effective. */
static int become_remapped_root(uid_t uid, gid_t gid) {
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2];
  if (syscall(SYS_capget, &h, d) < 0)
    return -errno;
  setfsgid(gid);
  setfsuid(uid);
  if ((uid_t)setfsuid((uid_t)-1) != uid || (gid_t)setfsgid((gid_t)-1) != gid)
    return -EPERM;
  if (syscall(SYS_capset, &h, d) < 0)
    return -errno;
  return 0;
}

static int overlay_by_fds(const struct idmap_mount *m) {
  int fd = (int)syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
  if (fd < 0)
    return -errno;
  int r = 0;
  for (size_t i = 0; r == 0 && i < m->nlowers; i++)
    if (syscall(SYS_fsconfig, fd, FSCONFIG_SET_FD, "lowerdir+", NULL, m->lowers[i]) < 0)
      r = -errno;
  if (r == 0 && (syscall(SYS_fsconfig, fd, FSCONFIG_SET_FD, "upperdir", NULL, m->upper) < 0 ||
                 syscall(SYS_fsconfig, fd, FSCONFIG_SET_FD, "workdir", NULL, m->work) < 0 ||
                 syscall(SYS_fsconfig, fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0))
    r = -errno;
  int mfd = r == 0 ? (int)syscall(SYS_fsmount, fd, FSMOUNT_CLOEXEC, 0) : -1;
  if (r == 0 && mfd < 0)
    r = -errno;
  if (r == 0 &&
      syscall(SYS_move_mount, mfd, "", AT_FDCWD, m->merged, MOVE_MOUNT_F_EMPTY_PATH) < 0)
    r = -errno;
  if (mfd >= 0)
    close(mfd);
  close(fd);
  return r;
}

static void *idmap_mount_thread(void *arg) {
  struct idmap_mount *m = arg;
  m->result = become_remapped_root(m->uid, m->gid);
  if (m->result == 0)
    m->result = overlay_by_fds(m);
  return NULL;
}

static void close_all(int *fds, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (fds[i] >= 0)
      close(fds[i]);
}

int rw_mount_idmapped(struct store *s, char **lowers, const char *cid, const char *merged) {
  if (!s->idmap)
    return -EINVAL;
  size_t n = strv_len(lowers);
  _cleanup_free_ int *fds = xcalloc(n + 1, sizeof *fds);
  for (size_t i = 0; i < n + 1; i++)
    fds[i] = -1;
  _cleanup_free_ char *fs = fs_path(s, cid, NULL);
  int fsm = idmapped_tree(fs, s->idmap_fd), r = fsm < 0 ? fsm : 0;
  for (size_t i = 0; r == 0 && i < n; i++) {
    _cleanup_free_ char *d = layer_diff_path(s, lowers[i]);
    if ((fds[i] = idmapped_tree(d, s->idmap_fd)) < 0)
      r = fds[i];
  }
  /* scratch: the only lower is fs/empty, through the same idmapped mount */
  if (r == 0 && n == 0 && (fds[0] = openat(fsm, "empty", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
    r = -errno;
  int up = r == 0 ? openat(fsm, "upper", O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
  int wk = r == 0 ? openat(fsm, "work", O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
  if (r == 0 && (up < 0 || wk < 0))
    r = -errno;
  if (r == 0) {
    struct idmap_mount m = {fds, n ? n : 1, up, wk, merged, s->idmap_uid, s->idmap_gid, 0};
    pthread_t t;
    if (pthread_create(&t, NULL, idmap_mount_thread, &m) != 0) {
      r = -EAGAIN;
    } else {
      pthread_join(t, NULL);
      r = m.result;
    }
  }
  close_all(fds, n + 1);
  int rest[] = {up, wk, fsm};
  close_all(rest, 3);
  return r;
}
