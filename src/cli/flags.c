/*
 * flags.c — command-line flags with spf13/pflag's rules, as the docker CLI
 * parses them: --name value, --name=value, -n value, -nvalue, combined short
 * booleans (-itd), --bool=false, "--" ends flags, and with interspersed off
 * (run, exec) the first positional argument ends flags so that the
 * container's own command keeps its options. Error texts are pflag's.
 */
#include <ctype.h>
#include <errno.h>

#include "cli/cli.h"

static const struct flag *find_long(const struct flag *flags, const char *name, size_t n) {
  for (const struct flag *f = flags; f->name; f++)
    if (strlen(f->name) == n && !strncmp(f->name, name, n))
      return f;
  return NULL;
}

static const struct flag *find_short(const struct flag *flags, char c) {
  for (const struct flag *f = flags; f->name; f++)
    if (f->shorthand == c)
      return f;
  return NULL;
}

static void flag_desc(const struct flag *f, char *buf, size_t n) {
  if (f->shorthand)
    snprintf(buf, n, "-%c, --%s", f->shorthand, f->name);
  else
    snprintf(buf, n, "--%s", f->name);
}

static int set_value(const struct flag *f, const char *v, struct berr **err) {
  char d[96];
  flag_desc(f, d, sizeof(d));
  if (f->set)
    *f->set = true;
  switch (f->type) {
  case FLAG_BOOL:
    if (!v || !strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "t") || !strcmp(v, "TRUE") ||
        !strcmp(v, "True"))
      *(bool *)f->dst = true;
    else if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "f") || !strcmp(v, "FALSE") ||
             !strcmp(v, "False"))
      *(bool *)f->dst = false;
    else
      return berr_set(err, EINVAL, "invalid argument \"%s\" for \"%s\" flag: strconv.ParseBool: parsing \"%s\": invalid syntax",
                      v, d, v);
    return 0;
  case FLAG_STR:
    *(const char **)f->dst = v;
    return 0;
  case FLAG_STRV:
    *(char ***)f->dst = strv_append(*(char ***)f->dst, xstrdup(v));
    return 0;
  case FLAG_INT: {
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (!*v || *end || isspace((unsigned char)*v))
      return berr_set(err, EINVAL, "invalid argument \"%s\" for \"%s\" flag: strconv.ParseInt: parsing \"%s\": invalid syntax",
                      v, d, v);
    if (errno == ERANGE)
      return berr_set(err, EINVAL, "invalid argument \"%s\" for \"%s\" flag: strconv.ParseInt: parsing \"%s\": value out of range",
                      v, d, v);
    *(int64_t *)f->dst = x;
    return 0;
  }
  case FLAG_DURATION:
  case FLAG_BYTES: {
    /* pflag wraps the value parser's own error text */
    _cleanup_berr_ struct berr *e = NULL;
    int r = f->type == FLAG_DURATION ? parse_go_duration_err(v, (int64_t *)f->dst, &e)
                                     : parse_ram_bytes(v, (int64_t *)f->dst, &e);
    if (r < 0)
      return berr_set(err, EINVAL, "invalid argument \"%s\" for \"%s\" flag: %s", v, d, e->msg);
    return 0;
  }
  }
  return 0;
}

static int parse_long(const struct flag *flags, char *arg, int argc, char **argv, int *i,
                      bool *help, struct berr **err) {
  const char *name = arg + 2;
  const char *eq = strchr(name, '=');
  size_t n = eq ? (size_t)(eq - name) : strlen(name);
  const struct flag *f = find_long(flags, name, n);
  if (!f) {
    if (n == 4 && !strncmp(name, "help", 4)) {
      *help = true;
      return 0;
    }
    return berr_set(err, EINVAL, "unknown flag: --%.*s", (int)n, name);
  }
  if (eq)
    return set_value(f, eq + 1, err);
  if (f->type == FLAG_BOOL)
    return set_value(f, NULL, err);
  if (*i + 1 >= argc)
    return berr_set(err, EINVAL, "flag needs an argument: --%s", f->name);
  return set_value(f, argv[++*i], err);
}

static int parse_short(const struct flag *flags, char *arg, int argc, char **argv, int *i,
                       bool *help, struct berr **err) {
  for (char *p = arg + 1; *p; p++) {
    const struct flag *f = find_short(flags, *p);
    if (!f) {
      if (*p == 'h') { /* docker: -h is a deprecated --help */
        *help = true;
        return 0;
      }
      return berr_set(err, EINVAL, "unknown shorthand flag: '%c' in %s", *p, arg);
    }
    if (f->type == FLAG_BOOL) {
      if (p[1] == '=')
        return set_value(f, p + 2, err);
      int r = set_value(f, NULL, err);
      if (r < 0)
        return r;
      continue;
    }
    if (p[1])
      return set_value(f, p[1] == '=' ? p + 2 : p + 1, err);
    if (*i + 1 >= argc)
      return berr_set(err, EINVAL, "flag needs an argument: '%c' in -%c", *p, *p);
    return set_value(f, argv[++*i], err);
  }
  return 0;
}

int flags_parse(const struct flag *flags, int argc, char **argv, bool interspersed,
                char ***args, bool *help, struct berr **err) {
  char **pos = NULL;
  pos = strv_append(pos, NULL); /* make an empty vector */
  *help = false;
  int i;
  for (i = 0; i < argc; i++) {
    char *a = argv[i];
    int r = 0;
    if (!strcmp(a, "--")) {
      i++;
      break;
    }
    if (a[0] == '-' && a[1] == '-' && a[2])
      r = parse_long(flags, a, argc, argv, &i, help, err);
    else if (a[0] == '-' && a[1])
      r = parse_short(flags, a, argc, argv, &i, help, err);
    else {
      pos = strv_append(pos, a);
      if (!interspersed) {
        i++;
        break;
      }
      continue;
    }
    if (r < 0) {
      free(pos);
      return r;
    }
    if (*help)
      break;
  }
  for (; i < argc; i++)
    pos = strv_append(pos, argv[i]);
  *args = pos;
  return 0;
}

void flags_help(FILE *out, const struct flag *flags) {
  for (const struct flag *f = flags; f->name; f++) {
    char d[96];
    const char *t = f->type == FLAG_BOOL ? "" : f->type == FLAG_INT ? " int"
                  : f->type == FLAG_DURATION ? " duration" : f->type == FLAG_BYTES ? " bytes"
                  : f->type == FLAG_STRV ? " list" : " string";
    if (f->shorthand)
      snprintf(d, sizeof(d), "-%c, --%s%s", f->shorthand, f->name, t);
    else
      snprintf(d, sizeof(d), "    --%s%s", f->name, t);
    fprintf(out, "  %-26s %s\n", d, f->help ? f->help : "");
  }
}
