/*
 * expand.c — Docker's shell-word processing for Dockerfile instructions
 * (build.h): quote removal ('…' literal, "…" with $ expansion and escapes of
 * " $ and the escape char), the escape char outside quotes, $var, ${var} and
 * the modifiers :- - :+ + :? ? # ## % %% / //.
 *
 * This is not a shell: no command substitution, no arithmetic, no field
 * splitting of expanded values (BuildKit's ProcessWord / ProcessWords).
 * A variable that is not set expands to "" (BuildKit only warns).
 *
 * bvars: a small ordered map; set replaces an existing key in place so the
 * order of first definition stays (image Env order).
 */
#include <ctype.h>
#include <errno.h>

#include "build/build_internal.h"

/* ---------- bvars ---------- */

void bvars_set(struct bvars *v, const char *key, const char *value) {
  for (size_t i = 0; i < v->n; i++)
    if (strcmp(v->keys[i], key) == 0) {
      free(v->values[i]);
      v->values[i] = xstrdup(value);
      return;
    }
  if (v->n == v->cap) {
    v->cap = v->cap ? v->cap * 2 : 8;
    v->keys = xrealloc(v->keys, v->cap * sizeof(char *));
    v->values = xrealloc(v->values, v->cap * sizeof(char *));
  }
  v->keys[v->n] = xstrdup(key);
  v->values[v->n] = xstrdup(value);
  v->n++;
}

const char *bvars_get(const struct bvars *v, const char *key) {
  if (!v)
    return NULL;
  for (size_t i = 0; i < v->n; i++)
    if (strcmp(v->keys[i], key) == 0)
      return v->values[i];
  return NULL;
}

void bvars_free(struct bvars *v) {
  for (size_t i = 0; i < v->n; i++) {
    free(v->keys[i]);
    free(v->values[i]);
  }
  free(v->keys);
  free(v->values);
  memset(v, 0, sizeof *v);
}

void bvars_copy(struct bvars *dst, const struct bvars *src) {
  for (size_t i = 0; src && i < src->n; i++)
    bvars_set(dst, src->keys[i], src->values[i]);
}

/* ---------- glob for ${var#pattern} ---------- */

bool build_glob_match(const char *p, size_t plen, const char *s, size_t slen) {
  size_t pi = 0, si = 0;
  size_t star_p = (size_t)-1, star_s = 0;
  while (si < slen) {
    if (pi < plen && p[pi] == '*') {
      star_p = pi++;
      star_s = si;
      continue;
    }
    if (pi < plen) {
      char pc = p[pi];
      size_t adv = 1;
      if (pc == '\\' && pi + 1 < plen) {
        pc = p[pi + 1];
        adv = 2;
      } else if (pc == '?') {
        pi++;
        si++;
        continue;
      }
      if (pc == s[si]) {
        pi += adv;
        si++;
        continue;
      }
    }
    if (star_p == (size_t)-1)
      return false;
    pi = star_p + 1;
    si = ++star_s;
  }
  while (pi < plen && p[pi] == '*')
    pi++;
  return pi == plen;
}

/* ---------- the lexer ---------- */

struct lex {
  const char *s;   /* input */
  size_t pos;
  char escape;
  const struct bvars *vars;
  struct berr **err;
};

static int peek(const struct lex *lx) { return lx->s[lx->pos] ? (unsigned char)lx->s[lx->pos] : -1; }
static int next(struct lex *lx) {
  int c = peek(lx);
  if (c >= 0)
    lx->pos++;
  return c;
}

static int process_until(struct lex *lx, int stop, struct sbuf *out, bool *quoted_any);

static bool name_char(int c) { return c >= 0 && (isalnum(c) || c == '_'); }

static char *read_name(struct lex *lx) {
  struct sbuf n = {0};
  if (isdigit(peek(lx))) { /* positional: one digit */
    sbuf_addc(&n, (char)next(lx));
    return sbuf_steal(&n);
  }
  while (name_char(peek(lx)))
    sbuf_addc(&n, (char)next(lx));
  return sbuf_steal(&n);
}

