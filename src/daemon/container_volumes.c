/*
 * container_volumes.c — volumes and mounts of containers (container_volumes.h):
 * HostConfig.Binds / Mounts / VolumesFrom and Config.Volumes resolved into
 * mount points at create, new volumes filled from the image (copy-up) at create
 * as dockerd does (so `volume inspect`, `cp` see the content before any start),
 * the volumes acquired at start,
 * inspect's Mounts, and the anonymous volumes removed with the container.
 *
 * Resolution follows dockerd 20.10 (daemon/volumes.go registerMountPoints,
 * volume/mounts/linux_parser.go; read, not copied): Config.Volumes first
 * (anonymous volumes), then VolumesFrom, then Binds, then Mounts; a later
 * source replaces an earlier one at the same destination, but two entries of
 * Binds/Mounts at the same destination are "Duplicate mount point". Mode is
 * what inspect shows: the -v mode string, "z" for volumes without one, ""
 * for anonymous Config.Volumes entries and --mount binds.
 *
 * Invariant: a mount point record never holds a host path for volumes (the
 * store's path is looked up at use), so volumes can move with the data root.
 * HostConfig.Tmpfs and tmpfs Mounts stay with container_spec.c; the OCI
 * mounts made here are binds only (spec_input.volume_mounts).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>

#include "daemon/container_volumes.h"
#include "daemon/userns.h"
#include "volume/volume.h"

/* ------------------------------------------------------------ parsing ---- */

static bool is_propagation(const char *o) {
  static const char *const p[] = {"shared", "rshared", "slave", "rslave", "private", "rprivate"};
  for (size_t i = 0; i < 6; i++)
    if (strcmp(p[i], o) == 0)
      return true;
  return false;
}

/* Docker's ValidMountMode: each comma item a known word, at most one of
 * each kind. */
static bool valid_mode(const char *mode) {
  _cleanup_free_ char *m = xstrdup(mode);
  char *p = m, *t;
  int rw = 0, label = 0, prop = 0, copy = 0, cons = 0;
  while ((t = strsep(&p, ",")) != NULL) {
    if (!strcmp(t, "ro") || !strcmp(t, "rw"))
      rw++;
    else if (!strcmp(t, "z") || !strcmp(t, "Z"))
      label++;
    else if (is_propagation(t))
      prop++;
    else if (!strcmp(t, "nocopy"))
      copy++;
    else if (!strcmp(t, "consistent") || !strcmp(t, "cached") || !strcmp(t, "delegated"))
      cons++;
    else
      return false;
  }
  return rw <= 1 && label <= 1 && prop <= 1 && copy <= 1 && cons <= 1;
}

static bool mode_has(const char *mode, const char *word) {
  _cleanup_free_ char *m = xstrdup(mode ? mode : "");
  char *p = m, *t;
  while ((t = strsep(&p, ",")) != NULL)
    if (!strcmp(t, word))
      return true;
  return false;
}

static const char *mode_propagation(const char *mode) {
  static const char *const p[] = {"shared", "rshared", "slave", "rslave", "private", "rprivate"};
  for (size_t i = 0; i < 6; i++)
    if (mode_has(mode, p[i]))
      return p[i];
  return NULL;
}

static json_t *mp_new(const char *type, const char *name, const char *src, const char *dst,
                      const char *mode, bool rw, const char *prop) {
  json_t *m = json_pack("{s:s,s:s,s:s,s:b}", "Type", type, "Destination", dst, "Mode", mode,
                        "RW", rw);
  if (!strcmp(type, "volume")) {
    json_object_set_new(m, "Name", json_string(name ? name : ""));
    json_object_set_new(m, "Driver", json_string("local"));
    json_object_set_new(m, "CopyData", json_true());
  } else {
    json_object_set_new(m, "Source", json_string(src ? src : ""));
  }
  json_object_set_new(m, "Propagation", json_string(prop ? prop : ""));
  return m;
}

