/*
 * reference.c — Docker's image reference grammar (distribution/reference as
 * vendored by dockerd 20.10) and its normalisation, by hand rather than by
 * regex so each rule is visible:
 *
 *   reference  := name [ ":" tag ] [ "@" digest ]
 *   name       := [ domain "/" ] component ( "/" component )*
 *   domain     := dcomp ( "." dcomp )* [ ":" port ]    dcomp: [A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?
 *   component  := alnum ( sep alnum )*                 alnum: [a-z0-9]+, sep: "." | "_" | "__" | "-"+
 *   tag        := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
 *   digest     := algo ":" hex{32,}
 *
 * Normalisation (ParseNormalizedNamed): the first component is a domain only
 * when it has a "." or ":" or is "localhost"; else the domain is docker.io
 * (index.docker.io is folded into it) and a one-component path gets
 * "library/". The full name may be at most 255 characters. Docker's messages
 * are kept word for word: clients show them.
 */
#include <ctype.h>
#include <errno.h>

#include "store/store_internal.h"

#define NAME_TOTAL_MAX 255

static const char E_FORMAT[] = "invalid reference format";
static const char E_UPPER[] = "invalid reference format: repository name must be lowercase";

static bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

/* component of the path, [s, s+n) */
static bool component_valid(const char *s, size_t n) {
  size_t i = 0;
  if (n == 0 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
    return false;
  while (i < n) {
    if (is_lower_alnum(s[i])) {
      i++;
      continue;
    }
    /* a separator: ".", "_", "__" or a run of "-", between alnums */
    size_t j = i;
    if (s[i] == '.')
      j = i + 1;
    else if (s[i] == '_')
      j = (i + 1 < n && s[i + 1] == '_') ? i + 2 : i + 1;
    else if (s[i] == '-')
      while (j < n && s[j] == '-')
        j++;
    else
      return false;
    if (j >= n || !is_lower_alnum(s[j]))
      return false;
    i = j;
  }
  return true;
}

static bool path_valid(const char *s, size_t n) {
  size_t start = 0;
  for (size_t i = 0; i <= n; i++) {
    if (i == n || s[i] == '/') {
      if (!component_valid(s + start, i - start))
        return false;
      start = i + 1;
    }
  }
  return true;
}

static bool domain_valid(const char *s, size_t n) {
  const char *colon = memchr(s, ':', n);
  size_t host = colon ? (size_t)(colon - s) : n;
  if (colon) {
    if (colon + 1 == s + n)
      return false;
    for (const char *p = colon + 1; p < s + n; p++)
      if (!isdigit((unsigned char)*p))
        return false;
  }
  size_t start = 0;
  for (size_t i = 0; i <= host; i++) {
    if (i < host && s[i] != '.')
      continue;
    size_t len = i - start;
    const char *c = s + start;
    if (len == 0 || !isalnum((unsigned char)c[0]) || !isalnum((unsigned char)c[len - 1]))
      return false;
    for (size_t k = 0; k < len; k++)
      if (!isalnum((unsigned char)c[k]) && c[k] != '-')
        return false;
    start = i + 1;
  }
  return true;
}

bool image_ref_tag_valid(const char *t) {
  size_t n = strlen(t);
  if (n == 0 || n > 128 || !(isalnum((unsigned char)t[0]) || t[0] == '_'))
    return false;
  for (size_t i = 1; i < n; i++)
    if (!isalnum((unsigned char)t[i]) && t[i] != '_' && t[i] != '.' && t[i] != '-')
      return false;
  return true;
}

/* The digest's shape as the reference regex sees it (anything else is a
 * plain format error), then digest.Parse's own checks. */
static bool digest_shape(const char *d) {
  const char *colon = strchr(d, ':');
  if (!colon || colon == d || !isalpha((unsigned char)d[0]))
    return false;
  for (const char *p = d; p < colon; p++) {
    if (isalnum((unsigned char)*p))
      continue;
    if (!strchr("-_+.", *p) || !isalpha((unsigned char)p[1]))
      return false;
  }
  size_t hex = strlen(colon + 1);
  if (hex < 32)
    return false;
  for (const char *p = colon + 1; *p; p++)
    if (!isxdigit((unsigned char)*p))
      return false;
  return true;
}

static int digest_check(const char *d, struct berr **err) {
  const char *colon = strchr(d, ':');
  size_t alen = (size_t)(colon - d), hex = strlen(colon + 1);
  size_t want = 0;
  if (alen == 6 && strncmp(d, "sha256", 6) == 0)
    want = 64;
  else if (alen == 6 && strncmp(d, "sha384", 6) == 0)
    want = 96;
  else if (alen == 6 && strncmp(d, "sha512", 6) == 0)
    want = 128;
  else
    return berr_set(err, EINVAL, "unsupported digest algorithm");
  for (const char *p = colon + 1; *p; p++)
    if (!is_lower_alnum(*p) || *p > 'f')
      return berr_set(err, EINVAL, "invalid checksum digest format");
  if (hex != want)
    return berr_set(err, EINVAL, "invalid checksum digest length");
  return 0;
}

static bool is_hex64(const char *s) {
  if (strlen(s) != 64)
    return false;
  for (; *s; s++)
    if (!is_lower_alnum(*s) || *s > 'f')
      return false;
  return true;
}

/* reference.Parse of the normalised "domain/remainder": split and check. */
static int parse_full(const char *domain, const char *rem, struct image_ref *out, struct berr **err,
                      bool *shape_ok) {
  _cleanup_free_ char *r = xstrdup(rem);
  char *digest = strchr(r, '@');
  if (digest)
    *digest++ = '\0';
  char *slash = strrchr(r, '/');
  char *tag = strchr(slash ? slash : r, ':');
  if (tag)
    *tag++ = '\0';
  *shape_ok = domain_valid(domain, strlen(domain)) && path_valid(r, strlen(r)) &&
              (!tag || image_ref_tag_valid(tag)) && (!digest || digest_shape(digest));
  if (!*shape_ok)
    return -EINVAL;
  if (strlen(domain) + 1 + strlen(r) > NAME_TOTAL_MAX)
    return berr_set(err, EINVAL, "repository name must not be more than 255 characters");
  if (digest && digest_check(digest, err) < 0)
    return -EINVAL;
  out->domain = xstrdup(domain);
  out->path = xstrdup(r);
  out->tag = tag ? xstrdup(tag) : (digest ? NULL : xstrdup("latest"));
  out->digest = digest ? xstrdup(digest) : NULL;
  return 0;
}

int image_ref_parse(const char *s, struct image_ref *out, struct berr **err) {
  memset(out, 0, sizeof *out);
  if (is_hex64(s))
    return berr_set(err, EINVAL,
                    "invalid repository name (%s), cannot specify 64-byte hexadecimal strings", s);
  /* splitDockerDomain */
  const char *slash = strchr(s, '/');
  _cleanup_free_ char *domain = NULL;
  _cleanup_free_ char *rem = NULL;
  if (slash && (memchr(s, '.', (size_t)(slash - s)) || memchr(s, ':', (size_t)(slash - s)) ||
                (slash - s == 9 && strncmp(s, "localhost", 9) == 0))) {
    domain = xasprintf("%.*s", (int)(slash - s), s);
    rem = xstrdup(slash + 1);
  } else {
    domain = xstrdup("docker.io");
    rem = xstrdup(s);
  }
  if (strcmp(domain, "index.docker.io") == 0) {
    free(domain);
    domain = xstrdup("docker.io");
  }
  if (strcmp(domain, "docker.io") == 0 && !strchr(rem, '/')) {
    char *t = xasprintf("library/%s", rem);
    free(rem);
    rem = t;
  }
  /* the repository name (up to the first ':') must be lower case */
  size_t rn = strcspn(rem, ":");
  for (size_t i = 0; i < rn; i++)
    if (isupper((unsigned char)rem[i]))
      return berr_set(err, EINVAL, "%s", E_UPPER);
  bool shape_ok = false;
  int r = parse_full(domain, rem, out, err, &shape_ok);
  if (r == 0 || shape_ok)
    return r;
  if (*s == '\0')
    return berr_set(err, EINVAL, "%s", E_FORMAT);
  /* Parse's own upper-case test: would the lower-cased string parse? */
  _cleanup_free_ char *ld = xstrdup(domain);
  _cleanup_free_ char *lr = xstrdup(rem);
  for (char *p = ld; *p; p++)
    *p = (char)tolower((unsigned char)*p);
  for (char *p = lr; *p; p++)
    *p = (char)tolower((unsigned char)*p);
  struct image_ref tmp;
  memset(&tmp, 0, sizeof tmp);
  bool lower_ok = false;
  _cleanup_berr_ struct berr *ignored = NULL;
  if (parse_full(ld, lr, &tmp, &ignored, &lower_ok) == 0)
    image_ref_free(&tmp);
  return berr_set(err, EINVAL, "%s", lower_ok ? E_UPPER : E_FORMAT);
}

void image_ref_free(struct image_ref *r) {
  if (!r)
    return;
  free(r->domain);
  free(r->path);
  free(r->tag);
  free(r->digest);
  memset(r, 0, sizeof *r);
}

static char *familiar_name(const struct image_ref *r) {
  if (strcmp(r->domain, "docker.io") == 0) {
    if (str_has_prefix(r->path, "library/") && !strchr(r->path + 8, '/'))
      return xstrdup(r->path + 8);
    return xstrdup(r->path);
  }
  return xasprintf("%s/%s", r->domain, r->path);
}

static char *with_suffixes(char *name, const struct image_ref *r) {
  char *s = xasprintf("%s%s%s%s%s", name, r->tag ? ":" : "", r->tag ? r->tag : "",
                      r->digest ? "@" : "", r->digest ? r->digest : "");
  free(name);
  return s;
}

char *image_ref_familiar(const struct image_ref *r) { return with_suffixes(familiar_name(r), r); }

char *image_ref_familiar_name(const struct image_ref *r) { return familiar_name(r); }

char *image_ref_string(const struct image_ref *r) {
  return with_suffixes(xasprintf("%s/%s", r->domain, r->path), r);
}
