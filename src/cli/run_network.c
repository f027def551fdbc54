/*
 * run_network.c — `run` / `create` options: the network group (run.h).
 */
#include "cli/run.h"

size_t run_network_flags(struct run_network_opts *o, struct flag *out) {
  (void)o, (void)out;
  return 0;
}

int run_network_apply(const struct run_network_opts *o, json_t *cfg, json_t *hc, json_t *nc,
                   struct berr **err) {
  (void)o, (void)cfg, (void)hc, (void)nc, (void)err;
  return 0;
}

void run_network_free(struct run_network_opts *o) { (void)o; }
