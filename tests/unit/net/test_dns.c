/* Unit tests for net/dns.c's wire format and query decisions (no sockets). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>

#include "net/dns.h"

/* ---------- helpers ---------- */

/* A query for name/qtype; with edns an OPT record advertising `udp` bytes. Returns the length. */
static size_t mkquery(uint8_t *b, uint16_t id, const char *name, uint16_t qtype, bool edns, uint16_t udp) {
  memset(b, 0, DNS_HEADER_LEN);
  b[0] = (uint8_t)(id >> 8), b[1] = (uint8_t)id;
  b[2] = 0x01; /* RD */
  b[5] = 1;
  int n = dns_name_encode(name, b + DNS_HEADER_LEN, 300);
  assert_true(n > 0);
  size_t off = DNS_HEADER_LEN + (size_t)n;
  b[off++] = (uint8_t)(qtype >> 8), b[off++] = (uint8_t)qtype;
  b[off++] = 0, b[off++] = DNS_CLASS_IN;
  if (edns) {
    b[11] = 1;
    const uint8_t opt[11] = {0, 0, 41, (uint8_t)(udp >> 8), (uint8_t)udp, 0, 0, 0x80, 0, 0, 0};
    memcpy(b + off, opt, sizeof opt);
    off += sizeof opt;
  }
  return off;
}

static uint16_t get16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }

struct fake {
  int calls;
  char last_name[300];
  uint16_t last_qtype;
  int status;
  size_t n;
  const char *addrs[40];
  const char *ptr;
};

static int fake_lookup(void *ctx, const char *key, const char *name, uint16_t qtype, struct dns_lookup_result *res) {
  struct fake *f = ctx;
  f->calls++;
  assert_string_equal(key, "c1");
  snprintf(f->last_name, sizeof f->last_name, "%s", name);
  f->last_qtype = qtype;
  for (size_t i = 0; i < f->n; i++) {
    struct dns_addr *a = &res->addrs[res->n_addrs++];
    if (inet_pton(AF_INET, f->addrs[i], &a->v4) == 1)
      a->family = AF_INET;
    else {
      assert_int_equal(inet_pton(AF_INET6, f->addrs[i], &a->v6), 1);
      a->family = AF_INET6;
    }
  }
  if (f->ptr)
    snprintf(res->ptr_name, sizeof res->ptr_name, "%s", f->ptr);
  return f->status;
}

static enum dns_action handle(struct fake *f, const uint8_t *q, size_t ql, bool ups, bool tcp, uint8_t *out,
                              size_t *out_len) {
  return dns_handle_query(q, ql, fake_lookup, f, "c1", ups, tcp, out, DNS_MSG_MAX, out_len);
}

/* ---------- names ---------- */

static void test_name_roundtrip(void **state) {
  (void)state;
  uint8_t msg[300] = {0};
  int n = dns_name_encode("www.Example.com.", msg + DNS_HEADER_LEN, 280);
  assert_int_equal(n, 17);
  char out[DNS_NAME_TEXT_MAX];
  size_t off = DNS_HEADER_LEN;
  assert_int_equal(dns_name_decode(msg, DNS_HEADER_LEN + 17, &off, out, sizeof out), 0);
  assert_string_equal(out, "www.Example.com");
  assert_int_equal(off, DNS_HEADER_LEN + 17);
  /* root */
  assert_int_equal(dns_name_encode(".", msg, 10), 1);
  assert_int_equal(dns_name_encode("", msg, 10), 1);
  /* bad names */
  assert_int_equal(dns_name_encode("a..b", msg, 100), -EINVAL);
  char lab[70];
  memset(lab, 'a', 64);
  lab[64] = '\0';
  assert_int_equal(dns_name_encode(lab, msg, 100), -EINVAL);
  assert_int_equal(dns_name_encode("abc.def", msg, 4), -ENOSPC);
}

static void test_name_escapes(void **state) {
  (void)state;
  const uint8_t msg[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 'a', '.', 0x07, 0};
  size_t off = DNS_HEADER_LEN;
  char out[64];
  assert_int_equal(dns_name_decode(msg, sizeof msg, &off, out, sizeof out), 0);
  assert_string_equal(out, "a\\046\\007");
}

