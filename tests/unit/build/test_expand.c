/* Unit tests of src/build/expand.c: quotes, escapes, $var and ${var…}. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>

#include "build/build.h"

static struct bvars vars;

static int setup(void **state) {
  (void)state;
  bvars_set(&vars, "A", "alpha");
  bvars_set(&vars, "E", "");
  bvars_set(&vars, "P", "foobarbaz");
  bvars_set(&vars, "S", "a b");
  bvars_set(&vars, "DIR", "/usr/local/bin");
  return 0;
}
static int teardown(void **state) {
  (void)state;
  bvars_free(&vars);
  return 0;
}

static void check(const char *in, const char *want) {
  char *out = NULL;
  _cleanup_berr_ struct berr *err = NULL;
  if (build_expand_word(in, '\\', &vars, &out, &err) < 0)
    fail_msg("expand(%s) failed: %s", in, err->msg);
  if (strcmp(out, want) != 0) {
    char m[512];
    snprintf(m, sizeof m, "expand(%s) = \"%s\", want \"%s\"", in, out, want);
    free(out);
    fail_msg("%s", m);
  }
  free(out);
}

static void check_err(const char *in, const char *want) {
  char *out = NULL;
  _cleanup_berr_ struct berr *err = NULL;
  int r = build_expand_word(in, '\\', &vars, &out, &err);
  if (r >= 0) {
    free(out);
    fail_msg("expand(%s) should fail", in);
  }
  assert_string_equal(err->msg, want);
}

static void test_plain(void **state) {
  (void)state;
  check("", "");
  check("hello", "hello");
  check("$A", "alpha");
  check("${A}", "alpha");
  check("${A}_x", "alpha_x");
  check("$A_x", "");
  check("$UNSET", "");
  check("x$", "x$");
  check("$ A", "$ A");
  check("a$A$A", "aalphaalpha");
  check("$S", "a b");
}

static void test_quotes_escapes(void **state) {
  (void)state;
  check("'$A'", "$A");
  check("\"$A\"", "alpha");
  check("\"a 'b' c\"", "a 'b' c");
  check("'a \"b\"'", "a \"b\"");
  check("\\$A", "$A");
  check("\\${A}", "${A}");
  check("a\\ b", "a b");
  check("\"\\\"q\\\"\"", "\"q\"");
  check("\"\\$A\"", "$A");
  check("\"a\\b\"", "a\\b");
  check("'a\\b'", "a\\b");
  check("x\\", "x");
  check("\"\"", "");
}

static void test_modifiers(void **state) {
  (void)state;
  check("${A:-w}", "alpha");
  check("${E:-w}", "w");
  check("${U:-w}", "w");
  check("${E-w}", "");
  check("${U-w}", "w");
  check("${A:+w}", "w");
  check("${E:+w}", "");
  check("${E+w}", "w");
  check("${U+w}", "");
  check("${U:-$A}", "alpha");
  check("${U:-${A}x}", "alphax");
  check("${U:-'a b'}", "a b");
  check("${P#f*b}", "arbaz");
  check("${P##f*b}", "az");
  check("${P%b*}", "foobar");
  check("${P%%b*}", "foo");
  check("${P#x}", "foobarbaz");
  check("${DIR##*/}", "bin");
  check("${DIR%/*}", "/usr/local");
  check("${P/ba/fo}", "fooforbaz");
  check("${P//ba/fo}", "fooforfoz");
  check("${A:?msg}", "alpha");
}

static void test_errors(void **state) {
  (void)state;
  check_err("${A", "failed to process \"${A\": missing '}'");
  check_err("${}", "failed to process \"${}\": bad substitution");
  check_err("${A!x}", "failed to process \"${A!x}\": unsupported modifier (!) in substitution");
  check_err("'abc", "failed to process \"'abc\": unexpected end of statement while looking for matching single-quote");
  check_err("\"abc", "failed to process \"\"abc\": unexpected end of statement while looking for matching double-quote");
  check_err("${U:?is required}", "failed to process \"${U:?is required}\": U: is required");
}

static void test_backtick_escape(void **state) {
  (void)state;
  char *out = NULL;
  assert_int_equal(build_expand_word("c:\\dir`$A", '`', &vars, &out, NULL), 0);
  assert_string_equal(out, "c:\\dir$A");
  free(out);
}

static void test_words(void **state) {
  (void)state;
  char **w = NULL;
  assert_int_equal(build_expand_words("80/tcp  $A \"x y\" ${S}", '\\', &vars, &w, NULL), 0);
  assert_int_equal(strv_len(w), 4);
  assert_string_equal(w[0], "80/tcp");
  assert_string_equal(w[1], "alpha");
  assert_string_equal(w[2], "x y");
  assert_string_equal(w[3], "a b");
  strv_free(w);
}

static void test_heredoc_body(void **state) {
  (void)state;
  char *out = NULL;
  assert_int_equal(build_expand_heredoc("echo $A '${A}' \\$A \"q\"\n", &vars, &out, NULL), 0);
  assert_string_equal(out, "echo alpha 'alpha' $A \"q\"\n");
  free(out);
}

static void test_vars_and_glob(void **state) {
  (void)state;
  struct bvars v = {0}, c = {0};
  bvars_set(&v, "X", "1");
  bvars_set(&v, "Y", "2");
  bvars_set(&v, "X", "3");
  assert_int_equal(v.n, 2);
  assert_string_equal(v.keys[0], "X");
  assert_string_equal(bvars_get(&v, "X"), "3");
  assert_null(bvars_get(&v, "Z"));
  bvars_copy(&c, &v);
  assert_string_equal(bvars_get(&c, "Y"), "2");
  bvars_free(&v);
  bvars_free(&c);
  assert_true(build_glob_match("a*c", 3, "abbbc", 5));
  assert_true(build_glob_match("a?c", 3, "abc", 3));
  assert_false(build_glob_match("a?c", 3, "ac", 2));
  assert_true(build_glob_match("a\\*", 3, "a*", 2));
  assert_false(build_glob_match("a\\*", 3, "ab", 2));
}

static void test_missing(void **state) {
  (void)state;
  struct bvars v = {0};
  char **missing = NULL;
  bvars_set(&v, "SET", "1");
  v.missing = &missing;
  char *out = NULL;
  assert_int_equal(build_expand_word("$SET $NOPE ${ALSO} ${DEF:-x} '$QUOTED' $NOPE", '\\', &v, &out, NULL), 0);
  assert_string_equal(out, "1   x $QUOTED ");
  free(out);
  assert_int_equal(strv_len(missing), 2);
  assert_string_equal(missing[0], "NOPE");
  assert_string_equal(missing[1], "ALSO");
  strv_free(missing);
  bvars_free(&v);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_plain),        cmocka_unit_test(test_quotes_escapes),
      cmocka_unit_test(test_modifiers),    cmocka_unit_test(test_errors),
      cmocka_unit_test(test_backtick_escape), cmocka_unit_test(test_words),
      cmocka_unit_test(test_heredoc_body), cmocka_unit_test(test_vars_and_glob),
      cmocka_unit_test(test_missing),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
