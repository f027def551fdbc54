/*
 * template.c — the Go text/template subset behind `--format` (see template.h).
 *
 * Three stages, as in Go: a lexer turns the text into tokens (with byte
 * positions and lines), a recursive-descent parser builds an AST, and an
 * executor walks the AST over jansson values.
 *
 * Values: the executor passes `json_t *` references around. NULL stands for
 * Go's invalid reflect.Value (a missing map key: prints "<no value>"), json
 * null for a nil interface (prints "<nil>"). JSON integers behave as Go `int`,
 * reals as `float64`, arrays as `[]interface {}`, objects as
 * `map[string]interface {}` — the types Go's encoding/json produces, except
 * that integers keep their integer type (Docker formats typed structs whose
 * counters are ints).
 *
 * Ownership: every eval function returns a new reference (or NULL) in *out;
 * the caller decrefs it. The parser allocates every node and string in the
 * template's arena (struct tmpl.allocs) and reports errors with longjmp, so
 * an error never leaks: tmpl_free releases the arena.
 *
 * Error texts follow Go's: parse errors "template: :LINE: msg", execution
 * errors "template: :LINE:COL: executing \"\" at <node>: msg" where COL is
 * Go's (0-based byte offset in the line) and node is Go's String() of the
 * node being evaluated.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>

#include "cli/template.h"

/* ------------------------------------------------------------------ */
/* growable string                                                     */

struct sbuf {
  char *s;
  size_t len, cap;
};

