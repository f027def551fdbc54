/*
 * format.c — the text Docker's CLI derives from API values: go-units sizes
 * and durations, Go's time and quoting, docker ps's Ports and Status
 * columns, --since/--until values and Go durations. Pure functions (time is
 * passed in), so they are unit-tested in tests/unit/cli/test_format.c.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <time.h>

#include "cli/cli.h"

static char *custom_size(const char *fmt, double size, double base, const char *const *units,
                         size_t n) {
  size_t i = 0;
  while (size >= base && i < n - 1) {
    size /= base;
    i++;
  }
  /* fmt is one of our constant "%.Ng%s" formats */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
  return xasprintf(fmt, size, units[i]);
#pragma GCC diagnostic pop
}

char *fmt_human_size(double size, int prec) {
  static const char *const abbrs[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
  char fmt[16];
  snprintf(fmt, sizeof(fmt), "%%.%dg%%s", prec);
  return custom_size(fmt, size, 1000.0, abbrs, 9);
}

char *fmt_bytes_size(double size) {
  static const char *const abbrs[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"};
  return custom_size("%.4g%s", size, 1024.0, abbrs, 9);
}

/* go-units HumanDuration */
char *fmt_human_duration(double secs) {
  long s = (long)secs;
  if (s < 1)
    return xstrdup("Less than a second");
  if (s == 1)
    return xstrdup("1 second");
  if (s < 60)
    return xasprintf("%ld seconds", s);
  long m = (long)(secs / 60);
  if (m == 1)
    return xstrdup("About a minute");
  if (m < 60)
    return xasprintf("%ld minutes", m);
  long h = (long)(secs / 3600 + 0.5);
  if (h == 1)
    return xstrdup("About an hour");
  if (h < 48)
    return xasprintf("%ld hours", h);
  if (h < 24 * 7 * 2)
    return xasprintf("%ld days", h / 24);
  if (h < 24 * 30 * 2)
    return xasprintf("%ld weeks", h / 24 / 7);
  if (h < 24 * 365 * 2)
    return xasprintf("%ld months", h / 24 / 30);
  return xasprintf("%ld years", (long)(secs / 3600) / 24 / 365);
}

int parse_rfc3339(const char *s, double *out) {
  struct tm tm = {0};
  if (!s)
    return -EINVAL;
  const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
  if (!p)
    return -EINVAL;
  double frac = 0;
  if (*p == '.') {
    double scale = 0.1;
    for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
      frac += (*p - '0') * scale;
  }
  long off = 0;
  if (*p == '+' || *p == '-') {
    int hh = 0, mm = 0;
    if (sscanf(p + 1, "%d:%d", &hh, &mm) != 2)
      return -EINVAL;
    off = (hh * 3600L + mm * 60L) * (*p == '-' ? -1 : 1);
  } else if (*p != 'Z') {
    return -EINVAL;
  }
  if (tm.tm_year + 1900 <= 1) {
    *out = 0;
    return 0;
  }
  *out = (double)timegm(&tm) - (double)off + frac;
  return 0;
}

char *fmt_go_time(int64_t unix_secs) {
  time_t t = (time_t)unix_secs;
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[64];
  strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S +0000 UTC", &tm);
  return xstrdup(buf);
}

/* display width of a UTF-8 string, one column per code point (East Asian
 * wide characters are rare in these columns) */
static size_t utf8_len(const char *s) {
  size_t n = 0;
  for (; *s; s++)
    if (((unsigned char)*s & 0xC0) != 0x80)
      n++;
  return n;
}

char *fmt_ellipsis(const char *s, size_t max) {
  if (utf8_len(s) <= max)
    return xstrdup(s);
  if (max == 0)
    return xstrdup("");
  /* keep max-1 code points, then "…" */
  size_t keep = 0, cps = 0;
  for (const char *p = s; *p; p++) {
    if (((unsigned char)*p & 0xC0) != 0x80) {
      if (cps == max - 1)
        break;
      cps++;
    }
    keep = (size_t)(p - s) + 1;
  }
  return xasprintf("%.*s…", (int)keep, s);
}

char *fmt_go_quote(const char *s) {
  struct sb b = {0};
  sb_add(&b, "\"");
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    switch (*p) {
    case '"': sb_add(&b, "\\\""); break;
    case '\\': sb_add(&b, "\\\\"); break;
    case '\n': sb_add(&b, "\\n"); break;
    case '\t': sb_add(&b, "\\t"); break;
    case '\r': sb_add(&b, "\\r"); break;
    case '\a': sb_add(&b, "\\a"); break;
    case '\b': sb_add(&b, "\\b"); break;
    case '\f': sb_add(&b, "\\f"); break;
    case '\v': sb_add(&b, "\\v"); break;
    default:
      if (*p < 0x20 || *p == 0x7f)
        sb_addf(&b, "\\x%02x", *p);
      else
        sb_addn(&b, (const char *)p, 1);
    }
  }
  sb_add(&b, "\"");
  return sb_steal(&b);
}

struct port_ent {
  const char *ip, *type;
  int64_t priv, pub;
};

static int port_cmp(const void *a, const void *b) {
  const struct port_ent *x = a, *y = b;
  int c = strcmp(x->type, y->type);
  if (x->pub != y->pub)
    return x->pub < y->pub ? -1 : 1;
  if (x->priv != y->priv)
    return x->priv < y->priv ? -1 : 1;
  if (c)
    return c;
  return strcmp(x->ip, y->ip);
}

static void port_one(struct sb *b, const struct port_ent *s, const struct port_ent *e) {
  if (b->len)
    sb_add(b, ", ");
  if (s->pub) {
    bool v6 = strchr(s->ip, ':') != NULL;
    if (s == e)
      sb_addf(b, "%s%s%s:%lld->%lld/%s", v6 ? "[" : "", s->ip, v6 ? "]" : "", (long long)s->pub,
              (long long)s->priv, s->type);
    else
      sb_addf(b, "%s%s%s:%lld-%lld->%lld-%lld/%s", v6 ? "[" : "", s->ip, v6 ? "]" : "",
              (long long)s->pub, (long long)e->pub, (long long)s->priv, (long long)e->priv, s->type);
  } else if (s == e) {
    sb_addf(b, "%lld/%s", (long long)s->priv, s->type);
  } else {
    sb_addf(b, "%lld-%lld/%s", (long long)s->priv, (long long)e->priv, s->type);
  }
}

/* docker/cli DisplayablePorts: sorted, consecutive ports of the same IP and
 * protocol grouped into ranges ("0.0.0.0:8000-8001->80-81/tcp"). */
char *fmt_ports(const json_t *ports) {
  size_t n = json_array_size(ports);
  if (!n)
    return xstrdup("");
  struct port_ent *v = xcalloc(n, sizeof(*v));
  for (size_t i = 0; i < n; i++) {
    const json_t *p = json_array_get(ports, i);
    const char *ip = json_string_value(json_object_get(p, "IP"));
    const char *ty = json_string_value(json_object_get(p, "Type"));
    v[i].ip = ip ? ip : "";
    v[i].type = ty ? ty : "tcp";
    v[i].priv = json_integer_value(json_object_get(p, "PrivatePort"));
    v[i].pub = json_integer_value(json_object_get(p, "PublicPort"));
  }
  qsort(v, n, sizeof(*v), port_cmp);
  struct sb b = {0};
  size_t start = 0;
  for (size_t i = 1; i <= n; i++) {
    bool cont = i < n && !strcmp(v[i].ip, v[i - 1].ip) && !strcmp(v[i].type, v[i - 1].type) &&
                v[i].priv == v[i - 1].priv + 1 &&
                (v[i - 1].pub ? v[i].pub == v[i - 1].pub + 1 : v[i].pub == 0);
    if (!cont) {
      port_one(&b, &v[start], &v[i - 1]);
      start = i;
    }
  }
  free(v);
  return sb_steal(&b);
}

char *fmt_state_status(const json_t *state, double now) {
  const char *st = json_string_value(json_object_get(state, "Status"));
  double started = 0, finished = 0;
  parse_rfc3339(json_string_value(json_object_get(state, "StartedAt")), &started);
  parse_rfc3339(json_string_value(json_object_get(state, "FinishedAt")), &finished);
  if (json_is_true(json_object_get(state, "Running"))) {
    _cleanup_free_ char *d = fmt_human_duration(now - started);
    if (json_is_true(json_object_get(state, "Paused")))
      return xasprintf("Up %s (Paused)", d);
    if (json_is_true(json_object_get(state, "Restarting")))
      return xasprintf("Restarting (%lld) %s ago",
                       (long long)json_integer_value(json_object_get(state, "ExitCode")), d);
    const char *h = json_string_value(json_object_get(json_object_get(state, "Health"), "Status"));
    if (h && strcmp(h, "none"))
      return xasprintf("Up %s (%s)", d, !strcmp(h, "starting") ? "health: starting" : h);
    return xasprintf("Up %s", d);
  }
  if (st && !strcmp(st, "removing"))
    return xstrdup("Removal In Progress");
  if (st && !strcmp(st, "dead"))
    return xstrdup("Dead");
  if (!started)
    return xstrdup("Created");
  _cleanup_free_ char *d = fmt_human_duration(now - finished);
  return xasprintf("Exited (%lld) %s ago",
                   (long long)json_integer_value(json_object_get(state, "ExitCode")), d);
}

int parse_go_duration(const char *s, int64_t *ns) {
  static const struct {
    const char *u;
    double mult;
  } units[] = {{"ns", 1}, {"us", 1e3}, {"µs", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
  double total = 0;
  bool neg = false;
  const char *p = s;
  if (*p == '-' || *p == '+')
    neg = *p++ == '-';
  if (!strcmp(p, "0")) {
    *ns = 0;
    return 0;
  }
  if (!*p)
    return -EINVAL;
  while (*p) {
    char *end;
    errno = 0;
    double v = strtod(p, &end);
    if (end == p || errno)
      return -EINVAL;
    p = end;
    size_t best = 0;
    int bi = -1;
    for (int i = 0; i < (int)(sizeof(units) / sizeof(units[0])); i++) {
      size_t l = strlen(units[i].u);
      if (!strncmp(p, units[i].u, l) && l > best) {
        best = l;
        bi = i;
      }
    }
    if (bi < 0)
      return -EINVAL;
    total += v * units[bi].mult;
    p += best;
  }
  *ns = (int64_t)(neg ? -total : total);
  return 0;
}

int parse_timestamp_arg(const char *s, double now, char **out, struct berr **err) {
  double t;
  int64_t ns;
  if (parse_rfc3339(s, &t) == 0) {
    *out = xasprintf("%.9f", t);
    return 0;
  }
  /* a date alone, or date + time without zone: docker takes local time; we take UTC */
  struct tm tm = {0};
  const char *e = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
  if (!e || *e)
    e = (memset(&tm, 0, sizeof(tm)), strptime(s, "%Y-%m-%d", &tm));
  if (e && !*e) {
    *out = xasprintf("%lld", (long long)timegm(&tm));
    return 0;
  }
  char *end;
  errno = 0;
  double x = strtod(s, &end);
  if (end != s && !*end && !errno) {
    *out = xstrdup(s);
    (void)x;
    return 0;
  }
  if (parse_go_duration(s, &ns) == 0) {
    double v = now - (double)ns / 1e9;
    *out = xasprintf("%.9f", v);
    return 0;
  }
  return berr_set(err, EINVAL, "failed to parse value as time or duration: \"%s\"", s);
}

int parse_nano_cpus(const char *s, int64_t *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || *end || errno || v < 0)
    return -EINVAL;
  *out = (int64_t)(v * 1e9 + 0.5);
  return 0;
}

char *fmt_trunc_id(const char *id) {
  if (!id)
    return xstrdup("");
  const char *c = strchr(id, ':');
  if (c)
    id = c + 1;
  return xasprintf("%.12s", id);
}

double cli_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Go's time.ParseDuration with its error texts ("time: unknown unit "x" in
 * duration "5x"", "time: missing unit in duration "5"", "time: invalid
 * duration "abc""), as pflag shows them for a Duration flag. */
int parse_go_duration_err(const char *s, int64_t *ns, struct berr **err) {
  static const struct {
    const char *u;
    double mult;
  } units[] = {{"ns", 1}, {"us", 1e3}, {"µs", 1e3}, {"μs", 1e3}, {"ms", 1e6},
               {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
  const char *p = s;
  bool neg = false;
  if (*p == '-' || *p == '+')
    neg = *p++ == '-';
  if (!strcmp(p, "0")) {
    *ns = 0;
    return 0;
  }
  if (!*p)
    return berr_set(err, EINVAL, "time: invalid duration \"%s\"", s);
  double total = 0;
  while (*p) {
    if (!(*p == '.' || (*p >= '0' && *p <= '9')))
      return berr_set(err, EINVAL, "time: invalid duration \"%s\"", s);
    const char *num = p;
    while (*p >= '0' && *p <= '9')
      p++;
    if (*p == '.')
      for (p++; *p >= '0' && *p <= '9'; p++)
        ;
    if (p - num == 1 && *num == '.')
      return berr_set(err, EINVAL, "time: invalid duration \"%s\"", s);
    _cleanup_free_ char *n = strndup(num, (size_t)(p - num));
    double v = strtod(n, NULL);
    const char *u = p;
    while (*p && *p != '.' && !(*p >= '0' && *p <= '9'))
      p++;
    if (u == p)
      return berr_set(err, EINVAL, "time: missing unit in duration \"%s\"", s);
    size_t ul = (size_t)(p - u);
    int bi = -1;
    for (int i = 0; i < (int)(sizeof(units) / sizeof(units[0])); i++)
      if (strlen(units[i].u) == ul && !strncmp(u, units[i].u, ul))
        bi = i;
    if (bi < 0)
      return berr_set(err, EINVAL, "time: unknown unit \"%.*s\" in duration \"%s\"", (int)ul, u, s);
    total += v * units[bi].mult;
    if (total > 9.223372036854775807e18)
      return berr_set(err, EINVAL, "time: invalid duration \"%s\"", s);
  }
  *ns = (int64_t)(neg ? -total : total);
  return 0;
}

/* go-units RAMInBytes (1024-based) with its error texts: "invalid size:
 * '<s>'" (no number, negative) and "invalid suffix: '<sfx>'". */
int parse_ram_bytes(const char *s, int64_t *out, struct berr **err) {
  const char *sep = NULL;
  for (const char *p = s; *p; p++)
    if ((*p >= '0' && *p <= '9') || *p == '.' || *p == ' ')
      sep = p;
  if (!sep)
    return berr_set(err, EINVAL, "invalid size: '%s'", s);
  _cleanup_free_ char *num = strndup(s, (size_t)(sep - s) + (*sep == ' ' ? 0 : 1));
  const char *sfx = sep + 1;
  char *end;
  errno = 0;
  double v = strtod(num, &end);
  if (!*num || *end || errno || isspace((unsigned char)num[0]))
    return berr_set(err, EINVAL, "strconv.ParseFloat: parsing \"%s\": invalid syntax", num);
  if (v < 0)
    return berr_set(err, EINVAL, "invalid size: '%s'", s);
  size_t sl = strlen(sfx);
  if (!sl) {
    *out = (int64_t)v;
    return 0;
  }
  if (sl > 3)
    return berr_set(err, EINVAL, "invalid suffix: '%s'", sfx);
  char low[4] = {0};
  for (size_t i = 0; i < sl; i++)
    low[i] = (char)tolower((unsigned char)sfx[i]);
  if (low[0] == 'b') {
    if (sl > 1)
      return berr_set(err, EINVAL, "invalid suffix: '%s'", low);
    *out = (int64_t)v;
    return 0;
  }
  static const char mults[] = "kmgtp";
  const char *m = strchr(mults, low[0]);
  if (!m || (sl == 2 && low[1] != 'b') || (sl == 3 && strcmp(low + 1, "ib")))
    return berr_set(err, EINVAL, "invalid suffix: '%s'", low);
  for (long i = 0; i <= m - mults; i++)
    v *= 1024;
  *out = (int64_t)v;
  return 0;
}

static int cmp_label(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

char *fmt_labels(const json_t *labels) {
  size_t n = json_object_size(labels), i = 0;
  if (!n)
    return xstrdup("");
  char **kv = xcalloc(n, sizeof(*kv));
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)labels, k, v) kv[i++] = xasprintf("%s=%s", k, json_string_value(v));
  qsort(kv, n, sizeof(*kv), cmp_label);
  struct sb b = {0};
  for (i = 0; i < n; i++) {
    sb_addf(&b, "%s%s", i ? "," : "", kv[i]);
    free(kv[i]);
  }
  free(kv);
  return sb_steal(&b);
}
