/*
 * test_json_parse.c — the CLI's fast JSON reader (src/cli/json_parse.c)
 * against jansson's json_loadb(JSON_DECODE_ANY): for every input, either
 * the same value (types, key order, repeated keys) or NULL, and then
 * cli_json_load gives jansson's answer. Inputs: hand-picked edge cases and
 * random mutations of a daemon-like reply.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cli/cli.h"

static char *dump(const json_t *v) {
  return v ? json_dumps(v, JSON_ENCODE_ANY | JSON_PRESERVE_ORDER | JSON_COMPACT) : NULL;
}

/* Same value as jansson, in the same key order. *fast_took: the fast path
 * gave a value. */
static void same_as_jansson(const char *text, size_t len, bool *fast_took) {
  json_t *want = json_loadb(text, len, JSON_DECODE_ANY, NULL);
  json_t *fast = cli_json_fast(text, len);
  json_t *load = cli_json_load(text, len, NULL);
  *fast_took = fast != NULL;
  if (fast) {
    if (!want)
      fail_msg("fast parser took what jansson refuses: %.*s", (int)len, text);
    assert_true(json_equal(fast, want));
    char *a = dump(fast), *b = dump(want);
    assert_string_equal(a, b);
    free(a);
    free(b);
  }
  assert_int_equal(load != NULL, want != NULL);
  if (want)
    assert_true(json_equal(load, want));
  json_decref(want);
  json_decref(fast);
  json_decref(load);
}

/* jansson's value with only the `keep` keys of each element of a top-level list. */
static json_t *filtered(json_t *v, const char *const *keep) {
  size_t i;
  json_t *e;
  json_array_foreach(v, i, e) {
    if (!json_is_object(e))
      continue;
    const char *k;
    json_t *x;
    void *tmp;
    json_object_foreach_safe(e, tmp, k, x) {
      bool in = false;
      for (const char *const *w = keep; *w; w++)
        in = in || !strcmp(*w, k);
      if (!in)
        json_object_del(e, k);
    }
  }
  return v;
}

/* cli_json_fast_keys agrees with jansson on the kept keys, refuses what it refuses. */
static bool same_filtered(const char *text, size_t len, const char *const *keep) {
  json_t *want = json_loadb(text, len, JSON_DECODE_ANY, NULL);
  json_t *fast = cli_json_fast_keys(text, len, keep);
  if (fast) {
    if (!want)
      fail_msg("fast parser (keys) took what jansson refuses: %.*s", (int)len, text);
    filtered(want, keep);
    char *a = dump(fast), *b = dump(want);
    assert_string_equal(a, b);
    free(a);
    free(b);
  }
  bool took = fast != NULL;
  json_decref(want);
  json_decref(fast);
  return took;
}

static void check(const char *text, bool fast_expected) {
  bool took;
  same_as_jansson(text, strlen(text), &took);
  if (took != fast_expected)
    fail_msg("fast path %s \"%s\"", fast_expected ? "declined" : "took", text);
}

static void test_values(void **st) {
  (void)st;
  check("{}", true);
  check("[]", true);
  check(" [ 1 , -2 , 0 , -0 , 1.5 , -0.25e3 , 1E2 , 2e-2 ] ", true);
  check("\"x\"", true);
  check("true", true);
  check("null", true);
  check("[true,false,null]", true);
  check("{\"a\":1,\"b\":{\"c\":[1,{\"d\":\"e\"}]}}", true);
  check("{\"b\":1,\"a\":2,\"c\":3}", true);      /* key order kept */
  check("{\"a\":1,\"b\":2,\"a\":3}", true);      /* last value wins */
  check("123456789012345678", true);
  check("-123456789012345678", true);
  check("9223372036854775807", false);         /* 19 digits: jansson's call */
  check("99999999999999999999", false);        /* overflow: jansson refuses */
  check("1e400", false);                       /* real overflow */
  check("1e-400", true);                       /* underflow is fine */
}

