/*
 * shim_log.c — the log drivers: the writer berth-shim feeds with the process's
 * output (json-file, local, none) and the reader berthd uses for `logs`.
 *
 * Formats: see shim.h. The json-file writer follows dockerd 20.10 byte for
 * byte: the copier splits each stream at "\n" and at a full 16 KiB buffer (a
 * piece of a longer line carries no "\n"), the text is escaped as
 * jsonlog.ffjsonWriteJSONBytesAsString does ("<", ">", "&" and control bytes
 * as \u00XX, invalid UTF-8 as \ufffd, U+2028/9 escaped), the time is Go's
 * RFC3339Nano (trailing fraction zeros trimmed).
 *
 * Rotation as loggerutils.LogFile: before an entry is written, if the file
 * already holds >= max_size bytes it is rotated (<path>.N-2 → .N-1 … <path> →
 * <path>.1, then a fresh <path>); with max_file 1 the file is truncated instead.
 * An entry is never split across files, so readers see whole entries.
 *
 * Invariants: each stream's kept partial line is < SHIM_LOG_LINE_MAX bytes;
 * l->size is the current file's size as far as our writes know.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>

#include "shim/shim_internal.h"

struct partial {
  char buf[SHIM_LOG_LINE_MAX]; /* bytes of a line not yet ended */
  size_t n;
};

struct shim_logger {
  enum shim_log_driver driver;
  char *path;
  int fd;              /* the current file, -1 with SHIM_LOG_NONE */
  int64_t size;        /* its size */
  int64_t max_size;    /* <= 0: never rotate */
  int max_file;        /* files kept, the current one included */
  struct partial part[2]; /* stdout, stderr */
};

/* ---------- time ---------- */

int64_t shim_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void shim_format_time(int64_t ns, char out[64]) {
  time_t sec = (time_t)(ns / 1000000000);
  long frac = (long)(ns % 1000000000);
  if (frac < 0) {
    frac += 1000000000;
    sec--;
  }
  struct tm tm;
  gmtime_r(&sec, &tm);
  size_t k = strftime(out, 64, "%Y-%m-%dT%H:%M:%S", &tm);
  if (frac != 0) {
    char f[16];
    snprintf(f, sizeof f, ".%09ld", frac);
    size_t fl = strlen(f);
    while (f[fl - 1] == '0')
      f[--fl] = '\0';
    memcpy(out + k, f, fl + 1);
    k += fl;
  }
  out[k++] = 'Z';
  out[k] = '\0';
}

static int digits(const char **s, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if ((*s)[i] < '0' || (*s)[i] > '9')
      return -EINVAL;
    v = v * 10 + ((*s)[i] - '0');
  }
  *s += n;
  *out = v;
  return 0;
}

static int expect_char(const char **s, char c) {
  if (**s != c && !(c == 'T' && (**s == 't' || **s == ' ')))
    return -EINVAL;
  (*s)++;
  return 0;
}

