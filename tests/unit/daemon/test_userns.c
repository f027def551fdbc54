/* test_userns.c — --userns-remap's pure parts (userns.c): /etc/subuid and
 * /etc/subgid lines (several ranges, names and numeric ids, comments,
 * malformed lines), the OCI mappings they give, the next free range for the
 * default user, the setting's shape, dockerd's refusals at create, and the
 * OCI spec (user namespace, mappings, network files over a volume on /etc). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "daemon/container_internal.h"
#include "daemon/userns.h"

static const char *subuid = "# ranges\n"
                            "alice:100000:65536\n"
                            "\n"
                            "bob:165536:65536\n"
                            "  alice:300000:1000  \n"
                            "1001:400000:10\n"
                            "alicex:500000:5";

static int64_t at(const json_t *r, size_t i, size_t j) {
  return json_integer_value(json_array_get(json_array_get(r, i), j));
}

static void test_subid_ranges(void **state) {
  (void)state;
  _cleanup_json_ json_t *r = NULL;
  /* by name, in file order, several ranges; a line naming the uid counts too */
  assert_int_equal(userns_subid_parse(subuid, "/etc/subuid", "alice", 1001, &r, NULL), 0);
  assert_int_equal(json_array_size(r), 3);
  assert_int_equal(at(r, 0, 0), 100000);
  assert_int_equal(at(r, 0, 1), 65536);
  assert_int_equal(at(r, 1, 0), 300000);
  assert_int_equal(at(r, 1, 1), 1000);
  assert_int_equal(at(r, 2, 0), 400000);
  _cleanup_json_ json_t *m = userns_idmap(r);
  assert_int_equal(json_array_size(m), 3);
  assert_int_equal(json_integer_value(json_object_get(json_array_get(m, 0), "containerID")), 0);
  assert_int_equal(json_integer_value(json_object_get(json_array_get(m, 0), "hostID")), 100000);
  assert_int_equal(json_integer_value(json_object_get(json_array_get(m, 1), "containerID")),
                   65536);
  assert_int_equal(json_integer_value(json_object_get(json_array_get(m, 1), "size")), 1000);
  assert_int_equal(json_integer_value(json_object_get(json_array_get(m, 2), "containerID")),
                   66536);
  /* nobody's: empty, not an error */
  _cleanup_json_ json_t *none = NULL;
  assert_int_equal(userns_subid_parse(subuid, "/etc/subuid", "carol", -1, &none, NULL), 0);
  assert_int_equal(json_array_size(none), 0);
  _cleanup_json_ json_t *empty = NULL;
  assert_int_equal(userns_subid_parse("", "/etc/subuid", "alice", -1, &empty, NULL), 0);
  assert_int_equal(json_array_size(empty), 0);
}

static void test_subid_malformed(void **state) {
  (void)state;
  const char *bad[] = {
      "alice:100000\n",          /* two fields */
      "alice:1:2:3\n",           /* four */
      "alice:x:65536\n",         /* not a number */
      "alice:100000:-1\n",       /* negative */
      "alice:100000:0\n",        /* empty range */
      "alice:4294967295:2\n",    /* past the last id */
      "alice:100000:99999999999999999999\n",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    _cleanup_json_ json_t *r = NULL;
    _cleanup_berr_ struct berr *err = NULL;
    assert_int_equal(userns_subid_parse(bad[i], "/etc/subuid", "alice", -1, &r, &err), -EINVAL);
    assert_non_null(err);
  }
  /* a malformed line of someone else still fails the file, as dockerd's parser */
  _cleanup_json_ json_t *r = NULL;
  _cleanup_berr_ struct berr *err = NULL;
  assert_int_equal(
      userns_subid_parse("bob:1:2:3\nalice:100000:65536\n", "/etc/subuid", "alice", -1, &r, &err),
      -EINVAL);
  assert_string_equal(err->msg,
                      "Cannot parse subuid/gid information: Format not correct for /etc/subuid file");
}

static void test_next_range(void **state) {
  (void)state;
  _cleanup_json_ json_t *none = json_array();
  assert_int_equal(userns_next_range(none), 100000);
  _cleanup_json_ json_t *one = json_pack("[[I,I]]", (json_int_t)100000, (json_int_t)65536);
  assert_int_equal(userns_next_range(one), 165536);
  /* out of order, touching: past both */
  _cleanup_json_ json_t *two = json_pack("[[I,I],[I,I]]", (json_int_t)165537, (json_int_t)10,
                                         (json_int_t)100000, (json_int_t)65536);
  assert_int_equal(userns_next_range(two), 165547);
  /* far away: no effect */
  _cleanup_json_ json_t *far = json_pack("[[I,I]]", (json_int_t)1000000, (json_int_t)65536);
  assert_int_equal(userns_next_range(far), 100000);
}

