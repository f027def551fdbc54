/*
 * test_filters.c — Docker's filters parameter (filters.c) and the events
 * filters and time parsing built on it (events.c).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "daemon/daemon.h"

static json_t *parse(const char *s) {
  json_t *f = NULL;
  _cleanup_berr_ struct berr *err = NULL;
  assert_int_equal(filters_parse(s, &f, &err), 0);
  return f;
}

static void test_parse(void **state) {
  _cleanup_json_ json_t *a = parse("{\"label\":{\"a=b\":true,\"c\":true,\"off\":false}}");
  _cleanup_json_ json_t *b = parse("{\"label\":[\"a=b\",\"c\"]}");
  _cleanup_free_ char *sa = json_dump_compact(a), *sb = json_dump_compact(b);
  assert_string_equal(sa, "{\"label\":[\"a=b\",\"c\"]}");
  assert_string_equal(sa, sb);
  _cleanup_json_ json_t *e = parse(NULL);
  assert_int_equal(json_object_size(e), 0);
  _cleanup_json_ json_t *e2 = parse("");
  assert_int_equal(json_object_size(e2), 0);
  static const char *const bad[] = {"{", "[1]", "{\"a\":1}", "{\"a\":[1]}", "{\"a\":{\"b\":1}}"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
    json_t *f = NULL;
    _cleanup_berr_ struct berr *err = NULL;
    assert_int_equal(filters_parse(bad[i], &f, &err), -EINVAL);
    assert_null(f);
    assert_non_null(err);
  }
}

static void test_match(void **state) {
  _cleanup_json_ json_t *f = parse("{\"status\":[\"running\",\"paused\"],\"label\":[\"a=b\",\"c\"]}");
  assert_true(filters_match(f, "status", "running"));
  assert_true(filters_match(f, "status", "paused"));
  assert_false(filters_match(f, "status", "exited"));
  assert_false(filters_match(f, "status", NULL));
  assert_true(filters_match(f, "name", "anything")); /* absent key */
  assert_true(filters_match(NULL, "name", "x"));
  _cleanup_json_ json_t *l1 = json_pack("{s:s, s:s}", "a", "b", "c", "");
  _cleanup_json_ json_t *l2 = json_pack("{s:s, s:s}", "a", "x", "c", "");
  _cleanup_json_ json_t *l3 = json_pack("{s:s}", "a", "b");
  assert_true(filters_match_labels(f, "label", l1));
  assert_false(filters_match_labels(f, "label", l2));
  assert_false(filters_match_labels(f, "label", l3));
  assert_true(filters_match_labels(f, "nolabel", NULL));
  static const char *const ok[] = {"status", "label", NULL};
  static const char *const narrow[] = {"status", NULL};
  _cleanup_berr_ struct berr *err = NULL;
  assert_int_equal(filters_check(f, ok, &err), 0);
  assert_int_equal(filters_check(f, narrow, &err), -EINVAL);
  assert_string_equal(err->msg, "Invalid filter 'label'");
}

static void test_time(void **state) {
  int64_t t;
  assert_int_equal(events_parse_time("1700000000", &t), 0);
  assert_true(t == 1700000000LL * 1000000000);
  assert_int_equal(events_parse_time("1700000000.5", &t), 0);
  assert_true(t == 1700000000LL * 1000000000 + 500000000);
  assert_int_equal(events_parse_time("1.000000001", &t), 0);
  assert_true(t == 1000000001);
  assert_int_equal(events_parse_time(NULL, &t), 0);
  assert_true(t == 0);
  assert_int_equal(events_parse_time("abc", &t), -EINVAL);
  assert_int_equal(events_parse_time("1.", &t), -EINVAL);
  assert_int_equal(events_parse_time("1.1234567890", &t), -EINVAL);
  assert_int_equal(events_parse_time("-5", &t), -EINVAL);
}

/* Publish one event and fetch it back from a fresh bus's JSON shape. */
static json_t *event(const char *type, const char *action, const char *id, json_t *attrs) {
  json_t *e = json_pack("{s:s, s:s, s:{s:s, s:o}, s:s}", "Type", type, "Action", action, "Actor",
                        "ID", id, "Attributes", attrs ? attrs : json_object(), "scope", "local");
  return e;
}

static void test_events_match(void **state) {
  _cleanup_json_ json_t *start =
      event("container", "start", "abcdef0123",
            json_pack("{s:s, s:s, s:s}", "name", "web", "image", "busybox:latest", "tier", "db"));
  _cleanup_json_ json_t *exec = event("container", "exec_start: sh -c true", "abcdef0123",
                                      json_pack("{s:s}", "name", "web"));
  _cleanup_json_ json_t *pull = event("image", "pull", "busybox:latest",
                                      json_pack("{s:s}", "name", "busybox"));
  _cleanup_json_ json_t *reload = event("daemon", "reload", "engine-1",
                                        json_pack("{s:s}", "name", "berthd"));
  struct {
    const char *filters;
    bool start, exec, pull, reload;
  } cases[] = {
      {"{}", true, true, true, true},
      {"{\"type\":[\"container\"]}", true, true, false, false},
      {"{\"event\":[\"start\"]}", true, false, false, false},
      {"{\"event\":[\"exec_start\"]}", false, true, false, false},
      {"{\"container\":[\"web\"]}", true, true, false, false},
      {"{\"container\":[\"abcd\"]}", true, true, false, false},
      {"{\"container\":[\"other\"]}", false, false, false, false},
      {"{\"image\":[\"busybox\"]}", true, false, true, false},
      {"{\"label\":[\"tier=db\"]}", true, false, false, false},
      {"{\"daemon\":[\"berthd\"]}", false, false, false, true},
      {"{\"type\":[\"daemon\",\"image\"]}", false, false, true, true},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
    _cleanup_json_ json_t *f = parse(cases[i].filters);
    if (events_match(start, f) != cases[i].start || events_match(exec, f) != cases[i].exec ||
        events_match(pull, f) != cases[i].pull || events_match(reload, f) != cases[i].reload)
      fail_msg("filters %s: unexpected match", cases[i].filters);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse),
      cmocka_unit_test(test_match),
      cmocka_unit_test(test_time),
      cmocka_unit_test(test_events_match),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
