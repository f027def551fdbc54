/*
 * rootfs.c — the container's filesystem view, built inside its new mount namespace
 * (runtime-spec config.md "Root", "Mounts"; config-linux.md "Devices", "maskedPaths",
 * "readonlyPaths", "rootfsPropagation").
 *
 * Every destination is resolved inside the rootfs with fs_open_in_root (openat2
 * RESOLVE_IN_ROOT), so a symlink in the image ("/var/run -> /run", or "-> ../../../etc") can never send a
 * mount outside the rootfs; the mount then targets /proc/self/fd/N of that O_PATH
 * handle. A destination that climbs out lexically ("/../x") is refused outright.
 *
 * Order (as the kernel and runc's behaviour demand): "/" made rslave (or the spec's
 * propagation) so nothing leaks to the host, the rootfs bind-mounted on itself (a
 * mount point, needed by pivot_root), the spec's mounts in order, devices and the
 * /dev symlinks, pivot_root; then sysctls, read-only paths, masked paths and the
 * read-only root, which need the container's /proc and must come last.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#include "runtime-internal.h"

/* ---- resolving paths inside the rootfs ---- */

enum leaf_kind { LEAF_DIR, LEAF_FILE };

/* Open (O_PATH) `path` inside root_fd, creating missing directories, and the last
 * component as `leaf` when missing. Caller closes the returned fd. */
/* Create `name` in the directory dfd as a directory or an empty file; EEXIST is fine. */
static int create_leaf(int dfd, const char *name, enum leaf_kind kind) {
  if (kind == LEAF_DIR)
    return mkdirat(dfd, name, 0755) < 0 && errno != EEXIST ? -errno : 0;
  int f = openat(dfd, name, O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (f < 0)
    return errno == EEXIST ? 0 : -errno;
  close(f);
  return 0;
}

/* Open (O_PATH) `path` inside root_fd, creating missing directories, and the last
 * component as `leaf` when missing. Caller closes the returned fd. */
static int resolve_create(int root_fd, const char *path, enum leaf_kind leaf, const char *what, struct berr **err) {
  bool escapes = false;
  _cleanup_free_ char *clean = path_clean(path, &escapes);
  if (escapes)
    return berr_set(err, EINVAL, "%s: %s escapes the container root", what, path);
  /* common cases first: it exists, or only its last component is missing;
   * walk component by component only when more is missing */
  int fd = fs_open_in_root(root_fd, clean, O_PATH, 0);
  if (fd >= 0)
    return fd;
  char *slash = strrchr(clean, '/');
  if (fd == -ENOENT && slash && slash != clean) {
    *slash = '\0';
    _cleanup_close_ int parent = fs_open_in_root(root_fd, clean, O_PATH | O_DIRECTORY, 0);
    *slash = '/';
    if (parent >= 0 && create_leaf(parent, slash + 1, leaf) == 0 &&
        (fd = fs_open_in_root(root_fd, clean, O_PATH, 0)) >= 0)
      return fd;
  }
  _cleanup_free_ char *prefix = xstrdup("");
  _cleanup_close_ int cur = fcntl(root_fd, F_DUPFD_CLOEXEC, 3);
  char *save = NULL;
  char *comp = strtok_r(clean, "/", &save);
  while (comp) {
    char *next = strtok_r(NULL, "/", &save);
    char *joined = xasprintf("%s/%s", prefix, comp);
    free(prefix);
    prefix = joined;
    fd = fs_open_in_root(root_fd, prefix, O_PATH, 0);
    if (fd == -ENOENT) {
      int r = create_leaf(cur, comp, next ? LEAF_DIR : leaf);
      if (r < 0)
        return berr_sys(err, -r, "%s: create %s in the rootfs", what, prefix);
      fd = fs_open_in_root(root_fd, prefix, O_PATH, 0);
    }
    if (fd < 0)
      return berr_sys(err, -fd, "%s: resolve %s in the rootfs", what, prefix);
    closep(&cur);
    cur = fd;
    comp = next;
  }
  return move_fd(&cur);
}

static char *fd_path(int fd) {
  return xasprintf("/proc/self/fd/%d", fd);
}

/* Flags a remount must keep: the kernel refuses to drop "locked" ones (in a user ns). */
static unsigned long locked_flags(const char *target) {
  struct statvfs sv;
  unsigned long f = 0;
  if (statvfs(target, &sv) < 0)
    return 0;
  if (sv.f_flag & ST_NOSUID)
    f |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV)
    f |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC)
    f |= MS_NOEXEC;
  if (sv.f_flag & ST_RDONLY)
    f |= MS_RDONLY;
  return f;
}

