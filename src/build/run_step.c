/*
 * run_step.c — the RUN instruction of the builder (exec.c dispatches here):
 * the command (exec form, shell form through SHELL, heredocs), the build
 * args it sees, its --mount flags (bind, cache, tmpfs) as OCI mounts, the
 * cache lookup, the container (run.c) over a snapshot of the stage's
 * image, and the layer commit of what it changed.
 *
 * Invariants: the cache key covers the step's flags (a different mount is
 * another step); every snapshot and fd opened for a mount is released on
 * every path (run_mounts_free).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <strings.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build/build_internal.h"
#include "store/store.h"

static int cmp_kv(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The build args a RUN sees ("K=v", sorted): its stage's ARGs with a value. */
static char **run_args(const struct sstate *ss) {
  char **v = xcalloc(1, sizeof(char *));
  for (size_t i = 0; i < ss->args.n; i++)
    v = strv_append(v, xasprintf("%s=%s", ss->args.keys[i], ss->args.values[i]));
  qsort(v, strv_len(v), sizeof(char *), cmp_kv);
  return v;
}

/* The command: exec form as is; shell form through the SHELL; a RUN that is
 * only a heredoc runs its body; heredocs after a command are given to the
 * shell as here-documents. */
static int run_command(struct bstate *bs, const struct sstate *ss, const struct binstr *in, json_t **out_cmd) {
  if (in->json) {
    *out_cmd = bx_strv_json(in->args);
    return 0;
  }
  json_t *sh = bx_shell_of(ss);
  json_t *cmd = json_deep_copy(sh);
  json_decref(sh);
  struct bvars v = {0};
  bx_stage_vars(ss, &v);
  struct sbuf script = {0};
  int r = 0;
  bool only_heredoc = in->nheredocs == 1 && in->rest[0] == '<' && !strchr(in->rest, ' ');
  for (size_t h = 0; r == 0 && h < in->nheredocs; h++) {
    char *body = NULL;
    if (in->heredocs[h].expand)
      r = build_expand_heredoc(in->heredocs[h].content, &v, &body, bs->err);
    else
      body = xstrdup(in->heredocs[h].content);
    if (r < 0)
      break;
    if (only_heredoc) {
      sbuf_add(&script, body);
    } else {
      if (h == 0)
        sbuf_add(&script, in->rest);
      sbuf_addc(&script, '\n');
      sbuf_add(&script, body);
      sbuf_add(&script, in->heredocs[h].name);
    }
    free(body);
  }
  bvars_free(&v);
  if (r < 0) {
    sbuf_free(&script);
    json_decref(cmd);
    return r;
  }
  json_array_append_new(cmd, json_string(in->nheredocs ? script.s : in->rest));
  sbuf_free(&script);
  *out_cmd = cmd;
  return 0;
}

