/*
 * build_internal.h — helpers shared by the builder's files (not public).
 * sbuf: a growable NUL-terminated byte buffer (aborts on OOM like xmalloc).
 */
#pragma once

#include "build/build.h"

struct sbuf {
  char *s;
  size_t len, cap;
};

static inline void sbuf_grow(struct sbuf *b, size_t more) {
  if (b->len + more + 1 > b->cap) {
    size_t c = b->cap ? b->cap * 2 : 64;
    while (c < b->len + more + 1)
      c *= 2;
    b->s = xrealloc(b->s, c);
    b->cap = c;
  }
}
static inline void sbuf_addn(struct sbuf *b, const char *s, size_t n) {
  sbuf_grow(b, n);
  memcpy(b->s + b->len, s, n);
  b->len += n;
  b->s[b->len] = '\0';
}
static inline void sbuf_add(struct sbuf *b, const char *s) { sbuf_addn(b, s, strlen(s)); }
static inline void sbuf_addc(struct sbuf *b, char c) { sbuf_addn(b, &c, 1); }
/* The buffer's string (never NULL); ownership passes to the caller. */
static inline char *sbuf_steal(struct sbuf *b) {
  char *s = b->s ? b->s : xstrdup("");
  b->s = NULL;
  b->len = b->cap = 0;
  return s;
}
static inline void sbuf_free(struct sbuf *b) {
  free(b->s);
  b->s = NULL;
  b->len = b->cap = 0;
}
static inline bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

/* parser.c: split on unquoted whitespace keeping quotes and escapes as written
 * (BuildKit's parseWords). */
char **build_parse_words(const char *rest, char escape);

/* ---------- copy.c: COPY / ADD file operations ---------- */

#include <sys/types.h>

/* mkdir -p of `path` under root_fd (in-root resolution); new dirs get 0755
 * and uid:gid. Returns an O_DIRECTORY fd of the final dir or -errno. */
int bfs_mkdir_in_root(int root_fd, const char *path, uid_t uid, gid_t gid);

struct bcopy_opts {
  const char *cmd;        /* "COPY" / "ADD" (messages) */
  int src_root;           /* the context dir, or a stage's / image's rootfs */
  bool src_is_context;    /* messages: "build context" */
  char *const *srcs;      /* sources, expanded, relative to src_root */
  const char *dest;       /* absolute path in the image (WORKDIR applied) */
  bool dest_is_dir;       /* the destination ended with "/" (or "." forms) */
  int dst_root;           /* the mounted rootfs being built */
  bool do_chown;
  uid_t uid;
  gid_t gid;
  bool do_chmod;
  mode_t mode;
  bool extract;           /* ADD: unpack local tar archives */
  bool parents;           /* --parents: keep the sources' directories */
  char *const *excludes;  /* --exclude patterns (may be NULL) */
  bool hash_only;         /* compute *desc only: nothing written, dst_root unused
                           * (the cache lookup before any snapshot is mounted) */
};
/* Copy the sources into the rootfs. *desc gets Docker's history source
 * description ("file:<hex>", "dir:<hex>", "multi:<hex>"; hex: sha256 of the
 * sources' names, modes, owners and contents, not mtimes). Caller frees. */
int bcopy_run(const struct bcopy_opts *o, char **desc, struct berr **err);
/* "uid[:gid]" or names looked up in the rootfs's /etc/passwd and /etc/group. */
int bchown_parse(const char *spec, int root_fd, uid_t *uid, gid_t *gid, struct berr **err);
/* Unpack the tar read from fd into the dir root_fd (in-root resolution;
 * ".." entries dropped). */
int bfs_extract_fd(int fd, int root_fd, struct berr **err);

/* ---------- run.c: a RUN step's container ---------- */

struct brun_opts {
  const char *runtime;       /* runc-compatible binary */
  const char *state_root;    /* its --root */
  const char *bundle;        /* dir for config.json (created) */
  const char *cid;           /* container ID (also the cgroup's name) */
  const char *hostname;
  const char *rootfs;        /* the mounted snapshot */
  const char *cgroup_parent; /* may be NULL */
  char *const *args;
  char *const *env;
  const char *cwd;
  uid_t uid;
  gid_t gid;
  bool host_net;
  const char *netns;         /* join this network namespace (NULL: a new one, or the host's) */
  const json_t *mounts;      /* extra OCI mounts (may be NULL) */
  void (*out)(void *ctx, const char *text);
  void *ctx;
};
/* Run the container in the foreground; *status: its exit code. */
int brun_container(const struct brun_opts *o, int *status, struct berr **err);

/* ---------- gofmt.c: Go's formatting in history strings ---------- */

