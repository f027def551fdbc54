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
/* --userns-remap (rw_idmap.c): the user namespace whose idmapped mounts make
 * the rootfs of containers marked with store_rw_set_idmapped (the store keeps
 * the fd, not a copy; root_uid/gid: its root on the host). Set once at start. */
void store_set_idmap(struct store *s, int userns_fd, uid_t root_uid, gid_t root_gid);
/* Mark a new container's writable layer: store_rw_mount then always mounts it
 * through the id mapping (files keep their ids on disk). */
int store_rw_set_idmapped(struct store *s, const char *cid, struct berr **err);
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


/* ---------- diffs, new layers, commit, import (store-import helper:
 *            diff.c, commit.c, import.c, change.c) ---------- */

/* sha256 of an empty layer tar (1024 zero bytes): Docker's
 * DigestSHA256EmptyTar; a commit whose diff is this adds no layer. */
#define STORE_EMPTY_LAYER_DIFF_ID "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"

/* Write the overlay upper directory `upper` as a layer tar to
 * write(wctx, …), as dockerd's overlay2 diff does: whiteouts in AUFS form
 * (a 0/0 character device NAME → ".wh.NAME"; a directory with
 * trusted.overlay.opaque=y → the directory, then "DIR/.wh..wh..opq"), hard
 * links as link entries, xattrs (but overlay's own trusted.overlay.*),
 * devices, fifos, ownership, modes, mtimes (seconds); entries in lexical
 * order, so the same tree gives the same bytes. *diff_id (optional, caller
 * frees) gets "sha256:<hex>" of the tar, *size (optional) its length. */
int store_diff_tar(const char *upper, store_write_fn write, void *wctx, char **diff_id,
                   int64_t *size, struct berr **err);
/* The same for container `cid`'s writable layer (containers/<cid>/fs/upper). */
int store_rw_diff(struct store *s, const char *cid, store_write_fn write, void *wctx,
                  char **diff_id, int64_t *size, struct berr **err);

/* Container `cid`'s writable layer as a new layer on top of image `parent`
 * (its image; NULL: scratch): store_rw_diff into the content store, then
 * unpacked as layers/<chain>/. *diff_id (caller frees) is
 * STORE_EMPTY_LAYER_DIFF_ID when nothing changed (then no layer is made:
 * pass it to store_image_child, which records an empty_layer history entry).
 * For the builder's RUN; commit uses it too. */
int store_rw_layer(struct store *s, const char *cid, const char *parent, char **diff_id,
                   struct berr **err);
/* A new layer from a tar (plain, gzip or zstd) read from rd(rctx, …), on
 * top of the layers of image `parent` (ID or name; NULL: a base layer). The
 * uncompressed tar is stored as a content blob under its diff ID (what save
 * and push send), its files in layers/<chain>/ (escapes refused; nothing of
 * a refused layer stays). *diff_id: the layer's diff ID (caller frees). */
int store_layer_add(struct store *s, const char *parent, store_read_fn rd, void *rctx,
                    char **diff_id, struct berr **err);

/* A new image on top of `parent` (Docker's image.NewChildImage): the
 * parent's rootfs (+ diff_id unless it is NULL or the empty layer), its
 * history + one entry {created, author, created_by, comment, empty_layer},
 * architecture/os from the parent (else this machine's). Used by commit,
 * import and the builder. */
struct store_child {
  const char *parent;             /* image ID or name; NULL: none (import, scratch) */
  const char *diff_id;            /* from store_layer_add; NULL: no new layer */
  const json_t *config;           /* the image's "config" (Cmd, Env…); NULL: {} */
  const json_t *container_config; /* "container_config", NULL: an empty one (as dockerd) */
  const char *container;          /* "container" (the committed container's ID) */
  const char *author;             /* "author" and history's author */
  const char *comment;            /* "comment" and history's comment */
  const char *created_by;         /* history's created_by */
  const char *docker_version;     /* "docker_version", NULL: omitted */
  const char *os, *architecture;  /* NULL: the parent's, else linux / this machine */
  bool set_parent;                /* record `parent` as the image's Parent (commit, build) */
  bool keep_empty_layer;          /* add diff_id even when it is the empty layer (import) */
  char *const *tags;              /* references to tag it with (NULL-terminated), may be NULL */
};
/* *id: "sha256:…" (caller frees). */
int store_image_child(struct store *s, const struct store_child *c, char **id, struct berr **err);

/* A container config with container.Config's fields in dockerd's (Go's)
 * order, every non-omitempty field present: what image configs hold.
 * New reference. */
json_t *store_go_container_config(const json_t *c);

/* Dockerfile-style changes (`commit -c`, `import -c`): each string may hold
 * several lines. CMD, ENTRYPOINT (JSON or shell form), ENV, EXPOSE,
 * HEALTHCHECK, LABEL, ONBUILD, USER, VOLUME, WORKDIR are applied to the
 * container config `cfg` as dockerd 20.10's BuildFromConfig does; anything
 * else (STOPSIGNAL too, as dockerd) is -EINVAL "run is not a valid change
 * command" (Docker's wording). */
int store_changes_apply(json_t *cfg, char *const *changes, struct berr **err);