/* "type=cache,target=/x,…" → key/value pairs (bools without "="). */
static const char *mount_opt(const char *spec, const char *key, char *buf, size_t len) {
  _cleanup_free_ char *m = xstrdup(spec);
  char *save = NULL;
  size_t kl = strlen(key);
  for (char *tok = strtok_r(m, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    if (strncmp(tok, key, kl) != 0 || (tok[kl] != '=' && tok[kl] != '\0'))
      continue;
    snprintf(buf, len, "%s", tok[kl] == '=' ? tok + kl + 1 : "true");
    return buf;
  }
  return NULL;
}

struct run_mounts {
  json_t *list;           /* OCI mounts */
  struct rootfs from[4];  /* snapshots of stages/images mounted for from= */
  size_t nfrom;
  int fds[8];             /* sources held open for /proc/self/fd paths */
  size_t nfds;
  int root_fd;            /* the step's rootfs (stubs are looked up there) */
  int line;               /* the RUN's line (errors) */
  /* type=secret: the step's private tmpfs holding the secret files (and the
   * bundle and runtime state, so an env= secret never reaches the disk) */
  char *secret_dir;
  bool secret_mounted;
  size_t nsecret_files;
  char **stubs;           /* mount points the runtime will create for secrets */
  char **stub_parents;    /* the existing dirs they go in, and their times, */
  struct timespec (*stub_times)[2]; /* restored after the stubs are removed */
  char **secret_env;      /* env= secrets: "VAR=value" (wiped when freed) */
};

/* Wipe and free a strv holding secret bytes. */
static void secret_strv_free(char **v) {
  for (size_t i = 0; v && v[i]; i++)
    explicit_bzero(v[i], strlen(v[i]));
  strv_free(v);
}

static void run_mounts_free(struct run_mounts *rm) {
  json_decref(rm->list);
  for (size_t i = 0; i < rm->nfrom; i++)
    bx_rootfs_close(&rm->from[i]);
  for (size_t i = 0; i < rm->nfds; i++)
    close(rm->fds[i]);
  if (rm->secret_mounted && umount2(rm->secret_dir, MNT_DETACH) < 0)
    log_warn("builder: unmount %s: %s", rm->secret_dir, strerror(errno));
  if (rm->secret_dir && rmdir(rm->secret_dir) < 0 && errno != ENOENT)
    log_warn("builder: remove %s: %s", rm->secret_dir, strerror(errno));
  free(rm->secret_dir);
  strv_free(rm->stubs);
  strv_free(rm->stub_parents);
  free(rm->stub_times);
  secret_strv_free(rm->secret_env);
}

/* ---------- RUN --mount=type=secret ---------- */

/* BuildKit's defaults: id = base name of the target, target =
 * /run/secrets/<id>, mode 0400, uid/gid 0, optional unless required. */
int bsecret_mount_parse(const char *spec, const char *workdir, struct bsecret_mount *m, struct berr **err) {
  char buf[4096];
  memset(m, 0, sizeof *m);
  m->mode = 0400;
  if (mount_opt(spec, "id", buf, sizeof buf))
    m->id = xstrdup(buf);
  if (mount_opt(spec, "target", buf, sizeof buf) || mount_opt(spec, "dst", buf, sizeof buf) ||
      mount_opt(spec, "destination", buf, sizeof buf))
    m->target = buf[0] == '/' ? xstrdup(buf) : xasprintf("%s/%s", strcmp(workdir, "/") ? workdir : "", buf);
  if (mount_opt(spec, "env", buf, sizeof buf))
    m->env = xstrdup(buf);
  if ((!m->id || !*m->id) && m->target) {
    const char *slash = strrchr(m->target, '/');
    free(m->id);
    m->id = xstrdup(slash ? slash + 1 : m->target);
  }
  if (!m->id || !*m->id) {
    bsecret_mount_free(m);
    return berr_set(err, EINVAL, "secret ID missing from mount options");
  }
  if (!m->target && !m->env)
    m->target = xasprintf("/run/secrets/%s", m->id);
  if (mount_opt(spec, "required", buf, sizeof buf))
    m->required = !strcmp(buf, "true") || !strcmp(buf, "1") || !strcmp(buf, "True") || !strcmp(buf, "TRUE");
  struct { const char *key; int base; uint32_t *dst; } nums[] = {
      {"mode", 8, &m->mode}, {"uid", 10, &m->uid}, {"gid", 10, &m->gid}};
  for (size_t i = 0; i < 3; i++) {
    if (!mount_opt(spec, nums[i].key, buf, sizeof buf))
      continue;
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(buf, &end, nums[i].base);
    if (!*buf || *end || errno || v > UINT32_MAX || buf[0] == '-') {
      bsecret_mount_free(m);
      return berr_set(err, EINVAL, "invalid value for %s: %s", nums[i].key, buf);
    }
    *nums[i].dst = (uint32_t)v;
  }
  return 0;
}

void bsecret_mount_free(struct bsecret_mount *m) {
  free(m->id);
  free(m->target);
  free(m->env);
  memset(m, 0, sizeof *m);
}

static bool strv_has(char *const *v, const char *s) {
  for (size_t i = 0; v && v[i]; i++)
    if (!strcmp(v[i], s))
      return true;
  return false;
}

static int write_full(int fd, const unsigned char *p, size_t len) {
  while (len) {
    ssize_t w = write(fd, p, len);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0)
      return -errno;
    p += w;
    len -= (size_t)w;
  }
  return 0;
}

