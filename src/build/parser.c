/*
 * parser.c — Dockerfile text → struct dockerfile (build.h).
 *
 * Owns the line-level grammar: parser directives (only before the first
 * non-directive line), comments (removed everywhere, even inside a
 * continuation), line continuations with the escape char, empty continuation
 * lines (skipped), heredoc bodies after RUN/COPY/ADD, builder flags
 * (--name[=value], quotes and escapes resolved), and each instruction's
 * argument form: exec (JSON array of strings) or shell, key=value lists,
 * whitespace lists, HEALTHCHECK, ONBUILD's nested instruction.
 *
 * Invariants: every binstr has line <= end_line (1-based, as written, heredoc
 * bodies included); stages[i].instrs[0] is that stage's FROM; ARGs before the
 * first FROM are the meta args. Errors use dockerd 20.10's text (build.h).
 */
#include <ctype.h>
#include <errno.h>
#include <strings.h>

#include "build/build_internal.h"

const char *build_default_dockerfile(void) { return "Dockerfile"; }

/* ---------- instruction table ---------- */

enum flag_type { F_BOOL, F_STRING, F_STRINGS };
struct flag_def {
  const char *name;
  enum flag_type type;
};
struct instr_def {
  const char *name;
  enum binstr_kind kind;
  const struct flag_def *flags; /* NULL-name terminated, NULL: none */
};

static const struct flag_def from_flags[] = {{"platform", F_STRING}, {NULL, 0}};
static const struct flag_def run_flags[] = {
    {"mount", F_STRINGS}, {"network", F_STRING}, {"security", F_STRING}, {"device", F_STRINGS}, {NULL, 0}};
static const struct flag_def copy_flags[] = {{"from", F_STRING},   {"chown", F_STRING},
                                             {"chmod", F_STRING},  {"link", F_BOOL},
                                             {"parents", F_BOOL},  {"exclude", F_STRINGS},
                                             {NULL, 0}};
static const struct flag_def add_flags[] = {{"chown", F_STRING},     {"chmod", F_STRING},
                                            {"link", F_BOOL},        {"checksum", F_STRING},
                                            {"keep-git-dir", F_BOOL}, {"exclude", F_STRINGS},
                                            {"unpack", F_BOOL},      {NULL, 0}};
static const struct flag_def health_flags[] = {{"interval", F_STRING},       {"timeout", F_STRING},
                                               {"start-period", F_STRING},   {"start-interval", F_STRING},
                                               {"retries", F_STRING},        {NULL, 0}};

static const struct instr_def instr_defs[] = {
    {"FROM", BI_FROM, from_flags},        {"RUN", BI_RUN, run_flags},
    {"CMD", BI_CMD, NULL},                {"LABEL", BI_LABEL, NULL},
    {"MAINTAINER", BI_MAINTAINER, NULL},  {"EXPOSE", BI_EXPOSE, NULL},
    {"ENV", BI_ENV, NULL},                {"ADD", BI_ADD, add_flags},
    {"COPY", BI_COPY, copy_flags},        {"ENTRYPOINT", BI_ENTRYPOINT, NULL},
    {"VOLUME", BI_VOLUME, NULL},          {"USER", BI_USER, NULL},
    {"WORKDIR", BI_WORKDIR, NULL},        {"ARG", BI_ARG, NULL},
    {"ONBUILD", BI_ONBUILD, NULL},        {"STOPSIGNAL", BI_STOPSIGNAL, NULL},
    {"HEALTHCHECK", BI_HEALTHCHECK, health_flags}, {"SHELL", BI_SHELL, NULL},
};

static const struct instr_def *instr_lookup(const char *word) {
  for (size_t i = 0; i < sizeof instr_defs / sizeof instr_defs[0]; i++)
    if (strcasecmp(instr_defs[i].name, word) == 0)
      return &instr_defs[i];
  return NULL;
}

/* ---------- freeing ---------- */

static void binstr_clear(struct binstr *in) {
  if (!in)
    return;
  free(in->keyword);
  free(in->original);
  free(in->rest);
  for (size_t i = 0; i < in->nflags; i++) {
    free(in->flags[i].name);
    free(in->flags[i].value);
  }
  free(in->flags);
  strv_free(in->args);
  for (size_t i = 0; i < in->nheredocs; i++) {
    free(in->heredocs[i].name);
    free(in->heredocs[i].content);
  }
  free(in->heredocs);
  if (in->sub) {
    binstr_clear(in->sub);
    free(in->sub);
  }
  memset(in, 0, sizeof *in);
}