static int remount_bind(const char *target, unsigned long flags, unsigned long clear, const char *what,
                        struct berr **err) {
  unsigned long f = (locked_flags(target) & ~clear) | flags | MS_REMOUNT | MS_BIND;
  if (mount(NULL, target, NULL, f, NULL) < 0)
    return berr_sys(err, errno, "%s: remount with flags 0x%lx", what, f);
  return 0;
}

/* ---- one spec mount ---- */

#define BIND_ATTRS (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME)

/* An O_PATH fd opened before a mount names the directory *under* the new mount:
 * after mounting, look the destination up again to act on the mount itself. */
static int reopen_mounted(int root_fd, const char *dest, char **target, const char *what, struct berr **err) {
  int fd = fs_open_in_root(root_fd, dest, O_PATH, 0);
  if (fd < 0)
    return berr_sys(err, -fd, "%s: reopen %s", what, dest);
  free(*target);
  *target = fd_path(fd);
  return fd;
}

static int mount_bind(const struct oci_mount *m, int root_fd, char **target, int *fd, const char *what,
                      struct berr **err) {
  unsigned long f = MS_BIND | (m->recursive ? MS_REC : 0);
  if (mount(m->source, *target, NULL, f, NULL) < 0)
    return berr_sys(err, errno, "%s: bind %s to %s", what, m->source, m->destination);
  closep(fd);
  if ((*fd = reopen_mounted(root_fd, m->destination, target, what, err)) < 0)
    return *fd;
  if ((m->flags & BIND_ATTRS) || m->clear)
    return remount_bind(*target, m->flags & BIND_ATTRS, m->clear, what, err);
  return 0;
}

static int mount_cgroup_v1(const struct oci_mount *m, int root_fd, char **target, int *tfd, const struct cgroup *cg,
                           const char *what, struct berr **err) {
  unsigned long common = m->flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC);
  if (mount("tmpfs", *target, "tmpfs", common, "mode=755") < 0)
    return berr_sys(err, errno, "%s: mount tmpfs on %s", what, m->destination);
  closep(tfd);
  if ((*tfd = reopen_mounted(root_fd, m->destination, target, what, err)) < 0)
    return *tfd;
  for (size_t i = 0; cg && i < cg->n_hiers; i++) {
    const struct cgroup_hier *h = &cg->hiers[i];
    _cleanup_free_ char *dest = xasprintf("%s/%s", m->destination, h->name);
    _cleanup_close_ int fd = resolve_create(root_fd, dest, LEAF_DIR, what, err);
    if (fd < 0)
      return fd;
    _cleanup_free_ char *t = fd_path(fd);
    if (mount(h->dir, t, NULL, MS_BIND | MS_REC, NULL) < 0)
      return berr_sys(err, errno, "%s: bind %s to %s", what, h->dir, dest);
    closep(&fd);
    if ((fd = reopen_mounted(root_fd, dest, &t, what, err)) < 0)
      return fd;
    int r = remount_bind(t, m->flags & BIND_ATTRS, 0, what, err);
    if (r < 0)
      return r;
    /* co-mounted controllers ("cpu,cpuacct") are also reachable by each name */
    if (strchr(h->name, ',')) {
      _cleanup_free_ char *names = xstrdup(h->name);
      char *save = NULL;
      for (char *n = strtok_r(names, ",", &save); n; n = strtok_r(NULL, ",", &save)) {
        _cleanup_free_ char *link = xasprintf("%s/%s", m->destination + 1, n);
        _cleanup_close_ int dfd = fs_open_in_root(root_fd, m->destination, O_PATH | O_DIRECTORY, 0);
        if (dfd >= 0 && symlinkat(h->name, dfd, n) < 0 && errno != EEXIST)
          return berr_sys(err, errno, "%s: symlink %s", what, link);
      }
    }
  }
  if (m->flags & MS_RDONLY)
    return remount_bind(*target, MS_RDONLY | common, 0, what, err);
  return 0;
}

