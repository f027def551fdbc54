/* Unit tests of the store as a whole: content digests checked, docker-archive
 * and OCI loads, lookup by name and ID, tag, remove (Docker's records),
 * save → load round trip, and a 60-layer overlay mount with its changes.
 * Mount and layer tests need root: skipped otherwise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "store/store_internal.h"
#include "tar_helper.h"

struct fx {
  char root[64];
  struct store *s;
  json_t *lines; /* progress lines */
};

static int setup(void **state) {
  struct fx *f = calloc(1, sizeof *f);
  strcpy(f->root, "/tmp/berth-test-store-XXXXXX");
  if (!mkdtemp(f->root))
    return -1;
  if (store_open(f->root, &f->s, NULL) < 0)
    return -1;
  f->lines = json_array();
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fx *f = *state;
  store_close(f->s);
  rm_rf(f->root, NULL);
  json_decref(f->lines);
  free(f);
  return 0;
}

static void progress(const char *line, void *ctx) {
  json_array_append_new(((struct fx *)ctx)->lines, json_string(line));
}

static size_t count_dir(const char *path) {
  DIR *d = opendir(path);
  size_t n = 0;
  if (!d)
    return 0;
  for (struct dirent *de; (de = readdir(d));)
    if (de->d_name[0] != '.')
      n++;
  closedir(d);
  return n;
}

static void test_content_mismatch(void **state) {
  struct fx *f = *state;
  struct berr *err = NULL;
  char *d = NULL;
  assert_int_equal(content_put(f->s, "abc", 3, "sha256:0000000000000000000000000000000000000000000000000000000000000000",
                               &d, &err), -EINVAL);
  assert_non_null(strstr(err->msg, "digest mismatch"));
  berr_free(err);
  char p[128];
  snprintf(p, sizeof p, "%s/blobs/sha256", f->root);
  assert_int_equal(count_dir(p), 0);
  snprintf(p, sizeof p, "%s/tmp", f->root);
  assert_int_equal(count_dir(p), 0);
  assert_int_equal(content_put(f->s, "abc", 3, NULL, &d, NULL), 0);
  assert_true(content_exists(f->s, d));
  free(d);
}

/* A layer tar with one file `name` holding `data`; *diff gets its digest. */
static char *make_layer(const char *name, const char *data, const char *filter, size_t *len, char **diff) {
  struct tb t;
  tb_open(&t, NULL);
  tb_add(&t, 'f', name, data, 0644, 0);
  int fd = tb_close(&t);
  char *plain = fd_slurp(fd, len);
  close(fd);
  *diff = digest_of(plain, *len);
  if (!filter)
    return plain;
  free(plain);
  tb_open(&t, filter);
  tb_add(&t, 'f', name, data, 0644, 0);
  fd = tb_close(&t);
  char *c = fd_slurp(fd, len);
  close(fd);
  return c;
}

static char *make_config(char **diffs, size_t n, const char *created) {
  json_t *ids = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(ids, json_string(diffs[i]));
  json_t *c = json_pack("{s:s,s:s,s:s,s:{s:[s]},s:{s:s,s:o}}", "architecture", "amd64", "os", "linux",
                        "created", created, "config", "Cmd", "sh", "rootfs", "type", "layers", "diff_ids", ids);
  char *s = json_dump_compact(c);
  json_decref(c);
  return s;
}

