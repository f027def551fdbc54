/* Unit tests for src/common: errors, strings, sizes, paths, atomic files. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>

#include "common/common.h"

static void test_error_chain(void **state) {
  (void)state;
  _cleanup_berr_ struct berr *err = NULL;
  assert_int_equal(berr_sys(&err, ENOENT, "open %s", "/x"), -ENOENT);
  assert_int_equal(berr_set(&err, EINVAL, "ignored: first cause wins"), -EINVAL);
  assert_int_equal(berr_wrap(&err, "create %s", "c1"), -ENOENT);
  assert_string_equal(err->msg, "create c1: open /x: No such file or directory");
}

static void test_parse_size(void **state) {
  (void)state;
  int64_t v;
  assert_int_equal(parse_size_bytes("512", &v), 0);
  assert_int_equal(v, 512);
  assert_int_equal(parse_size_bytes("64m", &v), 0);
  assert_int_equal(v, 64 << 20);
  assert_int_equal(parse_size_bytes("1GB", &v), 0);
  assert_int_equal(v, 1LL << 30);
  assert_int_equal(parse_size_bytes("1.5k", &v), 0);
  assert_int_equal(v, 1536);
  assert_int_equal(parse_size_bytes("2KiB", &v), 0);
  assert_int_equal(v, 2048);
  assert_int_equal(parse_size_bytes("-1", &v), 0);
  assert_int_equal(v, -1);
  assert_int_equal(parse_size_bytes("12x", &v), -EINVAL);
  assert_int_equal(parse_size_bytes("", &v), -EINVAL);
  assert_int_equal(parse_size_bytes("m", &v), -EINVAL);
  assert_int_equal(parse_size_bytes("-5", &v), -EINVAL);
}

static void check_clean(const char *in, const char *want, bool want_escape) {
  bool esc;
  char *got = path_clean(in, &esc);
  assert_string_equal(got, want);
  assert_int_equal(esc, want_escape);
  free(got);
}

static void test_path_clean(void **state) {
  (void)state;
  check_clean("/a//b/./c/", "/a/b/c", false);
  check_clean("/a/../b", "/b", false);
  check_clean("/../etc", "/etc", true);
  check_clean("/a/../../etc", "/etc", true);
  check_clean("a/../..", "..", true);
  check_clean("/", "/", false);
  check_clean("", ".", false);
}

static void test_join_in_root(void **state) {
  (void)state;
  _cleanup_berr_ struct berr *err = NULL;
  char *out = NULL;
  assert_int_equal(path_join_in_root("/r", "/proc/sys", &out, &err), 0);
  assert_string_equal(out, "/r/proc/sys");
  free(out);
  assert_int_equal(path_join_in_root("/r/", "/", &out, &err), 0);
  assert_string_equal(out, "/r/");
  free(out);
  assert_int_equal(path_join_in_root("/r", "/../../x", &out, &err), -EINVAL);
  assert_non_null(strstr(err->msg, "/../../x"));
}

static void test_strv(void **state) {
  (void)state;
  _cleanup_strv_ char **v = NULL;
  v = strv_append(v, xstrdup("a"));
  v = strv_append(v, xasprintf("%d", 2));
  assert_int_equal(strv_len(v), 2);
  assert_string_equal(v[1], "2");
  assert_null(v[2]);
}

static void test_atomic_write_and_rm(void **state) {
  (void)state;
  char tmpl[] = "/tmp/berth-unit-XXXXXX";
  assert_non_null(mkdtemp(tmpl));
  _cleanup_berr_ struct berr *err = NULL;
  _cleanup_free_ char *dir = xasprintf("%s/a/b", tmpl);
  assert_int_equal(mkdir_p(dir, 0755, &err), 0);
  _cleanup_free_ char *f = xasprintf("%s/state.json", dir);
  assert_int_equal(write_file_atomic(f, "{}", 2, 0600, &err), 0);
  _cleanup_free_ char *data = NULL;
  size_t len = 0;
  assert_int_equal(read_file(f, &data, &len, &err), 0);
  assert_string_equal(data, "{}");
  assert_int_equal(rm_rf(tmpl, &err), 0);
  assert_false(path_exists(tmpl));
  assert_int_equal(read_file(f, &data, &len, &err), -ENOENT);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_error_chain), cmocka_unit_test(test_parse_size),
      cmocka_unit_test(test_path_clean),  cmocka_unit_test(test_join_in_root),
      cmocka_unit_test(test_strv),        cmocka_unit_test(test_atomic_write_and_rm),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
