/*
 * userns.c — the daemon's --userns-remap (daemon.json "userns-remap"):
 * containers run in a user namespace whose root is an unprivileged range of
 * host ids taken from /etc/subuid and /etc/subgid.
 *
 * What dockerd 20.10 does (daemon_unix.go parseRemappedRoot /
 * setupRemappedRoot / setupDaemonRoot, pkg/idtools; read, not copied), and
 * berth the same way:
 *  - the setting: "default" (berth's own user and group, `berthremap`, made
 *    with useradd and given the first free 65536-id ranges from 100000 on
 *    with usermod -v / -w, as dockerd makes `dockremap`), "user", "uid",
 *    "user:group", "uid:gid"; a user without a group uses the group of its
 *    name (or of the same number); "root" means no remapping;
 *  - the ranges: every line of /etc/subuid and of /etc/subgid naming the
 *    user (by name or uid: dockerd 20.10 looks both files up by the user;
 *    the group is checked and named only), in file order, mapped to
 *    consecutive container ids from 0 (createIDMap);
 *  - the data root becomes <data-root>/<uid>.<gid> (the host ids of the
 *    container's root), owned by them, 0700; the parent gets o+x;
 *  - a container runs in a user namespace with those mappings unless
 *    HostConfig.UsernsMode is "host"; --privileged, --net host and --pid host
 *    are refused with dockerd's messages unless it is.
 *
 * Layers are not chowned (dockerd's way: a whole copy of every layer per
 * remapping). The rootfs is an overlay of idmapped mounts instead (store's
 * store_rw_mount_idmapped): the layers keep the image's own ids on disk, the
 * container sees them as its own, commit and push need no shifting. The
 * user namespace those idmapped mounts take is made once, here, and kept
 * open (ns_fd) for the daemon's life.
 *
 * Invariant: a struct userns is immutable once made (no lock needed).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "daemon/container_internal.h"
#include "daemon/userns.h"

#define DEFAULT_REMAP_NAME "berthremap"
#define RANGE_START 100000
#define RANGE_LEN 65536

extern char **environ;

/* ------------------------------------------------------- pure parsing ---- */

static char *trim(char *s) {
  while (*s == ' ' || *s == '\t' || *s == '\r')
    s++;
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
    s[--n] = '\0';
  return s;
}

static bool str_uint(const char *s, int64_t max, int64_t *out) {
  if (*s == '\0' || strlen(s) > 19)
    return false;
  for (const char *p = s; *p; p++)
    if (*p < '0' || *p > '9')
      return false;
  return parse_int64(s, out) == 0 && *out <= max;
}

int userns_subid_parse(const char *text, const char *path, const char *name, int64_t id,
                       json_t **out, struct berr **err) {
  _cleanup_json_ json_t *ranges = json_array();
  _cleanup_free_ char *idtxt = id >= 0 ? xasprintf("%lld", (long long)id) : NULL;
  for (const char *p = text; p && *p;) {
    const char *nl = strchr(p, '\n');
    size_t n = nl ? (size_t)(nl - p) : strlen(p);
    _cleanup_free_ char *line = xasprintf("%.*s", (int)n, p);
    p = nl ? nl + 1 : NULL;
    char *l = trim(line);
    if (*l == '\0' || *l == '#')
      continue;
    char *f[4] = {0};
    int nf = 0;
    for (char *s = l, *t; nf < 4 && (t = strsep(&s, ":")) != NULL;)
      f[nf++] = t;
    if (nf != 3)
      return berr_set(err, EINVAL,
                      "Cannot parse subuid/gid information: Format not correct for %s file", path);
    if (strcmp(f[0], name) != 0 && !(idtxt && strcmp(f[0], idtxt) == 0))
      continue;
    int64_t start = 0, len = 0;
    if (!str_uint(f[1], UINT32_MAX - 1, &start) || !str_uint(f[2], UINT32_MAX, &len) ||
        len == 0 || start + len - 1 > UINT32_MAX - 1)
      return berr_set(err, EINVAL, "bad subordinate id range \"%s:%s\" for %s in %s", f[1], f[2],
                      f[0], path);
    json_array_append_new(ranges, json_pack("[I,I]", (json_int_t)start, (json_int_t)len));
  }
  *out = steal_ptr(ranges);
  return 0;
}

