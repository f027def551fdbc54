/*
 * template.c — the Go text/template subset behind `--format` (see template.h):
 * the executor and the functions; template_parse.c builds the AST it walks,
 * template_fmt.c formats the values.
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

#include "cli/template_internal.h"

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
    tsb_free(&ctx);
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
  return tsb_steal(&b);
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
    tsb_free(&b);
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
      tsb_putc(&b, ' ');
    print_value(&b, argv[i] ? argv[i] : json_null());
  }
  *out = str_value(tsb_steal(&b));
  return 0;
}

static int fn_println(struct exec *s, json_t **argv, size_t argc, json_t **out, char **emsg) {
  struct sbuf b = {0};
  for (size_t i = 0; i < argc; i++) {
    if (i)
      tsb_putc(&b, ' ');
    print_value(&b, argv[i] ? argv[i] : json_null());
  }
  tsb_putc(&b, '\n');
  *out = str_value(tsb_steal(&b));
  return 0;
}

static int fn_printf(struct exec *s, json_t **argv, size_t argc, json_t **out, char **emsg) {
  struct sbuf b = {0};
  go_sprintf(&b, json_string_value(argv[0]), argv + 1, argc - 1);
  *out = str_value(tsb_steal(&b));
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
  *out = str_value(tsb_steal(&b));
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
      tsb_puts(&b, json_string_value(argv[1]));
    print_value(&b, json_array_get(argv[0], i));
  }
  *out = str_value(tsb_steal(&b));
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
  tsb_rep(&b, ' ', (long)pre);
  tsb_puts(&b, json_string_value(argv[0]));
  tsb_rep(&b, ' ', (long)suf);
  *out = str_value(tsb_steal(&b));
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

bool func_exists(const char *name) { return func_find(name) != NULL; }

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
  tsb_free(&b);
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
    tsb_free(&b);
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
    tsb_puts(&s->out, n->text);
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
    tsb_free(&s.out);
    return rc;
  }
  *out = tsb_steal(&s.out);
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
      tsb_putc(&b, rest[i + 1] == 't' ? '\t' : '\n');
      i++;
    } else {
      tsb_putc(&b, rest[i]);
    }
  }
  return tsb_steal(&b);
}