static int check_dest(const char *spec, const char *type, const char *dst, struct berr **err) {
  if (dst[0] != '/')
    return berr_set(err, EINVAL,
                    "invalid volume specification: '%s': invalid mount config for type \"%s\": "
                    "invalid mount path: '%s' mount path must be absolute",
                    spec, type, dst);
  if (!strcmp(dst, "/"))
    return berr_set(err, EINVAL,
                    "invalid volume specification: '%s': invalid mount config for type \"%s\": "
                    "invalid specification: destination can't be '/'",
                    spec, type);
  return 0;
}

/* one HostConfig.Binds entry: "src:dst[:mode]", "dst[:mode]" */
static int parse_bind(const char *spec, json_t **out, struct berr **err) {
  _cleanup_free_ char *s = xstrdup(spec);
  char *parts[4] = {0};
  size_t n = 0;
  for (char *p = s, *t; (t = strsep(&p, ":")) != NULL;) {
    if (n == 3)
      return berr_set(err, EINVAL, "invalid volume specification: '%s'", spec);
    parts[n++] = t;
  }
  const char *src = "", *dst = NULL, *mode = "";
  if (n == 1) {
    dst = parts[0];
  } else if (n == 2 && valid_mode(parts[1])) {
    dst = parts[0];
    mode = parts[1];
  } else {
    src = parts[0];
    dst = parts[1];
    mode = n == 3 ? parts[2] : "";
  }
  if (!dst || !*dst)
    return berr_set(err, EINVAL, "invalid volume specification: '%s'", spec);
  if (*mode && !valid_mode(mode))
    return berr_set(err, EINVAL, "invalid mode: %s", mode);
  bool bind = src[0] == '/';
  int rc = check_dest(spec, bind ? "bind" : "volume", dst, err);
  if (rc < 0)
    return rc;
  bool rw = !mode_has(mode, "ro");
  if (bind) {
    const char *prop = mode_propagation(mode);
    *out = mp_new("bind", NULL, src, dst, mode, rw, prop ? prop : "rprivate");
    return 0;
  }
  if (mode_propagation(mode))
    return berr_set(err, EINVAL, "invalid mode: %s", mode);
  if (*src && (rc = volume_name_check(src, err)) < 0)
    return rc;
  *out = mp_new("volume", src, NULL, dst, *mode ? mode : "z", rw, NULL);
  if (mode_has(mode, "nocopy"))
    json_object_set_new(*out, "CopyData", json_false());
  return 0;
}

#define mount_err(type, err, fmt, ...)                                                       \
  berr_set(err, EINVAL, "invalid mount config for type \"%s\": " fmt, type, __VA_ARGS__)

