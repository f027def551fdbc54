/*
 * registry.h — the distribution client (OCI distribution spec): reference
 * resolution against a registry, auth (anonymous, basic, bearer token),
 * pull into the store, push from it. Lower layer than the daemon: it knows
 * the store (store.h) and common/, nothing above.
 *
 * One struct registry lives in the daemon (d->registry): the TLS context and
 * the token cache, shared by every pull and push (thread-safe). The daemon
 * passes its current insecure-registries / registry-mirrors with each call
 * (they reload on SIGHUP).
 *
 * Progress: pull and push report Docker's JSON messages (the objects dockerd
 * writes on /images/create and /images/{name}/push) through opts->progress,
 * serialised (never two calls at once), from any thread. An error that
 * happens before the first message is only returned; after it, the caller
 * writes it into the stream as {"errorDetail":{"message"},"error"}.
 */
#pragma once

#include "common/common.h"
#include "store/store.h"

struct registry;

int registry_new(struct registry **out, struct berr **err);
void registry_free(struct registry *r);

/* Credentials as the X-Registry-Auth header carries them. */
struct registry_auth {
  char *username, *password, *serveraddress, *identitytoken;
};
/* Decode X-Registry-Auth (base64url of JSON; NULL or "" → empty auth). */
int registry_auth_decode(const char *header, struct registry_auth *out, struct berr **err);
void registry_auth_clear(struct registry_auth *a);

struct registry_opts {
  char *const *insecure;               /* insecure-registries (hosts, host:port, CIDRs) */
  char *const *mirrors;                /* registry-mirrors (URLs), for docker.io */
  const struct registry_auth *auth;    /* may be NULL: anonymous */
  void (*progress)(json_t *msg, void *ctx); /* gets (and owns) each message; may be NULL */
  void *ctx;
  const bool *cancel;                  /* may be NULL; set (from any thread) to stop a pull: the
                                          client went away */
};

/* Pull `name` (fromImage) with `tag` (a tag, a digest, or NULL/"" for the
 * name's own or "latest") for `platform` ("os/arch[/variant]", NULL: the
 * host's) into the store. *pulled gets the reference recorded
 * ("busybox:latest", for the "pull" event; caller frees). Nothing partial
 * stays on failure. */
int registry_pull(struct registry *reg, struct store *s, const char *name, const char *tag,
                  const char *platform, const struct registry_opts *o, char **pulled, struct berr **err);
/* Push local image `name` (with `tag`, NULL/"": the name's tag or every tag
 * of that repository — we push the one given or "latest"). */
int registry_push(struct registry *reg, struct store *s, const char *name, const char *tag,
                  const struct registry_opts *o, struct berr **err);
/* Check credentials against a registry (serveraddress; "" = docker.io).
 * -EACCES with the registry's wording on bad credentials. */
int registry_login(struct registry *reg, const struct registry_auth *auth, const struct registry_opts *o,
                   struct berr **err);
/* GET /distribution/{name}/json: {"Descriptor":{mediaType,digest,size},"Platforms":[…]} */
int registry_distribution(struct registry *reg, const char *name, const struct registry_opts *o,
                          json_t **out, struct berr **err);
