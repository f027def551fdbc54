/* Unit tests for src/shim/proto.c and client.c: framing over a socketpair
 * (round trip, empty payloads, size limit, EOF mid-message) and shim_call's
 * reply handling against a scripted peer. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "shim/shim.h"

static void pair(int sv[2]) { assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0); }

static void test_roundtrip(void **state) {
  (void)state;
  int sv[2];
  pair(sv);
  assert_int_equal(shim_send(sv[0], SHIM_KILL, "{\"signal\":9}", 12, NULL), 0);
  assert_int_equal(shim_send(sv[0], SHIM_STATE, NULL, 0, NULL), 0);
  uint32_t type, len;
  char *p = NULL;
  assert_int_equal(shim_recv(sv[1], &type, &p, &len, NULL), 0);
  assert_int_equal(type, SHIM_KILL);
  assert_int_equal(len, 12);
  assert_string_equal(p, "{\"signal\":9}");
  free(p);
  assert_int_equal(shim_recv(sv[1], &type, &p, &len, NULL), 0);
  assert_int_equal(type, SHIM_STATE);
  assert_int_equal(len, 0);
  assert_string_equal(p, "");
  free(p);
  /* the header is little endian on the wire */
  assert_int_equal(shim_send(sv[0], 0x01020304, "x", 1, NULL), 0);
  unsigned char raw[9];
  assert_int_equal(read(sv[1], raw, 9), 9);
  assert_int_equal(raw[0], 4);
  assert_int_equal(raw[3], 1);
  assert_int_equal(raw[4], 1);
  assert_int_equal(raw[8], 'x');
  close(sv[0]);
  close(sv[1]);
}

static void test_limits_and_eof(void **state) {
  (void)state;
  int sv[2];
  pair(sv);
  _cleanup_berr_ struct berr *err = NULL;
  assert_int_equal(shim_send(sv[0], SHIM_STATE, "", SHIM_MAX_PAYLOAD + 1, &err), -EMSGSIZE);
  berr_freep(&err);
  /* a header announcing too much is refused before any allocation */
  uint32_t hdr[2] = {htole32(SHIM_REPLY), htole32(SHIM_MAX_PAYLOAD + 1)};
  assert_int_equal(write(sv[0], hdr, sizeof hdr), (ssize_t)sizeof hdr);
  uint32_t type, len;
  char *p = NULL;
  assert_int_equal(shim_recv(sv[1], &type, &p, &len, &err), -EMSGSIZE);
  berr_freep(&err);
  /* EOF in the middle of a payload */
  hdr[1] = htole32(10);
  assert_int_equal(write(sv[0], hdr, sizeof hdr), (ssize_t)sizeof hdr);
  assert_int_equal(write(sv[0], "abc", 3), 3);
  close(sv[0]);
  assert_int_equal(shim_recv(sv[1], &type, &p, &len, &err), -ECONNRESET);
  assert_null(p);
  close(sv[1]);
}

static void test_call_replies(void **state) {
  (void)state;
  int sv[2];
  pair(sv);
  /* the peer's replies are queued before the calls: a socketpair buffers them */
  const char *ok = "{\"ok\":true,\"pid\":42}";
  const char *bad = "{\"ok\":false,\"error\":\"process already finished\",\"code\":3}";
  assert_int_equal(shim_send(sv[1], SHIM_REPLY, ok, (uint32_t)strlen(ok), NULL), 0);
  assert_int_equal(shim_send(sv[1], SHIM_REPLY, bad, (uint32_t)strlen(bad), NULL), 0);
  assert_int_equal(shim_send(sv[1], SHIM_START, "{}", 2, NULL), 0);
  json_t *reply = NULL;
  assert_int_equal(shim_call(sv[0], SHIM_STATE, NULL, &reply, NULL), 0);
  assert_int_equal(json_integer_value(json_object_get(reply, "pid")), 42);
  json_decref(reply);
  _cleanup_berr_ struct berr *err = NULL;
  assert_int_equal(shim_call(sv[0], SHIM_KILL, json_pack("{s:i}", "signal", 15), NULL, &err), -ESRCH);
  assert_string_equal(err->msg, "process already finished");
  berr_freep(&err);
  assert_int_equal(shim_call(sv[0], SHIM_STATE, NULL, NULL, &err), -EPROTO); /* not a reply */
  berr_freep(&err);
  /* what the calls sent */
  uint32_t type, len;
  char *p = NULL;
  assert_int_equal(shim_recv(sv[1], &type, &p, &len, NULL), 0);
  assert_int_equal(type, SHIM_STATE);
  assert_string_equal(p, "{}");
  free(p);
  assert_int_equal(shim_recv(sv[1], &type, &p, &len, NULL), 0);
  assert_int_equal(type, SHIM_KILL);
  assert_string_equal(p, "{\"signal\":15}");
  free(p);
  close(sv[0]);
  close(sv[1]);
}

static void test_no_shim(void **state) {
  (void)state;
  _cleanup_berr_ struct berr *err = NULL;
  assert_false(shim_alive("/nonexistent"));
  assert_true(shim_connect("/nonexistent", &err) < 0);
  berr_freep(&err);
  struct shim_exit ex;
  assert_int_equal(shim_read_exit("/nonexistent", &ex, &err), -ENOENT);
  char tmpl[] = "/tmp/test_shim_proto.XXXXXX";
  assert_non_null(mkdtemp(tmpl));
  _cleanup_free_ char *f = xasprintf("%s/exit.json", tmpl);
  const char *j = "{\"ExitCode\":137,\"FinishedAt\":\"2023-11-14T22:13:20Z\",\"OOMKilled\":true,\"Signal\":9}";
  assert_int_equal(write_file_replace(f, j, strlen(j), 0644, NULL), 0);
  /* wait with the shim gone: what exit.json recorded */
  assert_int_equal(shim_wait(tmpl, &ex, &err), 0);
  assert_int_equal(ex.exit_code, 137);
  assert_int_equal(ex.signal, 9);
  assert_true(ex.oom_killed);
  assert_string_equal(ex.finished_at, "2023-11-14T22:13:20Z");
  rm_rf(tmpl, &err);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_roundtrip),
      cmocka_unit_test(test_limits_and_eof),
      cmocka_unit_test(test_call_replies),
      cmocka_unit_test(test_no_shim),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
