/*
 * json_parse.c — the CLI's JSON reader for the daemon's replies.
 *
 * jansson's own parser reads through a character stream with a UTF-8 check
 * and a string buffer append per byte: for `ps -a` with 100 containers (a
 * 38 KB list) it was over half of the CLI's instructions. This reader scans
 * the buffer in place and builds the same jansson values (objects keep the
 * order of their keys, a repeated key keeps its last value, integers are
 * json_integer and numbers with a fraction or exponent json_real, as
 * json_loadb with JSON_DECODE_ANY gives).
 *
 * A list command (ps) may name the keys it reads of each element of a list
 * reply: the others are checked but not built, which saves most of the
 * values of a 100-container list and their freeing.
 *
 * Invariant: it never gives a different value than jansson would (but for
 * the keys left out on request). Anything
 * it does not take the fast way (a syntax error, "\u0000", an integer that
 * may not fit in 64 bits, nesting deeper than MAX_DEPTH, invalid UTF-8)
 * makes cli_json_fast return NULL, and cli_json_load then asks jansson,
 * which also produces the error (NULL) for bad input.
 */
#include <errno.h>

#include "cli/cli.h"

#define MAX_DEPTH 512 /* jansson's limit is 2048: deeper input goes to jansson */

struct jp {
  const char *p, *end;
  int depth;
  int skip;                 /* > 0: check the syntax, build nothing (json_null()) */
  const char *const *keep;  /* cli_json_fast_keys: the keys built at depth 2 */
  char *scratch; /* unescaped strings */
  size_t cap;
};

static void skip_ws(struct jp *j) {
  while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t'))
    j->p++;
}

static int hex4(const char *s, unsigned *out) {
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    char c = s[i];
    v <<= 4;
    if (c >= '0' && c <= '9')
      v |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f')
      v |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
      v |= (unsigned)(c - 'A' + 10);
    else
      return -1;
  }
  *out = v;
  return 0;
}

/* Length of the valid UTF-8 sequence at s (lead byte >= 0x80), 0 if invalid:
 * no overlong forms, no surrogates, nothing above U+10FFFF (jansson's rules). */
static size_t utf8_seq(const unsigned char *s, const unsigned char *end) {
  unsigned c = s[0], v;
  size_t n;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
    v = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    v = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    v = c & 0x07;
  } else {
    return 0;
  }
  if ((size_t)(end - s) < n)
    return 0;
  for (size_t i = 1; i < n; i++) {
    if ((s[i] & 0xC0) != 0x80)
      return 0;
    v = (v << 6) | (s[i] & 0x3F);
  }
  if ((n == 3 && v < 0x800) || (n == 4 && v < 0x10000) || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
    return 0;
  return n;
}

static void scratch_put(struct jp *j, size_t *len, const char *s, size_t n) {
  if (n == 0) /* the scratch may not exist yet: memcpy(NULL, …, 0) is UB */
    return;
  if (*len + n > j->cap) {
    size_t cap = j->cap ? j->cap : 256;
    while (cap < *len + n)
      cap *= 2;
    j->scratch = xrealloc(j->scratch, cap);
    j->cap = cap;
  }
  memcpy(j->scratch + *len, s, n);
  *len += n;
}

static void put_utf8(struct jp *j, size_t *len, unsigned cp) {
  char b[4];
  size_t n;
  if (cp < 0x80) {
    b[0] = (char)cp;
    n = 1;
  } else if (cp < 0x800) {
    b[0] = (char)(0xC0 | (cp >> 6));
    b[1] = (char)(0x80 | (cp & 0x3F));
    n = 2;
  } else if (cp < 0x10000) {
    b[0] = (char)(0xE0 | (cp >> 12));
    b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    b[2] = (char)(0x80 | (cp & 0x3F));
    n = 3;
  } else {
    b[0] = (char)(0xF0 | (cp >> 18));
    b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    b[3] = (char)(0x80 | (cp & 0x3F));
    n = 4;
  }
  scratch_put(j, len, b, n);
}