/* A docker-archive with one image of `n` layers, tagged `tag` (NULL: none). */
static int make_docker_archive(size_t n, const char *tag, char **id) {
  struct tb t;
  tb_open(&t, NULL);
  char **diffs = calloc(n + 1, sizeof *diffs);
  json_t *layers = json_array();
  for (size_t i = 0; i < n; i++) {
    size_t len;
    char name[32], data[32], path[96];
    snprintf(name, sizeof name, "f%zu", i);
    snprintf(data, sizeof data, "layer %zu", i);
    char *l = make_layer(name, data, NULL, &len, &diffs[i]);
    snprintf(path, sizeof path, "%s/layer.tar", diffs[i] + 7);
    tb_add_bytes(&t, path, l, len);
    json_array_append_new(layers, json_string(path));
    free(l);
  }
  char *cfg = make_config(diffs, n, "2024-01-02T03:04:05.123456789Z");
  *id = digest_of(cfg, strlen(cfg));
  char cname[96];
  snprintf(cname, sizeof cname, "%s.json", *id + 7);
  tb_add_bytes(&t, cname, cfg, strlen(cfg));
  json_t *m = json_pack("[{s:s,s:o,s:o}]", "Config", cname, "RepoTags", tag ? json_pack("[s]", tag) : json_null(),
                        "Layers", layers);
  char *ms = json_dump_compact(m);
  tb_add_bytes(&t, "manifest.json", ms, strlen(ms));
  json_decref(m);
  free(ms);
  free(cfg);
  strv_free(diffs);
  return tb_close(&t);
}

static void skip_unless_root(void) {
  if (geteuid() != 0)
    skip();
}

static void test_load_get_tag_remove(void **state) {
  skip_unless_root();
  struct fx *f = *state;
  char *id = NULL;
  int fd = make_docker_archive(2, "busybox:latest", &id);
  struct berr *err = NULL;
  int r = store_image_load(f->s, fd, progress, f, &err);
  close(fd);
  if (r)
    fail_msg("%s", err->msg);
  assert_string_equal(json_string_value(json_array_get(f->lines, 0)), "Loaded image: busybox:latest");
  struct image *img = NULL;
  assert_int_equal(store_image_get(f->s, "busybox", &img, NULL), 0);
  assert_string_equal(img->id, id);
  assert_string_equal(img->repo_tags[0], "busybox:latest");
  assert_int_equal(strv_len(img->diff_ids), 2);
  assert_int_equal(img->created, 1704164645);
  assert_int_equal(img->size, 14); /* "layer 0" + "layer 1" */
  image_free(img);
  char shortid[16];
  snprintf(shortid, sizeof shortid, "%.5s", id + 7);
  assert_int_equal(store_image_get(f->s, shortid, &img, NULL), 0);
  image_free(img);
  assert_int_equal(store_image_get(f->s, id, &img, NULL), 0);
  image_free(img);
  assert_int_equal(store_image_get(f->s, "nosuch", &img, &err), -ENOENT);
  assert_string_equal(err->msg, "No such image: nosuch:latest");
  berr_free(err);
  err = NULL;
  assert_int_equal(store_image_get(f->s, "NoSuch", &img, &err), -EINVAL);
  berr_free(err);
  err = NULL;

  assert_int_equal(store_image_tag(f->s, "busybox", "localhost:5000/bb:1", NULL), 0);
  assert_int_equal(store_image_get(f->s, "localhost:5000/bb:1", &img, NULL), 0);
  assert_int_equal(strv_len(img->repo_tags), 2);
  image_free(img);

  /* by ID with refs in two repositories: must force */
  json_t *out = NULL;
  assert_int_equal(store_image_remove(f->s, shortid, false, false, NULL, NULL, &out, &err), -EBUSY);
  assert_non_null(strstr(err->msg, "referenced in multiple repositories"));
  berr_free(err);
  err = NULL;
  /* by name: untag only */
  assert_int_equal(store_image_remove(f->s, "busybox", false, false, NULL, NULL, &out, NULL), 0);
  assert_int_equal(json_array_size(out), 1);
  assert_string_equal(json_string_value(json_object_get(json_array_get(out, 0), "Untagged")), "busybox:latest");
  json_decref(out);
  /* the last name: untag and delete, layers top first */
  assert_int_equal(store_image_remove(f->s, "localhost:5000/bb:1", false, false, NULL, NULL, &out, NULL), 0);
  assert_int_equal(json_array_size(out), 4);
  assert_string_equal(json_string_value(json_object_get(json_array_get(out, 1), "Deleted")), id);
  json_decref(out);
  char p[128];
  snprintf(p, sizeof p, "%s/layers", f->root);
  assert_int_equal(count_dir(p), 1); /* only l/ */
  assert_int_equal(store_image_get(f->s, id, &img, &err), -ENOENT);
  berr_free(err);
  free(id);
}