void dockerfile_free(struct dockerfile *df) {
  if (!df)
    return;
  free(df->syntax);
  free(df->check);
  for (size_t i = 0; i < df->nmeta_args; i++)
    binstr_clear(&df->meta_args[i]);
  free(df->meta_args);
  for (size_t s = 0; s < df->nstages; s++) {
    struct bstage *st = &df->stages[s];
    free(st->name);
    free(st->base);
    free(st->platform);
    for (size_t i = 0; i < st->ninstrs; i++)
      binstr_clear(&st->instrs[i]);
    free(st->instrs);
  }
  free(df->stages);
  free(df);
}

const char *binstr_flag(const struct binstr *in, const char *name, bool *present) {
  const char *v = NULL;
  bool seen = false;
  for (size_t i = 0; i < in->nflags; i++)
    if (strcmp(in->flags[i].name, name) == 0) {
      seen = true;
      v = in->flags[i].value;
    }
  if (present)
    *present = seen;
  return v;
}

/* ---------- small lexing helpers ---------- */

static const char *skip_blank(const char *s) {
  while (*s && is_blank(*s))
    s++;
  return s;
}

static char *trim_dup(const char *s) {
  s = skip_blank(s);
  size_t n = strlen(s);
  while (n > 0 && is_blank(s[n - 1]))
    n--;
  return strndup(s, n);
}

static bool is_comment(const char *line) { return *skip_blank(line) == '#'; }

/* A continuation: the line ends with the escape char and optional blanks.
 * Strips them in place; true when found. */
static bool trim_continuation(char *line, char escape) {
  size_t n = strlen(line);
  while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
    n--;
  if (n > 0 && line[n - 1] == escape) {
    line[n - 1] = '\0';
    return true;
  }
  return false;
}

char **build_parse_words(const char *rest, char escape) {
  char **words = xcalloc(1, sizeof(char *));
  struct sbuf w = {0};
  bool inword = false, blank_ok = false;
  char quote = 0;
  for (const char *p = rest;; p++) {
    char ch = *p;
    if (!inword && !quote) {
      if (!ch)
        break;
      if (is_blank(ch) || ch == '\n')
        continue;
      inword = true;
    }
    if (!ch) {
      if (blank_ok || w.len)
        words = strv_append(words, sbuf_steal(&w));
      break;
    }
    if (!quote) {
      if (is_blank(ch) || ch == '\n') {
        if (blank_ok || w.len)
          words = strv_append(words, sbuf_steal(&w));
        sbuf_free(&w);
        inword = false;
        blank_ok = false;
        continue;
      }
      if (ch == '\'' || ch == '"') {
        quote = ch;
        blank_ok = true;
      } else if (ch == escape) {
        if (!p[1])
          continue;
        sbuf_addc(&w, ch);
        ch = *++p;
      }
      sbuf_addc(&w, ch);
      continue;
    }
    /* inside quotes */
    if (ch == quote)
      quote = 0;
    else if (ch == escape && quote != '\'') {
      if (!p[1]) {
        quote = 0;
        continue;
      }
      sbuf_addc(&w, ch);
      ch = *++p;
    }
    sbuf_addc(&w, ch);
  }
  sbuf_free(&w);
  return words;
}

/* BuildKit's parseStringsWhitespaceDelimited: no quote handling. */
static char **split_whitespace(const char *rest) {
  char **v = xcalloc(1, sizeof(char *));
  const char *p = skip_blank(rest);
  while (*p) {
    const char *e = p;
    while (*e && !is_blank(*e))
      e++;
    v = strv_append(v, strndup(p, (size_t)(e - p)));
    p = skip_blank(e);
  }
  return v;
}

/* Builder flags at the start of `line` (extractBuilderFlags): returns the
 * rest of the line; *words gets "--name=value" words, quotes removed. */
