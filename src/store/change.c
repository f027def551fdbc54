/*
 * change.c — Dockerfile-style `--change` lines (commit -c, import -c) applied
 * to a container config, as dockerd's dockerfile.BuildFromConfig does. Pure:
 * JSON in, JSON out, no I/O.
 *
 * Accepted (dockerd 20.10's validCommitCommands): CMD, ENTRYPOINT, ENV,
 * EXPOSE, HEALTHCHECK, LABEL, ONBUILD, USER, VOLUME, WORKDIR. Anything else
 * (STOPSIGNAL included: dockerd refuses it too) is refused before any
 * change is applied: "<instr> is not a valid change command", with the
 * instruction lower-cased as Docker prints it.
 *
 * Lines: each change string may hold several lines; a trailing "\" joins
 * the next one; empty lines and "#" comments are skipped. Instruction names
 * are case-insensitive. CMD, ENTRYPOINT and VOLUME take a JSON array (exec
 * form) or a string (shell form: ["/bin/sh","-c",…] for CMD/ENTRYPOINT).
 * ENTRYPOINT without a CMD in the same changes resets Cmd (Docker's rule).
 * ENV, LABEL, EXPOSE, USER, VOLUME, WORKDIR words are expanded
 * against the config's Env as far as the builder's shell lexer goes for
 * the usual cases: quotes, backslash escapes, $VAR and ${VAR}.
 */
#include <ctype.h>
#include <errno.h>

#include "store/store.h"

struct chg {
  json_t *cfg;
  bool cmd_set; /* a CMD came before: ENTRYPOINT keeps it */
  struct berr **err;
};

/* ---------- words ---------- */

/* Value of NAME in the config's Env ("NAME=value"), or NULL. */
static const char *env_get(const json_t *cfg, const char *name, size_t nlen) {
  json_t *e;
  size_t i;
  json_array_foreach(json_object_get(cfg, "Env"), i, e) {
    const char *s = json_string_value(e);
    if (s && strncmp(s, name, nlen) == 0 && s[nlen] == '=')
      return s + nlen + 1;
  }
  return NULL;
}

struct buf {
  char *p;
  size_t len, cap;
};