json_t *userns_idmap(const json_t *ranges) {
  json_t *m = json_array();
  json_int_t cid = 0;
  size_t i;
  json_t *r;
  json_array_foreach(ranges, i, r) {
    json_int_t start = json_integer_value(json_array_get(r, 0));
    json_int_t len = json_integer_value(json_array_get(r, 1));
    json_array_append_new(m, json_pack("{s:I,s:I,s:I}", "containerID", cid, "hostID", start,
                                       "size", len));
    cid += len;
  }
  return m;
}

int64_t userns_next_range(const json_t *all) {
  /* dockerd's findNextRangeStart: from 100000, skip past every range the
   * candidate would touch (ends included, as dockerd counts them), in any
   * order, until none does */
  size_t n = json_array_size(all);
  int64_t start = RANGE_START;
  bool moved = true;
  while (moved) {
    moved = false;
    for (size_t i = 0; i < n; i++) {
      int64_t s = json_integer_value(json_array_get(json_array_get(all, i), 0));
      int64_t l = json_integer_value(json_array_get(json_array_get(all, i), 1));
      if (start <= s + l && start + RANGE_LEN >= s && s + l > start) {
        start = s + l;
        moved = true;
      }
    }
  }
  return start;
}

int userns_spec_parse(const char *spec, char **user, char **group, struct berr **err) {
  *user = *group = NULL;
  const char *c1 = strchr(spec, ':');
  if (*spec == '\0' || (c1 && strchr(c1 + 1, ':')))
    return berr_set(err, EINVAL, "Invalid user/group specification in --userns-remap: \"%s\"",
                    spec);
  *user = c1 ? xasprintf("%.*s", (int)(c1 - spec), spec) : xstrdup(spec);
  *group = c1 ? xstrdup(c1 + 1) : NULL;
  return 0;
}

/* ------------------------------------------------------- host accounts ---- */

static int run_tool(const char *const argv[], struct berr **err) {
  pid_t pid;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  int rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0)
    return berr_sys(err, rc, "run %s", argv[0]);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR)
      return berr_sys(err, errno, "wait for %s", argv[0]);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    return berr_set(err, EIO, "%s %s failed (status %d)", argv[0], argv[1] ? argv[1] : "",
                    WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
  return 0;
}

static int read_subid(const char *path, const char *name, int64_t id, json_t **out,
                      struct berr **err) {
  _cleanup_free_ char *text = NULL;
  int rc = read_file(path, &text, NULL, err);
  if (rc == -ENOENT) {
    berr_free(*err);
    *err = NULL;
    *out = json_array();
    return 0;
  }
  return rc < 0 ? rc : userns_subid_parse(text, path, name, id, out, err);
}

/* Every range of the file, whoever owns it (for the next free one). */
static int read_all_ranges(const char *path, json_t **out, struct berr **err) {
  _cleanup_free_ char *text = NULL;
  *out = json_array();
  if (read_file(path, &text, NULL, NULL) < 0)
    return 0;
  for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    char *s = trim(l);
    const char *colon = strchr(s, ':');
    if (*s == '\0' || *s == '#' || colon == NULL)
      continue;
    _cleanup_free_ char *name = xasprintf("%.*s", (int)(colon - s), s);
    _cleanup_json_ json_t *r = NULL;
    if (userns_subid_parse(s, path, name, -1, &r, err) < 0)
      return -EINVAL;
    json_array_extend(*out, r);
  }
  return 0;
}

/* useradd + usermod -v / -w, as dockerd's AddNamespaceRangesUser does. */
static int add_default_user(const struct userns_paths *p, struct berr **err) {
  if (getpwnam(DEFAULT_REMAP_NAME) == NULL) {
    const char *argv[] = {"useradd", "-r", "-s", "/bin/false", DEFAULT_REMAP_NAME, NULL};
    if (run_tool(argv, err) < 0)
      return berr_wrap(err, "Error during \"%s\" user creation", DEFAULT_REMAP_NAME);
    log_info("userns-remap: created the user %s", DEFAULT_REMAP_NAME);
  }
  struct passwd *pw = getpwnam(DEFAULT_REMAP_NAME);
  int64_t uid = pw ? (int64_t)pw->pw_uid : -1;
  const char *files[] = {p->subuid, p->subgid};
  const char *opts[] = {"-v", "-w"};
  for (int i = 0; i < 2; i++) {
    _cleanup_json_ json_t *mine = NULL, *all = NULL;
    if (read_subid(files[i], DEFAULT_REMAP_NAME, uid, &mine, err) < 0 ||
        read_all_ranges(files[i], &all, err) < 0)
      return -EINVAL;
    if (json_array_size(mine) > 0)
      continue;
    int64_t start = userns_next_range(all);
    _cleanup_free_ char *range = xasprintf("%lld-%lld", (long long)start,
                                           (long long)(start + RANGE_LEN - 1));
    const char *argv[] = {"usermod", opts[i], range, DEFAULT_REMAP_NAME, NULL};
    if (run_tool(argv, err) < 0)
      return berr_wrap(err, "add subordinate ids to %s", files[i]);
    log_info("userns-remap: %s gets %s in %s", DEFAULT_REMAP_NAME, range, files[i]);
  }
  return 0;
}

