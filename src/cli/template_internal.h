/*
 * template_internal.h — what the three parts of the Go-template engine
 * share, and nothing outside them may use (template.h is the public API):
 *
 *   template_fmt.c    the string buffer, UTF-8 helpers and Go's fmt verbs
 *                     (print, printf, json) over jansson values
 *   template_parse.c  lexer and recursive-descent parser: text → AST
 *   template.c        the executor over jansson values, the functions, and
 *                     Docker's table / header helpers (the public API)
 */
#ifndef BERTH_CLI_TEMPLATE_INTERNAL_H
#define BERTH_CLI_TEMPLATE_INTERNAL_H

#include <stdint.h>

#include "cli/template.h"

/* ---------- growable string (template_fmt.c) ---------- */

struct sbuf {
  char *s;
  size_t len, cap;
};

void tsb_putn(struct sbuf *b, const char *p, size_t n);
__attribute__((format(printf, 2, 3))) void tsb_printf(struct sbuf *b, const char *fmt, ...);
void tsb_puts(struct sbuf *b, const char *p);
void tsb_putc(struct sbuf *b, char c);
void tsb_rep(struct sbuf *b, char c, long n);
char *tsb_steal(struct sbuf *b);
void tsb_free(struct sbuf *b);
size_t utf8_prefix(const char *s, size_t n, size_t runes);
void put_utf8(struct sbuf *b, uint32_t r);
void go_quote(struct sbuf *b, const char *s, size_t n, char q);
const char *go_type(const json_t *v);
const char **sorted_keys(const json_t *o, size_t *n);
void print_value(struct sbuf *b, const json_t *v);
void go_sprintf(struct sbuf *b, const char *fmt, json_t *const *args, size_t nargs);
void go_json(struct sbuf *b, const json_t *v);

/* ---------- AST (template_parse.c builds it, template.c walks it) ---------- */

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

struct tmpl {
  struct node *root;
  char *src;    /* the template text (error positions are computed on it) */
  bool header;  /* set by tmpl_header_line's executions */
  void **allocs; /* arena: every string of the parse */
  size_t nallocs, cap;
  struct node **nodes; /* every node (with its vectors) */
  size_t nnodes, ncap;
};

/* Go's Node.String() of `n`, for error contexts */
void node_str(struct sbuf *b, const struct node *n);

/* ---------- functions (template.c): does the parser know `name`? ---------- */

bool func_exists(const char *name);

#endif