/* ctx: a bool, whether the (fake) user container runs */
static bool in_use_yes(const char *image_id, void *ctx, char user[STORE_USER_ID_MAX], bool *running) {
  (void)image_id;
  snprintf(user, STORE_USER_ID_MAX, "%s", "1a2b3c4d5e6f7a8b9c0d1a2b3c4d5e6f7a8b9c0d1a2b3c4d5e6f7a8b9c0d1a2b");
  *running = ctx && *(bool *)ctx;
  return true;
}

static size_t records(json_t *out, const char *key) {
  size_t n = 0, i;
  json_t *v;
  json_array_foreach(out, i, v) if (json_object_get(v, key)) n++;
  return n;
}

static void test_remove_in_use(void **state) {
  skip_unless_root();
  struct fx *f = *state;
  char *id = NULL;
  int fd = make_docker_archive(1, "app:1", &id);
  assert_int_equal(store_image_load(f->s, fd, NULL, NULL, NULL), 0);
  close(fd);
  json_t *out = NULL;
  struct berr *err = NULL;
  bool stopped = false, running = true;
  char sid[13];
  snprintf(sid, sizeof sid, "%s", id + 7);
  char *want;
  /* by name, the last reference: must force, naming the container */
  assert_int_equal(store_image_remove(f->s, "app:1", false, false, in_use_yes, &stopped, &out, &err), -EBUSY);
  want = xasprintf("conflict: unable to remove repository reference \"app:1\" (must force) - "
                   "container 1a2b3c4d5e6f is using its referenced image %s", sid);
  assert_string_equal(err->msg, want);
  free(want);
  berr_free(err);
  err = NULL;
  /* by ID, a running user: cannot be forced */
  assert_int_equal(store_image_remove(f->s, id, true, false, in_use_yes, &running, &out, &err), -EBUSY);
  want = xasprintf("conflict: unable to delete %s (cannot be forced) - image is being used by "
                   "running container 1a2b3c4d5e6f", sid);
  assert_string_equal(err->msg, want);
  free(want);
  berr_free(err);
  err = NULL;
  /* by ID, a stopped user: must be forced */
  assert_int_equal(store_image_remove(f->s, id, false, false, in_use_yes, &stopped, &out, &err), -EBUSY);
  assert_non_null(strstr(err->msg, "(must be forced) - image is being used by stopped container 1a2b3c4d5e6f"));
  berr_free(err);
  err = NULL;
  /* by name with force while it runs: untagged, the image stays */
  assert_int_equal(store_image_remove(f->s, "app:1", true, false, in_use_yes, &running, &out, NULL), 0);
  assert_int_equal(records(out, "Untagged"), 1);
  assert_int_equal(records(out, "Deleted"), 0);
  json_decref(out);
  struct image *img = NULL;
  assert_int_equal(store_image_get(f->s, id, &img, NULL), 0);
  image_free(img);
  /* by ID with force, the user stopped: deleted */
  assert_int_equal(store_image_remove(f->s, id, true, false, in_use_yes, &stopped, &out, NULL), 0);
  assert_true(records(out, "Deleted") >= 1);
  json_decref(out);
  free(id);
}

struct buf {
  char *data;
  size_t len;
};

static int buf_write(void *ctx, const void *data, size_t len) {
  struct buf *b = ctx;
  b->data = realloc(b->data, b->len + len);
  memcpy(b->data + b->len, data, len);
  b->len += len;
  return 0;
}

