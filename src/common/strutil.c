/*
 * strutil.c — allocation wrappers, string vectors, number and size parsing, time text.
 *
 * Out-of-memory aborts (x* wrappers): a container runtime that cannot allocate a
 * few bytes cannot do anything useful, and checking every small allocation hides
 * the real error paths.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <time.h>

#include "common.h"

void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p)
    abort();
  return p;
}

void *xcalloc(size_t n, size_t sz) {
  void *p = calloc(n ? n : 1, sz ? sz : 1);
  if (!p)
    abort();
  return p;
}

void *xrealloc(void *p, size_t n) {
  p = realloc(p, n ? n : 1);
  if (!p)
    abort();
  return p;
}

char *xstrdup(const char *s) {
  if (!s)
    return NULL;
  char *r = strdup(s);
  if (!r)
    abort();
  return r;
}

char *xasprintf(const char *fmt, ...) {
  va_list ap;
  char *s = NULL;
  va_start(ap, fmt);
  if (vasprintf(&s, fmt, ap) < 0)
    abort();
  va_end(ap);
  return s;
}

bool str_has_prefix(const char *s, const char *prefix) {
  return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool str_has_suffix(const char *s, const char *suffix) {
  size_t ls = strlen(s), lx = strlen(suffix);
  return ls >= lx && memcmp(s + ls - lx, suffix, lx) == 0;
}

size_t strv_len(char *const *v) {
  size_t n = 0;
  while (v && v[n])
    n++;
  return n;
}

void strv_free(char **v) {
  for (size_t i = 0; v && v[i]; i++)
    free(v[i]);
  free(v);
}

char **strv_dup(char *const *v) {
  if (!v)
    return NULL;
  size_t n = strv_len(v);
  char **out = xcalloc(n + 1, sizeof *out);
  for (size_t i = 0; i < n; i++)
    out[i] = xstrdup(v[i]);
  return out;
}

char **strv_append(char **v, char *s) {
  size_t n = strv_len(v);
  v = xrealloc(v, (n + 2) * sizeof *v);
  v[n] = s;
  v[n + 1] = NULL;
  return v;
}

int parse_int64(const char *s, int64_t *out) {
  if (!s || !*s)
    return -EINVAL;
  char *end = NULL;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || *end)
    return -EINVAL;
  *out = v;
  return 0;
}

/* go-units RAMInBytes semantics: a number with an optional k/m/g/t/p unit,
 * optionally followed by "b"/"ib", case-insensitive, 1024-based. */
int parse_size_bytes(const char *s, int64_t *out) {
  if (!s || !*s)
    return -EINVAL;
  if (strcmp(s, "-1") == 0) {
    *out = -1;
    return 0;
  }
  char *end = NULL;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || v < 0 || !isfinite(v) || !isdigit((unsigned char)s[0]))
    return -EINVAL;
  static const char units[] = "kmgtp";
  double mult = 1;
  if (*end) {
    const char *u = strchr(units, tolower((unsigned char)*end));
    if (u == NULL && tolower((unsigned char)*end) != 'b')
      return -EINVAL;
    if (u) {
      for (const char *p = units; p <= u; p++)
        mult *= 1024;
      end++;
      if (tolower((unsigned char)*end) == 'i')
        end++;
    }
    if (tolower((unsigned char)*end) == 'b')
      end++;
    if (*end)
      return -EINVAL;
  }
  double bytes = v * mult;
  if (bytes > 9.2e18)
    return -ERANGE;
  *out = (int64_t)bytes;
  return 0;
}

char *time_now_rfc3339(void) {
  struct timespec ts;
  struct tm tm;
  char buf[40];
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return xasprintf("%s.%09ldZ", buf, ts.tv_nsec);
}