static const char *extract_flag_words(const char *line, char ***words) {
  *words = xcalloc(1, sizeof(char *));
  const char *p = line;
  for (;;) {
    p = skip_blank(p);
    if (p[0] != '-' || p[1] != '-')
      return p;
    struct sbuf w = {0};
    char quote = 0;
    bool blank_ok = false;
    const char *q = p;
    for (; *q; q++) {
      char ch = *q;
      if (!quote && is_blank(ch))
        break;
      if (!quote && (ch == '\'' || ch == '"')) {
        quote = ch;
        blank_ok = true;
        continue;
      }
      if (quote && ch == quote) {
        quote = 0;
        continue;
      }
      if (ch == '\\') {
        if (!q[1])
          continue;
        ch = *++q;
      }
      sbuf_addc(&w, ch);
    }
    if (w.len == 2 && strcmp(w.s, "--") == 0) {
      sbuf_free(&w);
      return skip_blank(q);
    }
    if (blank_ok || w.len)
      *words = strv_append(*words, sbuf_steal(&w));
    sbuf_free(&w);
    p = q;
  }
}

static int parse_flags(struct binstr *in, const struct instr_def *def, char **words, struct berr **err) {
  for (size_t i = 0; words[i]; i++) {
    const char *w = words[i];
    if (!str_has_prefix(w, "--"))
      return berr_set(err, EINVAL, BUILD_PARSE_ERR_FMT "Arg \"%s\" must start with '--'", in->line, w);
    w += 2;
    const char *eq = strchr(w, '=');
    _cleanup_free_ char *name = eq ? strndup(w, (size_t)(eq - w)) : xstrdup(w);
    const struct flag_def *fd = NULL;
    for (const struct flag_def *f = def->flags; f && f->name; f++)
      if (strcasecmp(f->name, name) == 0)
        fd = f;
    if (!fd)
      return berr_set(err, EINVAL, BUILD_PARSE_ERR_FMT "Unknown flag: %s", in->line, name);
    bool seen = false;
    binstr_flag(in, fd->name, &seen);
    if (seen && fd->type != F_STRINGS)
      return berr_set(err, EINVAL, BUILD_PARSE_ERR_FMT "Duplicate flag specified: %s", in->line, fd->name);
    char *value = NULL;
    if (fd->type == F_BOOL) {
      if (eq && strcasecmp(eq + 1, "true") != 0 && strcasecmp(eq + 1, "false") != 0)
        return berr_set(err, EINVAL, BUILD_PARSE_ERR_FMT "expecting boolean value for flag %s, not: %s",
                        in->line, fd->name, eq + 1);
      value = eq ? xstrdup(eq + 1) : NULL;
    } else {
      if (!eq)
        return berr_set(err, EINVAL, BUILD_PARSE_ERR_FMT "Missing a value on flag: %s", in->line, fd->name);
      value = xstrdup(eq + 1);
    }
    in->flags = xrealloc(in->flags, (in->nflags + 1) * sizeof *in->flags);
    in->flags[in->nflags].name = xstrdup(fd->name);
    in->flags[in->nflags].value = value;
    in->nflags++;
  }
  return 0;
}

/* A JSON array of strings → *out (true); not JSON → false; JSON of other
 * values → error (BuildKit's errDockerfileNotStringArray). */
static int parse_json_array(const char *rest, int line, char ***out, struct berr **err) {
  *out = NULL;
  if (rest[0] != '[')
    return 0;
  json_error_t je;
  _cleanup_json_ json_t *j = json_loads(rest, 0, &je);
  if (!j || !json_is_array(j))
    return 0;
  char **v = xcalloc(1, sizeof(char *));
  size_t i;
  json_t *e;
  json_array_foreach(j, i, e) {
    if (!json_is_string(e)) {
      strv_free(v);
      /* dockerd 20.10 reports this one from its line parser, without a line */
      (void)line;
      return berr_set(err, EINVAL, BUILD_LINE_ERR "when using JSON array syntax, arrays must be comprised of strings only");
    }
    v = strv_append(v, xstrdup(json_string_value(e)));
  }
  *out = v;
  return 1;
}

static char **strv_one(const char *s) {
  char **v = xcalloc(1, sizeof(char *));
  return strv_append(v, xstrdup(s));
}