static void test_save_roundtrip(void **state) {
  skip_unless_root();
  struct fx *f = *state;
  char *id = NULL;
  int fd = make_docker_archive(3, "rt:v1", &id);
  assert_int_equal(store_image_load(f->s, fd, NULL, NULL, NULL), 0);
  close(fd);
  struct buf b = {0};
  struct berr *err = NULL;
  char *bad[] = {"rt:v1", "nosuch:x"};
  assert_int_equal(store_image_save(f->s, bad, 2, buf_write, &b, &err), -ENOENT);
  assert_string_equal(err->msg, "No such image: nosuch:x");
  assert_int_equal(b.len, 0); /* nothing written before every name resolved */
  berr_free(err);
  char *names[] = {"rt:v1"};
  assert_int_equal(store_image_save(f->s, names, 1, buf_write, &b, NULL), 0);
  assert_true(b.len > 0);
  /* into a second store */
  char root2[64] = "/tmp/berth-test-store2-XXXXXX";
  assert_non_null(mkdtemp(root2));
  struct store *s2 = NULL;
  assert_int_equal(store_open(root2, &s2, NULL), 0);
  int mfd = memfd_create("save", MFD_CLOEXEC);
  assert_int_equal(write(mfd, b.data, b.len), (ssize_t)b.len);
  lseek(mfd, 0, SEEK_SET);
  json_array_clear(f->lines);
  int r = store_image_load(s2, mfd, progress, f, &err);
  if (r)
    fail_msg("%s", err->msg);
  close(mfd);
  assert_string_equal(json_string_value(json_array_get(f->lines, 0)), "Loaded image: rt:v1");
  struct image *img = NULL;
  assert_int_equal(store_image_get(s2, "rt:v1", &img, NULL), 0);
  assert_string_equal(img->id, id);
  image_free(img);
  store_close(s2);
  rm_rf(root2, NULL);
  free(b.data);
  free(id);
}

static void test_load_oci(void **state) {
  skip_unless_root();
  struct fx *f = *state;
  size_t llen;
  char *diff = NULL;
  char *layer = make_layer("hello", "oci", "gzip", &llen, &diff);
  char *ldig = digest_of(layer, llen);
  char *diffs[] = {diff};
  char *cfg = make_config(diffs, 1, "2020-01-01T00:00:00Z");
  char *cdig = digest_of(cfg, strlen(cfg));
  json_t *m = json_pack("{s:i,s:s,s:{s:s,s:s,s:i},s:[{s:s,s:s,s:I}]}", "schemaVersion", 2, "mediaType",
                        "application/vnd.oci.image.manifest.v1+json", "config", "mediaType",
                        "application/vnd.oci.image.config.v1+json", "digest", cdig, "size", (int)strlen(cfg),
                        "layers", "mediaType", "application/vnd.oci.image.layer.v1.tar+gzip", "digest", ldig,
                        "size", (json_int_t)llen);
  char *ms = json_dump_compact(m);
  char *mdig = digest_of(ms, strlen(ms));
  json_t *idx = json_pack("{s:i,s:[{s:s,s:s,s:I,s:{s:s}}]}", "schemaVersion", 2, "manifests", "mediaType",
                          "application/vnd.oci.image.manifest.v1+json", "digest", mdig, "size",
                          (json_int_t)strlen(ms), "annotations", "io.containerd.image.name",
                          "docker.io/library/ocitest:1");
  char *is = json_dump_compact(idx);
  struct tb t;
  tb_open(&t, NULL);
  tb_add_bytes(&t, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30);
  tb_add_bytes(&t, "index.json", is, strlen(is));
  char p[128];
  snprintf(p, sizeof p, "blobs/sha256/%s", ldig + 7);
  tb_add_bytes(&t, p, layer, llen);
  snprintf(p, sizeof p, "blobs/sha256/%s", cdig + 7);
  tb_add_bytes(&t, p, cfg, strlen(cfg));
  snprintf(p, sizeof p, "blobs/sha256/%s", mdig + 7);
  tb_add_bytes(&t, p, ms, strlen(ms));
  int fd = tb_close(&t);
  struct berr *err = NULL;
  int r = store_image_load(f->s, fd, progress, f, &err);
  close(fd);
  if (r)
    fail_msg("%s", err->msg);
  assert_string_equal(json_string_value(json_array_get(f->lines, 0)), "Loaded image: ocitest:1");
  struct image *img = NULL;
  assert_int_equal(store_image_get(f->s, "ocitest:1", &img, NULL), 0);
  assert_string_equal(img->id, cdig);
  image_free(img);
  json_decref(m);
  json_decref(idx);
  free(ms);
  free(is);
  free(mdig);
  free(cfg);
  free(cdig);
  free(ldig);
  free(layer);
  free(diff);
}