/* "name|uid[:group|gid]" → the host account names (dockerd's parseRemappedRoot). */
static int resolve_names(const char *spec, const struct userns_paths *p, char **user,
                         char **group, uid_t *uid, struct berr **err) {
  _cleanup_free_ char *u = NULL, *g = NULL;
  int rc = userns_spec_parse(spec, &u, &g, err);
  if (rc < 0)
    return rc;
  bool explicit_group = g != NULL;
  int64_t n = 0;
  struct passwd *pw;
  if (str_uint(u, INT32_MAX, &n)) {
    if ((pw = getpwuid((uid_t)n)) == NULL)
      return berr_set(err, ENOENT, "Uid %lld has no entry in /etc/passwd", (long long)n);
    if (g == NULL)
      g = xstrdup(u); /* the gid of the same number */
  } else {
    bool dflt = strcmp(u, "default") == 0;
    if (dflt && (rc = add_default_user(p, err)) < 0)
      return rc;
    if ((pw = getpwnam(dflt ? DEFAULT_REMAP_NAME : u)) == NULL)
      return berr_set(err, ENOENT, "Error during uid lookup for \"%s\": no such user", u);
    if (g == NULL)
      g = xstrdup(pw->pw_name);
  }
  *uid = pw->pw_uid;
  *user = xstrdup(pw->pw_name);
  /* dockerd's words, "/etc/passwd" for an explicit gid included */
  struct group *gr;
  if (str_uint(g, INT32_MAX, &n)) {
    if ((gr = getgrgid((gid_t)n)) == NULL)
      return berr_set(err, ENOENT, "Gid %lld has no entry in /etc/%s", (long long)n,
                      explicit_group ? "passwd" : "group");
  } else if ((gr = getgrnam(g)) == NULL) {
    return berr_set(err, ENOENT, "Error during %s lookup for \"%s\": no such group",
                    explicit_group ? "groupname" : "gid", g);
  }
  *group = xstrdup(gr->gr_name);
  return 0;
}

/* ------------------------------------------------ the namespace itself ---- */

static int write_map(pid_t pid, const char *file, const json_t *map, struct berr **err) {
  _cleanup_free_ char *path = xasprintf("/proc/%d/%s", (int)pid, file);
  _cleanup_free_ char *text = xstrdup("");
  size_t i;
  json_t *m;
  json_array_foreach(map, i, m) {
    char *t = xasprintf("%s%lld %lld %lld\n", text,
                        (long long)json_integer_value(json_object_get(m, "containerID")),
                        (long long)json_integer_value(json_object_get(m, "hostID")),
                        (long long)json_integer_value(json_object_get(m, "size")));
    free(text);
    text = t;
  }
  _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
    return berr_sys(err, errno, "write %s", path);
  return 0;
}

/* A user namespace with the mappings, held by an fd: a child unshares it and
 * waits on a pipe while we write its maps and open /proc/<pid>/ns/user. */
static int make_ns(const json_t *uids, const json_t *gids, int *out, struct berr **err) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0)
    return berr_sys(err, errno, "pipe");
  int ready[2];
  if (pipe2(ready, O_CLOEXEC) < 0) {
    close(p[0]);
    close(p[1]);
    return berr_sys(err, errno, "pipe");
  }
  pid_t pid = fork();
  if (pid == 0) {
    close(p[1]); /* else the read below never sees the parent's close */
    close(ready[0]);
    char c = unshare(CLONE_NEWUSER) == 0 ? 'y' : 'n';
    (void)!write(ready[1], &c, 1);
    (void)!read(p[0], &c, 1); /* until the parent is done (or gone) */
    _exit(0);
  }
  close(p[0]);
  close(ready[1]);
  int rc = 0;
  char c = 'n';
  if (pid < 0)
    rc = berr_sys(err, errno, "fork");
  else if (read(ready[0], &c, 1) != 1 || c != 'y')
    rc = berr_set(err, EPERM, "unshare a user namespace: refused");
  if (rc == 0 && (rc = write_map(pid, "uid_map", uids, err)) == 0 &&
      (rc = write_map(pid, "gid_map", gids, err)) == 0) {
    _cleanup_free_ char *ns = xasprintf("/proc/%d/ns/user", (int)pid);
    *out = open(ns, O_RDONLY | O_CLOEXEC);
    if (*out < 0)
      rc = berr_sys(err, errno, "open %s", ns);
  }
  close(p[1]);
  close(ready[0]);
  if (pid > 0)
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
      ;
  return rc;
}