static void test_strings(void **st) {
  (void)st;
  check("\"a\\\"b\\\\c\\/d\\be\\ff\\ng\\rh\\ti\"", true);
  check("\"\\u00e9\\u20ac\\ud83d\\ude00\"", true);
  check("\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"", true);
  check("{\"k\\u00e9y\":\"v\",\"plain\":\"\\n\"}", true);
  check("{\"\\u0041\":{\"\\u0042\":\"\\u0043\"}}", true); /* escaped keys, nested scratch reuse */
  check("\"\\u0000\"", false);       /* NUL: jansson refuses */
  check("\"\\ud800\"", false);       /* lone surrogate */
  check("\"\\udc00\"", false);
  check("\"\\x\"", false);
  check("\"a\tb\"", false);          /* raw control character */
  check("\"\xc0\xaf\"", false);      /* overlong */
  check("\"\xed\xa0\x80\"", false);  /* encoded surrogate */
  check("\"\xf4\x90\x80\x80\"", false); /* above U+10FFFF */
  check("\"\xe2\x82\"", false);      /* truncated */
  check("\"abc", false);
}

static void test_syntax(void **st) {
  (void)st;
  const char *bad[] = {"", " ", "[1,]", "{\"a\":1,}", "{\"a\"}", "{a:1}", "[1 2]", "01", "1.", ".5",
                       "-", "1e", "+1", "tru", "nul", "[1]x", "{} {}", "[", "{\"a\":", "'a'"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    check(bad[i], false);
}

static void test_deep(void **st) {
  (void)st;
  char buf[2 * 600 + 1];
  memset(buf, '[', 600);
  memset(buf + 600, ']', 600);
  buf[1200] = '\0';
  check(buf, false); /* deeper than the fast path goes: jansson's value */
  buf[0] = '\0';
  memset(buf, '[', 100);
  memset(buf + 100, ']', 100);
  buf[200] = '\0';
  check(buf, true);
}

static void test_keys(void **st) {
  (void)st;
  static const char *const keep[] = {"Id", "Names", NULL};
  const char *list = "[{\"Id\":\"a\",\"Big\":{\"x\":[1,2,{\"Id\":3}]},\"Names\":[\"/n\"],\"Id\":\"b\"},"
                     "{\"Other\":1.5e3},[{\"Id\":1,\"Drop\":2}],3]";
  assert_true(same_filtered(list, strlen(list), keep));
  json_t *v = cli_json_fast_keys(list, strlen(list), keep);
  char *d = dump(v);
  /* the last "Id" wins; nested objects and deeper lists keep everything */
  assert_string_equal(d, "[{\"Id\":\"b\",\"Names\":[\"/n\"]},{},[{\"Id\":1,\"Drop\":2}],3]");
  free(d);
  json_decref(v);
  /* an object at the top is not filtered */
  const char *obj = "{\"A\":{\"Id\":1,\"B\":2}}";
  v = cli_json_fast_keys(obj, strlen(obj), keep);
  d = dump(v);
  assert_string_equal(d, obj);
  free(d);
  json_decref(v);
  /* bad JSON inside a skipped value is still refused */
  const char *bad[] = {"[{\"Big\":[1,]}]", "[{\"Big\":\"\\u0000\"}]", "[{\"Big\":1e999}]",
                       "[{\"Big\":99999999999999999999}]", "[{\"Big\":\"\xc0\xaf\"}]", "[{\"Big\":tru}]"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_null(cli_json_fast_keys(bad[i], strlen(bad[i]), keep));
    json_t *l = cli_json_load(bad[i], strlen(bad[i]), keep);
    json_t *w = json_loads(bad[i], JSON_DECODE_ANY, NULL);
    assert_int_equal(l != NULL, w != NULL);
    json_decref(l);
    json_decref(w);
  }
}

/* Random one-byte mutations of a daemon-like reply never make the two disagree. */
static void test_mutations(void **st) {
  (void)st;
  const char *base =
      "[{\"Id\":\"3f1c\",\"Names\":[\"/a\\u00e9\"],\"Created\":1795458232,\"Ports\":[],"
      "\"Labels\":{\"x\":\"y\"},\"SizeRw\":-1.5e3,\"HostConfig\":{\"NetworkMode\":\"default\"},"
      "\"Mounts\":[{\"Type\":\"volume\",\"RW\":true,\"Propagation\":null}]}]";
  size_t n = strlen(base);
  char *buf = malloc(n + 1);
  const char alphabet[] = "{}[]\":,\\u0123456789eE.-+ tfnalsr\x80\xc3\xa9";
  unsigned seed = 12345;
  for (int round = 0; round < 20000; round++) {
    memcpy(buf, base, n + 1);
    for (int k = 0; k < 1 + round % 3; k++) {
      seed = seed * 1103515245u + 12345u;
      size_t at = (seed >> 8) % n;
      seed = seed * 1103515245u + 12345u;
      buf[at] = alphabet[(seed >> 8) % (sizeof(alphabet) - 1)];
    }
    bool took;
    same_as_jansson(buf, n, &took);
    static const char *const keep[] = {"Id", "Created", "Mounts", NULL};
    same_filtered(buf, n, keep);
  }
  free(buf);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_values),
      cmocka_unit_test(test_strings),
      cmocka_unit_test(test_syntax),
      cmocka_unit_test(test_deep),
      cmocka_unit_test(test_keys),
      cmocka_unit_test(test_mutations),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