static void sb_putn(struct sbuf *b, const char *p, size_t n) {
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

static void sb_puts(struct sbuf *b, const char *p) { sb_putn(b, p, strlen(p)); }
static void sb_putc(struct sbuf *b, char c) { sb_putn(b, &c, 1); }

static void sb_rep(struct sbuf *b, char c, long n) {
  for (long i = 0; i < n; i++)
    sb_putc(b, c);
}

__attribute__((format(printf, 2, 3))) static void sb_printf(struct sbuf *b, const char *fmt, ...) {
  va_list ap;
  char *s = NULL;
  va_start(ap, fmt);
  if (vasprintf(&s, fmt, ap) < 0)
    abort();
  va_end(ap);
  sb_puts(b, s);
  free(s);
}

static char *sb_steal(struct sbuf *b) {
  char *s = b->s ? b->s : xstrdup("");
  b->s = NULL;
  b->len = b->cap = 0;
  return s;
}

static void sb_free(struct sbuf *b) {
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
static size_t utf8_prefix(const char *s, size_t n, size_t runes) {
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

static void put_utf8(struct sbuf *b, uint32_t r) {
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
  sb_putn(b, o, n);
}

/* strconv.Quote for the common cases: named escapes, \xNN for other control
 * bytes; bytes >= 0x80 are copied (we assume UTF-8 input). */
static void go_quote(struct sbuf *b, const char *s, size_t n, char q) {
  sb_putc(b, q);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    switch (c) {
    case '\a': sb_puts(b, "\\a"); break;
    case '\b': sb_puts(b, "\\b"); break;
    case '\f': sb_puts(b, "\\f"); break;
    case '\n': sb_puts(b, "\\n"); break;
    case '\r': sb_puts(b, "\\r"); break;
    case '\t': sb_puts(b, "\\t"); break;
    case '\v': sb_puts(b, "\\v"); break;
    case '\\': sb_puts(b, "\\\\"); break;
    default:
      if (c == (unsigned char)q)
        sb_putc(b, '\\'), sb_putc(b, (char)c);
      else if (c < 0x20 || c == 0x7f)
        sb_printf(b, "\\x%02x", c);
      else
        sb_putc(b, (char)c);
    }
  }
  sb_putc(b, q);
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
  sb_putc(b, dg[0]);
  if (prec > 0) {
    sb_putc(b, '.');
    for (int i = 1; i <= prec; i++)
      sb_putc(b, i < nd ? dg[i] : '0');
  }
  int exp = nd == 1 && dg[0] == '0' ? 0 : dp - 1;
  sb_printf(b, "%c%c%02d", e, exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
}

static void put_digits_f(struct sbuf *b, const char *dg, int nd, int dp, int prec) {
  if (dp > 0) {
    for (int i = 0; i < dp; i++)
      sb_putc(b, i < nd ? dg[i] : '0');
  } else {
    sb_putc(b, '0');
  }
  if (prec > 0) {
    sb_putc(b, '.');
    for (int i = 0; i < prec; i++) {
      int j = dp + i;
      sb_putc(b, j < 0 || j >= nd ? '0' : dg[j]);
    }
  }
}

/* strconv.FormatFloat(d, fmt, -1, 64) for fmt 'g', 'e', 'f'. */
static void go_ftoa_shortest(struct sbuf *b, double d, char fmt) {
  if (isnan(d)) {
    sb_puts(b, "NaN");
    return;
  }
  if (isinf(d)) {
    sb_puts(b, d < 0 ? "-Inf" : "+Inf");
    return;
  }
  if (signbit(d)) {
    sb_putc(b, '-');
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

static const char *go_type(const json_t *v) {
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
static const char **sorted_keys(const json_t *o, size_t *n) {
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
    sb_putn(b, s, n);
  } else if (f->minus) {
    sb_putn(b, s, n);
    sb_rep(b, ' ', pad);
  } else if (f->zero && zero_ok) {
    size_t sign = n && (s[0] == '-' || s[0] == '+' || s[0] == ' ') ? 1 : 0;
    sb_putn(b, s, sign);
    sb_rep(b, '0', pad);
    sb_putn(b, s + sign, n - sign);
  } else {
    sb_rep(b, ' ', pad);
    sb_putn(b, s, n);
  }
}

static void bad_verb(struct sbuf *b, char verb, const json_t *v) {
  if (!v || json_is_null(v)) {
    sb_printf(b, "%%!%c(<nil>)", verb);
    return;
  }
  struct fspec pv = {.width = -1, .prec = -1, .verb = 'v'};
  sb_printf(b, "%%!%c(%s=", verb, go_type(v));
  fmt_value(b, &pv, v, 0);
  sb_putc(b, ')');
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
      sb_printf(&t, f->verb == 'x' ? "%02x" : "%02X", (unsigned char)s[i]);
    break;
  default: {
    json_t *j = json_stringn(s, n);
    bad_verb(b, f->verb, j);
    json_decref(j);
    return;
  }
  }
  pad_put(b, f, t.s ? t.s : "", t.len, false);
  sb_free(&t);
}

/* C printf with a directive built from Go's (flags, width, precision and
 * verb have been checked by the callers). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static void cfmt_ll(struct sbuf *b, const char *cf, long long v) { sb_printf(b, cf, v); }
static void cfmt_ull(struct sbuf *b, const char *cf, unsigned long long v) { sb_printf(b, cf, v); }
static void cfmt_double(struct sbuf *b, const char *cf, double v) { sb_printf(b, cf, v); }
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
      sb_putc(&t, '-');
      cfmt_ull(&t, cf, 0ULL - (unsigned long long)i);
    } else {
      cfmt_ll(&t, cf, (long long)i);
    }
    break;
  case 'O':
    sb_printf(&t, "%s0o%llo", i < 0 ? "-" : "", (unsigned long long)(i < 0 ? -i : i));
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
      sb_putc(&t, '-');
    while (n)
      sb_putc(&t, bits[--n]);
    break;
  }
  case 'c':
    put_utf8(&t, (uint32_t)i);
    break;
  case 'q': {
    struct sbuf r = {0};
    put_utf8(&r, (uint32_t)i);
    go_quote(&t, r.s, r.len, '\'');
    sb_free(&r);
    break;
  }
  case 'U':
    sb_printf(&t, "U+%04llX", (long long)i);
    break;
  default:
    bad_verb(b, f->verb, v);
    return;
  }
  pad_put(b, f, t.s, t.len, f->prec < 0);
  sb_free(&t);
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
      sb_putc(&t, '+');
    else if (f->space && !signbit(d))
      sb_putc(&t, ' ');
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
  sb_free(&t);
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
    sb_putc(b, '[');
    for (size_t i = 0; i < json_array_size(v); i++) {
      if (i)
        sb_putc(b, ' ');
      fmt_value(b, f, json_array_get(v, i), depth + 1);
    }
    sb_putc(b, ']');
    return;
  }
  case JSON_OBJECT: {
    size_t n;
    const char **k = sorted_keys(v, &n);
    sb_puts(b, "map[");
    for (size_t i = 0; i < n; i++) {
      if (i)
        sb_putc(b, ' ');
      fmt_string(b, f, k[i], strlen(k[i]));
      sb_putc(b, ':');
      fmt_value(b, f, json_object_get(v, k[i]), depth + 1);
    }
    sb_putc(b, ']');
    free(k);
    return;
  }
  default:
    return;
  }
}

/* fmt.Sprint's %v of one value; NULL (invalid) prints as Go's template does. */
static void print_value(struct sbuf *b, const json_t *v) {
  static const struct fspec pv = {.width = -1, .prec = -1, .verb = 'v'};
  if (!v) {
    sb_puts(b, "<no value>");
    return;
  }
  fmt_value(b, &pv, v, 0);
}

/* fmt.Sprintf over JSON values. */
static void go_sprintf(struct sbuf *b, const char *fmt, json_t *const *args, size_t nargs) {
  size_t ai = 0;
  for (const char *p = fmt; *p;) {
    if (*p != '%') {
      const char *q = strchr(p, '%');
      size_t n = q ? (size_t)(q - p) : strlen(p);
      sb_putn(b, p, n);
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
        sb_puts(b, "%!(BADWIDTH)");
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
          sb_puts(b, "%!(BADPREC)"), ai++;
      }
      while (isdigit((unsigned char)*p))
        f.prec = f.prec * 10 + (*p++ - '0');
    }
    if (!*p) {
      sb_puts(b, "%!(NOVERB)");
      break;
    }
    f.verb = *p++;
    if (f.verb == '%') {
      sb_putc(b, '%');
      continue;
    }
    if (ai >= nargs) {
      sb_printf(b, "%%!%c(MISSING)", f.verb);
      continue;
    }
    fmt_value(b, &f, args[ai++], 0);
  }
  if (ai < nargs) {
    sb_puts(b, "%!(EXTRA ");
    for (size_t i = ai; i < nargs; i++) {
      if (i > ai)
        sb_puts(b, ", ");
      sb_printf(b, "%s=", go_type(args[i]));
      print_value(b, args[i] ? args[i] : json_null());
    }
    sb_putc(b, ')');
  }
}

/* encoding/json of a value, with SetEscapeHTML(false), compact. */
static void go_json(struct sbuf *b, const json_t *v) {
  if (!v || json_is_null(v)) {
    sb_puts(b, "null");
    return;
  }
  switch (json_typeof(v)) {
  case JSON_STRING: {
    const unsigned char *s = (const unsigned char *)json_string_value(v);
    size_t n = json_string_length(v);
    sb_putc(b, '"');
    for (size_t i = 0; i < n; i++) {
      unsigned char c = s[i];
      if (c == '"' || c == '\\')
        sb_putc(b, '\\'), sb_putc(b, (char)c);
      else if (c == '\n')
        sb_puts(b, "\\n");
      else if (c == '\r')
        sb_puts(b, "\\r");
      else if (c == '\t')
        sb_puts(b, "\\t");
      else if (c < 0x20)
        sb_printf(b, "\\u%04x", c);
      else if (c == 0xE2 && i + 2 < n && s[i + 1] == 0x80 && (s[i + 2] == 0xA8 || s[i + 2] == 0xA9)) {
        /* Go always escapes U+2028 / U+2029 */
        sb_printf(b, "\\u202%c", s[i + 2] == 0xA8 ? '8' : '9');
        i += 2;
      } else
        sb_putc(b, (char)c);
    }
    sb_putc(b, '"');
    return;
  }
  case JSON_INTEGER:
    sb_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
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
  case JSON_TRUE: sb_puts(b, "true"); return;
  case JSON_FALSE: sb_puts(b, "false"); return;
  case JSON_ARRAY:
    sb_putc(b, '[');
    for (size_t i = 0; i < json_array_size(v); i++) {
      if (i)
        sb_putc(b, ',');
      go_json(b, json_array_get(v, i));
    }
    sb_putc(b, ']');
    return;
  case JSON_OBJECT: {
    size_t n;
    const char **k = sorted_keys(v, &n);
    sb_putc(b, '{');
    for (size_t i = 0; i < n; i++) {
      if (i)
        sb_putc(b, ',');
      json_t *ks = json_string(k[i]);
      go_json(b, ks);
      json_decref(ks);
      sb_putc(b, ':');
      go_json(b, json_object_get(v, k[i]));
    }
    sb_putc(b, '}');
    free(k);
    return;
  }
  default:
    return;
  }
}

/* ------------------------------------------------------------------ */
/* lexer                                                               */

enum tok {
  T_EOF, T_ERROR, T_TEXT, T_LEFT, T_RIGHT, T_SPACE, T_IDENT, T_FIELD, T_DOT, T_VAR,
  T_STRING, T_RAWSTRING, T_CHARCONST, T_NUMBER, T_BOOL, T_NIL, T_PIPE, T_LPAREN, T_RPAREN,
  T_DECLARE, T_ASSIGN, T_CHAR,
  /* keywords (Go prints them as <name> in errors) */
  T_KEYWORD, T_IF, T_ELSE, T_END, T_RANGE, T_WITH, T_BREAK, T_CONTINUE, T_DEFINE,
  T_TEMPLATE, T_BLOCK,
};

struct token {
  enum tok type;
  size_t pos;
  int line;
  const char *val; /* arena string */
};

struct node;

struct tmpl {
  struct node *root;
  char *src;    /* the template text (error positions are computed on it) */
  bool header;  /* set by tmpl_header_line's executions */
  void **allocs; /* arena: every string of the parse */
  size_t nallocs, cap;
  struct node **nodes; /* every node (with its vectors) */
  size_t nnodes, ncap;
};

static void *arena_add(struct tmpl *t, void *p) {
  if (t->nallocs == t->cap) {
    t->cap = t->cap ? t->cap * 2 : 64;
    t->allocs = xrealloc(t->allocs, t->cap * sizeof *t->allocs);
  }
  t->allocs[t->nallocs++] = p;
  return p;
}

static char *arena_strndup(struct tmpl *t, const char *s, size_t n) {
  char *p = xmalloc(n + 1);
  memcpy(p, s, n);
  p[n] = '\0';
  return arena_add(t, p);
}

struct lexer {
  struct tmpl *t;
  const char *in;
  size_t len, pos, start;
  size_t line_pos; /* cache for line_at */
  int line_cnt;
  int paren;
  struct token *toks;
  size_t ntoks, cap;
};

static int line_at(struct lexer *l, size_t pos) {
  if (pos < l->line_pos) {
    l->line_pos = 0;
    l->line_cnt = 1;
  }
  for (; l->line_pos < pos; l->line_pos++)
    if (l->in[l->line_pos] == '\n')
      l->line_cnt++;
  return l->line_cnt;
}

static void emit_val(struct lexer *l, enum tok type, size_t start, const char *val, size_t n) {
  if (l->ntoks == l->cap) {
    l->cap = l->cap ? l->cap * 2 : 64;
    l->toks = xrealloc(l->toks, l->cap * sizeof *l->toks);
  }
  l->toks[l->ntoks++] = (struct token){type, start, line_at(l, start), arena_strndup(l->t, val, n)};
}

static void emit(struct lexer *l, enum tok type) {
  emit_val(l, type, l->start, l->in + l->start, l->pos - l->start);
  l->start = l->pos;
}

static bool is_space(int c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
static bool is_alnum(int c) { return c == '_' || isalnum(c) || c >= 0x80; }

/* Go's %#U of a byte as a rune (non-ASCII shown as the byte's code point). */
static void fmt_rune(char *buf, size_t n, unsigned char c) {
  if (c >= 0x20 && c < 0x7f)
    snprintf(buf, n, "U+%04X '%c'", c, c);
  else
    snprintf(buf, n, "U+%04X", c);
}

__attribute__((format(printf, 2, 3))) static void lex_error(struct lexer *l, const char *fmt, ...) {
  va_list ap;
  char *s = NULL;
  va_start(ap, fmt);
  if (vasprintf(&s, fmt, ap) < 0)
    abort();
  va_end(ap);
  emit_val(l, T_ERROR, l->start, s, strlen(s));
  free(s);
}

static bool at(const struct lexer *l, size_t pos, const char *s) {
  size_t n = strlen(s);
  return pos + n <= l->len && memcmp(l->in + pos, s, n) == 0;
}

/* "{{- " : a left trim marker is '-' then a space */
static bool left_trim_at(const struct lexer *l, size_t pos) {
  return pos + 1 < l->len && l->in[pos] == '-' && is_space((unsigned char)l->in[pos + 1]);
}

/* " -}}" */
static bool right_trim_at(const struct lexer *l, size_t pos) {
  return pos + 1 < l->len && is_space((unsigned char)l->in[pos]) && l->in[pos + 1] == '-' && at(l, pos + 2, "}}");
}

static bool at_terminator(const struct lexer *l) {
  if (l->pos >= l->len)
    return true;
  char c = l->in[l->pos];
  return is_space((unsigned char)c) || strchr(".,|:()", c) || at(l, l->pos, "}}");
}

static void skip_spaces(struct lexer *l) {
  while (l->pos < l->len && is_space((unsigned char)l->in[l->pos]))
    l->pos++;
  l->start = l->pos;
}

/* Text up to the next action, with {{- trimming. Returns false at EOF. */
static bool lex_text(struct lexer *l) {
  const char *d = l->pos < l->len ? memmem(l->in + l->pos, l->len - l->pos, "{{", 2) : NULL;
  size_t end = d ? (size_t)(d - l->in) : l->len;
  size_t tend = end;
  if (d && left_trim_at(l, end + 2))
    while (tend > l->pos && is_space((unsigned char)l->in[tend - 1]))
      tend--;
  if (tend > l->pos)
    emit_val(l, T_TEXT, l->pos, l->in + l->pos, tend - l->pos);
  l->pos = l->start = end;
  return d != NULL;
}

/* After "{{": a comment is consumed whole; else the action starts. Returns
 * false on error. *in_action tells which state follows. */
static bool lex_left(struct lexer *l, bool *in_action) {
  size_t p = l->pos + 2;
  if (left_trim_at(l, p))
    p += 2;
  if (at(l, p, "/*")) {
    const char *e = memmem(l->in + p + 2, l->len - p - 2, "*/", 2);
    if (!e) {
      lex_error(l, "unclosed comment");
      return false;
    }
    p = (size_t)(e - l->in) + 2;
    if (right_trim_at(l, p)) {
      l->pos = p + 4;
      skip_spaces(l);
    } else if (at(l, p, "}}")) {
      l->pos = l->start = p + 2;
    } else {
      lex_error(l, "comment ends before closing delimiter");
      return false;
    }
    *in_action = false;
    return true;
  }
  emit_val(l, T_LEFT, l->pos, "{{", 2);
  l->pos = l->start = p;
  l->paren = 0;
  *in_action = true;
  return true;
}

static bool lex_quote(struct lexer *l) {
  l->pos++;
  for (;;) {
    if (l->pos >= l->len || l->in[l->pos] == '\n') {
      lex_error(l, "unterminated quoted string");
      return false;
    }
    char c = l->in[l->pos++];
    if (c == '\\') {
      if (l->pos >= l->len || l->in[l->pos] == '\n') {
        lex_error(l, "unterminated quoted string");
        return false;
      }
      l->pos++;
    } else if (c == '"') {
      break;
    }
  }
  emit(l, T_STRING);
  return true;
}

static bool lex_raw(struct lexer *l) {
  const char *e = memchr(l->in + l->pos + 1, '`', l->len - l->pos - 1);
  if (!e) {
    lex_error(l, "unterminated raw quoted string");
    return false;
  }
  l->pos = (size_t)(e - l->in) + 1;
  emit(l, T_RAWSTRING);
  return true;
}

static bool lex_char(struct lexer *l) {
  l->pos++;
  for (;;) {
    if (l->pos >= l->len || l->in[l->pos] == '\n') {
      lex_error(l, "unterminated character constant");
      return false;
    }
    char c = l->in[l->pos++];
    if (c == '\\') {
      if (l->pos >= l->len || l->in[l->pos] == '\n') {
        lex_error(l, "unterminated character constant");
        return false;
      }
      l->pos++;
    } else if (c == '\'') {
      break;
    }
  }
  emit(l, T_CHARCONST);
  return true;
}

static bool accept(struct lexer *l, const char *set) {
  if (l->pos < l->len && l->in[l->pos] && strchr(set, l->in[l->pos])) {
    l->pos++;
    return true;
  }
  return false;
}

static void accept_run(struct lexer *l, const char *set) {
  while (accept(l, set))
    ;
}

static bool lex_number(struct lexer *l) {
  const char *digits = "0123456789_";
  accept(l, "+-");
  if (accept(l, "0")) {
    if (accept(l, "xX"))
      digits = "0123456789abcdefABCDEF_";
    else if (accept(l, "oO"))
      digits = "01234567_";
    else if (accept(l, "bB"))
      digits = "01_";
  }
  accept_run(l, digits);
  if (accept(l, "."))
    accept_run(l, digits);
  if (strlen(digits) == 11 && accept(l, "eE")) {
    accept(l, "+-");
    accept_run(l, "0123456789_");
  }
  if (strlen(digits) == 23 && accept(l, "pP")) {
    accept(l, "+-");
    accept_run(l, "0123456789_");
  }
  accept(l, "i");
  if (l->pos < l->len && is_alnum((unsigned char)l->in[l->pos])) {
    l->pos++;
    struct sbuf q = {0};
    go_quote(&q, l->in + l->start, l->pos - l->start, '"');
    lex_error(l, "bad number syntax: %s", q.s);
    sb_free(&q);
    return false;
  }
  emit(l, T_NUMBER);
  return true;
}

static enum tok keyword(const char *s, size_t n) {
  static const struct {
    const char *w;
    enum tok t;
  } kw[] = {
      {"if", T_IF}, {"else", T_ELSE}, {"end", T_END}, {"range", T_RANGE}, {"with", T_WITH},
      {"break", T_BREAK}, {"continue", T_CONTINUE}, {"define", T_DEFINE}, {"template", T_TEMPLATE},
      {"block", T_BLOCK}, {"nil", T_NIL}, {"true", T_BOOL}, {"false", T_BOOL},
  };
  for (size_t i = 0; i < sizeof kw / sizeof kw[0]; i++)
    if (strlen(kw[i].w) == n && memcmp(kw[i].w, s, n) == 0)
      return kw[i].t;
  return T_IDENT;
}

/* An identifier, .field or $variable: alphanumerics then a terminator. */
static bool lex_word(struct lexer *l, enum tok type) {
  l->pos++;
  if (type != T_IDENT && at_terminator(l)) {
    emit(l, type == T_VAR ? T_VAR : T_DOT);
    return true;
  }
  while (l->pos < l->len && is_alnum((unsigned char)l->in[l->pos]))
    l->pos++;
  if (!at_terminator(l)) {
    char r[32];
    fmt_rune(r, sizeof r, (unsigned char)l->in[l->pos]);
    l->pos++;
    lex_error(l, "bad character %s", r);
    return false;
  }
  if (type == T_IDENT)
    type = keyword(l->in + l->start, l->pos - l->start);
  emit(l, type);
  return true;
}

/* One token inside an action. Returns false on error; sets *in_action false
 * after the closing delimiter. */
static bool lex_action(struct lexer *l, bool *in_action) {
  bool trim = right_trim_at(l, l->pos);
  if (trim || at(l, l->pos, "}}")) {
    if (l->paren > 0) {
      lex_error(l, "unclosed left paren");
      return false;
    }
    if (trim)
      l->pos++, l->start++;
    emit_val(l, T_RIGHT, l->pos, "}}", 2);
    l->pos += trim ? 3 : 2;
    l->start = l->pos;
    if (trim)
      skip_spaces(l);
    *in_action = false;
    return true;
  }
  if (l->pos >= l->len) {
    lex_error(l, "unclosed action");
    return false;
  }
  unsigned char c = (unsigned char)l->in[l->pos];
  if (is_space(c)) {
    while (l->pos < l->len && is_space((unsigned char)l->in[l->pos]) && !right_trim_at(l, l->pos))
      l->pos++;
    if (l->pos > l->start)
      emit(l, T_SPACE);
    return true;
  }
  switch (c) {
  case '=':
    l->pos++;
    emit(l, T_ASSIGN);
    return true;
  case ':':
    l->pos++;
    if (!accept(l, "=")) {
      lex_error(l, "expected :=");
      return false;
    }
    emit(l, T_DECLARE);
    return true;
  case '|':
    l->pos++;
    emit(l, T_PIPE);
    return true;
  case '"':
    return lex_quote(l);
  case '`':
    return lex_raw(l);
  case '\'':
    return lex_char(l);
  case '$':
    return lex_word(l, T_VAR);
  case '.':
    if (l->pos + 1 < l->len && isdigit((unsigned char)l->in[l->pos + 1]))
      return lex_number(l);
    return lex_word(l, T_FIELD);
  case '(':
    l->pos++;
    l->paren++;
    emit(l, T_LPAREN);
    return true;
  case ')':
    l->pos++;
    if (--l->paren < 0) {
      lex_error(l, "unexpected right paren");
      return false;
    }
    emit(l, T_RPAREN);
    return true;
  default:
    break;
  }
  if (c == '+' || c == '-' || isdigit(c))
    return lex_number(l);
  if (is_alnum(c))
    return lex_word(l, T_IDENT);
  if (c < 0x7f && isprint(c)) {
    l->pos++;
    emit(l, T_CHAR);
    return true;
  }
  char r[32];
  fmt_rune(r, sizeof r, c);
  l->pos++;
  lex_error(l, "unrecognized character in action: %s", r);
  return false;
}

/* Tokenize all of `text`; the list ends with T_EOF or T_ERROR. */
static struct token *lex_all(struct tmpl *t, const char *text, size_t *n) {
  struct lexer l = {.t = t, .in = text, .len = strlen(text), .line_cnt = 1};
  bool in_action = false;
  for (;;) {
    if (in_action) {
      if (!lex_action(&l, &in_action))
        break;
      continue;
    }
    if (!lex_text(&l))
      break;
    if (!lex_left(&l, &in_action))
      break;
  }
  /* EOF sentinels: the parser may back up over the last tokens it read */
  for (int i = 0; i < 4; i++)
    emit_val(&l, T_EOF, l.len, "", 0);
  *n = l.ntoks;
  return l.toks;
}

/* ------------------------------------------------------------------ */
/* AST                                                                 */

enum ntype {
  N_LIST, N_TEXT, N_ACTION, N_IF, N_RANGE, N_WITH, N_BREAK, N_CONTINUE, N_ELSE, N_END,
  N_PIPE, N_CMD, N_FIELD, N_CHAIN, N_VAR, N_DOT, N_NIL, N_BOOL, N_NUMBER, N_STRING, N_IDENT,
};

struct node {
  enum ntype type;
  size_t pos;
  int line;
  struct node **kids; /* list items, pipe commands, command args */
  size_t nkids;
  struct node *pipe, *list, *else_list; /* control nodes; chain: pipe is the term */
  const char **idents;                  /* field / variable / chain names (no dots) */
  size_t nidents;
  const char **decl; /* pipe declarations ($x) */
  size_t ndecl;
  bool is_assign;
  const char *text; /* text, string value, identifier, number source */
  const char *src;  /* string literal as written (for error contexts) */
  bool bval;
  bool is_int, is_float;
  int64_t ival;
  double fval;
};

struct parser {
  struct tmpl *t;
  struct token *toks;
  size_t ntoks, i;
  const char **vars;
  size_t nvars;
  int range_depth;
  int depth;
  int line;
  char *errmsg;
  jmp_buf jb;
};

static struct node *new_node(struct parser *p, enum ntype type, size_t pos, int line) {
  struct node *n = xcalloc(1, sizeof *n);
  struct tmpl *t = p->t;
  if (t->nnodes == t->ncap) {
    t->ncap = t->ncap ? t->ncap * 2 : 64;
    t->nodes = xrealloc(t->nodes, t->ncap * sizeof *t->nodes);
  }
  t->nodes[t->nnodes++] = n;
  n->type = type;
  n->pos = pos;
  n->line = line;
  return n;
}

static void node_add(struct parser *p, struct node *n, struct node *kid) {
  n->kids = xrealloc(n->kids, (n->nkids + 1) * sizeof *n->kids);
  n->kids[n->nkids++] = kid;
}

static void strs_add(const char ***v, size_t *n, const char *s) {
  *v = xrealloc(*v, (*n + 1) * sizeof **v);
  (*v)[(*n)++] = s;
}

__attribute__((noreturn, format(printf, 2, 3))) static void perr(struct parser *p, const char *fmt, ...) {
  va_list ap;
  char *s = NULL;
  va_start(ap, fmt);
  if (vasprintf(&s, fmt, ap) < 0)
    abort();
  va_end(ap);
  p->errmsg = xasprintf("template: :%d: %s", p->line, s);
  free(s);
  longjmp(p->jb, 1);
}

static struct token *next(struct parser *p) {
  struct token *t = &p->toks[p->i < p->ntoks - 1 ? p->i++ : p->i];
  p->line = t->line;
  return t;
}

static struct token *peek(struct parser *p) { return &p->toks[p->i]; }
static void backup(struct parser *p) {
  if (p->i > 0)
    p->i--;
}

static struct token *next_non_space(struct parser *p) {
  struct token *t;
  do
    t = next(p);
  while (t->type == T_SPACE);
  return t;
}

static struct token *peek_non_space(struct parser *p) {
  size_t i = p->i;
  while (p->toks[i].type == T_SPACE)
    i++;
  p->i = i;
  return &p->toks[i];
}

/* Go's item.String() for "unexpected X" messages. */
static char *tok_str(const struct token *t) {
  if (t->type == T_EOF)
    return xstrdup("EOF");
  if (t->type == T_ERROR)
    return xstrdup(t->val);
  if (t->type > T_KEYWORD || t->type == T_DOT || t->type == T_NIL) /* Go lexes . and nil as keywords */
    return xasprintf("<%s>", t->val);
  struct sbuf b = {0};
  size_t n = strlen(t->val);
  size_t cut = utf8_prefix(t->val, n, 10);
  go_quote(&b, t->val, cut, '"');
  if (cut < n)
    sb_puts(&b, "...");
  return sb_steal(&b);
}

__attribute__((noreturn)) static void unexpected(struct parser *p, const struct token *t, const char *ctx) {
  if (t->type == T_ERROR)
    perr(p, "%s", t->val);
  char *s = tok_str(t);
  arena_add(p->t, s);
  perr(p, "unexpected %s in %s", s, ctx);
}

static struct token *expect(struct parser *p, enum tok type, const char *ctx) {
  struct token *t = next_non_space(p);
  if (t->type != type)
    unexpected(p, t, ctx);
  return t;
}

/* Functions known to the executor (parse checks names, as Go does). */
static bool func_exists(const char *name);

static bool var_defined(struct parser *p, const char *name) {
  for (size_t i = p->nvars; i-- > 0;)
    if (strcmp(p->vars[i], name) == 0)
      return true;
  return false;
}

static void push_var(struct parser *p, const char *name) { strs_add(&p->vars, &p->nvars, name); }

/* strconv.Unquote of a Go string / char literal body. Returns false if invalid. */
static bool unquote(const char *s, size_t n, char q, struct sbuf *out) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == (unsigned char)q)
      return false;
    if (c != '\\') {
      sb_putc(out, (char)c);
      continue;
    }
    if (++i >= n)
      return false;
    c = (unsigned char)s[i];
    const char *esc = strchr("abfnrtv\\", c);
    if (esc && c) {
      static const char map[] = "\a\b\f\n\r\t\v\\";
      sb_putc(out, map[esc - "abfnrtv\\"]);
    } else if (c == q) {
      sb_putc(out, (char)c);
    } else if (c == 'x' || c == 'u' || c == 'U') {
      int len = c == 'x' ? 2 : c == 'u' ? 4 : 8;
      uint32_t v = 0;
      for (int k = 0; k < len; k++) {
        if (++i >= n || !isxdigit((unsigned char)s[i]))
          return false;
        v = v * 16 + (uint32_t)(isdigit((unsigned char)s[i]) ? s[i] - '0' : (tolower((unsigned char)s[i]) - 'a' + 10));
      }
      if (c == 'x')
        sb_putc(out, (char)v);
      else if (v > 0x10FFFF || (v >= 0xD800 && v < 0xE000))
        return false;
      else
        put_utf8(out, v);
    } else if (c >= '0' && c <= '7') {
      uint32_t v = 0;
      for (int k = 0; k < 3; k++, i++) {
        if (i >= n || s[i] < '0' || s[i] > '7')
          return false;
        v = v * 8 + (uint32_t)(s[i] - '0');
      }
      i--;
      if (v > 255)
        return false;
      sb_putc(out, (char)v);
    } else {
      return false;
    }
  }
  return true;
}

/* Decode one UTF-8 character; returns its byte length (0 if invalid). */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *r) {
  if (n == 0)
    return 0;
  if (s[0] < 0x80) {
    *r = s[0];
    return 1;
  }
  size_t len = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC0 ? 2 : 0;
  if (!len || len > n)
    return 0;
  uint32_t v = s[0] & (0x3F >> (len - 1));
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80)
      return 0;
    v = (v << 6) | (s[i] & 0x3F);
  }
  *r = v;
  return len;
}