/* strconv.Quote for the ASCII/UTF-8 text of Dockerfiles */
void gofmt_quote(struct sbuf *b, const char *s);
/* fmt of a []string: %q (quote) ["a" "b"], %v [a b] */
void gofmt_strv(struct sbuf *b, const json_t *arr, bool quote);
/* time.Duration.String() of ns */
void gofmt_duration(struct sbuf *b, int64_t ns);
/* fmt %q of an int: a quoted rune literal */
void gofmt_quote_rune(struct sbuf *b, int64_t v);


/* ---------- exec.c: build state and step helpers (shared with run_step.c) ---------- */

struct sstate {          /* one stage */
  char *image;           /* current image ID, NULL for scratch before any commit */
  json_t *config;        /* the image's "config" being built */
  char *author;          /* MAINTAINER */
  struct bvars args;     /* ARGs declared in this stage, with values */
  bool cmd_set;          /* CMD given in this stage (ENTRYPOINT resets an inherited one) */
  bool nocache;          /* --no-cache, or the stage is in --no-cache-filter */
};

struct bstate {
  struct builder *b;
  struct store *s;
  const struct build_opts *o;
  struct dockerfile *df;
  struct bgraph g;
  char *tmp;             /* this build's temp dir */
  int ctx_fd;            /* the context dir */
  struct bvars global;   /* meta ARGs + predefined platform args */
  char **stage_image;    /* result of each stage (indexed like df->stages) */
  char **used_args;      /* build args consumed */
  int step, nsteps;
  int line;              /* the instruction being run (warnings) */
  struct berr **err;
};

struct rootfs {
  struct builder *b;
  struct store *s;
  char *cid;
  char *path;
  int fd;
};

void bx_out(struct bstate *bs, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Variables an instruction of the stage sees: its ARGs, then ENV (wins). */
void bx_stage_vars(const struct sstate *ss, struct bvars *v);
json_t *bx_shell_of(const struct sstate *ss);
json_t *bx_strv_json(char *const *v);
/* The step's cache key: sha256(parent, created_by, config). */
char *bx_cache_key(const struct sstate *ss, const char *created_by, const char *extra);
/* Adopt a cached image: its config becomes the stage's. */
int bx_use_cache(struct bstate *bs, struct sstate *ss, const char *id);
/* An overlay snapshot of `image` (NULL: scratch), mounted; rf->fd its root. */
int bx_rootfs_open(struct bstate *bs, const char *image, struct rootfs *rf);
void bx_rootfs_close(struct rootfs *rf);
/* The snapshot's changes → a layer on top of ss->image → commit. */
int bx_layer_commit(struct bstate *bs, struct sstate *ss, struct rootfs *rf, const char *created_by,
                    const char *cache);
char *bx_workdir_of(const struct sstate *ss);
bool bx_is_proxy_arg(const char *k);

/* ---------- run_step.c: the RUN instruction ---------- */

/* RUN --mount=type=secret's options, parsed (workdir: for a relative target). */
struct bsecret_mount {
  char *id;
  char *target;   /* absolute; NULL: env= only */
  char *env;      /* env=VAR or NULL */
  bool required;
  uint32_t mode, uid, gid;
};
int bsecret_mount_parse(const char *spec, const char *workdir, struct bsecret_mount *m, struct berr **err);
void bsecret_mount_free(struct bsecret_mount *m);

int bx_do_run(struct bstate *bs, struct sstate *ss, const struct binstr *in);
/* --no-cache, or stage si named in --no-cache-filter: its steps skip the cache. */
bool bx_stage_nocache(const struct bstate *bs, size_t si);

/* ---------- stages.c: the stage scheduler (build-graph) ---------- */

/* Build stage `si` into bs->stage_image[si]; stops before an instruction
 * once *cancel (may be NULL) is set. */
int bx_build_stage(struct bstate *bs, size_t si, const bool *cancel);
/* Build every needed stage, independent ones concurrently; output in the
 * sequential order; the first failure cancels the rest. */
int bx_run_stages(struct bstate *bs);

/* ---------- fetch.c: ADD <url> (build-graph) ---------- */

struct bfetch {
  char *name;        /* dockerd's file name: the URL path's last element, else
                        Content-Disposition's filename; NULL when neither */
  char *file;        /* the file created in the dir (name, or "download") */
  char sha256[65];   /* hex of the content */
};
/* GET an http:// URL (redirects followed) into a new file of dir_fd: mode
 * 0600, mtime from Last-Modified (else the epoch). Errors name the URL with
 * Go's wording. */
int bfetch_url(const char *url, int dir_fd, struct bfetch *out, struct berr **err);
void bfetch_free(struct bfetch *f);
