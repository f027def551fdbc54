/*
 * import.c — `docker import`: a tarball (plain or compressed, e.g. from
 * `docker export`) becomes a one-layer image, as dockerd's ImportImage:
 * config = the --change lines applied to an empty container config,
 * comment and the single history entry's comment = the message ("Imported
 * from SRC" without one), architecture/os from --platform or this machine,
 * tagged with the reference when one is given. The layer goes through
 * store_layer_add (escape checks, nothing left of a refused tar).
 */
#include <errno.h>

#include "store/store_internal.h"

int store_import(struct store *s, const struct store_import_opts *o, store_read_fn rd, void *rctx,
                 char **id, struct berr **err) {
  /* the reference and the changes are checked before the body is read */
  if (o->reference && *o->reference) {
    struct image_ref ref;
    int r = image_ref_parse(o->reference, &ref, err);
    if (r < 0)
      return r;
    image_ref_free(&ref);
  }
  _cleanup_json_ json_t *cfg = json_object();
  int r = store_changes_apply(cfg, o->changes, err);
  if (r < 0)
    return r;
  _cleanup_free_ char *diff_id = NULL;
  if ((r = store_layer_add(s, NULL, rd, rctx, &diff_id, err)) < 0)
    return berr_wrap(err, "import");
  _cleanup_free_ char *msg =
      o->message && *o->message ? xstrdup(o->message) : xasprintf("Imported from %s", o->src ? o->src : "-");
  char *tags[2] = {(char *)o->reference, NULL};
  struct store_child c = {
      .diff_id = diff_id,
      .keep_empty_layer = true, /* dockerd's import always has its one layer */
      .config = cfg,
      .comment = msg,
      .docker_version = o->docker_version,
      .os = o->os,
      .architecture = o->architecture,
      .tags = o->reference && *o->reference ? tags : NULL,
  };
  return store_image_child(s, &c, id, err);
}