static void parse_number(struct parser *p, struct node *n, const struct token *t) {
  const char *txt = t->val;
  if (t->type == T_CHARCONST) {
    struct sbuf b = {0};
    uint32_t r = 0;
    size_t len = strlen(txt);
    bool ok = len >= 2 && unquote(txt + 1, len - 2, '\'', &b) && b.len > 0 &&
              utf8_decode((const unsigned char *)b.s, b.len, &r) == b.len;
    sb_free(&b);
    if (!ok)
      perr(p, "malformed character constant: %s", txt);
    n->is_int = n->is_float = true;
    n->ival = r;
    n->fval = r;
    return;
  }
  char clean[128];
  size_t k = 0;
  for (const char *c = txt; *c && k < sizeof clean - 1; c++)
    if (*c != '_')
      clean[k++] = *c;
  clean[k] = '\0';
  const char *s = clean;
  bool neg = *s == '-';
  if (*s == '+' || *s == '-')
    s++;
  int base = 10;
  const char *digits = s;
  if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
    base = 16, digits = s + 2;
  else if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O'))
    base = 8, digits = s + 2;
  else if (s[0] == '0' && (s[1] == 'b' || s[1] == 'B'))
    base = 2, digits = s + 2;
  else if (s[0] == '0' && s[1])
    base = 8, digits = s + 1;
  char *end = NULL;
  errno = 0;
  unsigned long long u = *digits ? strtoull(digits, &end, base) : 0;
  if (*digits && *end == '\0' && errno == 0 && *digits != '-' && *digits != '+' &&
      u <= (neg ? (unsigned long long)INT64_MAX + 1 : (unsigned long long)INT64_MAX)) {
    n->is_int = true;
    n->ival = neg ? (int64_t)(0 - u) : (int64_t)u;
    n->is_float = true;
    n->fval = (double)n->ival;
    return;
  }
  errno = 0;
  double d = strtod(clean, &end);
  if (k > 0 && *end == '\0' && !strchr(clean, 'i')) {
    n->is_float = true;
    n->fval = d;
    if (fabs(d) < 9.2e18 && d == (double)(int64_t)d) {
      n->is_int = true;
      n->ival = (int64_t)d;
    }
    return;
  }
  perr(p, "illegal number syntax: \"%s\"", txt);
}

