/*
 * build.h — the builder: Dockerfile parser, variable expansion, .dockerignore,
 * build graph, and the executor behind POST /build.
 *
 *   parser.c   Dockerfile text → struct dockerfile (stages of instructions,
 *              with flags, args, heredocs and original line numbers)
 *   expand.c   Docker's shell-word processing: quotes, escapes, $var and the
 *              ${var…} modifiers, for the instructions Docker expands
 *   ignore.c   .dockerignore patterns (Go filepath.Match + "**", "!")
 *   graph.c    stages as a graph: dependencies, --target, parallel levels
 *   exec.c     runs a parsed Dockerfile against the image store
 *
 * Error wording: dockerd 20.10's classic builder ("dockerfile parse error line
 * N: unknown instruction: FOO", "failed to parse Dockerfile: file with no
 * instructions"); BuildKit's text for what the classic builder lacks
 * (heredocs). BUILD_PARSE_ERR_FMT is the one place the prefix is spelled.
 */
#pragma once

#include "common/common.h"

/* The default Dockerfile name. */
const char *build_default_dockerfile(void);

/* ---------- AST ---------- */

#define BUILD_PARSE_ERR_FMT "dockerfile parse error line %d: "
/* What dockerd 20.10 reports from its line parser (no line number). */
#define BUILD_LINE_ERR "failed to parse Dockerfile: "

enum binstr_kind {
  BI_UNKNOWN = 0,
  BI_FROM, BI_RUN, BI_CMD, BI_LABEL, BI_MAINTAINER, BI_EXPOSE, BI_ENV, BI_ADD, BI_COPY,
  BI_ENTRYPOINT, BI_VOLUME, BI_USER, BI_WORKDIR, BI_ARG, BI_ONBUILD, BI_STOPSIGNAL,
  BI_HEALTHCHECK, BI_SHELL,
};

/* "--name=value" ("--link": value NULL). Repeatable flags (--mount, --exclude)
 * appear once per use, in order. */
struct bflag {
  char *name;
  char *value;
};

/* A here-document (RUN <<EOF … EOF). */
struct bheredoc {
  char *name;    /* the delimiter, quotes removed */
  char *content; /* the body, each line ending in "\n" (tabs stripped for <<-) */
  bool expand;   /* delimiter unquoted: $vars in the body are expanded */
  bool chomp;    /* <<- */
};

struct binstr {
  enum binstr_kind kind;
  char *keyword;       /* upper-case: "RUN" */
  char *original;      /* the whole logical line as written (continuations joined) */
  char *rest;          /* the text after the keyword and flags, trimmed */
  int line, end_line;  /* 1-based first and last line (heredoc bodies included) */
  struct bflag *flags;
  size_t nflags;
  /* Arguments, NULL-terminated:
   *   exec form (json=true): the JSON array's strings (RUN/CMD/ENTRYPOINT/SHELL,
   *     COPY/ADD/VOLUME); shell form of RUN/CMD/ENTRYPOINT: one string;
   *   ENV/LABEL: key, value, key, value… (values raw: quotes kept, expanded later);
   *   ARG: "name" or "name=value" words; HEALTHCHECK: "NONE" or "CMD" then as RUN;
   *   FROM: image [, "AS", name]; others: whitespace-separated words (WORKDIR,
   *   MAINTAINER: the whole rest as one). */
  char **args;
  bool json;
  struct bheredoc *heredocs;
  size_t nheredocs;
  struct binstr *sub; /* ONBUILD's trigger, parsed */
};

struct bstage {
  char *name;     /* lower-cased "AS" name or NULL */
  char *base;     /* FROM's image (unexpanded) */
  char *platform; /* --platform or NULL */
  int index;      /* 0-based */
  struct binstr *from; /* points into instrs[0] */
  struct binstr *instrs; /* instrs[0] is the FROM */
  size_t ninstrs;
};

struct dockerfile {
  char escape;        /* '\\' or '`' */
  char *syntax;       /* # syntax= or NULL */
  char *check;        /* # check= or NULL */
  struct binstr *meta_args; /* ARGs before the first FROM */
  size_t nmeta_args;
  struct bstage *stages;
  size_t nstages;
};

/* Parse Dockerfile text. Errors carry Docker's wording with the line number
 * (-EINVAL). Caller frees *out with dockerfile_free. */
int dockerfile_parse(const char *text, size_t len, struct dockerfile **out, struct berr **err);
void dockerfile_free(struct dockerfile *df);
/* The flag's value (last one given), NULL when absent; *present tells a bare flag. */
const char *binstr_flag(const struct binstr *in, const char *name, bool *present);

/* ---------- variable expansion (expand.c) ---------- */

/* Variables visible to an instruction, in order; later entries win. */
struct bvars {
  char **keys;
  char **values;
  size_t n, cap;
  char ***missing; /* optional: names expanded as plain $X / ${X} while unset
                      are appended to *missing (a strv the caller owns) */
};
void bvars_set(struct bvars *v, const char *key, const char *value);
/* NULL when unset. */
const char *bvars_get(const struct bvars *v, const char *key);
void bvars_free(struct bvars *v);
void bvars_copy(struct bvars *dst, const struct bvars *src);

