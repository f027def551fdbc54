/*
 * container_logs.c — GET /containers/{id}/logs, reading the json-file
 * driver's files (<id>-json.log and its rotated .1, .2 … , oldest last) that
 * berth-shim writes: one JSON object a line, {"log","stream","time"}.
 *
 * Output: Docker's multiplexed frames ([stream,0,0,0,size BE32] + data)
 * without a tty, the raw bytes with one; `timestamps` prefixes each line with
 * its RFC 3339 nano time. `follow` keeps reading the current file (reopening
 * it after a rotation) until the container is no longer running and nothing
 * is left to read, or the client goes.
 */
#include <errno.h>
#include <sys/stat.h>
#include <time.h>

#include "daemon/container_internal.h"

struct log_opts {
  bool out, err, ts, tty;
  int64_t since_ns, until_ns; /* 0: unbounded */
};

/* Sink: either a chunked HTTP stream or a hijacked connection. */
struct log_sink {
  struct http_req *r;
  bool raw; /* write to the hijacked connection */
};

static int sink_write(struct log_sink *s, const void *buf, size_t len) {
  if (s->raw)
    return http_conn_write(s->r->conn, buf, len) < 0 ? -EPIPE : 0;
  return http_stream_write(s->r, buf, len);
}

static int emit(struct log_sink *s, const struct log_opts *o, const char *stream,
                const char *time_s, const char *data, size_t len) {
  bool is_err = strcmp(stream, "stderr") == 0;
  size_t tlen = o->ts ? strlen(time_s) + 1 : 0;
  size_t total = len + tlen;
  unsigned char *buf = xmalloc(total + 8);
  size_t off = 0;
  if (!o->tty) {
    buf[0] = is_err ? 2 : 1;
    buf[1] = buf[2] = buf[3] = 0;
    buf[4] = (unsigned char)(total >> 24);
    buf[5] = (unsigned char)(total >> 16);
    buf[6] = (unsigned char)(total >> 8);
    buf[7] = (unsigned char)total;
    off = 8;
  }
  if (tlen) {
    memcpy(buf + off, time_s, tlen - 1);
    buf[off + tlen - 1] = ' ';
  }
  memcpy(buf + off + tlen, data, len);
  int rc = sink_write(s, buf, off + total);
  free(buf);
  return rc;
}

/* One json-file line → frame (when it passes the filters). */
static int emit_line(struct log_sink *s, const struct log_opts *o, const char *line) {
  json_error_t je;
  _cleanup_json_ json_t *j = json_loads(line, 0, &je);
  if (j == NULL)
    return 0;
  const char *stream = json_string_value(json_object_get(j, "stream"));
  const char *t = json_string_value(json_object_get(j, "time"));
  json_t *lg = json_object_get(j, "log");
  if (!stream || !json_is_string(lg))
    return 0;
  bool is_err = strcmp(stream, "stderr") == 0;
  if ((is_err && !o->err) || (!is_err && !o->out))
    return 0;
  int64_t ns = ctr_parse_time(t);
  if ((o->since_ns && ns < o->since_ns) || (o->until_ns && ns > o->until_ns))
    return 0;
  return emit(s, o, stream, t ? t : "", json_string_value(lg), json_string_length(lg));
}

/* The files, oldest first. */
static char **log_files(const char *path) {
  char **v = NULL;
  for (int i = 64; i >= 1; i--) {
    char *p = xasprintf("%s.%d", path, i);
    if (path_exists(p))
      v = strv_append(v, p);
    else
      free(p);
  }
  return strv_append(v, xstrdup(path));
}

/* Read lines of f; with tail >= 0 keep only the last `tail` of all files
 * (collected in `ring`). */
static int read_lines(FILE *f, struct log_sink *s, const struct log_opts *o, char ***ring,
                      int64_t tail) {
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  int rc = 0;
  /* glibc >= 2.28 makes end-of-file sticky: without this, a followed file
   * is never read again after its first EOF */
  clearerr(f);
  while (rc == 0 && (n = getline(&line, &cap, f)) > 0) {
    if (line[n - 1] != '\n') {
      /* a partial line: the writer is mid-line; read it again later */
      fseeko(f, -n, SEEK_CUR);
      break;
    }
    if (tail >= 0) {
      *ring = strv_append(*ring, xstrdup(line));
      size_t len = strv_len(*ring);
      if ((int64_t)len > tail) {
        free((*ring)[0]);
        memmove(*ring, *ring + 1, len * sizeof(char *));
      }
    } else {
      rc = emit_line(s, o, line);
    }
  }
  free(line);
  return rc;
}