/* ENV / LABEL: key=value words, or the legacy "KEY value with spaces". */
static int parse_name_val(struct binstr *in, struct berr **err) {
  _cleanup_strv_ char **words = build_parse_words(in->rest, '\\');
  in->args = xcalloc(1, sizeof(char *));
  if (!words[0])
    return berr_set(err, EINVAL, BUILD_PARSE_ERR_FMT "%s requires at least one argument", in->line, in->keyword);
  if (!strchr(words[0], '=')) {
    const char *p = in->rest;
    while (*p && !is_blank(*p))
      p++;
    const char *v = skip_blank(p);
    if (!*v)
      return berr_set(err, EINVAL, BUILD_LINE_ERR "%s must have two arguments", in->keyword);
    in->args = strv_append(in->args, strndup(in->rest, (size_t)(p - in->rest)));
    in->args = strv_append(in->args, xstrdup(v));
    return 0;
  }
  for (size_t i = 0; words[i]; i++) {
    char *eq = strchr(words[i], '=');
    if (!eq)
      return berr_set(err, EINVAL, BUILD_LINE_ERR "Syntax error - can't find = in \"%s\". Must be of the form: name=value",
                      words[i]);
    if (eq == words[i])
      return berr_set(err, EINVAL, BUILD_PARSE_ERR_FMT "%s names can not be blank", in->line, in->keyword);
    in->args = strv_append(in->args, strndup(words[i], (size_t)(eq - words[i])));
    in->args = strv_append(in->args, xstrdup(eq + 1));
  }
  return 0;
}

static int parse_maybe_json(struct binstr *in, struct berr **err) {
  int r = parse_json_array(in->rest, in->line, &in->args, err);
  if (r < 0)
    return r;
  if (r == 1) {
    in->json = true;
    return 0;
  }
  in->args = strv_one(in->rest);
  return 0;
}

static int parse_maybe_json_list(struct binstr *in, struct berr **err) {
  int r = parse_json_array(in->rest, in->line, &in->args, err);
  if (r < 0)
    return r;
  if (r == 1) {
    in->json = true;
    return 0;
  }
  in->args = split_whitespace(in->rest);
  return 0;
}

static bool stage_name_valid(const char *s) {
  if (!isalpha((unsigned char)s[0]))
    return false;
  for (const char *p = s; *p; p++)
    if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
      return false;
  return true;
}

/* Go's time.ParseDuration subset: "30s", "1m30s", "500ms", "1h". */
static int parse_duration_ns(const char *s, int64_t *out) {
  int64_t total = 0;
  if (strcmp(s, "0") == 0) {
    *out = 0;
    return 0;
  }
  if (!*s)
    return -EINVAL;
  while (*s) {
    char *end;
    double v = strtod(s, &end);
    if (end == s || v < 0)
      return -EINVAL;
    s = end;
    double mul;
    if (str_has_prefix(s, "ns")) mul = 1, s += 2;
    else if (str_has_prefix(s, "us")) mul = 1e3, s += 2;
    else if (str_has_prefix(s, "ms")) mul = 1e6, s += 2;
    else if (*s == 's') mul = 1e9, s++;
    else if (*s == 'm') mul = 60e9, s++;
    else if (*s == 'h') mul = 3600e9, s++;
    else return -EINVAL;
    total += (int64_t)(v * mul);
  }
  *out = total;
  return 0;
}

static int check_health_flags(struct binstr *in, struct berr **err) {
  static const char *durs[] = {"interval", "timeout", "start-period", "start-interval"};
  for (size_t i = 0; i < 4; i++) {
    const char *v = binstr_flag(in, durs[i], NULL);
    int64_t ns;
    if (!v)
      continue;
    if (parse_duration_ns(v, &ns) < 0)
      return berr_set(err, EINVAL, BUILD_PARSE_ERR_FMT "time: invalid duration \"%s\"", in->line, v);
    if (ns != 0 && ns < 1000000)
      return berr_set(err, EINVAL, BUILD_PARSE_ERR_FMT "Interval \"%s\" cannot be less than 1ms", in->line, durs[i]);
  }
  const char *r = binstr_flag(in, "retries", NULL);
  int64_t n;
  if (r && (parse_int64(r, &n) < 0))
    return berr_set(err, EINVAL, BUILD_PARSE_ERR_FMT "strconv.ParseInt: parsing \"%s\": invalid syntax", in->line, r);
  if (r && n < 1)
    return berr_set(err, EINVAL, BUILD_PARSE_ERR_FMT "--retries must be at least 1 (not %lld)", in->line, (long long)n);
  return 0;
}

static int parse_instr_args(struct binstr *in, bool nested, struct berr **err);