int shim_parse_time(const char *s, int64_t *ns) {
  struct tm tm = {0};
  int y, mo, d, h, mi, se;
  if (digits(&s, 4, &y) || expect_char(&s, '-') || digits(&s, 2, &mo) || expect_char(&s, '-') ||
      digits(&s, 2, &d) || expect_char(&s, 'T') || digits(&s, 2, &h) || expect_char(&s, ':') ||
      digits(&s, 2, &mi) || expect_char(&s, ':') || digits(&s, 2, &se))
    return -EINVAL;
  int64_t frac = 0;
  if (*s == '.') {
    s++;
    int nd = 0;
    while (*s >= '0' && *s <= '9') {
      if (nd < 9) {
        frac = frac * 10 + (*s - '0');
        nd++;
      }
      s++;
    }
    if (nd == 0)
      return -EINVAL;
    for (; nd < 9; nd++)
      frac *= 10;
  }
  int off = 0;
  if (*s == 'Z' || *s == 'z') {
    s++;
  } else if (*s == '+' || *s == '-') {
    int sign = *s == '-' ? -1 : 1, oh, om;
    s++;
    if (digits(&s, 2, &oh) || expect_char(&s, ':') || digits(&s, 2, &om))
      return -EINVAL;
    off = sign * (oh * 3600 + om * 60);
  } else {
    return -EINVAL;
  }
  if (*s != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
    return -EINVAL;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = se;
  *ns = ((int64_t)timegm(&tm) - off) * 1000000000 + frac;
  return 0;
}

/* ---------- json-file encoding ---------- */

struct sbuf {
  char *p;
  size_t n, cap;
};

static void sb_put(struct sbuf *b, const char *s, size_t n) {
  if (b->n + n + 1 > b->cap) {
    while (b->n + n + 1 > b->cap)
      b->cap = b->cap ? b->cap * 2 : 256;
    b->p = xrealloc(b->p, b->cap);
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = '\0';
}

static void sb_str(struct sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid;
 * *cp gets the code point. The same rules as Go's utf8.DecodeRune. */
static size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp) {
  unsigned char c = s[0];
  size_t len;
  uint32_t v, min;
  if (c >= 0xc2 && c <= 0xdf) {
    len = 2, v = c & 0x1f, min = 0x80;
  } else if (c >= 0xe0 && c <= 0xef) {
    len = 3, v = c & 0x0f, min = 0x800;
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4, v = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (n < len)
    return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    v = (v << 6) | (s[i] & 0x3f);
  }
  if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
    return 0;
  *cp = v;
  return len;
}

/* Docker's jsonlog string escaping (see the file comment). */
static void json_escape_docker(struct sbuf *b, const char *bytes, size_t n) {
  static const char hex[] = "0123456789abcdef";
  const unsigned char *s = (const unsigned char *)bytes;
  size_t start = 0, i = 0;
  sb_put(b, "\"", 1);
  while (i < n) {
    unsigned char c = s[i];
    if (c < 0x80) {
      if (c >= 0x20 && c != '\\' && c != '"' && c != '<' && c != '>' && c != '&') {
        i++;
        continue;
      }
      sb_put(b, bytes + start, i - start);
      if (c == '\\' || c == '"') {
        char e[2] = {'\\', (char)c};
        sb_put(b, e, 2);
      } else if (c == '\n') {
        sb_put(b, "\\n", 2);
      } else if (c == '\r') {
        sb_put(b, "\\r", 2);
      } else {
        char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf]};
        sb_put(b, e, 6);
      }
      start = ++i;
      continue;
    }
    uint32_t cp = 0;
    size_t len = utf8_seq(s + i, n - i, &cp);
    if (len == 0) {
      sb_put(b, bytes + start, i - start);
      sb_str(b, "\\ufffd");
      start = ++i;
      continue;
    }
    if (cp == 0x2028 || cp == 0x2029) {
      sb_put(b, bytes + start, i - start);
      sb_str(b, cp == 0x2028 ? "\\u2028" : "\\u2029");
      start = i + len;
    }
    i += len;
  }
  sb_put(b, bytes + start, n - start);
  sb_put(b, "\"", 1);
}

static const char *stream_name(int stream) { return stream == 2 ? "stderr" : "stdout"; }

char *shim_json_log_line(const char *bytes, size_t n, int stream, int64_t time_ns, size_t *len) {
  struct sbuf b = {0};
  char ts[64];
  shim_format_time(time_ns, ts);
  sb_str(&b, "{\"log\":");
  json_escape_docker(&b, bytes, n);
  sb_str(&b, ",\"stream\":\"");
  sb_str(&b, stream_name(stream));
  sb_str(&b, "\",\"time\":\"");
  sb_str(&b, ts);
  sb_str(&b, "\"}\n");
  if (len)
    *len = b.n;
  return b.p;
}

/* ---------- the writer ---------- */

