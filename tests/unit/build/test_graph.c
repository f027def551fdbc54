/* Unit tests of src/build/graph.c: stage lookup, dependencies, --target,
 * needed stages, parallel levels, cycles. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>

#include "build/build.h"

static struct dockerfile *parse(const char *t) {
  struct dockerfile *df = NULL;
  _cleanup_berr_ struct berr *err = NULL;
  if (dockerfile_parse(t, strlen(t), &df, &err) < 0)
    fail_msg("parse: %s", err->msg);
  return df;
}

static const char *multi = "ARG V=base\n"
                           "FROM busybox AS base\n"      /* 0 */
                           "FROM busybox AS tools\n"     /* 1 */
                           "FROM base AS build\n"        /* 2: base */
                           "COPY --from=tools /a /a\n"   /*    tools */
                           "FROM busybox AS unrelated\n" /* 3 */
                           "FROM scratch\n"              /* 4 */
                           "COPY --from=build /a /a\n"   /*    build */
                           "COPY --from=2 /b /b\n"
                           "RUN --mount=type=bind,from=${V},target=/m true\n"; /* base */

static void test_find(void **state) {
  (void)state;
  struct dockerfile *df = parse(multi);
  assert_int_equal(dockerfile_stage_find(df, "base"), 0);
  assert_int_equal(dockerfile_stage_find(df, "BUILD"), 2);
  assert_int_equal(dockerfile_stage_find(df, "4"), 4);
  assert_int_equal(dockerfile_stage_find(df, "5"), -1);
  assert_int_equal(dockerfile_stage_find(df, "busybox"), -1);
  assert_int_equal(dockerfile_stage_find(df, ""), -1);
  dockerfile_free(df);
}

static void test_graph_default_target(void **state) {
  (void)state;
  struct dockerfile *df = parse(multi);
  struct bvars v = {0};
  bvars_set(&v, "V", "base");
  struct bgraph g;
  _cleanup_berr_ struct berr *err = NULL;
  if (bgraph_build(df, NULL, &v, &g, &err) < 0)
    fail_msg("%s", err->msg);
  assert_int_equal(g.target, 4);
  assert_true(g.stages[0].needed);
  assert_true(g.stages[1].needed);
  assert_true(g.stages[2].needed);
  assert_false(g.stages[3].needed);
  assert_true(g.stages[4].needed);
  assert_true(g.stages[2].base_is_stage);
  assert_int_equal(g.stages[2].base_stage, 0);
  assert_false(g.stages[4].base_is_stage);
  assert_int_equal(g.stages[0].level, 0);
  assert_int_equal(g.stages[1].level, 0); /* parallel with base */
  assert_int_equal(g.stages[2].level, 1);
  assert_int_equal(g.stages[4].level, 2);
  assert_int_equal(g.stages[4].ndeps, 2); /* build (twice, by name and index) and base */
  bgraph_free(&g);
  bvars_free(&v);
  dockerfile_free(df);
}

static void test_graph_target(void **state) {
  (void)state;
  struct dockerfile *df = parse(multi);
  struct bgraph g;
  assert_int_equal(bgraph_build(df, "build", NULL, &g, NULL), 0);
  assert_int_equal(g.target, 2);
  assert_true(g.stages[0].needed && g.stages[1].needed && g.stages[2].needed);
  assert_false(g.stages[3].needed || g.stages[4].needed);
  bgraph_free(&g);
  assert_int_equal(bgraph_build(df, "UNRELATED", NULL, &g, NULL), 0);
  assert_int_equal(g.target, 3);
  assert_false(g.stages[0].needed);
  bgraph_free(&g);
  _cleanup_berr_ struct berr *err = NULL;
  assert_int_equal(bgraph_build(df, "nope", NULL, &g, &err), -EINVAL);
  assert_string_equal(err->msg, "failed to reach build target nope in Dockerfile");
  dockerfile_free(df);
}

static void test_cycles(void **state) {
  (void)state;
  struct dockerfile *df = parse("FROM busybox AS a\nCOPY --from=b /x /x\nFROM busybox AS b\nCOPY --from=a /y /y\n");
  struct bgraph g;
  _cleanup_berr_ struct berr *err = NULL;
  assert_int_equal(bgraph_build(df, NULL, NULL, &g, &err), -EINVAL);
  assert_non_null(strstr(err->msg, "circular dependency detected on stage: "));
  dockerfile_free(df);
  berr_free(err);
  err = NULL;
  df = parse("FROM busybox AS a\nCOPY --from=a /x /x\n");
  assert_int_equal(bgraph_build(df, NULL, NULL, &g, &err), -EINVAL);
  assert_string_equal(err->msg, "circular dependency detected on stage: a");
  dockerfile_free(df);
}

static void test_from_later_name_is_image(void **state) {
  (void)state;
  /* FROM only refers to EARLIER stages; a COPY --from image is not a stage */
  struct dockerfile *df = parse("FROM later AS first\nCOPY --from=alpine:3 /x /x\nFROM busybox AS later\n");
  struct bgraph g;
  assert_int_equal(bgraph_build(df, "first", NULL, &g, NULL), 0);
  assert_false(g.stages[0].base_is_stage);
  assert_int_equal(g.stages[0].ndeps, 0);
  assert_false(g.stages[1].needed);
  bgraph_free(&g);
  dockerfile_free(df);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_find),
      cmocka_unit_test(test_graph_default_target),
      cmocka_unit_test(test_graph_target),
      cmocka_unit_test(test_cycles),
      cmocka_unit_test(test_from_later_name_is_image),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
