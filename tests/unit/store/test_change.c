/* Unit tests of change.c: Dockerfile-style --change lines applied to a
 * container config as dockerd's BuildFromConfig does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>

#include "store/store.h"

static json_t *apply(const char *base, const char *const *changes, int expect) {
  json_t *cfg = base ? json_loads(base, 0, NULL) : json_object();
  struct berr *err = NULL;
  int r = store_changes_apply(cfg, (char *const *)changes, &err);
  if (r != expect)
    fail_msg("got %d (%s), want %d", r, err ? err->msg : "no error", expect);
  berr_free(err);
  return cfg;
}

static void assert_json(json_t *got, const char *key, const char *want) {
  json_t *w = json_loads(want, JSON_DECODE_ANY, NULL);
  assert_non_null(w);
  json_t *g = json_object_get(got, key);
  if (!json_equal(g, w)) {
    char *s = json_dumps(g, JSON_ENCODE_ANY);
    fail_msg("%s: got %s, want %s", key, s ? s : "(absent)", want);
  }
  json_decref(w);
}

static void test_cmd_forms(void **state) {
  (void)state;
  const char *a[] = {"CMD [\"/bin/echo\", \"hi\"]", NULL};
  json_t *c = apply(NULL, a, 0);
  assert_json(c, "Cmd", "[\"/bin/echo\",\"hi\"]");
  json_decref(c);
  const char *b[] = {"cmd echo $HOME && ls", NULL};
  c = apply(NULL, b, 0);
  assert_json(c, "Cmd", "[\"/bin/sh\",\"-c\",\"echo $HOME && ls\"]");
  json_decref(c);
}

static void test_entrypoint_resets_cmd(void **state) {
  (void)state;
  const char *a[] = {"ENTRYPOINT [\"/init\"]", NULL};
  json_t *c = apply("{\"Cmd\":[\"sh\"]}", a, 0);
  assert_json(c, "Entrypoint", "[\"/init\"]");
  assert_json(c, "Cmd", "null");
  json_decref(c);
  const char *b[] = {"CMD [\"x\"]", "ENTRYPOINT top -b", NULL};
  c = apply(NULL, b, 0);
  assert_json(c, "Entrypoint", "[\"/bin/sh\",\"-c\",\"top -b\"]");
  assert_json(c, "Cmd", "[\"x\"]");
  json_decref(c);
}

static void test_env(void **state) {
  (void)state;
  const char *a[] = {"ENV A=1 B=\"two words\"", "ENV C=${A}x D=$B", "ENV legacy value with spaces", "ENV A=3",
                     NULL};
  json_t *c = apply("{\"Env\":[\"PATH=/bin\"]}", a, 0);
  assert_json(c, "Env", "[\"PATH=/bin\",\"A=3\",\"B=two words\",\"C=1x\",\"D=two words\",\"legacy=value with spaces\"]");
  json_decref(c);
  const char *b[] = {"ENV =x", NULL};
  json_decref(apply(NULL, b, -EINVAL));
}

static void test_expose_label_volume(void **state) {
  (void)state;
  const char *a[] = {"EXPOSE 80 53/udp 8000-8001", "LABEL a=b \"c d\"=e", "VOLUME [\"/data\", \"/logs\"]",
                     "VOLUME /x /y", NULL};
  json_t *c = apply(NULL, a, 0);
  assert_json(c, "ExposedPorts", "{\"80/tcp\":{},\"53/udp\":{},\"8000/tcp\":{},\"8001/tcp\":{}}");
  assert_json(c, "Labels", "{\"a\":\"b\",\"c d\":\"e\"}");
  assert_json(c, "Volumes", "{\"/data\":{},\"/logs\":{},\"/x\":{},\"/y\":{}}");
  json_decref(c);
  const char *b[] = {"EXPOSE http", NULL};
  json_decref(apply(NULL, b, -EINVAL));
}

static void test_user_workdir_onbuild(void **state) {
  (void)state;
  const char *a[] = {"USER nobody:nogroup", "WORKDIR /app", "WORKDIR sub/../src", "ONBUILD RUN echo hi", NULL};
  json_t *c = apply(NULL, a, 0);
  assert_json(c, "User", "\"nobody:nogroup\"");
  assert_json(c, "WorkingDir", "\"/app/src\"");
  assert_json(c, "OnBuild", "[\"RUN echo hi\"]");
  json_decref(c);
  const char *b[] = {"ONBUILD ONBUILD RUN x", NULL};
  json_decref(apply(NULL, b, -EINVAL));
  const char *d[] = {"ONBUILD FROM x", NULL};
  json_decref(apply(NULL, d, -EINVAL));
}

static void test_healthcheck(void **state) {
  (void)state;
  const char *a[] = {"HEALTHCHECK --interval=1m30s --timeout=500ms --retries=3 CMD [\"true\"]", NULL};
  json_t *c = apply(NULL, a, 0);
  assert_json(c, "Healthcheck", "{\"Test\":[\"CMD\",\"true\"],\"Interval\":90000000000,\"Timeout\":500000000,\"Retries\":3}");
  json_decref(c);
  const char *b[] = {"HEALTHCHECK CMD curl -f http://x/ || exit 1", NULL};
  c = apply(NULL, b, 0);
  assert_json(c, "Healthcheck", "{\"Test\":[\"CMD-SHELL\",\"curl -f http://x/ || exit 1\"]}");
  json_decref(c);
  const char *d[] = {"healthcheck none", NULL};
  c = apply(NULL, d, 0);
  assert_json(c, "Healthcheck", "{\"Test\":[\"NONE\"]}");
  json_decref(c);
  const char *e[] = {"HEALTHCHECK --bogus=1 CMD x", NULL};
  json_decref(apply(NULL, e, -EINVAL));
  const char *f[] = {"HEALTHCHECK RUN x", NULL};
  json_decref(apply(NULL, f, -EINVAL));
}

static void test_invalid_command(void **state) {
  (void)state;
  const char *s[] = {"STOPSIGNAL SIGINT", NULL}; /* dockerd 20.10 refuses it too */
  json_t *c0 = json_object();
  struct berr *e0 = NULL;
  assert_int_equal(store_changes_apply(c0, (char *const *)s, &e0), -EINVAL);
  assert_string_equal(e0->msg, "stopsignal is not a valid change command");
  berr_free(e0);
  json_decref(c0);
  const char *a[] = {"ENV A=1", "RUN echo hi", NULL};
  json_t *c = json_object();
  struct berr *err = NULL;
  assert_int_equal(store_changes_apply(c, (char *const *)a, &err), -EINVAL);
  assert_string_equal(err->msg, "run is not a valid change command");
  /* validated before anything is applied, as dockerd */
  assert_null(json_object_get(c, "Env"));
  berr_free(err);
  json_decref(c);
}

static void test_lines(void **state) {
  (void)state;
  const char *a[] = {"# comment\n\nENV A=1 \\\n  B=2\nUSER x", "", NULL};
  json_t *c = apply(NULL, a, 0);
  assert_json(c, "Env", "[\"A=1\",\"B=2\"]");
  assert_json(c, "User", "\"x\"");
  json_decref(c);
  json_decref(apply(NULL, NULL, 0));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cmd_forms),
      cmocka_unit_test(test_entrypoint_resets_cmd),
      cmocka_unit_test(test_env),
      cmocka_unit_test(test_expose_label_volume),
      cmocka_unit_test(test_user_workdir_onbuild),
      cmocka_unit_test(test_healthcheck),
      cmocka_unit_test(test_invalid_command),
      cmocka_unit_test(test_lines),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