int shim_log_driver_parse(const char *name, enum shim_log_driver *out, struct berr **err) {
  if (name == NULL || *name == '\0' || strcmp(name, "json-file") == 0)
    *out = SHIM_LOG_JSON;
  else if (strcmp(name, "local") == 0)
    *out = SHIM_LOG_LOCAL;
  else if (strcmp(name, "none") == 0)
    *out = SHIM_LOG_NONE;
  else
    return berr_set(err, EINVAL, "logger: no log driver named '%s' is registered", name);
  return 0;
}

static int logger_open_file(struct shim_logger *l, bool truncate, struct berr **err) {
  int flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncate ? O_TRUNC : 0);
  int fd = open(l->path, flags, 0640);
  if (fd < 0)
    return berr_sys(err, errno, "open log file %s", l->path);
  struct stat st;
  l->size = fstat(fd, &st) == 0 ? st.st_size : 0;
  closep(&l->fd);
  l->fd = fd;
  return 0;
}

int shim_logger_open(enum shim_log_driver driver, const char *path, int64_t max_size, int max_file,
                     struct shim_logger **out, struct berr **err) {
  struct shim_logger *l = xcalloc(1, sizeof *l);
  l->driver = driver;
  l->fd = -1;
  l->max_size = max_size;
  l->max_file = max_file < 1 ? 1 : max_file;
  if (driver != SHIM_LOG_NONE) {
    if (path == NULL || *path == '\0') {
      free(l);
      return berr_set(err, EINVAL, "logger: no log path for the %s driver",
                      driver == SHIM_LOG_LOCAL ? "local" : "json-file");
    }
    l->path = xstrdup(path);
    int r = logger_open_file(l, false, err);
    if (r < 0) {
      shim_logger_free(l);
      return r;
    }
  }
  *out = l;
  return 0;
}

void shim_logger_free(struct shim_logger *l) {
  if (l == NULL)
    return;
  closep(&l->fd);
  free(l->path);
  free(l);
}

static int logger_rotate(struct shim_logger *l, struct berr **err) {
  for (int i = l->max_file - 1; i > 1; i--) {
    _cleanup_free_ char *to = xasprintf("%s.%d", l->path, i);
    _cleanup_free_ char *from = xasprintf("%s.%d", l->path, i - 1);
    if (rename(from, to) < 0 && errno != ENOENT)
      return berr_sys(err, errno, "rotate log %s", from);
  }
  if (l->max_file > 1) {
    _cleanup_free_ char *to = xasprintf("%s.1", l->path);
    if (rename(l->path, to) < 0 && errno != ENOENT)
      return berr_sys(err, errno, "rotate log %s", l->path);
  }
  return logger_open_file(l, true, err);
}

static int write_iov(struct shim_logger *l, struct iovec *iov, int cnt, size_t total, struct berr **err) {
  if (l->max_size > 0 && l->size >= l->max_size) {
    int r = logger_rotate(l, err);
    if (r < 0)
      return r;
  }
  ssize_t w;
  do
    w = writev(l->fd, iov, cnt);
  while (w < 0 && errno == EINTR);
  if (w < 0)
    return berr_sys(err, errno, "write log %s", l->path);
  l->size += w;
  if ((size_t)w != total)
    return berr_set(err, EIO, "write log %s: short write", l->path);
  return 0;
}

/* One entry: the bytes as they go into json-file's "log". */
static int logger_entry(struct shim_logger *l, int stream, const char *bytes, size_t n, int64_t ns,
                        struct berr **err) {
  if (l->driver == SHIM_LOG_JSON) {
    size_t len;
    _cleanup_free_ char *line = shim_json_log_line(bytes, n, stream, ns, &len);
    struct iovec iov = {line, len};
    return write_iov(l, &iov, 1, len, err);
  }
  unsigned char hdr[SHIM_LOG_LOCAL_HDR] = {0};
  uint32_t n32 = htole32((uint32_t)n);
  int64_t t = (int64_t)htole64((uint64_t)ns);
  memcpy(hdr, &n32, 4);
  hdr[4] = (unsigned char)(stream == 2 ? 2 : 1);
  memcpy(hdr + 8, &t, 8);
  struct iovec iov[3] = {{hdr, sizeof hdr}, {(void *)bytes, n}, {&n32, 4}};
  return write_iov(l, iov, 3, sizeof hdr + n + 4, err);
}