/* ------------------------------------------------------------- public ---- */

int userns_open(const char *spec, const struct userns_paths *paths, struct userns **out,
                struct berr **err) {
  *out = NULL;
  _cleanup_free_ char *user = NULL, *group = NULL;
  uid_t uid = 0;
  int rc = resolve_names(spec, paths, &user, &group, &uid, err);
  if (rc < 0)
    return rc;
  if (strcmp(user, "root") == 0) {
    log_warn("User namespaces: root cannot be remapped with itself; user namespaces are OFF");
    return 0;
  }
  /* dockerd 20.10 (NewIdentityMapping(username)) takes both files' ranges
   * by the user; the group is only named */
  _cleanup_json_ json_t *ur = NULL, *gr_ranges = NULL;
  if ((rc = read_subid(paths->subuid, user, uid, &ur, err)) < 0 ||
      (rc = read_subid(paths->subgid, user, uid, &gr_ranges, err)) < 0)
    return berr_wrap(err, "Can't create ID mappings");
  if (json_array_size(ur) == 0)
    return berr_set(err, ENOENT, "Can't create ID mappings: no subuid ranges found for user \"%s\"",
                    user);
  if (json_array_size(gr_ranges) == 0)
    return berr_set(err, ENOENT,
                    "Can't create ID mappings: no subgid ranges found for user \"%s\"", user);
  struct userns *u = xcalloc(1, sizeof *u);
  u->ns_fd = -1;
  u->user = steal_ptr(user);
  u->group = steal_ptr(group);
  u->uid_map = userns_idmap(ur);
  u->gid_map = userns_idmap(gr_ranges);
  u->root_uid = (uid_t)json_integer_value(json_array_get(json_array_get(ur, 0), 0));
  u->root_gid = (gid_t)json_integer_value(json_array_get(json_array_get(gr_ranges, 0), 0));
  if ((rc = make_ns(u->uid_map, u->gid_map, &u->ns_fd, err)) < 0) {
    userns_free(u);
    return berr_wrap(err, "userns-remap");
  }
  log_info("User namespaces: ID ranges will be mapped to subuid/subgid ranges of: %s", u->user);
  *out = u;
  return 0;
}

void userns_free(struct userns *u) {
  if (u == NULL)
    return;
  if (u->ns_fd >= 0)
    close(u->ns_fd);
  free(u->user);
  free(u->group);
  json_decref(u->uid_map);
  json_decref(u->gid_map);
  free(u);
}

int userns_data_root(const struct userns *u, const char *base, char **out, struct berr **err) {
  /* dockerd's setupDaemonRoot: the base 0711 (so the remapped root can pass),
   * <base>/<uid>.<gid> 0700 owned by the remapped root */
  if (chmod(base, 0711) < 0)
    return berr_sys(err, errno, "chmod %s", base);
  _cleanup_free_ char *dir = xasprintf("%s/%u.%u", base, (unsigned)u->root_uid,
                                       (unsigned)u->root_gid);
  int rc = mkdir_p(dir, 0700, err);
  if (rc < 0)
    return rc;
  if (chown(dir, u->root_uid, u->root_gid) < 0 || chmod(dir, 0700) < 0)
    return berr_sys(err, errno, "chown %s to the remapped root", dir);
  /* every directory above must let the remapped root pass (dockerd checks too) */
  _cleanup_free_ char *up = xstrdup(dir);
  for (char *slash; (slash = strrchr(up, '/')) != NULL && slash != up;) {
    *slash = '\0';
    struct stat st;
    if (stat(up, &st) < 0)
      return berr_sys(err, errno, "stat %s", up);
    bool pass = (st.st_mode & S_IXOTH) || (st.st_gid == u->root_gid && (st.st_mode & S_IXGRP)) ||
                (st.st_uid == u->root_uid && (st.st_mode & S_IXUSR));
    if (!pass)
      return berr_set(err, EACCES,
                      "a subdirectory in your graphroot path (%s) restricts access to the "
                      "remapped root uid/gid; please fix by allowing 'o+x' permissions on "
                      "existing directories",
                      dir);
  }
  *out = steal_ptr(dir);
  return 0;
}