/* Remove the shortest/longest prefix/suffix matching `pat` from `val`. */
static char *trim_pattern(const char *val, const char *pat, bool suffix, bool longest) {
  size_t n = strlen(val), pl = strlen(pat);
  if (!suffix) {
    for (size_t k = 0; k <= n; k++) {
      size_t len = longest ? n - k : k;
      if (build_glob_match(pat, pl, val, len))
        return xstrdup(val + len);
    }
  } else {
    for (size_t k = 0; k <= n; k++) {
      size_t start = longest ? k : n - k;
      if (build_glob_match(pat, pl, val + start, n - start))
        return strndup(val, start);
    }
  }
  return xstrdup(val);
}

static char *replace_pattern(const char *val, const char *pat, const char *rep, bool all) {
  struct sbuf o = {0};
  size_t n = strlen(val), pl = strlen(pat);
  size_t i = 0;
  bool done = false;
  while (i < n) {
    size_t best = 0;
    bool found = false;
    if (!done)
      for (size_t len = n - i; len > 0; len--)
        if (build_glob_match(pat, pl, val + i, len)) {
          best = len;
          found = true;
          break;
        }
    if (found) {
      sbuf_add(&o, rep);
      i += best;
      if (!all)
        done = true;
    } else {
      sbuf_addc(&o, val[i++]);
    }
  }
  return sbuf_steal(&o);
}

/* Note a plain $X / ${X} of an unset variable (BuildKit's UndefinedVar). */
static void note_missing(const struct lex *lx, const char *name) {
  if (!lx->vars || !lx->vars->missing)
    return;
  char **m = *lx->vars->missing;
  for (size_t i = 0; m && m[i]; i++)
    if (!strcmp(m[i], name))
      return;
  if (!m)
    m = xcalloc(1, sizeof(char *));
  *lx->vars->missing = strv_append(m, xstrdup(name));
}

static int process_braced(struct lex *lx, struct sbuf *out) {
  _cleanup_free_ char *name = read_name(lx);
  int c = next(lx);
  if (!*name)
    return berr_set(lx->err, EINVAL, "failed to process \"%s\": bad substitution", lx->s);
  const char *val = bvars_get(lx->vars, name);
  if (c == '}') {
    if (val)
      sbuf_add(out, val);
    else
      note_missing(lx, name);
    return 0;
  }
  if (c < 0)
    return berr_set(lx->err, EINVAL, "failed to process \"%s\": missing '}'", lx->s);
  bool colon = false;
  if (c == ':') {
    colon = true;
    c = next(lx);
  }
  int op = c, op2 = 0;
  if ((op == '#' || op == '%' || op == '/') && !colon && peek(lx) == op) {
    op2 = op;
    next(lx);
  }
  if (!colon && (op == '#' || op == '%' || op == '/')) {
    struct sbuf pat = {0}, rep = {0};
    int r = process_until(lx, op == '/' ? '/' : '}', &pat, NULL);
    if (r == 0 && op == '/' && lx->s[lx->pos - 1] == '/')
      r = process_until(lx, '}', &rep, NULL);
    if (r < 0) {
      sbuf_free(&pat);
      sbuf_free(&rep);
      return r;
    }
    _cleanup_free_ char *res = NULL;
    const char *v = val ? val : "";
    const char *ps = pat.s ? pat.s : "";
    if (op == '/')
      res = replace_pattern(v, ps, rep.s ? rep.s : "", op2 != 0);
    else
      res = trim_pattern(v, ps, op == '%', op2 != 0);
    sbuf_add(out, res);
    sbuf_free(&pat);
    sbuf_free(&rep);
    return 0;
  }
  if (op != '-' && op != '+' && op != '?')
    return berr_set(lx->err, EINVAL, "failed to process \"%s\": unsupported modifier (%c) in substitution", lx->s,
                    op < 0 ? '?' : op);
  struct sbuf word = {0};
  int r = process_until(lx, '}', &word, NULL);
  if (r < 0) {
    sbuf_free(&word);
    return r;
  }
  bool set = val && (!colon || *val);
  const char *w = word.s ? word.s : "";
  if (op == '-')
    sbuf_add(out, set ? val : w);
  else if (op == '+')
    sbuf_add(out, set ? w : "");
  else if (!set) {
    r = berr_set(lx->err, EINVAL, "failed to process \"%s\": %s: %s", lx->s, name, *w ? w : "is not allowed to be unset");
  } else {
    sbuf_add(out, val);
  }
  sbuf_free(&word);
  return r;
}

