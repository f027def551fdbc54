/*
 * store.h — berth's local storage of images and container filesystems.
 *
 *   references   Docker's image reference grammar and normalisation
 *                ("busybox" → docker.io/library/busybox:latest)
 *   content      sha256-addressed blobs, verified while written
 *   images       manifests, configs, tags and digests; load from docker-archive
 *                and OCI layout tars
 *   layers       tar (gzip / zstd / plain) ⇄ overlay diff directories, with
 *                whiteouts converted; shared between images (by chain ID)
 *   snapshots    a container's writable layer and its overlay mount
 *   db           SQLite (WAL) helpers: the store's tables and the daemon's
 *
 * On disk, under the data root:
 *   store.db             SQLite: images, tags, layers (with reference counts)
 *   blobs/sha256/<hex>   content (manifests, configs, compressed layers)
 *   layers/<chainhex>/   diff/ (the layer's files), meta (diff id, size, parent)
 *   containers/<id>/fs/  upper/, work/, merged/ (the mount point)
 *
 * Thread safety: every function may be called from several threads at once
 * (the store serialises writers internally).
 */
#ifndef BERTH_STORE_H
#define BERTH_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <sqlite3.h>

#include "common/common.h"

/* ---------- metadata DB (SQLite, WAL) ---------- */

struct db;
/* Open (create) the DB file with journal_mode=WAL, synchronous=NORMAL,
 * foreign keys on, a busy timeout; `schema` (SQL, may be NULL) runs once. */
int db_open(const char *path, const char *schema, struct db **out, struct berr **err);
void db_close(struct db *db);
sqlite3 *db_handle(struct db *db);
/* Run SQL with no result rows; the error names the statement's purpose. */
int db_exec(struct db *db, const char *sql, struct berr **err);
/* BEGIN IMMEDIATE / COMMIT / ROLLBACK with a process-wide lock per db. */
int db_begin(struct db *db, struct berr **err);
int db_commit(struct db *db, struct berr **err);
void db_rollback(struct db *db);

/* ---------- references ---------- */

struct image_ref {
  char *domain; /* "docker.io", "localhost:5000" */
  char *path;   /* "library/busybox", "team/app" */
  char *tag;    /* "latest" (default when there is no digest), or NULL */
  char *digest; /* "sha256:…" or NULL */
};
/* Parse and normalise as Docker does; an invalid reference gives -EINVAL and
 * Docker's message ("invalid reference format: repository name must be
 * lowercase"). Fields are malloc'd; free with image_ref_free. */
int image_ref_parse(const char *s, struct image_ref *out, struct berr **err);
void image_ref_free(struct image_ref *r);
/* "busybox:latest", "localhost:5000/app:1", "busybox@sha256:…" (caller frees) */
char *image_ref_familiar(const struct image_ref *r);
/* "docker.io/library/busybox:latest" (caller frees) */
char *image_ref_string(const struct image_ref *r);
/* "busybox", "localhost:5000/app": the familiar name without tag or digest (caller frees) */
char *image_ref_familiar_name(const struct image_ref *r);
/* Docker's tag grammar: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127} */
bool image_ref_tag_valid(const char *tag);

/* ---------- the store ---------- */

struct store;
/* Open the store under data_root (creates the layout on first use). */
int store_open(const char *data_root, struct store **out, struct berr **err);
void store_close(struct store *s);

/* An image as the daemon sees it. All fields owned by the struct. */
struct image {
  char *id;           /* "sha256:<hex of config>" */
  json_t *config;     /* the image config JSON (architecture, os, config, rootfs, history…) */
  char **repo_tags;   /* familiar names: "busybox:latest" (NULL-terminated, may be empty) */
  char **repo_digests;/* "busybox@sha256:…" */
  char **diff_ids;    /* the layers, bottom first */
  int64_t created;    /* seconds since the epoch (config "created") */
  int64_t size;       /* sum of the layers' unpacked sizes */
  char *parent;       /* "" unless built locally */
};
void image_free(struct image *img);

/* Find by name (reference, normalised), full or short (>= 1 hex char, unique)
 * ID, with or without "sha256:". -ENOENT: "No such image: NAME". */
int store_image_get(struct store *s, const char *name, struct image **out, struct berr **err);
/* Every image. *out is an array of *n images (caller frees each and the array). */
int store_image_list(struct store *s, struct image ***out, size_t *n, struct berr **err);
/* The chain IDs of the image's layers, bottom first (caller frees, strv). */
char **store_image_chain_ids(const struct image *img);
/* Unpacked size of the image's layer `i` (0 = bottom); 0 when unknown. */
int64_t store_image_layer_size(struct store *s, const struct image *img, size_t i);
/* Seconds since the epoch of an RFC 3339 time (image configs' "created"); -1 if malformed. */
int64_t store_parse_time(const char *rfc3339);
/* Tag an image (`target` as in image_ref_parse). */
int store_image_tag(struct store *s, const char *image_id, const char *target, struct berr **err);

