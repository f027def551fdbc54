/*
 * exec.c — runs a parsed Dockerfile against the image store (build.h), the
 * way dockerd 20.10's classic builder does:
 *
 *   every instruction after FROM commits an image (the previous one its
 *   Parent); metadata instructions (ENV, LABEL, CMD…) add a history entry
 *   with empty_layer and no layer; WORKDIR, COPY and ADD change the rootfs:
 *   an overlay snapshot of the current image is mounted, changed, and its
 *   upper dir becomes the layer (store_rw_diff → store_layer_add);
 *   history created_by is "<shell> #(nop)  ENV A=b" (two spaces; WORKDIR,
 *   COPY and ADD one), formatted with Go's %q / %v where dockerd uses them.
 *
 * Output: "Step N/M : <instruction as written>", " ---> <12 hex>", " --->
 * Using cache", "Successfully built/tagged" (no "Running in" lines: berth
 * makes no container for metadata steps). The cache key of a step is the
 * parent image ID + the step's created_by (resolved args; COPY's content
 * hash) + the resulting config.
 *
 * Stages: only those the target needs, in graph level order. The RUN step
 * is in run_step.c (its container in run.c), sharing this file's state and
 * helpers through build_internal.h (bx_*); Go's formatting of history
 * strings is in gofmt.c.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <signal.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include "build/build_internal.h"
#include "store/store.h"

/* ---------- build state ---------- */

void bx_out(struct bstate *bs, const char *fmt, ...) {
  if (!bs->o->out) /* quiet builds: the route keeps the text for an error */
    return;
  va_list ap;
  va_start(ap, fmt);
  char *s = NULL;
  if (vasprintf(&s, fmt, ap) < 0)
    s = NULL;
  va_end(ap);
  if (s)
    bs->o->out(bs->o->ctx, s);
  free(s);
}

static char *short_id(const char *id) {
  if (!id)
    return xstrdup("");
  if (str_has_prefix(id, "sha256:"))
    id += 7;
  return strndup(id, 12);
}

static const char *machine_arch(void) {
  struct utsname u;
  if (uname(&u) == 0) {
    if (!strcmp(u.machine, "x86_64"))
      return "amd64";
    if (!strcmp(u.machine, "aarch64"))
      return "arm64";
  }
  return "amd64";
}

static void mark_used(struct bstate *bs, const char *name) {
  for (size_t i = 0; bs->used_args && bs->used_args[i]; i++)
    if (!strcmp(bs->used_args[i], name))
      return;
  if (!bs->used_args)
    bs->used_args = xcalloc(1, sizeof(char *));
  bs->used_args = strv_append(bs->used_args, xstrdup(name));
}

static const char *buildarg(struct bstate *bs, const char *name) {
  json_t *v = json_object_get(bs->o->buildargs, name);
  return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Variables an instruction of the stage sees: its ARGs, then ENV (wins). */
void bx_stage_vars(const struct sstate *ss, struct bvars *v) {
  bvars_copy(v, &ss->args);
  json_t *env = json_object_get(ss->config, "Env");
  size_t i;
  json_t *e;
  json_array_foreach(env, i, e) {
    const char *kv = json_string_value(e);
    const char *eq = kv ? strchr(kv, '=') : NULL;
    if (!eq)
      continue;
    _cleanup_free_ char *k = strndup(kv, (size_t)(eq - kv));
    bvars_set(v, k, eq + 1);
  }
}

/* BuildKit's UndefinedVar check, as a warning (dockerd expands to ""). */
static void warn_missing(struct bstate *bs, char **missing) {
  for (size_t i = 0; missing && missing[i]; i++)
    bx_out(bs, "[Warning] UndefinedVar: Usage of undefined variable '$%s' (line %d)\n", missing[i], bs->line);
  strv_free(missing);
}

static int expand(struct bstate *bs, const struct sstate *ss, const char *word, char **outp) {
  struct bvars v = {0};
  char **missing = NULL;
  bx_stage_vars(ss, &v);
  v.missing = &missing;
  int r = build_expand_word(word, bs->df->escape, &v, outp, bs->err);
  bvars_free(&v);
  warn_missing(bs, missing);
  return r;
}

json_t *bx_shell_of(const struct sstate *ss) {
  json_t *sh = json_object_get(ss->config, "Shell");
  if (json_is_array(sh) && json_array_size(sh) > 0)
    return json_incref(sh);
  return json_pack("[ss]", "/bin/sh", "-c");
}

static char *shell_prefix(const struct sstate *ss) {
  _cleanup_json_ json_t *sh = bx_shell_of(ss);
  struct sbuf b = {0};
  size_t i;
  json_t *e;
  json_array_foreach(sh, i, e) {
    if (i)
      sbuf_addc(&b, ' ');
    sbuf_add(&b, json_string_value(e));
  }
  return sbuf_steal(&b);
}

/* The config as the key sees it: fields holding a zero value (null, false,
 * "", 0, {} or []) dropped, so that a config read back from the store (which
 * spells every field, as Docker's does) keys like the one just committed. */
static char *config_key_text(const json_t *cfg) {
  if (!json_is_object(cfg))
    return json_dumps(cfg, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
  _cleanup_json_ json_t *c = json_object();
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)cfg, k, v) {
    bool zero = json_is_null(v) || json_is_false(v) || (json_is_string(v) && !*json_string_value(v)) ||
                (json_is_integer(v) && json_integer_value(v) == 0) ||
                (json_is_object(v) && json_object_size(v) == 0) || (json_is_array(v) && json_array_size(v) == 0);
    if (!zero)
      json_object_set(c, k, v);
  }
  return json_dumps(c, JSON_SORT_KEYS | JSON_COMPACT);
}