static const struct build_secret *secret_find(const struct build_opts *o, const char *id) {
  for (size_t i = 0; i < o->nsecrets; i++)
    if (!strcmp(o->secrets[i].id, id))
      return &o->secrets[i];
  return NULL;
}

/* The step's tmpfs: <build tmp>/secrets-XXXXXX, mode 0700, in memory. */
static int secret_dir_open(struct bstate *bs, struct run_mounts *rm) {
  if (rm->secret_mounted)
    return 0;
  char *d = xasprintf("%s/secrets-XXXXXX", bs->tmp);
  if (!mkdtemp(d)) {
    int e = errno;
    free(d);
    return berr_sys(bs->err, e, "create a secrets dir in %s", bs->tmp);
  }
  rm->secret_dir = d;
  if (mount("tmpfs", d, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700,size=64m") < 0)
    return berr_sys(bs->err, errno, "mount a tmpfs for secrets on %s", d);
  rm->secret_mounted = true;
  return 0;
}

/* Every path component of `target` the runtime will create (it does not
 * exist in the rootfs yet): they are removed after the step, so the mount
 * point is not in the layer. */
static void secret_stubs(struct run_mounts *rm, const char *target) {
  _cleanup_free_ char *p = path_clean(target, NULL);
  if (!rm->stubs)
    rm->stubs = xcalloc(1, sizeof(char *));
  for (bool leaf = true;; leaf = false) {
    int fd = fs_open_in_root(rm->root_fd, p, O_PATH, 0);
    struct stat st;
    if (fd >= 0 && !leaf && !strv_has(rm->stub_parents, p) && fstat(fd, &st) == 0) {
      size_t n = strv_len(rm->stub_parents);
      rm->stub_parents = strv_append(rm->stub_parents ? rm->stub_parents : xcalloc(1, sizeof(char *)), xstrdup(p));
      rm->stub_times = xrealloc(rm->stub_times, (n + 1) * sizeof *rm->stub_times);
      rm->stub_times[n][0] = st.st_atim;
      rm->stub_times[n][1] = st.st_mtim;
    }
    if (fd >= 0 || !strcmp(p, "/")) {
      if (fd >= 0)
        close(fd);
      return;
    }
    if (!strv_has(rm->stubs, p))
      rm->stubs = strv_append(rm->stubs, xstrdup(p));
    char *slash = strrchr(p, '/');
    if (slash == p)
      slash[1] = '\0';
    else
      *slash = '\0';
  }
}

static size_t depth(const char *p) {
  size_t n = 0;
  for (; *p; p++)
    n += *p == '/';
  return n;
}

static int cmp_deepest(const void *a, const void *b) {
  size_t da = depth(*(char *const *)a), db = depth(*(char *const *)b);
  return da < db ? 1 : da > db ? -1 : strcmp(*(char *const *)a, *(char *const *)b);
}

/* After the step: the stubs, deepest first (the leaf if it is still the empty
 * file the runtime made; dirs only when empty: what RUN wrote there stays). */
static void secret_stubs_remove(struct run_mounts *rm) {
  size_t n = strv_len(rm->stubs);
  qsort(rm->stubs, n, sizeof(char *), cmp_deepest);
  for (size_t i = 0; i < n; i++) {
    _cleanup_free_ char *dir = xstrdup(rm->stubs[i]);
    char *slash = strrchr(dir, '/');
    const char *base = slash + 1;
    *slash = '\0';
    _cleanup_close_ int dfd = fs_open_in_root(rm->root_fd, *dir ? dir : "/", O_RDONLY | O_DIRECTORY, 0);
    struct stat st;
    if (dfd < 0 || fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
      continue;
    if (S_ISDIR(st.st_mode))
      unlinkat(dfd, base, AT_REMOVEDIR);
    else if (S_ISREG(st.st_mode) && st.st_size == 0)
      unlinkat(dfd, base, 0);
  }
  /* BuildKit restores the parents' times too: a dir only copied up for a
   * stub then goes out unchanged */
  for (size_t i = 0; rm->stub_parents && rm->stub_parents[i]; i++) {
    _cleanup_close_ int fd = fs_open_in_root(rm->root_fd, rm->stub_parents[i], O_RDONLY | O_DIRECTORY, 0);
    if (fd >= 0)
      futimens(fd, rm->stub_times[i]);
  }
}

/* A secret as a file on the step's tmpfs, bind-mounted read-only at the
 * target; or as an env var (env=). A missing optional secret mounts nothing. */
static int add_secret_mount(struct bstate *bs, const struct sstate *ss, const char *spec, struct run_mounts *rm) {
  _cleanup_free_ char *wd = bx_workdir_of(ss);
  struct bsecret_mount m;
  int r = bsecret_mount_parse(spec, wd, &m, bs->err);
  if (r < 0)
    return r;
  const struct build_secret *sec = secret_find(bs->o, m.id);
  if (!sec) {
    r = m.required ? berr_set(bs->err, ENOENT, "%s:%d: failed to solve: secret %s not found: not found",
                              bs->o->dockerfile && *bs->o->dockerfile ? bs->o->dockerfile : "Dockerfile",
                              rm->line, m.id)
                   : 0;
    bsecret_mount_free(&m);
    return r;
  }
  if (m.env) {
    if (!rm->secret_env)
      rm->secret_env = xcalloc(1, sizeof(char *));
    char *kv = xmalloc(strlen(m.env) + 1 + sec->len + 1);
    size_t kl = strlen(m.env);
    memcpy(kv, m.env, kl);
    kv[kl] = '=';
    memcpy(kv + kl + 1, sec->data, sec->len);
    kv[kl + 1 + sec->len] = '\0';
    rm->secret_env = strv_append(rm->secret_env, kv);
  }
  if ((r = secret_dir_open(bs, rm)) < 0 || !m.target) {
    bsecret_mount_free(&m);
    return r;
  }
  _cleanup_free_ char *file = xasprintf("%s/s%zu", rm->secret_dir, rm->nsecret_files++);
  _cleanup_close_ int fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    r = berr_sys(bs->err, errno, "create %s", file);
  else if ((r = write_full(fd, sec->data, sec->len)) < 0)
    r = berr_sys(bs->err, -r, "write %s", file);
  else if (fchown(fd, m.uid, m.gid) < 0 || fchmod(fd, m.mode & 07777) < 0)
    r = berr_sys(bs->err, errno, "secret %s: set owner and mode", m.id);
  if (r == 0) {
    secret_stubs(rm, m.target);
    json_t *opts = json_pack("[ssss]", "bind", "ro", "nosuid", "nodev");
    if (!(m.mode & 0111))
      json_array_append_new(opts, json_string("noexec"));
    json_array_append_new(rm->list, json_pack("{s:s,s:s,s:s,s:o}", "destination", m.target, "type", "bind",
                                              "source", file, "options", opts));
  }
  bsecret_mount_free(&m);
  return r;
}

static int add_run_mount(struct bstate *bs, const struct sstate *ss, const char *spec, struct run_mounts *rm) {
  char type[64] = "bind", target[4096], tmp[4096];
  mount_opt(spec, "type", type, sizeof type);
  if (!strcmp(type, "secret"))
    return add_secret_mount(bs, ss, spec, rm);
  if (!mount_opt(spec, "target", target, sizeof target) && !mount_opt(spec, "dst", target, sizeof target) &&
      !mount_opt(spec, "destination", target, sizeof target))
    return berr_set(bs->err, EINVAL, "mount %s: target is required", spec);
  _cleanup_free_ char *tgt = NULL;
  if (target[0] == '/') {
    tgt = xstrdup(target);
  } else {
    _cleanup_free_ char *wd = bx_workdir_of(ss);
    tgt = xasprintf("%s/%s", wd, target);
  }
  if (!strcmp(type, "tmpfs")) {
    json_t *opts = json_pack("[ss]", "nosuid", "nodev");
    if (mount_opt(spec, "size", tmp, sizeof tmp)) {
      _cleanup_free_ char *o = xasprintf("size=%s", tmp);
      json_array_append_new(opts, json_string(o));
    }
    json_array_append_new(rm->list, json_pack("{s:s,s:s,s:s,s:o}", "destination", tgt, "type", "tmpfs", "source",
                                              "tmpfs", "options", opts));
    return 0;
  }
  if (!strcmp(type, "cache")) {
    char id[512];
    if (!mount_opt(spec, "id", id, sizeof id))
      snprintf(id, sizeof id, "%s", tgt);
    _cleanup_free_ char *key = bx_cache_key(&(struct sstate){.config = NULL}, id, "cache-mount");
    _cleanup_free_ char *dir = builder_cache_mount_dir(bs->b, key);
    int r = mkdir_p(dir, 0755, bs->err);
    if (r < 0)
      return r;
    json_array_append_new(rm->list, json_pack("{s:s,s:s,s:s,s:[ss]}", "destination", tgt, "type", "bind", "source",
                                              dir, "options", "rbind", "rw"));
    return 0;
  }
  if (!strcmp(type, "ssh"))
    return berr_set(bs->err, ENOTSUP, "RUN --mount=type=%s is not supported by berth's builder yet", type);
  if (strcmp(type, "bind") != 0)
    return berr_set(bs->err, EINVAL, "unsupported mount type \"%s\"", type);
  /* bind: from the context, or from= a stage or an image */
  int root = bs->ctx_fd;
  char from[512];
  if (mount_opt(spec, "from", from, sizeof from)) {
    if (rm->nfrom >= 4)
      return berr_set(bs->err, E2BIG, "too many RUN --mount from= sources");
    ssize_t si = dockerfile_stage_find(bs->df, from);
    const char *img = si >= 0 ? bs->stage_image[si] : from;
    int r = bx_rootfs_open(bs, img, &rm->from[rm->nfrom]);
    rm->nfrom++;
    if (r < 0)
      return r;
    root = rm->from[rm->nfrom - 1].fd;
  }
  if (!mount_opt(spec, "source", tmp, sizeof tmp) && !mount_opt(spec, "src", tmp, sizeof tmp))
    snprintf(tmp, sizeof tmp, "/");
  if (rm->nfds >= 8)
    return berr_set(bs->err, E2BIG, "too many RUN --mount sources");
  int fd = fs_open_in_root(root, tmp, O_PATH, 0);
  if (fd < 0)
    return berr_sys(bs->err, -fd, "mount source %s", tmp);
  rm->fds[rm->nfds++] = fd;
  /* the in-root resolved path (the source tree is private to the build) */
  _cleanup_free_ char *link = xasprintf("/proc/self/fd/%d", fd);
  char srcbuf[4096];
  ssize_t sl = readlink(link, srcbuf, sizeof srcbuf - 1);
  if (sl < 0)
    return berr_sys(bs->err, errno, "mount source %s", tmp);
  srcbuf[sl] = '\0';
  const char *src = srcbuf;
  char rw[16];
  bool writable = mount_opt(spec, "rw", rw, sizeof rw) && strcmp(rw, "false") != 0;
  json_array_append_new(rm->list, json_pack("{s:s,s:s,s:s,s:[ss]}", "destination", tgt, "type", "bind", "source", src,
                                            "options", "rbind", writable ? "rw" : "ro"));
  return 0;
}

/* ---------- RUN --network ---------- */

enum run_net { RUN_NET_DEFAULT, RUN_NET_NONE, RUN_NET_HOST };

/* RUN --network, else the build's networkmode: "default" (also "bridge" and
 * unset): the daemon's default bridge, as dockerd's builder gives RUN;
 * "none": only lo; "host": the host's. */
static int run_net_mode(struct bstate *bs, const char *net, enum run_net *mode) {
  if (!net || !*net || !strcmp(net, "default") || !strcmp(net, "bridge"))
    *mode = RUN_NET_DEFAULT;
  else if (!strcmp(net, "none"))
    *mode = RUN_NET_NONE;
  else if (!strcmp(net, "host"))
    *mode = RUN_NET_HOST;
  else
    return berr_set(bs->err, ENOTSUP, "unsupported network mode \"%s\" (berth's builder: default, none, host)", net);
  return 0;
}

int bx_do_run(struct bstate *bs, struct sstate *ss, const struct binstr *in) {
  _cleanup_json_ json_t *cmd = NULL;
  int r = run_command(bs, ss, in, &cmd);
  if (r < 0)
    return r;
  _cleanup_strv_ char **args = run_args(ss);
  struct sbuf by = {0}, joined = {0};
  size_t i;
  json_t *e;
  json_array_foreach(cmd, i, e) {
    if (i)
      sbuf_addc(&joined, ' ');
    sbuf_add(&joined, json_string_value(e));
  }
  if (args[0]) {
    char n[32];
    snprintf(n, sizeof n, "|%zu", strv_len(args));
    sbuf_add(&by, n);
    for (size_t k = 0; args[k]; k++) {
      sbuf_addc(&by, ' ');
      sbuf_add(&by, args[k]);
    }
    sbuf_addc(&by, ' ');
  }
  sbuf_add(&by, joined.s);
  _cleanup_free_ char *created_by = sbuf_steal(&by);
  _cleanup_free_ char *cmdline = sbuf_steal(&joined);
  /* the mounts are part of the key: a different cache or bind is another step */
  struct sbuf mk = {0};
  for (size_t f = 0; f < in->nflags; f++) {
    sbuf_add(&mk, in->flags[f].name);
    sbuf_addc(&mk, '=');
    sbuf_add(&mk, in->flags[f].value ? in->flags[f].value : "");
    sbuf_addc(&mk, '\n');
  }
  _cleanup_free_ char *mkey = sbuf_steal(&mk);
  _cleanup_free_ char *key = bx_cache_key(ss, created_by, mkey);
  if (!ss->nocache) {
    _cleanup_free_ char *hit = builder_cache_get(bs->b, key);
    if (hit)
      return bx_use_cache(bs, ss, hit);
  }
  if (!bs->o->runtime)
    return berr_set(bs->err, ENOTSUP, "RUN needs a container runtime, and none is configured");
  struct rootfs rf;
  struct run_mounts rm = {.list = json_array()};
  r = bx_rootfs_open(bs, ss->image, &rf);
  rm.root_fd = rf.fd;
  rm.line = in->line;
  for (size_t f = 0; r == 0 && f < in->nflags; f++)
    if (!strcmp(in->flags[f].name, "mount"))
      r = add_run_mount(bs, ss, in->flags[f].value, &rm);
  uid_t uid = 0;
  gid_t gid = 0;
  const char *user = json_string_value(json_object_get(ss->config, "User"));
  if (r == 0 && user && *user)
    r = bchown_parse(user, rf.fd, &uid, &gid, bs->err);
  /* env: the image's, then the ARGs it does not set, then proxy build args */
  _cleanup_strv_ char **env = xcalloc(1, sizeof(char *));
  json_t *cenv = json_object_get(ss->config, "Env");
  json_array_foreach(cenv, i, e) env = strv_append(env, xstrdup(json_string_value(e)));
  for (size_t k = 0; k < ss->args.n; k++) {
    bool set = false;
    json_array_foreach(cenv, i, e) {
      const char *s = json_string_value(e);
      size_t kl = strlen(ss->args.keys[k]);
      if (s && !strncmp(s, ss->args.keys[k], kl) && s[kl] == '=')
        set = true;
    }
    if (!set)
      env = strv_append(env, xasprintf("%s=%s", ss->args.keys[k], ss->args.values[k]));
  }
  const char *pk;
  json_t *pv;
  json_object_foreach((json_t *)bs->o->buildargs, pk, pv) if (bx_is_proxy_arg(pk) && json_is_string(pv) &&
                                                              !bvars_get(&ss->args, pk)) env =
      strv_append(env, xasprintf("%s=%s", pk, json_string_value(pv)));
  if (!json_array_size(cenv))
    env = strv_append(env, xstrdup("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
  /* env= secrets last (they win); wiped with rm.secret_env */
  size_t nplain = strv_len(env);
  for (size_t k = 0; rm.secret_env && rm.secret_env[k]; k++)
    env = strv_append(env, rm.secret_env[k]);
  _cleanup_strv_ char **argv = xcalloc(1, sizeof(char *));
  json_array_foreach(cmd, i, e) argv = strv_append(argv, xstrdup(json_string_value(e)));
  const char *net = binstr_flag(in, "network", NULL);
  if (!net || !*net)
    net = bs->o->network;
  enum run_net mode = RUN_NET_DEFAULT;
  if (r == 0)
    r = run_net_mode(bs, net, &mode);
  _cleanup_free_ char *netns = NULL;
  bool net_up = false;
  if (r == 0 && mode != RUN_NET_HOST && bs->o->net_setup) {
    r = bs->o->net_setup(bs->o->net_ctx, rf.cid, mode == RUN_NET_DEFAULT, &netns, bs->err);
    net_up = r == 0;
  }
  _cleanup_free_ char *sid = rf.cid ? strndup(rf.cid + 8, 12) : NULL;
  _cleanup_free_ char *wd = bx_workdir_of(ss);
  if (r == 0) {
    /* the working dir must exist (dockerd creates it for RUN) */
    int dfd = bfs_mkdir_in_root(rf.fd, wd, 0, 0);
    if (dfd >= 0)
      close(dfd);
    bx_out(bs, " ---> Running in %s\n", sid);
    /* with secrets, the bundle and the runtime's state (both hold the
     * spec, env= secrets included) live on the step's tmpfs */
    const char *base = rm.secret_mounted ? rm.secret_dir : bs->tmp;
    _cleanup_free_ char *bundle = xasprintf("%s/bundle-%s", base, sid);
    _cleanup_free_ char *state = xasprintf("%s/runc", base);
    struct brun_opts ro = {
        .runtime = bs->o->runtime, .state_root = state, .bundle = bundle, .cid = rf.cid, .hostname = sid,
        .rootfs = rf.path, .cgroup_parent = bs->o->cgroup_parent, .args = argv, .env = env, .cwd = wd,
        .uid = uid, .gid = gid, .host_net = mode == RUN_NET_HOST, .netns = netns, .mounts = rm.list,
        .out = bs->o->out, .ctx = bs->o->ctx,
    };
    int status = 0;
    r = brun_container(&ro, &status, bs->err);
    if (net_up)
      bs->o->net_teardown(bs->o->net_ctx, rf.cid);
    net_up = false;
    rm_rf(bundle, NULL);
    if (rm.secret_mounted)
      rm_rf(state, NULL);
    secret_stubs_remove(&rm);
    if (r == 0 && status != 0) {
      if (bs->o->exit_code)
        *bs->o->exit_code = status;
      r = berr_set(bs->err, EIO, "The command '%s' returned a non-zero code: %d", cmdline, status);
    }
  }
  if (net_up)
    bs->o->net_teardown(bs->o->net_ctx, rf.cid);
  env[nplain] = NULL; /* the secret entries belong to rm.secret_env */
  run_mounts_free(&rm);
  if (r == 0) {
    bx_out(bs, "Removing intermediate container %s\n", sid);
    r = bx_layer_commit(bs, ss, &rf, created_by, key);
  }
  bx_rootfs_close(&rf);
  return r;
}

/* ---------- cache policy ---------- */

/* BuildKit's --no-cache-filter names stages (case-insensitively, as stage
 * names are); an unnamed stage can only be reached by --no-cache. */
bool bx_stage_nocache(const struct bstate *bs, size_t si) {
  if (bs->o->nocache)
    return true;
  const char *name = bs->df->stages[si].name;
  for (size_t i = 0; name && bs->o->nocache_stages && bs->o->nocache_stages[i]; i++)
    if (!strcasecmp(bs->o->nocache_stages[i], name))
      return true;
  return false;
}