static struct node *pipeline(struct parser *p, const char *ctx, enum tok end);

static struct node *term(struct parser *p) {
  struct token *t = next_non_space(p);
  struct node *n;
  switch (t->type) {
  case T_IDENT:
    if (!func_exists(t->val))
      perr(p, "function \"%s\" not defined", t->val);
    n = new_node(p, N_IDENT, t->pos, t->line);
    n->text = t->val;
    return n;
  case T_DOT:
    return new_node(p, N_DOT, t->pos, t->line);
  case T_NIL:
    return new_node(p, N_NIL, t->pos, t->line);
  case T_VAR:
    if (!var_defined(p, t->val))
      perr(p, "undefined variable \"%s\"", t->val);
    n = new_node(p, N_VAR, t->pos, t->line);
    strs_add(&n->idents, &n->nidents, t->val);
    return n;
  case T_FIELD:
    n = new_node(p, N_FIELD, t->pos, t->line);
    strs_add(&n->idents, &n->nidents, t->val + 1);
    return n;
  case T_BOOL:
    n = new_node(p, N_BOOL, t->pos, t->line);
    n->bval = strcmp(t->val, "true") == 0;
    return n;
  case T_CHARCONST:
  case T_NUMBER:
    n = new_node(p, N_NUMBER, t->pos, t->line);
    n->text = t->val;
    parse_number(p, n, t);
    return n;
  case T_LPAREN:
    if (++p->depth > 1000)
      perr(p, "max expression depth exceeded");
    n = pipeline(p, "parenthesized pipeline", T_RPAREN);
    p->depth--;
    return n;
  case T_STRING:
  case T_RAWSTRING: {
    struct sbuf b = {0};
    size_t len = strlen(t->val);
    bool ok;
    if (t->type == T_RAWSTRING) {
      for (size_t i = 1; i + 1 < len; i++)
        if (t->val[i] != '\r')
          sb_putc(&b, t->val[i]);
      ok = true;
    } else {
      ok = unquote(t->val + 1, len - 2, '"', &b);
    }
    if (!ok) {
      sb_free(&b);
      perr(p, "invalid syntax");
    }
    n = new_node(p, N_STRING, t->pos, t->line);
    n->text = arena_add(p->t, sb_steal(&b));
    n->src = t->val;
    return n;
  }
  default:
    backup(p);
    return NULL;
  }
}

static struct node *operand(struct parser *p) {
  struct node *n = term(p);
  if (!n)
    return NULL;
  if (peek(p)->type != T_FIELD)
    return n;
  size_t cpos = peek(p)->pos;
  switch (n->type) {
  case N_BOOL:
  case N_STRING:
  case N_NUMBER:
  case N_NIL:
  case N_DOT: {
    const char *what = n->type == N_BOOL ? (n->bval ? "true" : "false")
                       : n->type == N_STRING ? n->src
                       : n->type == N_NUMBER ? n->text
                       : n->type == N_NIL ? "nil" : ".";
    struct sbuf q = {0};
    go_quote(&q, what, strlen(what), '"');
    arena_add(p->t, q.s);
    perr(p, "unexpected . after term %s", q.s);
  }
  default:
    break;
  }
  /* Go folds .A.B and $x.A into one node (positioned, for fields, at the
   * first chained name); anything else becomes a chain node. */
  struct node *m;
  if (n->type == N_FIELD || n->type == N_VAR) {
    m = new_node(p, n->type, n->type == N_FIELD ? cpos : n->pos, n->line);
    for (size_t i = 0; i < n->nidents; i++)
      strs_add(&m->idents, &m->nidents, n->idents[i]);
  } else {
    m = new_node(p, N_CHAIN, cpos, n->line);
    m->pipe = n;
  }
  while (peek(p)->type == T_FIELD)
    strs_add(&m->idents, &m->nidents, next(p)->val + 1);
  return m;
}

static struct node *command(struct parser *p) {
  struct node *cmd = new_node(p, N_CMD, peek_non_space(p)->pos, peek_non_space(p)->line);
  for (;;) {
    peek_non_space(p);
    struct node *op = operand(p);
    if (op)
      node_add(p, cmd, op);
    struct token *t = next(p);
    if (t->type == T_SPACE)
      continue;
    if (t->type == T_RIGHT || t->type == T_RPAREN)
      backup(p);
    else if (t->type != T_PIPE)
      unexpected(p, t, "operand");
    break;
  }
  if (cmd->nkids == 0)
    perr(p, "empty command");
  return cmd;
}

static void check_pipeline(struct parser *p, struct node *pipe, const char *ctx) {
  if (pipe->nkids == 0)
    perr(p, "missing value for %s", ctx);
  for (size_t i = 1; i < pipe->nkids; i++) {
    switch (pipe->kids[i]->kids[0]->type) {
    case N_BOOL:
    case N_DOT:
    case N_NIL:
    case N_NUMBER:
    case N_STRING:
      perr(p, "non executable command in pipeline stage %zu", i + 1);
    default:
      break;
    }
  }
}

static struct node *pipeline(struct parser *p, const char *ctx, enum tok end) {
  struct token *first = peek_non_space(p);
  struct node *pipe = new_node(p, N_PIPE, first->pos, first->line);
decls:
  if (peek_non_space(p)->type == T_VAR) {
    size_t save = p->i;
    struct token *v = next(p);
    struct token *nx = peek_non_space(p);
    if (nx->type == T_ASSIGN || nx->type == T_DECLARE) {
      pipe->is_assign = nx->type == T_ASSIGN;
      next_non_space(p);
      strs_add(&pipe->decl, &pipe->ndecl, v->val);
      push_var(p, v->val);
    } else if (nx->type == T_CHAR && strcmp(nx->val, ",") == 0) {
      next_non_space(p);
      strs_add(&pipe->decl, &pipe->ndecl, v->val);
      push_var(p, v->val);
      if (strcmp(ctx, "range") == 0 && pipe->ndecl < 2) {
        enum tok k = peek_non_space(p)->type;
        if (k == T_VAR || k == T_RIGHT || k == T_RPAREN)
          goto decls;
        perr(p, "range can only initialize variables");
      }
      perr(p, "too many declarations in %s", ctx);
    } else {
      p->i = save;
    }
  }
  for (;;) {
    struct token *t = next_non_space(p);
    if (t->type == end) {
      check_pipeline(p, pipe, ctx);
      return pipe;
    }
    switch (t->type) {
    case T_BOOL:
    case T_CHARCONST:
    case T_DOT:
    case T_FIELD:
    case T_IDENT:
    case T_NUMBER:
    case T_NIL:
    case T_RAWSTRING:
    case T_STRING:
    case T_VAR:
    case T_LPAREN:
      backup(p);
      node_add(p, pipe, command(p));
      break;
    default:
      unexpected(p, t, ctx);
    }
  }
}

static struct node *text_or_action(struct parser *p);

/* Items up to {{end}} or {{else}}; *stop gets that node. */
static struct node *item_list(struct parser *p, struct node **stop) {
  struct node *list = new_node(p, N_LIST, peek_non_space(p)->pos, peek(p)->line);
  while (peek_non_space(p)->type != T_EOF) {
    struct node *n = text_or_action(p);
    if (n->type == N_END || n->type == N_ELSE) {
      *stop = n;
      return list;
    }
    node_add(p, list, n);
  }
  if (peek(p)->type == T_ERROR)
    perr(p, "%s", next(p)->val);
  perr(p, "unexpected EOF");
}

static struct node *if_control(struct parser *p);
static struct node *with_control(struct parser *p);

static struct node *control(struct parser *p, enum ntype type, const char *ctx) {
  size_t mark = p->nvars;
  if (++p->depth > 1000)
    perr(p, "max expression depth exceeded");
  struct node *n = new_node(p, type, 0, 0);
  n->pipe = pipeline(p, ctx, T_RIGHT);
  n->pos = n->pipe->pos;
  n->line = n->pipe->line;
  if (type == N_RANGE)
    p->range_depth++;
  struct node *stop = NULL;
  n->list = item_list(p, &stop);
  if (type == N_RANGE)
    p->range_depth--;
  if (stop->type == N_ELSE) {
    if (type == N_IF && peek(p)->type == T_IF) {
      next(p);
      n->else_list = new_node(p, N_LIST, stop->pos, stop->line);
      node_add(p, n->else_list, if_control(p));
    } else if (type == N_WITH && peek(p)->type == T_WITH) {
      next(p);
      n->else_list = new_node(p, N_LIST, stop->pos, stop->line);
      node_add(p, n->else_list, with_control(p));
    } else {
      n->else_list = item_list(p, &stop);
      if (stop->type != N_END)
        perr(p, "expected end; found {{else}}");
    }
  }
  p->nvars = mark;
  p->depth--;
  return n;
}

static struct node *if_control(struct parser *p) { return control(p, N_IF, "if"); }
static struct node *with_control(struct parser *p) { return control(p, N_WITH, "with"); }

static struct node *action(struct parser *p) {
  struct token *t = next_non_space(p);
  switch (t->type) {
  case T_BREAK:
  case T_CONTINUE: {
    const char *w = t->type == T_BREAK ? "break" : "continue";
    if (p->range_depth == 0)
      perr(p, "{{%s}} outside {{range}}", w);
    struct node *n = new_node(p, t->type == T_BREAK ? N_BREAK : N_CONTINUE, t->pos, t->line);
    expect(p, T_RIGHT, w);
    return n;
  }
  case T_ELSE: {
    struct token *nx = peek_non_space(p);
    if (nx->type == T_IF || nx->type == T_WITH)
      return new_node(p, N_ELSE, nx->pos, nx->line);
    struct token *r = expect(p, T_RIGHT, "else");
    return new_node(p, N_ELSE, r->pos, r->line);
  }
  case T_END: {
    struct token *r = expect(p, T_RIGHT, "end");
    return new_node(p, N_END, r->pos, r->line);
  }
  case T_IF:
    return if_control(p);
  case T_RANGE:
    return control(p, N_RANGE, "range");
  case T_WITH:
    return with_control(p);
  case T_DEFINE:
  case T_TEMPLATE:
  case T_BLOCK:
    perr(p, "{{%s}} is not supported in --format templates", t->val);
  default:
    break;
  }
  backup(p);
  struct token *f = peek(p);
  struct node *n = new_node(p, N_ACTION, f->pos, f->line);
  n->pipe = pipeline(p, "command", T_RIGHT);
  return n;
}

static struct node *text_or_action(struct parser *p) {
  struct token *t = next_non_space(p);
  switch (t->type) {
  case T_TEXT: {
    struct node *n = new_node(p, N_TEXT, t->pos, t->line);
    n->text = t->val;
    return n;
  }
  case T_LEFT:
    return action(p);
  default:
    unexpected(p, t, "input");
  }
}