static void test_name_compression(void **state) {
  (void)state;
  /* header, "example.com" at 12, then "www" + pointer to 12 at 25 */
  uint8_t msg[64] = {0};
  int n = dns_name_encode("example.com", msg + 12, 50);
  size_t p = 12 + (size_t)n;
  msg[p] = 3, memcpy(msg + p + 1, "www", 3), msg[p + 4] = 0xc0, msg[p + 5] = 12;
  size_t off = p;
  char out[DNS_NAME_TEXT_MAX];
  assert_int_equal(dns_name_decode(msg, p + 6, &off, out, sizeof out), 0);
  assert_string_equal(out, "www.example.com");
  assert_int_equal(off, p + 6); /* just past the pointer, not the target */
}

static void test_name_pointer_loops(void **state) {
  (void)state;
  char out[DNS_NAME_TEXT_MAX];
  /* pointer to itself */
  uint8_t self[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xc0, 12};
  size_t off = 12;
  assert_int_equal(dns_name_decode(self, sizeof self, &off, out, sizeof out), -EBADMSG);
  /* two labels pointing at each other: 12: "a" ptr→16 ; 16: "b" ptr→12 */
  uint8_t two[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 'a', 0xc0, 16, 1, 'b', 0xc0, 12};
  off = 12;
  assert_int_equal(dns_name_decode(two, sizeof two, &off, out, sizeof out), -EBADMSG);
  off = 16;
  assert_int_equal(dns_name_decode(two, sizeof two, &off, out, sizeof out), -EBADMSG);
  /* pointer into the header */
  uint8_t hdr[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xc0, 2};
  off = 12;
  assert_int_equal(dns_name_decode(hdr, sizeof hdr, &off, out, sizeof out), -EBADMSG);
  /* pointer past the end, and a pointer cut in half */
  uint8_t far[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xc0, 0xff};
  off = 12;
  assert_int_equal(dns_name_decode(far, sizeof far, &off, out, sizeof out), -EBADMSG);
  off = 12;
  assert_int_equal(dns_name_decode(far, sizeof far - 1, &off, out, sizeof out), -EBADMSG);
}

static void test_name_limits(void **state) {
  (void)state;
  char out[DNS_NAME_TEXT_MAX];
  /* reserved label types 0x40 and 0x80 */
  uint8_t ext[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x41, 'a', 0};
  size_t off = 12;
  assert_int_equal(dns_name_decode(ext, sizeof ext, &off, out, sizeof out), -EBADMSG);
  ext[12] = 0x81;
  off = 12;
  assert_int_equal(dns_name_decode(ext, sizeof ext, &off, out, sizeof out), -EBADMSG);
  /* a label running past the end */
  uint8_t cut[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 'a', 'b'};
  off = 12;
  assert_int_equal(dns_name_decode(cut, sizeof cut, &off, out, sizeof out), -EBADMSG);
  /* 5 labels of 63 = 320 wire bytes > 255 */
  uint8_t big[12 + 5 * 64 + 1] = {0};
  for (int i = 0; i < 5; i++) {
    big[12 + i * 64] = 63;
    memset(big + 12 + i * 64 + 1, 'x', 63);
  }
  off = 12;
  assert_int_equal(dns_name_decode(big, sizeof big, &off, out, sizeof out), -EBADMSG);
  /* a name built from pointers whose total exceeds 255 is refused too */
  uint8_t chain[12 + 4 * 66 + 2] = {0};
  size_t p = 12;
  chain[p] = 63, memset(chain + p + 1, 'y', 63), chain[p + 64] = 0;
  p += 65;
  for (int i = 0; i < 3; i++) { /* 63-label + pointer to the previous one */
    chain[p] = 63, memset(chain + p + 1, 'z', 63);
    chain[p + 64] = 0xc0, chain[p + 65] = (uint8_t)(p - (i == 0 ? 65 : 66));
    p += 66;
  }
  off = p - 66;
  assert_int_equal(dns_name_decode(chain, p, &off, out, sizeof out), -EBADMSG);
}

/* ---------- messages ---------- */

static void test_query_parse_valid(void **state) {
  (void)state;
  uint8_t q[600];
  size_t n = mkquery(q, 0xbeef, "Web.MyNet", DNS_TYPE_A, true, 4096);
  struct dns_query dq;
  assert_int_equal(dns_query_parse(q, n, &dq), 0);
  assert_int_equal(dq.id, 0xbeef);
  assert_string_equal(dq.qname, "Web.MyNet");
  assert_int_equal(dq.qtype, DNS_TYPE_A);
  assert_true(dq.edns);
  assert_int_equal(dq.edns_udp_size, 4096);
  assert_true(dq.edns_do);
  assert_int_equal(dns_msg_validate(q, n), 0);
}

