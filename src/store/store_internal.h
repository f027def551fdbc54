/*
 * store_internal.h — what the store's files share and nothing outside
 * src/store may use: the struct store, the content store's writer, layer
 * application, safe path resolution inside a directory, sha256 helpers.
 *
 * Files:
 *   db.c         SQLite helpers (store.h "metadata DB")
 *   reference.c  Docker's reference grammar
 *   content.c    sha256 blobs (verified while written), digests
 *   layer.c      layer tar → overlay diff dir (whiteouts, escapes refused)
 *   image.c      store_open, the image table, tags, lookup, remove
 *   load.c       docker-archive / OCI layout tars → images
 *   save.c       images → docker-archive tar
 *   rw.c         container filesystems (overlay mounts, changes)
 */
#ifndef BERTH_STORE_INTERNAL_H
#define BERTH_STORE_INTERNAL_H

#include <pthread.h>
#include <sys/types.h>

#include <openssl/evp.h>

#include "store/store.h"

struct store {
  char *root;           /* the data root */
  char *blobs;          /* <root>/blobs/sha256 */
  char *layers;         /* <root>/layers */
  char *tmp;            /* <root>/tmp: staging for blobs, layers, loads (same fs) */
  char *ctrs;           /* <root>/containers */
  struct db *db;        /* <root>/store.db */
  pthread_mutex_t lock; /* serialises layer creation / removal and image writes */
  /* --userns-remap (rw_idmap.c): set once at start, before any container */
  bool idmap;           /* containers marked fs/idmapped mount through it */
  int idmap_fd;         /* the user namespace of the idmapped mounts */
  uid_t idmap_uid;      /* its root on the host */
  gid_t idmap_gid;
};

/* ---------- sha256 ---------- */

#define SHA256_HEX_LEN 64
/* "sha256:" + 64 lower-case hex */
bool digest_valid(const char *d);
/* sha256 of a buffer as "sha256:<hex>" (caller frees). */
char *digest_of(const void *data, size_t len);
/* hex of a digest's "sha256:" part ("sha256:ab.." → "ab.."), NULL if not sha256 */
const char *digest_hex(const char *d);
/* EVP context → "sha256:<hex>" (caller frees); finalises ctx. */
char *digest_final(EVP_MD_CTX *ctx);
/* Chain ID of a layer stack: chain(0)=diff(0), chain(n)=sha256(chain(n-1)+" "+diff(n)). */
char *chain_id_next(const char *parent_chain, const char *diff_id);

/* ---------- content store (content.c) ---------- */

struct content_writer;
/* Start a blob: a temp file under s->tmp. */
int content_writer_open(struct store *s, struct content_writer **out, struct berr **err);
int content_writer_write(struct content_writer *w, const void *data, size_t len, struct berr **err);
/* fsync, check the digest against `expected` (NULL: any), rename into blobs/.
 * *digest (optional) gets "sha256:<hex>". A mismatch leaves nothing behind
 * (-EINVAL "digest mismatch"). Always frees w. */
int content_writer_commit(struct content_writer *w, const char *expected, char **digest,
                          struct berr **err);
void content_writer_abort(struct content_writer *w);
/* Path of a blob (caller frees); no check that it exists. */
char *content_path(struct store *s, const char *digest);
bool content_exists(struct store *s, const char *digest);
/* Store a buffer (verified against expected when non-NULL). */
int content_put(struct store *s, const void *data, size_t len, const char *expected, char **digest,
                struct berr **err);

/* ---------- safe paths ----------
 * Paths inside a layer or an unpacked archive are opened with common's
 * fs_open_in_root (symlinks and ".." cannot lead out). */

/* ---------- layers (layer.c) ---------- */

/* Apply a layer tar (plain, gzip or zstd; libarchive decides) read from `fd`
 * into the empty directory dir_fd, converting whiteouts to overlay's form.
 * Anything that escapes the directory refuses the whole layer (-EINVAL).
 * *size gets the bytes of regular files written. */
int layer_apply_fd(int fd, int dir_fd, int64_t *size, struct berr **err);
/* The same reading from a callback. */
int layer_apply_read(store_read_fn fn, void *ctx, int dir_fd, int64_t *size, struct berr **err);
/* Decompress (gzip / zstd / none) `fd` into the content store as the blob
 * `diff_id`, verified; nothing when the blob exists. */
int layer_import_blob(struct store *s, int fd, const char *diff_id, struct berr **err);
/* Make layers/<chainhex>/diff from the uncompressed tar blob diff_id on top
 * of parent_chain (NULL for the bottom layer); nothing when it exists. */
int layer_ensure(struct store *s, const char *chain_id, const char *diff_id,
                 const char *parent_chain, struct berr **err);
/* layers/<chainhex>/diff (caller frees) */
char *layer_diff_path(struct store *s, const char *chain_id);

/* ---------- idmapped container rootfs (rw_idmap.c) ---------- */

/* Was the container made for the store's id mapping (fs/idmapped)? */
bool rw_is_idmapped(struct store *s, const char *cid);
/* Mount its overlay at `merged` with idmapped layers: 0 or -errno. */
int rw_mount_idmapped(struct store *s, char **lowers, const char *cid, const char *merged);
/* Remove a layer dir; absent is fine. */
int layer_remove(struct store *s, const char *chain_id, struct berr **err);
/* The layer's diff ID from its meta; NULL when unknown. Caller frees. */
char *layer_diff_id(struct store *s, const char *chain_id);
/* distribution.c: when rmi removed an image and its unused layers, drop the
 * blobs kept for push/save that nothing names any more (diff-ID tars, pulled
 * compressed blobs, manifests). */
void store_dist_forget_layer(struct store *s, const char *diff_id);
void store_dist_forget_image(struct store *s, const char *image_id);
/* Unpacked size recorded in a layer's meta (0 when unknown). */
int64_t layer_size(struct store *s, const char *chain_id);
/* Chain IDs of an image's diff_ids, bottom first (NULL-terminated, caller frees). */
char **image_chain_ids(char *const *diff_ids);

/* ---------- images (image.c) ---------- */

/* Record an image whose blobs and layers are in place, then tag it with
 * `tags` (familiar or full names); untag lines ("The image X already exists,
 * renaming the old one with ID … to empty string") go to progress. */
int image_record(struct store *s, const char *config_json, size_t config_len, char *const *tags,
                 void (*progress)(const char *line, void *ctx), void *ctx, char **id_out,
                 struct berr **err);
/* Seconds since the epoch of an RFC 3339 time ("2024-01-02T03:04:05.1Z"); -1 if malformed. */
int64_t rfc3339_seconds(const char *s);
/* Is a layer used by an image or a container's rw layer (caller holds s->lock)? */
bool layer_in_use(struct store *s, const char *chain_id);
/* Name (reference, full or short ID) → image ID "sha256:…" (caller frees);
 * -ENOENT "No such image: busybox:latest", -EINVAL for a bad reference. */
int image_resolve_id(struct store *s, const char *name, char **id, struct berr **err);
/* Build a struct image from an id already known to exist. */
int image_load_by_id(struct store *s, const char *id, struct image **out, struct berr **err);

#endif