/* POST /commit: a new image of the container's image + its writable layer. */
struct store_commit_opts {
  const char *cid;                /* the container (its rw layer) */
  const char *image_id;           /* its image; NULL: scratch */
  const json_t *config;           /* the request body's Config (NULL: empty) */
  const json_t *container_config; /* the container's Config (merged into config as dockerd's merge()) */
  char *const *changes;           /* --change lines, may be NULL */
  const char *author, *comment;
  const char *reference;          /* "repo[:tag]" to tag it, NULL: untagged */
  const char *docker_version;
};
int store_commit(struct store *s, const struct store_commit_opts *o, char **id, struct berr **err);

/* POST /images/create?fromSrc=: a one-layer image from a tar (plain or
 * compressed) read from rd, config from `changes` applied to an empty
 * config, history comment `message` ("Imported from SRC" when NULL),
 * tagged `reference` when not NULL. */
struct store_import_opts {
  const char *src;                /* "-" or the URL/path, for the default message */
  const char *message;
  char *const *changes;
  const char *reference;
  const char *os, *architecture;  /* --platform; NULL: linux / this machine */
  const char *docker_version;
};
int store_import(struct store *s, const struct store_import_opts *o, store_read_fn rd, void *rctx,
                 char **id, struct berr **err);

/* ---------- distribution: what pull and push need (registry client
 *            helper: distribution.c) ---------- */

/* Blobs of the content store by digest ("sha256:…"). */
bool store_blob_exists(struct store *s, const char *digest);
/* A whole small blob (manifest, config); caller frees *data. */
int store_blob_read(struct store *s, const char *digest, char **data, size_t *len, struct berr **err);
/* Store a buffer, verified against `expected` when not NULL. */
int store_blob_put(struct store *s, const void *data, size_t len, const char *expected, struct berr **err);
/* Open a blob for reading (caller closes); *size its length. */
int store_blob_open(struct store *s, const char *digest, int64_t *size, struct berr **err);
/* Remove a blob (a failed pull's); absent is fine. */
void store_blob_remove(struct store *s, const char *digest);
/* A blob written as it streams in: hashed while written, checked against
 * `expected` at commit (-EINVAL "digest mismatch" and nothing left behind);
 * commit and abort free the writer. */
struct store_blob_writer;
int store_blob_writer_open(struct store *s, struct store_blob_writer **out, struct berr **err);
int store_blob_writer_write(struct store_blob_writer *w, const void *data, size_t len, struct berr **err);
int store_blob_writer_commit(struct store_blob_writer *w, const char *expected, struct berr **err);
void store_blob_writer_abort(struct store_blob_writer *w);

/* Is layers/<chain>/ there (a complete layer)? */
bool store_layer_exists(struct store *s, const char *chain_id);
/* Unpack the (gzip, zstd or plain) layer blob `blob` of the content store as
 * layer `chain_id` (parent_chain: the one below, NULL for the bottom): the
 * uncompressed stream must hash to `diff_id` (else -EINVAL naming it), is
 * kept as the blob diff_id (save, push), and its files go to layers/<chain>/
 * atomically. progress(ctx, n) gets the compressed bytes consumed so far.
 * Nothing is left on failure. *created: whether this call made the layer
 * (false when it was already there). */
int store_layer_unpack(struct store *s, const char *blob, const char *diff_id, const char *chain_id,
                       const char *parent_chain, void (*progress)(void *ctx, int64_t done), void *ctx,
                       bool *created, struct berr **err);
/* Remove layers a failed pull made, unless an image or container uses them. */
void store_layers_discard(struct store *s, char *const *chain_ids);
/* Record a pulled image (its layers in place): config bytes as fetched
 * (verified by the caller), tagged `tag` (a reference, may be NULL) and with
 * the digest reference `digest_ref` ("host/repo@sha256:…", may be NULL).
 * *id_out: "sha256:…" (caller frees; optional). */
int store_image_record_pull(struct store *s, const char *config, size_t len, const char *tag,
                            const char *digest_ref, char **id_out, struct berr **err);

/* Distribution metadata (as dockerd's v2metadata): the compressed blobs a
 * layer (diff ID) is known by, and the repository ("host/path") it came
 * from or was pushed to — push skips uploads and mounts across repos. */
struct store_dist_blob {
  char *digest, *media_type, *source;
  int64_t size;
};
int store_dist_add(struct store *s, const char *diff_id, const struct store_dist_blob *b, struct berr **err);
/* Every known blob of diff_id; *out array of *n (free with store_dist_blobs_free). */
int store_dist_list(struct store *s, const char *diff_id, struct store_dist_blob **out, size_t *n);
void store_dist_blobs_free(struct store_dist_blob *v, size_t n);
/* The manifest an image was pulled with / pushed as in repository `repo`
 * ("host/path"; NULL: any repository): digest and media type (caller
 * frees), or -ENOENT. */
int store_dist_manifest_set(struct store *s, const char *image_id, const char *repo, const char *digest,
                            const char *media_type, struct berr **err);
int store_dist_manifest_get(struct store *s, const char *image_id, const char *repo, char **digest,
                            char **media_type);
/* A gzip blob of layer diff_id's uncompressed tar (the content blob
 * diff_id), stored in the content store: *digest, *size (for push of layers
 * loaded, committed or built here). */
int store_layer_compress(struct store *s, const char *diff_id, char **digest, int64_t *size,
                         struct berr **err);

#endif