static void test_query_truncated(void **state) {
  (void)state;
  uint8_t q[600];
  size_t n = mkquery(q, 1, "a.example.org", DNS_TYPE_AAAA, true, 1232);
  struct dns_query dq;
  /* every strict prefix fails: dropped (short header) or FORMERR, never accepted */
  for (size_t l = 0; l < n; l++) {
    int r = dns_query_parse(q, l, &dq);
    assert_true(r != 0);
    assert_int_not_equal(dns_msg_validate(q, l), 0);
    if (l < DNS_HEADER_LEN)
      assert_int_equal(r, -EBADMSG);
    else
      assert_int_equal(r, DNS_RCODE_FORMERR);
  }
  /* trailing garbage */
  q[n] = 0;
  assert_int_equal(dns_query_parse(q, n + 1, &dq), DNS_RCODE_FORMERR);
  assert_int_equal(dns_msg_validate(q, n + 1), -EBADMSG);
}

static void test_query_oversized_and_flags(void **state) {
  (void)state;
  static uint8_t big[DNS_MSG_MAX + 10];
  size_t n = mkquery(big, 1, "x", DNS_TYPE_A, false, 0);
  struct dns_query dq;
  assert_int_equal(dns_query_parse(big, DNS_MSG_MAX + 1, &dq), -EBADMSG);
  assert_int_equal(dns_msg_validate(big, DNS_MSG_MAX + 1), -EBADMSG);
  /* a response is never answered */
  big[2] |= 0x80;
  assert_int_equal(dns_query_parse(big, n, &dq), -EBADMSG);
  big[2] &= 0x7f;
  /* two questions */
  big[5] = 2;
  assert_int_equal(dns_query_parse(big, n, &dq), DNS_RCODE_FORMERR);
  big[5] = 1;
  /* opcode STATUS (2) */
  big[2] |= 2 << 3;
  assert_int_equal(dns_query_parse(big, n, &dq), DNS_RCODE_NOTIMP);
}

static void test_query_two_opts(void **state) {
  (void)state;
  uint8_t q[600];
  size_t n = mkquery(q, 1, "x", DNS_TYPE_A, true, 1232);
  memcpy(q + n, q + n - 11, 11);
  q[11] = 2;
  struct dns_query dq;
  assert_int_equal(dns_query_parse(q, n + 11, &dq), DNS_RCODE_FORMERR);
  /* an rdlength running past the end */
  n = mkquery(q, 1, "x", DNS_TYPE_A, true, 1232);
  q[n - 1] = 9;
  assert_int_equal(dns_query_parse(q, n, &dq), DNS_RCODE_FORMERR);
}

static void test_reverse_names(void **state) {
  (void)state;
  struct dns_addr a;
  char txt[64];
  assert_int_equal(dns_reverse_name_parse("2.0.18.172.IN-ADDR.arpa", &a), 0);
  assert_int_equal(a.family, AF_INET);
  assert_string_equal(inet_ntop(AF_INET, &a.v4, txt, sizeof txt), "172.18.0.2");
  assert_int_equal(
      dns_reverse_name_parse("2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.", &a), 0);
  assert_int_equal(a.family, AF_INET6);
  assert_string_equal(inet_ntop(AF_INET6, &a.v6, txt, sizeof txt), "fd00::2");
  assert_int_equal(dns_reverse_name_parse("0.18.172.in-addr.arpa", &a), -EINVAL);
  assert_int_equal(dns_reverse_name_parse("256.0.18.172.in-addr.arpa", &a), -EINVAL);
  assert_int_equal(dns_reverse_name_parse("www.example.com", &a), -EINVAL);
}

/* ---------- decisions ---------- */

