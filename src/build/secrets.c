/*
 * secrets.c — build secrets (--secret) on their way from the CLI to the
 * builder; compiled into the CLI too (like ignore.c).
 *
 * The CLI resolves each `--secret id=X[,src=FILE|,env=VAR]` as buildx does
 * (no src/env: the env var X if set, else the file X; at most 500KB each) and
 * sends the bytes in front of the context tar of POST /build, announced by
 * the header `X-Berth-Build-Secrets: <bytes of the prefix>`. The prefix is a
 * sequence of records "<len> <id>\n<len bytes>". berthd reads exactly that
 * many bytes before the context (routes_build.c), decodes them here, and
 * keeps them in memory for the build: they never reach the context dir, a
 * layer, the cache key or history, and are wiped (explicit_bzero) when freed.
 * A Docker client never sends the header, so nothing changes for it.
 *
 * Invariants: ids are unique (a later --secret with the same id wins, as in
 * buildx's map) and hold no '\n' or ','; every buffer that held secret bytes
 * is wiped before it is freed.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "build/build.h"

/* ---------- --secret specs (buildx's wording) ---------- */

struct bytes {
  char *s;
  size_t len;
};

/* Append, wiping the old buffer when it moves (it may hold secret bytes). */
static void bytes_add(struct bytes *b, const void *p, size_t n) {
  char *ns = xmalloc(b->len + n + 1);
  if (b->len)
    memcpy(ns, b->s, b->len);
  memcpy(ns + b->len, p, n);
  ns[b->len + n] = '\0';
  if (b->s)
    explicit_bzero(b->s, b->len);
  free(b->s);
  b->s = ns;
  b->len += n;
}

void build_secret_spec_free(struct build_secret_spec *s) {
  free(s->id);
  free(s->src);
  free(s->env);
  memset(s, 0, sizeof *s);
}

/* "type=file|env,id=X,src|source=P,env=V" (buildx: csv fields, key=value). */
int build_secret_spec_parse(const char *spec, struct build_secret_spec *out, struct berr **err) {
  memset(out, 0, sizeof *out);
  _cleanup_free_ char *copy = xstrdup(spec);
  char *save = NULL;
  bool type_env = false;
  for (char *f = strtok_r(copy, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(f, '=');
    if (!eq) {
      build_secret_spec_free(out);
      return berr_set(err, EINVAL, "invalid field '%s' must be a key=value pair", f);
    }
    *eq = '\0';
    for (char *p = f; *p; p++)
      *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    const char *v = eq + 1;
    char **dst = NULL;
    if (!strcmp(f, "type")) {
      if (strcmp(v, "file") && strcmp(v, "env")) {
        build_secret_spec_free(out);
        return berr_set(err, EINVAL, "unsupported secret type \"%s\"", v);
      }
      type_env = !strcmp(v, "env");
    } else if (!strcmp(f, "id")) {
      dst = &out->id;
    } else if (!strcmp(f, "src") || !strcmp(f, "source")) {
      dst = &out->src;
    } else if (!strcmp(f, "env")) {
      dst = &out->env;
    } else {
      *eq = '=';
      _cleanup_free_ char *key = strndup(f, (size_t)(eq - f));
      build_secret_spec_free(out);
      return berr_set(err, EINVAL, "unexpected key '%s' in '%s'", key, f);
    }
    if (dst) {
      free(*dst);
      *dst = xstrdup(v);
    }
  }
  if (type_env && !out->env) { /* type=env,src=VAR */
    out->env = out->src;
    out->src = NULL;
  }
  if (!out->id || !*out->id) {
    build_secret_spec_free(out);
    return berr_set(err, EINVAL, "secret missing ID");
  }
  if (strpbrk(out->id, "\n")) {
    build_secret_spec_free(out);
    return berr_set(err, EINVAL, "invalid secret ID %s", out->id);
  }
  return 0;
}

static int read_secret_file(const char *path, const char *id, struct bytes *out, struct berr **err) {
  _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0)
    return berr_set(err, errno, "failed to stat %s: stat %s: %s", path, path, strerror(errno));
  if (st.st_size > BUILD_SECRET_MAX)
    return berr_set(err, EFBIG, "secret %s too big. max size 500KB", id);
  char buf[8192];
  for (;;) {
    ssize_t k = read(fd, buf, sizeof buf);
    if (k < 0 && errno == EINTR)
      continue;
    if (k < 0) {
      explicit_bzero(buf, sizeof buf);
      return berr_sys(err, errno, "read secret %s", path);
    }
    if (k == 0)
      break;
    bytes_add(out, buf, (size_t)k);
  }
  explicit_bzero(buf, sizeof buf);
  if (out->len > BUILD_SECRET_MAX)
    return berr_set(err, EFBIG, "secret %s too big. max size 500KB", id);
  return 0;
}

