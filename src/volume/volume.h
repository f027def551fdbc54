/*
 * volume.h — named and anonymous volumes: the local driver (a directory, or
 * a mount of type/device/o), labels, reference counting by containers.
 *
 * On disk (as dockerd lays it out):
 *   <data-root>/volumes/<name>/_data   the volume's content (its Mountpoint)
 *   <data-root>/volumes/volumes.db     SQLite: one row per volume (driver,
 *                                      labels, options, created) and one per
 *                                      (container, volume) reference, plus the
 *                                      container's mount points document
 *
 * A volume is "in use" while any container (running or not) references it;
 * such a volume cannot be removed (Docker's 409 "volume is in use").
 * Volumes with driver options (type/device/o) are mounted on _data when the
 * first running container acquires them and unmounted when the last one
 * releases them (counted in memory: berthd's restart forgets the counts and
 * the next release unmounts).
 *
 * All functions are thread-safe (one mutex per store). JSON returned is new.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "common/common.h"

/* The default driver's name. */
const char *volume_default_driver(void);

/* The label dockerd ≥ 23 puts on anonymous volumes. */
#define VOLUME_ANON_LABEL "com.docker.volume.anonymous"

struct volumes;

/* Open (create) the store under <data_root>/volumes. */
int volumes_open(const char *data_root, struct volumes **out, struct berr **err);
void volumes_close(struct volumes *vs);

/* Docker's local volume name rule [a-zA-Z0-9][a-zA-Z0-9_.-]+ with dockerd's
 * message ("create NAME: \"NAME\" includes invalid characters ..."). */
int volume_name_check(const char *name, struct berr **err);
/* The local driver's options: type, device, o (and size, tmpfs only);
 * anything else is dockerd's "invalid option key: \"k\"". */
int volume_opts_check(const json_t *opts, struct berr **err);
/* Split a mount "o" string into MS_* flags and the data string (the rest,
 * comma-joined; "size=" kept for tmpfs). *data is new ("" when none). */
int volume_mount_opts(const char *o, unsigned long *flags, char **data, struct berr **err);

/* Create a volume; name NULL/"" makes an anonymous one (64 hex, label
 * VOLUME_ANON_LABEL). An existing name is returned as is (dockerd's
 * behaviour), unless the driver differs. opts/labels may be NULL.
 * *out (may be NULL) gets the volume object in the API's shape. */
int volume_create(struct volumes *vs, const char *name, const char *driver, const json_t *opts,
                  const json_t *labels, json_t **out, struct berr **err);
/* The API's Volume object; -ENOENT "get NAME: no such volume". */
int volume_inspect(struct volumes *vs, const char *name, json_t **out, struct berr **err);
/* Every volume (array of Volume objects); with `usage`, each with UsageData
 * {"Size","RefCount"} as /system/df reports it. */
int volume_list(struct volumes *vs, bool usage, json_t **out, struct berr **err);
bool volume_exists(struct volumes *vs, const char *name);
/* Remove: -EBUSY "remove NAME: volume is in use - [CID, ...]"; -ENOENT when
 * absent unless `force`. */
int volume_remove(struct volumes *vs, const char *name, bool force, struct berr **err);
/* Remove every unreferenced volume for which match(volume object, arg) holds
 * (match NULL: all); *out {"VolumesDeleted":[…],"SpaceReclaimed":N}. */
typedef bool (*volume_match_fn)(const json_t *volume, void *arg);
int volume_prune(struct volumes *vs, volume_match_fn match, void *arg, json_t **out,
                 struct berr **err);
/* The containers referencing a volume (array of IDs). */
json_t *volume_users(struct volumes *vs, const char *name);
/* Is this volume anonymous (has VOLUME_ANON_LABEL)? */
bool volume_is_anonymous(struct volumes *vs, const char *name);
/* Bytes used under _data (hard links counted once); -1 when unknown. */
int64_t volume_size(struct volumes *vs, const char *name);
/* The host path of the volume's content. Caller frees. */
char *volume_path(struct volumes *vs, const char *name);
/* Is _data empty (the copy-up condition)? */
bool volume_is_empty(struct volumes *vs, const char *name);

/* ---- references by containers ---- */

/* Record container `cid`'s mount points (an array of Docker MountPoint-like
 * objects; the ones with "Type":"volume" and a "Name" become references),
 * replacing earlier ones. */
int volume_refs_set(struct volumes *vs, const char *cid, const json_t *mount_points,
                    struct berr **err);
/* The recorded mount points of cid (new array), or NULL when none. */
json_t *volume_refs_get(struct volumes *vs, const char *cid);
/* Forget cid's references (at container removal). */
void volume_refs_drop(struct volumes *vs, const char *cid);

/* ---- mounting (volumes with driver options) ---- */

/* Make the volume ready for container cid: mounts it first if it has
 * options and no other container holds it. *path: its _data (caller frees). */
int volume_acquire(struct volumes *vs, const char *name, const char *cid, char **path,
                   struct berr **err);
/* cid no longer uses the volume; the last user's release unmounts. */
void volume_release(struct volumes *vs, const char *name, const char *cid);
