/*
 * container_volumes.h — the container manager's side of volumes and mounts
 * (container_volumes.c), called from container_run.c, container_inspect.c
 * with one-line hooks.
 *
 * A container's mount points (Docker's MountPoint: Type, Name, Source,
 * Destination, Driver, Mode, RW, Propagation + our CopyData, SubPath,
 * NonRecursive, Anonymous) are resolved once at create from HostConfig.Binds,
 * HostConfig.Mounts (bind and volume), Config.Volumes (the image's VOLUME
 * entries and `-v /path`) and HostConfig.VolumesFrom, and recorded in the
 * volume store (volume_refs_set), which also counts the references.
 */
#ifndef BERTH_DAEMON_CONTAINER_VOLUMES_H
#define BERTH_DAEMON_CONTAINER_VOLUMES_H

#include "daemon/container_internal.h"

/* Pure: the mount points that Binds / Mounts / Config.Volumes describe
 * (volumes not created yet: "Name" may be "" for anonymous ones; VolumesFrom
 * not included). Docker's errors (400) for malformed specs. New array. */
int cv_parse_mounts(const json_t *cfg, const json_t *hc, json_t **out, struct berr **err);

/* create: resolve, create the named volumes that are missing and the
 * anonymous ones, record the references. On error nothing stays. */
int ctr_volumes_create(struct daemon *d, struct container *c, struct berr **err);
/* create, once the writable layer exists: Docker's copy-up — the image's
 * content at each CopyData mount point into its volume when that volume is
 * still empty (once: a volume with content is never filled again). Mounts the
 * rootfs only when some volume needs it. */
int ctr_volumes_populate(struct daemon *d, struct container *c, struct berr **err);
/* start: acquire every volume (mounting options volumes) and give the OCI
 * mounts for the spec (*out: new array; spec_input.volume_mounts). */
int ctr_volumes_start(struct daemon *d, struct container *c, const char *rootfs, json_t **out,
                      struct berr **err);
/* berthd started again and found the container running: count it as a
 * holder of its volumes again (their mounts are still there) */
void ctr_volumes_resume(struct daemon *d, struct container *c);
/* the run ended (or the start failed): release the volumes */
void ctr_volumes_release(struct daemon *d, struct container *c);
/* inspect's Mounts array in Docker's shape; NULL for containers made before
 * mount points were recorded. */
json_t *ctr_volumes_inspect(struct daemon *d, const struct container *c);
/* removal: forget the references; with rm_anon also remove the container's
 * anonymous volumes (rm -v, --rm) that no other container uses. */
void ctr_volumes_remove(struct daemon *d, struct container *c, bool rm_anon);

#endif
