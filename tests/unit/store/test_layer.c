/* Unit tests of src/store/layer.c and content.c: applying layer tars
 * (files, metadata, links, whiteouts, compression) and refusing the ones
 * that escape; the content store's digest check. Needs root (chown, mknod,
 * trusted.* xattrs): skipped otherwise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "store/store_internal.h"
#include "tar_helper.h"

struct fx {
  char top[64];   /* temp dir: root/ and outside/ in it */
  char root[96];
  char outside[96];
  int rfd;
};

static int setup(void **state) {
  struct fx *f = calloc(1, sizeof *f);
  strcpy(f->top, "/tmp/berth-test-layer-XXXXXX");
  if (!mkdtemp(f->top))
    return -1;
  snprintf(f->root, sizeof f->root, "%s/root", f->top);
  snprintf(f->outside, sizeof f->outside, "%s/outside", f->top);
  mkdir(f->root, 0755);
  mkdir(f->outside, 0755);
  f->rfd = open(f->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fx *f = *state;
  close(f->rfd);
  rm_rf(f->top, NULL);
  free(f);
  return 0;
}

static int apply(struct fx *f, struct tb *t, struct berr **err) {
  int fd = tb_close(t);
  int64_t size = 0;
  int r = layer_apply_fd(fd, f->rfd, &size, err);
  close(fd);
  return r;
}

static char *at(struct fx *f, const char *rel) {
  static char buf[4][256];
  static int k;
  k = (k + 1) % 4;
  snprintf(buf[k], sizeof buf[k], "%s/%s", f->root, rel);
  return buf[k];
}

static void skip_unless_root(void) {
  if (geteuid() != 0)
    skip();
}

static void test_files_and_meta(void **state) {
  skip_unless_root();
  struct fx *f = *state;
  struct tb t;
  tb_open(&t, NULL);
  tb_add(&t, 'd', "etc", NULL, 0750, 0);
  tb_add(&t, 'f', "etc/passwd", "root:x:0:0\n", 04640, 1000);
  tb_add(&t, 'l', "etc/link", "passwd", 0777, 0);
  tb_add(&t, 'h', "etc/hard", "etc/passwd", 0, 0);
  tb_add(&t, 'c', "dev/null", NULL, 0666, 0);
  tb_add(&t, 'p', "fifo", NULL, 0600, 0);
  tb_add(&t, 'f', "deep/er/file", "x", 0644, 0); /* parents not in the tar */
  tb_add_xattr(&t, "xa", "user.berth", "v1");
  struct berr *err = NULL;
  int r = apply(f, &t, &err);
  if (r)
    fail_msg("%s", err->msg);
  struct stat st, st2;
  assert_int_equal(lstat(at(f, "etc/passwd"), &st), 0);
  assert_int_equal(st.st_mode & 07777, 04640); /* set-id bit kept (chmod after chown) */
  assert_int_equal(st.st_uid, 1000);
  assert_int_equal(st.st_size, 11);
  assert_int_equal(st.st_mtim.tv_sec, 1000000);
  assert_int_equal(lstat(at(f, "etc/hard"), &st2), 0);
  assert_int_equal(st.st_ino, st2.st_ino);
  assert_int_equal(lstat(at(f, "etc"), &st), 0);
  assert_int_equal(st.st_mode & 07777, 0750);
  assert_int_equal(st.st_mtim.tv_sec, 1000000); /* dir time set after its entries */
  char buf[64] = {0};
  assert_int_equal(readlink(at(f, "etc/link"), buf, sizeof buf), 6);
  assert_string_equal(buf, "passwd");
  assert_int_equal(lstat(at(f, "dev/null"), &st), 0);
  assert_true(S_ISCHR(st.st_mode));
  assert_int_equal(st.st_rdev, makedev(1, 3));
  assert_int_equal(lstat(at(f, "fifo"), &st), 0);
  assert_true(S_ISFIFO(st.st_mode));
  assert_int_equal(lstat(at(f, "deep/er/file"), &st), 0);
  memset(buf, 0, sizeof buf);
  assert_int_equal(lgetxattr(at(f, "xa"), "user.berth", buf, sizeof buf), 2);
  assert_string_equal(buf, "v1");
}

static void test_whiteouts(void **state) {
  skip_unless_root();
  struct fx *f = *state;
  struct tb t;
  tb_open(&t, "gzip");
  tb_add(&t, 'd', "a", NULL, 0755, 0);
  tb_add(&t, 'f', "a/.wh..wh..opq", NULL, 0644, 0);
  tb_add(&t, 'f', "a/.wh.gone", NULL, 0644, 0);
  tb_add(&t, 'f', ".wh.top", NULL, 0644, 0);
  struct berr *err = NULL;
  int r = apply(f, &t, &err);
  if (r)
    fail_msg("%s", err->msg);
  struct stat st;
  assert_int_equal(lstat(at(f, "a/gone"), &st), 0);
  assert_true(S_ISCHR(st.st_mode));
  assert_int_equal(st.st_rdev, makedev(0, 0));
  assert_int_equal(lstat(at(f, "top"), &st), 0);
  assert_true(S_ISCHR(st.st_mode));
  assert_int_equal(lstat(at(f, "a/.wh.gone"), &st), -1);
  assert_int_equal(lstat(at(f, "a/.wh..wh..opq"), &st), -1);
  char v[4] = {0};
  assert_int_equal(lgetxattr(at(f, "a"), "trusted.overlay.opaque", v, sizeof v), 1);
  assert_int_equal(v[0], 'y');
}

static void test_zstd(void **state) {
  skip_unless_root();
  struct fx *f = *state;
  struct tb t;
  tb_open(&t, "zstd");
  tb_add(&t, 'f', "z", "zstd", 0644, 0);
  assert_int_equal(apply(f, &t, NULL), 0);
  struct stat st;
  assert_int_equal(lstat(at(f, "z"), &st), 0);
  assert_int_equal(st.st_size, 4);
}

static void expect_refused(struct fx *f, struct tb *t, const char *msg_part) {
  struct berr *err = NULL;
  int r = apply(f, t, &err);
  assert_int_equal(r, -EINVAL);
  if (!strstr(err->msg, msg_part))
    fail_msg("message '%s' lacks '%s'", err->msg, msg_part);
  berr_free(err);
}

static void test_escapes(void **state) {
  skip_unless_root();
  struct fx *f = *state;
  struct tb t;
  tb_open(&t, NULL);
  tb_add(&t, 'f', "../escaped", "x", 0644, 0);
  expect_refused(f, &t, "escapes");
  tb_open(&t, NULL);
  tb_add(&t, 'f', "a/../../escaped", "x", 0644, 0);
  expect_refused(f, &t, "escapes");
  tb_open(&t, NULL);
  tb_add(&t, 'f', "/abs", "x", 0644, 0);
  expect_refused(f, &t, "absolute");
  tb_open(&t, NULL);
  tb_add(&t, 'f', "ok", "x", 0644, 0);
  tb_add(&t, 'h', "link", "../outside/secret", 0, 0);
  expect_refused(f, &t, "escapes");
  /* a relative link climbing above the root is refused itself, as dockerd
   * does ("invalid symlink") */
  tb_open(&t, NULL);
  tb_add(&t, 'l', "up", "../outside", 0777, 0);
  expect_refused(f, &t, "invalid symlink \"up\" -> \"../outside\"");
  tb_open(&t, NULL);
  tb_add(&t, 'd', "a", NULL, 0755, 0);
  tb_add(&t, 'l', "a/up", "../../..", 0777, 0);
  expect_refused(f, &t, "invalid symlink");
  /* links that stay inside (relative, or absolute: resolved in the root)
   * are kept, and writes through them stay inside the root */
  tb_open(&t, NULL);
  tb_add(&t, 'd', "outside", NULL, 0755, 0);
  tb_add(&t, 'd', "sub", NULL, 0755, 0);
  tb_add(&t, 'l', "sub/evil", "../outside", 0777, 0);
  tb_add(&t, 'l', "evil", "sub/evil", 0777, 0);
  tb_add(&t, 'l', "evil2", "/", 0777, 0);
  tb_add(&t, 'f', "evil/pwned", "x", 0644, 0);
  tb_add(&t, 'f', "evil2/pwned2", "x", 0644, 0);
  assert_int_equal(apply(f, &t, NULL), 0);
  char p[256];
  snprintf(p, sizeof p, "%s/pwned", f->outside);
  assert_false(path_exists(p));
  assert_true(path_exists(at(f, "outside/pwned")));
  assert_true(path_exists(at(f, "pwned2")));
  /* a hard link through a symlink to outside: its target is not found inside */
  snprintf(p, sizeof p, "%s/secret", f->outside);
  write_file_atomic(p, "s", 1, 0600, NULL);
  tb_open(&t, NULL);
  tb_add(&t, 'h', "stolen", "evil/secret", 0, 0);
  struct berr *err = NULL;
  assert_true(apply(f, &t, &err) < 0);
  berr_free(err);
  assert_false(path_exists(at(f, "stolen")));
  /* a dangling symlink as a parent: refused, nothing created outside */
  tb_open(&t, NULL);
  tb_add(&t, 'l', "dangling", "../../nowhere", 0777, 0);
  tb_add(&t, 'f', "dangling/x", "x", 0644, 0);
  err = NULL;
  assert_true(apply(f, &t, &err) < 0);
  berr_free(err);
  snprintf(p, sizeof p, "%s/nowhere", f->top);
  assert_false(path_exists(p));
  /* a file replacing a symlink does not write through it */
  tb_open(&t, NULL);
  tb_add(&t, 'f', "evil", "replaced", 0644, 0);
  assert_int_equal(apply(f, &t, NULL), 0);
  struct stat st;
  assert_int_equal(lstat(at(f, "evil"), &st), 0);
  assert_true(S_ISREG(st.st_mode));
}

static void test_bad_whiteout(void **state) {
  skip_unless_root();
  struct fx *f = *state;
  struct tb t;
  tb_open(&t, NULL);
  tb_add(&t, 'f', ".wh..", NULL, 0644, 0);
  expect_refused(f, &t, "whiteout");
}

static void test_digests(void **state) {
  (void)state;
  char *d = digest_of("", 0);
  assert_string_equal(d, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  assert_true(digest_valid(d));
  free(d);
  assert_false(digest_valid("sha256:E3B0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
  assert_false(digest_valid("sha256:abc"));
  /* chain(a, b) = sha256("a b") */
  char *c = chain_id_next("sha256:aa", "sha256:bb");
  char *want = digest_of("sha256:aa sha256:bb", 19);
  assert_string_equal(c, want);
  free(c);
  free(want);
  c = chain_id_next(NULL, "sha256:bb");
  assert_string_equal(c, "sha256:bb");
  free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_files_and_meta, setup, teardown),
      cmocka_unit_test_setup_teardown(test_whiteouts, setup, teardown),
      cmocka_unit_test_setup_teardown(test_zstd, setup, teardown),
      cmocka_unit_test_setup_teardown(test_escapes, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_whiteout, setup, teardown),
      cmocka_unit_test(test_digests),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
