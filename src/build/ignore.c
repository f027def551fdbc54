/*
 * ignore.c — .dockerignore (build.h), after moby/patternmatcher's rules:
 * one pattern a line; "#" lines are comments; blank lines skipped; a leading
 * "!" makes an exception; each pattern is trimmed, cleaned like Go's
 * filepath.Clean, its leading "/" dropped. Matching is Go's filepath.Match
 * ('*' '?' '[…]' '\' within one path segment) plus "**" for any number of
 * segments. A path is excluded when the last pattern matching it, or one of
 * its parent dirs, is not an exception.
 */
#include <errno.h>

#include "build/build_internal.h"

/* [abc], [a-z], [^a] / [!a] at p (after '['); *plen gets the class length
 * including ']'; returns whether c is in it. -1: malformed. */
static int class_match(const char *p, char c, size_t *plen) {
  const char *q = p;
  bool neg = false, hit = false;
  if (*q == '^' || *q == '!') {
    neg = true;
    q++;
  }
  bool first = true;
  while (*q && (*q != ']' || first)) {
    first = false;
    char lo = *q, hi;
    if (lo == '\\' && q[1])
      lo = *++q;
    q++;
    hi = lo;
    if (*q == '-' && q[1] && q[1] != ']') {
      hi = q[1];
      if (hi == '\\' && q[2]) {
        hi = q[2];
        q++;
      }
      q += 2;
    }
    if (c >= lo && c <= hi)
      hit = true;
  }
  if (*q != ']')
    return -1;
  *plen = (size_t)(q - p) + 1;
  return hit != neg;
}

static bool match_at(const char *p, const char *s) {
  for (;;) {
    if (!*p)
      return !*s;
    if (p[0] == '*' && p[1] == '*') {
      const char *rest = p + 2;
      if (*rest == '/') { /* "**" + "/": zero or more whole dirs */
        rest++;
        if (match_at(rest, s))
          return true;
        for (const char *t = s; *t; t++)
          if (*t == '/' && match_at(rest, t + 1))
            return true;
        return false;
      }
      for (const char *t = s;; t++) {
        if (match_at(rest, t))
          return true;
        if (!*t)
          return false;
      }
    }
    if (*p == '*') {
      for (const char *t = s;; t++) {
        if (match_at(p + 1, t))
          return true;
        if (!*t || *t == '/')
          return false;
      }
    }
    if (!*s)
      return false;
    if (*p == '?') {
      if (*s == '/')
        return false;
      p++, s++;
      continue;
    }
    if (*p == '[') {
      size_t len = 0;
      int m = class_match(p + 1, *s, &len);
      if (m <= 0 || *s == '/')
        return false;
      p += 1 + len;
      s++;
      continue;
    }
    if (*p == '\\' && p[1])
      p++;
    if (*p != *s)
      return false;
    p++, s++;
  }
}

bool bignore_match(const char *pattern, const char *name) { return match_at(pattern, name); }

void bignore_free(struct bignore *ig) {
  for (size_t i = 0; i < ig->n; i++)
    free(ig->pats[i].pattern);
  free(ig->pats);
  memset(ig, 0, sizeof *ig);
}

int bignore_parse(const char *text, struct bignore *out, struct berr **err) {
  memset(out, 0, sizeof *out);
  const char *p = text;
  while (p && *p) {
    const char *nl = strchr(p, '\n');
    size_t n = nl ? (size_t)(nl - p) : strlen(p);
    _cleanup_free_ char *line = strndup(p, n);
    p = nl ? nl + 1 : NULL;
    if (line[0] == '#')
      continue;
    /* trim */
    char *s = line;
    while (is_blank(*s))
      s++;
    size_t l = strlen(s);
    while (l > 0 && is_blank(s[l - 1]))
      s[--l] = '\0';
    if (!*s)
      continue;
    bool excl = false;
    if (*s == '!') {
      excl = true;
      s++;
      while (is_blank(*s))
        s++;
      if (!*s)
        return berr_set(err, EINVAL, "illegal exclusion pattern: \"!\"");
    }
    bool esc = false;
    _cleanup_free_ char *clean = path_clean(s, &esc);
    const char *c = clean;
    while (*c == '/')
      c++;
    if (!*c)
      c = ".";
    out->pats = xrealloc(out->pats, (out->n + 1) * sizeof *out->pats);
    out->pats[out->n].pattern = xstrdup(c);
    out->pats[out->n].exclusion = excl;
    out->n++;
  }
  return 0;
}

bool bignore_has_exceptions(const struct bignore *ig) {
  for (size_t i = 0; i < ig->n; i++)
    if (ig->pats[i].exclusion)
      return true;
  return false;
}

/* Does the pattern match the path or one of its parent dirs? */
static bool match_or_parent(const char *pat, const char *path) {
  if (match_at(pat, path))
    return true;
  _cleanup_free_ char *tmp = xstrdup(path);
  for (char *slash = strrchr(tmp, '/'); slash; slash = strrchr(tmp, '/')) {
    *slash = '\0';
    if (match_at(pat, tmp))
      return true;
  }
  return false;
}

bool bignore_excluded(const struct bignore *ig, const char *path) {
  bool excluded = false;
  for (size_t i = 0; i < ig->n; i++) {
    const struct bignore_pat *pt = &ig->pats[i];
    if (match_or_parent(pt->pattern, path))
      excluded = !pt->exclusion;
  }
  return excluded;
}
