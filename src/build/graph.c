/*
 * graph.c — a Dockerfile's stages as a graph (build.h).
 *
 * Edges: FROM <stage name>, COPY --from=<name|index>, RUN --mount=…,from=<name|index>.
 * A FROM name is a stage only when an EARLIER stage has that name (Docker: a
 * later name is an image); --from may name any stage, so cycles are possible
 * and refused. `needed` marks the stages reachable from the target; `level`
 * groups stages that can be built in parallel (all deps in lower levels).
 */
#include <ctype.h>
#include <errno.h>
#include <strings.h>

#include "build/build_internal.h"

ssize_t dockerfile_stage_find(const struct dockerfile *df, const char *name) {
  if (!name || !*name)
    return -1;
  for (size_t i = 0; i < df->nstages; i++)
    if (df->stages[i].name && strcasecmp(df->stages[i].name, name) == 0)
      return (ssize_t)i;
  int64_t idx;
  if (isdigit((unsigned char)name[0]) && parse_int64(name, &idx) == 0 && idx >= 0 && (size_t)idx < df->nstages)
    return (ssize_t)idx;
  return -1;
}

void bgraph_free(struct bgraph *g) {
  for (size_t i = 0; i < g->n; i++)
    free(g->stages[i].deps);
  free(g->stages);
  memset(g, 0, sizeof *g);
}

static void add_dep(struct bgraph_stage *s, size_t d) {
  for (size_t i = 0; i < s->ndeps; i++)
    if (s->deps[i] == d)
      return;
  s->deps = xrealloc(s->deps, (s->ndeps + 1) * sizeof *s->deps);
  s->deps[s->ndeps++] = d;
}

/* "from=x" in a --mount value (comma-separated key=value). Caller frees. */
static char *mount_from(const char *mount) {
  _cleanup_free_ char *m = xstrdup(mount);
  char *save = NULL;
  for (char *tok = strtok_r(m, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
    if (str_has_prefix(tok, "from="))
      return xstrdup(tok + 5);
  return NULL;
}

static int ref_dep(const struct dockerfile *df, const struct bvars *vars, size_t self, const char *ref,
                   struct bgraph_stage *gs, struct berr **err) {
  _cleanup_free_ char *x = NULL;
  if (build_expand_word(ref, df->escape, vars, &x, err) < 0)
    return -EINVAL;
  ssize_t d = dockerfile_stage_find(df, x);
  if (d < 0)
    return 0; /* an image */
  if ((size_t)d == self)
    return berr_set(err, EINVAL, "circular dependency detected on stage: %s",
                    df->stages[self].name ? df->stages[self].name : x);
  add_dep(gs, (size_t)d);
  return 0;
}

static int visit(struct bgraph *g, const struct dockerfile *df, size_t i, int *state, struct berr **err) {
  if (state[i] == 2)
    return 0;
  if (state[i] == 1)
    return berr_set(err, EINVAL, "circular dependency detected on stage: %s",
                    df->stages[i].name ? df->stages[i].name : "");
  state[i] = 1;
  int lvl = 0;
  for (size_t k = 0; k < g->stages[i].ndeps; k++) {
    size_t d = g->stages[i].deps[k];
    if (visit(g, df, d, state, err) < 0)
      return -EINVAL;
    if (g->stages[d].level + 1 > lvl)
      lvl = g->stages[d].level + 1;
  }
  g->stages[i].level = lvl;
  state[i] = 2;
  return 0;
}

static void mark_needed(struct bgraph *g, size_t i) {
  if (g->stages[i].needed)
    return;
  g->stages[i].needed = true;
  for (size_t k = 0; k < g->stages[i].ndeps; k++)
    mark_needed(g, g->stages[i].deps[k]);
}

int bgraph_build(const struct dockerfile *df, const char *target, const struct bvars *vars, struct bgraph *out,
                 struct berr **err) {
  _cleanup_free_ int *state = NULL; /* before any goto: cleanup runs at fail */
  memset(out, 0, sizeof *out);
  if (df->nstages == 0)
    return berr_set(err, EINVAL, "no build stage in current context");
  out->n = df->nstages;
  out->stages = xcalloc(out->n, sizeof *out->stages);
  for (size_t i = 0; i < df->nstages; i++) {
    const struct bstage *st = &df->stages[i];
    struct bgraph_stage *gs = &out->stages[i];
    _cleanup_free_ char *base = NULL;
    if (build_expand_word(st->base, df->escape, vars, &base, err) < 0)
      goto fail;
    for (size_t j = 0; j < i; j++)
      if (df->stages[j].name && strcasecmp(df->stages[j].name, base) == 0) {
        gs->base_is_stage = true;
        gs->base_stage = j;
      }
    if (gs->base_is_stage)
      add_dep(gs, gs->base_stage);
    for (size_t k = 1; k < st->ninstrs; k++) {
      const struct binstr *in = &st->instrs[k];
      for (size_t f = 0; f < in->nflags; f++) {
        const struct bflag *fl = &in->flags[f];
        if (in->kind == BI_COPY && strcmp(fl->name, "from") == 0) {
          if (ref_dep(df, vars, i, fl->value, gs, err) < 0)
            goto fail;
        } else if (in->kind == BI_RUN && strcmp(fl->name, "mount") == 0) {
          _cleanup_free_ char *from = mount_from(fl->value);
          if (from && ref_dep(df, vars, i, from, gs, err) < 0)
            goto fail;
        }
      }
    }
  }
  if (target && *target) {
    ssize_t t = -1;
    for (size_t i = 0; i < df->nstages; i++)
      if (df->stages[i].name && strcasecmp(df->stages[i].name, target) == 0)
        t = (ssize_t)i;
    if (t < 0) {
      berr_set(err, EINVAL, "failed to reach build target %s in Dockerfile", target);
      goto fail;
    }
    out->target = (size_t)t;
  } else {
    out->target = df->nstages - 1;
  }
  state = xcalloc(out->n, sizeof(int));
  for (size_t i = 0; i < out->n; i++)
    if (visit(out, df, i, state, err) < 0)
      goto fail;
  mark_needed(out, out->target);
  return 0;
fail:
  bgraph_free(out);
  return -EINVAL;
}