static int mount_cgroup(const struct oci_mount *m, const struct oci_spec *spec, int root_fd, char **target, int *fd,
                        const struct cgroup *cg, const char *what, struct berr **err) {
  if (cg == NULL || cg->mode != CGROUP_MODE_V2)
    return mount_cgroup_v1(m, root_fd, target, fd, cg, what, err);
  const struct oci_namespace *ns = oci_spec_namespace(spec, OCI_NS_CGROUP);
  if (ns && !ns->path) {
    if (mount("cgroup2", *target, "cgroup2", m->flags, NULL) < 0)
      return berr_sys(err, errno, "%s: mount cgroup2 on %s", what, m->destination);
    return 0;
  }
  struct oci_mount bind = *m;
  bind.source = cg->unified_dir;
  bind.recursive = true;
  return mount_bind(&bind, root_fd, target, fd, what, err);
}

static bool source_is_dir(const struct oci_mount *m) {
  struct stat st;
  return !m->bind || m->source == NULL || stat(m->source, &st) < 0 || S_ISDIR(st.st_mode);
}

static int mount_one(const struct oci_spec *spec, const struct oci_mount *m, int root_fd, const struct cgroup *cg,
                     size_t idx, struct berr **err) {
  _cleanup_free_ char *what = xasprintf("mounts[%zu] (%s)", idx, m->destination);
  struct stat st;
  if (m->has_idmap)
    return berr_set(err, ENOTSUP, "%s: idmapped mounts are not supported", what);
  if (m->bind && (m->source == NULL || stat(m->source, &st) < 0))
    return berr_sys(err, m->source ? errno : ENOENT, "%s: source %s", what, m->source ? m->source : "(none)");
  _cleanup_close_ int fd =
      resolve_create(root_fd, m->destination, source_is_dir(m) ? LEAF_DIR : LEAF_FILE, what, err);
  if (fd < 0)
    return fd;
  _cleanup_free_ char *target = fd_path(fd);
  int r;
  if (m->bind)
    r = mount_bind(m, root_fd, &target, &fd, what, err);
  else if (m->type && strcmp(m->type, "cgroup") == 0)
    r = mount_cgroup(m, spec, root_fd, &target, &fd, cg, what, err);
  else if (mount(m->source ? m->source : m->type, target, m->type, m->flags, m->data) < 0) {
    int e = errno;
    /* sysfs cannot be mounted from a user namespace that does not own the net ns:
     * fall back to the host's /sys, read-only (as runc does) */
    if (e == EPERM && m->type && strcmp(m->type, "sysfs") == 0) {
      struct oci_mount bind = *m;
      bind.source = (char *)"/sys";
      bind.recursive = true;
      bind.flags |= MS_RDONLY;
      r = mount_bind(&bind, root_fd, &target, &fd, what, err);
    } else {
      r = berr_sys(err, e, "%s: mount %s (type %s, options \"%s\")", what, m->source ? m->source : "none",
                   m->type ? m->type : "none", m->data ? m->data : "");
    }
  } else {
    closep(&fd);
    r = (fd = reopen_mounted(root_fd, m->destination, &target, what, err)) < 0 ? fd : 0;
  }
  if (r == 0 && m->propagation && mount(NULL, target, NULL, m->propagation, NULL) < 0)
    r = berr_sys(err, errno, "%s: set propagation", what);
  return r;
}

/* ---- devices ---- */

