/* Unit tests of diff.c, commit.c and import.c: an upper dir back to a layer
 * tar (AUFS whiteouts, opaque dirs, hard links, the empty-layer digest),
 * import of a tar with --change, a refused (escaping) import leaving
 * nothing, and commit of a container's writable layer. Root only (whiteout
 * devices, trusted.* xattrs, chown): skipped otherwise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "store/store_internal.h"
#include "tar_helper.h"

struct fx {
  char root[64];
  struct store *s;
};

static int setup(void **state) {
  struct fx *f = calloc(1, sizeof *f);
  strcpy(f->root, "/tmp/berth-test-commit-XXXXXX");
  if (!mkdtemp(f->root) || store_open(f->root, &f->s, NULL) < 0)
    return -1;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fx *f = *state;
  store_close(f->s);
  rm_rf(f->root, NULL);
  free(f);
  return 0;
}

static void skip_unless_root(void) {
  if (geteuid() != 0)
    skip();
}

struct mem {
  char *p;
  size_t len;
};

static int mem_write(void *ctx, const void *buf, size_t len) {
  struct mem *m = ctx;
  m->p = realloc(m->p, m->len + len);
  memcpy(m->p + m->len, buf, len);
  m->len += len;
  return 0;
}

struct fd_rd {
  int fd;
};

static ssize_t fd_read(void *ctx, void *buf, size_t len) {
  ssize_t n = read(((struct fd_rd *)ctx)->fd, buf, len);
  return n < 0 ? -errno : n;
}

/* "name type" lines of a tar in memory (type: f d l h c p), sorted as written. */
static char *tar_list(const struct mem *m) {
  struct archive *a = archive_read_new();
  archive_read_support_format_tar(a);
  assert_int_equal(archive_read_open_memory(a, m->p, m->len), ARCHIVE_OK);
  char *out = xstrdup("");
  struct archive_entry *e;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    char t = archive_entry_hardlink(e) ? 'h' : archive_entry_filetype(e) == AE_IFDIR ? 'd'
             : archive_entry_filetype(e) == AE_IFLNK ? 'l' : archive_entry_filetype(e) == AE_IFCHR ? 'c'
             : archive_entry_filetype(e) == AE_IFIFO ? 'p' : 'f';
    char *n = xasprintf("%s%s %c\n", out, archive_entry_pathname(e), t);
    free(out);
    out = n;
  }
  archive_read_free(a);
  return out;
}

static void write_at(const char *dir, const char *name, const char *data) {
  char *p = xasprintf("%s/%s", dir, name);
  int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, data, strlen(data)), (ssize_t)strlen(data));
  close(fd);
  free(p);
}

static void test_diff_empty(void **state) {
  (void)state;
  char dir[] = "/tmp/berth-test-diff-XXXXXX";
  assert_non_null(mkdtemp(dir));
  struct mem m = {0};
  char *id = NULL;
  int64_t size = 0;
  assert_int_equal(store_diff_tar(dir, mem_write, &m, &id, &size, NULL), 0);
  /* Docker's empty layer: exactly two zero blocks */
  assert_int_equal(size, 1024);
  assert_int_equal(m.len, 1024);
  assert_string_equal(id, STORE_EMPTY_LAYER_DIFF_ID);
  free(id);
  free(m.p);
  rmdir(dir);
}

