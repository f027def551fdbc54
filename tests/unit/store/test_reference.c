/* Unit tests of src/store/reference.c: Docker's reference grammar, its
 * normalisation and its error messages (dockerd 20.10's distribution/reference). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>

#include "store/store.h"

struct ok_case {
  const char *in, *full, *familiar;
};

static void test_valid(void **state) {
  (void)state;
  static const struct ok_case cases[] = {
      {"busybox", "docker.io/library/busybox:latest", "busybox:latest"},
      {"busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"},
      {"library/busybox", "docker.io/library/busybox:latest", "busybox:latest"},
      {"docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest"},
      {"index.docker.io/library/busybox:x", "docker.io/library/busybox:x", "busybox:x"},
      {"team/app", "docker.io/team/app:latest", "team/app:latest"},
      {"team/sub/app:v1", "docker.io/team/sub/app:v1", "team/sub/app:v1"},
      {"localhost/app", "localhost/app:latest", "localhost/app:latest"},
      {"localhost:5000/app:1", "localhost:5000/app:1", "localhost:5000/app:1"},
      {"127.0.0.1:5000/a/b", "127.0.0.1:5000/a/b:latest", "127.0.0.1:5000/a/b:latest"},
      {"Example.COM/app", "Example.COM/app:latest", "Example.COM/app:latest"},
      {"my-host.example/a_b.c--d__e:T_a.g-1", "my-host.example/a_b.c--d__e:T_a.g-1",
       "my-host.example/a_b.c--d__e:T_a.g-1"},
      {"busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
       "docker.io/library/busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
       "busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
      {"busybox:1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
       "docker.io/library/busybox:1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
       "busybox:1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
      {"sha256:abcd", "docker.io/library/sha256:abcd", "sha256:abcd"},
      {"a", "docker.io/library/a:latest", "a:latest"},
      {NULL, NULL, NULL},
  };
  for (size_t i = 0; cases[i].full; i++) {
    struct image_ref r;
    struct berr *err = NULL;
    int rc = image_ref_parse(cases[i].in, &r, &err);
    if (rc != 0)
      fail_msg("%s: %s", cases[i].in, err ? err->msg : "?");
    char *full = image_ref_string(&r), *fam = image_ref_familiar(&r);
    assert_string_equal(full, cases[i].full);
    assert_string_equal(fam, cases[i].familiar);
    free(full);
    free(fam);
    image_ref_free(&r);
  }
}

struct bad_case {
  const char *in, *msg;
};

static void test_invalid(void **state) {
  (void)state;
  static const char fmt[] = "invalid reference format";
  static const char upper[] = "invalid reference format: repository name must be lowercase";
  static const struct bad_case cases[] = {
      {"", fmt},
      {"Busybox", upper},
      {"team/App", upper},
      {"localhost:5000/App", upper},
      {"busybox:", fmt},
      {":latest", fmt},
      {"busybox:-x", fmt},
      {"-busybox", fmt},
      {"busybox-", fmt},
      {"bus..ybox", fmt},
      {"bus___ybox", fmt},
      {"a//b", fmt},
      {"a/b/", fmt},
      {"host:port/x", fmt},
      {"-host.com/x", fmt},
      {"busybox@sha256:abc", fmt},
      {"busybox@sha256:0123456789abcdef0123456789abcdef0", "invalid checksum digest length"},
      {"busybox@md5:0123456789abcdef0123456789abcdef", "unsupported digest algorithm"},
      {"busybox@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
       "invalid checksum digest format"},
      {"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
       "invalid repository name (0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef), cannot "
       "specify 64-byte hexadecimal strings"},
      {"a b", fmt},
      {"busybox:tag with space", fmt},
      {NULL, NULL},
  };
  for (size_t i = 0; cases[i].in; i++) {
    struct image_ref r;
    struct berr *err = NULL;
    int rc = image_ref_parse(cases[i].in, &r, &err);
    if (rc == 0)
      fail_msg("'%s' parsed", cases[i].in);
    assert_int_equal(rc, -EINVAL);
    if (strcmp(err->msg, cases[i].msg) != 0)
      fail_msg("'%s': got '%s', want '%s'", cases[i].in, err->msg, cases[i].msg);
    berr_free(err);
  }
}

static void test_lengths(void **state) {
  (void)state;
  /* docker.io/library/ is 18 characters: 237 more make 255 */
  char name[300];
  memset(name, 'a', 237);
  name[237] = '\0';
  struct image_ref r;
  struct berr *err = NULL;
  assert_int_equal(image_ref_parse(name, &r, &err), 0);
  image_ref_free(&r);
  name[237] = 'a';
  name[238] = '\0';
  assert_int_equal(image_ref_parse(name, &r, &err), -EINVAL);
  assert_string_equal(err->msg, "repository name must not be more than 255 characters");
  berr_free(err);
  err = NULL;
  /* tags: 128 characters at most */
  char tagged[200] = "busybox:";
  memset(tagged + 8, 't', 128);
  tagged[136] = '\0';
  assert_int_equal(image_ref_parse(tagged, &r, &err), 0);
  image_ref_free(&r);
  tagged[136] = 't';
  tagged[137] = '\0';
  assert_int_equal(image_ref_parse(tagged, &r, &err), -EINVAL);
  assert_string_equal(err->msg, "invalid reference format");
  berr_free(err);
}

static void test_tag_valid(void **state) {
  (void)state;
  assert_true(image_ref_tag_valid("latest"));
  assert_true(image_ref_tag_valid("_x.Y-1"));
  assert_false(image_ref_tag_valid(""));
  assert_false(image_ref_tag_valid(".x"));
  assert_false(image_ref_tag_valid("-x"));
  assert_false(image_ref_tag_valid("a:b"));
  assert_false(image_ref_tag_valid("a/b"));
}

static void test_familiar_name(void **state) {
  (void)state;
  struct image_ref r;
  assert_int_equal(image_ref_parse("docker.io/library/busybox:1", &r, NULL), 0);
  char *n = image_ref_familiar_name(&r);
  assert_string_equal(n, "busybox");
  free(n);
  image_ref_free(&r);
  assert_int_equal(image_ref_parse("localhost:5000/library/busybox", &r, NULL), 0);
  n = image_ref_familiar_name(&r);
  assert_string_equal(n, "localhost:5000/library/busybox");
  free(n);
  image_ref_free(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_valid),      cmocka_unit_test(test_invalid),
      cmocka_unit_test(test_lengths),    cmocka_unit_test(test_tag_valid),
      cmocka_unit_test(test_familiar_name),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
