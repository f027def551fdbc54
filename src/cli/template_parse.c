/*
 * template_parse.c — the template engine's front end (template_internal.h):
 * a lexer that turns the text into tokens with byte positions and lines, and
 * a recursive-descent parser that builds the AST, both following Go's
 * text/template/parse. Every node and string lives in the template's arena
 * (struct tmpl), and errors leave through longjmp, so a failed parse never
 * leaks: tmpl_free releases the arena. Parse errors read as Go's:
 * "template: :LINE: msg".
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>

#include "cli/template_internal.h"

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
    tsb_free(&q);
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
    tsb_puts(&b, "...");
  return tsb_steal(&b);
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
      tsb_putc(out, (char)c);
      continue;
    }
    if (++i >= n)
      return false;
    c = (unsigned char)s[i];
    const char *esc = strchr("abfnrtv\\", c);
    if (esc && c) {
      static const char map[] = "\a\b\f\n\r\t\v\\";
      tsb_putc(out, map[esc - "abfnrtv\\"]);
    } else if (c == q) {
      tsb_putc(out, (char)c);
    } else if (c == 'x' || c == 'u' || c == 'U') {
      int len = c == 'x' ? 2 : c == 'u' ? 4 : 8;
      uint32_t v = 0;
      for (int k = 0; k < len; k++) {
        if (++i >= n || !isxdigit((unsigned char)s[i]))
          return false;
        v = v * 16 + (uint32_t)(isdigit((unsigned char)s[i]) ? s[i] - '0' : (tolower((unsigned char)s[i]) - 'a' + 10));
      }
      if (c == 'x')
        tsb_putc(out, (char)v);
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
      tsb_putc(out, (char)v);
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
    tsb_free(&b);
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
          tsb_putc(&b, t->val[i]);
      ok = true;
    } else {
      ok = unquote(t->val + 1, len - 2, '"', &b);
    }
    if (!ok) {
      tsb_free(&b);
      perr(p, "invalid syntax");
    }
    n = new_node(p, N_STRING, t->pos, t->line);
    n->text = arena_add(p->t, tsb_steal(&b));
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

void node_str(struct sbuf *b, const struct node *n) {
  switch (n->type) {
  case N_FIELD:
    for (size_t i = 0; i < n->nidents; i++)
      tsb_printf(b, ".%s", n->idents[i]);
    return;
  case N_VAR:
    tsb_puts(b, n->idents[0]);
    for (size_t i = 1; i < n->nidents; i++)
      tsb_printf(b, ".%s", n->idents[i]);
    return;
  case N_CHAIN:
    if (n->pipe->type == N_PIPE) {
      tsb_putc(b, '(');
      node_str(b, n->pipe);
      tsb_putc(b, ')');
    } else {
      node_str(b, n->pipe);
    }
    for (size_t i = 0; i < n->nidents; i++)
      tsb_printf(b, ".%s", n->idents[i]);
    return;
  case N_DOT: tsb_putc(b, '.'); return;
  case N_NIL: tsb_puts(b, "nil"); return;
  case N_BOOL: tsb_puts(b, n->bval ? "true" : "false"); return;
  case N_NUMBER:
  case N_IDENT: tsb_puts(b, n->text); return;
  case N_STRING: tsb_puts(b, n->src); return;
  case N_PIPE:
    for (size_t i = 0; i < n->ndecl; i++)
      tsb_printf(b, "%s%s", i ? ", " : "", n->decl[i]);
    if (n->ndecl)
      tsb_puts(b, " := ");
    for (size_t i = 0; i < n->nkids; i++) {
      if (i)
        tsb_puts(b, " | ");
      node_str(b, n->kids[i]);
    }
    return;
  case N_CMD:
    for (size_t i = 0; i < n->nkids; i++) {
      if (i)
        tsb_putc(b, ' ');
      if (n->kids[i]->type == N_PIPE) {
        tsb_putc(b, '(');
        node_str(b, n->kids[i]);
        tsb_putc(b, ')');
      } else {
        node_str(b, n->kids[i]);
      }
    }
    return;
  case N_ACTION:
    tsb_puts(b, "{{");
    node_str(b, n->pipe);
    tsb_puts(b, "}}");
    return;
  default:
    return;
  }
}