/* An entry made of the kept partial bytes + more (a "\n"-ended line, or a piece). */
static int logger_emit(struct shim_logger *l, struct partial *p, int stream, const char *more, size_t n,
                       bool newline, int64_t ns, struct berr **err) {
  size_t total = p->n + n + (newline ? 1 : 0);
  _cleanup_free_ char *tmp = NULL;
  const char *bytes = more;
  if (p->n > 0 || newline) {
    tmp = xmalloc(total);
    memcpy(tmp, p->buf, p->n);
    memcpy(tmp + p->n, more, n);
    if (newline)
      tmp[total - 1] = '\n';
    bytes = tmp;
  }
  p->n = 0;
  return logger_entry(l, stream, bytes, total, ns, err);
}

int shim_logger_write(struct shim_logger *l, int stream, const char *buf, size_t n, int64_t now_ns,
                      struct berr **err) {
  if (l->driver == SHIM_LOG_NONE)
    return 0;
  struct partial *p = &l->part[stream == 2 ? 1 : 0];
  int ret = 0;
  while (n > 0) {
    const char *nl = memchr(buf, '\n', n);
    size_t line = nl ? (size_t)(nl - buf) : n;
    if (p->n + line >= SHIM_LOG_LINE_MAX) {
      /* the copier's buffer is full: log a piece without "\n" */
      size_t take = SHIM_LOG_LINE_MAX - p->n;
      int r = logger_emit(l, p, stream, buf, take, false, now_ns, err);
      if (r < 0 && ret == 0)
        ret = r;
      buf += take;
      n -= take;
      continue;
    }
    if (nl == NULL) {
      memcpy(p->buf + p->n, buf, n);
      p->n += n;
      break;
    }
    int r = logger_emit(l, p, stream, buf, line, true, now_ns, err);
    if (r < 0 && ret == 0)
      ret = r;
    buf += line + 1;
    n -= line + 1;
  }
  return ret;
}

int shim_logger_flush(struct shim_logger *l, int stream, int64_t now_ns, struct berr **err) {
  int ret = 0;
  for (int s = 1; s <= 2; s++) {
    struct partial *p = &l->part[s - 1];
    if ((stream != 0 && stream != s) || p->n == 0 || l->driver == SHIM_LOG_NONE)
      continue;
    /* at EOF Docker logs the rest as a whole message: json-file adds the "\n" */
    int r = logger_emit(l, p, s, "", 0, true, now_ns, err);
    if (r < 0 && ret == 0)
      ret = r;
  }
  return ret;
}

/* ---------- the reader ---------- */

static int read_json_line(const char *line, size_t len, shim_log_cb cb, void *ctx, bool *called) {
  json_error_t jerr;
  _cleanup_json_ json_t *o = json_loadb(line, len, JSON_ALLOW_NUL, &jerr);
  json_t *log = o ? json_object_get(o, "log") : NULL;
  const char *stream = o ? json_string_value(json_object_get(o, "stream")) : NULL;
  const char *t = o ? json_string_value(json_object_get(o, "time")) : NULL;
  int64_t ns = 0;
  *called = false;
  if (!json_is_string(log) || t == NULL || shim_parse_time(t, &ns) < 0)
    return 0; /* a damaged line (e.g. cut by a crash): skipped, as later lines are fine */
  *called = true;
  return cb(ctx, stream && strcmp(stream, "stderr") == 0 ? 2 : 1, ns, json_string_value(log),
            json_string_length(log));
}