/* Result lines of a remove, in Docker's order: {"Untagged": "busybox:latest"}
 * then {"Deleted": "sha256:…"} (a JSON array the caller decrefs).
 * `in_use(image_id, ctx, user, &running)` says whether a container uses the
 * image: true with `user` set to its id (NUL-terminated) and `running` whether
 * it runs, a running user preferred when there are several. The conflicts are
 * dockerd 20.10's (daemon/images/image_delete.go), all -EBUSY:
 *   by name, the last reference, a user:  "conflict: unable to remove repository
 *     reference \"busybox\" (must force) - container <cid> is using its
 *     referenced image <iid>" (force: untagged; the image stays while a
 *     container runs, is deleted when the users are stopped)
 *   by ID, a running user: "conflict: unable to delete <iid> (cannot be
 *     forced) - image is being used by running container <cid>", force or not
 *   by ID, a stopped user: "... (must be forced) - image is being used by
 *     stopped container <cid>"
 * (<cid>, <iid>: 12 hex digits). */
#define STORE_USER_ID_MAX 65
typedef bool (*store_in_use_fn)(const char *image_id, void *ctx, char user[STORE_USER_ID_MAX],
                                bool *running);
int store_image_remove(struct store *s, const char *name, bool force, bool noprune,
                       store_in_use_fn in_use, void *ctx, json_t **out, struct berr **err);

/* Load a docker-archive or OCI-layout tar from `fd` (as `docker load`): every
 * image in it is stored and tagged. progress(line, ctx) gets "Loaded image:
 * busybox:latest" / "Loaded image ID: sha256:…" lines. Nothing of a failed load
 * stays (its blobs may, as content-addressed cache). */
int store_image_load(struct store *s, int fd, void (*progress)(const char *line, void *ctx),
                     void *ctx, struct berr **err);
/* A source of bytes: bytes read into buf, 0 at the end, negative errno. */
typedef ssize_t (*store_read_fn)(void *ctx, void *buf, size_t len);
/* The same reading the tar from `read(rctx, …)` (e.g. an HTTP request body). */
int store_image_load_read(struct store *s, store_read_fn read, void *rctx,
                          void (*progress)(const char *line, void *ctx), void *ctx, struct berr **err);
/* A sink of bytes: 0 or negative errno (then the save stops). */
typedef int (*store_write_fn)(void *ctx, const void *buf, size_t len);
/* Save images as a docker-archive tar (`docker save`): every name is resolved
 * first (-ENOENT "No such image: NAME" before anything is written), then the
 * tar goes to write(wctx, …): <id>.json configs, <layer>/layer.tar,
 * manifest.json (RepoTags: the names given that are references, or all the
 * image's tags when given by ID), repositories. */
int store_image_save(struct store *s, char *const *names, size_t n, store_write_fn write, void *wctx,
                     struct berr **err);

/* ---------- container filesystems ---------- */

/* Create the writable layer of container `cid` on top of image `image_id`
 * (image_id NULL: an empty rootfs, for `scratch`). */
int store_rw_create(struct store *s, const char *cid, const char *image_id, struct berr **err);
/* Mount the container's rootfs (overlay of the image's layers and its writable
 * layer; works with any number of layers) and return the mount point in *path
 * (caller frees). Mounting an already mounted rootfs returns its path. */
int store_rw_mount(struct store *s, const char *cid, char **path, struct berr **err);
int store_rw_unmount(struct store *s, const char *cid, struct berr **err);
/* Unmount if needed and delete the writable layer. Absent is not an error. */
int store_rw_remove(struct store *s, const char *cid, struct berr **err);
/* Docker's GraphDriver object for inspect: {"Name":"overlay2","Data":{...}}. */
json_t *store_rw_graphdriver(struct store *s, const char *cid);
/* The GraphDriver object of an image's inspect (overlay2: the top layer as
 * UpperDir, the others, top first, as LowerDir). Caller decrefs. */
json_t *store_image_graphdriver(struct store *s, const struct image *img);
/* Bytes in the writable layer (SizeRw), or -1 when unknown. */
int64_t store_rw_size(struct store *s, const char *cid);
/* Changes in the writable layer against the image, as Docker's
 * /containers/{id}/changes array ([{"Path":"/a","Kind":0|1|2}]; 0 modified,
 * 1 added, 2 deleted). */
int store_rw_changes(struct store *s, const char *cid, json_t **out, struct berr **err);

#endif