static void parse_root(struct parser *p) {
  struct node *root = new_node(p, N_LIST, 0, 1);
  p->t->root = root;
  while (peek(p)->type != T_EOF) {
    if (peek(p)->type == T_ERROR)
      perr(p, "%s", next(p)->val);
    struct node *n = text_or_action(p);
    if (n->type == N_END)
      perr(p, "unexpected {{end}}");
    if (n->type == N_ELSE)
      perr(p, "unexpected {{else}}");
    node_add(p, root, n);
  }
}

void tmpl_free(struct tmpl *t) {
  if (!t)
    return;
  free(t->src);
  for (size_t i = 0; i < t->nnodes; i++) {
    free(t->nodes[i]->kids);
    free(t->nodes[i]->idents);
    free(t->nodes[i]->decl);
    free(t->nodes[i]);
  }
  free(t->nodes);
  for (size_t i = 0; i < t->nallocs; i++)
    free(t->allocs[i]);
  free(t->allocs);
  free(t);
}

int tmpl_parse(const char *text, struct tmpl **out, struct berr **err) {
  struct tmpl *t = xcalloc(1, sizeof *t);
  t->src = xstrdup(text ? text : "");
  /* on the heap: longjmp must not find the parser's state in registers */
  struct parser *p = xcalloc(1, sizeof *p);
  p->t = t;
  p->line = 1;
  p->toks = lex_all(t, t->src, &p->ntoks);
  if (setjmp(p->jb) != 0) {
    int rc = berr_set(err, EINVAL, "%s", p->errmsg);
    free(p->errmsg);
    free(p->toks);
    free(p->vars);
    free(p);
    tmpl_free(t);
    *out = NULL;
    return rc;
  }
  push_var(p, "$");
  parse_root(p);
  free(p->toks);
  free(p->vars);
  free(p);
  *out = t;
  return 0;
}

/* ------------------------------------------------------------------ */
/* node text (Go's Node.String(), used in error contexts)              */

static void node_str(struct sbuf *b, const struct node *n) {
  switch (n->type) {
  case N_FIELD:
    for (size_t i = 0; i < n->nidents; i++)
      sb_printf(b, ".%s", n->idents[i]);
    return;
  case N_VAR:
    sb_puts(b, n->idents[0]);
    for (size_t i = 1; i < n->nidents; i++)
      sb_printf(b, ".%s", n->idents[i]);
    return;
  case N_CHAIN:
    if (n->pipe->type == N_PIPE) {
      sb_putc(b, '(');
      node_str(b, n->pipe);
      sb_putc(b, ')');
    } else {
      node_str(b, n->pipe);
    }
    for (size_t i = 0; i < n->nidents; i++)
      sb_printf(b, ".%s", n->idents[i]);
    return;
  case N_DOT: sb_putc(b, '.'); return;
  case N_NIL: sb_puts(b, "nil"); return;
  case N_BOOL: sb_puts(b, n->bval ? "true" : "false"); return;
  case N_NUMBER:
  case N_IDENT: sb_puts(b, n->text); return;
  case N_STRING: sb_puts(b, n->src); return;
  case N_PIPE:
    for (size_t i = 0; i < n->ndecl; i++)
      sb_printf(b, "%s%s", i ? ", " : "", n->decl[i]);
    if (n->ndecl)
      sb_puts(b, " := ");
    for (size_t i = 0; i < n->nkids; i++) {
      if (i)
        sb_puts(b, " | ");
      node_str(b, n->kids[i]);
    }
    return;
  case N_CMD:
    for (size_t i = 0; i < n->nkids; i++) {
      if (i)
        sb_putc(b, ' ');
      if (n->kids[i]->type == N_PIPE) {
        sb_putc(b, '(');
        node_str(b, n->kids[i]);
        sb_putc(b, ')');
      } else {
        node_str(b, n->kids[i]);
      }
    }
    return;
  case N_ACTION:
    sb_puts(b, "{{");
    node_str(b, n->pipe);
    sb_puts(b, "}}");
    return;
  default:
    return;
  }
}

/* ------------------------------------------------------------------ */
/* executor                                                            */

struct var {
  const char *name;
  json_t *val; /* owned; NULL: invalid */
};

struct exec {
  const struct tmpl *t;
  struct sbuf out;
  struct var *vars;
  size_t nvars, cap;
  const struct node *at; /* node being evaluated, for error contexts */
  struct berr **err;
  const char *(*headers)(const char *field); /* header mode (tmpl_header_line) */
  bool unknown_header; /* header mode: a field without a known header was used */
  int depth;
};

enum { WALK_OK = 0, WALK_BREAK = 1, WALK_CONTINUE = 2 };

__attribute__((format(printf, 2, 3))) static int xerr(struct exec *s, const char *fmt, ...) {
  va_list ap;
  char *msg = NULL;
  va_start(ap, fmt);
  if (vasprintf(&msg, fmt, ap) < 0)
    abort();
  va_end(ap);
  if (!s->at) {
    berr_set(s->err, EINVAL, "template: : %s", msg);
  } else {
    /* Go's ErrorContext: the column is the byte offset in the line,
     * 0-based after a newline, and the offset itself on line 1 */
    const char *src = s->t->src;
    size_t pos = s->at->pos, nl = 0, line = 1;
    bool found = false;
    for (size_t i = 0; i < pos && src[i]; i++)
      if (src[i] == '\n')
        line++, nl = i, found = true;
    size_t col = found ? pos - (nl + 1) : pos;
    struct sbuf ctx = {0};
    node_str(&ctx, s->at);
    berr_set(s->err, EINVAL, "template: :%zu:%zu: executing \"\" at <%s>: %s", line, col,
             ctx.s ? ctx.s : "", msg);
    sb_free(&ctx);
  }
  free(msg);
  return -EINVAL;
}

static void var_push(struct exec *s, const char *name, json_t *val /* borrowed */) {
  if (s->nvars == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 16;
    s->vars = xrealloc(s->vars, s->cap * sizeof *s->vars);
  }
  s->vars[s->nvars++] = (struct var){name, val ? json_incref(val) : NULL};
}

static void var_pop(struct exec *s, size_t mark) {
  while (s->nvars > mark) {
    s->nvars--;
    json_decref(s->vars[s->nvars].val);
  }
}

static void var_set_slot(struct var *v, json_t *val) {
  json_t *old = v->val;
  v->val = val ? json_incref(val) : NULL;
  json_decref(old);
}

static struct var *var_find(struct exec *s, const char *name) {
  for (size_t i = s->nvars; i-- > 0;)
    if (strcmp(s->vars[i].name, name) == 0)
      return &s->vars[i];
  return NULL;
}

/* Go's isTrue: false, 0, nil, and empty string / slice / map are false. */
static bool truth(const json_t *v) {
  if (!v)
    return false;
  switch (json_typeof(v)) {
  case JSON_TRUE: return true;
  case JSON_INTEGER: return json_integer_value(v) != 0;
  case JSON_REAL: return json_real_value(v) != 0;
  case JSON_STRING: return json_string_length(v) > 0;
  case JSON_ARRAY: return json_array_size(v) > 0;
  case JSON_OBJECT: return json_object_size(v) > 0;
  default: return false;
  }
}

static char *value_text(const json_t *v) {
  struct sbuf b = {0};
  print_value(&b, v);
  return sb_steal(&b);
}

static const char *type_name(char t) {
  switch (t) {
  case 's': return "string";
  case 'i': return "int";
  case 'l': return "[]string";
  case 'v': return "reflect.Value";
  default: return "interface {}";
  }
}

static int eval_pipeline(struct exec *s, json_t *dot, const struct node *pipe, json_t **out);
static int eval_command(struct exec *s, json_t *dot, const struct node *cmd, bool has_final, json_t *final,
                        json_t **out);
static int eval_var_node(struct exec *s, json_t *dot, const struct node *n, struct node *const *args,
                         size_t nargs, bool has_final, json_t *final, json_t **out);
static int eval_chain(struct exec *s, json_t *dot, const struct node *n, struct node *const *args, size_t nargs,
                      bool has_final, json_t *final, json_t **out);
static int eval_function(struct exec *s, json_t *dot, const struct node *ident, const struct node *cmd,
                         struct node *const *args, size_t nargs, bool has_final, json_t *final, json_t **out);
static int eval_field_chain(struct exec *s, json_t *dot, json_t *recv, const struct node *node,
                            const char *const *ids, size_t nids, struct node *const *args, size_t nargs,
                            bool has_final, json_t *final, json_t **out);

/* A number literal as Go's idealConstant makes it: float64 when written
 * with a point or exponent, int otherwise. */
static json_t *number_value(const struct node *n) {
  bool hex = n->text[0] == '0' && (n->text[1] == 'x' || n->text[1] == 'X') && !strpbrk(n->text, "pP");
  bool rune = n->text[0] == '\'';
  if (n->is_float && !hex && !rune && strpbrk(n->text, ".eEpP"))
    return json_real(n->fval);
  if (n->is_int)
    return json_integer(n->ival);
  return json_real(n->fval);
}

/* Go's validateType for the parameter kinds our functions take. */
static int validate(struct exec *s, json_t *v, char type, json_t **out) {
  *out = NULL;
  if (!v) {
    if (type == 'a') {
      *out = json_null();
      return 0;
    }
    if (type == 'v')
      return 0;
    return xerr(s, "invalid value; expected %s", type_name(type));
  }
  bool ok = type == 'a' || type == 'v' || (type == 's' && json_is_string(v)) ||
            (type == 'i' && json_is_integer(v)) || (type == 'l' && json_is_array(v));
  if (!ok) {
    int rc = xerr(s, "wrong type for value; expected %s; got %s", type_name(type),
                  json_is_null(v) ? "interface {}" : go_type(v));
    json_decref(v);
    return rc;
  }
  *out = v;
  return 0;
}

/* Evaluate an argument for a parameter of kind `type` (s string, i int,
 * l []string, a interface{}, v reflect.Value). */
static int eval_arg(struct exec *s, json_t *dot, const struct node *n, char type, json_t **out) {
  json_t *v = NULL;
  int rc;
  s->at = n;
  *out = NULL;
  switch (n->type) {
  case N_DOT:
    return validate(s, dot ? json_incref(dot) : NULL, type, out);
  case N_NIL:
    if (type == 'a')
      *out = json_null();
    else if (type != 'v')
      return xerr(s, "cannot assign nil to %s", type_name(type));
    return 0;
  case N_FIELD:
    rc = eval_field_chain(s, dot, dot, n, n->idents, n->nidents, NULL, 0, false, NULL, &v);
    break;
  case N_VAR:
    rc = eval_var_node(s, dot, n, NULL, 0, false, NULL, &v);
    break;
  case N_PIPE:
    rc = eval_pipeline(s, dot, n, &v);
    break;
  case N_IDENT:
    rc = eval_function(s, dot, n, n, NULL, 0, false, NULL, &v);
    break;
  case N_CHAIN:
    rc = eval_chain(s, dot, n, NULL, 0, false, NULL, &v);
    break;
  default: {
    /* literals: typed parameters take only their own kind */
    struct sbuf b = {0};
    node_str(&b, n);
    if (type == 's' && n->type != N_STRING)
      rc = xerr(s, "expected string; found %s", b.s);
    else if (type == 'i' && !(n->type == N_NUMBER && n->is_int))
      rc = xerr(s, "expected integer; found %s", b.s);
    else if (type == 'l')
      rc = xerr(s, "can't handle %s for arg of type []string", b.s);
    else {
      rc = 0;
      *out = n->type == N_STRING  ? json_string(n->text)
             : n->type == N_BOOL  ? json_boolean(n->bval)
             : n->type == N_NUMBER ? number_value(n)
                                   : json_null();
    }
    sb_free(&b);
    return rc;
  }
  }
  if (rc < 0)
    return rc;
  return validate(s, v, type, out);
}