/* one HostConfig.Mounts entry of type bind or volume (tmpfs: NULL, left to the spec) */
static int parse_api_mount(const json_t *m, json_t **out, struct berr **err) {
  const char *type = json_string_value(json_object_get(m, "Type"));
  const char *src = json_string_value(json_object_get(m, "Source"));
  const char *dst = json_string_value(json_object_get(m, "Target"));
  bool ro = json_is_true(json_object_get(m, "ReadOnly"));
  const json_t *bo = json_object_get(m, "BindOptions");
  const json_t *vo = json_object_get(m, "VolumeOptions");
  const json_t *to = json_object_get(m, "TmpfsOptions");
  *out = NULL;
  if (!type || !*type)
    type = "";
  if (strcmp(type, "bind") && strcmp(type, "volume") && strcmp(type, "tmpfs"))
    return mount_err(type, err, "mount type unknown%s", "");
  if (!dst || !*dst)
    return mount_err(type, err, "field Target must not be empty%s", "");
  if (dst[0] != '/')
    return berr_set(err, EINVAL, "invalid mount config for type \"%s\": invalid mount path: "
                    "'%s' mount path must be absolute", type, dst);
  if (!strcmp(type, "tmpfs")) {
    if (src && *src)
      return mount_err(type, err, "field Source must not be specified%s", "");
    if (json_is_object(bo) || json_is_object(vo))
      return mount_err(type, err, "field %s must not be specified",
                       json_is_object(bo) ? "BindOptions" : "VolumeOptions");
    *out = mp_new("tmpfs", NULL, "", dst, "", !ro, "");
    return 0;
  }
  if (!strcmp(type, "bind")) {
    if (!src || !*src)
      return mount_err(type, err, "field Source must not be empty%s", "");
    if (json_is_object(vo) || json_is_object(to))
      return mount_err(type, err, "field %s must not be specified",
                       json_is_object(vo) ? "VolumeOptions" : "TmpfsOptions");
    if (src[0] != '/')
      return berr_set(err, EINVAL, "invalid mount config for type \"bind\": invalid mount path: "
                      "'%s' mount path must be absolute", src);
    if (!path_exists(src))
      return mount_err(type, err, "bind source path does not exist: %s", src);
    const char *prop = json_string_value(json_object_get(bo, "Propagation"));
    if (prop && *prop && !is_propagation(prop))
      return mount_err(type, err, "invalid propagation mode: %s", prop);
    *out = mp_new("bind", NULL, src, dst, "", !ro, prop && *prop ? prop : "rprivate");
    if (json_is_true(json_object_get(bo, "NonRecursive")))
      json_object_set_new(*out, "NonRecursive", json_true());
    return 0;
  }
  if (json_is_object(bo) || json_is_object(to))
    return mount_err(type, err, "field %s must not be specified",
                     json_is_object(bo) ? "BindOptions" : "TmpfsOptions");
  int rc;
  if (src && *src && (rc = volume_name_check(src, err)) < 0)
    return rc;
  const char *drv = json_string_value(json_object_get(json_object_get(vo, "DriverConfig"), "Name"));
  if (drv && *drv && strcmp(drv, "local"))
    return berr_set(err, ENOENT, "error looking up volume plugin %s: plugin \"%s\" not found",
                    drv, drv);
  *out = mp_new("volume", src ? src : "", NULL, dst, "z", !ro, NULL);
  if (json_is_true(json_object_get(vo, "NoCopy")))
    json_object_set_new(*out, "CopyData", json_false());
  const char *sub = json_string_value(json_object_get(vo, "Subpath"));
  if (sub && *sub) {
    bool esc = false;
    _cleanup_free_ char *clean = path_clean(sub, &esc);
    if (esc || sub[0] == '/') {
      json_decref(*out);
      *out = NULL;
      return berr_set(err, EINVAL, "invalid mount config for type \"volume\": subpath must be "
                      "a relative path within the volume: %s", sub);
    }
    json_object_set_new(*out, "SubPath", json_string(clean));
  }
  const json_t *labels = json_object_get(vo, "Labels");
  const json_t *opts = json_object_get(json_object_get(vo, "DriverConfig"), "Options");
  if (json_object_size(labels))
    json_object_set(*out, "VolumeLabels", (json_t *)labels);
  if (json_object_size(opts))
    json_object_set(*out, "VolumeOptions", (json_t *)opts);
  return 0;
}

static json_t *take_dest(json_t *list, const char *dst) {
  size_t i;
  json_t *m;
  json_array_foreach(list, i, m) {
    if (!strcmp(json_string_value(json_object_get(m, "Destination")), dst)) {
      json_incref(m);
      json_array_remove(list, i);
      return m;
    }
  }
  return NULL;
}

static bool mp_is_tmpfs(const json_t *m) {
  return !strcmp(json_string_value(json_object_get(m, "Type")), "tmpfs");
}

/* `user` holds Binds/Mounts entries so far: duplicates refused */
static int add_user_mp(json_t *all, json_t *user_dests, json_t *m, struct berr **err) {
  const char *dst = json_string_value(json_object_get(m, "Destination"));
  _cleanup_free_ char *clean = path_clean(dst, NULL);
  if (json_object_get(user_dests, clean)) {
    json_decref(m);
    return berr_set(err, EINVAL, "Duplicate mount point: %s", clean);
  }
  json_object_set_new(user_dests, clean, json_true());
  json_object_set_new(m, "Destination", json_string(clean));
  json_decref(take_dest(all, clean));
  json_array_append_new(all, m);
  return 0;
}