static void test_diff_whiteouts(void **state) {
  (void)state;
  skip_unless_root();
  char dir[] = "/tmp/berth-test-diff-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char *p;
  write_at(dir, "b", "bee");
  p = xasprintf("%s/b", dir);
  char *q = xasprintf("%s/a-link", dir);
  assert_int_equal(link(p, q), 0);
  free(p);
  free(q);
  p = xasprintf("%s/gone", dir);
  assert_int_equal(mknod(p, S_IFCHR | 0, makedev(0, 0)), 0);
  free(p);
  p = xasprintf("%s/opq", dir);
  assert_int_equal(mkdir(p, 0750), 0);
  assert_int_equal(setxattr(p, "trusted.overlay.opaque", "y", 1, 0), 0);
  assert_int_equal(setxattr(p, "trusted.overlay.origin", "zz", 2, 0), 0);
  free(p);
  write_at(dir, "opq/in", "x");
  p = xasprintf("%s/s", dir);
  assert_int_equal(symlink("/etc/passwd", p), 0);
  free(p);
  struct mem m = {0};
  char *id = NULL;
  assert_int_equal(store_diff_tar(dir, mem_write, &m, &id, NULL, NULL), 0);
  char *list = tar_list(&m);
  assert_string_equal(list, "a-link f\nb h\n.wh.gone f\nopq/ d\nopq/.wh..wh..opq f\nopq/in f\ns l\n");
  /* same tree, same bytes */
  struct mem m2 = {0};
  char *id2 = NULL;
  assert_int_equal(store_diff_tar(dir, mem_write, &m2, &id2, NULL, NULL), 0);
  assert_string_equal(id, id2);
  /* and it applies back into the overlay form */
  char out[] = "/tmp/berth-test-diff-out-XXXXXX";
  assert_non_null(mkdtemp(out));
  int mfd = memfd_create("t", 0);
  assert_int_equal(write(mfd, m.p, m.len), (ssize_t)m.len);
  lseek(mfd, 0, SEEK_SET);
  int ofd = open(out, O_PATH | O_DIRECTORY);
  assert_int_equal(layer_apply_fd(mfd, ofd, NULL, NULL), 0);
  struct stat st;
  p = xasprintf("%s/gone", out);
  assert_int_equal(lstat(p, &st), 0);
  assert_true(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0));
  free(p);
  p = xasprintf("%s/opq", out);
  char v[2] = {0};
  assert_int_equal(lgetxattr(p, "trusted.overlay.opaque", v, 2), 1);
  assert_int_equal(lgetxattr(p, "trusted.overlay.origin", v, 2), -1);
  free(p);
  close(ofd);
  close(mfd);
  rm_rf(out, NULL);
  free(list);
  free(id);
  free(id2);
  free(m.p);
  free(m2.p);
  rm_rf(dir, NULL);
}

