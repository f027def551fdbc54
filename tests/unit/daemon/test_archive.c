/* test_archive.c — docker cp's stat: Go file modes, the stat header, and
 * paths resolved inside a root (a symlink cannot lead out of it). */
#include <fcntl.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "daemon/container_internal.h"

static void test_go_mode(void **state) {
  (void)state;
  assert_int_equal(archive_go_mode(S_IFREG | 0644), 0644);
  assert_int_equal(archive_go_mode(S_IFDIR | 0755), (1ull << 31) | 0755);
  assert_int_equal(archive_go_mode(S_IFLNK | 0777), 134218239); /* dockerd's /bin/sh */
  assert_int_equal(archive_go_mode(S_IFCHR | 0666), (1ull << 26) | (1ull << 21) | 0666);
  assert_int_equal(archive_go_mode(S_IFREG | S_ISUID | 0755), (1ull << 23) | 0755);
}

static void test_header(void **state) {
  (void)state;
  _cleanup_json_ json_t *st = json_pack("{s:s}", "name", "passwd");
  _cleanup_free_ char *h = archive_stat_header(st);
  assert_string_equal(h, "eyJuYW1lIjoicGFzc3dkIn0="); /* base64 of {"name":"passwd"} */
}

struct fixture {
  char dir[64];
  int root;
};

static int setup(void **state) {
  struct fixture *f = xcalloc(1, sizeof *f);
  snprintf(f->dir, sizeof f->dir, "/tmp/berth-ut-archive-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  _cleanup_free_ char *etc = xasprintf("%s/etc", f->dir);
  _cleanup_free_ char *pw = xasprintf("%s/etc/passwd", f->dir);
  _cleanup_free_ char *ln = xasprintf("%s/etc/link", f->dir);
  _cleanup_free_ char *out = xasprintf("%s/escape", f->dir);
  assert_int_equal(mkdir(etc, 0755), 0);
  assert_int_equal(write_file_atomic(pw, "root:x:0:0::/root:/bin/sh\n", 26, 0644, NULL), 0);
  assert_int_equal(symlink("passwd", ln), 0);
  /* absolute and ".." links must stay inside the root */
  assert_int_equal(symlink("/../../../../etc", out), 0);
  f->root = open(f->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  assert_true(f->root >= 0);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fixture *f = *state;
  close(f->root);
  rm_rf(f->dir, NULL);
  free(f);
  return 0;
}

static void test_stat(void **state) {
  struct fixture *f = *state;
  _cleanup_json_ json_t *st = NULL;
  assert_int_equal(archive_stat(f->root, "/etc/passwd", "c1", &st, NULL), 0);
  assert_string_equal(json_string_value(json_object_get(st, "name")), "passwd");
  assert_int_equal(json_integer_value(json_object_get(st, "size")), 26);
  assert_int_equal(json_integer_value(json_object_get(st, "mode")), 0644);
  assert_string_equal(json_string_value(json_object_get(st, "linkTarget")), "");

  _cleanup_json_ json_t *ln = NULL;
  assert_int_equal(archive_stat(f->root, "/etc/link", "c1", &ln, NULL), 0);
  assert_int_equal(json_integer_value(json_object_get(ln, "mode")), 134218239);
  assert_string_equal(json_string_value(json_object_get(ln, "linkTarget")), "/etc/passwd");

  /* through the escaping link: /escape/passwd is the root's /etc/passwd */
  _cleanup_json_ json_t *esc = NULL;
  assert_int_equal(archive_stat(f->root, "/escape/passwd", "c1", &esc, NULL), 0);
  assert_int_equal(json_integer_value(json_object_get(esc, "size")), 26);
  /* /escape/shadow would be the host's: it must not be found */
  _cleanup_json_ json_t *no = NULL;
  _cleanup_berr_ struct berr *err = NULL;
  assert_int_equal(archive_stat(f->root, "/escape/hostname", "c1", &no, &err), -ENOENT);
  assert_string_equal(err->msg, "Could not find the file /escape/hostname in container c1");

  _cleanup_json_ json_t *dot = NULL;
  assert_int_equal(archive_stat(f->root, "/etc/.", "c1", &dot, NULL), 0);
  assert_string_equal(json_string_value(json_object_get(dot, "name")), ".");
  assert_true(json_integer_value(json_object_get(dot, "mode")) & (1ll << 31));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_go_mode),
      cmocka_unit_test(test_header),
      cmocka_unit_test_setup_teardown(test_stat, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