/* The step's cache key: sha256(parent, created_by, config). */
char *bx_cache_key(const struct sstate *ss, const char *created_by, const char *extra) {
  _cleanup_free_ char *cfg = ss->config ? config_key_text(ss->config) : NULL;
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  EVP_DigestInit_ex(md, EVP_sha256(), NULL);
  const char *parts[] = {ss->image ? ss->image : "scratch", created_by, cfg ? cfg : "", ss->author ? ss->author : "",
                         extra ? extra : ""};
  for (size_t i = 0; i < 5; i++)
    EVP_DigestUpdate(md, parts[i], strlen(parts[i]) + 1);
  unsigned char h[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  EVP_DigestFinal_ex(md, h, &n);
  EVP_MD_CTX_free(md);
  char hex[2 * EVP_MAX_MD_SIZE + 1];
  for (unsigned i = 0; i < n; i++)
    snprintf(hex + 2 * i, 3, "%02x", h[i]);
  return xstrdup(hex);
}

/* Commit the stage's config (+ an optional layer) as a new image. */
static int commit(struct bstate *bs, struct sstate *ss, const char *diff_id, const char *created_by,
                  const char *cache) {
  json_t *cfg = ss->config;
  json_object_set_new(cfg, "Image", json_string(ss->image ? ss->image : ""));
  _cleanup_json_ json_t *cc = json_deep_copy(cfg);
  /* container_config.Cmd: the shell + "#(nop) " + the text, as dockerd */
  _cleanup_json_ json_t *sh = bx_shell_of(ss);
  _cleanup_free_ char *prefix = shell_prefix(ss);
  json_t *ccmd = json_deep_copy(sh);
  const char *rest = created_by + (str_has_prefix(created_by, prefix) ? strlen(prefix) + 1 : 0);
  if (str_has_prefix(rest, "#(nop)  ")) {
    json_array_append_new(ccmd, json_string("#(nop) "));
    json_array_append_new(ccmd, json_string(rest + 8));
  } else {
    json_array_append_new(ccmd, json_string(rest));
  }
  json_object_set_new(cc, "Cmd", ccmd);
  _cleanup_free_ char *full_by = xstrdup(created_by);
  struct store_child ch = {
      .parent = ss->image,
      .diff_id = diff_id,
      .config = cfg,
      .container_config = cc,
      .author = ss->author,
      .created_by = full_by,
      .set_parent = true,
      .os = ss->image ? NULL : "linux",
      .architecture = ss->image ? NULL : machine_arch(),
  };
  char *id = NULL;
  int r = store_image_child(bs->s, &ch, &id, bs->err);
  if (r < 0)
    return r;
  if (cache)
    builder_cache_put(bs->b, cache, id);
  free(ss->image);
  ss->image = id;
  _cleanup_free_ char *sid = short_id(id);
  bx_out(bs, " ---> %s\n", sid);
  return 0;
}

/* Adopt a cached image: its config becomes the stage's. */
int bx_use_cache(struct bstate *bs, struct sstate *ss, const char *id) {
  struct image *img = NULL;
  int r = store_image_get(bs->s, id, &img, bs->err);
  if (r < 0)
    return r;
  json_decref(ss->config);
  ss->config = json_deep_copy(json_object_get(img->config, "config"));
  if (!ss->config)
    ss->config = json_object();
  free(ss->image);
  ss->image = xstrdup(img->id);
  image_free(img);
  _cleanup_free_ char *sid = short_id(id);
  bx_out(bs, " ---> Using cache\n ---> %s\n", sid);
  return 0;
}

/* A metadata step: created_by "<shell> #(nop)  <text>", cache or commit. */
static int meta_commit(struct bstate *bs, struct sstate *ss, const char *text) {
  _cleanup_free_ char *prefix = shell_prefix(ss);
  _cleanup_free_ char *by = xasprintf("%s #(nop)  %s", prefix, text);
  _cleanup_free_ char *key = bx_cache_key(ss, by, NULL);
  if (!ss->nocache) {
    _cleanup_free_ char *hit = builder_cache_get(bs->b, key);
    if (hit)
      return bx_use_cache(bs, ss, hit);
  }
  return commit(bs, ss, NULL, by, key);
}

/* ---------- rootfs steps (WORKDIR, COPY, ADD) ---------- */

int bx_rootfs_open(struct bstate *bs, const char *image, struct rootfs *rf) {
  unsigned char rnd[12];
  memset(rf, 0, sizeof *rf);
  rf->fd = -1;
  rf->s = bs->s;
  rf->b = bs->b;
  if (getrandom(rnd, sizeof rnd, 0) != sizeof rnd)
    return berr_sys(bs->err, errno, "getrandom");
  struct sbuf id = {0};
  sbuf_add(&id, "builder-");
  for (size_t i = 0; i < sizeof rnd; i++) {
    char x[3];
    snprintf(x, sizeof x, "%02x", rnd[i]);
    sbuf_add(&id, x);
  }
  rf->cid = sbuf_steal(&id);
  int r = store_rw_create(bs->s, rf->cid, image, bs->err);
  if (r == 0)
    r = store_rw_mount(bs->s, rf->cid, &rf->path, bs->err);
  if (r == 0 && (rf->fd = open(rf->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
    r = berr_sys(bs->err, errno, "open rootfs %s", rf->path);
  return r;
}

void bx_rootfs_close(struct rootfs *rf) {
  if (!rf->cid)
    return;
  if (rf->fd >= 0)
    close(rf->fd);
  rf->fd = -1;
  _cleanup_berr_ struct berr *e = NULL;
  if (store_rw_remove(rf->s, rf->cid, &e) < 0)
    log_warn("builder: remove snapshot %s: %s", rf->cid, e ? e->msg : "?");
  else
    builder_snapshot_dir_remove(rf->b, rf->cid);
  free(rf->cid);
  free(rf->path);
  rf->cid = rf->path = NULL;
}

static int fd_write(void *ctx, const void *buf, size_t len) {
  int fd = *(int *)ctx;
  const char *p = buf;
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

static ssize_t fd_read(void *ctx, void *buf, size_t len) {
  int fd = *(int *)ctx;
  for (;;) {
    ssize_t k = read(fd, buf, len);
    if (k < 0 && errno == EINTR)
      continue;
    return k < 0 ? -errno : k;
  }
}

/* The snapshot's changes → a layer on top of ss->image → commit. */
int bx_layer_commit(struct bstate *bs, struct sstate *ss, struct rootfs *rf, const char *created_by,
                        const char *cache) {
  close(rf->fd);
  rf->fd = -1;
  int r = store_rw_unmount(bs->s, rf->cid, bs->err);
  if (r < 0)
    return r;
  _cleanup_free_ char *tarp = xasprintf("%s/layer.tar", bs->tmp);
  _cleanup_close_ int fd = open(tarp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return berr_sys(bs->err, errno, "create %s", tarp);
  unlink(tarp);
  _cleanup_free_ char *diff = NULL;
  if ((r = store_rw_diff(bs->s, rf->cid, fd_write, &fd, NULL, NULL, bs->err)) < 0)
    return r;
  lseek(fd, 0, SEEK_SET);
  if ((r = store_layer_add(bs->s, ss->image, fd_read, &fd, &diff, bs->err)) < 0)
    return r;
  return commit(bs, ss, diff, created_by, cache);
}

/* ---------- instructions ---------- */

char *bx_workdir_of(const struct sstate *ss) {
  const char *w = json_string_value(json_object_get(ss->config, "WorkingDir"));
  return xstrdup(w && *w ? w : "/");
}

static int do_workdir(struct bstate *bs, struct sstate *ss, const struct binstr *in) {
  _cleanup_free_ char *w = NULL;
  if (expand(bs, ss, in->args[0], &w) < 0)
    return -EINVAL;
  _cleanup_free_ char *cur = bx_workdir_of(ss);
  _cleanup_free_ char *joined = w[0] == '/' ? xstrdup(w) : xasprintf("%s/%s", cur, w);
  bool esc = false;
  _cleanup_free_ char *clean = path_clean(joined, &esc);
  json_object_set_new(ss->config, "WorkingDir", json_string(clean));
  _cleanup_free_ char *prefix = shell_prefix(ss);
  _cleanup_free_ char *by = xasprintf("%s #(nop) WORKDIR %s", prefix, clean);
  _cleanup_free_ char *key = bx_cache_key(ss, by, NULL);
  if (!ss->nocache) {
    _cleanup_free_ char *hit = builder_cache_get(bs->b, key);
    if (hit)
      return bx_use_cache(bs, ss, hit);
  }
  struct rootfs rf;
  int r = bx_rootfs_open(bs, ss->image, &rf);
  if (r == 0) {
    int dfd = bfs_mkdir_in_root(rf.fd, clean, 0, 0);
    if (dfd < 0)
      r = berr_sys(bs->err, -dfd, "mkdir %s", clean);
    else
      close(dfd);
  }
  if (r == 0)
    r = bx_layer_commit(bs, ss, &rf, by, key);
  bx_rootfs_close(&rf);
  return r;
}

/* Heredoc sources of COPY/ADD: written as files into a temp dir. */
static int heredoc_root(struct bstate *bs, const struct sstate *ss, const struct binstr *in, char **srcs, int *fd) {
  _cleanup_free_ char *dir = xasprintf("%s/heredoc", bs->tmp);
  rm_rf(dir, NULL);
  if (mkdir(dir, 0700) < 0)
    return berr_sys(bs->err, errno, "mkdir %s", dir);
  for (size_t i = 0; srcs[i]; i++) {
    const char *w = srcs[i];
    while (isdigit((unsigned char)*w))
      w++;
    if (!str_has_prefix(w, "<<"))
      return berr_set(bs->err, EINVAL, "%s: mixing heredoc and context sources is not supported", in->keyword);
    for (size_t h = 0; h < in->nheredocs; h++) {
      if (!strstr(w, in->heredocs[h].name))
        continue;
      _cleanup_free_ char *body = NULL;
      struct bvars v = {0};
      bx_stage_vars(ss, &v);
      int r = in->heredocs[h].expand ? build_expand_heredoc(in->heredocs[h].content, &v, &body, bs->err)
                                     : ((body = xstrdup(in->heredocs[h].content)), 0);
      bvars_free(&v);
      if (r < 0)
        return r;
      _cleanup_free_ char *p = xasprintf("%s/%s", dir, in->heredocs[h].name);
      if ((r = write_file_replace(p, body, strlen(body), 0644, bs->err)) < 0)
        return r;
      free(srcs[i]);
      srcs[i] = xstrdup(in->heredocs[h].name);
      break;
    }
  }
  *fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  return *fd < 0 ? berr_sys(bs->err, errno, "open %s", dir) : 0;
}

static bool is_url(const char *s) { return str_has_prefix(s, "http://") || str_has_prefix(s, "https://"); }

/* ADD <url>…: each URL downloaded (fetch.c) into a fresh temp dir, the
 * sources renamed to the files made there. The step's cache key then comes
 * from the downloaded content (bcopy_run hashes it), as dockerd's does. */
static int url_root(struct bstate *bs, char **srcs, bool dest_dir, const char *checksum, int *fd) {
  _cleanup_free_ char *dir = xasprintf("%s/remote", bs->tmp);
  rm_rf(dir, NULL);
  if (mkdir(dir, 0700) < 0)
    return berr_sys(bs->err, errno, "mkdir %s", dir);
  *fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (*fd < 0)
    return berr_sys(bs->err, errno, "open %s", dir);
  for (size_t i = 0; srcs[i]; i++) {
    _cleanup_free_ char *sub = xasprintf("%zu", i);
    if (mkdirat(*fd, sub, 0700) < 0)
      return berr_sys(bs->err, errno, "mkdir %s/%s", dir, sub);
    _cleanup_close_ int sfd = openat(*fd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct bfetch f;
    int r = sfd < 0 ? berr_sys(bs->err, errno, "open %s/%s", dir, sub) : bfetch_url(srcs[i], sfd, &f, bs->err);
    if (r < 0)
      return berr_wrap(bs->err, "ADD failed"); /* dockerd's prefix */
    if (!f.name && (dest_dir || strv_len(srcs) > 1)) {
      r = berr_set(bs->err, EINVAL, "ADD failed: %s: cannot determine a file name from the URL; give the destination's file name",
                   srcs[i]);
    } else if (checksum && strcmp(checksum + (str_has_prefix(checksum, "sha256:") ? 7 : 0), f.sha256) != 0) {
      /* BuildKit's wording */
      r = berr_set(bs->err, EINVAL, "ADD failed: %s: digest mismatch sha256:%s: %s", srcs[i], f.sha256, checksum);
    }
    if (r == 0) {
      /* dockerd prints a blank line after a download */
      bx_out(bs, "\n");
      free(srcs[i]);
      srcs[i] = xasprintf("%s/%s", sub, f.file);
    }
    bfetch_free(&f);
    if (r < 0)
      return r;
  }
  return 0;
}

/* --chown's owner when it is numeric (or absent): known without the image's
 * /etc/passwd, so the cache can be checked before a snapshot is mounted. */
static bool copy_owner_numeric(struct bstate *bs, const struct sstate *ss, const char *chown,
                               struct bcopy_opts *co) {
  if (!chown)
    return true;
  _cleanup_free_ char *cx = NULL;
  if (expand(bs, ss, chown, &cx) < 0) {
    berr_free(*bs->err);
    *bs->err = NULL;
    return false;
  }
  char *colon = strchr(cx, ':');
  if (colon)
    *colon = '\0';
  int64_t u, g;
  if (parse_int64(cx, &u) != 0 || u < 0)
    return false;
  g = u;
  if (colon && colon[1] && (parse_int64(colon + 1, &g) != 0 || g < 0))
    return false;
  co->uid = (uid_t)u;
  co->gid = (gid_t)g;
  co->do_chown = true;
  return true;
}

static int do_copy(struct bstate *bs, struct sstate *ss, const struct binstr *in) {
  bool add = in->kind == BI_ADD;
  size_t n = strv_len(in->args);
  _cleanup_strv_ char **srcs = xcalloc(1, sizeof(char *));
  _cleanup_free_ char *dest = NULL;
  for (size_t i = 0; i < n; i++) {
    char *w = NULL;
    if (expand(bs, ss, in->args[i], &w) < 0)
      return -EINVAL;
    if (i + 1 < n)
      srcs = strv_append(srcs, w);
    else
      dest = w;
  }
  size_t nurl = 0;
  for (size_t i = 0; srcs[i]; i++) {
    if (add && str_has_prefix(srcs[i], "git@"))
      return berr_set(bs->err, ENOTSUP, "ADD failed: git sources (%s) are not supported yet", srcs[i]);
    if (is_url(srcs[i]) && !add)
      return berr_set(bs->err, EINVAL, "COPY failed: source can't be a URL for COPY");
    nurl += is_url(srcs[i]);
  }
  if (nurl && nurl != strv_len(srcs))
    return berr_set(bs->err, ENOTSUP, "ADD failed: mixing URL and local sources in one ADD is not supported");
  const char *checksum = binstr_flag(in, "checksum", NULL);
  if (checksum && (nurl != 1 || strv_len(srcs) != 1))
    return berr_set(bs->err, EINVAL, "checksum can't be specified for multiple sources or a non-HTTP source");
  const char *from = binstr_flag(in, "from", NULL);
  const char *chown = binstr_flag(in, "chown", NULL);
  const char *chmod = binstr_flag(in, "chmod", NULL);
  bool parents = false;
  const char *pv = binstr_flag(in, "parents", &parents);
  if (pv && !strcasecmp(pv, "false"))
    parents = false;
  _cleanup_strv_ char **excludes = xcalloc(1, sizeof(char *));
  for (size_t i = 0; i < in->nflags; i++)
    if (!strcmp(in->flags[i].name, "exclude")) {
      char *w = NULL;
      if (expand(bs, ss, in->flags[i].value, &w) < 0)
        return -EINVAL;
      excludes = strv_append(excludes, w);
    }
  /* the destination, against WORKDIR; a trailing "/" (or ".") means a dir */
  size_t dl = strlen(dest);
  bool dest_dir = dl > 0 && (dest[dl - 1] == '/' || !strcmp(dest, ".") || str_has_suffix(dest, "/."));
  _cleanup_free_ char *wd = bx_workdir_of(ss);
  _cleanup_free_ char *dj = dest[0] == '/' ? xstrdup(dest) : xasprintf("%s/%s", wd, dest);
  bool esc = false;
  _cleanup_free_ char *dclean = path_clean(dj, &esc);
  mode_t mode = 0;
  if (chmod) {
    char *end = NULL;
    unsigned long m = strtoul(chmod, &end, 8);
    if (!*chmod || *end || m > 07777)
      return berr_set(bs->err, EINVAL, "invalid chmod parameter: %s", chmod);
    mode = (mode_t)m;
  }
  /* the sources' root: the context, heredocs, or a stage / an image */
  struct rootfs src = {0}, dst = {0};
  src.fd = dst.fd = -1;
  /* everything with a cleanup is declared before the first goto */
  _cleanup_free_ char *desc = NULL, *prefix = NULL, *chown_c = NULL, *by = NULL, *key = NULL, *hit = NULL;
  int src_fd = bs->ctx_fd;
  _cleanup_close_ int here_fd = -1;
  int r = 0;
  if (in->nheredocs > 0) {
    if ((r = heredoc_root(bs, ss, in, srcs, &here_fd)) < 0)
      return r;
    src_fd = here_fd;
  } else if (nurl) {
    if ((r = url_root(bs, srcs, dest_dir, checksum, &here_fd)) < 0)
      return r;
    src_fd = here_fd;
  } else if (from) {
    _cleanup_free_ char *fx = NULL;
    if (build_expand_word(from, bs->df->escape, &bs->global, &fx, bs->err) < 0)
      return -EINVAL;
    ssize_t si = dockerfile_stage_find(bs->df, fx);
    const char *img = si >= 0 ? bs->stage_image[si] : fx;
    if (si >= 0 && !img)
      return berr_set(bs->err, EINVAL, "%s --from=%s: the stage made no image", in->keyword, fx);
    if (si < 0) {
      struct image *probe = NULL;
      if (store_image_get(bs->s, fx, &probe, NULL) < 0)
        return berr_set(bs->err, ENOENT,
                        "invalid from flag value %s: No such image or build stage: %s", fx, fx);
      image_free(probe);
    }
    if ((r = bx_rootfs_open(bs, img, &src)) < 0) {
      bx_rootfs_close(&src);
      return r;
    }
    src_fd = src.fd;
  }
  struct bcopy_opts co = {
      .cmd = in->keyword, .src_root = src_fd, .src_is_context = !from, .srcs = srcs, .dest = dclean,
      .dest_is_dir = dest_dir, .dst_root = -1, .do_chmod = chmod != NULL, .mode = mode,
      .extract = add && !nurl, /* a download is never unpacked */
      .parents = parents, .excludes = excludes,
  };
  prefix = shell_prefix(ss);
  chown_c = chown ? xasprintf("--chown=%s", chown) : xstrdup("");
  /* The cache first, before any snapshot is mounted: the step's key needs
   * only the sources' hash, which a pass that writes nothing gives. A
   * --chown by name needs the image's /etc/passwd, so it mounts first. */
  if (!ss->nocache && copy_owner_numeric(bs, ss, chown, &co)) {
    co.hash_only = true;
    if ((r = bcopy_run(&co, &desc, bs->err)) < 0)
      goto done;
    by = xasprintf("%s #(nop) %s %s%s in %s ", prefix, in->keyword, chown_c, desc, dest);
    key = bx_cache_key(ss, by, from);
    hit = builder_cache_get(bs->b, key);
    if (hit) {
      r = bx_use_cache(bs, ss, hit);
      goto done;
    }
    co.hash_only = false;
    free(steal_ptr(desc));
    free(steal_ptr(by));
    free(steal_ptr(key));
  }
  if ((r = bx_rootfs_open(bs, ss->image, &dst)) < 0)
    goto done;
  co.dst_root = dst.fd;
  if (chown) {
    _cleanup_free_ char *cx = NULL;
    if ((r = expand(bs, ss, chown, &cx)) < 0 || (r = bchown_parse(cx, dst.fd, &co.uid, &co.gid, bs->err)) < 0)
      goto done;
    co.do_chown = true;
  }
  if ((r = bcopy_run(&co, &desc, bs->err)) < 0)
    goto done;
  by = xasprintf("%s #(nop) %s %s%s in %s ", prefix, in->keyword, chown_c, desc, dest);
  key = bx_cache_key(ss, by, from);
  hit = ss->nocache ? NULL : builder_cache_get(bs->b, key);
  if (hit)
    r = bx_use_cache(bs, ss, hit);
  else
    r = bx_layer_commit(bs, ss, &dst, by, key);
done:
  bx_rootfs_close(&dst);
  bx_rootfs_close(&src);
  return r;
}

static int env_set(json_t *cfg, const char *k, const char *v) {
  json_t *env = json_object_get(cfg, "Env");
  if (!json_is_array(env)) {
    env = json_array();
    json_object_set_new(cfg, "Env", env);
  }
  size_t kl = strlen(k);
  size_t i;
  json_t *e;
  char *kv = xasprintf("%s=%s", k, v);
  json_array_foreach(env, i, e) {
    const char *s = json_string_value(e);
    if (s && !strncmp(s, k, kl) && s[kl] == '=') {
      json_array_set_new(env, i, json_string(kv));
      free(kv);
      return 0;
    }
  }
  json_array_append_new(env, json_string(kv));
  free(kv);
  return 0;
}

static int do_env_label(struct bstate *bs, struct sstate *ss, const struct binstr *in) {
  struct sbuf h = {0};
  sbuf_add(&h, in->keyword);
  /* all values expand against the variables BEFORE this instruction */
  struct bvars v = {0};
  char **missing = NULL;
  bx_stage_vars(ss, &v);
  v.missing = &missing;
  int r = 0;
  for (size_t i = 0; r == 0 && in->args[i] && in->args[i + 1]; i += 2) {
    _cleanup_free_ char *k = NULL, *val = NULL;
    if ((r = build_expand_word(in->args[i], bs->df->escape, &v, &k, bs->err)) < 0 ||
        (r = build_expand_word(in->args[i + 1], bs->df->escape, &v, &val, bs->err)) < 0)
      break;
    if (in->kind == BI_ENV) {
      if (!*k) {
        r = berr_set(bs->err, EINVAL, BUILD_PARSE_ERR_FMT "ENV names can not be blank", in->line);
        break;
      }
      env_set(ss->config, k, val);
    } else {
      json_t *labels = json_object_get(ss->config, "Labels");
      if (!json_is_object(labels)) {
        labels = json_object();
        json_object_set_new(ss->config, "Labels", labels);
      }
      json_object_set_new(labels, k, json_string(val));
    }
    sbuf_addc(&h, ' ');
    sbuf_add(&h, k);
    sbuf_addc(&h, '=');
    sbuf_add(&h, val);
  }
  bvars_free(&v);
  warn_missing(bs, missing);
  if (r == 0)
    r = meta_commit(bs, ss, h.s);
  sbuf_free(&h);
  return r;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* nat.ParsePortSpecs for EXPOSE: "80", "80/udp", "8000-8002/tcp". */
static int expose_port(struct bstate *bs, json_t *ports, const char *spec, int line) {
  _cleanup_free_ char *s = xstrdup(spec);
  char *slash = strchr(s, '/');
  const char *proto = "tcp";
  if (slash) {
    *slash = '\0';
    proto = slash + 1;
  }
  char *dash = strchr(s, '-');
  int64_t lo, hi;
  if (dash)
    *dash = '\0';
  if (parse_int64(s, &lo) < 0 || lo < 0 || lo > 65535 || (dash && (parse_int64(dash + 1, &hi) < 0 || hi < lo)))
    return berr_set(bs->err, EINVAL, BUILD_PARSE_ERR_FMT "invalid containerPort: %s", line, spec);
  if (!dash)
    hi = lo;
  for (int64_t p = lo; p <= hi; p++) {
    char key[64];
    snprintf(key, sizeof key, "%lld/%s", (long long)p, proto);
    json_object_set_new(ports, key, json_object());
  }
  return 0;
}

static int do_expose(struct bstate *bs, struct sstate *ss, const struct binstr *in) {
  _cleanup_strv_ char **words = xcalloc(1, sizeof(char *));
  for (size_t i = 0; in->args[i]; i++) {
    char *w = NULL;
    if (expand(bs, ss, in->args[i], &w) < 0)
      return -EINVAL;
    words = strv_append(words, w);
  }
  json_t *ports = json_object_get(ss->config, "ExposedPorts");
  if (!json_is_object(ports)) {
    ports = json_object();
    json_object_set_new(ss->config, "ExposedPorts", ports);
  }
  for (size_t i = 0; words[i]; i++)
    if (expose_port(bs, ports, words[i], in->line) < 0)
      return -EINVAL;
  qsort(words, strv_len(words), sizeof(char *), cmp_str);
  struct sbuf h = {0};
  sbuf_add(&h, "EXPOSE");
  for (size_t i = 0; words[i]; i++) {
    sbuf_addc(&h, ' ');
    sbuf_add(&h, words[i]);
  }
  int r = meta_commit(bs, ss, h.s);
  sbuf_free(&h);
  return r;
}

json_t *bx_strv_json(char *const *v) {
  json_t *a = json_array();
  for (size_t i = 0; v && v[i]; i++)
    json_array_append_new(a, json_string(v[i]));
  return a;
}

/* CMD / ENTRYPOINT / HEALTHCHECK CMD: exec form as is, shell form wrapped. */
static json_t *command_of(const struct sstate *ss, const struct binstr *in, char *const *args) {
  if (in->json)
    return bx_strv_json(args);
  json_t *c = bx_shell_of(ss);
  json_t *a = json_deep_copy(c);
  json_decref(c);
  json_array_append_new(a, json_string(args[0]));
  return a;
}

static int do_cmd_entrypoint(struct bstate *bs, struct sstate *ss, const struct binstr *in) {
  json_t *c = command_of(ss, in, in->args);
  bool entry = in->kind == BI_ENTRYPOINT;
  struct sbuf h = {0};
  sbuf_add(&h, entry ? "ENTRYPOINT " : "CMD ");
  gofmt_strv(&h, c, true);
  json_object_set_new(ss->config, entry ? "Entrypoint" : "Cmd", c);
  if (entry && !ss->cmd_set)
    json_object_set_new(ss->config, "Cmd", json_null());
  if (!entry)
    ss->cmd_set = true;
  int r = meta_commit(bs, ss, h.s);
  sbuf_free(&h);
  return r;
}

static int do_volume(struct bstate *bs, struct sstate *ss, const struct binstr *in) {
  json_t *vols = json_object_get(ss->config, "Volumes");
  if (!json_is_object(vols)) {
    vols = json_object();
    json_object_set_new(ss->config, "Volumes", vols);
  }
  _cleanup_json_ json_t *list = json_array();
  for (size_t i = 0; in->args[i]; i++) {
    _cleanup_free_ char *w = NULL;
    if (expand(bs, ss, in->args[i], &w) < 0)
      return -EINVAL;
    if (!*w)
      return berr_set(bs->err, EINVAL, "VOLUME specified can not be an empty string");
    json_object_set_new(vols, w, json_object());
    json_array_append_new(list, json_string(w));
  }
  struct sbuf h = {0};
  sbuf_add(&h, "VOLUME ");
  gofmt_strv(&h, list, false);
  int r = meta_commit(bs, ss, h.s);
  sbuf_free(&h);
  return r;
}

static bool signal_valid(const char *s) {
  int64_t n;
  if (parse_int64(s, &n) == 0)
    return n > 0 && n < 65;
  const char *name = strncasecmp(s, "SIG", 3) == 0 ? s + 3 : s;
  static const char *const names[] = {"HUP",  "INT",  "QUIT", "ILL",  "TRAP", "ABRT",   "IOT",  "BUS",
                                      "FPE",  "KILL", "USR1", "SEGV", "USR2", "PIPE",   "ALRM", "TERM",
                                      "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG",
                                      "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "POLL", "PWR", "SYS"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (!strcasecmp(name, names[i]))
      return true;
  return str_has_prefix(name, "RTMIN") || str_has_prefix(name, "RTMAX");
}

static int do_simple(struct bstate *bs, struct sstate *ss, const struct binstr *in, const char *key) {
  _cleanup_free_ char *w = NULL;
  if (expand(bs, ss, in->args[0], &w) < 0)
    return -EINVAL;
  if (in->kind == BI_STOPSIGNAL && !signal_valid(w))
    return berr_set(bs->err, EINVAL, "Invalid signal: %s", w);
  json_object_set_new(ss->config, key, json_string(w));
  _cleanup_free_ char *h = xasprintf("%s %s", in->keyword, w);
  return meta_commit(bs, ss, h);
}

static int64_t dur_flag(const struct binstr *in, const char *name) {
  const char *v = binstr_flag(in, name, NULL);
  if (!v)
    return 0;
  int64_t total = 0;
  const char *s = v;
  while (*s) {
    char *end;
    double d = strtod(s, &end);
    if (end == s)
      return 0;
    s = end;
    double mul = 1e9;
    if (str_has_prefix(s, "ns")) mul = 1, s += 2;
    else if (str_has_prefix(s, "us")) mul = 1e3, s += 2;
    else if (str_has_prefix(s, "ms")) mul = 1e6, s += 2;
    else if (*s == 's') s++;
    else if (*s == 'm') mul = 60e9, s++;
    else if (*s == 'h') mul = 3600e9, s++;
    total += (int64_t)(d * mul);
  }
  return total;
}

static int do_healthcheck(struct bstate *bs, struct sstate *ss, const struct binstr *in) {
  json_t *hc = json_object();
  json_t *test;
  if (!strcmp(in->args[0], "NONE")) {
    test = json_pack("[s]", "NONE");
  } else if (in->json) {
    test = json_pack("[s]", "CMD");
    for (size_t i = 1; in->args[i]; i++)
      json_array_append_new(test, json_string(in->args[i]));
  } else {
    test = json_pack("[ss]", "CMD-SHELL", in->args[1]);
  }
  json_object_set_new(hc, "Test", test);
  int64_t interval = dur_flag(in, "interval"), timeout = dur_flag(in, "timeout");
  int64_t start = dur_flag(in, "start-period");
  int64_t retries = 0;
  const char *rv = binstr_flag(in, "retries", NULL);
  if (rv && (parse_int64(rv, &retries) < 0 || retries < 1))
    return berr_set(bs->err, EINVAL, "--retries cannot be less than 1");
  if (interval)
    json_object_set_new(hc, "Interval", json_integer(interval));
  if (timeout)
    json_object_set_new(hc, "Timeout", json_integer(timeout));
  if (start)
    json_object_set_new(hc, "StartPeriod", json_integer(start));
  if (retries)
    json_object_set_new(hc, "Retries", json_integer(retries));
  /* history: fmt %q of *container.HealthConfig */
  struct sbuf h = {0};
  sbuf_add(&h, "HEALTHCHECK &{");
  gofmt_strv(&h, test, true);
  int64_t d[3] = {interval, timeout, start};
  for (size_t i = 0; i < 3; i++) {
    struct sbuf t = {0};
    gofmt_duration(&t, d[i]);
    sbuf_addc(&h, ' ');
    gofmt_quote(&h, t.s);
    sbuf_free(&t);
  }
  sbuf_addc(&h, ' ');
  gofmt_quote_rune(&h, retries);
  sbuf_addc(&h, '}');
  json_object_set_new(ss->config, "Healthcheck", hc);
  int r = meta_commit(bs, ss, h.s);
  sbuf_free(&h);
  return r;
}

static int do_shell(struct bstate *bs, struct sstate *ss, const struct binstr *in) {
  json_t *sh = bx_strv_json(in->args);
  json_object_set_new(ss->config, "Shell", sh);
  struct sbuf h = {0};
  sbuf_add(&h, "SHELL ");
  gofmt_strv(&h, sh, false);
  int r = meta_commit(bs, ss, h.s);
  sbuf_free(&h);
  return r;
}

static int do_onbuild(struct bstate *bs, struct sstate *ss, const struct binstr *in) {
  json_t *ob = json_object_get(ss->config, "OnBuild");
  if (!json_is_array(ob)) {
    ob = json_array();
    json_object_set_new(ss->config, "OnBuild", ob);
  }
  json_array_append_new(ob, json_string(in->rest));
  _cleanup_free_ char *h = xasprintf("ONBUILD %s", in->rest);
  return meta_commit(bs, ss, h);
}

static int do_maintainer(struct bstate *bs, struct sstate *ss, const struct binstr *in) {
  free(ss->author);
  ss->author = xstrdup(in->args[0]);
  _cleanup_free_ char *h = xasprintf("MAINTAINER %s", in->args[0]);
  return meta_commit(bs, ss, h);
}

bool bx_is_proxy_arg(const char *k) {
  static const char *const p[] = {"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY",
                                  "ftp_proxy",  "NO_PROXY",   "no_proxy",    "ALL_PROXY",   "all_proxy"};
  for (size_t i = 0; i < sizeof p / sizeof p[0]; i++)
    if (!strcmp(k, p[i]))
      return true;
  return false;
}

/* ARG name[=default]: a --build-arg wins, then the default, then a meta ARG. */
static int declare_arg(struct bstate *bs, struct bvars *scope, const struct bvars *outer, const char *word,
                       char **history) {
  const char *eq = strchr(word, '=');
  _cleanup_free_ char *name = eq ? strndup(word, (size_t)(eq - word)) : xstrdup(word);
  _cleanup_free_ char *def = NULL;
  if (eq && build_expand_word(eq + 1, bs->df->escape, scope, &def, bs->err) < 0)
    return -EINVAL;
  const char *given = buildarg(bs, name);
  const char *val = given ? given : def ? def : bvars_get(outer, name);
  if (given)
    mark_used(bs, name);
  if (val)
    bvars_set(scope, name, val);
  if (history)
    *history = def ? xasprintf("%s=%s", name, def) : xstrdup(name);
  return 0;
}

static int do_arg(struct bstate *bs, struct sstate *ss, const struct binstr *in) {
  struct sbuf h = {0};
  sbuf_add(&h, "ARG");
  int r = 0;
  for (size_t i = 0; r == 0 && in->args[i]; i++) {
    _cleanup_free_ char *hist = NULL;
    struct bvars v = {0};
    bx_stage_vars(ss, &v);
    bvars_copy(&v, &ss->args);
    r = declare_arg(bs, &v, &bs->global, in->args[i], &hist);
    if (r == 0) {
      const char *eq = strchr(in->args[i], '=');
      _cleanup_free_ char *name = eq ? strndup(in->args[i], (size_t)(eq - in->args[i])) : xstrdup(in->args[i]);
      const char *val = bvars_get(&v, name);
      if (val)
        bvars_set(&ss->args, name, val);
      sbuf_addc(&h, ' ');
      sbuf_add(&h, hist);
    }
    bvars_free(&v);
  }
  if (r == 0)
    r = meta_commit(bs, ss, h.s);
  sbuf_free(&h);
  return r;
}


static int dispatch(struct bstate *bs, struct sstate *ss, const struct binstr *in);

/* ONBUILD triggers of the base image run right after FROM. */
static int run_triggers(struct bstate *bs, struct sstate *ss) {
  json_t *ob = json_object_get(ss->config, "OnBuild");
  size_t n = json_is_array(ob) ? json_array_size(ob) : 0;
  if (n == 0)
    return 0;
  _cleanup_json_ json_t *triggers = json_incref(ob);
  json_object_set_new(ss->config, "OnBuild", json_null());
  bx_out(bs, "# Executing %zu build trigger%s\n", n, n == 1 ? "" : "s");
  for (size_t i = 0; i < n; i++) {
    const char *t = json_string_value(json_array_get(triggers, i));
    _cleanup_free_ char *text = xasprintf("FROM scratch\n%s\n", t ? t : "");
    struct dockerfile *tdf = NULL;
    int r = dockerfile_parse(text, strlen(text), &tdf, bs->err);
    if (r < 0)
      return r;
    if (tdf->stages[0].ninstrs < 2) {
      dockerfile_free(tdf);
      continue;
    }
    r = dispatch(bs, ss, &tdf->stages[0].instrs[1]);
    dockerfile_free(tdf);
    if (r < 0)
      return r;
  }
  return 0;
}

/* dockerd gives a stage without Env (scratch) the default PATH. */
static void default_path(struct sstate *ss) {
  json_t *env = json_object_get(ss->config, "Env");
  if (!json_is_array(env) || json_array_size(env) == 0)
    json_object_set_new(ss->config, "Env",
                        json_pack("[s]", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
}

/* A pull's progress message, into the stage's output. */
static void pull_emit(void *ectx, json_t *m) {
  struct bstate *bs = ectx;
  if (bs->o->msg)
    bs->o->msg(bs->o->ctx, m);
}

static int do_from(struct bstate *bs, struct sstate *ss, size_t si) {
  const struct bstage *st = &bs->df->stages[si];
  _cleanup_free_ char *base = NULL;
  if (build_expand_word(st->base, bs->df->escape, &bs->global, &base, bs->err) < 0)
    return -EINVAL;
  if (st->platform) {
    _cleanup_free_ char *pf = NULL;
    if (build_expand_word(st->platform, bs->df->escape, &bs->global, &pf, bs->err) < 0)
      return -EINVAL;
    _cleanup_free_ char *mine = xasprintf("linux/%s", machine_arch());
    if (strcmp(pf, mine) != 0 && strcmp(pf, "linux") != 0)
      return berr_set(bs->err, ENOTSUP, "FROM --platform=%s: only this machine's platform (%s) can be built", pf,
                      mine);
  }
  ss->config = json_object();
  if (!strcasecmp(base, "scratch")) {
    default_path(ss);
    bx_out(bs, " ---> \n");
    return 0;
  }
  const struct bgraph_stage *gs = &bs->g.stages[si];
  const char *id = gs->base_is_stage ? bs->stage_image[gs->base_stage] : NULL;
  struct image *img = NULL;
  int r;
  if (gs->base_is_stage && !id) { /* a scratch stage with no instruction */
    default_path(ss);
    bx_out(bs, " ---> \n");
    return 0;
  }
  /* dockerd: an image not in the store is pulled; --pull pulls every time */
  bool pull = !id && bs->o->pull;
  if (!pull && (r = store_image_get(bs->s, id ? id : base, &img, bs->err)) < 0) {
    if (r != -ENOENT || !bs->o->pull_image)
      return r;
    berr_free(*bs->err);
    *bs->err = NULL;
    pull = true;
  }
  if (pull) {
    _cleanup_free_ char *pulled = NULL;
    if (!bs->o->pull_image)
      return berr_set(bs->err, ENOTSUP, "pull %s: pulling is not possible in this builder", base);
    if ((r = bs->o->pull_image(bs->o->pull_ctx, base, pull_emit, bs, &pulled, bs->err)) < 0)
      return r;
    if ((r = store_image_get(bs->s, pulled, &img, bs->err)) < 0)
      return r;
  }
  json_decref(ss->config);
  ss->config = json_deep_copy(json_object_get(img->config, "config"));
  if (!json_is_object(ss->config)) {
    json_decref(ss->config);
    ss->config = json_object();
  }
  ss->image = xstrdup(img->id);
  image_free(img);
  default_path(ss);
  _cleanup_free_ char *sid = short_id(ss->image);
  bx_out(bs, " ---> %s\n", sid);
  return run_triggers(bs, ss);
}

static int dispatch(struct bstate *bs, struct sstate *ss, const struct binstr *in) {
  switch (in->kind) {
  case BI_ENV:
  case BI_LABEL: return do_env_label(bs, ss, in);
  case BI_MAINTAINER: return do_maintainer(bs, ss, in);
  case BI_EXPOSE: return do_expose(bs, ss, in);
  case BI_CMD:
  case BI_ENTRYPOINT: return do_cmd_entrypoint(bs, ss, in);
  case BI_VOLUME: return do_volume(bs, ss, in);
  case BI_USER: return do_simple(bs, ss, in, "User");
  case BI_STOPSIGNAL: return do_simple(bs, ss, in, "StopSignal");
  case BI_WORKDIR: return do_workdir(bs, ss, in);
  case BI_ARG: return do_arg(bs, ss, in);
  case BI_ONBUILD: return do_onbuild(bs, ss, in);
  case BI_HEALTHCHECK: return do_healthcheck(bs, ss, in);
  case BI_SHELL: return do_shell(bs, ss, in);
  case BI_COPY:
  case BI_ADD: return do_copy(bs, ss, in);
  case BI_RUN: return bx_do_run(bs, ss, in);
  default: return berr_set(bs->err, EINVAL, BUILD_PARSE_ERR_FMT "unknown instruction: %s", in->line, in->keyword);
  }
}

static void sstate_free(struct sstate *ss) {
  free(ss->image);
  json_decref(ss->config);
  free(ss->author);
  bvars_free(&ss->args);
}

/* Apply --label as one LABEL step each, sorted (dockerd's order). */
static int apply_labels(struct bstate *bs, struct sstate *ss) {
  const char *k;
  json_t *v;
  _cleanup_strv_ char **keys = xcalloc(1, sizeof(char *));
  json_object_foreach((json_t *)bs->o->labels, k, v) keys = strv_append(keys, xstrdup(k));
  qsort(keys, strv_len(keys), sizeof(char *), cmp_str);
  for (size_t i = 0; keys[i]; i++) {
    const char *val = json_string_value(json_object_get(bs->o->labels, keys[i]));
    bx_out(bs, "Step %d/%d : LABEL %s=%s\n", ++bs->step, bs->nsteps, keys[i], val ? val : "");
    json_t *labels = json_object_get(ss->config, "Labels");
    if (!json_is_object(labels)) {
      labels = json_object();
      json_object_set_new(ss->config, "Labels", labels);
    }
    json_object_set_new(labels, keys[i], json_string(val ? val : ""));
    _cleanup_free_ char *h = xasprintf("LABEL %s=%s", keys[i], val ? val : "");
    int r = meta_commit(bs, ss, h);
    if (r < 0)
      return r;
  }
  return 0;
}

int bx_build_stage(struct bstate *bs, size_t si, const bool *cancel) {
  const struct bstage *st = &bs->df->stages[si];
  struct sstate ss = {.nocache = bx_stage_nocache(bs, si)};
  bx_out(bs, "Step %d/%d : %s\n", ++bs->step, bs->nsteps, st->instrs[0].original);
  int r = do_from(bs, &ss, si);
  for (size_t i = 1; r == 0 && i < st->ninstrs; i++) {
    const struct binstr *in = &st->instrs[i];
    if (cancel && __atomic_load_n(cancel, __ATOMIC_RELAXED)) {
      r = berr_set(bs->err, ECANCELED, "build stage %zu cancelled: another stage failed", si);
      break;
    }
    bx_out(bs, "Step %d/%d : %s\n", ++bs->step, bs->nsteps, in->original);
    bs->line = in->line;
    r = dispatch(bs, &ss, in);
  }
  if (r == 0 && si == bs->g.target && bs->o->labels && json_object_size(bs->o->labels) > 0)
    r = apply_labels(bs, &ss);
  if (r == 0 && !ss.image && si == bs->g.target)
    r = berr_set(bs->err, EINVAL, "No image was generated. Is your Dockerfile empty?");
  if (r == 0)
    bs->stage_image[si] = steal_ptr(ss.image);
  sstate_free(&ss);
  return r;
}

/* BuildKit's automatic platform ARGs, in the global scope. */
static void platform_args(struct bvars *v) {
  const char *arch = machine_arch();
  _cleanup_free_ char *pf = xasprintf("linux/%s", arch);
  const char *names[][2] = {{"BUILDPLATFORM", pf},  {"BUILDOS", "linux"},  {"BUILDARCH", arch},
                            {"BUILDVARIANT", ""},   {"TARGETPLATFORM", pf}, {"TARGETOS", "linux"},
                            {"TARGETARCH", arch},   {"TARGETVARIANT", ""}};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    bvars_set(v, names[i][0], names[i][1]);
}

static int read_dockerfile(struct bstate *bs, char **text, size_t *len) {
  const char *name = bs->o->dockerfile && *bs->o->dockerfile ? bs->o->dockerfile : build_default_dockerfile();
  int fd = fs_open_in_root(bs->ctx_fd, name, O_RDONLY, 0);
  if (fd < 0)
    return berr_set(bs->err, ENOENT,
                    "Cannot locate specified Dockerfile: %s", name);
  _cleanup_free_ char *p = xasprintf("/proc/self/fd/%d", fd);
  int r = read_file(p, text, len, bs->err);
  close(fd);
  return r;
}

/* dockerd removes the Dockerfile and .dockerignore from the context when
 * .dockerignore excludes them (they are sent anyway, to be read). */
static void drop_ignored_meta(struct bstate *bs) {
  _cleanup_free_ char *p = xasprintf("%s/.dockerignore", bs->o->context_dir);
  _cleanup_free_ char *text = NULL;
  if (read_file(p, &text, NULL, NULL) < 0)
    return;
  struct bignore ig;
  if (bignore_parse(text, &ig, NULL) < 0)
    return;
  const char *df = bs->o->dockerfile && *bs->o->dockerfile ? bs->o->dockerfile : build_default_dockerfile();
  const char *names[] = {df, ".dockerignore"};
  for (size_t i = 0; i < 2; i++)
    if (bignore_excluded(&ig, names[i]) && !strchr(names[i], '/') && strcmp(names[i], ".."))
      unlinkat(bs->ctx_fd, names[i], 0);
  bignore_free(&ig);
}

int build_run(struct builder *b, const struct build_opts *o, char **image_id, struct berr **err) {
  struct bstate bs = {.b = b, .s = builder_store(b), .o = o, .err = err, .ctx_fd = -1};
  _cleanup_free_ char *text = NULL, *sid = NULL;
  struct sbuf unused = {0};
  size_t len = 0;
  int r = 0;
  if (o->platform && *o->platform) {
    _cleanup_free_ char *mine = xasprintf("linux/%s", machine_arch());
    if (strcmp(o->platform, mine) != 0 && strcmp(o->platform, "linux") != 0)
      return berr_set(err, ENOTSUP, "platform %s is not supported: berth builds for this machine's platform (%s) only",
                      o->platform, mine);
  }
  for (size_t i = 0; o->tags && o->tags[i]; i++) {
    struct image_ref ref;
    if ((r = image_ref_parse(o->tags[i], &ref, err)) < 0)
      return r;
    image_ref_free(&ref);
  }
  bs.ctx_fd = open(o->context_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (bs.ctx_fd < 0)
    return berr_sys(err, errno, "open build context %s", o->context_dir);
  if ((r = read_dockerfile(&bs, &text, &len)) < 0)
    goto out;
  drop_ignored_meta(&bs);
  if ((r = dockerfile_parse(text, len, &bs.df, err)) < 0)
    goto out;
  platform_args(&bs.global);
  for (size_t i = 0; i < bs.df->nmeta_args; i++)
    for (size_t k = 0; bs.df->meta_args[i].args[k]; k++) {
      struct bvars outer = {0};
      if ((r = declare_arg(&bs, &bs.global, &outer, bs.df->meta_args[i].args[k], NULL)) < 0)
        goto out;
    }
  if ((r = bgraph_build(bs.df, o->target, &bs.global, &bs.g, err)) < 0)
    goto out;
  if ((r = builder_tmpdir(b, &bs.tmp, err)) < 0)
    goto out;
  bs.nsteps = (int)bs.df->nmeta_args;
  for (size_t i = 0; i < bs.df->nstages; i++)
    if (bs.g.stages[i].needed)
      bs.nsteps += (int)bs.df->stages[i].ninstrs;
  if (o->labels)
    bs.nsteps += (int)json_object_size(o->labels);
  for (size_t i = 0; i < bs.df->nmeta_args; i++)
    bx_out(&bs, "Step %d/%d : %s\n", ++bs.step, bs.nsteps, bs.df->meta_args[i].original);
  bs.stage_image = xcalloc(bs.df->nstages + 1, sizeof(char *));
  /* the needed stages, independent ones concurrently (stages.c) */
  if ((r = bx_run_stages(&bs)) < 0)
    goto out;
  const char *final = bs.stage_image[bs.g.target];
  /* unused --build-arg (the predefined proxy ones are never reported) */
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)o->buildargs, k, v) {
    bool used = bx_is_proxy_arg(k);
    for (size_t i = 0; !used && bs.used_args && bs.used_args[i]; i++)
      used = !strcmp(bs.used_args[i], k);
    if (used)
      continue;
    sbuf_add(&unused, unused.len ? " " : "");
    sbuf_add(&unused, k);
  }
  if (unused.len)
    bx_out(&bs, "[Warning] One or more build-args [%s] were not consumed\n", unused.s);
  sbuf_free(&unused);
  if (o->aux)
    o->aux(o->ctx, final);
  sid = short_id(final);
  bx_out(&bs, "Successfully built %s\n", sid);
  for (size_t i = 0; r == 0 && o->tags && o->tags[i]; i++) {
    if ((r = store_image_tag(bs.s, final, o->tags[i], err)) < 0)
      break;
    struct image_ref ref;
    if (image_ref_parse(o->tags[i], &ref, NULL) == 0) {
      _cleanup_free_ char *fam = image_ref_familiar(&ref);
      bx_out(&bs, "Successfully tagged %s\n", fam);
      image_ref_free(&ref);
    }
  }
  if (r == 0)
    *image_id = xstrdup(final);
out:
  if (bs.tmp) {
    rm_rf(bs.tmp, NULL);
    free(bs.tmp);
  }
  if (bs.ctx_fd >= 0)
    close(bs.ctx_fd);
  for (size_t i = 0; bs.stage_image && bs.df && i < bs.df->nstages; i++)
    free(bs.stage_image[i]);
  free(bs.stage_image);
  strv_free(bs.used_args);
  bgraph_free(&bs.g);
  bvars_free(&bs.global);
  dockerfile_free(bs.df);
  return r;
}
