/*
 * passwd.c — Docker's user spec ("name", "uid", "name:group", "uid:gid") →
 * uid, gid, supplementary gids and HOME, from the container's /etc/passwd and
 * /etc/group. The one lookup behind the container's process (container_spec.c),
 * an exec's (container_exec.c) and `cp`'s owner (routes_container_ops.c).
 *
 * Rules are libcontainer/user's GetExecUser and GetAdditionalGroups as dockerd
 * 20.10 calls them from getUser (read, not copied):
 *  - a numeric user is always a uid, never a name; an empty one is uid 0;
 *  - the first matching line wins; a numeric id without a line is accepted
 *    (range 0..2^31-1), a name without one is an error;
 *  - supplementary groups come from the membership lists only in the
 *    implicit form (no ":group") and when a passwd line matched;
 *  - GroupAdd entries: a name or gid of a line, else a number; duplicates go.
 * berth's addition, seen with runc under dockerd: a process without any
 * supplementary group gets its primary gid as the only one.
 *
 * Inputs are file contents (NULL: no file), so everything here is pure.
 */
#include <errno.h>
#include <fcntl.h>

#include "daemon/container_internal.h"

/* Docker's ids: decimal in 0..2^31-1. -1 not numeric, -2 out of range. */
static int64_t parse_id(const char *s) {
  if (*s == '\0' || strlen(s) > 19)
    return *s ? -2 : -1;
  for (const char *p = s; *p; p++)
    if (*p < '0' || *p > '9')
      return -1;
  int64_t v = 0;
  if (parse_int64(s, &v) < 0 || v > INT32_MAX)
    return -2;
  return v;
}

/* The fields of one line (colon-separated, empty fields kept). */
static char **split_line(const char *line, size_t n) {
  _cleanup_free_ char *copy = xasprintf("%.*s", (int)n, line);
  char **v = xcalloc(1, sizeof *v);
  char *p = copy, *tok;
  while ((tok = strsep(&p, ":")) != NULL)
    v = strv_append(v, xstrdup(tok));
  return v;
}

/* Walk the lines of a passwd or group file: cb returns true to stop. */
static bool each_line(const char *file, bool (*cb)(char **f, void *ctx), void *ctx) {
  for (const char *p = file; p && *p;) {
    const char *nl = strchr(p, '\n');
    size_t n = nl ? (size_t)(nl - p) : strlen(p);
    if (n > 0 && *p != '#') {
      _cleanup_strv_ char **f = split_line(p, n);
      if (cb(f, ctx))
        return true;
    }
    p = nl ? nl + 1 : NULL;
  }
  return false;
}

struct pw_match {
  const char *name; /* match by name (NULL: by uid) */
  int64_t uid;
  char **hit;       /* the line's fields, stolen */
};

static bool pw_cb(char **f, void *ctx) {
  struct pw_match *m = ctx;
  if (strv_len(f) < 4 || parse_id(f[2]) < 0 || parse_id(f[3]) < 0)
    return false;
  if (m->name ? strcmp(f[0], m->name) != 0 : parse_id(f[2]) != m->uid)
    return false;
  m->hit = strv_dup(f);
  return true;
}

struct gr_match {
  const char *want;   /* a group name or a gid (numeric: gid only); NULL: memberships */
  bool by_name_or_gid; /* GroupAdd: the name or the gid's text */
  const char *member;
  json_t *gids;
};

static bool gr_cb(char **f, void *ctx) {
  struct gr_match *m = ctx;
  if (strv_len(f) < 3)
    return false;
  int64_t g = parse_id(f[2]);
  if (g < 0)
    return false;
  if (m->want) {
    bool hit;
    if (m->by_name_or_gid)
      hit = strcmp(f[0], m->want) == 0 || strcmp(f[2], m->want) == 0;
    else
      hit = parse_id(m->want) >= 0 ? parse_id(m->want) == g : strcmp(f[0], m->want) == 0;
    if (hit)
      json_array_append_new(m->gids, json_integer(g));
    return hit;
  }
  if (strv_len(f) < 4)
    return false;
  _cleanup_free_ char *members = xstrdup(f[3]);
  for (char *save = NULL, *t = strtok_r(members, ",", &save); t; t = strtok_r(NULL, ",", &save))
    if (strcmp(t, m->member) == 0) {
      json_array_append_new(m->gids, json_integer(g));
      break;
    }
  return false;
}

static bool gids_has(const json_t *gids, int64_t g) {
  size_t i;
  json_t *v;
  json_array_foreach(gids, i, v) if (json_integer_value(v) == g) return true;
  return false;
}