int cv_parse_mounts(const json_t *cfg, const json_t *hc, json_t **out, struct berr **err) {
  _cleanup_json_ json_t *all = json_array(), *dests = json_object();
  const char *k;
  json_t *v;
  size_t i;
  json_object_foreach((json_t *)json_object_get(cfg, "Volumes"), k, v) {
    _cleanup_free_ char *clean = path_clean(k, NULL);
    int rc = check_dest(k, "volume", k, err);
    if (rc < 0)
      return rc;
    json_decref(take_dest(all, clean));
    json_array_append_new(all, mp_new("volume", "", NULL, clean, "", true, NULL));
  }
  json_array_foreach(json_object_get(hc, "Binds"), i, v) {
    json_t *m = NULL;
    int rc;
    if (!json_is_string(v))
      return berr_set(err, EINVAL, "invalid volume specification: not a string");
    if ((rc = parse_bind(json_string_value(v), &m, err)) < 0 ||
        (rc = add_user_mp(all, dests, m, err)) < 0)
      return rc;
  }
  json_array_foreach(json_object_get(hc, "Mounts"), i, v) {
    json_t *m = NULL;
    int rc;
    if ((rc = parse_api_mount(v, &m, err)) < 0 || (rc = add_user_mp(all, dests, m, err)) < 0)
      return rc;
  }
  *out = steal_ptr(all);
  return 0;
}

/* ---------------------------------------------------------- at create ---- */

/* "ID[:ro|:rw]" → the other container's mount points, RW and Mode adjusted */
static int volumes_from(struct daemon *d, const char *spec, json_t *all, struct berr **err) {
  _cleanup_free_ char *s = xstrdup(spec);
  char *colon = strrchr(s, ':');
  const char *mode = "";
  if (colon) {
    *colon = '\0';
    mode = colon + 1;
    if (strcmp(mode, "ro") && strcmp(mode, "rw") && strcmp(mode, "z") && strcmp(mode, "Z"))
      return berr_set(err, EINVAL, "invalid mode for volumes-from: %s", mode);
  }
  struct container *o = NULL;
  int rc = ctr_get(d, s, &o, err);
  if (rc == -ENOENT && err && *err) {
    (*err)->code = EINVAL; /* dockerd answers 400: a 404 would make the CLI pull the image */
    return -EINVAL;
  }
  if (rc < 0)
    return rc;
  _cleanup_json_ json_t *mps = volume_refs_get(d->volumes, o->id);
  ctr_put(o);
  size_t i;
  json_t *m;
  json_array_foreach(mps, i, m) {
    if (mp_is_tmpfs(m))
      continue;
    json_t *c = json_deep_copy(m);
    json_object_set_new(c, "Mode", json_string(""));
    json_object_del(c, "Anonymous");
    json_object_set_new(c, "CopyData", json_false());
    if (!strcmp(mode, "ro"))
      json_object_set_new(c, "RW", json_false());
    json_decref(take_dest(all, json_string_value(json_object_get(c, "Destination"))));
    json_array_append_new(all, c);
  }
  return 0;
}

/* create the volumes the mount points name (anonymous ones get a name) */
static int create_volumes(struct daemon *d, json_t *all, json_t *made, struct berr **err) {
  size_t i;
  json_t *m;
  json_array_foreach(all, i, m) {
    if (strcmp(json_string_value(json_object_get(m, "Type")), "volume"))
      continue;
    const char *name = json_string_value(json_object_get(m, "Name"));
    bool anon = !name || !*name;
    if (!anon && volume_exists(d->volumes, name))
      continue;
    _cleanup_json_ json_t *v = NULL;
    int rc = volume_create(d->volumes, anon ? NULL : name, "local",
                           json_object_get(m, "VolumeOptions"), json_object_get(m, "VolumeLabels"),
                           &v, err);
    if (rc < 0)
      return rc;
    const char *n = json_string_value(json_object_get(v, "Name"));
    json_array_append_new(made, json_string(n));
    events_publish(d->events, "volume", "create", n, json_pack("{s:s}", "driver", "local"));
    if (anon) {
      json_object_set_new(m, "Name", json_string(n));
      json_object_set_new(m, "Anonymous", json_true());
    }
  }
  return 0;
}