/* Process one word as Docker does: quotes removed, escapes resolved, $vars
 * and ${var…} expanded. Caller frees *out. -EINVAL with a message on a bad
 * substitution ("missing '}'", "unsupported modifier"). */
int build_expand_word(const char *word, char escape, const struct bvars *vars, char **out,
                      struct berr **err);
/* The same, splitting the result into words at unquoted whitespace
 * (EXPOSE, VOLUME, FROM…). Caller frees *out (strv). */
int build_expand_words(const char *text, char escape, const struct bvars *vars, char ***out,
                       struct berr **err);
/* Only $vars in a heredoc body (no quote processing). */
int build_expand_heredoc(const char *body, const struct bvars *vars, char **out, struct berr **err);
/* Shell glob as ${var#pattern} uses it: '*', '?', '\' escape. */
bool build_glob_match(const char *pattern, size_t plen, const char *s, size_t slen);

/* ---------- .dockerignore (ignore.c) ---------- */

struct bignore_pat {
  char *pattern; /* cleaned, slash-separated, no leading '/' */
  bool exclusion; /* "!pattern" */
};
struct bignore {
  struct bignore_pat *pats;
  size_t n;
};
/* Parse .dockerignore text (comments, blank lines, "!", leading "/", cleaning). */
int bignore_parse(const char *text, struct bignore *out, struct berr **err);
void bignore_free(struct bignore *ig);
/* Is `path` (relative to the context, slash-separated) excluded? A pattern
 * matching a parent dir excludes everything under it; the last match wins. */
bool bignore_excluded(const struct bignore *ig, const char *path);
/* Could anything under dir `path` be re-included by a "!" pattern (so the walk
 * must descend into an excluded dir)? */
bool bignore_has_exceptions(const struct bignore *ig);
/* Go's filepath.Match plus "**" (any number of path segments). */
bool bignore_match(const char *pattern, const char *name);

/* ---------- build graph (graph.c) ---------- */

struct bgraph_stage {
  size_t *deps;  /* indexes of stages this one needs (FROM, COPY --from, RUN --mount from=) */
  size_t ndeps;
  bool needed;   /* on the way to the target */
  int level;     /* 0: no stage deps; n: 1 + max level of its deps (same level: parallel) */
  bool base_is_stage; /* FROM names an earlier stage */
  size_t base_stage;
};
struct bgraph {
  struct bgraph_stage *stages;
  size_t n;
  size_t target; /* index of the target stage */
};
/* Find a stage by name (case-insensitive) or decimal index; -1 when none. */
ssize_t dockerfile_stage_find(const struct dockerfile *df, const char *name);
/* Build the graph for `target` (NULL: the last stage). Errors: unknown target
 * ("failed to reach build target X in Dockerfile"), a cycle ("circular
 * dependency detected on stage: X"). Stage references in flags are expanded
 * with the meta ARGs `vars` (may be NULL). */
int bgraph_build(const struct dockerfile *df, const char *target, const struct bvars *vars,
                 struct bgraph *out, struct berr **err);
void bgraph_free(struct bgraph *g);

/* ---------- the builder (builder.c, exec.c) ---------- */

struct store;
struct db;
/* The daemon's builder state: the build cache (a table in the daemon's DB,
 * so it survives restarts) and where builds keep their temp files. */
struct builder;
/* `db` (may be NULL: no cache) stays the caller's; data_root: the store's
 * (temp files go to <data_root>/builder/tmp, created). */
int builder_new(struct store *s, struct db *db, const char *data_root, struct builder **out, struct berr **err);
/* Remove <data_root>/containers/<cid>, the empty dir a build snapshot leaves
 * after store_rw_remove (the container manager removes it for its own). */
void builder_snapshot_dir_remove(struct builder *b, const char *cid);
void builder_free(struct builder *b);
/* A fresh temp dir under the builder's tmp root (caller removes it). */
int builder_tmpdir(struct builder *b, char **out, struct berr **err);
/* Forget every cache entry (builder prune); *n gets how many. */
int builder_cache_prune(struct builder *b, int64_t *n, struct berr **err);
/* Cache: the image a step made from `key`, or NULL (caller frees). */
char *builder_cache_get(struct builder *b, const char *key);
void builder_cache_put(struct builder *b, const char *key, const char *image_id);
struct store *builder_store(struct builder *b);
/* The host dir of RUN --mount=type=cache with key `key` (caller frees; not created). */
char *builder_cache_mount_dir(struct builder *b, const char *key);

/* A build secret (--secret id=…): its bytes, in memory only. */
struct build_secret {
  char *id;
  unsigned char *data;
  size_t len;
};

/* ---------- build secrets (secrets.c; also compiled into the CLI) ---------- */

