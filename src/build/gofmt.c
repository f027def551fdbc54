/*
 * gofmt.c — Go's formatting where dockerd writes it into build history:
 * strconv.Quote, %v of a string slice, time.Duration's String and a quoted
 * rune (HEALTHCHECK, STOPSIGNAL, SHELL, CMD lines of "#(nop)" entries).
 */
#include <inttypes.h>
#include <stdio.h>

#include "build/build_internal.h"

/* strconv.Quote for the ASCII/UTF-8 text of Dockerfiles. */
void gofmt_quote(struct sbuf *b, const char *s) {
  sbuf_addc(b, '"');
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    switch (*p) {
    case '"': sbuf_add(b, "\\\""); break;
    case '\\': sbuf_add(b, "\\\\"); break;
    case '\a': sbuf_add(b, "\\a"); break;
    case '\b': sbuf_add(b, "\\b"); break;
    case '\f': sbuf_add(b, "\\f"); break;
    case '\n': sbuf_add(b, "\\n"); break;
    case '\r': sbuf_add(b, "\\r"); break;
    case '\t': sbuf_add(b, "\\t"); break;
    case '\v': sbuf_add(b, "\\v"); break;
    default:
      if (*p < 0x20 || *p == 0x7f) {
        char x[8];
        snprintf(x, sizeof x, "\\x%02x", *p);
        sbuf_add(b, x);
      } else {
        sbuf_addc(b, (char)*p);
      }
    }
  }
  sbuf_addc(b, '"');
}

/* fmt %q of a []string: ["a" "b"]; %v: [a b]. */
void gofmt_strv(struct sbuf *b, const json_t *arr, bool quote) {
  sbuf_addc(b, '[');
  size_t i;
  json_t *e;
  json_array_foreach(arr, i, e) {
    if (i)
      sbuf_addc(b, ' ');
    if (quote)
      gofmt_quote(b, json_string_value(e));
    else
      sbuf_add(b, json_string_value(e));
  }
  sbuf_addc(b, ']');
}

/* time.Duration.String(). */
void gofmt_duration(struct sbuf *b, int64_t ns) {
  char tmp[64];
  if (ns == 0) {
    sbuf_add(b, "0s");
    return;
  }
  if (ns < 1000000000) {
    const char *unit = ns < 1000 ? "ns" : ns < 1000000 ? "µs" : "ms";
    double div = ns < 1000 ? 1 : ns < 1000000 ? 1e3 : 1e6;
    snprintf(tmp, sizeof tmp, "%.9g%s", (double)ns / div, unit);
    sbuf_add(b, tmp);
    return;
  }
  int64_t h = ns / 3600000000000LL, rem = ns % 3600000000000LL;
  int64_t m = rem / 60000000000LL;
  rem %= 60000000000LL;
  if (h)
    snprintf(tmp, sizeof tmp, "%lldh%lldm", (long long)h, (long long)m);
  else if (m)
    snprintf(tmp, sizeof tmp, "%lldm", (long long)m);
  else
    tmp[0] = '\0';
  sbuf_add(b, tmp);
  snprintf(tmp, sizeof tmp, "%.9f", (double)rem / 1e9);
  size_t n = strlen(tmp);
  while (n > 0 && tmp[n - 1] == '0')
    tmp[--n] = '\0';
  if (n > 0 && tmp[n - 1] == '.')
    tmp[--n] = '\0';
  sbuf_add(b, tmp);
  sbuf_addc(b, 's');
}

/* fmt %q of an int: a quoted rune literal. */
void gofmt_quote_rune(struct sbuf *b, int64_t v) {
  char tmp[16];
  static const char *const esc[] = {['\a'] = "\\a", ['\b'] = "\\b", ['\f'] = "\\f", ['\n'] = "\\n",
                                    ['\r'] = "\\r", ['\t'] = "\\t", ['\v'] = "\\v"};
  if (v >= 0 && v < (int64_t)(sizeof esc / sizeof esc[0]) && esc[v])
    snprintf(tmp, sizeof tmp, "'%s'", esc[v]);
  else if (v == '\'' || v == '\\')
    snprintf(tmp, sizeof tmp, "'\\%c'", (char)v);
  else if (v >= 0x20 && v < 0x7f)
    snprintf(tmp, sizeof tmp, "'%c'", (char)v);
  else if (v >= 0 && v < 0x100)
    snprintf(tmp, sizeof tmp, "'\\x%02x'", (unsigned)v);
  else
    snprintf(tmp, sizeof tmp, "'\\u%04x'", (unsigned)v);
  sbuf_add(b, tmp);
}