static void remove_made(struct daemon *d, const json_t *made) {
  size_t i;
  json_t *n;
  json_array_foreach(made, i, n) volume_remove(d->volumes, json_string_value(n), true, NULL);
}

int ctr_volumes_create(struct daemon *d, struct container *c, struct berr **err) {
  if (!d->volumes)
    return 0;
  _cleanup_json_ json_t *all = NULL, *made = json_array();
  int rc = cv_parse_mounts(c->config, c->host_config, &all, err);
  if (rc < 0)
    return rc;
  /* VolumesFrom go under Binds and Mounts: re-apply those on top */
  const json_t *vf = json_object_get(c->host_config, "VolumesFrom");
  if (json_array_size(vf)) {
    _cleanup_json_ json_t *base = NULL, *user = NULL;
    _cleanup_json_ json_t *cfg_only = json_pack("{s:O*}", "Volumes",
                                                json_object_get(c->config, "Volumes"));
    if ((rc = cv_parse_mounts(cfg_only, NULL, &base, err)) < 0)
      return rc;
    size_t i;
    json_t *v;
    json_array_foreach(vf, i, v) {
      if ((rc = volumes_from(d, json_string_value(v) ? json_string_value(v) : "", base, err)) < 0)
        return rc;
    }
    _cleanup_json_ json_t *hc_only = json_pack("{s:O*,s:O*}", "Binds",
                                               json_object_get(c->host_config, "Binds"), "Mounts",
                                               json_object_get(c->host_config, "Mounts"));
    if ((rc = cv_parse_mounts(NULL, hc_only, &user, err)) < 0)
      return rc;
    json_array_foreach(user, i, v) {
      json_decref(take_dest(base, json_string_value(json_object_get(v, "Destination"))));
      json_array_append(base, v);
    }
    json_decref(all);
    all = json_incref(base);
  }
  /* -v binds: dockerd creates a missing host directory (not for --mount) */
  size_t i;
  json_t *m;
  json_array_foreach(all, i, m) {
    const char *src = json_string_value(json_object_get(m, "Source"));
    if (!strcmp(json_string_value(json_object_get(m, "Type")), "bind") && src && *src &&
        !path_exists(src) && ((rc = mkdir_p(src, 0755, err)) < 0 ||
                              (userns_active(d->userns, c->host_config) &&
                               (rc = userns_own(d->userns, src, 0, err)) < 0)))
      return berr_wrap(err, "error while creating mount source path '%s'", src);
  }
  if ((rc = create_volumes(d, all, made, err)) < 0 ||
      (rc = volume_refs_set(d->volumes, c->id, all, err)) < 0) {
    remove_made(d, made);
    return rc;
  }
  return 0;
}

/* ------------------------------------------------------------ copy-up ---- */

static void copy_meta(int fd, const struct stat *st) {
  if (fchown(fd, st->st_uid, st->st_gid) < 0)
    log_debug("copy-up: chown: %s", strerror(errno));
  if (fchmod(fd, st->st_mode & 07777) < 0)
    log_debug("copy-up: chmod: %s", strerror(errno));
  struct timespec ts[2] = {st->st_atim, st->st_mtim};
  futimens(fd, ts);
}

static int copy_file(int sdir, int ddir, const char *name, const struct stat *st) {
  _cleanup_close_ int in = openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  _cleanup_close_ int out =
      openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (in < 0 || out < 0)
    return -errno;
  char buf[65536];
  ssize_t n;
  while ((n = read(in, buf, sizeof(buf))) > 0)
    for (ssize_t off = 0; off < n;) {
      ssize_t w = write(out, buf + off, (size_t)(n - off));
      if (w < 0)
        return -errno;
      off += w;
    }
  if (n < 0)
    return -errno;
  copy_meta(out, st);
  return 0;
}

static int copy_tree(int sdir, int ddir, int depth);