#define BUILD_SECRET_MAX (500 * 1024) /* BuildKit's MaxSecretSize */
#define BUILD_SECRETS_HEADER "X-Berth-Build-Secrets"
/* One --secret flag: id=X[,src=FILE][,env=VAR][,type=file|env]. */
struct build_secret_spec {
  char *id, *src, *env;
};
/* Parse a --secret value (buildx's errors). */
int build_secret_spec_parse(const char *spec, struct build_secret_spec *out, struct berr **err);
void build_secret_spec_free(struct build_secret_spec *s);
/* Read the secret (env var or file; neither given: the env var named like
 * the id if set, else the file) and append its record to the wire bytes
 * (*wire, *wire_len) (malloc'd; the caller wipes them with explicit_bzero). */
int build_secret_encode(const struct build_secret_spec *spec, char **wire, size_t *wire_len, struct berr **err);
/* The wire bytes → secrets (a later id replaces an earlier one). */
int build_secrets_decode(const char *buf, size_t len, struct build_secret **out, size_t *n, struct berr **err);
/* Wipe and free. */
void build_secrets_free(struct build_secret *s, size_t n);

/* POST /build's options (dockerd's query parameters). */
struct build_opts {
  const char *context_dir;  /* the unpacked context */
  const char *dockerfile;   /* path in the context (default "Dockerfile") */
  char *const *tags;        /* t= (several) */
  const json_t *buildargs;  /* {"K":"v"} */
  const json_t *labels;     /* {"k":"v"} */
  const char *target;
  const char *platform;
  bool nocache, quiet, pull;
  const char *runtime;       /* berth-runc (or runc-compatible) for RUN */
  const char *cgroup_parent; /* RUN containers go in <parent>/builder-<id> */
  const char *network;       /* networkmode: "default"/"none" (a new empty netns), "host" */
  int *exit_code;            /* set to a failed RUN's exit code (else 0); may be NULL */
  /* --secret (build-opts): what RUN --mount=type=secret reads; never written
   * to a layer, the cache key, history or disk (the caller wipes it). */
  const struct build_secret *secrets;
  size_t nsecrets;
  /* --no-cache-filter: names of stages whose steps never use the cache */
  char *const *nocache_stages;
  /* RUN's network (the daemon's, routes_build.c: the builder does not
   * reach src/net): a namespace for step `id` with lo up and, when `bridge`
   * ("default" mode), an endpoint on the default bridge (*netns, caller
   * frees: its path for the runtime; NULL: let the runtime make one);
   * net_teardown removes it all (veth, address, namespace) after the step.
   * NULL callbacks: the runtime makes a new namespace for every RUN. */
  int (*net_setup)(void *net_ctx, const char *id, bool bridge, char **netns, struct berr **err);
  void (*net_teardown)(void *net_ctx, const char *id);
  void *net_ctx;
  /* Output text ("Step 1/3 : FROM busybox\n"): each call is one "stream"
   * message (also when quiet: the caller keeps it for an error). aux(ctx,
   * id) gets the final image ID. */
  void (*out)(void *ctx, const char *text);
  void (*aux)(void *ctx, const char *image_id);
  void *ctx;
  /* Another JSON message of the output (a pull's progress, as dockerd's
   * builder forwards it); may be NULL. Called on the build_run thread. */
  void (*msg)(void *ctx, json_t *m);
  /* Pull `ref` into the store (FROM an image not in it, or any with
   * --pull): the daemon's registry client. Progress messages go to
   * emit(ectx, m) (from any thread, one at a time; m stays the caller's);
   * *image_id (caller frees) is
   * the pulled image's ID. NULL: pulling is not possible. */
  int (*pull_image)(void *pull_ctx, const char *ref, void (*emit)(void *ectx, json_t *m), void *ectx, char **image_id,
              struct berr **err);
  void *pull_ctx;
};
/* Run a build; *image_id (caller frees) is the result. Errors are Docker's
 * text (parse errors with their line, "COPY failed: …"). */
int build_run(struct builder *b, const struct build_opts *o, char **image_id, struct berr **err);

/* Unpack a build context sent to POST /build (a tar, plain or compressed; or
 * a bare Dockerfile, which becomes "Dockerfile") read from rd(rctx, …) into
 * a new temp dir of the builder: *dir (caller removes it with rm_rf and
 * frees). Entries escaping the dir are refused. */
int build_context_unpack(struct builder *b, ssize_t (*rd)(void *rctx, void *buf, size_t len), void *rctx,
                         char **dir, struct berr **err);
/* Hand the context dir back after the build (instead of removing it): the
 * builder keeps a few warm for the next build_context_unpack to update in
 * place, and removes the others. The caller still frees the string. */
void build_context_release(struct builder *b, const char *dir);
/* builder.c, for context.c: a dir for a new context, a warm one when there
 * is one (*dir, caller frees); and marking one as not to be kept warm
 * (renames it, updating *dir). */
int builder_context_claim(struct builder *b, char **dir, struct berr **err);
void builder_context_no_warm(struct builder *b, char **dir);
