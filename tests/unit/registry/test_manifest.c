/* Unit tests of src/registry/manifest.c: schema 2 / OCI manifests, lists
 * and indexes, media types, platform parsing and selection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>

#include "registry/registry_internal.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"
#define D4 "sha256:4444444444444444444444444444444444444444444444444444444444444444"

static const char schema2[] =
    "{\"schemaVersion\":2,\"mediaType\":\"" MT_DOCKER_MANIFEST "\","
    "\"config\":{\"mediaType\":\"" MT_DOCKER_CONFIG "\",\"size\":378,\"digest\":\"" D1 "\"},"
    "\"layers\":[{\"mediaType\":\"" MT_DOCKER_LAYER_GZIP "\",\"size\":10,\"digest\":\"" D2 "\"},"
    "{\"mediaType\":\"" MT_OCI_LAYER_ZSTD "\",\"size\":20,\"digest\":\"" D3 "\"}]}";

static void test_schema2(void **state) {
  (void)state;
  struct manifest m;
  assert_int_equal(manifest_parse(schema2, strlen(schema2), NULL, &m, NULL), 0);
  assert_false(m.is_index);
  assert_string_equal(m.media_type, MT_DOCKER_MANIFEST);
  assert_string_equal(m.config.digest, D1);
  assert_int_equal(m.config.size, 378);
  assert_int_equal(m.nlayers, 2);
  assert_string_equal(m.layers[1].digest, D3);
  assert_int_equal(m.layers[1].size, 20);
  assert_int_equal(manifest_check_layers(&m, NULL), 0);
  manifest_clear(&m);
}

static void test_oci_without_media_type(void **state) {
  (void)state;
  const char *b = "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" MT_OCI_CONFIG "\",\"size\":5,\"digest\":\"" D1
                  "\"},\"layers\":[{\"mediaType\":\"" MT_OCI_LAYER "\",\"size\":7,\"digest\":\"" D2 "\"}]}";
  struct manifest m;
  assert_int_equal(manifest_parse(b, strlen(b), MT_OCI_MANIFEST, &m, NULL), 0);
  assert_string_equal(m.media_type, MT_OCI_MANIFEST); /* from Content-Type */
  manifest_clear(&m);
}

static void test_bad_manifests(void **state) {
  (void)state;
  struct manifest m;
  struct berr *e = NULL;
  const char *s1 = "{\"schemaVersion\":1,\"fsLayers\":[]}";
  assert_int_equal(manifest_parse(s1, strlen(s1), NULL, &m, &e), -EINVAL);
  assert_non_null(strstr(e->msg, "schema 1"));
  berr_free(e);
  e = NULL;
  const char *nodig = "{\"schemaVersion\":2,\"config\":{\"size\":1,\"digest\":\"sha256:xyz\"},\"layers\":[]}";
  assert_int_equal(manifest_parse(nodig, strlen(nodig), NULL, &m, &e), -EINVAL);
  assert_non_null(strstr(e->msg, "config digest"));
  berr_free(e);
  e = NULL;
  assert_int_equal(manifest_parse("not json", 8, NULL, &m, NULL), -EINVAL);
  const char *unk = "{\"schemaVersion\":2,\"config\":{\"size\":1,\"digest\":\"" D1
                    "\"},\"layers\":[{\"mediaType\":\"application/x-weird\",\"size\":3,\"digest\":\"" D2 "\"}]}";
  assert_int_equal(manifest_parse(unk, strlen(unk), NULL, &m, NULL), 0);
  assert_int_equal(manifest_check_layers(&m, &e), -EINVAL);
  assert_string_equal(e->msg, "unsupported media type application/x-weird for layer " D2);
  berr_free(e);
  manifest_clear(&m);
}

static const char index_json[] =
    "{\"schemaVersion\":2,\"mediaType\":\"" MT_DOCKER_LIST "\",\"manifests\":["
    "{\"mediaType\":\"" MT_DOCKER_MANIFEST "\",\"size\":1,\"digest\":\"" D1
    "\",\"platform\":{\"architecture\":\"arm\",\"os\":\"linux\",\"variant\":\"v6\"}},"
    "{\"mediaType\":\"" MT_DOCKER_MANIFEST "\",\"size\":1,\"digest\":\"" D2
    "\",\"platform\":{\"architecture\":\"arm\",\"os\":\"linux\",\"variant\":\"v7\"}},"
    "{\"mediaType\":\"" MT_DOCKER_MANIFEST "\",\"size\":1,\"digest\":\"" D3
    "\",\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"v8\"}},"
    "{\"mediaType\":\"" MT_DOCKER_MANIFEST "\",\"size\":1,\"digest\":\"" D4
    "\",\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}}]}";

static void check_select(const char *plat, const char *want) {
  struct platform p;
  assert_int_equal(platform_parse(plat, &p, NULL), 0);
  char *d = NULL, *mt = NULL;
  assert_int_equal(index_select(index_json, strlen(index_json), &p, &d, &mt, NULL), 0);
  assert_string_equal(d, want);
  assert_string_equal(mt, MT_DOCKER_MANIFEST);
  free(d);
  free(mt);
}

static void test_index(void **state) {
  (void)state;
  struct manifest m;
  assert_int_equal(manifest_parse(index_json, strlen(index_json), NULL, &m, NULL), 0);
  assert_true(m.is_index);
  assert_string_equal(m.media_type, MT_DOCKER_LIST);
  manifest_clear(&m);
  check_select("linux/amd64", D4);
  check_select("linux/x86_64", D4);
  check_select("linux/arm/v7", D2);
  check_select("linux/arm/v6", D1);
  check_select("linux/arm64", D3);
  check_select("linux/arm64/v8", D3);
  check_select("linux/aarch64", D3);
  struct platform p;
  assert_int_equal(platform_parse("linux/s390x", &p, NULL), 0);
  char *d = NULL, *mt = NULL;
  struct berr *e = NULL;
  assert_int_equal(index_select(index_json, strlen(index_json), &p, &d, &mt, &e), -ENOENT);
  assert_string_equal(e->msg, "no matching manifest for linux/s390x in the manifest list entries");
  berr_free(e);
  json_t *pl = index_platforms(index_json, strlen(index_json));
  assert_int_equal(json_array_size(pl), 4);
  char *s = json_dumps(json_array_get(pl, 1), JSON_COMPACT | JSON_PRESERVE_ORDER);
  assert_string_equal(s, "{\"architecture\":\"arm\",\"os\":\"linux\",\"variant\":\"v7\"}");
  free(s);
  json_decref(pl);
}

static void test_platform_parse(void **state) {
  (void)state;
  struct platform p;
  assert_int_equal(platform_parse(NULL, &p, NULL), 0);
  assert_string_equal(p.os, "linux");
  assert_int_equal(platform_parse("Linux/AMD64", &p, NULL), 0);
  assert_string_equal(p.arch, "amd64");
  assert_int_equal(platform_parse("linux/arm/v7", &p, NULL), 0);
  assert_string_equal(p.variant, "v7");
  assert_int_equal(platform_parse("a/b/c/d", &p, NULL), -EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_schema2),     cmocka_unit_test(test_oci_without_media_type),
      cmocka_unit_test(test_bad_manifests), cmocka_unit_test(test_index),
      cmocka_unit_test(test_platform_parse),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