static int read_json_file(FILE *f, const char *path, int64_t *off, shim_log_cb cb, void *ctx,
                          struct berr **err) {
  _cleanup_free_ char *line = NULL;
  size_t cap = 0;
  for (;;) {
    errno = 0;
    ssize_t n = getline(&line, &cap, f);
    if (n < 0)
      return errno ? berr_sys(err, errno, "read log %s", path) : 0;
    if (line[n - 1] != '\n')
      return 0; /* being written: left for the next call */
    *off += n;
    bool called;
    int r = read_json_line(line, (size_t)n - 1, cb, ctx, &called);
    if (r != 0)
      return r;
  }
}

static int read_local_file(FILE *f, const char *path, int64_t *off, shim_log_cb cb, void *ctx,
                           struct berr **err) {
  _cleanup_free_ char *buf = NULL;
  size_t cap = 0;
  for (;;) {
    unsigned char hdr[SHIM_LOG_LOCAL_HDR];
    if (fread(hdr, 1, sizeof hdr, f) != sizeof hdr)
      return ferror(f) ? berr_sys(err, EIO, "read log %s", path) : 0;
    uint32_t n;
    int64_t t;
    memcpy(&n, hdr, 4);
    memcpy(&t, hdr + 8, 8);
    n = le32toh(n);
    t = (int64_t)le64toh((uint64_t)t);
    if (n > SHIM_MAX_PAYLOAD || (hdr[4] != 1 && hdr[4] != 2))
      return berr_set(err, EINVAL, "read log %s: corrupt entry at offset %lld", path, (long long)*off);
    if (n + 4 > cap)
      buf = xrealloc(buf, cap = n + 4);
    if (fread(buf, 1, n + 4, f) != n + 4)
      return ferror(f) ? berr_sys(err, EIO, "read log %s", path) : 0;
    uint32_t trl;
    memcpy(&trl, buf + n, 4);
    if (le32toh(trl) != n)
      return berr_set(err, EINVAL, "read log %s: corrupt entry at offset %lld", path, (long long)*off);
    *off += (int64_t)(SHIM_LOG_LOCAL_HDR + n + SHIM_LOG_LOCAL_TRL);
    int r = cb(ctx, hdr[4], t, buf, n);
    if (r != 0)
      return r;
  }
}

int shim_log_read(const char *path, const char *driver, int64_t *offset, shim_log_cb cb, void *ctx,
                  struct berr **err) {
  enum shim_log_driver d;
  int r = shim_log_driver_parse(driver, &d, err);
  if (r < 0)
    return r;
  if (d == SHIM_LOG_NONE)
    return berr_set(err, EINVAL, "configured logging driver does not support reading");
  _cleanup_fclose_ FILE *f = fopen(path, "re");
  if (f == NULL)
    return berr_sys(err, errno, "open log %s", path);
  int64_t off = offset ? *offset : 0;
  if (off > 0 && fseeko(f, off, SEEK_SET) < 0)
    return berr_sys(err, errno, "seek log %s", path);
  r = d == SHIM_LOG_JSON ? read_json_file(f, path, &off, cb, ctx, err)
                         : read_local_file(f, path, &off, cb, ctx, err);
  if (offset)
    *offset = off;
  return r;
}

int shim_log_read_all(const char *path, const char *driver, int max_file, shim_log_cb cb, void *ctx,
                      struct berr **err) {
  for (int i = max_file - 1; i >= 0; i--) {
    _cleanup_free_ char *p = i > 0 ? xasprintf("%s.%d", path, i) : xstrdup(path);
    struct berr *e = NULL;
    int r = shim_log_read(p, driver, NULL, cb, ctx, &e);
    if (r == -ENOENT) {
      berr_free(e);
      continue;
    }
    if (r < 0 && err && *err == NULL)
      *err = e;
    else
      berr_free(e);
    if (r != 0)
      return r;
  }
  return 0;
}