static void test_handle_a_found(void **state) {
  (void)state;
  struct fake f = {.status = DNS_LOOKUP_FOUND, .n = 3, .addrs = {"172.18.0.2", "fd00::2", "172.19.0.5"}};
  uint8_t q[600], out[DNS_MSG_MAX];
  size_t ql = mkquery(q, 0x1234, "WeB", DNS_TYPE_A, false, 0), ol = 0;
  assert_int_equal(handle(&f, q, ql, true, false, out, &ol), DNS_ACT_REPLY);
  assert_int_equal(f.calls, 1);
  assert_string_equal(f.last_name, "web"); /* lower-cased for the daemon */
  assert_int_equal(get16(out), 0x1234);
  uint16_t fl = get16(out + 2);
  assert_true(fl & DNS_FLAG_QR);
  assert_true(fl & DNS_FLAG_RD);
  assert_int_equal(DNS_RCODE(fl), DNS_RCODE_NOERROR);
  assert_int_equal(get16(out + 6), 2); /* the two IPv4 addresses only */
  assert_int_equal(memcmp(out + 12, q + 12, ql - 12), 0); /* question echoed, case kept */
  assert_int_equal(get16(out + ql), 0xc00c);
  assert_int_equal(get16(out + ql + 2), DNS_TYPE_A);
  assert_int_equal(get16(out + ql + 10), 4);
  assert_int_equal(dns_msg_validate(out, ol), 0);
  assert_int_equal(ol, ql + 2 * 16);
}

static void test_handle_aaaa_miss(void **state) {
  (void)state;
  struct fake f = {.status = DNS_LOOKUP_FOUND, .n = 1, .addrs = {"172.18.0.2"}};
  uint8_t q[600], out[DNS_MSG_MAX];
  size_t ql = mkquery(q, 7, "web", DNS_TYPE_AAAA, true, 1232), ol = 0;
  assert_int_equal(handle(&f, q, ql, true, false, out, &ol), DNS_ACT_REPLY);
  assert_int_equal(DNS_RCODE(get16(out + 2)), DNS_RCODE_NOERROR);
  assert_int_equal(get16(out + 6), 0);  /* no answer, but not forwarded */
  assert_int_equal(get16(out + 10), 1); /* our OPT */
  struct dns_query rq;
  assert_int_equal(dns_msg_validate(out, ol), 0);
  (void)rq;
}

static void test_handle_forward_and_servfail(void **state) {
  (void)state;
  struct fake f = {.status = DNS_LOOKUP_FORWARD};
  uint8_t q[600], out[DNS_MSG_MAX];
  size_t ql = mkquery(q, 9, "upstream.test", DNS_TYPE_A, false, 0), ol = 0;
  assert_int_equal(handle(&f, q, ql, true, false, out, &ol), DNS_ACT_FORWARD);
  assert_int_equal(handle(&f, q, ql, false, false, out, &ol), DNS_ACT_REPLY);
  assert_int_equal(DNS_RCODE(get16(out + 2)), DNS_RCODE_SERVFAIL);
  /* NXDOMAIN from the daemon is final */
  f.status = DNS_LOOKUP_NXDOMAIN;
  assert_int_equal(handle(&f, q, ql, true, false, out, &ol), DNS_ACT_REPLY);
  assert_int_equal(DNS_RCODE(get16(out + 2)), DNS_RCODE_NXDOMAIN);
  /* a failing lookup → SERVFAIL */
  f.status = -EIO;
  assert_int_equal(handle(&f, q, ql, true, false, out, &ol), DNS_ACT_REPLY);
  assert_int_equal(DNS_RCODE(get16(out + 2)), DNS_RCODE_SERVFAIL);
  /* MX never asks the daemon */
  f.calls = 0;
  ql = mkquery(q, 9, "web", DNS_TYPE_MX, false, 0);
  assert_int_equal(handle(&f, q, ql, true, false, out, &ol), DNS_ACT_FORWARD);
  assert_int_equal(f.calls, 0);
  /* no lookup at all: everything forwards */
  ql = mkquery(q, 9, "web", DNS_TYPE_A, false, 0);
  assert_int_equal(dns_handle_query(q, ql, NULL, NULL, "c1", true, false, out, sizeof out, &ol), DNS_ACT_FORWARD);
  /* malformed: FORMERR; a response: dropped */
  assert_int_equal(handle(&f, q, ql - 1, true, false, out, &ol), DNS_ACT_REPLY);
  assert_int_equal(DNS_RCODE(get16(out + 2)), DNS_RCODE_FORMERR);
  assert_int_equal(get16(out), 9);
  q[2] |= 0x80;
  assert_int_equal(handle(&f, q, ql, true, false, out, &ol), DNS_ACT_DROP);
}

