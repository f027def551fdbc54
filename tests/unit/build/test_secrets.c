/* Unit tests of build secrets: --secret specs (secrets.c, buildx's
 * wording), the CLI → berthd records and back, and RUN
 * --mount=type=secret's options (run_step.c, BuildKit's defaults). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "build/build_internal.h"

static void spec_err(const char *spec, const char *want) {
  struct build_secret_spec s;
  _cleanup_berr_ struct berr *err = NULL;
  assert_true(build_secret_spec_parse(spec, &s, &err) < 0);
  assert_non_null(err);
  assert_string_equal(err->msg, want);
}

static void test_spec(void **state) {
  (void)state;
  struct build_secret_spec s;
  _cleanup_berr_ struct berr *err = NULL;
  assert_int_equal(build_secret_spec_parse("id=a,src=/f", &s, &err), 0);
  assert_string_equal(s.id, "a");
  assert_string_equal(s.src, "/f");
  assert_null(s.env);
  build_secret_spec_free(&s);
  assert_int_equal(build_secret_spec_parse("ID=a,Source=/g,env=E", &s, &err), 0);
  assert_string_equal(s.src, "/g");
  assert_string_equal(s.env, "E");
  build_secret_spec_free(&s);
  /* type=env: src names the variable */
  assert_int_equal(build_secret_spec_parse("type=env,id=a,src=VAR", &s, &err), 0);
  assert_string_equal(s.env, "VAR");
  assert_null(s.src);
  build_secret_spec_free(&s);
  spec_err("src=/f", "secret missing ID");
  spec_err("id=a,foo=1", "unexpected key 'foo' in 'foo=1'");
  spec_err("id=a,bare", "invalid field 'bare' must be a key=value pair");
  spec_err("id=a,type=ssh", "unsupported secret type \"ssh\"");
}

static void test_roundtrip(void **state) {
  (void)state;
  char path[] = "/tmp/berth-test-secret-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  const char bin[] = "line1\nline2\0binary";
  assert_int_equal(write(fd, bin, sizeof bin - 1), (ssize_t)(sizeof bin - 1));
  close(fd);
  setenv("BERTH_TEST_SECRET_V", "from-env", 1);
  char *wire = NULL;
  size_t len = 0;
  _cleanup_berr_ struct berr *err = NULL;
  struct build_secret_spec a = {.id = (char *)"f", .src = path};
  struct build_secret_spec b = {.id = (char *)"e", .env = (char *)"BERTH_TEST_SECRET_V"};
  struct build_secret_spec c = {.id = (char *)"BERTH_TEST_SECRET_V"}; /* no source: the env var of that name */
  struct build_secret_spec again = {.id = (char *)"f", .env = (char *)"BERTH_TEST_SECRET_V"};
  assert_int_equal(build_secret_encode(&a, &wire, &len, &err), 0);
  assert_int_equal(build_secret_encode(&b, &wire, &len, &err), 0);
  assert_int_equal(build_secret_encode(&c, &wire, &len, &err), 0);
  struct build_secret *v = NULL;
  size_t n = 0;
  assert_int_equal(build_secrets_decode(wire, len, &v, &n, &err), 0);
  assert_int_equal(n, 3);
  assert_string_equal(v[0].id, "f");
  assert_int_equal(v[0].len, sizeof bin - 1);
  assert_memory_equal(v[0].data, bin, sizeof bin - 1);
  assert_string_equal(v[1].id, "e");
  assert_int_equal(v[1].len, 8);
  assert_memory_equal(v[1].data, "from-env", 8);
  assert_string_equal(v[2].id, "BERTH_TEST_SECRET_V");
  build_secrets_free(v, n);
  /* a later record with the same id replaces the first */
  assert_int_equal(build_secret_encode(&again, &wire, &len, &err), 0);
  assert_int_equal(build_secrets_decode(wire, len, &v, &n, &err), 0);
  assert_int_equal(n, 3);
  assert_memory_equal(v[0].data, "from-env", 8);
  build_secrets_free(v, n);
  free(wire);
  /* a missing file: buildx's error */
  struct build_secret_spec missing = {.id = (char *)"m", .src = (char *)"/nonexistent/x"};
  wire = NULL;
  len = 0;
  assert_true(build_secret_encode(&missing, &wire, &len, &err) < 0);
  assert_string_equal(err->msg,
                      "failed to stat /nonexistent/x: stat /nonexistent/x: No such file or directory");
  assert_null(wire);
  unlink(path);
  unsetenv("BERTH_TEST_SECRET_V");
}

static void test_decode_bad(void **state) {
  (void)state;
  const char *bad[] = {"5 a\nabc", "x a\nabc", "3a\nabc", "3 \nabc", "3 a", "-1 a\n", "99999999 a\n"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    struct build_secret *v = NULL;
    size_t n = 0;
    _cleanup_berr_ struct berr *err = NULL;
    assert_true(build_secrets_decode(bad[i], strlen(bad[i]), &v, &n, &err) < 0);
    assert_null(v);
  }
  struct build_secret *v = NULL;
  size_t n = 9;
  _cleanup_berr_ struct berr *err = NULL;
  assert_int_equal(build_secrets_decode("", 0, &v, &n, &err), 0);
  assert_int_equal(n, 0);
  assert_int_equal(build_secrets_decode("0 empty\n", 8, &v, &n, &err), 0);
  assert_int_equal(n, 1);
  assert_int_equal(v[0].len, 0);
  build_secrets_free(v, n);
}

static void test_mount(void **state) {
  (void)state;
  struct bsecret_mount m;
  _cleanup_berr_ struct berr *err = NULL;
  assert_int_equal(bsecret_mount_parse("type=secret,id=tok", "/", &m, &err), 0);
  assert_string_equal(m.target, "/run/secrets/tok");
  assert_int_equal(m.mode, 0400);
  assert_false(m.required);
  bsecret_mount_free(&m);
  /* id from the target's base name; a relative target under WORKDIR */
  assert_int_equal(bsecret_mount_parse("type=secret,target=conf/key,required,mode=0644,uid=5,gid=6", "/app", &m, &err), 0);
  assert_string_equal(m.id, "key");
  assert_string_equal(m.target, "/app/conf/key");
  assert_true(m.required);
  assert_int_equal(m.mode, 0644);
  assert_int_equal(m.uid, 5);
  assert_int_equal(m.gid, 6);
  bsecret_mount_free(&m);
  assert_int_equal(bsecret_mount_parse("type=secret,id=e,env=TOKEN", "/", &m, &err), 0);
  assert_null(m.target);
  assert_string_equal(m.env, "TOKEN");
  bsecret_mount_free(&m);
  assert_int_equal(bsecret_mount_parse("type=secret,id=e,required=false", "/", &m, &err), 0);
  assert_false(m.required);
  bsecret_mount_free(&m);
  assert_true(bsecret_mount_parse("type=secret", "/", &m, &err) < 0);
  assert_string_equal(err->msg, "secret ID missing from mount options");
  berr_free(err);
  err = NULL;
  assert_true(bsecret_mount_parse("type=secret,id=a,mode=9", "/", &m, &err) < 0);
  assert_string_equal(err->msg, "invalid value for mode: 9");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_spec),
      cmocka_unit_test(test_roundtrip),
      cmocka_unit_test(test_decode_bad),
      cmocka_unit_test(test_mount),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
