/* test_exec.c — an exec's OCI process from the container's: command, env
 * (Docker's replace-or-append and unset), user lookup (libcontainer's rules
 * and messages), tty, cwd, privileged capabilities. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "daemon/container_internal.h"

static const char *passwd = "root:x:0:0:root:/root:/bin/sh\n"
                            "berth:x:1000:1000::/home/berth:/bin/sh\n"
                            "nobody:x:65534:65534::/:/bin/false\n";
static const char *group = "root:x:0:\nberth:x:1000:\nwheel:x:10:berth,other\n"
                           "staff:x:50:other\n";

static void test_user(void **state) {
  (void)state;
  _cleanup_json_ json_t *u = NULL;
  assert_int_equal(exec_resolve_user("berth", passwd, group, NULL, &u, NULL), 0);
  assert_int_equal(json_integer_value(json_object_get(u, "uid")), 1000);
  assert_int_equal(json_integer_value(json_object_get(u, "gid")), 1000);
  json_t *g = json_object_get(u, "additionalGids");
  assert_int_equal(json_array_size(g), 1);
  assert_int_equal(json_integer_value(json_array_get(g, 0)), 10);

  _cleanup_json_ json_t *n = NULL;
  assert_int_equal(exec_resolve_user("1234:staff", passwd, group, NULL, &n, NULL), 0);
  assert_int_equal(json_integer_value(json_object_get(n, "uid")), 1234);
  assert_int_equal(json_integer_value(json_object_get(n, "gid")), 50);
  /* no membership: the primary gid alone, as runc under dockerd gives it */
  assert_int_equal(json_array_size(json_object_get(n, "additionalGids")), 1);
  assert_int_equal(json_integer_value(json_array_get(json_object_get(n, "additionalGids"), 0)),
                   50);

  _cleanup_json_ json_t *ga = NULL;
  _cleanup_json_ json_t *add = json_pack("[s,s]", "staff", "77");
  assert_int_equal(exec_resolve_user("65534", passwd, group, add, &ga, NULL), 0);
  assert_int_equal(json_integer_value(json_object_get(ga, "gid")), 65534);
  assert_int_equal(json_array_size(json_object_get(ga, "additionalGids")), 3);

  _cleanup_json_ json_t *x = NULL;
  _cleanup_berr_ struct berr *err = NULL;
  assert_int_equal(exec_resolve_user("nosuch", passwd, group, NULL, &x, &err), -EINVAL);
  assert_string_equal(err->msg, "unable to find user nosuch: no matching entries in passwd file");
  _cleanup_berr_ struct berr *err2 = NULL;
  assert_int_equal(exec_resolve_user("0:nogroup", passwd, group, NULL, &x, &err2), -EINVAL);
  assert_string_equal(err2->msg,
                      "unable to find group nogroup: no matching entries in group file");
}

static void test_process(void **state) {
  (void)state;
  _cleanup_json_ json_t *base = json_pack(
      "{s:[s],s:[s,s],s:s,s:{s:i,s:i},s:b,s:{s:[s],s:[s]}}", "args", "sleep", "env",
      "PATH=/bin", "FOO=old", "cwd", "/", "user", "uid", 0, "gid", 0, "noNewPrivileges", 0,
      "capabilities", "bounding", "CAP_CHOWN", "effective", "CAP_CHOWN");
  _cleanup_json_ json_t *cfg = json_pack(
      "{s:s,s:[s,s],s:[s,s,s],s:s,s:s,s:b,s:b}", "Entrypoint", "sh", "Arguments", "-c", "id",
      "Env", "FOO=new", "BAR=1", "PATH", "User", "berth", "WorkingDir", "/tmp", "Tty", 1,
      "Privileged", 1);
  _cleanup_json_ json_t *caps = json_pack("[s,s]", "CAP_CHOWN", "CAP_SYS_ADMIN");
  struct exec_spec_in in = {.base = base, .cfg = cfg, .passwd = passwd, .group = group,
                            .all_caps = caps};
  _cleanup_json_ json_t *p = NULL;
  assert_int_equal(exec_build_process(&in, &p, NULL), 0);
  json_t *args = json_object_get(p, "args");
  assert_int_equal(json_array_size(args), 3);
  assert_string_equal(json_string_value(json_array_get(args, 0)), "sh");
  assert_string_equal(json_string_value(json_array_get(args, 2)), "id");
  _cleanup_free_ char *env = json_dump_compact(json_object_get(p, "env"));
  /* PATH unset by a bare "PATH", FOO replaced in place, TERM for the tty */
  assert_string_equal(env, "[\"FOO=new\",\"TERM=xterm\",\"BAR=1\"]");
  assert_string_equal(json_string_value(json_object_get(p, "cwd")), "/tmp");
  assert_true(json_is_true(json_object_get(p, "terminal")));
  assert_int_equal(json_integer_value(json_object_get(json_object_get(p, "user"), "uid")), 1000);
  json_t *eff = json_object_get(json_object_get(p, "capabilities"), "effective");
  assert_int_equal(json_array_size(eff), 2);
  /* the base is not modified */
  assert_int_equal(json_array_size(json_object_get(base, "env")), 2);

  /* no User: the container's user stays; not privileged: its caps stay */
  _cleanup_json_ json_t *cfg2 = json_pack("{s:s,s:[]}", "Entrypoint", "true", "Arguments");
  in.cfg = cfg2;
  _cleanup_json_ json_t *p2 = NULL;
  assert_int_equal(exec_build_process(&in, &p2, NULL), 0);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(p2, "user"), "uid")), 0);
  assert_int_equal(
      json_array_size(json_object_get(json_object_get(p2, "capabilities"), "effective")), 1);
  assert_false(json_is_true(json_object_get(p2, "terminal")));
  assert_string_equal(json_string_value(json_object_get(p2, "cwd")), "/");
}

static void test_all_caps(void **state) {
  (void)state;
  _cleanup_json_ json_t *a = exec_all_caps();
  assert_true(json_array_size(a) >= 38);
  assert_string_equal(json_string_value(json_array_get(a, 0)), "CAP_CHOWN");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_user),
      cmocka_unit_test(test_process),
      cmocka_unit_test(test_all_caps),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
