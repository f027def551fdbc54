/*
 * template_fmt.c — the template engine's output side (template_internal.h):
 * a growable string, UTF-8 helpers, and Go's fmt over jansson values — the
 * verbs %v %s %q %d %x %f %e %g … with flags, width and precision, Go's
 * shortest float formatting, and encoding/json's output for the json
 * function. Values print as the Go types encoding/json produces (see the
 * value model in template.c).
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>

#include "cli/template_internal.h"

/* ------------------------------------------------------------------ */
/* growable string (struct sbuf: template_internal.h)                  */


void tsb_putn(struct sbuf *b, const char *p, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 64;
    while (cap < b->len + n + 1)
      cap *= 2;
    b->s = xrealloc(b->s, cap);
    b->cap = cap;
  }
  memcpy(b->s + b->len, p, n);
  b->len += n;
  b->s[b->len] = '\0';
}

void tsb_puts(struct sbuf *b, const char *p) { tsb_putn(b, p, strlen(p)); }
void tsb_putc(struct sbuf *b, char c) { tsb_putn(b, &c, 1); }

void tsb_rep(struct sbuf *b, char c, long n) {
  for (long i = 0; i < n; i++)
    tsb_putc(b, c);
}

void tsb_printf(struct sbuf *b, const char *fmt, ...) {
  va_list ap;
  char *s = NULL;
  va_start(ap, fmt);
  if (vasprintf(&s, fmt, ap) < 0)
    abort();
  va_end(ap);
  tsb_puts(b, s);
  free(s);
}

char *tsb_steal(struct sbuf *b) {
  char *s = b->s ? b->s : xstrdup("");
  b->s = NULL;
  b->len = b->cap = 0;
  return s;
}

void tsb_free(struct sbuf *b) {
  free(b->s);
  b->s = NULL;
  b->len = b->cap = 0;
}

/* ------------------------------------------------------------------ */
/* Go-style text of values                                             */

/* Number of UTF-8 characters (Go counts runes for widths). */
static size_t utf8_len(const char *s, size_t n) {
  size_t r = 0;
  for (size_t i = 0; i < n; i++)
    if (((unsigned char)s[i] & 0xC0) != 0x80)
      r++;
  return r;
}

/* Byte length of the first `runes` characters of s. */
size_t utf8_prefix(const char *s, size_t n, size_t runes) {
  size_t i = 0, r = 0;
  while (i < n) {
    if (((unsigned char)s[i] & 0xC0) != 0x80) {
      if (r == runes)
        break;
      r++;
    }
    i++;
  }
  return i;
}

