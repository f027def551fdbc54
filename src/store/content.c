/*
 * content.c — the content store: blobs/sha256/<hex>, each file's name the
 * sha256 of its bytes. A blob is written to a temp file under <root>/tmp
 * (same filesystem), hashed as it is written, fsync'd, checked against the
 * digest the caller expects, and only then renamed into place: a reader
 * never sees a partial or wrong blob, and a mismatch leaves nothing.
 * Also the sha256 helpers (digests, chain IDs) the rest of the store uses.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "store/store_internal.h"

bool digest_valid(const char *d) {
  if (!d || !str_has_prefix(d, "sha256:") || strlen(d) != 7 + SHA256_HEX_LEN)
    return false;
  for (const char *p = d + 7; *p; p++)
    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
      return false;
  return true;
}

const char *digest_hex(const char *d) { return digest_valid(d) ? d + 7 : NULL; }

char *digest_final(EVP_MD_CTX *ctx) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx, md, &n);
  char *s = xmalloc(7 + 2 * n + 1);
  memcpy(s, "sha256:", 7);
  for (unsigned i = 0; i < n; i++)
    snprintf(s + 7 + 2 * i, 3, "%02x", md[i]);
  return s;
}

char *digest_of(const void *data, size_t len) {
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
  EVP_DigestUpdate(ctx, data, len);
  char *d = digest_final(ctx);
  EVP_MD_CTX_free(ctx);
  return d;
}

char *chain_id_next(const char *parent_chain, const char *diff_id) {
  if (!parent_chain)
    return xstrdup(diff_id);
  _cleanup_free_ char *s = xasprintf("%s %s", parent_chain, diff_id);
  return digest_of(s, strlen(s));
}

struct content_writer {
  struct store *s;
  char *tmp_path;
  int fd;
  EVP_MD_CTX *md;
};

char *content_path(struct store *s, const char *digest) {
  const char *hex = digest_hex(digest);
  return xasprintf("%s/%s", s->blobs, hex ? hex : "invalid");
}

bool content_exists(struct store *s, const char *digest) {
  if (!digest_valid(digest))
    return false;
  _cleanup_free_ char *p = content_path(s, digest);
  return path_exists(p);
}

int content_writer_open(struct store *s, struct content_writer **out, struct berr **err) {
  _cleanup_free_ char *tmpl = xasprintf("%s/blob-XXXXXX", s->tmp);
  int fd = mkostemp(tmpl, O_CLOEXEC);
  if (fd < 0)
    return berr_sys(err, errno, "create temp blob in %s", s->tmp);
  struct content_writer *w = xcalloc(1, sizeof *w);
  w->s = s;
  w->fd = fd;
  w->tmp_path = steal_ptr(tmpl);
  w->md = EVP_MD_CTX_new();
  EVP_DigestInit_ex(w->md, EVP_sha256(), NULL);
  *out = w;
  return 0;
}

int content_writer_write(struct content_writer *w, const void *data, size_t len, struct berr **err) {
  EVP_DigestUpdate(w->md, data, len);
  const char *p = data;
  while (len > 0) {
    ssize_t n = write(w->fd, p, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return berr_sys(err, errno, "write blob %s", w->tmp_path);
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

void content_writer_abort(struct content_writer *w) {
  if (!w)
    return;
  if (w->fd >= 0)
    close(w->fd);
  if (w->tmp_path)
    unlink(w->tmp_path);
  free(w->tmp_path);
  EVP_MD_CTX_free(w->md);
  free(w);
}

int content_writer_commit(struct content_writer *w, const char *expected, char **digest,
                          struct berr **err) {
  _cleanup_free_ char *got = digest_final(w->md);
  int r = 0;
  if (fsync(w->fd) < 0)
    r = berr_sys(err, errno, "fsync blob %s", w->tmp_path);
  else if (expected && strcmp(expected, got) != 0)
    r = berr_set(err, EINVAL, "digest mismatch: expected %s, got %s", expected, got);
  if (r == 0) {
    _cleanup_free_ char *dst = content_path(w->s, got);
    if (fchmod(w->fd, 0644) < 0 || rename(w->tmp_path, dst) < 0)
      r = berr_sys(err, errno, "store blob %s", got);
    else {
      free(w->tmp_path);
      w->tmp_path = NULL; /* renamed: nothing to unlink */
    }
  }
  if (r == 0 && digest)
    *digest = steal_ptr(got);
  content_writer_abort(w);
  return r;
}

int content_put(struct store *s, const void *data, size_t len, const char *expected, char **digest,
                struct berr **err) {
  struct content_writer *w = NULL;
  int r = content_writer_open(s, &w, err);
  if (r < 0)
    return r;
  if ((r = content_writer_write(w, data, len, err)) < 0) {
    content_writer_abort(w);
    return r;
  }
  return content_writer_commit(w, expected, digest, err);
}