/* One GroupAdd entry → its gid appended (once). */
static int group_add_one(const char *want, const char *group, json_t *gids, struct berr **err) {
  _cleanup_json_ json_t *hits = json_array();
  struct gr_match gm = {.want = want, .by_name_or_gid = true, .gids = hits};
  each_line(group, gr_cb, &gm);
  int64_t g = json_array_size(hits) ? json_integer_value(json_array_get(hits, 0)) : parse_id(want);
  if (g == -2)
    return berr_set(err, EINVAL, "uids and gids must be in range 0-%d", INT32_MAX);
  if (g < 0)
    return berr_set(err, EINVAL, "Unable to find group %s: no matching entries in group file",
                    want);
  if (!gids_has(gids, g))
    json_array_append_new(gids, json_integer(g));
  return 0;
}

/* The explicit ":group" part → gid. */
static int group_explicit(const char *want, const char *group, int64_t *gid, struct berr **err) {
  _cleanup_json_ json_t *hits = json_array();
  struct gr_match gm = {.want = want, .gids = hits};
  each_line(group, gr_cb, &gm);
  int64_t g = json_array_size(hits) ? json_integer_value(json_array_get(hits, 0)) : parse_id(want);
  if (g == -2)
    return berr_set(err, EINVAL, "uids and gids must be in range 0-%d", INT32_MAX);
  if (g < 0)
    return berr_set(err, EINVAL, "unable to find group %s: no matching entries in group file",
                    want);
  *gid = g;
  return 0;
}

/* The user part → uid, gid, HOME and the matched name (a passwd line). */
static int user_part(const char *u, const char *passwd, struct ctr_user *out, char **name,
                     struct berr **err) {
  int64_t num = *u ? parse_id(u) : 0;
  if (num == -2)
    return berr_set(err, EINVAL, "uids and gids must be in range 0-%d", INT32_MAX);
  struct pw_match pm = {.name = num >= 0 ? NULL : u, .uid = num};
  each_line(passwd, pw_cb, &pm);
  _cleanup_strv_ char **pw = pm.hit;
  if (pw == NULL && num < 0)
    return berr_set(err, EINVAL, "unable to find user %s: no matching entries in passwd file",
                    u);
  out->uid = pw ? parse_id(pw[2]) : num;
  out->gid = pw ? parse_id(pw[3]) : 0;
  out->home = pw && strv_len(pw) >= 6 ? xstrdup(pw[5]) : NULL;
  *name = pw ? xstrdup(pw[0]) : NULL;
  return 0;
}

int ctr_user_resolve(const char *spec, const char *passwd, const char *group,
                     const json_t *group_add, struct ctr_user *out, struct berr **err) {
  memset(out, 0, sizeof *out);
  _cleanup_free_ char *u = xstrdup(spec ? spec : "");
  char *g = strchr(u, ':');
  if (g)
    *g++ = '\0';
  _cleanup_free_ char *name = NULL;
  int rc = user_part(u, passwd, out, &name, err);
  out->gids = json_array();
  if (rc == 0 && g && *g)
    rc = group_explicit(g, group, &out->gid, err);
  else if (rc == 0 && name) {
    /* supplementary groups only in the implicit form (libcontainer/user) */
    struct gr_match gm = {.member = name, .gids = out->gids};
    each_line(group, gr_cb, &gm);
  }
  if (rc == 0 && json_array_size(out->gids) == 0)
    json_array_append_new(out->gids, json_integer(out->gid));
  size_t i;
  json_t *v;
  json_array_foreach(group_add, i, v) {
    if (rc == 0 && json_is_string(v))
      rc = group_add_one(json_string_value(v), group, out->gids, err);
  }
  if (rc < 0)
    ctr_user_clear(out);
  return rc < 0 ? -EINVAL : 0;
}

void ctr_user_clear(struct ctr_user *u) {
  free(u->home);
  u->home = NULL;
  json_decref(u->gids);
  u->gids = NULL;
}

json_t *ctr_user_oci(const struct ctr_user *u) {
  json_t *o = json_pack("{s:I,s:I}", "uid", (json_int_t)u->uid, "gid", (json_int_t)u->gid);
  if (json_array_size(u->gids))
    json_object_set(o, "additionalGids", u->gids);
  return o;
}

/* One file of the rootfs, resolved inside it (symlinks cannot leave it). */
static char *read_in_root(int root, const char *rel) {
  _cleanup_close_ int fd = archive_openat_root(root, rel, O_RDONLY, NULL);
  if (fd < 0)
    return NULL;
  _cleanup_fclose_ FILE *f = fdopen(fd, "r");
  if (f == NULL)
    return NULL;
  fd = -1;
  char *buf = NULL;
  size_t cap = 0;
  if (getdelim(&buf, &cap, '\0', f) < 0) {
    free(buf);
    return NULL;
  }
  return buf;
}

void ctr_user_files(const char *rootfs, char **passwd, char **group) {
  *passwd = *group = NULL;
  _cleanup_close_ int root =
      rootfs && *rootfs ? open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
  if (root < 0)
    return;
  *passwd = read_in_root(root, "etc/passwd");
  *group = read_in_root(root, "etc/group");
}