/* Append one record for `spec` to *wire (the CLI side). */
int build_secret_encode(const struct build_secret_spec *spec, char **wire, size_t *wire_len, struct berr **err) {
  const char *env = spec->env;
  const char *src = spec->src;
  if (!env && !src) { /* buildx: the env var named like the id, else a file */
    if (getenv(spec->id))
      env = spec->id;
    else
      src = spec->id;
  }
  struct bytes data = {0};
  int r = 0;
  if (env) {
    const char *v = getenv(env);
    bytes_add(&data, v ? v : "", v ? strlen(v) : 0);
  } else {
    r = read_secret_file(src, spec->id, &data, err);
  }
  if (r == 0) {
    char head[64];
    snprintf(head, sizeof head, "%zu ", data.len);
    struct bytes w = {.s = *wire, .len = *wire_len};
    bytes_add(&w, head, strlen(head));
    bytes_add(&w, spec->id, strlen(spec->id));
    bytes_add(&w, "\n", 1);
    bytes_add(&w, data.s ? data.s : "", data.len);
    *wire = w.s;
    *wire_len = w.len;
  }
  if (data.s)
    explicit_bzero(data.s, data.len);
  free(data.s);
  return r;
}

/* ---------- the daemon side ---------- */

void build_secrets_free(struct build_secret *s, size_t n) {
  for (size_t i = 0; s && i < n; i++) {
    if (s[i].data)
      explicit_bzero(s[i].data, s[i].len);
    free(s[i].data);
    free(s[i].id);
  }
  free(s);
}

int build_secrets_decode(const char *buf, size_t len, struct build_secret **out, size_t *n, struct berr **err) {
  struct build_secret *v = NULL;
  size_t nv = 0;
  size_t off = 0;
  while (off < len) {
    const char *nl = memchr(buf + off, '\n', len - off);
    const char *sp = nl ? memchr(buf + off, ' ', (size_t)(nl - (buf + off))) : NULL;
    char *end = NULL;
    unsigned long long dl = sp ? strtoull(buf + off, &end, 10) : 0;
    if (!sp || end != sp || sp == buf + off || nl == sp + 1 || dl > BUILD_SECRET_MAX ||
        dl > len - (size_t)(nl + 1 - buf)) {
      build_secrets_free(v, nv);
      return berr_set(err, EINVAL, "malformed build secrets (X-Berth-Build-Secrets) at byte %zu", off);
    }
    char *id = strndup(sp + 1, (size_t)(nl - sp - 1));
    size_t k = 0;
    while (k < nv && strcmp(v[k].id, id))
      k++;
    if (k == nv) {
      v = xrealloc(v, (nv + 1) * sizeof *v);
      v[nv++] = (struct build_secret){.id = id};
    } else {
      free(id);
      explicit_bzero(v[k].data, v[k].len);
      free(v[k].data);
    }
    v[k].len = (size_t)dl;
    v[k].data = xmalloc(v[k].len + 1);
    memcpy(v[k].data, nl + 1, v[k].len);
    off = (size_t)(nl + 1 - buf) + v[k].len;
  }
  *out = v;
  *n = nv;
  return 0;
}