/* One escape after the backslash at j->p; appends its bytes to the scratch. */
static int unescape(struct jp *j, size_t *len) {
  if (j->end - j->p < 2)
    return -1;
  char c = j->p[1];
  static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
  const char *k = c ? strchr(from, c) : NULL;
  if (k) {
    scratch_put(j, len, &to[k - from], 1);
    j->p += 2;
    return 0;
  }
  unsigned cp, lo;
  if (c != 'u' || j->end - j->p < 6 || hex4(j->p + 2, &cp) < 0 || cp == 0)
    return -1;
  j->p += 6;
  if (cp >= 0xDC00 && cp <= 0xDFFF)
    return -1; /* a lone low surrogate */
  if (cp >= 0xD800 && cp <= 0xDBFF) {
    if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u' || hex4(j->p + 2, &lo) < 0 ||
        lo < 0xDC00 || lo > 0xDFFF)
      return -1;
    j->p += 6;
    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
  }
  put_utf8(j, len, cp);
  return 0;
}

/* A string at j->p (the opening quote). *s and *n: its text, either in the
 * input (no escapes) or in j->scratch (valid until the next string). */
static int parse_string(struct jp *j, const char **s, size_t *n) {
  const char *start = ++j->p;
  size_t len = 0;
  bool escaped = false;
  while (j->p < j->end) {
    unsigned char c = (unsigned char)*j->p;
    if (c == '"') {
      if (escaped) {
        scratch_put(j, &len, start, (size_t)(j->p - start));
        *s = j->scratch;
        *n = len;
      } else {
        *s = start;
        *n = (size_t)(j->p - start);
      }
      j->p++;
      return 0;
    }
    if (c < 0x20)
      return -1;
    if (c == '\\') {
      if (!escaped) {
        escaped = true;
        len = 0;
      }
      scratch_put(j, &len, start, (size_t)(j->p - start));
      if (unescape(j, &len) < 0)
        return -1;
      start = j->p;
      continue;
    }
    if (c >= 0x80) {
      size_t k = utf8_seq((const unsigned char *)j->p, (const unsigned char *)j->end);
      if (!k)
        return -1;
      j->p += k;
      continue;
    }
    j->p++;
  }
  return -1;
}

/* JSON's number grammar; an integer of up to 18 digits is made here, any
 * other number goes through strtod as jansson does (a bigger integer: the
 * caller falls back to jansson and its overflow error). */
static json_t *parse_number(struct jp *j) {
  const char *s = j->p;
  bool neg = false, real = false;
  if (*j->p == '-') {
    neg = true;
    j->p++;
  }
  if (j->p >= j->end || *j->p < '0' || *j->p > '9')
    return NULL;
  if (*j->p == '0') {
    j->p++;
    if (j->p < j->end && *j->p >= '0' && *j->p <= '9')
      return NULL;
  }
  long long v = 0;
  int digits = 0;
  while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
    if (digits < 18) /* past 18 digits v is unused (and would overflow) */
      v = v * 10 + (*j->p - '0');
    j->p++;
    digits++;
  }
  if (j->p < j->end && *j->p == '.') {
    real = true;
    j->p++;
    if (j->p >= j->end || *j->p < '0' || *j->p > '9')
      return NULL;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
      j->p++;
  }
  if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
    real = true;
    j->p++;
    if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
      j->p++;
    if (j->p >= j->end || *j->p < '0' || *j->p > '9')
      return NULL;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
      j->p++;
  }
  if (!real)
    return digits > 18 ? NULL : j->skip ? json_null() : json_integer(neg ? -v : v);
  char buf[64];
  size_t n = (size_t)(j->p - s);
  if (n >= sizeof(buf))
    return NULL;
  memcpy(buf, s, n);
  buf[n] = '\0';
  errno = 0;
  double d = strtod(buf, NULL);
  if (errno == ERANGE && (d > 1 || d < -1))
    return NULL; /* jansson: "real number overflow" */
  return j->skip ? json_null() : json_real(d);
}

static json_t *parse_value(struct jp *j);

static bool kept(const struct jp *j, const char *k, size_t kn) {
  for (const char *const *w = j->keep; *w; w++)
    if (strlen(*w) == kn && memcmp(*w, k, kn) == 0)
      return true;
  return false;
}