static void buf_addn(struct buf *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    b->cap = (b->len + n + 1) * 2;
    b->p = xrealloc(b->p, b->cap);
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

/* A "$VAR" / "${VAR}" at *pp (just after the '$'): append its value. */
static void expand_var(const json_t *cfg, const char **pp, struct buf *b) {
  const char *p = *pp;
  bool braced = *p == '{';
  if (braced)
    p++;
  const char *start = p;
  while (isalnum((unsigned char)*p) || *p == '_')
    p++;
  size_t n = (size_t)(p - start);
  if (n == 0 || (braced && *p != '}')) { /* not a variable: a literal '$' */
    buf_addn(b, "$", 1);
    return;
  }
  const char *v = env_get(cfg, start, n);
  if (v)
    buf_addn(b, v, strlen(v));
  *pp = braced ? p + 1 : p;
}

/* Split `s` into words: whitespace separates outside quotes; '...' is
 * literal, "..." and bare text take \ escapes and (with `expand`) $VAR,
 * ${VAR}: the builder's shell lexer (ProcessWords) for the usual cases. */
static char **split_words(const json_t *cfg, const char *s, bool expand) {
  char **v = xcalloc(1, sizeof *v);
  const char *p = s;
  for (;;) {
    while (isspace((unsigned char)*p))
      p++;
    if (!*p)
      return v;
    struct buf b = {0};
    buf_addn(&b, "", 0);
    char quote = 0;
    for (; *p && (quote || !isspace((unsigned char)*p)); p++) {
      if (quote == '\'') {
        if (*p == '\'')
          quote = 0;
        else
          buf_addn(&b, p, 1);
      } else if (*p == '\\' && p[1] && (!quote || p[1] == '"' || p[1] == '\\' || p[1] == '$')) {
        buf_addn(&b, ++p, 1);
      } else if (*p == '"' || (*p == '\'' && !quote)) {
        quote = quote ? 0 : *p;
      } else if (*p == '$' && expand) {
        p++;
        expand_var(cfg, &p, &b);
        p--;
      } else {
        buf_addn(&b, p, 1);
      }
    }
    v = strv_append(v, b.p);
  }
}

/* One expanded string (the words joined by single spaces, as USER/WORKDIR). */
static char *expand_line(const json_t *cfg, const char *s) {
  _cleanup_strv_ char **w = split_words(cfg, s, true);
  struct buf b = {0};
  buf_addn(&b, "", 0);
  for (size_t i = 0; w[i]; i++) {
    if (i)
      buf_addn(&b, " ", 1);
    buf_addn(&b, w[i], strlen(w[i]));
  }
  return b.p;
}

/* JSON exec form: an array of strings, else NULL. */
static json_t *exec_form(const char *rest) {
  if (rest[0] != '[')
    return NULL;
  json_t *j = json_loads(rest, 0, NULL);
  if (!json_is_array(j)) {
    json_decref(j);
    return NULL;
  }
  json_t *x;
  size_t i;
  json_array_foreach(j, i, x) {
    if (!json_is_string(x)) {
      json_decref(j);
      return NULL;
    }
  }
  return j;
}

/* ---------- instructions ---------- */

static json_t *command_value(const char *rest) {
  json_t *j = exec_form(rest);
  return j ? j : json_pack("[s,s,s]", "/bin/sh", "-c", rest);
}

static int do_cmd(struct chg *c, const char *rest) {
  json_object_set_new(c->cfg, "Cmd", command_value(rest));
  c->cmd_set = true;
  return 0;
}

static int do_entrypoint(struct chg *c, const char *rest) {
  json_t *j = exec_form(rest);
  if (!j && !*rest)
    j = json_null(); /* ENTRYPOINT "": none */
  json_object_set_new(c->cfg, "Entrypoint", j ? j : command_value(rest));
  if (!c->cmd_set) /* Docker: a new entrypoint drops the inherited CMD */
    json_object_set_new(c->cfg, "Cmd", json_null());
  return 0;
}

static json_t *obj_field(json_t *cfg, const char *key) {
  json_t *o = json_object_get(cfg, key);
  if (!json_is_object(o)) {
    o = json_object();
    json_object_set_new(cfg, key, o);
  }
  return o;
}

static void env_set(json_t *cfg, const char *key, const char *val) {
  json_t *env = json_object_get(cfg, "Env");
  if (!json_is_array(env)) {
    env = json_array();
    json_object_set_new(cfg, "Env", env);
  }
  _cleanup_free_ char *kv = xasprintf("%s=%s", key, val);
  size_t klen = strlen(key);
  json_t *e;
  size_t i;
  json_array_foreach(env, i, e) {
    const char *s = json_string_value(e);
    if (s && strncmp(s, key, klen) == 0 && (s[klen] == '=' || s[klen] == '\0')) {
      json_array_set_new(env, i, json_string(kv));
      return;
    }
  }
  json_array_append_new(env, json_string(kv));
}

/* KEY=VALUE pairs (or the legacy "KEY VALUE…" form) for ENV and LABEL. */
static int key_values(struct chg *c, const char *instr, const char *rest,
                      void (*set)(json_t *cfg, const char *k, const char *v)) {
  _cleanup_strv_ char **w = split_words(c->cfg, rest, true);
  if (!w[0])
    return berr_set(c->err, EINVAL, "%s requires at least one argument", instr);
  if (!strchr(w[0], '=')) { /* legacy: ENV KEY the rest */
    if (!w[1])
      return berr_set(c->err, EINVAL, "%s must have two arguments", instr);
    const char *p = rest;
    while (isspace((unsigned char)*p))
      p++;
    while (*p && !isspace((unsigned char)*p))
      p++;
    _cleanup_free_ char *val = expand_line(c->cfg, p);
    set(c->cfg, w[0], val);
    return 0;
  }
  for (size_t i = 0; w[i]; i++) {
    char *eq = strchr(w[i], '=');
    if (!eq || eq == w[i])
      return berr_set(c->err, EINVAL, "Syntax error - can't find = in \"%s\". Must be of the form: name=value", w[i]);
    *eq = '\0';
    set(c->cfg, w[i], eq + 1);
  }
  return 0;
}

static void label_set(json_t *cfg, const char *key, const char *val) {
  json_object_set_new(obj_field(cfg, "Labels"), key, json_string(val));
}

static int do_env(struct chg *c, const char *rest) { return key_values(c, "ENV", rest, env_set); }
static int do_label(struct chg *c, const char *rest) { return key_values(c, "LABEL", rest, label_set); }

static bool all_digits(const char *s, size_t n) {
  if (n == 0)
    return false;
  for (size_t i = 0; i < n; i++)
    if (!isdigit((unsigned char)s[i]))
      return false;
  return true;
}

/* "80", "80/udp", "8000-8002/tcp" → ExposedPorts keys. */
static int expose_one(struct chg *c, const char *spec) {
  const char *slash = strchr(spec, '/');
  const char *proto = slash ? slash + 1 : "tcp";
  size_t plen = slash ? (size_t)(slash - spec) : strlen(spec);
  const char *dash = memchr(spec, '-', plen);
  size_t alen = dash ? (size_t)(dash - spec) : plen;
  if (!all_digits(spec, alen) || (dash && !all_digits(dash + 1, plen - alen - 1)) ||
      (strcmp(proto, "tcp") && strcmp(proto, "udp") && strcmp(proto, "sctp")))
    return berr_set(c->err, EINVAL, "invalid containerPort: %s", spec);
  long lo = strtol(spec, NULL, 10), hi = dash ? strtol(dash + 1, NULL, 10) : lo;
  if (lo < 1 || hi > 65535 || hi < lo)
    return berr_set(c->err, EINVAL, "invalid containerPort: %s", spec);
  json_t *ports = obj_field(c->cfg, "ExposedPorts");
  for (long p = lo; p <= hi; p++) {
    _cleanup_free_ char *k = xasprintf("%ld/%s", p, proto);
    json_object_set_new(ports, k, json_object());
  }
  return 0;
}

static int do_expose(struct chg *c, const char *rest) {
  _cleanup_strv_ char **w = split_words(c->cfg, rest, true);
  if (!w[0])
    return berr_set(c->err, EINVAL, "EXPOSE requires at least one argument");
  for (size_t i = 0; w[i]; i++)
    if (expose_one(c, w[i]) < 0)
      return -EINVAL;
  return 0;
}

static int do_user(struct chg *c, const char *rest) {
  _cleanup_free_ char *u = expand_line(c->cfg, rest);
  if (!*u)
    return berr_set(c->err, EINVAL, "USER requires at least one argument");
  json_object_set_new(c->cfg, "User", json_string(u));
  return 0;
}

static int do_workdir(struct chg *c, const char *rest) {
  _cleanup_free_ char *w = expand_line(c->cfg, rest);
  if (!*w)
    return berr_set(c->err, EINVAL, "WORKDIR requires exactly one argument");
  const char *cur = json_string_value(json_object_get(c->cfg, "WorkingDir"));
  /* Docker: a relative WORKDIR is joined to the current one */
  _cleanup_free_ char *joined = w[0] == '/' ? xstrdup(w) : xasprintf("/%s/%s", cur ? cur : "", w);
  bool esc = false;
  _cleanup_free_ char *clean = path_clean(joined, &esc);
  json_object_set_new(c->cfg, "WorkingDir", json_string(clean));
  return 0;
}

static int do_volume(struct chg *c, const char *rest) {
  json_t *j = exec_form(rest);
  char **w = NULL;
  if (j) {
    w = xcalloc(1, sizeof *w);
    json_t *x;
    size_t i;
    json_array_foreach(j, i, x) w = strv_append(w, xstrdup(json_string_value(x)));
    json_decref(j);
  } else {
    w = split_words(c->cfg, rest, true);
  }
  _cleanup_strv_ char **words = w;
  if (!words[0])
    return berr_set(c->err, EINVAL, "VOLUME requires at least one argument");
  json_t *vols = obj_field(c->cfg, "Volumes");
  for (size_t i = 0; words[i]; i++) {
    if (!*words[i])
      return berr_set(c->err, EINVAL, "VOLUME specified can not be an empty string");
    json_object_set_new(vols, words[i], json_object());
  }
  return 0;
}

/* Go's time.ParseDuration for the usual forms ("30s", "1m30s", "1.5s",
 * "500ms"): nanoseconds, or -1 when malformed. */
static int64_t parse_duration(const char *s) {
  static const struct {
    const char *unit;
    double ns;
  } units[] = {{"ns", 1}, {"us", 1e3}, {"µs", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
  double total = 0;
  if (strcmp(s, "0") == 0)
    return 0;
  if (!*s)
    return -1;
  while (*s) {
    char *end;
    double v = strtod(s, &end);
    if (end == s || v < 0)
      return -1;
    size_t best = 0, blen = 0;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
      size_t l = strlen(units[i].unit);
      if (strncmp(end, units[i].unit, l) == 0 && l > blen) {
        best = i;
        blen = l;
      }
    }
    if (!blen)
      return -1;
    total += v * units[best].ns;
    s = end + blen;
  }
  return (int64_t)total;
}

/* HEALTHCHECK NONE | HEALTHCHECK [--interval=D --timeout=D --start-period=D
 * --retries=N] CMD command (dockerd's parseHealthConfig). */
static int do_healthcheck(struct chg *c, const char *rest) {
  static const char *const durs[][2] = {
      {"interval", "Interval"}, {"timeout", "Timeout"}, {"start-period", "StartPeriod"}};
  json_t *hc = json_object();
  const char *p = rest;
  while (str_has_prefix(p, "--")) {
    size_t n = strcspn(p, " \t");
    _cleanup_free_ char *flag = xasprintf("%.*s", (int)n - 2, p + 2);
    char *eq = strchr(flag, '=');
    if (eq)
      *eq++ = '\0';
    bool done = false;
    for (size_t i = 0; i < 3 && !done; i++) {
      if (strcmp(flag, durs[i][0]) != 0)
        continue;
      int64_t ns = eq ? parse_duration(eq) : -1;
      if (ns < 0 || (ns > 0 && ns < 1000000)) {
        json_decref(hc);
        return berr_set(c->err, EINVAL, "Interval \"%s\" cannot be less than 1ms", durs[i][0]);
      }
      if (ns)
        json_object_set_new(hc, durs[i][1], json_integer(ns));
      done = true;
    }
    if (!done && strcmp(flag, "retries") == 0) {
      int64_t n64 = 0;
      if (!eq || parse_int64(eq, &n64) < 0 || n64 < 0) {
        json_decref(hc);
        return berr_set(c->err, EINVAL, "invalid --retries value: %s", eq ? eq : "");
      }
      if (n64)
        json_object_set_new(hc, "Retries", json_integer(n64));
      done = true;
    }
    if (!done) {
      json_decref(hc);
      return berr_set(c->err, EINVAL, "Unknown flag: %s", flag);
    }
    p += n;
    while (isspace((unsigned char)*p))
      p++;
  }
  size_t n = strcspn(p, " \t");
  const char *args = p + n;
  while (isspace((unsigned char)*args))
    args++;
  if (n == 4 && strncasecmp(p, "NONE", 4) == 0 && !*args) {
    json_object_clear(hc);
    json_object_set_new(hc, "Test", json_pack("[s]", "NONE"));
  } else if (n == 3 && strncasecmp(p, "CMD", 3) == 0 && *args) {
    json_t *ex = exec_form(args);
    json_t *test = json_pack("[s]", ex ? "CMD" : "CMD-SHELL");
    if (ex) {
      json_array_extend(test, ex);
      json_decref(ex);
    } else {
      json_array_append_new(test, json_string(args));
    }
    json_object_set_new(hc, "Test", test);
  } else {
    json_decref(hc);
    return berr_set(c->err, EINVAL, "Unknown type \"%.*s\" in HEALTHCHECK (try CMD)", (int)n, p);
  }
  /* HealthConfig's field order: Test, Interval, Timeout, StartPeriod, Retries */
  static const char *const order[] = {"Test", "Interval", "Timeout", "StartPeriod", "Retries"};
  json_t *out = json_object();
  for (size_t i = 0; i < 5; i++)
    if (json_object_get(hc, order[i]))
      json_object_set(out, order[i], json_object_get(hc, order[i]));
  json_decref(hc);
  json_object_set_new(c->cfg, "Healthcheck", out);
  return 0;
}

static int do_onbuild(struct chg *c, const char *rest) {
  size_t n = strcspn(rest, " \t");
  if (n == 0)
    return berr_set(c->err, EINVAL, "ONBUILD requires at least one argument");
  if (n == 7 && strncasecmp(rest, "ONBUILD", 7) == 0)
    return berr_set(c->err, EINVAL, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
  if ((n == 4 && strncasecmp(rest, "FROM", 4) == 0) || (n == 10 && strncasecmp(rest, "MAINTAINER", 10) == 0))
    return berr_set(c->err, EINVAL, "%.*s isn't allowed as an ONBUILD trigger", (int)n, rest);
  json_t *ob = json_object_get(c->cfg, "OnBuild");
  if (!json_is_array(ob)) {
    ob = json_array();
    json_object_set_new(c->cfg, "OnBuild", ob);
  }
  json_array_append_new(ob, json_string(rest));
  return 0;
}

static const struct {
  const char *name;
  int (*fn)(struct chg *c, const char *rest);
} instrs[] = {
    {"cmd", do_cmd},       {"entrypoint", do_entrypoint}, {"env", do_env},
    {"expose", do_expose}, {"healthcheck", do_healthcheck}, {"label", do_label},
    {"onbuild", do_onbuild}, {"user", do_user},           {"volume", do_volume},
    {"workdir", do_workdir},
};

/* ---------- lines ---------- */

/* The logical lines of all changes (continuations joined, comments and
 * blank lines dropped). */
static char **logical_lines(char *const *changes) {
  char **v = xcalloc(1, sizeof *v);
  for (size_t i = 0; changes && changes[i]; i++) {
    struct buf cur = {0};
    buf_addn(&cur, "", 0);
    _cleanup_free_ char *copy = xstrdup(changes[i]);
    char *save = NULL;
    for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
      while (isspace((unsigned char)*l))
        l++;
      if (cur.len == 0 && (*l == '#' || *l == '\0'))
        continue;
      size_t n = strlen(l);
      while (n && isspace((unsigned char)l[n - 1]))
        n--;
      bool cont = n && l[n - 1] == '\\';
      buf_addn(&cur, l, cont ? n - 1 : n);
      if (cont)
        continue;
      v = strv_append(v, steal_ptr(cur.p));
      cur = (struct buf){0};
      buf_addn(&cur, "", 0);
    }
    if (cur.len)
      v = strv_append(v, steal_ptr(cur.p));
    free(cur.p);
  }
  return v;
}

static int find_instr(const char *line, size_t *n) {
  *n = strcspn(line, " \t");
  for (size_t i = 0; i < sizeof instrs / sizeof instrs[0]; i++)
    if (strlen(instrs[i].name) == *n && strncasecmp(line, instrs[i].name, *n) == 0)
      return (int)i;
  return -1;
}

int store_changes_apply(json_t *cfg, char *const *changes, struct berr **err) {
  _cleanup_strv_ char **lines = logical_lines(changes);
  size_t n;
  for (size_t i = 0; lines[i]; i++) { /* validate every line first, as dockerd */
    if (find_instr(lines[i], &n) < 0) {
      _cleanup_free_ char *word = xasprintf("%.*s", (int)n, lines[i]);
      for (char *p = word; *p; p++)
        *p = (char)tolower((unsigned char)*p);
      return berr_set(err, EINVAL, "%s is not a valid change command", word);
    }
  }
  struct chg c = {.cfg = cfg, .err = err};
  for (size_t i = 0; lines[i]; i++) {
    int k = find_instr(lines[i], &n);
    const char *rest = lines[i] + n;
    while (isspace((unsigned char)*rest))
      rest++;
    _cleanup_free_ char *trimmed = xstrdup(rest);
    size_t tl = strlen(trimmed);
    while (tl && isspace((unsigned char)trimmed[tl - 1]))
      trimmed[--tl] = '\0';
    if (instrs[k].fn(&c, trimmed) < 0)
      return -EINVAL;
  }
  return 0;
}
