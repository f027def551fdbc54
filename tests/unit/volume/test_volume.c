/* test_volume.c — the volume store (src/volume): Docker's name rule, the
 * local driver's options, mount option parsing, create / inspect / list /
 * remove / prune, references by containers and the in-use refusal, all in a
 * temporary data root (no mounts made). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/mount.h>

#include <cmocka.h>

#include "volume/volume.h"

static void test_name_rule(void **s) {
  (void)s;
  static const char *const good[] = {"ab", "a1", "my_vol", "x.y-z", "0abc", "A_", NULL};
  static const char *const bad[] = {"a", "", "a/b", "_ab", ".ab", "-ab", "a b", "a:b", "/abs", NULL};
  for (size_t i = 0; good[i]; i++)
    assert_int_equal(volume_name_check(good[i], NULL), 0);
  for (size_t i = 0; bad[i]; i++) {
    struct berr *e = NULL;
    assert_int_equal(volume_name_check(bad[i], &e), -EINVAL);
    berr_free(e);
  }
  struct berr *e = NULL;
  volume_name_check("a/b", &e);
  assert_string_equal(e->msg, "create a/b: \"a/b\" includes invalid characters for a local volume "
                              "name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you "
                              "intended to pass a host directory, use absolute path");
  berr_free(e);
}

static void test_opts(void **s) {
  (void)s;
  json_t *ok = json_pack("{s:s,s:s,s:s}", "type", "tmpfs", "device", "tmpfs", "o", "size=10m,uid=1000");
  assert_int_equal(volume_opts_check(ok, NULL), 0);
  json_decref(ok);
  json_t *bad = json_pack("{s:s}", "foo", "1");
  struct berr *e = NULL;
  assert_int_equal(volume_opts_check(bad, &e), -EINVAL);
  assert_string_equal(e->msg, "invalid option: \"foo\"");
  berr_free(e);
  json_decref(bad);
  json_t *size = json_pack("{s:s}", "size", "1m"); /* size needs type=tmpfs */
  e = NULL;
  assert_int_equal(volume_opts_check(size, &e), -EINVAL);
  berr_free(e);
  json_decref(size);
}

static void test_mount_opts(void **s) {
  (void)s;
  unsigned long fl = 0;
  char *data = NULL;
  assert_int_equal(volume_mount_opts("bind,ro,nosuid", &fl, &data, NULL), 0);
  assert_true(fl & MS_BIND);
  assert_true(fl & MS_RDONLY);
  assert_true(fl & MS_NOSUID);
  assert_string_equal(data, "");
  free(data);
  assert_int_equal(volume_mount_opts("size=10m,uid=1000,noexec,rw", &fl, &data, NULL), 0);
  assert_int_equal(fl, MS_NOEXEC);
  assert_string_equal(data, "size=10m,uid=1000");
  free(data);
  struct berr *e = NULL;
  assert_int_equal(volume_mount_opts("bogus", &fl, &data, &e), -EINVAL);
  assert_string_equal(e->msg, "invalid mount option: \"bogus\"");
  berr_free(e);
}

struct fx {
  char dir[64];
  struct volumes *vs;
};

static int setup(void **state) {
  struct fx *f = calloc(1, sizeof(*f));
  strcpy(f->dir, "/tmp/berth-test-vol-XXXXXX");
  if (!mkdtemp(f->dir) || volumes_open(f->dir, &f->vs, NULL) < 0)
    return -1;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fx *f = *state;
  volumes_close(f->vs);
  rm_rf(f->dir, NULL);
  free(f);
  return 0;
}

static void test_create_inspect(void **state) {
  struct fx *f = *state;
  json_t *labels = json_pack("{s:s}", "k", "v"), *v = NULL;
  assert_int_equal(volume_create(f->vs, "data1", NULL, NULL, labels, &v, NULL), 0);
  assert_string_equal(json_string_value(json_object_get(v, "Name")), "data1");
  assert_string_equal(json_string_value(json_object_get(v, "Driver")), "local");
  assert_string_equal(json_string_value(json_object_get(v, "Scope")), "local");
  assert_true(json_is_null(json_object_get(v, "Options")));
  assert_string_equal(json_string_value(json_object_get(json_object_get(v, "Labels"), "k")), "v");
  char *mp = xasprintf("%s/volumes/data1/_data", f->dir);
  assert_string_equal(json_string_value(json_object_get(v, "Mountpoint")), mp);
  assert_true(path_exists(mp));
  const char *created = json_string_value(json_object_get(v, "CreatedAt"));
  assert_int_equal(strlen(created), 20); /* 2024-01-02T03:04:05Z */
  free(mp);
  json_decref(v);
  json_decref(labels);
  /* an existing name is returned as it is; no labels → null */
  v = NULL;
  assert_int_equal(volume_create(f->vs, "data1", "local", NULL, NULL, &v, NULL), 0);
  assert_string_equal(json_string_value(json_object_get(json_object_get(v, "Labels"), "k")), "v");
  json_decref(v);
  v = NULL;
  json_t *none = json_object();
  assert_int_equal(volume_create(f->vs, "data2", "local", NULL, none, &v, NULL), 0);
  json_decref(none);
  /* dockerd keeps what the client sent: {} stays {}, absent is null */
  assert_true(json_is_object(json_object_get(v, "Labels")));
  json_decref(v);
  v = NULL;
  assert_int_equal(volume_create(f->vs, "data3", "local", NULL, NULL, &v, NULL), 0);
  assert_true(json_is_null(json_object_get(v, "Labels")));
  json_decref(v);
  struct berr *e = NULL;
  assert_int_equal(volume_create(f->vs, "x", NULL, NULL, NULL, NULL, &e), -EINVAL);
  berr_free(e);
  e = NULL;
  assert_int_equal(volume_create(f->vs, "ok1", "nfsplugin", NULL, NULL, NULL, &e), -ENOENT);
  berr_free(e);
  e = NULL;
  assert_int_equal(volume_inspect(f->vs, "nope", &v, &e), -ENOENT);
  assert_string_equal(e->msg, "get nope: no such volume");
  berr_free(e);
}