static void test_rw_many_layers(void **state) {
  skip_unless_root();
  struct fx *f = *state;
  char *id = NULL;
  int fd = make_docker_archive(60, "many:60", &id);
  struct berr *err = NULL;
  int r = store_image_load(f->s, fd, NULL, NULL, &err);
  close(fd);
  if (r)
    fail_msg("%s", err->msg);
  assert_int_equal(store_rw_create(f->s, "c1", "many:60", NULL), 0);
  char *path = NULL;
  r = store_rw_mount(f->s, "c1", &path, &err);
  if (r)
    fail_msg("%s", err->msg);
  char p[256];
  snprintf(p, sizeof p, "%s/f0", path);
  assert_true(path_exists(p));
  snprintf(p, sizeof p, "%s/f59", path);
  assert_true(path_exists(p));
  /* changes: one added, one deleted */
  snprintf(p, sizeof p, "%s/new", path);
  assert_int_equal(write_file_atomic(p, "n", 1, 0644, NULL), 0);
  snprintf(p, sizeof p, "%s/f1", path);
  assert_int_equal(unlink(p), 0);
  char *again = NULL;
  assert_int_equal(store_rw_mount(f->s, "c1", &again, NULL), 0); /* already mounted: same path */
  assert_string_equal(again, path);
  free(again);
  json_t *ch = NULL;
  assert_int_equal(store_rw_changes(f->s, "c1", &ch, NULL), 0);
  char *s = json_dump_compact(ch);
  assert_string_equal(s, "[{\"Path\":\"/f1\",\"Kind\":2},{\"Path\":\"/new\",\"Kind\":1}]");
  free(s);
  json_decref(ch);
  assert_true(store_rw_size(f->s, "c1") >= 1);
  json_t *gd = store_rw_graphdriver(f->s, "c1");
  assert_string_equal(json_string_value(json_object_get(gd, "Name")), "overlay2");
  json_decref(gd);
  /* the image goes (forced); its layers stay while the container stands */
  json_t *out = NULL;
  assert_int_equal(store_image_remove(f->s, id, true, false, NULL, NULL, &out, NULL), 0);
  assert_int_equal(json_array_size(out), 2); /* Untagged, Deleted image; no layer */
  json_decref(out);
  assert_true(path_exists(p) == false);
  snprintf(p, sizeof p, "%s/f0", path);
  assert_true(path_exists(p));
  assert_int_equal(store_rw_unmount(f->s, "c1", NULL), 0);
  assert_false(path_exists(p));
  assert_int_equal(store_rw_remove(f->s, "c1", NULL), 0);
  snprintf(p, sizeof p, "%s/layers", f->root);
  assert_int_equal(count_dir(p), 1); /* the layers went with the container */
  snprintf(p, sizeof p, "%s/containers/c1", f->root);
  assert_int_equal(count_dir(p), 0);
  assert_int_equal(store_rw_remove(f->s, "c1", NULL), 0); /* absent: fine */
  free(path);
  free(id);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_content_mismatch, setup, teardown),
      cmocka_unit_test_setup_teardown(test_load_get_tag_remove, setup, teardown),
      cmocka_unit_test_setup_teardown(test_remove_in_use, setup, teardown),
      cmocka_unit_test_setup_teardown(test_save_roundtrip, setup, teardown),
      cmocka_unit_test_setup_teardown(test_load_oci, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rw_many_layers, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