void put_utf8(struct sbuf *b, uint32_t r) {
  char o[4];
  size_t n;
  if (r < 0x80) {
    o[0] = (char)r;
    n = 1;
  } else if (r < 0x800) {
    o[0] = (char)(0xC0 | (r >> 6));
    o[1] = (char)(0x80 | (r & 0x3F));
    n = 2;
  } else if (r < 0x10000) {
    o[0] = (char)(0xE0 | (r >> 12));
    o[1] = (char)(0x80 | ((r >> 6) & 0x3F));
    o[2] = (char)(0x80 | (r & 0x3F));
    n = 3;
  } else {
    o[0] = (char)(0xF0 | (r >> 18));
    o[1] = (char)(0x80 | ((r >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((r >> 6) & 0x3F));
    o[3] = (char)(0x80 | (r & 0x3F));
    n = 4;
  }
  tsb_putn(b, o, n);
}

/* strconv.Quote for the common cases: named escapes, \xNN for other control
 * bytes; bytes >= 0x80 are copied (we assume UTF-8 input). */
void go_quote(struct sbuf *b, const char *s, size_t n, char q) {
  tsb_putc(b, q);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    switch (c) {
    case '\a': tsb_puts(b, "\\a"); break;
    case '\b': tsb_puts(b, "\\b"); break;
    case '\f': tsb_puts(b, "\\f"); break;
    case '\n': tsb_puts(b, "\\n"); break;
    case '\r': tsb_puts(b, "\\r"); break;
    case '\t': tsb_puts(b, "\\t"); break;
    case '\v': tsb_puts(b, "\\v"); break;
    case '\\': tsb_puts(b, "\\\\"); break;
    default:
      if (c == (unsigned char)q)
        tsb_putc(b, '\\'), tsb_putc(b, (char)c);
      else if (c < 0x20 || c == 0x7f)
        tsb_printf(b, "\\x%02x", c);
      else
        tsb_putc(b, (char)c);
    }
  }
  tsb_putc(b, q);
}

/* Shortest decimal digits that read back as d (d finite, > 0):
 * d = 0.DIGITS × 10^dp. */
static void shortest_digits(double d, char *digits, int *nd, int *dp) {
  char tmp[40];
  for (int p = 1; p <= 17; p++) {
    snprintf(tmp, sizeof tmp, "%.*e", p - 1, d);
    if (strtod(tmp, NULL) == d || p == 17)
      break;
  }
  int n = 0;
  const char *e = strchr(tmp, 'e');
  for (const char *c = tmp; c < e; c++)
    if (isdigit((unsigned char)*c))
      digits[n++] = *c;
  while (n > 1 && digits[n - 1] == '0')
    n--;
  digits[n] = '\0';
  *nd = n;
  *dp = atoi(e + 1) + 1;
}

/* Go's %e / %f layout of given digits (strconv fmtE / fmtF). */
static void put_digits_e(struct sbuf *b, const char *dg, int nd, int dp, int prec, char e) {
  tsb_putc(b, dg[0]);
  if (prec > 0) {
    tsb_putc(b, '.');
    for (int i = 1; i <= prec; i++)
      tsb_putc(b, i < nd ? dg[i] : '0');
  }
  int exp = nd == 1 && dg[0] == '0' ? 0 : dp - 1;
  tsb_printf(b, "%c%c%02d", e, exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
}

static void put_digits_f(struct sbuf *b, const char *dg, int nd, int dp, int prec) {
  if (dp > 0) {
    for (int i = 0; i < dp; i++)
      tsb_putc(b, i < nd ? dg[i] : '0');
  } else {
    tsb_putc(b, '0');
  }
  if (prec > 0) {
    tsb_putc(b, '.');
    for (int i = 0; i < prec; i++) {
      int j = dp + i;
      tsb_putc(b, j < 0 || j >= nd ? '0' : dg[j]);
    }
  }
}

/* strconv.FormatFloat(d, fmt, -1, 64) for fmt 'g', 'e', 'f'. */
static void go_ftoa_shortest(struct sbuf *b, double d, char fmt) {
  if (isnan(d)) {
    tsb_puts(b, "NaN");
    return;
  }
  if (isinf(d)) {
    tsb_puts(b, d < 0 ? "-Inf" : "+Inf");
    return;
  }
  if (signbit(d)) {
    tsb_putc(b, '-');
    d = -d;
  }
  char dg[40];
  int nd, dp;
  if (d == 0) {
    strcpy(dg, "0");
    nd = 1;
    dp = 1;
  } else {
    shortest_digits(d, dg, &nd, &dp);
  }
  if (fmt == 'g' || fmt == 'G') {
    /* strconv: shortest %g switches to %e when exp < -4 || exp >= 6 */
    int exp = dp - 1;
    if (d != 0 && (exp < -4 || exp >= 6)) {
      fmt = fmt == 'g' ? 'e' : 'E';
    } else {
      put_digits_f(b, dg, nd, dp, nd - dp > 0 ? nd - dp : 0);
      return;
    }
  }
  if (fmt == 'e' || fmt == 'E')
    put_digits_e(b, dg, nd, dp, nd - 1, fmt);
  else
    put_digits_f(b, dg, nd, dp, nd - dp > 0 ? nd - dp : 0);
}

const char *go_type(const json_t *v) {
  if (!v || json_is_null(v))
    return "<nil>";
  switch (json_typeof(v)) {
  case JSON_STRING: return "string";
  case JSON_INTEGER: return "int";
  case JSON_REAL: return "float64";
  case JSON_TRUE:
  case JSON_FALSE: return "bool";
  case JSON_ARRAY: return "[]interface {}";
  case JSON_OBJECT: return "map[string]interface {}";
  default: return "interface {}";
  }
}

/* printf directive */
struct fspec {
  bool minus, plus, sharp, zero, space;
  int width, prec; /* -1: absent */
  char verb;
};

static int key_cmp(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted keys of an object (Go prints and ranges maps in key order). */
const char **sorted_keys(const json_t *o, size_t *n) {
  *n = json_object_size(o);
  const char **k = xcalloc(*n + 1, sizeof *k);
  size_t i = 0;
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)o, key, v) k[i++] = key;
  qsort(k, *n, sizeof *k, key_cmp);
  return k;
}

static void fmt_value(struct sbuf *b, const struct fspec *f, const json_t *v, int depth);

/* Pad `s` to the spec's width (in runes), as fmt.padString does. */
static void pad_put(struct sbuf *b, const struct fspec *f, const char *s, size_t n, bool zero_ok) {
  long w = f->width < 0 ? 0 : f->width;
  long pad = w - (long)utf8_len(s, n);
  if (pad <= 0) {
    tsb_putn(b, s, n);
  } else if (f->minus) {
    tsb_putn(b, s, n);
    tsb_rep(b, ' ', pad);
  } else if (f->zero && zero_ok) {
    size_t sign = n && (s[0] == '-' || s[0] == '+' || s[0] == ' ') ? 1 : 0;
    tsb_putn(b, s, sign);
    tsb_rep(b, '0', pad);
    tsb_putn(b, s + sign, n - sign);
  } else {
    tsb_rep(b, ' ', pad);
    tsb_putn(b, s, n);
  }
}

static void bad_verb(struct sbuf *b, char verb, const json_t *v) {
  if (!v || json_is_null(v)) {
    tsb_printf(b, "%%!%c(<nil>)", verb);
    return;
  }
  struct fspec pv = {.width = -1, .prec = -1, .verb = 'v'};
  tsb_printf(b, "%%!%c(%s=", verb, go_type(v));
  fmt_value(b, &pv, v, 0);
  tsb_putc(b, ')');
}

static void fmt_string(struct sbuf *b, const struct fspec *f, const char *s, size_t n) {
  struct sbuf t = {0};
  switch (f->verb) {
  case 'v':
  case 's':
    if (f->prec >= 0)
      n = utf8_prefix(s, n, (size_t)f->prec);
    pad_put(b, f, s, n, false);
    return;
  case 'q':
    go_quote(&t, s, n, '"');
    break;
  case 'x':
  case 'X':
    for (size_t i = 0; i < n; i++)
      tsb_printf(&t, f->verb == 'x' ? "%02x" : "%02X", (unsigned char)s[i]);
    break;
  default: {
    json_t *j = json_stringn(s, n);
    bad_verb(b, f->verb, j);
    json_decref(j);
    return;
  }
  }
  pad_put(b, f, t.s ? t.s : "", t.len, false);
  tsb_free(&t);
}

/* C printf with a directive built from Go's (flags, width, precision and
 * verb have been checked by the callers). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static void cfmt_ll(struct sbuf *b, const char *cf, long long v) { tsb_printf(b, cf, v); }
static void cfmt_ull(struct sbuf *b, const char *cf, unsigned long long v) { tsb_printf(b, cf, v); }
static void cfmt_double(struct sbuf *b, const char *cf, double v) { tsb_printf(b, cf, v); }
#pragma GCC diagnostic pop

static void fmt_int(struct sbuf *b, const struct fspec *f, json_int_t i, const json_t *v) {
  struct sbuf t = {0};
  char cf[32];
  int k = 0;
  cf[k++] = '%';
  if (f->plus)
    cf[k++] = '+';
  if (f->space)
    cf[k++] = ' ';
  if (f->sharp && f->verb != 'd' && f->verb != 'v')
    cf[k++] = '#';
  switch (f->verb) {
  case 'v':
  case 'd':
  case 'o':
  case 'x':
  case 'X':
    if (f->prec >= 0)
      k += snprintf(cf + k, sizeof cf - (size_t)k, ".%d", f->prec);
    cf[k++] = 'l';
    cf[k++] = 'l';
    cf[k++] = f->verb == 'v' ? 'd' : f->verb;
    cf[k] = '\0';
    if ((f->verb == 'x' || f->verb == 'X' || f->verb == 'o') && i < 0) {
      /* Go prints negative hex / octal as -0x1f, not two's complement */
      tsb_putc(&t, '-');
      cfmt_ull(&t, cf, 0ULL - (unsigned long long)i);
    } else {
      cfmt_ll(&t, cf, (long long)i);
    }
    break;
  case 'O':
    tsb_printf(&t, "%s0o%llo", i < 0 ? "-" : "", (unsigned long long)(i < 0 ? -i : i));
    break;
  case 'b': {
    unsigned long long u = (unsigned long long)(i < 0 ? -i : i);
    char bits[72];
    int n = 0;
    do {
      bits[n++] = (char)('0' + (u & 1));
      u >>= 1;
    } while (u);
    if (i < 0)
      tsb_putc(&t, '-');
    while (n)
      tsb_putc(&t, bits[--n]);
    break;
  }
  case 'c':
    put_utf8(&t, (uint32_t)i);
    break;
  case 'q': {
    struct sbuf r = {0};
    put_utf8(&r, (uint32_t)i);
    go_quote(&t, r.s, r.len, '\'');
    tsb_free(&r);
    break;
  }
  case 'U':
    tsb_printf(&t, "U+%04llX", (long long)i);
    break;
  default:
    bad_verb(b, f->verb, v);
    return;
  }
  pad_put(b, f, t.s, t.len, f->prec < 0);
  tsb_free(&t);
}

