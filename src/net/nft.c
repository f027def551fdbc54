/*
 * nft.c — libnftables, loaded with dlopen on first use: Debian ships no
 * static archive of it, and a berthd started with --iptables=false must
 * never map it (idle RSS). Commands are nft's own syntax, run as one
 * transaction per call (nft_run_cmd_from_buffer is atomic for a buffer).
 *
 * nft_apply remembers the last ruleset it wrote and skips writing the same
 * one again: a container without published ports leaves berthd's table as it
 * was, and libnftables would otherwise re-read the kernel's ruleset (six
 * dumps) and replace the table at every container start and stop. Any other
 * command (nft_run) forgets it, since it may have changed the table.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <string.h>

#include "net/net_internal.h"

struct nft_ctx;

struct nft {
  void *so;
  struct nft_ctx *ctx;
  struct nft_ctx *(*ctx_new)(uint32_t flags);
  int (*buffer_output)(struct nft_ctx *);
  int (*buffer_error)(struct nft_ctx *);
  int (*run)(struct nft_ctx *, const char *);
  const char *(*error_buffer)(struct nft_ctx *);
  void (*ctx_free)(struct nft_ctx *);
  char *applied; /* the last ruleset nft_apply wrote, NULL after anything else */
};

static int nft_load(struct nft **out, struct berr **err) {
  void *so = dlopen("libnftables.so.1", RTLD_NOW | RTLD_LOCAL);
  if (so == NULL)
    return berr_set(err, ENOENT, "nftables: cannot load libnftables.so.1: %s", dlerror());
  struct nft *t = xcalloc(1, sizeof(*t));
  t->so = so;
  *(void **)&t->ctx_new = dlsym(so, "nft_ctx_new");
  *(void **)&t->buffer_output = dlsym(so, "nft_ctx_buffer_output");
  *(void **)&t->buffer_error = dlsym(so, "nft_ctx_buffer_error");
  *(void **)&t->run = dlsym(so, "nft_run_cmd_from_buffer");
  *(void **)&t->error_buffer = dlsym(so, "nft_ctx_get_error_buffer");
  *(void **)&t->ctx_free = dlsym(so, "nft_ctx_free");
  if (!t->ctx_new || !t->buffer_output || !t->buffer_error || !t->run || !t->error_buffer ||
      !t->ctx_free) {
    dlclose(so);
    free(t);
    return berr_set(err, ENOSYS, "nftables: libnftables.so.1 lacks the expected functions");
  }
  t->ctx = t->ctx_new(0);
  if (t->ctx == NULL) {
    dlclose(so);
    free(t);
    return berr_set(err, ENOMEM, "nftables: cannot make a context");
  }
  t->buffer_output(t->ctx);
  t->buffer_error(t->ctx);
  *out = t;
  return 0;
}

int nft_run(struct nft **t, const char *cmds, struct berr **err) {
  int rc;
  if (*t == NULL && (rc = nft_load(t, err)) < 0)
    return rc;
  free((*t)->applied);
  (*t)->applied = NULL;
  if ((*t)->run((*t)->ctx, cmds) != 0) {
    const char *e = (*t)->error_buffer((*t)->ctx);
    _cleanup_free_ char *msg = xstrdup(e && *e ? e : "unknown error");
    size_t l = strlen(msg);
    while (l && (msg[l - 1] == '\n' || msg[l - 1] == ' '))
      msg[--l] = '\0';
    return berr_set(err, EIO, "nftables: %s", msg);
  }
  return 0;
}

bool nft_is_applied(const struct nft *t, const char *ruleset) {
  return t && t->applied && strcmp(t->applied, ruleset) == 0;
}

int nft_apply(struct nft **t, const char *ruleset, struct berr **err) {
  if (nft_is_applied(*t, ruleset))
    return 0;
  int rc = nft_run(t, ruleset, err);
  if (rc == 0)
    (*t)->applied = xstrdup(ruleset);
  return rc;
}

void nft_free(struct nft *t) {
  if (t == NULL)
    return;
  free(t->applied);
  t->ctx_free(t->ctx);
  dlclose(t->so);
  free(t);
}
