/* placeholder until the container manager lands */
#include "daemon/containers.h"
#include "daemon/daemon.h"
int containers_init(struct daemon *d, struct berr **err) { return 0; }
void containers_shutdown(struct daemon *d) {}
void containers_counts(struct daemon *d, int *total, int *running, int *paused, int *stopped) {
  *total = *running = *paused = *stopped = 0;
}
bool containers_image_in_use(const char *image_id, void *ctx) { return false; }
json_t *containers_df(struct daemon *d) { return json_array(); }