static json_t *parse_object(struct jp *j) {
  json_t *o = j->skip ? json_null() : json_object();
  bool filter = j->keep && j->depth == 2 && !j->skip;
  j->p++;
  skip_ws(j);
  if (j->p < j->end && *j->p == '}') {
    j->p++;
    return o;
  }
  for (;;) {
    const char *k;
    size_t kn;
    if (j->p >= j->end || *j->p != '"' || parse_string(j, &k, &kn) < 0)
      break;
    /* an unescaped key points into the input; one in the scratch must be
     * copied, as parse_value may reuse the scratch */
    char stackkey[128];
    char *copy = NULL;
    if (k == j->scratch) {
      copy = kn < sizeof(stackkey) ? stackkey : xmalloc(kn + 1);
      memcpy(copy, k, kn);
      k = copy;
    }
    skip_ws(j);
    json_t *v = NULL;
    bool drop = filter && !kept(j, k, kn);
    if (j->p < j->end && *j->p == ':') {
      j->p++;
      j->skip += drop;
      v = parse_value(j);
      j->skip -= drop;
    }
    if (v && !j->skip && !drop)
      json_object_setn_new_nocheck(o, k, kn, v);
    if (copy != stackkey)
      free(copy);
    if (!v)
      break;
    skip_ws(j);
    if (j->p < j->end && *j->p == ',') {
      j->p++;
      skip_ws(j);
      continue;
    }
    if (j->p < j->end && *j->p == '}') {
      j->p++;
      return o;
    }
    break;
  }
  json_decref(o);
  return NULL;
}

static json_t *parse_array(struct jp *j) {
  json_t *a = j->skip ? json_null() : json_array();
  j->p++;
  skip_ws(j);
  if (j->p < j->end && *j->p == ']') {
    j->p++;
    return a;
  }
  for (;;) {
    json_t *v = parse_value(j);
    if (!v)
      break;
    if (!j->skip)
      json_array_append_new(a, v);
    skip_ws(j);
    if (j->p < j->end && *j->p == ',') {
      j->p++;
      continue;
    }
    if (j->p < j->end && *j->p == ']') {
      j->p++;
      return a;
    }
    break;
  }
  json_decref(a);
  return NULL;
}

static bool word(struct jp *j, const char *w, size_t n) {
  if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n) != 0)
    return false;
  j->p += n;
  return true;
}

static json_t *parse_value(struct jp *j) {
  skip_ws(j);
  if (j->p >= j->end)
    return NULL;
  json_t *v = NULL;
  switch (*j->p) {
  case '{':
  case '[':
    if (++j->depth > MAX_DEPTH)
      return NULL;
    v = *j->p == '{' ? parse_object(j) : parse_array(j);
    j->depth--;
    return v;
  case '"': {
    const char *s;
    size_t n;
    if (parse_string(j, &s, &n) < 0)
      return NULL;
    return j->skip ? json_null() : json_stringn_nocheck(s, n);
  }
  case 't':
    return word(j, "true", 4) ? json_true() : NULL;
  case 'f':
    return word(j, "false", 5) ? json_false() : NULL;
  case 'n':
    return word(j, "null", 4) ? json_null() : NULL;
  default:
    return parse_number(j);
  }
}

json_t *cli_json_fast(const char *text, size_t len) { return cli_json_fast_keys(text, len, NULL); }

json_t *cli_json_fast_keys(const char *text, size_t len, const char *const *keep) {
  struct jp j = {.p = text, .end = text + len, .keep = keep};
  skip_ws(&j);
  if (j.p >= j.end || *j.p != '[')
    j.keep = NULL; /* only a list's elements are filtered */
  json_t *v = parse_value(&j);
  free(j.scratch);
  if (!v)
    return NULL;
  skip_ws(&j);
  if (j.p != j.end) {
    json_decref(v);
    return NULL;
  }
  return v;
}

json_t *cli_json_load(const char *text, size_t len, const char *const *keep) {
  json_t *v = cli_json_fast_keys(text, len, keep);
  return v ? v : json_loadb(text, len, JSON_DECODE_ANY, NULL);
}