static void test_anonymous(void **state) {
  struct fx *f = *state;
  json_t *v = NULL;
  assert_int_equal(volume_create(f->vs, NULL, NULL, NULL, NULL, &v, NULL), 0);
  const char *n = json_string_value(json_object_get(v, "Name"));
  assert_int_equal(strlen(n), 64);
  for (const char *p = n; *p; p++)
    assert_true(strchr("0123456789abcdef", *p) != NULL);
  assert_true(volume_is_anonymous(f->vs, n));
  assert_false(volume_exists(f->vs, "data9"));
  json_decref(v);
}

static void test_refs_remove_prune(void **state) {
  struct fx *f = *state;
  const char *cid = "c0ffee0000000000000000000000000000000000000000000000000000000001";
  assert_int_equal(volume_create(f->vs, "used", NULL, NULL, NULL, NULL, NULL), 0);
  json_t *keep = json_pack("{s:s}", "keep", "1");
  assert_int_equal(volume_create(f->vs, "free1", NULL, NULL, keep, NULL, NULL), 0);
  json_decref(keep);
  assert_int_equal(volume_create(f->vs, "free2", NULL, NULL, NULL, NULL, NULL), 0);
  json_t *mps = json_pack("[{s:s,s:s,s:s},{s:s,s:s,s:s}]", "Type", "volume", "Name", "used",
                          "Destination", "/d", "Type", "bind", "Source", "/tmp", "Destination", "/b");
  assert_int_equal(volume_refs_set(f->vs, cid, mps, NULL), 0);
  json_t *back = volume_refs_get(f->vs, cid);
  assert_true(json_equal(back, mps));
  json_decref(back);
  json_decref(mps);
  json_t *u = volume_users(f->vs, "used");
  assert_int_equal(json_array_size(u), 1);
  json_decref(u);
  /* in use: Docker's 409 text with the container ID */
  struct berr *e = NULL;
  assert_int_equal(volume_remove(f->vs, "used", false, &e), -EBUSY);
  char *want = xasprintf("remove used: volume is in use - [%s]", cid);
  assert_string_equal(e->msg, want);
  free(want);
  berr_free(e);
  e = NULL;
  assert_int_equal(volume_remove(f->vs, "used", true, &e), -EBUSY); /* force does not override */
  berr_free(e);
  /* absent: 404 unless force */
  e = NULL;
  assert_int_equal(volume_remove(f->vs, "absent", false, &e), -ENOENT);
  berr_free(e);
  assert_int_equal(volume_remove(f->vs, "absent", true, NULL), 0);
  /* a file in a volume counts in its size */
  char *p = volume_path(f->vs, "free2");
  char *file = xasprintf("%s/f", p);
  assert_int_equal(write_file_atomic(file, "12345", 5, 0644, NULL), 0);
  assert_int_equal(volume_size(f->vs, "free2"), 5);
  assert_false(volume_is_empty(f->vs, "free2"));
  free(file);
  free(p);
  /* dockerd 20.10 keeps volumes made with driver options */
  json_t *opts = json_pack("{s:s,s:s}", "type", "tmpfs", "device", "tmpfs");
  assert_int_equal(volume_create(f->vs, "withopts", NULL, opts, NULL, NULL, NULL), 0);
  json_decref(opts);
  json_t *out = NULL;
  assert_int_equal(volume_prune(f->vs, NULL, NULL, &out, NULL), 0);
  /* 20.10 semantics: named unused volumes go too; "used" stays */
  json_t *del = json_object_get(out, "VolumesDeleted");
  assert_int_equal(json_array_size(del), 2);
  assert_int_equal(json_integer_value(json_object_get(out, "SpaceReclaimed")), 5);
  json_decref(out);
  assert_true(volume_exists(f->vs, "used"));
  assert_true(volume_exists(f->vs, "withopts"));
  assert_int_equal(volume_remove(f->vs, "withopts", false, NULL), 0);
  assert_false(volume_exists(f->vs, "free1"));
  volume_refs_drop(f->vs, cid);
  assert_null(volume_refs_get(f->vs, cid));
  assert_int_equal(volume_remove(f->vs, "used", false, NULL), 0);
  json_t *all = NULL;
  assert_int_equal(volume_list(f->vs, true, &all, NULL), 0);
  assert_int_equal(json_array_size(all), 0);
  json_decref(all);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_name_rule),
      cmocka_unit_test(test_opts),
      cmocka_unit_test(test_mount_opts),
      cmocka_unit_test_setup_teardown(test_create_inspect, setup, teardown),
      cmocka_unit_test_setup_teardown(test_anonymous, setup, teardown),
      cmocka_unit_test_setup_teardown(test_refs_remove_prune, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