struct default_dev {
  const char *path;
  unsigned major, minor;
};
static const struct default_dev default_devs[] = {
    {"/dev/null", 1, 3},    {"/dev/zero", 1, 5}, {"/dev/full", 1, 7},
    {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0},
};

static bool in_user_ns(const struct oci_spec *spec) {
  return oci_spec_namespace(spec, OCI_NS_USER) != NULL;
}

static int make_device(int root_fd, const char *path, mode_t type, dev_t dev, mode_t perm, uid_t uid, gid_t gid,
                       bool bind_instead, const char *what, struct berr **err) {
  _cleanup_close_ int fd = -1;
  struct stat st;
  int existing = fs_open_in_root(root_fd, path, O_PATH, 0);
  if (existing >= 0) {
    fd = existing;
    if (fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == type && st.st_rdev == dev)
      return 0; /* already the right node */
    /* a tmpfs /dev is fresh, so only an image file can be here: replace it */
  }
  _cleanup_free_ char *parent = xstrdup(path);
  char *slash = strrchr(parent, '/');
  const char *name = slash + 1;
  *slash = '\0';
  _cleanup_close_ int dfd = resolve_create(root_fd, *parent ? parent : "/", LEAF_DIR, what, err);
  if (dfd < 0)
    return dfd;
  if (existing >= 0 && unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
    return berr_sys(err, errno, "%s: replace %s", what, path);
  if (bind_instead) {
    /* mknod is not allowed in a user namespace: bind the host's node instead */
    int f = openat(dfd, name, O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (f < 0)
      return berr_sys(err, errno, "%s: create %s", what, path);
    close(f);
    _cleanup_close_ int tfd = fs_open_in_root(root_fd, path, O_PATH, 0);
    _cleanup_free_ char *target = fd_path(tfd);
    if (tfd < 0 || mount(path, target, NULL, MS_BIND, NULL) < 0)
      return berr_sys(err, errno, "%s: bind host %s", what, path);
    return 0;
  }
  if (mknodat(dfd, name, type | (perm & 07777), dev) < 0)
    return berr_sys(err, errno, "%s: mknod %s", what, path);
  if (fchownat(dfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
    return berr_sys(err, errno, "%s: chown %s", what, path);
  /* mknod's mode is filtered by the umask: set it exactly */
  _cleanup_close_ int nfd = openat(dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  _cleanup_free_ char *np = fd_path(nfd);
  if (nfd < 0 || chmod(np, perm & 07777) < 0)
    return berr_sys(err, errno, "%s: chmod %s", what, path);
  return 0;
}

static mode_t device_type(char t) {
  switch (t) {
  case 'b':
    return S_IFBLK;
  case 'p':
    return S_IFIFO;
  default:
    return S_IFCHR; /* 'c' and 'u' */
  }
}

static bool dev_is_bind(const struct oci_spec *spec) {
  for (size_t i = 0; i < spec->n_mounts; i++)
    if (strcmp(spec->mounts[i].destination, "/dev") == 0)
      return spec->mounts[i].bind;
  return false;
}

static bool has_mount(const struct oci_spec *spec, const char *dest) {
  for (size_t i = 0; i < spec->n_mounts; i++)
    if (strcmp(spec->mounts[i].destination, dest) == 0)
      return true;
  return false;
}

static int make_dev_symlinks(const struct oci_spec *spec, int root_fd, struct berr **err) {
  static const char *const links[][2] = {
      {"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
      {"/proc/self/fd/2", "stderr"}, {"/proc/kcore", "core"},
  };
  _cleanup_close_ int dfd = resolve_create(root_fd, "/dev", LEAF_DIR, "/dev", err);
  if (dfd < 0)
    return dfd;
  for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
    if (i == 4 && access("/proc/kcore", F_OK) < 0)
      continue;
    if (symlinkat(links[i][0], dfd, links[i][1]) < 0 && errno != EEXIST)
      return berr_sys(err, errno, "symlink /dev/%s", links[i][1]);
  }
  if (has_mount(spec, "/dev/pts")) {
    /* newinstance devpts: /dev/ptmx must lead to this instance's ptmx */
    unlinkat(dfd, "ptmx", 0);
    if (symlinkat("pts/ptmx", dfd, "ptmx") < 0)
      return berr_sys(err, errno, "symlink /dev/ptmx");
  }
  return 0;
}

static int create_devices(const struct oci_spec *spec, int root_fd, struct berr **err) {
  bool userns = in_user_ns(spec);
  int r;
  if (!dev_is_bind(spec)) {
    for (size_t i = 0; i < sizeof default_devs / sizeof default_devs[0]; i++) {
      const struct default_dev *d = &default_devs[i];
      r = make_device(root_fd, d->path, S_IFCHR, makedev(d->major, d->minor), 0666, 0, 0, userns, "default devices",
                      err);
      if (r < 0)
        return r;
    }
    if ((r = make_dev_symlinks(spec, root_fd, err)) < 0)
      return r;
  }
  for (size_t i = 0; spec->linux_ && i < spec->linux_->n_devices; i++) {
    const struct oci_device *d = &spec->linux_->devices[i];
    _cleanup_free_ char *what = xasprintf("linux.devices[%zu] (%s)", i, d->path);
    dev_t dev = d->type == 'p' ? 0 : makedev((unsigned)d->major, (unsigned)d->minor);
    mode_t perm = d->file_mode.set ? (mode_t)d->file_mode.v : 0666;
    r = make_device(root_fd, d->path, device_type(d->type), dev, perm, d->uid.set ? (uid_t)d->uid.v : 0,
                    d->gid.set ? (gid_t)d->gid.v : 0, userns, what, err);
    if (r < 0)
      return r;
  }
  return 0;
}

/* ---- propagation ---- */

static unsigned long root_propagation(const struct oci_spec *spec) {
  unsigned long p = MS_SLAVE | MS_REC;
  if (spec->linux_ && spec->linux_->rootfs_propagation)
    oci_propagation_parse(spec->linux_->rootfs_propagation, &p);
  return p;
}

/* pivot_root refuses a new root whose parent mount is shared: make that mount private.
 * Find it as the longest mount point in mountinfo that prefixes the rootfs path. */
static int make_parent_private(const char *rootfs, struct berr **err) {
  _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f)
    return berr_sys(err, errno, "open /proc/self/mountinfo");
  _cleanup_free_ char *parent = xstrdup(rootfs);
  char *slash = strrchr(parent, '/');
  if (slash && slash != parent)
    *slash = '\0';
  char line[4096], best[4096] = "/";
  size_t best_len = 1;
  while (fgets(line, sizeof line, f)) {
    /* field 5 is the mount point (no sscanf: see state.c) */
    char *save = NULL, *mp = strtok_r(line, " ", &save);
    for (int field = 1; mp && field < 5; field++)
      mp = strtok_r(NULL, " ", &save);
    if (!mp)
      continue;
    size_t l = strlen(mp);
    if (l > best_len && strncmp(parent, mp, l) == 0 && (parent[l] == '/' || parent[l] == '\0')) {
      snprintf(best, sizeof best, "%s", mp);
      best_len = l;
    }
  }
  if (mount(NULL, best, NULL, MS_PRIVATE, NULL) < 0)
    return berr_sys(err, errno, "make %s private", best);
  return 0;
}

int rt_rootfs_prepare(const struct oci_spec *spec, const char *rootfs, const struct cgroup *cg, struct berr **err) {
  unsigned long prop = root_propagation(spec);
  if (mount(NULL, "/", NULL, prop, NULL) < 0)
    return berr_sys(err, errno, "linux.rootfsPropagation: set propagation of /");
  /* after a recursive slave/private, no mount is shared: only "shared" needs this */
  int r = (prop & MS_SHARED) ? make_parent_private(rootfs, err) : 0;
  if (r < 0)
    return r;
  if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
    return berr_sys(err, errno, "root.path: bind %s onto itself", rootfs);
  _cleanup_close_ int root_fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0)
    return berr_sys(err, errno, "root.path: open %s", rootfs);
  for (size_t i = 0; i < spec->n_mounts; i++)
    if ((r = mount_one(spec, &spec->mounts[i], root_fd, cg, i, err)) < 0)
      return r;
  return create_devices(spec, root_fd, err);
}

int rt_rootfs_pivot(const char *rootfs, bool no_pivot, struct berr **err) {
  if (chdir(rootfs) < 0)
    return berr_sys(err, errno, "chdir %s", rootfs);
  if (no_pivot) {
    if (mount(rootfs, "/", NULL, MS_MOVE, NULL) < 0)
      return berr_sys(err, errno, "move %s to /", rootfs);
    if (chroot(".") < 0)
      return berr_sys(err, errno, "chroot %s", rootfs);
    return chdir("/") < 0 ? berr_sys(err, errno, "chdir /") : 0;
  }
  _cleanup_close_ int old_root = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (old_root < 0)
    return berr_sys(err, errno, "open /");
  /* pivot_root(".", "."): the old root is stacked on the new one, then detached */
  if (syscall(SYS_pivot_root, ".", ".") < 0)
    return berr_sys(err, errno, "pivot_root %s", rootfs);
  if (fchdir(old_root) < 0)
    return berr_sys(err, errno, "fchdir old root");
  /* never let the unmount below propagate to the host */
  if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
    return berr_sys(err, errno, "make old root rslave");
  if (umount2(".", MNT_DETACH) < 0)
    return berr_sys(err, errno, "detach old root");
  return chdir("/") < 0 ? berr_sys(err, errno, "chdir /") : 0;
}

static int write_sysctls(const struct oci_linux *l, struct berr **err) {
  for (size_t i = 0; l->sysctl_keys && l->sysctl_keys[i]; i++) {
    const char *key = l->sysctl_keys[i], *val = l->sysctl_values[i];
    if (strstr(key, "..") || strchr(key, '/') == key)
      return berr_set(err, EINVAL, "linux.sysctl: invalid key %s", key);
    _cleanup_free_ char *path = xasprintf("/proc/sys/%s", key);
    for (char *p = path + strlen("/proc/sys/"); *p; p++)
      if (*p == '.')
        *p = '/';
    int r = write_file(path, val, strlen(val), err);
    if (r < 0)
      return berr_wrap(err, "linux.sysctl %s", key);
  }
  return 0;
}

static int readonly_path(const char *p, struct berr **err) {
  if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0) {
    if (errno == ENOENT)
      return 0;
    return berr_sys(err, errno, "linux.readonlyPaths: bind %s", p);
  }
  return remount_bind(p, MS_RDONLY, 0, "linux.readonlyPaths", err);
}

static int mask_path(const char *p, struct berr **err) {
  struct stat st;
  if (stat(p, &st) < 0)
    return 0; /* nothing there to hide */
  int r = S_ISDIR(st.st_mode) ? mount("tmpfs", p, "tmpfs", MS_RDONLY, "size=0k")
                              : mount("/dev/null", p, NULL, MS_BIND, NULL);
  if (r < 0)
    return berr_sys(err, errno, "linux.maskedPaths: mask %s", p);
  return 0;
}

int rt_rootfs_finish(const struct oci_spec *spec, struct berr **err) {
  const struct oci_linux *l = spec->linux_;
  int r;
  if (l && (r = write_sysctls(l, err)) < 0)
    return r;
  for (size_t i = 0; l && l->readonly_paths && l->readonly_paths[i]; i++)
    if ((r = readonly_path(l->readonly_paths[i], err)) < 0)
      return r;
  for (size_t i = 0; l && l->masked_paths && l->masked_paths[i]; i++)
    if ((r = mask_path(l->masked_paths[i], err)) < 0)
      return r;
  if (spec->root.readonly && (r = remount_bind("/", MS_RDONLY, 0, "root.readonly", err)) < 0)
    return r;
  if (l && l->rootfs_propagation && mount(NULL, "/", NULL, root_propagation(spec), NULL) < 0)
    return berr_sys(err, errno, "linux.rootfsPropagation %s", l->rootfs_propagation);
  return 0;
}
