/* test_container_volumes.c — cv_parse_mounts (container_volumes.c): Binds,
 * Mounts and Config.Volumes into mount points with dockerd 20.10's Mode, RW,
 * Propagation, and its 400 messages for malformed specs. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "daemon/container_volumes.h"

static json_t *parse(const char *cfg, const char *hc, struct berr **e, int *rc) {
  json_t *c = json_loads(cfg, 0, NULL), *h = json_loads(hc, 0, NULL), *out = NULL;
  *rc = cv_parse_mounts(c, h, &out, e);
  json_decref(c);
  json_decref(h);
  return out;
}

static const json_t *at(const json_t *mps, const char *dst) {
  size_t i;
  json_t *m;
  json_array_foreach(mps, i, m) if (!strcmp(json_string_value(json_object_get(m, "Destination")), dst)) return m;
  return NULL;
}

static const char *str(const json_t *m, const char *k) { return json_string_value(json_object_get(m, k)); }

static void test_shapes(void **s) {
  (void)s;
  struct berr *e = NULL;
  int rc;
  json_t *mps = parse("{\"Volumes\":{\"/data2\":{},\"/over\":{}}}",
                      "{\"Binds\":[\"vy:/data\",\"/h:/h:ro\",\"vz:/d2:ro,nocopy\",\"/s:/s:rshared\","
                      "\"/over2/:/over\"],\"Mounts\":[{\"Type\":\"volume\",\"Target\":\"/m\"},"
                      "{\"Type\":\"tmpfs\",\"Target\":\"/t\"},{\"Type\":\"bind\",\"Source\":\"/\","
                      "\"Target\":\"/b\",\"ReadOnly\":true,\"BindOptions\":{\"Propagation\":\"rslave\"}}]}",
                      &e, &rc);
  assert_int_equal(rc, 0);
  assert_int_equal(json_array_size(mps), 9);
  const json_t *m = at(mps, "/data2");
  assert_string_equal(str(m, "Type"), "volume");
  assert_string_equal(str(m, "Name"), "");
  assert_string_equal(str(m, "Mode"), "");
  m = at(mps, "/data");
  assert_string_equal(str(m, "Name"), "vy");
  assert_string_equal(str(m, "Mode"), "z");
  assert_true(json_is_true(json_object_get(m, "CopyData")));
  m = at(mps, "/h");
  assert_string_equal(str(m, "Type"), "bind");
  assert_string_equal(str(m, "Mode"), "ro");
  assert_string_equal(str(m, "Propagation"), "rprivate");
  assert_true(json_is_false(json_object_get(m, "RW")));
  m = at(mps, "/d2");
  assert_string_equal(str(m, "Mode"), "ro,nocopy");
  assert_true(json_is_false(json_object_get(m, "CopyData")));
  assert_string_equal(str(at(mps, "/s"), "Propagation"), "rshared");
  m = at(mps, "/over"); /* a bind replaces the anonymous volume at its destination */
  assert_string_equal(str(m, "Type"), "bind");
  assert_string_equal(str(at(mps, "/m"), "Mode"), "z");
  assert_string_equal(str(at(mps, "/t"), "Type"), "tmpfs");
  m = at(mps, "/b");
  assert_string_equal(str(m, "Mode"), "");
  assert_string_equal(str(m, "Propagation"), "rslave");
  assert_true(json_is_false(json_object_get(m, "RW")));
  json_decref(mps);
}

static void bad(const char *hc, int code, const char *msg) {
  struct berr *e = NULL;
  int rc;
  json_t *mps = parse("{}", hc, &e, &rc);
  assert_null(mps);
  assert_int_equal(rc, -code);
  assert_string_equal(e->msg, msg);
  berr_free(e);
}

static void test_errors(void **s) {
  (void)s;
  bad("{\"Binds\":[\"vy:rel\"]}", EINVAL, "invalid volume specification: 'vy:rel': invalid mount "
      "config for type \"volume\": invalid mount path: 'rel' mount path must be absolute");
  bad("{\"Binds\":[\"vy:/\"]}", EINVAL, "invalid volume specification: 'vy:/': invalid mount "
      "config for type \"volume\": invalid specification: destination can't be '/'");
  bad("{\"Binds\":[\"vy:/d:xyz\"]}", EINVAL, "invalid mode: xyz");
  bad("{\"Binds\":[\"a:b:c:d\"]}", EINVAL, "invalid volume specification: 'a:b:c:d'");
  bad("{\"Binds\":[\"/x:/x\",\"vy:/x\"]}", EINVAL, "Duplicate mount point: /x");
  bad("{\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"/nonexistent-berth\",\"Target\":\"/x\"}]}",
      EINVAL, "invalid mount config for type \"bind\": bind source path does not exist: "
      "/nonexistent-berth");
  bad("{\"Mounts\":[{\"Type\":\"tmpfs\",\"Source\":\"/x\",\"Target\":\"/x\"}]}", EINVAL,
      "invalid mount config for type \"tmpfs\": field Source must not be specified");
  bad("{\"Mounts\":[{\"Type\":\"bind\",\"Target\":\"/x\"}]}", EINVAL,
      "invalid mount config for type \"bind\": field Source must not be empty");
  bad("{\"Mounts\":[{\"Type\":\"xx\",\"Target\":\"/x\"}]}", EINVAL,
      "invalid mount config for type \"xx\": mount type unknown");
  bad("{\"Mounts\":[{\"Type\":\"volume\",\"Source\":\"vv\",\"Target\":\"/x\","
      "\"VolumeOptions\":{\"Subpath\":\"../up\"}}]}", EINVAL,
      "invalid mount config for type \"volume\": subpath must be a relative path within the "
      "volume: ../up");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_shapes),
      cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
