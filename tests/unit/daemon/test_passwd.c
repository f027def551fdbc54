/* test_passwd.c — the one user lookup (passwd.c) behind run, exec and cp:
 * libcontainer's rules (numeric users are uids, first line wins, memberships
 * only in the implicit form), dockerd's GroupAdd, the messages and ranges. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "daemon/container_internal.h"

static const char *passwd = "root:x:0:0:root:/root:/bin/sh\n"
                            "# a comment\n"
                            "\n"
                            "1000:x:77:77::/weird:/bin/sh\n"
                            "berth:x:1000:1000::/home/berth:/bin/sh\n"
                            "berth:x:1001:1001::/second:/bin/sh\n"
                            "short:x:5\n"
                            "nobody:x:65534:65534::/:/bin/false";
static const char *group = "root:x:0:\nwheel:x:10:berth,other\nstaff:x:50:other\n"
                           "1000:x:60:\nberth:x:1000:\n";

static int64_t gid_at(const struct ctr_user *u, size_t i) {
  return json_integer_value(json_array_get(u->gids, i));
}

static void test_names_and_ids(void **state) {
  (void)state;
  struct ctr_user u;
  /* a name: its first line; memberships in the implicit form */
  assert_int_equal(ctr_user_resolve("berth", passwd, group, NULL, &u, NULL), 0);
  assert_int_equal(u.uid, 1000);
  assert_int_equal(u.gid, 1000);
  assert_string_equal(u.home, "/home/berth");
  assert_int_equal(json_array_size(u.gids), 1);
  assert_int_equal(gid_at(&u, 0), 10);
  ctr_user_clear(&u);
  /* a number is a uid, never the name "1000" */
  assert_int_equal(ctr_user_resolve("1000", passwd, group, NULL, &u, NULL), 0);
  assert_int_equal(u.gid, 1000);
  assert_string_equal(u.home, "/home/berth");
  ctr_user_clear(&u);
  /* empty: uid 0's line */
  assert_int_equal(ctr_user_resolve("", passwd, group, NULL, &u, NULL), 0);
  assert_int_equal(u.uid, 0);
  assert_string_equal(u.home, "/root");
  assert_int_equal(gid_at(&u, 0), 0);
  ctr_user_clear(&u);
  /* a uid without a line: accepted, gid 0, no HOME */
  assert_int_equal(ctr_user_resolve("4242", passwd, group, NULL, &u, NULL), 0);
  assert_int_equal(u.uid, 4242);
  assert_int_equal(u.gid, 0);
  assert_null(u.home);
  ctr_user_clear(&u);
  /* no files at all */
  assert_int_equal(ctr_user_resolve("12:34", NULL, NULL, NULL, &u, NULL), 0);
  assert_int_equal(u.uid, 12);
  assert_int_equal(u.gid, 34);
  assert_int_equal(gid_at(&u, 0), 34);
  ctr_user_clear(&u);
}

static void test_groups(void **state) {
  (void)state;
  struct ctr_user u;
  /* explicit group: a numeric one is a gid (not the group named "1000") */
  assert_int_equal(ctr_user_resolve("berth:1000", passwd, group, NULL, &u, NULL), 0);
  assert_int_equal(u.gid, 1000);
  assert_int_equal(json_array_size(u.gids), 1); /* no memberships in the explicit form */
  assert_int_equal(gid_at(&u, 0), 1000);
  ctr_user_clear(&u);
  assert_int_equal(ctr_user_resolve("0:staff", passwd, group, NULL, &u, NULL), 0);
  assert_int_equal(u.gid, 50);
  ctr_user_clear(&u);
  /* GroupAdd: names, gids of lines ("1000" is berth's gid 1000 or the
   * group named 1000: the first line matching either), numbers; no duplicates */
  _cleanup_json_ json_t *add = json_pack("[s,s,s,s,s]", "staff", "77", "wheel", "10", "1000");
  assert_int_equal(ctr_user_resolve("nobody", passwd, group, add, &u, NULL), 0);
  assert_int_equal(json_array_size(u.gids), 5);
  assert_int_equal(gid_at(&u, 0), 65534);
  assert_int_equal(gid_at(&u, 1), 50);
  assert_int_equal(gid_at(&u, 2), 77);
  assert_int_equal(gid_at(&u, 3), 10);
  assert_int_equal(gid_at(&u, 4), 60);
  _cleanup_json_ json_t *oci = ctr_user_oci(&u);
  assert_int_equal(json_integer_value(json_object_get(oci, "uid")), 65534);
  assert_int_equal(json_array_size(json_object_get(oci, "additionalGids")), 5);
  ctr_user_clear(&u);
}

static void test_errors(void **state) {
  (void)state;
  struct ctr_user u;
  struct {
    const char *spec, *add, *msg;
  } cases[] = {
      {"nosuch", NULL, "unable to find user nosuch: no matching entries in passwd file"},
      {"short", NULL, "unable to find user short: no matching entries in passwd file"},
      {"0:nogroup", NULL, "unable to find group nogroup: no matching entries in group file"},
      {"0", "nogroup", "Unable to find group nogroup: no matching entries in group file"},
      {"2147483648", NULL, "uids and gids must be in range 0-2147483647"},
      {"0:99999999999", NULL, "uids and gids must be in range 0-2147483647"},
      {"0", "2147483648", "uids and gids must be in range 0-2147483647"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    _cleanup_berr_ struct berr *err = NULL;
    _cleanup_json_ json_t *add = cases[i].add ? json_pack("[s]", cases[i].add) : NULL;
    assert_int_equal(ctr_user_resolve(cases[i].spec, passwd, group, add, &u, &err), -EINVAL);
    assert_string_equal(err->msg, cases[i].msg);
    assert_null(u.gids);
    assert_null(u.home);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_names_and_ids),
      cmocka_unit_test(test_groups),
      cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