static void fmt_real(struct sbuf *b, const struct fspec *f, double d, const json_t *v) {
  struct sbuf t = {0};
  char verb = f->verb;
  switch (verb) {
  case 'v':
  case 'g':
  case 'G':
  case 'e':
  case 'E':
  case 'f':
  case 'F':
    if (f->plus && !signbit(d))
      tsb_putc(&t, '+');
    else if (f->space && !signbit(d))
      tsb_putc(&t, ' ');
    if (f->prec < 0 && (verb == 'v' || verb == 'g' || verb == 'G')) {
      go_ftoa_shortest(&t, d, verb == 'G' ? 'G' : 'g');
    } else {
      int prec = f->prec < 0 ? 6 : f->prec;
      char cf[16];
      snprintf(cf, sizeof cf, "%%.%d%c", prec, verb == 'v' ? 'g' : verb);
      cfmt_double(&t, cf, d);
    }
    break;
  default:
    bad_verb(b, f->verb, v);
    return;
  }
  pad_put(b, f, t.s, t.len, true);
  tsb_free(&t);
}

/* Format one value under a directive, as Go's fmt does for the types JSON
 * gives: containers apply the verb to each element. */
static void fmt_value(struct sbuf *b, const struct fspec *f, const json_t *v, int depth) {
  if (f->verb == 'T') {
    pad_put(b, f, go_type(v), strlen(go_type(v)), false);
    return;
  }
  if (!v || json_is_null(v)) {
    if (f->verb == 'v' || depth > 0)
      pad_put(b, f, "<nil>", 5, false);
    else
      bad_verb(b, f->verb, v);
    return;
  }
  switch (json_typeof(v)) {
  case JSON_STRING:
    fmt_string(b, f, json_string_value(v), json_string_length(v));
    return;
  case JSON_INTEGER:
    fmt_int(b, f, json_integer_value(v), v);
    return;
  case JSON_REAL:
    fmt_real(b, f, json_real_value(v), v);
    return;
  case JSON_TRUE:
  case JSON_FALSE:
    if (f->verb == 't' || f->verb == 'v')
      pad_put(b, f, json_is_true(v) ? "true" : "false", json_is_true(v) ? 4 : 5, false);
    else
      bad_verb(b, f->verb, v);
    return;
  case JSON_ARRAY: {
    tsb_putc(b, '[');
    for (size_t i = 0; i < json_array_size(v); i++) {
      if (i)
        tsb_putc(b, ' ');
      fmt_value(b, f, json_array_get(v, i), depth + 1);
    }
    tsb_putc(b, ']');
    return;
  }
  case JSON_OBJECT: {
    size_t n;
    const char **k = sorted_keys(v, &n);
    tsb_puts(b, "map[");
    for (size_t i = 0; i < n; i++) {
      if (i)
        tsb_putc(b, ' ');
      fmt_string(b, f, k[i], strlen(k[i]));
      tsb_putc(b, ':');
      fmt_value(b, f, json_object_get(v, k[i]), depth + 1);
    }
    tsb_putc(b, ']');
    free(k);
    return;
  }
  default:
    return;
  }
}

