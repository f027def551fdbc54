/*
 * run_storage.c — `run` / `create` options for volumes and mounts (run.h).
 */
#include "cli/run.h"

size_t run_storage_flags(struct run_storage_opts *o, struct flag *out) {
  size_t n = 0;
  out[n++] = (struct flag){"mount", 0, FLAG_STRV, &o->mount, "Attach a filesystem mount to the container", NULL};
  out[n++] = (struct flag){"volumes-from", 0, FLAG_STRV, &o->volumes_from,
                           "Mount volumes from the specified container(s)", NULL};
  return n;
}

int run_storage_apply(const struct run_storage_opts *o, json_t *cfg, json_t *hc, json_t *nc,
                      struct berr **err) {
  (void)cfg, (void)nc, (void)err;
  if (o->volumes_from) {
    json_t *a = json_array();
    for (char **v = o->volumes_from; *v; v++)
      json_array_append_new(a, json_string(*v));
    json_object_set_new(hc, "VolumesFrom", a);
  }
  return 0;
}

void run_storage_free(struct run_storage_opts *o) {
  strv_freep(&o->mount);
  strv_freep(&o->volumes_from);
}