static int parse_args_by_kind(struct binstr *in, struct berr **err) {
  const char *kw = in->keyword;
  int line = in->line;
  size_t n;
  switch (in->kind) {
  case BI_FROM:
    in->args = split_whitespace(in->rest);
    n = strv_len(in->args);
    if (n != 1 && n != 3)
      return berr_set(err, EINVAL, BUILD_PARSE_ERR_FMT "FROM requires either one or three arguments", line);
    if (n == 3 && strcasecmp(in->args[1], "as") != 0)
      return berr_set(err, EINVAL, BUILD_PARSE_ERR_FMT "FROM requires either one or three arguments", line);
    if (n == 3 && !stage_name_valid(in->args[2]))
      return berr_set(err, EINVAL,
                      BUILD_PARSE_ERR_FMT "invalid name for build stage: \"%s\", name can't start with a number or contain symbols",
                      line, in->args[2]);
    return 0;
  case BI_RUN:
  case BI_CMD:
  case BI_ENTRYPOINT:
    if (parse_maybe_json(in, err) < 0)
      return -EINVAL;
    if (in->kind == BI_RUN && !in->json && !in->rest[0])
      return berr_set(err, EINVAL, BUILD_PARSE_ERR_FMT "RUN requires at least one argument", line);
    return 0;
  case BI_SHELL:
    if (parse_maybe_json(in, err) < 0)
      return -EINVAL;
    if (!in->json)
      return berr_set(err, EINVAL, BUILD_PARSE_ERR_FMT "SHELL requires the arguments to be in JSON notation", line);
    if (!in->args[0])
      return berr_set(err, EINVAL, BUILD_PARSE_ERR_FMT "SHELL requires at least one argument", line);
    return 0;
  case BI_ENV:
  case BI_LABEL:
    return parse_name_val(in, err);
  case BI_ARG:
    in->args = build_parse_words(in->rest, '\\');
    if (!in->args[0])
      return berr_set(err, EINVAL, BUILD_PARSE_ERR_FMT "ARG requires at least one argument", line);
    for (size_t i = 0; in->args[i]; i++)
      if (in->args[i][0] == '=')
        return berr_set(err, EINVAL, BUILD_PARSE_ERR_FMT "ARG names can not be blank", line);
    return 0;
  case BI_EXPOSE:
  case BI_VOLUME:
  case BI_COPY:
  case BI_ADD:
    if (in->kind == BI_EXPOSE)
      in->args = split_whitespace(in->rest);
    else if (parse_maybe_json_list(in, err) < 0)
      return -EINVAL;
    n = strv_len(in->args);
    if ((in->kind == BI_EXPOSE || in->kind == BI_VOLUME) && n == 0)
      return berr_set(err, EINVAL, BUILD_PARSE_ERR_FMT "%s requires at least one argument", line, kw);
    if ((in->kind == BI_COPY || in->kind == BI_ADD) && n == 1)
      return berr_set(err, EINVAL,
                      BUILD_PARSE_ERR_FMT "%s requires at least two arguments, but only one was provided. Destination could not be determined",
                      line, kw);
    if ((in->kind == BI_COPY || in->kind == BI_ADD) && n < 2)
      return berr_set(err, EINVAL, BUILD_PARSE_ERR_FMT "%s requires at least two arguments", line, kw);
    if (in->kind == BI_VOLUME)
      for (size_t i = 0; i < n; i++)
        if (!*in->args[i])
          return berr_set(err, EINVAL, BUILD_PARSE_ERR_FMT "VOLUME specified can not be an empty string", line);
    return 0;
  case BI_STOPSIGNAL:
    in->args = split_whitespace(in->rest);
    if (strv_len(in->args) != 1)
      return berr_set(err, EINVAL, BUILD_PARSE_ERR_FMT "%s requires exactly one argument", line, kw);
    return 0;
  case BI_USER: /* dockerd 20.10 takes the whole rest ("USER a b" is accepted) */
  case BI_WORKDIR:
  case BI_MAINTAINER:
    if (!in->rest[0])
      return berr_set(err, EINVAL, BUILD_PARSE_ERR_FMT "%s requires exactly one argument", line, kw);
    in->args = strv_one(in->rest);
    return 0;
  case BI_HEALTHCHECK: {
    const char *p = in->rest, *e = p;
    while (*e && !is_blank(*e))
      e++;
    _cleanup_free_ char *type = strndup(p, (size_t)(e - p));
    if (!*type)
      return berr_set(err, EINVAL, BUILD_PARSE_ERR_FMT "HEALTHCHECK requires at least one argument", line);
    for (char *c = type; *c; c++)
      *c = (char)toupper((unsigned char)*c);
    const char *cmd = skip_blank(e);
    if (strcmp(type, "NONE") == 0) {
      if (*cmd)
        return berr_set(err, EINVAL, BUILD_PARSE_ERR_FMT "HEALTHCHECK NONE takes no arguments", line);
      in->args = strv_one("NONE");
      return 0;
    }
    if (strcmp(type, "CMD") != 0) {
      return berr_set(err, EINVAL, BUILD_PARSE_ERR_FMT "Unknown type \"%s\" in HEALTHCHECK (try CMD)", line, type);
    }
    if (!*cmd)
      return berr_set(err, EINVAL, BUILD_PARSE_ERR_FMT "Missing command after HEALTHCHECK CMD", line);
    if (check_health_flags(in, err) < 0)
      return -EINVAL;
    char **v = NULL;
    int r = parse_json_array(cmd, line, &v, err);
    if (r < 0)
      return r;
    in->args = strv_one("CMD");
    if (r == 1) {
      in->json = true;
      for (size_t i = 0; v[i]; i++)
        in->args = strv_append(in->args, xstrdup(v[i]));
      strv_free(v);
    } else {
      in->args = strv_append(in->args, xstrdup(cmd));
    }
    return 0;
  }
  case BI_ONBUILD: {
    if (!in->rest[0])
      return berr_set(err, EINVAL, BUILD_PARSE_ERR_FMT "ONBUILD requires at least one argument", line);
    in->args = strv_one(in->rest);
    struct binstr *sub = xcalloc(1, sizeof *sub);
    in->sub = sub;
    sub->original = xstrdup(in->rest);
    sub->line = in->line;
    sub->end_line = in->end_line;
    if (parse_instr_args(sub, true, err) < 0)
      return -EINVAL;
    if (sub->kind == BI_ONBUILD)
      return berr_set(err, EINVAL, BUILD_PARSE_ERR_FMT "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed", line);
    if (sub->kind == BI_FROM || sub->kind == BI_MAINTAINER)
      return berr_set(err, EINVAL, BUILD_PARSE_ERR_FMT "%s isn't allowed as an ONBUILD trigger", line, sub->keyword);
    return 0;
  }
  case BI_UNKNOWN:
    break;
  }
  return 0;
}