/* ---------- functions ---------- */

typedef int (*tfunc)(struct exec *s, json_t **argv, size_t argc, json_t **out, char **emsg);

struct func {
  const char *name;
  const char *sig; /* parameter kinds; with `variadic` the last one repeats */
  bool variadic;
  tfunc fn;
  bool header_identity; /* Docker's HeaderFunctions return the first arg */
};

static int fn_not(struct exec *s, json_t **argv, size_t argc, json_t **out, char **emsg) {
  *out = json_boolean(!truth(argv[0]));
  return 0;
}

static int fn_len(struct exec *s, json_t **argv, size_t argc, json_t **out, char **emsg) {
  json_t *v = argv[0];
  if (!v) {
    *emsg = xstrdup("reflect: call of reflect.Value.Type on zero Value");
    return -1;
  }
  if (json_is_null(v)) {
    *emsg = xstrdup("len of nil pointer");
    return -1;
  }
  if (json_is_string(v))
    *out = json_integer((json_int_t)json_string_length(v));
  else if (json_is_array(v))
    *out = json_integer((json_int_t)json_array_size(v));
  else if (json_is_object(v))
    *out = json_integer((json_int_t)json_object_size(v));
  else {
    *emsg = xasprintf("len of type %s", go_type(v));
    return -1;
  }
  return 0;
}

static int index_arg(const json_t *ix, size_t cap, json_int_t *x, char **emsg) {
  if (!ix || json_is_null(ix)) {
    *emsg = xstrdup("cannot index slice/array with nil");
    return -1;
  }
  if (!json_is_integer(ix)) {
    *emsg = xasprintf("cannot index slice/array with type %s", go_type(ix));
    return -1;
  }
  *x = json_integer_value(ix);
  if (*x < 0 || (size_t)*x > cap) {
    *emsg = xasprintf("index out of range: %" JSON_INTEGER_FORMAT, *x);
    return -1;
  }
  return 0;
}

/* Zero value of a JSON object's element type as Go would see it: our
 * objects stand for Docker's map[string]string (labels, options) when all
 * values are strings, else map[string]interface{}. */
static json_t *map_zero(const json_t *o) {
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)o, k, v) if (!json_is_string(v)) return json_null();
  return json_string("");
}

/* Go's index(item, indexes...) */
static int do_index(json_t *item, json_t *const *ix, size_t n, json_t **out, char **emsg) {
  if (!item || json_is_null(item)) {
    *emsg = xstrdup("index of untyped nil");
    return -1;
  }
  json_t *cur = json_incref(item);
  for (size_t i = 0; i < n; i++) {
    json_t *nx = NULL;
    json_int_t x;
    if (json_is_null(cur)) {
      *emsg = xstrdup("index of nil pointer");
    } else if (json_is_array(cur) || json_is_string(cur)) {
      size_t len = json_is_array(cur) ? json_array_size(cur) : json_string_length(cur);
      if (index_arg(ix[i], len, &x, emsg) == 0) {
        if ((size_t)x == len)
          *emsg = xasprintf("reflect: %s index out of range", json_is_array(cur) ? "slice" : "string");
        else if (json_is_array(cur))
          nx = json_incref(json_array_get(cur, (size_t)x));
        else
          nx = json_integer((unsigned char)json_string_value(cur)[x]);
      }
    } else if (json_is_object(cur)) {
      if (!ix[i] || json_is_null(ix[i]))
        *emsg = xstrdup("value is nil; should be of type string");
      else if (!json_is_string(ix[i]))
        *emsg = xasprintf("value has type %s; should be string", go_type(ix[i]));
      else {
        nx = json_object_get(cur, json_string_value(ix[i]));
        nx = nx ? json_incref(nx) : map_zero(cur);
      }
    } else {
      *emsg = xasprintf("can't index item of type %s", go_type(cur));
    }
    json_decref(cur);
    if (!nx)
      return -1;
    cur = nx;
  }
  *out = cur;
  return 0;
}

static int fn_index(struct exec *s, json_t **argv, size_t argc, json_t **out, char **emsg) {
  return do_index(argv[0], argv + 1, argc - 1, out, emsg);
}

static int fn_slice(struct exec *s, json_t **argv, size_t argc, json_t **out, char **emsg) {
  json_t *item = argv[0];
  size_t nix = argc - 1;
  if (!item || json_is_null(item)) {
    *emsg = xstrdup("slice of untyped nil");
    return -1;
  }
  if (nix > 3) {
    *emsg = xasprintf("too many slice indexes: %zu", nix);
    return -1;
  }
  size_t len;
  if (json_is_string(item)) {
    if (nix == 3) {
      *emsg = xstrdup("cannot 3-index slice a string");
      return -1;
    }
    len = json_string_length(item);
  } else if (json_is_array(item)) {
    len = json_array_size(item);
  } else {
    *emsg = xasprintf("can't slice item of type %s", go_type(item));
    return -1;
  }
  json_int_t idx[3] = {0, (json_int_t)len, (json_int_t)len};
  for (size_t i = 0; i < nix; i++)
    if (index_arg(argv[1 + i], len, &idx[i], emsg) < 0)
      return -1;
  if (idx[0] > idx[1]) {
    *emsg = xasprintf("invalid slice index: %" JSON_INTEGER_FORMAT " > %" JSON_INTEGER_FORMAT, idx[0], idx[1]);
    return -1;
  }
  if (nix == 3 && idx[1] > idx[2]) {
    *emsg = xasprintf("invalid slice index: %" JSON_INTEGER_FORMAT " > %" JSON_INTEGER_FORMAT, idx[1], idx[2]);
    return -1;
  }
  if (json_is_string(item)) {
    *out = json_stringn(json_string_value(item) + idx[0], (size_t)(idx[1] - idx[0]));
    if (!*out) /* a cut through a UTF-8 sequence: jansson wants valid UTF-8 */
      *out = json_string("\xEF\xBF\xBD");
    return 0;
  }
  json_t *a = json_array();
  for (json_int_t i = idx[0]; i < idx[1]; i++)
    json_array_append(a, json_array_get(item, (size_t)i));
  *out = a;
  return 0;
}

/* strings with invalid UTF-8 can't be jansson strings: keep the valid text */
static json_t *str_value(char *s /* consumed */) {
  json_t *j = json_string(s);
  if (!j) {
    for (char *p = s; *p; p++)
      if ((unsigned char)*p >= 0x80)
        *p = '?';
    j = json_string(s);
  }
  free(s);
  return j;
}

static int fn_print(struct exec *s, json_t **argv, size_t argc, json_t **out, char **emsg) {
  struct sbuf b = {0};
  for (size_t i = 0; i < argc; i++) {
    bool str = argv[i] && json_is_string(argv[i]);
    bool prev = i > 0 && argv[i - 1] && json_is_string(argv[i - 1]);
    if (i > 0 && !str && !prev)
      sb_putc(&b, ' ');
    print_value(&b, argv[i] ? argv[i] : json_null());
  }
  *out = str_value(sb_steal(&b));
  return 0;
}

static int fn_println(struct exec *s, json_t **argv, size_t argc, json_t **out, char **emsg) {
  struct sbuf b = {0};
  for (size_t i = 0; i < argc; i++) {
    if (i)
      sb_putc(&b, ' ');
    print_value(&b, argv[i] ? argv[i] : json_null());
  }
  sb_putc(&b, '\n');
  *out = str_value(sb_steal(&b));
  return 0;
}

static int fn_printf(struct exec *s, json_t **argv, size_t argc, json_t **out, char **emsg) {
  struct sbuf b = {0};
  go_sprintf(&b, json_string_value(argv[0]), argv + 1, argc - 1);
  *out = str_value(sb_steal(&b));
  return 0;
}

enum kind { K_INVALID, K_BOOL, K_INT, K_FLOAT, K_STRING, K_OTHER };

static enum kind kind_of(const json_t *v) {
  if (!v || json_is_null(v))
    return K_INVALID;
  switch (json_typeof(v)) {
  case JSON_TRUE:
  case JSON_FALSE: return K_BOOL;
  case JSON_INTEGER: return K_INT;
  case JSON_REAL: return K_FLOAT;
  case JSON_STRING: return K_STRING;
  default: return K_OTHER;
  }
}

static double num(const json_t *v) { return json_is_integer(v) ? (double)json_integer_value(v) : json_real_value(v); }
static bool is_num(enum kind k) { return k == K_INT || k == K_FLOAT; }

/* eq of two values; -1 with *emsg on a type error. Ints and floats compare
 * by value (Go would refuse; our JSON loses Go's int/float distinction). */
static int eq2(const json_t *a, const json_t *b, char **emsg) {
  enum kind ka = kind_of(a), kb = kind_of(b);
  if (ka == K_OTHER || kb == K_OTHER) {
    if (ka == K_INVALID || kb == K_INVALID)
      return 0;
    *emsg = xstrdup("invalid type for comparison");
    return -1;
  }
  if (ka != kb) {
    if (is_num(ka) && is_num(kb))
      return num(a) == num(b);
    if (ka != K_INVALID && kb != K_INVALID) {
      *emsg = xstrdup("incompatible types for comparison");
      return -1;
    }
    return 0;
  }
  switch (ka) {
  case K_INVALID: return 1;
  case K_BOOL: return json_is_true(a) == json_is_true(b);
  case K_INT: return json_integer_value(a) == json_integer_value(b);
  case K_FLOAT: return json_real_value(a) == json_real_value(b);
  case K_STRING:
    return json_string_length(a) == json_string_length(b) &&
           memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) == 0;
  default: return 0;
  }
}

static int lt2(const json_t *a, const json_t *b, char **emsg) {
  enum kind ka = kind_of(a), kb = kind_of(b);
  if (ka == K_INVALID || kb == K_INVALID || ka == K_OTHER || kb == K_OTHER || ka == K_BOOL || kb == K_BOOL) {
    *emsg = xstrdup(ka != kb && ka != K_INVALID && kb != K_INVALID && !(ka == K_BOOL || kb == K_BOOL)
                        ? "incompatible types for comparison"
                        : "invalid type for comparison");
    return -1;
  }
  if (ka != kb) {
    if (is_num(ka) && is_num(kb))
      return num(a) < num(b);
    *emsg = xstrdup("incompatible types for comparison");
    return -1;
  }
  switch (ka) {
  case K_INT: return json_integer_value(a) < json_integer_value(b);
  case K_FLOAT: return json_real_value(a) < json_real_value(b);
  default: {
    size_t la = json_string_length(a), lb = json_string_length(b);
    int c = memcmp(json_string_value(a), json_string_value(b), la < lb ? la : lb);
    return c < 0 || (c == 0 && la < lb);
  }
  }
}

static int fn_eq(struct exec *s, json_t **argv, size_t argc, json_t **out, char **emsg) {
  if (argc < 2) {
    *emsg = xstrdup("missing argument for comparison");
    return -1;
  }
  for (size_t i = 1; i < argc; i++) {
    int r = eq2(argv[0], argv[i], emsg);
    if (r < 0)
      return -1;
    if (r) {
      *out = json_true();
      return 0;
    }
  }
  *out = json_false();
  return 0;
}

static int fn_ne(struct exec *s, json_t **argv, size_t argc, json_t **out, char **emsg) {
  int r = eq2(argv[0], argv[1], emsg);
  if (r < 0)
    return -1;
  *out = json_boolean(!r);
  return 0;
}

/* lt, le, gt, ge from lt2 and eq2 as Go derives them */
static int cmp_fn(json_t **argv, json_t **out, char **emsg, char op) {
  int lt = lt2(argv[0], argv[1], emsg);
  if (lt < 0)
    return -1;
  int eq = 0;
  if (op == 'l' || op == 'g') {
    if (!lt && (eq = eq2(argv[0], argv[1], emsg)) < 0)
      return -1;
  }
  bool r = op == '<' ? lt : op == 'l' ? (lt || eq) : op == 'g' ? !(lt || eq) : !lt;
  *out = json_boolean(r);
  return 0;
}