static void test_handle_ptr(void **state) {
  (void)state;
  struct fake f = {.status = DNS_LOOKUP_FOUND, .ptr = "web.mynet"};
  uint8_t q[600], out[DNS_MSG_MAX];
  size_t ql = mkquery(q, 3, "2.0.18.172.in-addr.arpa", DNS_TYPE_PTR, false, 0), ol = 0;
  assert_int_equal(handle(&f, q, ql, true, false, out, &ol), DNS_ACT_REPLY);
  assert_string_equal(f.last_name, "172.18.0.2");
  assert_int_equal(f.last_qtype, DNS_TYPE_PTR);
  assert_int_equal(get16(out + 6), 1);
  assert_int_equal(get16(out + ql + 2), DNS_TYPE_PTR);
  size_t off = ql + 12;
  char name[DNS_NAME_TEXT_MAX];
  assert_int_equal(dns_name_decode(out, ol, &off, name, sizeof name), 0);
  assert_string_equal(name, "web.mynet");
  assert_int_equal(dns_msg_validate(out, ol), 0);
  /* found without a name: NXDOMAIN; not a full reverse name: forwarded, no call */
  f.ptr = NULL;
  assert_int_equal(handle(&f, q, ql, true, false, out, &ol), DNS_ACT_REPLY);
  assert_int_equal(DNS_RCODE(get16(out + 2)), DNS_RCODE_NXDOMAIN);
  f.calls = 0;
  ql = mkquery(q, 3, "18.172.in-addr.arpa", DNS_TYPE_PTR, false, 0);
  assert_int_equal(handle(&f, q, ql, true, false, out, &ol), DNS_ACT_FORWARD);
  assert_int_equal(f.calls, 0);
}

static void test_handle_truncation(void **state) {
  (void)state;
  struct fake f = {.status = DNS_LOOKUP_FOUND, .n = 32};
  static char addrs[32][20];
  for (int i = 0; i < 32; i++) {
    snprintf(addrs[i], sizeof addrs[i], "fd00::%x", i + 1);
    f.addrs[i] = addrs[i];
  }
  uint8_t q[600], out[DNS_MSG_MAX];
  size_t ql = mkquery(q, 5, "many", DNS_TYPE_AAAA, false, 0), ol = 0;
  /* plain UDP: 512 bytes → (512-ql)/28 answers, TC */
  assert_int_equal(handle(&f, q, ql, true, false, out, &ol), DNS_ACT_REPLY);
  assert_true(ol <= 512);
  assert_true(get16(out + 2) & DNS_FLAG_TC);
  assert_int_equal(get16(out + 6), (512 - ql) / 28);
  assert_int_equal(dns_msg_validate(out, ol), 0);
  /* TCP: all of them */
  assert_int_equal(handle(&f, q, ql, true, true, out, &ol), DNS_ACT_REPLY);
  assert_false(get16(out + 2) & DNS_FLAG_TC);
  assert_int_equal(get16(out + 6), 32);
  /* EDNS 4096 over UDP: all of them too, plus OPT */
  ql = mkquery(q, 5, "many", DNS_TYPE_AAAA, true, 4096);
  assert_int_equal(handle(&f, q, ql, true, false, out, &ol), DNS_ACT_REPLY);
  assert_false(get16(out + 2) & DNS_FLAG_TC);
  assert_int_equal(get16(out + 6), 32);
  assert_int_equal(get16(out + 10), 1);
  assert_int_equal(dns_msg_validate(out, ol), 0);
}

static void test_servfail_build(void **state) {
  (void)state;
  uint8_t q[600], out[600];
  size_t ql = mkquery(q, 0xabcd, "x.y", DNS_TYPE_TXT, false, 0);
  size_t n = dns_servfail_build(q, ql, out, sizeof out);
  assert_int_equal(n, ql);
  assert_int_equal(get16(out), 0xabcd);
  assert_int_equal(DNS_RCODE(get16(out + 2)), DNS_RCODE_SERVFAIL);
  assert_int_equal(dns_servfail_build(q, 5, out, sizeof out), 0);
}