static void test_remap_setting(void **state) {
  (void)state;
  char *u = NULL, *g = NULL;
  assert_int_equal(userns_spec_parse("default", &u, &g, NULL), 0);
  assert_string_equal(u, "default");
  assert_null(g);
  free(u);
  assert_int_equal(userns_spec_parse("100:200", &u, &g, NULL), 0);
  assert_string_equal(u, "100");
  assert_string_equal(g, "200");
  free(u);
  free(g);
  _cleanup_berr_ struct berr *err = NULL;
  assert_int_equal(userns_spec_parse("a:b:c", &u, &g, &err), -EINVAL);
  assert_string_equal(err->msg, "Invalid user/group specification in --userns-remap: \"a:b:c\"");
}

static void test_create_checks(void **state) {
  (void)state;
  struct userns u = {.ns_fd = -1};
  _cleanup_json_ json_t *priv = json_pack("{s:b}", "Privileged", 1);
  _cleanup_json_ json_t *net = json_pack("{s:s}", "NetworkMode", "host");
  _cleanup_json_ json_t *pid = json_pack("{s:s}", "PidMode", "host");
  _cleanup_json_ json_t *opt_out = json_pack("{s:b,s:s,s:s}", "Privileged", 1, "NetworkMode",
                                             "host", "UsernsMode", "host");
  _cleanup_berr_ struct berr *e1 = NULL, *e2 = NULL, *e3 = NULL;
  assert_int_equal(userns_check_create(&u, priv, &e1), -EINVAL);
  assert_true(strstr(e1->msg, "privileged mode is incompatible with user namespaces") != NULL);
  assert_int_equal(userns_check_create(&u, net, &e2), -EINVAL);
  assert_string_equal(e2->msg,
                      "cannot share the host's network namespace when user namespaces are enabled");
  assert_int_equal(userns_check_create(&u, pid, &e3), -EINVAL);
  assert_int_equal(userns_check_create(&u, opt_out, NULL), 0);
  assert_false(userns_active(&u, opt_out));
  assert_true(userns_active(&u, priv));
  /* no remapping: nothing refused */
  assert_int_equal(userns_check_create(NULL, priv, NULL), 0);
  assert_false(userns_active(NULL, priv));
}

/* The spec: a user namespace and the mappings when given, and the network
 * files sorted with the user's mounts (a volume on /etc lies under them). */
static bool has_ns(const json_t *spec, const char *type) {
  size_t i;
  json_t *n;
  json_array_foreach(json_object_get(json_object_get(spec, "linux"), "namespaces"), i, n) {
    if (strcmp(json_string_value(json_object_get(n, "type")), type) == 0)
      return true;
  }
  return false;
}

static int mount_index(const json_t *spec, const char *dst) {
  size_t i;
  json_t *m;
  json_array_foreach(json_object_get(spec, "mounts"), i, m) {
    if (strcmp(json_string_value(json_object_get(m, "destination")), dst) == 0)
      return (int)i;
  }
  return -1;
}

static void test_oci_spec(void **state) {
  (void)state;
  _cleanup_json_ json_t *cfg = json_pack("{s:[s]}", "Cmd", "true");
  _cleanup_json_ json_t *hc = json_object();
  _cleanup_json_ json_t *ranges = json_pack("[[i,i]]", 300000, 65536);
  _cleanup_json_ json_t *map = userns_idmap(ranges);
  _cleanup_json_ json_t *vm = json_pack("[{s:s,s:s,s:s,s:[s,s,s]}]", "destination", "/etc", "type",
                                        "bind", "source", "/v/_data", "options", "rbind",
                                        "rprivate", "rw");
  struct spec_input in = {.id = "abc", .config = cfg, .host_config = hc,
                          .root_dir = "/data/c/abc", .cgroup_parent = "/berth-test",
                          .volume_mounts = vm, .uid_mappings = map, .gid_mappings = map};
  _cleanup_json_ json_t *spec = NULL;
  assert_int_equal(spec_build(&in, &spec, NULL), 0);
  assert_true(has_ns(spec, "user"));
  json_t *um = json_object_get(json_object_get(spec, "linux"), "uidMappings");
  assert_int_equal(json_array_size(um), 1);
  assert_int_equal(json_integer_value(json_object_get(json_array_get(um, 0), "hostID")), 300000);
  assert_non_null(json_object_get(json_object_get(spec, "linux"), "gidMappings"));
  assert_true(mount_index(spec, "/etc") >= 0);
  assert_true(mount_index(spec, "/etc") < mount_index(spec, "/etc/hosts"));
  in.uid_mappings = in.gid_mappings = NULL;
  _cleanup_json_ json_t *plain = NULL;
  assert_int_equal(spec_build(&in, &plain, NULL), 0);
  assert_false(has_ns(plain, "user"));
  assert_null(json_object_get(json_object_get(plain, "linux"), "uidMappings"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_subid_ranges), cmocka_unit_test(test_subid_malformed),
      cmocka_unit_test(test_next_range),   cmocka_unit_test(test_remap_setting),
      cmocka_unit_test(test_create_checks), cmocka_unit_test(test_oci_spec),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