static int fn_lt(struct exec *s, json_t **argv, size_t argc, json_t **out, char **emsg) { return cmp_fn(argv, out, emsg, '<'); }
static int fn_le(struct exec *s, json_t **argv, size_t argc, json_t **out, char **emsg) { return cmp_fn(argv, out, emsg, 'l'); }
static int fn_gt(struct exec *s, json_t **argv, size_t argc, json_t **out, char **emsg) { return cmp_fn(argv, out, emsg, 'g'); }
static int fn_ge(struct exec *s, json_t **argv, size_t argc, json_t **out, char **emsg) { return cmp_fn(argv, out, emsg, '>'); }

/* Docker's json: encoding/json without HTML escaping, no trailing newline */
static int fn_json(struct exec *s, json_t **argv, size_t argc, json_t **out, char **emsg) {
  struct sbuf b = {0};
  go_json(&b, argv[0]);
  *out = str_value(sb_steal(&b));
  return 0;
}

/* strings.Split: "" separator splits into UTF-8 characters */
static int fn_split(struct exec *s, json_t **argv, size_t argc, json_t **out, char **emsg) {
  const char *str = json_string_value(argv[0]), *sep = json_string_value(argv[1]);
  size_t n = json_string_length(argv[0]), sl = json_string_length(argv[1]);
  json_t *a = json_array();
  if (sl == 0) {
    for (size_t i = 0; i < n;) {
      size_t k = 1;
      while (i + k < n && ((unsigned char)str[i + k] & 0xC0) == 0x80)
        k++;
      json_array_append_new(a, json_stringn(str + i, k));
      i += k;
    }
  } else {
    const char *p = str, *end = str + n;
    for (;;) {
      const char *q = memmem(p, (size_t)(end - p), sep, sl);
      if (!q) {
        json_array_append_new(a, json_stringn(p, (size_t)(end - p)));
        break;
      }
      json_array_append_new(a, json_stringn(p, (size_t)(q - p)));
      p = q + sl;
    }
  }
  *out = a;
  return 0;
}

static int fn_join(struct exec *s, json_t **argv, size_t argc, json_t **out, char **emsg) {
  struct sbuf b = {0};
  for (size_t i = 0; i < json_array_size(argv[0]); i++) {
    if (i)
      sb_puts(&b, json_string_value(argv[1]));
    print_value(&b, json_array_get(argv[0], i));
  }
  *out = str_value(sb_steal(&b));
  return 0;
}

/* strings.Title for ASCII: upper-case letters that follow a separator */
static int fn_title(struct exec *s, json_t **argv, size_t argc, json_t **out, char **emsg) {
  char *t = xstrdup(json_string_value(argv[0]));
  bool prev_sep = true;
  for (char *p = t; *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (prev_sep && c < 0x80)
      *p = (char)toupper(c);
    prev_sep = c < 0x80 && !isalnum(c) && c != '_';
  }
  *out = str_value(t);
  return 0;
}

static int fn_case(json_t **argv, json_t **out, bool up) {
  char *t = xstrdup(json_string_value(argv[0]));
  for (char *p = t; *p; p++)
    if ((unsigned char)*p < 0x80)
      *p = (char)(up ? toupper((unsigned char)*p) : tolower((unsigned char)*p));
  *out = str_value(t);
  return 0;
}

static int fn_lower(struct exec *s, json_t **argv, size_t argc, json_t **out, char **emsg) { return fn_case(argv, out, false); }
static int fn_upper(struct exec *s, json_t **argv, size_t argc, json_t **out, char **emsg) { return fn_case(argv, out, true); }

/* Docker's pad: spaces around a non-empty string */
static int fn_pad(struct exec *s, json_t **argv, size_t argc, json_t **out, char **emsg) {
  json_int_t pre = json_integer_value(argv[1]), suf = json_integer_value(argv[2]);
  if (json_string_length(argv[0]) == 0) {
    *out = json_incref(argv[0]);
    return 0;
  }
  if (pre < 0 || suf < 0) {
    *emsg = xstrdup("strings: negative Repeat count");
    return -1;
  }
  struct sbuf b = {0};
  sb_rep(&b, ' ', (long)pre);
  sb_puts(&b, json_string_value(argv[0]));
  sb_rep(&b, ' ', (long)suf);
  *out = str_value(sb_steal(&b));
  return 0;
}

/* Docker's truncate: the first n bytes when the string is not shorter */
static int fn_truncate(struct exec *s, json_t **argv, size_t argc, json_t **out, char **emsg) {
  json_int_t n = json_integer_value(argv[1]);
  size_t len = json_string_length(argv[0]);
  if ((json_int_t)len < n) {
    *out = json_incref(argv[0]);
    return 0;
  }
  if (n < 0) {
    *emsg = xasprintf("runtime error: slice bounds out of range [:%" JSON_INTEGER_FORMAT "]", n);
    return -1;
  }
  *out = str_value(xasprintf("%.*s", (int)n, json_string_value(argv[0])));
  return 0;
}

static const struct func funcs[] = {
    {"and", "vv", true, NULL, false},       {"or", "vv", true, NULL, false},
    {"not", "v", false, fn_not, false},      {"len", "v", false, fn_len, false},
    {"index", "vv", true, fn_index, false},  {"slice", "vv", true, fn_slice, false},
    {"print", "a", true, fn_print, false},   {"printf", "sa", true, fn_printf, false},
    {"println", "a", true, fn_println, false}, {"eq", "vv", true, fn_eq, false},
    {"ne", "vv", false, fn_ne, false},       {"lt", "vv", false, fn_lt, false},
    {"le", "vv", false, fn_le, false},       {"gt", "vv", false, fn_gt, false},
    {"ge", "vv", false, fn_ge, false},       {"json", "a", false, fn_json, true},
    {"split", "ss", false, fn_split, true},  {"join", "ls", false, fn_join, true},
    {"title", "s", false, fn_title, true},   {"lower", "s", false, fn_lower, true},
    {"upper", "s", false, fn_upper, true},   {"pad", "sii", false, fn_pad, false},
    {"truncate", "si", false, fn_truncate, true},
};

static const struct func *func_find(const char *name) {
  for (size_t i = 0; i < sizeof funcs / sizeof funcs[0]; i++)
    if (strcmp(funcs[i].name, name) == 0)
      return &funcs[i];
  return NULL;
}

static bool func_exists(const char *name) { return func_find(name) != NULL; }

static void free_argv(json_t **argv, size_t n) {
  for (size_t i = 0; i < n; i++)
    json_decref(argv[i]);
  free(argv);
}

/* and / or: evaluate lazily, return the deciding value (Go 1.18+). */
static int eval_andor(struct exec *s, json_t *dot, bool is_or, struct node *const *args, size_t nargs,
                      bool has_final, json_t *final, json_t **out) {
  json_t *v = NULL;
  for (size_t i = 0; i < nargs; i++) {
    json_decref(v);
    int rc = eval_arg(s, dot, args[i], 'v', &v);
    if (rc < 0)
      return rc;
    if (truth(v) == is_or) {
      *out = v;
      return 0;
    }
  }
  if (has_final) {
    json_decref(v);
    v = final ? json_incref(final) : NULL;
  }
  *out = v;
  return 0;
}

static int eval_function(struct exec *s, json_t *dot, const struct node *ident, const struct node *cmd,
                         struct node *const *args, size_t nargs, bool has_final, json_t *final, json_t **out) {
  const struct func *f = func_find(ident->text);
  s->at = ident;
  *out = NULL;
  if (!f)
    return xerr(s, "\"%s\" is not a defined function", ident->text);
  size_t nsig = strlen(f->sig), num_in = nargs + (has_final ? 1 : 0);
  if (f->variadic ? num_in < nsig - 1 : num_in != nsig) {
    if (f->variadic)
      return xerr(s, "wrong number of args for %s: want at least %zu got %zu", f->name, nsig - 1, num_in);
    return xerr(s, "wrong number of args for %s: want %zu got %zu", f->name, nsig, num_in);
  }
  if (!f->fn)
    return eval_andor(s, dot, f->name[0] == 'o', args, nargs, has_final, final, out);
  json_t **argv = xcalloc(num_in + 1, sizeof *argv);
  for (size_t i = 0; i < num_in; i++) {
    char type = f->sig[i < nsig ? i : nsig - 1];
    if (s->headers && f->header_identity)
      type = 'a';
    int rc = i < nargs ? eval_arg(s, dot, args[i], type, &argv[i])
                       : validate(s, final ? json_incref(final) : NULL, type, &argv[i]);
    if (rc < 0) {
      free_argv(argv, num_in);
      return rc;
    }
  }
  if (s->headers && f->header_identity) {
    /* Docker's HeaderFunctions: the column's header passes through */
    *out = json_incref(argv[0]);
    free_argv(argv, num_in);
    return 0;
  }
  char *emsg = NULL;
  int rc = f->fn(s, argv, num_in, out, &emsg);
  free_argv(argv, num_in);
  if (rc < 0) {
    s->at = cmd;
    rc = xerr(s, "error calling %s: %s", f->name, emsg ? emsg : "failed");
    free(emsg);
    return rc;
  }
  return 0;
}

/* The header of a column in header mode. */
static json_t *header_of(struct exec *s, const char *field) {
  const char *h = s->headers(field);
  if (h)
    return json_string(h);
  s->unknown_header = true;
  char *u = xstrdup(field);
  for (char *p = u; *p; p++)
    *p = (char)toupper((unsigned char)*p);
  return str_value(u);
}

/* One field lookup on recv; with arguments it indexes the field's value
 * (our stand-in for methods such as ps's .Label "key"). */
static int eval_field(struct exec *s, json_t *dot, const char *name, struct node *const *args, size_t nargs,
                      bool has_final, json_t *final, json_t *recv, json_t **out) {
  *out = NULL;
  if (!recv)
    return 0;
  if (json_is_null(recv))
    return xerr(s, "nil pointer evaluating interface {}.%s", name);
  if (!json_is_object(recv))
    return xerr(s, "can't evaluate field %s in type %s", name, go_type(recv));
  json_t *v = json_object_get(recv, name);
  if (nargs == 0 && !has_final) {
    *out = v ? json_incref(v) : NULL;
    return 0;
  }
  if (!v || !(json_is_object(v) || json_is_array(v)))
    return xerr(s, "%s is not a method but has arguments", name);
  size_t n = nargs + (has_final ? 1 : 0);
  const struct node *at = s->at;
  json_t **ix = xcalloc(n + 1, sizeof *ix);
  for (size_t i = 0; i < nargs; i++) {
    int rc = eval_arg(s, dot, args[i], 'v', &ix[i]);
    if (rc < 0) {
      free_argv(ix, n);
      return rc;
    }
  }
  if (has_final)
    ix[nargs] = final ? json_incref(final) : NULL;
  s->at = at;
  char *emsg = NULL;
  int rc = do_index(v, ix, n, out, &emsg);
  free_argv(ix, n);
  if (rc < 0) {
    rc = xerr(s, "%s: %s", name, emsg);
    free(emsg);
  }
  return rc;
}

static int eval_field_chain(struct exec *s, json_t *dot, json_t *recv, const struct node *node,
                            const char *const *ids, size_t nids, struct node *const *args, size_t nargs,
                            bool has_final, json_t *final, json_t **out) {
  s->at = node;
  if (s->headers) {
    *out = header_of(s, ids[0]);
    return 0;
  }
  json_t *cur = recv ? json_incref(recv) : NULL;
  for (size_t i = 0; i + 1 < nids; i++) {
    json_t *nx = NULL;
    int rc = eval_field(s, dot, ids[i], NULL, 0, false, NULL, cur, &nx);
    json_decref(cur);
    if (rc < 0)
      return rc;
    cur = nx;
  }
  int rc = eval_field(s, dot, ids[nids - 1], args, nargs, has_final, final, cur, out);
  json_decref(cur);
  return rc;
}

