/*
 * proto.c — the framing of shim.sock, shared by berth-shim and berthd:
 * uint32 type, uint32 length (little endian), then `length` bytes of payload.
 *
 * Both functions block until the whole message moved (the shim uses them only on
 * the ready pipe and in tests; its event loop parses frames itself, see
 * server.c). Payloads above SHIM_MAX_PAYLOAD are refused on both sides, so a
 * confused peer cannot make the other allocate without bound.
 */
#include <endian.h>
#include <errno.h>
#include <sys/socket.h>

#include "shim/shim.h"

static int write_all(int fd, const void *buf, size_t n, struct berr **err) {
  const char *p = buf;
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == ENOTSOCK)
      w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return berr_sys(err, errno, "shim socket: send");
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* 0 when all n bytes arrived; -ECONNRESET on EOF (also mid-message). */
static int read_all(int fd, void *buf, size_t n, struct berr **err) {
  char *p = buf;
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      return berr_sys(err, errno, "shim socket: receive");
    }
    if (r == 0)
      return berr_set(err, ECONNRESET, "shim socket: connection closed by the shim");
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

int shim_send(int fd, uint32_t type, const void *payload, uint32_t len, struct berr **err) {
  if (len > SHIM_MAX_PAYLOAD)
    return berr_set(err, EMSGSIZE, "shim message of %u bytes is too large", len);
  uint32_t hdr[2] = {htole32(type), htole32(len)};
  int r = write_all(fd, hdr, sizeof hdr, err);
  if (r == 0 && len > 0)
    r = write_all(fd, payload, len, err);
  return r;
}

int shim_recv(int fd, uint32_t *type, char **payload, uint32_t *len, struct berr **err) {
  uint32_t hdr[2];
  int r = read_all(fd, hdr, sizeof hdr, err);
  if (r < 0)
    return r;
  uint32_t n = le32toh(hdr[1]);
  if (n > SHIM_MAX_PAYLOAD)
    return berr_set(err, EMSGSIZE, "shim message of %u bytes is too large", n);
  _cleanup_free_ char *buf = xmalloc((size_t)n + 1);
  if (n > 0 && (r = read_all(fd, buf, n, err)) < 0)
    return r;
  buf[n] = '\0';
  *type = le32toh(hdr[0]);
  if (len)
    *len = n;
  *payload = steal_ptr(buf);
  return 0;
}