static int process_dollar(struct lex *lx, struct sbuf *out) {
  int c = peek(lx);
  if (c == '{') {
    next(lx);
    return process_braced(lx, out);
  }
  if (!name_char(c)) {
    sbuf_addc(out, '$');
    return 0;
  }
  _cleanup_free_ char *name = read_name(lx);
  const char *v = bvars_get(lx->vars, name);
  if (v)
    sbuf_add(out, v);
  else
    note_missing(lx, name);
  return 0;
}

static int process_double(struct lex *lx, struct sbuf *out) {
  for (;;) {
    int c = next(lx);
    if (c < 0)
      return berr_set(lx->err, EINVAL, "failed to process \"%s\": unexpected end of statement while looking for matching double-quote",
                      lx->s);
    if (c == '"')
      return 0;
    if (c == '$') {
      int r = process_dollar(lx, out);
      if (r < 0)
        return r;
      continue;
    }
    if (c == lx->escape) {
      int n = peek(lx);
      if (n < 0)
        continue;
      if (n == '"' || n == '$' || n == lx->escape) {
        sbuf_addc(out, (char)next(lx));
        continue;
      }
    }
    sbuf_addc(out, (char)c);
  }
}

/* Process until `stop` (consumed) or the end (stop -1). */
static int process_until(struct lex *lx, int stop, struct sbuf *out, bool *quoted_any) {
  for (;;) {
    int c = next(lx);
    if (c < 0) {
      if (stop >= 0)
        return berr_set(lx->err, EINVAL, "failed to process \"%s\": missing '%c'", lx->s, stop);
      return 0;
    }
    if (c == stop)
      return 0;
    if (c == '\'') {
      if (quoted_any)
        *quoted_any = true;
      for (;;) {
        c = next(lx);
        if (c < 0)
          return berr_set(lx->err, EINVAL,
                          "failed to process \"%s\": unexpected end of statement while looking for matching single-quote",
                          lx->s);
        if (c == '\'')
          break;
        sbuf_addc(out, (char)c);
      }
      continue;
    }
    if (c == '"') {
      if (quoted_any)
        *quoted_any = true;
      int r = process_double(lx, out);
      if (r < 0)
        return r;
      continue;
    }
    if (c == '$') {
      int r = process_dollar(lx, out);
      if (r < 0)
        return r;
      continue;
    }
    if (c == lx->escape) {
      c = next(lx);
      if (c < 0)
        return 0;
    }
    sbuf_addc(out, (char)c);
  }
}

int build_expand_word(const char *word, char escape, const struct bvars *vars, char **out, struct berr **err) {
  struct lex lx = {.s = word, .escape = escape, .vars = vars, .err = err};
  struct sbuf o = {0};
  int r = process_until(&lx, -1, &o, NULL);
  if (r < 0) {
    sbuf_free(&o);
    return r;
  }
  *out = sbuf_steal(&o);
  return 0;
}

int build_expand_words(const char *text, char escape, const struct bvars *vars, char ***out, struct berr **err) {
  /* Split first (quotes and escapes kept), then process each word: an
   * expanded value with spaces stays one word, as in BuildKit. */
  _cleanup_strv_ char **raw = build_parse_words(text, escape);
  char **v = xcalloc(1, sizeof(char *));
  for (size_t i = 0; raw[i]; i++) {
    char *w = NULL;
    int r = build_expand_word(raw[i], escape, vars, &w, err);
    if (r < 0) {
      strv_free(v);
      return r;
    }
    v = strv_append(v, w);
  }
  *out = v;
  return 0;
}

int build_expand_heredoc(const char *body, const struct bvars *vars, char **out, struct berr **err) {
  struct lex lx = {.s = body, .escape = '\\', .vars = vars, .err = err};
  struct sbuf o = {0};
  while (peek(&lx) >= 0) {
    int c = next(&lx);
    if (c == '\\' && (peek(&lx) == '$' || peek(&lx) == '\\')) {
      sbuf_addc(&o, (char)next(&lx));
      continue;
    }
    if (c == '$') {
      int r = process_dollar(&lx, &o);
      if (r < 0) {
        sbuf_free(&o);
        return r;
      }
      continue;
    }
    sbuf_addc(&o, (char)c);
  }
  *out = sbuf_steal(&o);
  return 0;
}