static void test_resolv_conf(void **state) {
  (void)state;
  char path[] = "/tmp/test_dns_resolvXXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  const char *txt = "# comment\nsearch example.com\nnameserver 127.0.0.53\nnameserver  fd00::1\n"
                    "nameserver fe80::1%eth0\nnameserver bogus\noptions edns0\n";
  assert_int_equal(write(fd, txt, strlen(txt)), (ssize_t)strlen(txt));
  close(fd);
  char **ns = NULL;
  struct berr *err = NULL;
  assert_int_equal(dns_resolv_conf_nameservers(path, &ns, &err), 0);
  assert_int_equal(strv_len(ns), 2);
  assert_string_equal(ns[0], "127.0.0.53");
  assert_string_equal(ns[1], "fd00::1");
  strv_free(ns);
  unlink(path);
  assert_int_equal(dns_resolv_conf_nameservers(path, &ns, &err), 0);
  assert_int_equal(strv_len(ns), 0);
  strv_free(ns);
}

/* Random byte flips and cuts of valid messages: never a crash (run under ASan), and every
 * reply we build is itself a well-formed message. Deterministic (fixed seed). */
static void test_mutations(void **state) {
  (void)state;
  struct fake f = {.status = DNS_LOOKUP_FOUND, .n = 2, .addrs = {"10.0.0.1", "fd00::1"}, .ptr = "x.y"};
  uint8_t seeds[3][600], m[700], out[DNS_MSG_MAX];
  size_t lens[3], ol;
  lens[0] = mkquery(seeds[0], 1, "web.mynet", DNS_TYPE_A, true, 1232);
  lens[1] = mkquery(seeds[1], 2, "2.0.0.10.in-addr.arpa", DNS_TYPE_PTR, false, 0);
  assert_int_equal(handle(&f, seeds[0], lens[0], true, false, out, &ol), DNS_ACT_REPLY);
  memcpy(seeds[2], out, ol); /* a reply: exercises the record walker */
  lens[2] = ol;
  unsigned seed = 12345;
  int replies = 0;
  for (int i = 0; i < 30000; i++) {
    int k = i % 3;
    size_t len = lens[k];
    memcpy(m, seeds[k], len);
    int flips = 1 + (int)(rand_r(&seed) % 4);
    for (int j = 0; j < flips; j++)
      m[rand_r(&seed) % len] = (uint8_t)rand_r(&seed);
    if (rand_r(&seed) % 4 == 0)
      len = rand_r(&seed) % (len + 1);
    struct dns_query q;
    (void)dns_query_parse(m, len, &q);
    (void)dns_msg_validate(m, len);
    if (handle(&f, m, len, true, i % 2, out, &ol) == DNS_ACT_REPLY) {
      assert_int_equal(dns_msg_validate(out, ol), 0);
      replies++;
    }
  }
  assert_true(replies > 1000);
}

/* The server object itself: bad upstreams and unknown keys are refused cleanly. */
static void test_server_errors(void **state) {
  (void)state;
  struct dns_server *s = NULL;
  struct berr *err = NULL;
  assert_int_equal(dns_server_new(&s, NULL, NULL, &err), 0);
  char *bad[] = {"not-an-ip", NULL};
  int nsfd = open("/proc/self/ns/net", O_RDONLY);
  assert_true(nsfd >= 0);
  assert_int_equal(dns_server_add(s, "k", nsfd, bad, &err), -EINVAL);
  assert_non_null(strstr(err->msg, "not-an-ip"));
  berr_free(err);
  err = NULL;
  assert_int_equal(dns_server_remove(s, "k"), -ENOENT);
  char *good[] = {"[::1]:5353", "127.0.0.1:53", NULL};
  assert_int_equal(dns_server_set_upstreams(s, "k", good, &err), -ENOENT);
  berr_free(err);
  close(nsfd);
  dns_server_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_name_roundtrip),     cmocka_unit_test(test_name_escapes),
      cmocka_unit_test(test_name_compression),   cmocka_unit_test(test_name_pointer_loops),
      cmocka_unit_test(test_name_limits),        cmocka_unit_test(test_query_parse_valid),
      cmocka_unit_test(test_query_truncated),    cmocka_unit_test(test_query_oversized_and_flags),
      cmocka_unit_test(test_query_two_opts),     cmocka_unit_test(test_reverse_names),
      cmocka_unit_test(test_handle_a_found),     cmocka_unit_test(test_handle_aaaa_miss),
      cmocka_unit_test(test_handle_forward_and_servfail), cmocka_unit_test(test_handle_ptr),
      cmocka_unit_test(test_handle_truncation),  cmocka_unit_test(test_servfail_build),
      cmocka_unit_test(test_resolv_conf),        cmocka_unit_test(test_server_errors),
      cmocka_unit_test(test_mutations),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