static int not_a_function(struct exec *s, const struct node *first, size_t nargs, bool has_final) {
  if (nargs == 0 && !has_final)
    return 0;
  struct sbuf b = {0};
  node_str(&b, first);
  int rc = xerr(s, "can't give argument to non-function %s", b.s);
  sb_free(&b);
  return rc;
}

static int eval_var_node(struct exec *s, json_t *dot, const struct node *n, struct node *const *args,
                         size_t nargs, bool has_final, json_t *final, json_t **out) {
  s->at = n;
  *out = NULL;
  struct var *v = var_find(s, n->idents[0]);
  if (!v)
    return xerr(s, "undefined variable: %s", n->idents[0]);
  if (n->nidents == 1) {
    int rc = not_a_function(s, n, nargs, has_final);
    if (rc < 0)
      return rc;
    *out = v->val ? json_incref(v->val) : NULL;
    return 0;
  }
  return eval_field_chain(s, dot, v->val, n, n->idents + 1, n->nidents - 1, args, nargs, has_final, final, out);
}

static int eval_chain(struct exec *s, json_t *dot, const struct node *n, struct node *const *args, size_t nargs,
                      bool has_final, json_t *final, json_t **out) {
  s->at = n;
  *out = NULL;
  if (n->pipe->type == N_NIL) {
    struct sbuf b = {0};
    node_str(&b, n);
    int rc = xerr(s, "indirection through explicit nil in %s", b.s);
    sb_free(&b);
    return rc;
  }
  json_t *recv = NULL;
  int rc = eval_arg(s, dot, n->pipe, 'v', &recv);
  if (rc < 0)
    return rc;
  rc = eval_field_chain(s, dot, recv, n, n->idents, n->nidents, args, nargs, has_final, final, out);
  json_decref(recv);
  return rc;
}

static int eval_command(struct exec *s, json_t *dot, const struct node *cmd, bool has_final, json_t *final,
                        json_t **out) {
  const struct node *first = cmd->kids[0];
  struct node *const *args = cmd->kids + 1;
  size_t nargs = cmd->nkids - 1;
  int rc;
  *out = NULL;
  switch (first->type) {
  case N_FIELD:
    return eval_field_chain(s, dot, dot, first, first->idents, first->nidents, args, nargs, has_final, final, out);
  case N_CHAIN:
    return eval_chain(s, dot, first, args, nargs, has_final, final, out);
  case N_IDENT:
    return eval_function(s, dot, first, cmd, args, nargs, has_final, final, out);
  case N_VAR:
    return eval_var_node(s, dot, first, args, nargs, has_final, final, out);
  case N_PIPE:
    s->at = first;
    if ((rc = not_a_function(s, first, nargs, has_final)) < 0)
      return rc;
    return eval_pipeline(s, dot, first, out);
  default:
    break;
  }
  s->at = first;
  if ((rc = not_a_function(s, first, nargs, has_final)) < 0)
    return rc;
  switch (first->type) {
  case N_BOOL: *out = json_boolean(first->bval); return 0;
  case N_DOT: *out = dot ? json_incref(dot) : NULL; return 0;
  case N_NIL: return xerr(s, "nil is not a command");
  case N_NUMBER: *out = number_value(first); return 0;
  case N_STRING: *out = json_string(first->text); if (!*out) *out = json_string(""); return 0;
  default: return xerr(s, "can't evaluate command %s", "?");
  }
}

static int eval_pipeline(struct exec *s, json_t *dot, const struct node *pipe, json_t **out) {
  json_t *val = NULL;
  *out = NULL;
  if (++s->depth > 10000)
    return xerr(s, "exceeded maximum template depth (10000)");
  s->at = pipe;
  for (size_t i = 0; i < pipe->nkids; i++) {
    json_t *nv = NULL;
    int rc = eval_command(s, dot, pipe->kids[i], i > 0, val, &nv);
    json_decref(val);
    if (rc < 0) {
      s->depth--;
      return rc;
    }
    val = nv;
  }
  for (size_t i = 0; i < pipe->ndecl; i++) {
    if (pipe->is_assign) {
      struct var *v = var_find(s, pipe->decl[i]);
      if (!v) {
        json_decref(val);
        s->depth--;
        return xerr(s, "undefined variable: %s", pipe->decl[i]);
      }
      var_set_slot(v, val);
    } else {
      var_push(s, pipe->decl[i], val);
    }
  }
  s->depth--;
  *out = val;
  return 0;
}

static int walk(struct exec *s, json_t *dot, const struct node *n);

static int walk_if_with(struct exec *s, json_t *dot, const struct node *n) {
  size_t mark = s->nvars;
  json_t *val = NULL;
  s->unknown_header = false;
  int rc = eval_pipeline(s, dot, n->pipe, &val);
  if (rc == 0 && s->headers && s->unknown_header) {
    /* Docker runs the header through a map of the known headers: other
     * fields are missing there, so conditions on them are false */
    json_decref(val);
    val = NULL;
  }
  if (rc == 0) {
    if (truth(val))
      rc = walk(s, n->type == N_WITH ? val : dot, n->list);
    else if (n->else_list)
      rc = walk(s, dot, n->else_list);
  }
  json_decref(val);
  var_pop(s, mark);
  return rc;
}

/* One range iteration: set the declared variables, walk the body. */
static int range_one(struct exec *s, const struct node *n, size_t mark, json_t *index, json_t *elem) {
  const struct node *pipe = n->pipe;
  if (pipe->ndecl > 0) {
    if (pipe->is_assign) {
      struct var *v0 = var_find(s, pipe->decl[0]);
      if (v0)
        var_set_slot(v0, pipe->ndecl > 1 ? index : elem);
      if (pipe->ndecl > 1) {
        struct var *v1 = var_find(s, pipe->decl[1]);
        if (v1)
          var_set_slot(v1, elem);
      }
    } else {
      var_set_slot(&s->vars[mark - 1], elem);
      if (pipe->ndecl > 1)
        var_set_slot(&s->vars[mark - 2], index);
    }
  }
  int rc = walk(s, elem, n->list);
  var_pop(s, mark);
  return rc;
}

static int walk_range(struct exec *s, json_t *dot, const struct node *n) {
  size_t outer = s->nvars;
  json_t *val = NULL;
  s->unknown_header = false;
  int rc = eval_pipeline(s, dot, n->pipe, &val);
  if (rc < 0)
    return rc;
  if (s->headers && s->unknown_header) {
    json_decref(val);
    val = NULL;
  }
  size_t mark = s->nvars;
  bool any = false;
  if (val && json_is_array(val)) {
    for (size_t i = 0; i < json_array_size(val) && rc >= 0; i++) {
      any = true;
      json_t *ix = json_integer((json_int_t)i);
      rc = range_one(s, n, mark, ix, json_array_get(val, i));
      json_decref(ix);
      if (rc == WALK_BREAK)
        break;
    }
  } else if (val && json_is_object(val)) {
    size_t cnt;
    const char **keys = sorted_keys(val, &cnt);
    for (size_t i = 0; i < cnt && rc >= 0; i++) {
      any = true;
      json_t *k = json_string(keys[i]);
      rc = range_one(s, n, mark, k, json_object_get(val, keys[i]));
      json_decref(k);
      if (rc == WALK_BREAK)
        break;
    }
    free(keys);
  } else if (val && json_is_integer(val)) {
    /* Go 1.22: range over an int counts from 0 */
    if (n->pipe->ndecl > 1) {
      char *t = value_text(val);
      rc = xerr(s, "can't use %s to iterate over more than one variable", t);
      free(t);
    }
    for (json_int_t i = 0; rc >= 0 && i < json_integer_value(val); i++) {
      any = true;
      json_t *e = json_integer(i);
      rc = range_one(s, n, mark, e, e);
      json_decref(e);
      if (rc == WALK_BREAK)
        break;
    }
  } else if (val && !json_is_null(val)) {
    /* a nil slice or map ranges over nothing (null: Docker's typed nil slices) */
    char *t = value_text(val);
    rc = xerr(s, "range can't iterate over %s", t);
    free(t);
  }
  if (rc >= 0) {
    rc = 0;
    if (!any && n->else_list)
      rc = walk(s, dot, n->else_list);
  }
  json_decref(val);
  var_pop(s, outer);
  return rc;
}

static int walk(struct exec *s, json_t *dot, const struct node *n) {
  switch (n->type) {
  case N_LIST:
    for (size_t i = 0; i < n->nkids; i++) {
      int rc = walk(s, dot, n->kids[i]);
      if (rc != 0)
        return rc;
    }
    return 0;
  case N_TEXT:
    sb_puts(&s->out, n->text);
    return 0;
  case N_ACTION: {
    json_t *val = NULL;
    int rc = eval_pipeline(s, dot, n->pipe, &val);
    if (rc < 0)
      return rc;
    if (n->pipe->ndecl == 0)
      print_value(&s->out, val);
    json_decref(val);
    return 0;
  }
  case N_IF:
  case N_WITH:
    return walk_if_with(s, dot, n);
  case N_RANGE:
    return walk_range(s, dot, n);
  case N_BREAK:
    return WALK_BREAK;
  case N_CONTINUE:
    return WALK_CONTINUE;
  default:
    return 0;
  }
}

static int exec_run(const struct tmpl *t, const json_t *data, const char *(*headers)(const char *), char **out,
                    struct berr **err) {
  struct exec s = {.t = t, .err = err, .headers = headers};
  *out = NULL;
  var_push(&s, "$", (json_t *)data);
  int rc = walk(&s, (json_t *)data, t->root);
  var_pop(&s, 0);
  free(s.vars);
  if (rc < 0) {
    sb_free(&s.out);
    return rc;
  }
  *out = sb_steal(&s.out);
  return 0;
}

int tmpl_exec(const struct tmpl *t, const json_t *data, char **out, struct berr **err) {
  return exec_run(t, data, NULL, out, err);
}

bool tmpl_table_prefix(const char *format, const char **rest) {
  if (!format || !str_has_prefix(format, "table"))
    return false;
  const char *r = format + 5;
  while (*r == ' ')
    r++;
  if (rest)
    *rest = r;
  return true;
}

static const char *no_headers(const char *field) { return NULL; }

char *tmpl_header_line(const char *text, const char *(*headers)(const char *field)) {
  struct tmpl *t = NULL;
  char *out = NULL;
  if (tmpl_parse(text, &t, NULL) < 0)
    return xstrdup("");
  json_t *empty = json_object();
  if (exec_run(t, empty, headers ? headers : no_headers, &out, NULL) < 0)
    out = xstrdup("");
  json_decref(empty);
  tmpl_free(t);
  return out;
}

char *tmpl_docker_format(const char *format, bool *table) {
  const char *rest = format ? format : "";
  bool is_table = tmpl_table_prefix(rest, &rest);
  if (table)
    *table = is_table;
  while (*rest == ' ')
    rest++;
  size_t n = strlen(rest);
  while (n > 0 && rest[n - 1] == ' ')
    n--;
  struct sbuf b = {0};
  for (size_t i = 0; i < n; i++) {
    if (rest[i] == '\\' && i + 1 < n && (rest[i + 1] == 't' || rest[i + 1] == 'n')) {
      sb_putc(&b, rest[i + 1] == 't' ? '\t' : '\n');
      i++;
    } else {
      sb_putc(&b, rest[i]);
    }
  }
  return sb_steal(&b);
}
