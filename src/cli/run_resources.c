/*
 * run_resources.c — `run` / `create` options: the resources group (run.h).
 */
#include "cli/run.h"

size_t run_resources_flags(struct run_resources_opts *o, struct flag *out) {
  (void)o, (void)out;
  return 0;
}

int run_resources_apply(const struct run_resources_opts *o, json_t *cfg, json_t *hc, json_t *nc,
                   struct berr **err) {
  (void)o, (void)cfg, (void)hc, (void)nc, (void)err;
  return 0;
}

void run_resources_free(struct run_resources_opts *o) { (void)o; }