static int copy_entry(int sdir, int ddir, const char *name, int depth) {
  struct stat st;
  if (fstatat(sdir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return -errno;
  if (S_ISDIR(st.st_mode)) {
    if (mkdirat(ddir, name, 0700) < 0 && errno != EEXIST)
      return -errno;
    _cleanup_close_ int s = openat(sdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    _cleanup_close_ int dd = openat(ddir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (s < 0 || dd < 0)
      return -errno;
    int rc = copy_tree(s, dd, depth + 1);
    copy_meta(dd, &st);
    return rc;
  }
  if (S_ISREG(st.st_mode))
    return copy_file(sdir, ddir, name, &st);
  if (S_ISLNK(st.st_mode)) {
    char target[4096];
    ssize_t n = readlinkat(sdir, name, target, sizeof(target) - 1);
    if (n < 0)
      return -errno;
    target[n] = '\0';
    if (symlinkat(target, ddir, name) < 0)
      return -errno;
    if (fchownat(ddir, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
    log_debug("copy-up: chown %s: %s", name, strerror(errno));
    return 0;
  }
  if (mknodat(ddir, name, st.st_mode, st.st_rdev) < 0)
    return -errno;
  if (fchownat(ddir, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
    log_debug("copy-up: chown %s: %s", name, strerror(errno));
  return 0;
}

static int copy_tree(int sdir, int ddir, int depth) {
  if (depth > 256)
    return -ELOOP;
  int fd = dup(sdir);
  if (fd < 0)
    return -errno;
  _cleanup_closedir_ DIR *dir = fdopendir(fd);
  if (!dir) {
    close(fd);
    return -errno;
  }
  struct dirent *e;
  int rc = 0;
  while ((e = readdir(dir)) != NULL && rc == 0) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
      continue;
    rc = copy_entry(sdir, ddir, e->d_name, depth);
  }
  return rc;
}

/* Docker's copy-up: the image's content at `dst` (resolved inside the rootfs)
 * into the empty volume at `vpath`, with owners, modes and times. */
static int copy_up(const char *rootfs, const char *dst, const char *vpath, struct berr **err) {
  _cleanup_close_ int root = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0)
    return berr_sys(err, errno, "copy-up: open the rootfs %s", rootfs);
  _cleanup_berr_ struct berr *e = NULL;
  _cleanup_close_ int src = archive_openat_root(root, dst, O_RDONLY | O_DIRECTORY, &e);
  if (src < 0)
    return 0; /* nothing at the mount point in the image (or not a directory) */
  _cleanup_close_ int out = open(vpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (out < 0)
    return berr_sys(err, errno, "copy-up: open the volume %s", vpath);
  struct stat st;
  if (fstat(src, &st) == 0)
    copy_meta(out, &st); /* dockerd copies the directory's owner and mode too */
  int rc = copy_tree(src, out, 0);
  if (rc < 0)
    return berr_set(err, -rc, "copy the image's content at %s into the volume: %s", dst,
                    strerror(-rc));
  return 0;
}

/* Does any volume mount point want the image's content (CopyData) and is its
 * volume still empty? */
static bool copy_wanted(struct daemon *d, const json_t *mps) {
  size_t i;
  json_t *m;
  json_array_foreach(mps, i, m) {
    if (!strcmp(json_string_value(json_object_get(m, "Type")), "volume") &&
        json_is_true(json_object_get(m, "CopyData")) &&
        volume_is_empty(d->volumes, json_string_value(json_object_get(m, "Name"))))
      return true;
  }
  return false;
}

static int populate_one(struct daemon *d, struct container *c, const json_t *m,
                        const char *rootfs, struct berr **err) {
  const char *name = json_string_value(json_object_get(m, "Name"));
  _cleanup_free_ char *path = NULL;
  /* acquired for the copy only: a volume with mount options (tmpfs) loses it
   * again at the release, as with dockerd */
  int rc = volume_acquire(d->volumes, name, c->id, &path, err);
  if (rc < 0)
    return rc;
  if (volume_is_empty(d->volumes, name))
    rc = copy_up(rootfs, json_string_value(json_object_get(m, "Destination")), path, err);
  volume_release(d->volumes, name, c->id);
  return rc;
}

int ctr_volumes_populate(struct daemon *d, struct container *c, struct berr **err) {
  if (!d->volumes)
    return 0;
  _cleanup_json_ json_t *mps = volume_refs_get(d->volumes, c->id);
  if (!mps || !copy_wanted(d, mps))
    return 0; /* the common case: no mount needed */
  _cleanup_free_ char *rootfs = NULL;
  int rc = store_rw_mount(d->store, c->id, &rootfs, err);
  if (rc < 0)
    return rc;
  size_t i;
  json_t *m;
  json_array_foreach(mps, i, m) {
    if (rc == 0 && !strcmp(json_string_value(json_object_get(m, "Type")), "volume") &&
        json_is_true(json_object_get(m, "CopyData")))
      rc = populate_one(d, c, m, rootfs, err);
  }
  store_rw_unmount(d->store, c->id, NULL);
  return rc;
}

/* ------------------------------------------------------------ at start ---- */

/* --userns-remap: a volume still owned by the host's root becomes the
 * remapped root's, as dockerd's volumes are made for it. */
static int userns_volume(struct daemon *d, struct container *c, const char *path,
                         struct berr **err) {
  struct stat st;
  if (!userns_active(d->userns, c->host_config) || stat(path, &st) < 0 || st.st_uid != 0 ||
      st.st_gid != 0)
    return 0;
  return userns_own(d->userns, path, 0, err);
}

static json_t *oci_bind(const char *dst, const char *src, bool recursive, const char *prop,
                        bool rw) {
  return json_pack("{s:s,s:s,s:s,s:[s,s,s]}", "destination", dst, "type", "bind", "source", src,
                   "options", recursive ? "rbind" : "bind", prop && *prop ? prop : "rprivate",
                   rw ? "rw" : "ro");
}

static int start_volume(struct daemon *d, struct container *c, const json_t *m,
                        const char *rootfs, json_t *out, struct berr **err) {
  const char *name = json_string_value(json_object_get(m, "Name"));
  const char *dst = json_string_value(json_object_get(m, "Destination"));
  _cleanup_free_ char *path = NULL;
  int rc = volume_acquire(d->volumes, name, c->id, &path, err);
  if (rc < 0)
    return rc;
  (void)rootfs; /* copy-up happened at create (ctr_volumes_populate) */
  if ((rc = userns_volume(d, c, path, err)) < 0)
    return rc;
  const char *sub = json_string_value(json_object_get(m, "SubPath"));
  _cleanup_free_ char *src = NULL;
  if (sub && *sub) {
    if ((rc = path_join_in_root(path, sub, &src, err)) < 0)
      return rc;
    /* a symlink inside the volume must not lead out of it (the runtime binds
     * the host path); a container racing this check can still swap a
     * component, as with dockerd before 25 */
    _cleanup_free_ char *real = realpath(src, NULL), *base = realpath(path, NULL);
    size_t bl = base ? strlen(base) : 0;
    if (!real || !base || strncmp(real, base, bl) || (real[bl] != '/' && real[bl] != '\0'))
      return berr_set(err, ENOENT, "cannot access path %s: subpath of volume %s", src, name);
  }
  json_array_append_new(out, oci_bind(dst, src ? src : path, true, NULL,
                                      json_is_true(json_object_get(m, "RW"))));
  return 0;
}

int ctr_volumes_start(struct daemon *d, struct container *c, const char *rootfs, json_t **out,
                      struct berr **err) {
  *out = NULL;
  if (!d->volumes)
    return 0;
  _cleanup_json_ json_t *mps = volume_refs_get(d->volumes, c->id);
  if (!mps)
    return 0; /* made before mount points were recorded: the spec reads HostConfig */
  json_t *a = json_array();
  size_t i;
  json_t *m;
  int rc = 0;
  json_array_foreach(mps, i, m) {
    const char *type = json_string_value(json_object_get(m, "Type"));
    if (!strcmp(type, "volume")) {
      rc = start_volume(d, c, m, rootfs, a, err);
    } else if (!strcmp(type, "bind")) {
      const char *src = json_string_value(json_object_get(m, "Source"));
      json_array_append_new(a, oci_bind(json_string_value(json_object_get(m, "Destination")), src,
                                        !json_is_true(json_object_get(m, "NonRecursive")),
                                        json_string_value(json_object_get(m, "Propagation")),
                                        json_is_true(json_object_get(m, "RW"))));
    }
    if (rc < 0)
      break;
  }
  if (rc < 0) {
    json_decref(a);
    ctr_volumes_release(d, c);
    return rc;
  }
  *out = a;
  return 0;
}

void ctr_volumes_resume(struct daemon *d, struct container *c) {
  if (!d->volumes)
    return;
  _cleanup_json_ json_t *mps = volume_refs_get(d->volumes, c->id);
  size_t i;
  json_t *m;
  json_array_foreach(mps, i, m) {
    if (strcmp(json_string_value(json_object_get(m, "Type")), "volume"))
      continue;
    _cleanup_free_ char *path = NULL;
    _cleanup_berr_ struct berr *e = NULL;
    if (volume_acquire(d->volumes, json_string_value(json_object_get(m, "Name")), c->id, &path,
                       &e) < 0)
      log_warn("container %.12s: volume: %s", c->id, e->msg);
  }
}

void ctr_volumes_release(struct daemon *d, struct container *c) {
  if (!d->volumes)
    return;
  _cleanup_json_ json_t *mps = volume_refs_get(d->volumes, c->id);
  size_t i;
  json_t *m;
  json_array_foreach(mps, i, m) {
    if (!strcmp(json_string_value(json_object_get(m, "Type")), "volume"))
      volume_release(d->volumes, json_string_value(json_object_get(m, "Name")), c->id);
  }
}

/* ----------------------------------------------------- inspect, remove ---- */

json_t *ctr_volumes_inspect(struct daemon *d, const struct container *c) {
  if (!d->volumes)
    return NULL;
  _cleanup_json_ json_t *mps = volume_refs_get(d->volumes, c->id);
  if (!mps)
    return NULL;
  json_t *a = json_array();
  size_t i;
  json_t *m;
  json_array_foreach(mps, i, m) {
    const char *type = json_string_value(json_object_get(m, "Type"));
    const char *name = json_string_value(json_object_get(m, "Name"));
    bool vol = !strcmp(type, "volume");
    _cleanup_free_ char *src = vol ? volume_path(d->volumes, name)
                                   : xstrdup(json_string_value(json_object_get(m, "Source")));
    json_t *o = json_pack("{s:s}", "Type", type);
    if (vol)
      json_object_set_new(o, "Name", json_string(name));
    json_object_set_new(o, "Source", json_string(src ? src : ""));
    json_object_set(o, "Destination", json_object_get(m, "Destination"));
    if (vol)
      json_object_set_new(o, "Driver", json_string("local"));
    json_object_set(o, "Mode", json_object_get(m, "Mode"));
    json_object_set(o, "RW", json_object_get(m, "RW"));
    json_object_set(o, "Propagation", json_object_get(m, "Propagation"));
    json_array_append_new(a, o);
  }
  return a;
}

void ctr_volumes_remove(struct daemon *d, struct container *c, bool rm_anon) {
  if (!d->volumes)
    return;
  _cleanup_json_ json_t *mps = volume_refs_get(d->volumes, c->id);
  volume_refs_drop(d->volumes, c->id);
  if (!rm_anon)
    return;
  size_t i;
  json_t *m;
  json_array_foreach(mps, i, m) {
    const char *name = json_string_value(json_object_get(m, "Name"));
    if (!json_is_true(json_object_get(m, "Anonymous")) || !name)
      continue;
    _cleanup_berr_ struct berr *e = NULL;
    if (volume_remove(d->volumes, name, true, &e) == 0)
      events_publish(d->events, "volume", "destroy", name, json_pack("{s:s}", "driver", "local"));
    else
      log_debug("keep volume %s: %s", name, e->msg); /* another container still uses it */
  }
}