/* fmt.Sprint's %v of one value; NULL (invalid) prints as Go's template does. */
void print_value(struct sbuf *b, const json_t *v) {
  static const struct fspec pv = {.width = -1, .prec = -1, .verb = 'v'};
  if (!v) {
    tsb_puts(b, "<no value>");
    return;
  }
  fmt_value(b, &pv, v, 0);
}

/* fmt.Sprintf over JSON values. */
void go_sprintf(struct sbuf *b, const char *fmt, json_t *const *args, size_t nargs) {
  size_t ai = 0;
  for (const char *p = fmt; *p;) {
    if (*p != '%') {
      const char *q = strchr(p, '%');
      size_t n = q ? (size_t)(q - p) : strlen(p);
      tsb_putn(b, p, n);
      p += n;
      continue;
    }
    p++;
    struct fspec f = {.width = -1, .prec = -1};
    for (;; p++) {
      if (*p == '-')
        f.minus = true;
      else if (*p == '+')
        f.plus = true;
      else if (*p == '#')
        f.sharp = true;
      else if (*p == '0')
        f.zero = !f.minus;
      else if (*p == ' ')
        f.space = true;
      else
        break;
    }
    if (*p == '*') {
      p++;
      if (ai < nargs && args[ai] && json_is_integer(args[ai])) {
        f.width = (int)json_integer_value(args[ai++]);
        if (f.width < 0)
          f.minus = true, f.width = -f.width;
      } else {
        tsb_puts(b, "%!(BADWIDTH)");
        ai++;
      }
    }
    while (isdigit((unsigned char)*p))
      f.width = (f.width < 0 ? 0 : f.width) * 10 + (*p++ - '0');
    if (*p == '.') {
      p++;
      f.prec = 0;
      if (*p == '*') {
        p++;
        if (ai < nargs && args[ai] && json_is_integer(args[ai]))
          f.prec = (int)json_integer_value(args[ai++]);
        else
          tsb_puts(b, "%!(BADPREC)"), ai++;
      }
      while (isdigit((unsigned char)*p))
        f.prec = f.prec * 10 + (*p++ - '0');
    }
    if (!*p) {
      tsb_puts(b, "%!(NOVERB)");
      break;
    }
    f.verb = *p++;
    if (f.verb == '%') {
      tsb_putc(b, '%');
      continue;
    }
    if (ai >= nargs) {
      tsb_printf(b, "%%!%c(MISSING)", f.verb);
      continue;
    }
    fmt_value(b, &f, args[ai++], 0);
  }
  if (ai < nargs) {
    tsb_puts(b, "%!(EXTRA ");
    for (size_t i = ai; i < nargs; i++) {
      if (i > ai)
        tsb_puts(b, ", ");
      tsb_printf(b, "%s=", go_type(args[i]));
      print_value(b, args[i] ? args[i] : json_null());
    }
    tsb_putc(b, ')');
  }
}