/* Fill kind, keyword, flags, rest and args from in->original. */
static int parse_instr_args(struct binstr *in, bool nested, struct berr **err) {
  (void)nested;
  const char *p = skip_blank(in->original);
  const char *e = p;
  while (*e && !is_blank(*e))
    e++;
  in->keyword = strndup(p, (size_t)(e - p));
  for (char *c = in->keyword; *c; c++)
    *c = (char)toupper((unsigned char)*c);
  const struct instr_def *def = instr_lookup(in->keyword);
  if (!def)
    return berr_set(err, EINVAL, BUILD_PARSE_ERR_FMT "unknown instruction: %s", in->line, in->keyword);
  in->kind = def->kind;
  _cleanup_strv_ char **fw = NULL;
  const char *rest = extract_flag_words(e, &fw);
  in->rest = trim_dup(rest);
  if (parse_flags(in, def, fw, err) < 0)
    return -EINVAL;
  return parse_args_by_kind(in, err);
}

/* ---------- heredocs ---------- */

/* "<<EOF", "<<-EOF", "<<'EOF'", "2<<\"EOF\"" (BuildKit's ^(\d*)<<(-?)([^<]*)$). */
static bool heredoc_word(const char *w, struct bheredoc *out) {
  while (isdigit((unsigned char)*w))
    w++;
  if (!str_has_prefix(w, "<<"))
    return false;
  w += 2;
  bool chomp = false;
  if (*w == '-') {
    chomp = true;
    w++;
  }
  if (!*w || strchr(w, '<'))
    return false;
  struct sbuf name = {0};
  bool quoted = false;
  for (const char *p = w; *p; p++) {
    if (*p == '\'' || *p == '"') {
      quoted = true;
      continue;
    }
    if (*p == '\\' && p[1]) {
      quoted = true;
      p++;
    }
    sbuf_addc(&name, *p);
  }
  if (!name.len) {
    sbuf_free(&name);
    return false;
  }
  out->name = sbuf_steal(&name);
  out->chomp = chomp;
  out->expand = !quoted;
  out->content = NULL;
  return true;
}