/* Import a small tar with changes; returns the image ID. */
static char *import_tar(struct fx *f, int fd, const char *ref, char *const *changes, int expect) {
  struct fd_rd rd = {fd};
  struct store_import_opts o = {.src = "-", .changes = changes, .reference = ref};
  char *id = NULL;
  struct berr *err = NULL;
  int r = store_import(f->s, &o, fd_read, &rd, &id, &err);
  if (expect == 0)
    assert_int_equal(r, 0);
  if (expect < 0) { /* refused, whatever the errno, with the layer named */
    assert_true(r < 0);
    fprintf(stderr, "# refused: %s\n", err->msg);
    assert_non_null(err);
    assert_non_null(strstr(err->msg, "import: layer sha256:"));
  }
  berr_free(err);
  return id;
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

static void test_import(void **state) {
  skip_unless_root();
  struct fx *f = *state;
  struct tb t;
  tb_open(&t, "gzip");
  tb_add(&t, 'd', "etc", NULL, 0755, 0);
  tb_add(&t, 'f', "etc/hello", "hi\n", 0644, 0);
  int fd = tb_close(&t);
  char *changes[] = {"CMD [\"/bin/sh\"]", "ENV A=1", NULL};
  char *id = import_tar(f, fd, "imp:1", changes, 0);
  close(fd);
  struct image *img = NULL;
  assert_int_equal(store_image_get(f->s, "imp:1", &img, NULL), 0);
  assert_string_equal(img->id, id);
  assert_int_equal(strv_len(img->diff_ids), 1);
  json_t *c = json_object_get(img->config, "config");
  assert_string_equal(json_string_value(json_array_get(json_object_get(c, "Cmd"), 0)), "/bin/sh");
  assert_string_equal(json_string_value(json_array_get(json_object_get(c, "Env"), 0)), "A=1");
  assert_string_equal(json_string_value(json_object_get(img->config, "comment")), "Imported from -");
  assert_int_equal(json_array_size(json_object_get(img->config, "history")), 1);
  /* the layer's blob is the uncompressed tar: its digest is the diff ID */
  char *blob = content_path(f->s, img->diff_ids[0]);
  assert_true(path_exists(blob));
  free(blob);
  image_free(img);
  free(id);
}

static void test_import_escape(void **state) {
  skip_unless_root();
  struct fx *f = *state;
  struct tb t;
  tb_open(&t, NULL);
  tb_add(&t, 'l', "up", "../../../../../../tmp", 0777, 0);
  tb_add(&t, 'f', "up/berth-test-escape-canary", "x", 0644, 0);
  int fd = tb_close(&t);
  /* RESOLVE_IN_ROOT keeps the write inside; a "../" name is refused */
  struct tb t2;
  tb_open(&t2, NULL);
  tb_add(&t2, 'f', "../escape", "x", 0644, 0);
  int fd2 = tb_close(&t2);
  char *id = import_tar(f, fd2, "bad:1", NULL, -EINVAL);
  assert_null(id);
  close(fd2);
  char *layers = xasprintf("%s/layers", f->root);
  assert_int_equal(count_dir(layers), 1); /* only l/ */
  struct image **v = NULL;
  size_t n = 0;
  assert_int_equal(store_image_list(f->s, &v, &n, NULL), 0);
  assert_int_equal(n, 0);
  free(v);
  free(layers);
  /* a symlink out and a write through it: refused, nothing outside */
  id = import_tar(f, fd, NULL, NULL, -EINVAL);
  assert_null(id);
  assert_false(path_exists("/tmp/berth-test-escape-canary"));
  close(fd);
}

static void test_commit(void **state) {
  skip_unless_root();
  struct fx *f = *state;
  struct tb t;
  tb_open(&t, NULL);
  tb_add(&t, 'd', "etc", NULL, 0755, 0);
  tb_add(&t, 'f', "etc/a", "a", 0644, 0);
  tb_add(&t, 'f', "etc/b", "b", 0644, 0);
  int fd = tb_close(&t);
  char *base = import_tar(f, fd, "base:1", NULL, 0);
  close(fd);
  assert_int_equal(store_rw_create(f->s, "c1", base, NULL), 0);
  char *upper = xasprintf("%s/containers/c1/fs/upper", f->root);
  write_at(upper, "new", "n");
  char *etc = xasprintf("%s/etc", upper);
  assert_int_equal(mkdir(etc, 0755), 0);
  char *wh = xasprintf("%s/a", etc);
  assert_int_equal(mknod(wh, S_IFCHR, makedev(0, 0)), 0);
  json_t *ccfg = json_pack("{s:s,s:[s],s:[s],s:s}", "Hostname", "c1host", "Env", "PATH=/bin", "Cmd", "sh", "Image",
                           "base:1");
  char *changes[] = {"ENV B=2", NULL};
  struct store_commit_opts o = {.cid = "c1", .image_id = base, .container_config = ccfg, .changes = changes,
                                .author = "me", .comment = "msg", .reference = "committed"};
  char *id = NULL;
  struct berr *err = NULL;
  int r = store_commit(f->s, &o, &id, &err);
  assert_int_equal(r, 0);
  struct image *img = NULL;
  assert_int_equal(store_image_get(f->s, "committed:latest", &img, NULL), 0);
  assert_int_equal(strv_len(img->diff_ids), 2);
  assert_string_equal(img->parent, base);
  json_t *c = json_object_get(img->config, "config");
  assert_string_equal(json_string_value(json_object_get(c, "Hostname")), "c1host");
  assert_int_equal(json_array_size(json_object_get(c, "Env")), 2);
  assert_string_equal(json_string_value(json_object_get(img->config, "author")), "me");
  assert_string_equal(json_string_value(json_object_get(img->config, "container")), "c1");
  json_t *h = json_object_get(img->config, "history");
  assert_int_equal(json_array_size(h), 2);
  assert_string_equal(json_string_value(json_object_get(json_array_get(h, 1), "created_by")), "sh");
  assert_string_equal(json_string_value(json_object_get(json_array_get(h, 1), "comment")), "msg");
  /* the committed layer's tar holds the AUFS whiteout */
  char *blob = content_path(f->s, img->diff_ids[1]);
  struct mem m = {0};
  assert_int_equal(read_file(blob, &m.p, &m.len, NULL), 0);
  char *list = tar_list(&m);
  assert_string_equal(list, "etc/ d\netc/.wh.a f\nnew f\n");
  /* a bad reference is refused before anything is made */
  char *lp = xasprintf("%s/layers", f->root);
  size_t layers_before = count_dir(lp);
  write_at(upper, "more", "m");
  struct store_commit_opts bad = o;
  bad.reference = "x@sha256:0000000000000000000000000000000000000000000000000000000000000000";
  char *bad_id = NULL;
  struct berr *berr = NULL;
  assert_int_equal(store_commit(f->s, &bad, &bad_id, &berr), -EINVAL);
  assert_string_equal(berr->msg, "refusing to create a tag with a digest reference");
  berr_free(berr);
  assert_int_equal(count_dir(lp), layers_before);
  free(lp);
  /* removing the base is refused: it has a child */
  json_t *out = NULL;
  assert_int_equal(store_image_remove(f->s, base, true, false, NULL, NULL, &out, NULL), -EBUSY);
  free(list);
  free(m.p);
  free(blob);
  image_free(img);
  free(id);
  json_decref(ccfg);
  free(wh);
  free(etc);
  free(upper);
  assert_int_equal(store_rw_remove(f->s, "c1", NULL), 0);
  free(base);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_diff_empty),
      cmocka_unit_test(test_diff_whiteouts),
      cmocka_unit_test_setup_teardown(test_import, setup, teardown),
      cmocka_unit_test_setup_teardown(test_import_escape, setup, teardown),
      cmocka_unit_test_setup_teardown(test_commit, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