static bool container_up(struct container *c) {
  pthread_mutex_lock(&c->lock);
  bool up = c->state == CTR_RUNNING || c->state == CTR_PAUSED || c->state == CTR_RESTARTING ||
            c->busy;
  pthread_mutex_unlock(&c->lock);
  return up && !c->removed;
}

static int stream_logs(struct container *c, struct log_sink *s, const struct log_opts *o,
                       int64_t tail, bool follow) {
  _cleanup_strv_ char **files = log_files(c->log_path);
  _cleanup_strv_ char **ring = NULL;
  int rc = 0;
  FILE *cur = NULL;
  for (size_t i = 0; files[i] && rc == 0; i++) {
    FILE *f = fopen(files[i], "re");
    if (f == NULL)
      continue;
    if (tail != 0)
      rc = read_lines(f, s, o, tail > 0 ? &ring : NULL, tail > 0 ? tail : -1);
    else
      fseeko(f, 0, SEEK_END);
    if (files[i + 1] == NULL)
      cur = f;
    else
      fclose(f);
  }
  for (size_t i = 0; ring && ring[i] && rc == 0; i++)
    rc = emit_line(s, o, ring[i]);
  while (follow && rc == 0) {
    bool up = container_up(c);
    if (cur == NULL)
      cur = fopen(c->log_path, "re");
    if (cur)
      rc = read_lines(cur, s, o, NULL, -1);
    if (rc < 0 || !up)
      break;
    /* rotation: the path now names a new, smaller file */
    struct stat a, b;
    if (cur && fstat(fileno(cur), &a) == 0 && stat(c->log_path, &b) == 0 && a.st_ino != b.st_ino) {
      rc = read_lines(cur, s, o, NULL, -1);
      fclose(cur);
      cur = NULL;
      continue;
    }
    if (!s->raw && http_stream_write(s->r, "", 0) < 0)
      break;
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
    if (o->until_ns && ctr_now_ns() > o->until_ns)
      break;
  }
  if (cur)
    fclose(cur);
  return rc;
}

/* since/until: Unix seconds with an optional fraction ("1700000000.5"), or
 * RFC 3339. */
static int64_t parse_when(const char *s) {
  if (s == NULL || *s == '\0')
    return 0;
  char *end = NULL;
  double v = strtod(s, &end);
  if (end && *end == '\0')
    return (int64_t)(v * 1e9);
  return ctr_parse_time(s);
}

void ctr_logs_replay(struct container *c, struct http_req *r, bool out, bool err, bool tty) {
  struct log_opts o = {.out = out, .err = err, .tty = tty};
  struct log_sink s = {.r = r, .raw = true};
  pthread_mutex_lock(&c->lock);
  const char *drv =
      json_string_value(json_object_get(json_object_get(c->host_config, "LogConfig"), "Type"));
  bool ok = drv == NULL || strcmp(drv, "json-file") == 0;
  pthread_mutex_unlock(&c->lock);
  if (ok)
    stream_logs(c, &s, &o, -1, false);
}

void ctr_logs_serve(struct daemon *d, struct http_req *r, struct container *c) {
  (void)d;
  struct log_opts o = {
      .out = http_query_bool(r, "stdout", false),
      .err = http_query_bool(r, "stderr", false),
      .ts = http_query_bool(r, "timestamps", false),
  };
  bool follow = http_query_bool(r, "follow", false);
  if (!o.out && !o.err) {
    http_reply_error(r, 400, "Bad parameters: you must choose at least one stream");
    return;
  }
  const char *tail_s = http_query(r, "tail");
  int64_t tail = -1;
  if (tail_s && *tail_s && strcmp(tail_s, "all") != 0 && parse_int64(tail_s, &tail) < 0)
    tail = -1;
  o.since_ns = parse_when(http_query(r, "since"));
  o.until_ns = parse_when(http_query(r, "until"));
  pthread_mutex_lock(&c->lock);
  o.tty = json_is_true(json_object_get(c->config, "Tty"));
  const char *drv =
      json_string_value(json_object_get(json_object_get(c->host_config, "LogConfig"), "Type"));
  bool readable = drv == NULL || strcmp(drv, "json-file") == 0;
  _cleanup_free_ char *dname = xstrdup(drv ? drv : "json-file");
  pthread_mutex_unlock(&c->lock);
  if (!readable) {
    http_reply_error(r, 501, "configured logging driver does not support reading");
    return;
  }
  const char *ctype = o.tty || r->api_minor < 42 ? "application/vnd.docker.raw-stream"
                                                 : "application/vnd.docker.multiplexed-stream";
  if (http_stream_begin(r, 200, ctype) < 0)
    return;
  struct log_sink s = {.r = r};
  stream_logs(c, &s, &o, tail, follow);
  http_stream_end(r);
}