/* ---------- lines ---------- */

struct reader {
  const char *p, *end;
  int lineno; /* number of the line last returned */
};

/* Next physical line (without "\n" / "\r\n"), malloc'd; NULL at the end. */
static char *next_line(struct reader *r) {
  if (r->p >= r->end)
    return NULL;
  const char *nl = memchr(r->p, '\n', (size_t)(r->end - r->p));
  const char *e = nl ? nl : r->end;
  size_t n = (size_t)(e - r->p);
  if (n > 0 && r->p[n - 1] == '\r')
    n--;
  char *s = strndup(r->p, n);
  r->p = nl ? nl + 1 : r->end;
  r->lineno++;
  return s;
}

/* "# key = value" at the top: true with key lower-cased and value trimmed. */
static bool directive_match(const char *line, char **key, char **value) {
  if (line[0] != '#')
    return false;
  const char *p = skip_blank(line + 1);
  const char *k = p;
  if (!isalpha((unsigned char)*p))
    return false;
  while (isalnum((unsigned char)*p))
    p++;
  const char *ke = p;
  p = skip_blank(p);
  if (*p != '=')
    return false;
  p = skip_blank(p + 1);
  if (!*p)
    return false;
  *key = strndup(k, (size_t)(ke - k));
  for (char *c = *key; *c; c++)
    *c = (char)tolower((unsigned char)*c);
  *value = trim_dup(p);
  return true;
}

struct pstate {
  struct dockerfile *df;
  bool directives_done;
  bool seen_escape, seen_syntax, seen_check;
};

static int handle_directive(struct pstate *ps, const char *line, int lineno, struct berr **err) {
  _cleanup_free_ char *key = NULL, *value = NULL;
  if (ps->directives_done)
    return 0;
  if (lineno == 1 && str_has_prefix(line, "#!"))
    return 0;
  if (!directive_match(line, &key, &value)) {
    ps->directives_done = true;
    return 0;
  }
  bool *seen = strcmp(key, "escape") == 0   ? &ps->seen_escape
               : strcmp(key, "syntax") == 0 ? &ps->seen_syntax
               : strcmp(key, "check") == 0  ? &ps->seen_check
                                            : NULL;
  if (!seen) { /* unknown directives are comments, and end the directives */
    ps->directives_done = true;
    return 0;
  }
  if (*seen)
    return berr_set(err, EINVAL, "failed to parse Dockerfile: only one %s parser directive can be used", key);
  *seen = true;
  if (strcmp(key, "escape") == 0) {
    if (strcmp(value, "`") != 0 && strcmp(value, "\\") != 0)
      return berr_set(err, EINVAL, "failed to parse Dockerfile: invalid escape token '%s' does not match ` or \\",
                      value);
    ps->df->escape = value[0];
  } else if (strcmp(key, "syntax") == 0) {
    ps->df->syntax = steal_ptr(value);
  } else {
    ps->df->check = steal_ptr(value);
  }
  return 0;
}

static int read_heredocs(struct reader *rd, struct binstr *in, struct berr **err) {
  _cleanup_strv_ char **words = build_parse_words(in->original, '\\');
  for (size_t i = 0; words[i]; i++) {
    struct bheredoc h;
    if (!heredoc_word(words[i], &h))
      continue;
    struct sbuf body = {0};
    bool done = false;
    char *l;
    while ((l = next_line(rd))) {
      const char *cmp = l;
      if (h.chomp)
        while (*cmp == '\t')
          cmp++;
      if (strcmp(cmp, h.name) == 0) {
        free(l);
        done = true;
        break;
      }
      sbuf_add(&body, cmp);
      sbuf_addc(&body, '\n');
      free(l);
    }
    in->heredocs = xrealloc(in->heredocs, (in->nheredocs + 1) * sizeof *in->heredocs);
    h.content = sbuf_steal(&body);
    in->heredocs[in->nheredocs++] = h;
    if (!done)
      return berr_set(err, EINVAL, BUILD_PARSE_ERR_FMT "unterminated heredoc", in->line);
  }
  in->end_line = rd->lineno;
  return 0;
}

