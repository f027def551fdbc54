/* Unit tests of src/build/ignore.c: .dockerignore parsing and matching. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>

#include "build/build.h"

static void test_match(void **state) {
  (void)state;
  assert_true(bignore_match("a", "a"));
  assert_false(bignore_match("a", "ab"));
  assert_true(bignore_match("*.go", "x.go"));
  assert_false(bignore_match("*.go", "d/x.go"));
  assert_true(bignore_match("*/*.go", "d/x.go"));
  assert_true(bignore_match("**/*.go", "x.go"));
  assert_true(bignore_match("**/*.go", "a/b/c/x.go"));
  assert_true(bignore_match("a/**/b", "a/b"));
  assert_true(bignore_match("a/**/b", "a/x/y/b"));
  assert_false(bignore_match("a/**/b", "a/x/y/c"));
  assert_true(bignore_match("a/**", "a/x/y"));
  assert_true(bignore_match("**", "anything/at/all"));
  assert_true(bignore_match("te?t", "test"));
  assert_false(bignore_match("te?t", "te/t"));
  assert_true(bignore_match("[a-c]x", "bx"));
  assert_false(bignore_match("[a-c]x", "dx"));
  assert_true(bignore_match("[^a-c]x", "dx"));
  assert_true(bignore_match("[!a]x", "bx"));
  assert_true(bignore_match("a\\*b", "a*b"));
  assert_false(bignore_match("a\\*b", "axb"));
  assert_true(bignore_match("*", "file"));
  assert_false(bignore_match("*", "dir/file"));
}

static bool excluded(const char *ignore, const char *path) {
  struct bignore ig;
  assert_int_equal(bignore_parse(ignore, &ig, NULL), 0);
  bool r = bignore_excluded(&ig, path);
  bignore_free(&ig);
  return r;
}

static void test_parse(void **state) {
  (void)state;
  struct bignore ig;
  assert_int_equal(bignore_parse("# comment\n\n  /a/b/  \n!c\n./d/../e\n**/x\n", &ig, NULL), 0);
  assert_int_equal(ig.n, 4);
  assert_string_equal(ig.pats[0].pattern, "a/b");
  assert_false(ig.pats[0].exclusion);
  assert_string_equal(ig.pats[1].pattern, "c");
  assert_true(ig.pats[1].exclusion);
  assert_string_equal(ig.pats[2].pattern, "e");
  assert_string_equal(ig.pats[3].pattern, "**/x");
  assert_true(bignore_has_exceptions(&ig));
  bignore_free(&ig);
  _cleanup_berr_ struct berr *err = NULL;
  assert_int_equal(bignore_parse("!\n", &ig, &err), -EINVAL);
  assert_string_equal(err->msg, "illegal exclusion pattern: \"!\"");
}

static void test_excluded(void **state) {
  (void)state;
  assert_true(excluded("*.md", "README.md"));
  assert_false(excluded("*.md", "docs/x.md"));
  assert_true(excluded("**/*.md", "docs/x.md"));
  assert_true(excluded("docs", "docs/a/b.txt")); /* parent dir matches */
  assert_true(excluded("/docs/", "docs/a"));
  assert_true(excluded("*.md\n!README.md", "x.md"));
  assert_false(excluded("*.md\n!README.md", "README.md"));
  assert_true(excluded("!README.md\n*.md", "README.md")); /* the last match wins */
  assert_false(excluded("docs\n!docs/keep", "docs/keep"));
  assert_true(excluded("docs\n!docs/keep", "docs/other"));
  assert_false(excluded("", "a"));
  assert_false(excluded("# *\n", "a"));
  assert_true(excluded("*\n!src\nsrc/*.tmp", "src/a.tmp"));
  assert_false(excluded("*\n!src\nsrc/*.tmp", "src/a.c"));
  assert_true(excluded(".git", ".git/HEAD"));
  assert_false(excluded("a/b", "a"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_match),
      cmocka_unit_test(test_parse),
      cmocka_unit_test(test_excluded),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
