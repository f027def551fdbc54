/* test_run_storage.c — --mount parsing of the run/create storage group
 * (run_storage.c): docker CLI 28's fields into HostConfig.Mounts and its
 * error texts. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "cli/run.h"

static json_t *ok(const char *spec) {
  json_t *m = NULL;
  struct berr *e = NULL;
  int rc = run_parse_mount(spec, &m, &e);
  if (rc < 0)
    fail_msg("%s: %s", spec, e->msg);
  return m;
}

static void bad(const char *spec, const char *tail) {
  json_t *m = NULL;
  struct berr *e = NULL;
  assert_int_equal(run_parse_mount(spec, &m, &e), -EINVAL);
  assert_null(m);
  char *want = xasprintf("invalid argument \"%s\" for \"--mount\" flag: %s", spec, tail);
  assert_string_equal(e->msg, want);
  free(want);
  berr_free(e);
}

static void same(const char *spec, const char *json) {
  json_t *m = ok(spec);
  json_t *want = json_loads(json, 0, NULL);
  assert_non_null(want);
  if (!json_equal(m, want)) {
    char *got = json_dumps(m, JSON_SORT_KEYS);
    fail_msg("%s: got %s want %s", spec, got, json);
  }
  json_decref(m);
  json_decref(want);
}

static void test_bind(void **s) {
  (void)s;
  same("type=bind,src=/tmp,dst=/b", "{\"Type\":\"bind\",\"Source\":\"/tmp\",\"Target\":\"/b\"}");
  same("type=bind,source=/etc,target=/b3,bind-propagation=rslave,readonly",
       "{\"Type\":\"bind\",\"Source\":\"/etc\",\"Target\":\"/b3\",\"ReadOnly\":true,"
       "\"BindOptions\":{\"Propagation\":\"rslave\"}}");
  same("type=bind,src=/x,destination=/y,ro=false,bind-nonrecursive",
       "{\"Type\":\"bind\",\"Source\":\"/x\",\"Target\":\"/y\",\"ReadOnly\":false,"
       "\"BindOptions\":{\"NonRecursive\":true}}");
  same("\"type=bind\",src=/x,dst=/y", "{\"Type\":\"bind\",\"Source\":\"/x\",\"Target\":\"/y\"}");
}

static void test_volume(void **s) {
  (void)s;
  same("dst=/m", "{\"Type\":\"volume\",\"Target\":\"/m\"}");
  same("type=volume,src=vq,dst=/vq,volume-label=a=b,volume-nocopy",
       "{\"Type\":\"volume\",\"Source\":\"vq\",\"Target\":\"/vq\",\"VolumeOptions\":{"
       "\"Labels\":{\"a\":\"b\"},\"NoCopy\":true,\"DriverConfig\":{}}}");
  same("src=v,dst=/d,volume-driver=local,volume-opt=type=tmpfs,volume-opt=device=tmpfs,"
       "volume-subpath=sub/dir",
       "{\"Type\":\"volume\",\"Source\":\"v\",\"Target\":\"/d\",\"VolumeOptions\":{"
       "\"DriverConfig\":{\"Name\":\"local\",\"Options\":{\"type\":\"tmpfs\",\"device\":\"tmpfs\"}},"
       "\"Subpath\":\"sub/dir\"}}");
}

static void test_tmpfs(void **s) {
  (void)s;
  same("type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1770",
       "{\"Type\":\"tmpfs\",\"Target\":\"/t\",\"TmpfsOptions\":{\"SizeBytes\":1048576,"
       "\"Mode\":1016}}");
}

static void test_errors(void **s) {
  (void)s;
  bad("type=bind,source=/tmp", "target is required");
  bad("foo=bar,dst=/x", "unexpected key 'foo' in 'foo=bar'");
  bad("type=bind,src=/tmp,dst=/x,volume-nocopy",
      "cannot mix 'volume-*' options with mount type 'bind'");
  bad("type=volume,dst=/x,readonly=maybe", "invalid value for readonly: maybe");
  bad("type=volume,dst=/x,tmpfs-size=1m", "cannot mix 'tmpfs-*' options with mount type 'volume'");
  bad("type=tmpfs,dst=/x,bind-propagation=shared",
      "cannot mix 'bind-*' options with mount type 'tmpfs'");
  bad("type=bind,src,dst=/x", "invalid field 'src' must be a key=value pair");
  bad("type=tmpfs,dst=/x,tmpfs-mode=9", "invalid value for tmpfs-mode: 9");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bind),
      cmocka_unit_test(test_volume),
      cmocka_unit_test(test_tmpfs),
      cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