/* encoding/json of a value, with SetEscapeHTML(false), compact. */
void go_json(struct sbuf *b, const json_t *v) {
  if (!v || json_is_null(v)) {
    tsb_puts(b, "null");
    return;
  }
  switch (json_typeof(v)) {
  case JSON_STRING: {
    const unsigned char *s = (const unsigned char *)json_string_value(v);
    size_t n = json_string_length(v);
    tsb_putc(b, '"');
    for (size_t i = 0; i < n; i++) {
      unsigned char c = s[i];
      if (c == '"' || c == '\\')
        tsb_putc(b, '\\'), tsb_putc(b, (char)c);
      else if (c == '\n')
        tsb_puts(b, "\\n");
      else if (c == '\r')
        tsb_puts(b, "\\r");
      else if (c == '\t')
        tsb_puts(b, "\\t");
      else if (c < 0x20)
        tsb_printf(b, "\\u%04x", c);
      else if (c == 0xE2 && i + 2 < n && s[i + 1] == 0x80 && (s[i + 2] == 0xA8 || s[i + 2] == 0xA9)) {
        /* Go always escapes U+2028 / U+2029 */
        tsb_printf(b, "\\u202%c", s[i + 2] == 0xA8 ? '8' : '9');
        i += 2;
      } else
        tsb_putc(b, (char)c);
    }
    tsb_putc(b, '"');
    return;
  }
  case JSON_INTEGER:
    tsb_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    return;
  case JSON_REAL: {
    double d = json_real_value(v), a = fabs(d);
    bool e = a != 0 && (a < 1e-6 || a >= 1e21);
    size_t start = b->len;
    go_ftoa_shortest(b, d, e ? 'e' : 'f');
    /* Go: clean up e-09 to e-9 */
    size_t n = b->len - start;
    char *s = b->s + start;
    if (e && n >= 4 && s[n - 4] == 'e' && s[n - 3] == '-' && s[n - 2] == '0') {
      s[n - 2] = s[n - 1];
      b->len--;
      b->s[b->len] = '\0';
    }
    return;
  }
  case JSON_TRUE: tsb_puts(b, "true"); return;
  case JSON_FALSE: tsb_puts(b, "false"); return;
  case JSON_ARRAY:
    tsb_putc(b, '[');
    for (size_t i = 0; i < json_array_size(v); i++) {
      if (i)
        tsb_putc(b, ',');
      go_json(b, json_array_get(v, i));
    }
    tsb_putc(b, ']');
    return;
  case JSON_OBJECT: {
    size_t n;
    const char **k = sorted_keys(v, &n);
    tsb_putc(b, '{');
    for (size_t i = 0; i < n; i++) {
      if (i)
        tsb_putc(b, ',');
      json_t *ks = json_string(k[i]);
      go_json(b, ks);
      json_decref(ks);
      tsb_putc(b, ':');
      go_json(b, json_object_get(v, k[i]));
    }
    tsb_putc(b, '}');
    free(k);
    return;
  }
  default:
    return;
  }
}