bool userns_active(const struct userns *u, const json_t *hc) {
  const char *m = json_string_value(json_object_get(hc, "UsernsMode"));
  return u != NULL && !(m && strcmp(m, "host") == 0);
}

int userns_check_create(const struct userns *u, const json_t *hc, struct berr **err) {
  if (!userns_active(u, hc))
    return 0;
  const char *net = json_string_value(json_object_get(hc, "NetworkMode"));
  const char *pid = json_string_value(json_object_get(hc, "PidMode"));
  if (json_is_true(json_object_get(hc, "Privileged")))
    return berr_set(err, EINVAL,
                    "privileged mode is incompatible with user namespaces.  You must run the "
                    "container in the host namespace when running privileged mode");
  if (net && strcmp(net, "host") == 0)
    return berr_set(err, EINVAL,
                    "cannot share the host's network namespace when user namespaces are enabled");
  if (pid && strcmp(pid, "host") == 0)
    return berr_set(err, EINVAL,
                    "cannot share the host PID namespace when user namespaces are enabled");
  return 0;
}

int userns_own(const struct userns *u, const char *path, mode_t mode, struct berr **err) {
  if (u == NULL)
    return 0;
  if (chown(path, u->root_uid, u->root_gid) < 0)
    return berr_sys(err, errno, "chown %s to the remapped root", path);
  if (mode && chmod(path, mode) < 0)
    return berr_sys(err, errno, "chmod %s", path);
  return 0;
}

int userns_grant_dir(const struct userns *u, const char *path, struct berr **err) {
  /* dockerd: root:<remapped gid> 0710 — the remapped root may pass, not list */
  if (u == NULL)
    return 0;
  if (chown(path, 0, u->root_gid) < 0 || chmod(path, 0710) < 0)
    return berr_sys(err, errno, "give the remapped root access to %s", path);
  return 0;
}

int userns_daemon_setup(struct daemon *d, struct berr **err) {
  const char *spec = d->cfg.userns_remap;
  if (spec == NULL || *spec == '\0')
    return 0;
  struct userns_paths paths = {.subuid = "/etc/subuid", .subgid = "/etc/subgid"};
  int rc = userns_open(spec, &paths, &d->userns, err);
  if (rc < 0 || d->userns == NULL)
    return rc;
  char *root = NULL;
  if ((rc = userns_data_root(d->userns, d->cfg.data_root, &root, err)) < 0)
    return berr_wrap(err, "Cannot create daemon root");
  free(d->cfg.data_root);
  d->cfg.data_root = root;
  return 0;
}

/* --------------------------------------------------------- containers ---- */

int userns_ctr_create(struct daemon *d, struct container *c, struct berr **err) {
  const struct userns *u = d->userns;
  if (!userns_active(u, c->host_config))
    return 0;
  /* the runtime, as the remapped root, must pass <data-root>/containers/<id>
   * (the rootfs under fs/, hostname, hosts, resolv.conf) */
  _cleanup_free_ char *ctrs = xasprintf("%s/containers", d->cfg.data_root);
  int rc;
  if ((rc = userns_grant_dir(u, ctrs, err)) < 0 || (rc = userns_grant_dir(u, c->root_dir, err)) < 0)
    return rc;
  return store_rw_set_idmapped(d->store, c->id, err);
}

int userns_ctr_start(struct daemon *d, struct container *c, struct berr **err) {
  const struct userns *u = d->userns;
  if (!userns_active(u, c->host_config))
    return 0;
  /* the container's root owns its /etc files, as without a remapping */
  static const char *const files[] = {"hostname", "hosts", "resolv.conf"};
  for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
    _cleanup_free_ char *p = xasprintf("%s/%s", c->root_dir, files[i]);
    int rc = path_exists(p) ? userns_own(u, p, 0, err) : 0;
    if (rc < 0)
      return rc;
  }
  return 0;
}

const json_t *userns_uid_map(const struct daemon *d, const json_t *hc) {
  return userns_active(d->userns, hc) ? d->userns->uid_map : NULL;
}

const json_t *userns_gid_map(const struct daemon *d, const json_t *hc) {
  return userns_active(d->userns, hc) ? d->userns->gid_map : NULL;
}