static int add_instr(struct dockerfile *df, struct binstr *in, struct berr **err) {
  if (in->kind == BI_FROM) {
    df->stages = xrealloc(df->stages, (df->nstages + 1) * sizeof *df->stages);
    struct bstage *st = &df->stages[df->nstages];
    memset(st, 0, sizeof *st);
    st->index = (int)df->nstages;
    df->nstages++; /* owned by df from here: freed with it on an error */
    st->base = xstrdup(in->args[0]);
    if (in->args[1]) {
      st->name = xstrdup(in->args[2]);
      for (char *c = st->name; *c; c++)
        *c = (char)tolower((unsigned char)*c);
      for (size_t i = 0; i + 1 < df->nstages; i++)
        if (df->stages[i].name && strcmp(df->stages[i].name, st->name) == 0)
          return berr_set(err, EINVAL, BUILD_PARSE_ERR_FMT "duplicate name %s", in->line, st->name);
    }
    const char *pf = binstr_flag(in, "platform", NULL);
    st->platform = pf ? xstrdup(pf) : NULL;
  } else if (df->nstages == 0) {
    if (in->kind != BI_ARG) /* dockerd 20.10 names no line here */
      return berr_set(err, EINVAL, "no build stage in current context");
    df->meta_args = xrealloc(df->meta_args, (df->nmeta_args + 1) * sizeof *df->meta_args);
    df->meta_args[df->nmeta_args++] = *in;
    memset(in, 0, sizeof *in);
    return 0;
  }
  struct bstage *st = &df->stages[df->nstages - 1];
  st->instrs = xrealloc(st->instrs, (st->ninstrs + 1) * sizeof *st->instrs);
  st->instrs[st->ninstrs++] = *in;
  st->from = &st->instrs[0];
  memset(in, 0, sizeof *in);
  return 0;
}

static int parse_one(struct pstate *ps, struct reader *rd, char *first, struct berr **err) {
  char escape = ps->df->escape;
  struct binstr in = {0};
  in.line = rd->lineno;
  char *start = first;
  while (*start && is_blank(*start))
    start++;
  bool cont = trim_continuation(start, escape);
  struct sbuf logical = {0};
  sbuf_add(&logical, start);
  while (cont) {
    _cleanup_free_ char *l = next_line(rd);
    if (!l)
      break;
    if (is_comment(l))
      continue;
    if (!*skip_blank(l))
      continue; /* empty continuation line (BuildKit warns, still accepts) */
    cont = trim_continuation(l, escape);
    sbuf_add(&logical, l);
  }
  in.original = sbuf_steal(&logical);
  in.end_line = rd->lineno;
  if (!*skip_blank(in.original)) {
    binstr_clear(&in);
    return 0;
  }
  int r = parse_instr_args(&in, false, err);
  if (r == 0 && (in.kind == BI_RUN || in.kind == BI_COPY || in.kind == BI_ADD) && strstr(in.original, "<<"))
    r = read_heredocs(rd, &in, err);
  if (r == 0)
    r = add_instr(ps->df, &in, err);
  binstr_clear(&in);
  return r;
}

int dockerfile_parse(const char *text, size_t len, struct dockerfile **out, struct berr **err) {
  struct dockerfile *df = xcalloc(1, sizeof *df);
  df->escape = '\\';
  struct pstate ps = {.df = df};
  struct reader rd = {.p = text, .end = text + len};
  if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
    rd.p += 3;
  char *l;
  int r = 0;
  bool any = false;
  while ((l = next_line(&rd))) {
    r = handle_directive(&ps, l, rd.lineno, err);
    if (r < 0) {
      free(l);
      break;
    }
    if (is_comment(l) || !*skip_blank(l)) {
      free(l);
      continue;
    }
    any = true;
    r = parse_one(&ps, &rd, l, err);
    free(l);
    if (r < 0)
      break;
  }
  if (r == 0 && (!any || df->nstages == 0)) {
    if (df->nmeta_args == 0 && df->nstages == 0)
      r = berr_set(err, EINVAL, "failed to parse Dockerfile: file with no instructions");
    else
      r = berr_set(err, EINVAL, "no build stage in current context");
  }
  if (r < 0) {
    dockerfile_free(df);
    return r;
  }
  *out = df;
  return 0;
}
