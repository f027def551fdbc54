/*
 * progress.c — renders Docker's JSON message stream (pull, push, load,
 * /images/create) as the docker CLI's jsonmessage package does.
 *
 * On a terminal every message that carries an id and a progress object
 * ("Downloading", "Pull complete", ...) owns one line, created the first time
 * its id is seen and rewritten in place afterwards: the cursor goes up to it
 * (ESC[nA), clears it (ESC[2K), writes "id: status [===>   ] 1.2MB/3.4MB 2s"
 * and comes back down (ESC[nB). A message without progress (e.g. "Digest:",
 * "Status:") is printed as a plain line and forgets the tracked lines, as
 * docker does (so `pull -a` starts fresh for each tag). Off a terminal,
 * messages whose progress bar would be non-empty are dropped and every other
 * message is printed once.
 *
 * An {"errorDetail": ...} message ends the stream: its text becomes the error
 * ("authentication is required" for code 401, as docker says). "aux" messages
 * are handed to the caller. Invariant: the stream is read incrementally, one
 * message per line; nothing is kept once progress_display returns.
 */
#include <errno.h>
#include <sys/ioctl.h>
#include <time.h>

#include "cli/cli.h"

struct progress {
  FILE *out;     /* NULL: discard (quiet) */
  bool tty;
  int width;     /* terminal columns (200 when unknown, as docker) */
  char **ids;    /* tracked ids; index = line number */
  size_t nids;
  json_t *aux;   /* last aux object seen (owned) */
};

/* Go's time.Duration.String() for a whole number of seconds. */
static char *go_secs(int64_t s) {
  if (s < 60)
    return xasprintf("%llds", (long long)s);
  if (s < 3600)
    return xasprintf("%lldm%llds", (long long)(s / 60), (long long)(s % 60));
  return xasprintf("%lldh%lldm%llds", (long long)(s / 3600), (long long)(s % 3600 / 60),
                   (long long)(s % 60));
}

char *progress_bar(int64_t current, int64_t total, int64_t start, int width, double now) {
  if (current <= 0 && total <= 0)
    return xstrdup("");
  _cleanup_free_ char *cur = fmt_human_size((double)current, 4);
  if (total <= 0)
    return xasprintf("%8s", cur);
  int pct = (int)((double)current / (double)total * 100) / 2;
  if (pct > 50)
    pct = 50;
  struct sb b = {0};
  if (width > 110) {
    sb_add(&b, "[");
    for (int i = 0; i < pct; i++)
      sb_add(&b, "=");
    sb_add(&b, ">");
    for (int i = pct; i < 50; i++)
      sb_add(&b, " ");
    sb_add(&b, "] ");
  }
  _cleanup_free_ char *tot = fmt_human_size((double)total, 4);
  if (current > total)
    sb_addf(&b, "%8s", cur); /* docker drops a wonky total */
  else
    sb_addf(&b, "%8s/%s", cur, tot);
  if (current > 0 && start > 0 && pct < 50 && width > 50) {
    /* integer nanoseconds as Go: per-byte time × bytes left, cut to seconds */
    int64_t from_start = (int64_t)((now - (double)start) * 1e9);
    int64_t per = from_start / current;
    int64_t left = (total - current) * per / 1000000000;
    _cleanup_free_ char *d = go_secs(left < 0 ? 0 : left);
    sb_addf(&b, " %s", d);
  }
  return sb_steal(&b);
}

static char *message_bar(const struct progress *p, json_t *detail) {
  if (!json_is_object(detail))
    return xstrdup("");
  int64_t cur = json_integer_value(json_object_get(detail, "current"));
  int64_t tot = json_integer_value(json_object_get(detail, "total"));
  int64_t start = json_integer_value(json_object_get(detail, "start"));
  const char *units = json_string_value(json_object_get(detail, "units"));
  if (units && *units) {
    if (cur <= 0 && tot <= 0)
      return xstrdup("");
    if (tot <= 0 || cur > tot)
      return xasprintf("%lld %s", (long long)cur, units);
    return xasprintf("%lld/%lld %s", (long long)cur, (long long)tot, units);
  }
  return progress_bar(cur, tot, start, p->width, cli_now());
}

static void forget_ids(struct progress *p) {
  for (size_t i = 0; i < p->nids; i++)
    free(p->ids[i]);
  free(p->ids);
  p->ids = NULL;
  p->nids = 0;
}

/* The line of `id`, added (with a new line on a tty) when new. */
static size_t id_line(struct progress *p, const char *id) {
  for (size_t i = 0; i < p->nids; i++)
    if (!strcmp(p->ids[i], id))
      return i;
  p->ids = xrealloc(p->ids, (p->nids + 1) * sizeof(char *));
  p->ids[p->nids] = xstrdup(id);
  if (p->tty && p->out)
    fputs("\n", p->out);
  return p->nids++;
}

/* jsonmessage.Display for one message. */
static void display(struct progress *p, json_t *m) {
  const char *id = json_string_value(json_object_get(m, "id"));
  const char *status = json_string_value(json_object_get(m, "status"));
  const char *stream = json_string_value(json_object_get(m, "stream"));
  const char *from = json_string_value(json_object_get(m, "from"));
  const char *pmsg = json_string_value(json_object_get(m, "progress"));
  json_t *detail = json_object_get(m, "progressDetail");
  _cleanup_free_ char *bar = detail ? message_bar(p, detail) : NULL;
  const char *endl = "";
  if (p->tty && !(stream && *stream) && detail) {
    fputs("\x1b[2K\r", p->out);
    endl = "\r";
  } else if (bar && *bar) {
    return; /* no progress bars off a terminal */
  }
  if (id && *id)
    fprintf(p->out, "%s: ", id);
  if (from && *from)
    fprintf(p->out, "(from %s) ", from);
  if (detail && p->tty)
    fprintf(p->out, "%s %s%s", status ? status : "", bar, endl);
  else if (pmsg && *pmsg)
    fprintf(p->out, "%s %s%s", status ? status : "", pmsg, endl);
  else if (stream && *stream)
    fprintf(p->out, "%s%s", stream, endl);
  else
    fprintf(p->out, "%s%s\n", status ? status : "", endl);
}

/* Handle one message; <0 with *err for an error message. */
static int handle(struct progress *p, json_t *m, struct berr **err) {
  json_t *aux = json_object_get(m, "aux");
  if (aux) {
    json_decref(p->aux);
    p->aux = json_incref(aux);
    return 0;
  }
  json_t *ed = json_object_get(m, "errorDetail");
  const char *emsg = json_string_value(json_object_get(ed, "message"));
  if (!emsg)
    emsg = json_string_value(json_object_get(m, "error"));
  if (ed || emsg) {
    if (json_integer_value(json_object_get(ed, "code")) == 401)
      return berr_set(err, EACCES, "authentication is required");
    return berr_set(err, EIO, "%s", emsg ? emsg : "");
  }
  const char *id = json_string_value(json_object_get(m, "id"));
  const char *pmsg = json_string_value(json_object_get(m, "progress"));
  size_t diff = 0;
  if (id && *id && (json_object_get(m, "progressDetail") || (pmsg && *pmsg))) {
    size_t line = id_line(p, id);
    diff = p->nids - line;
    if (p->tty && p->out)
      fprintf(p->out, "\x1b[%zuA", diff);
  } else {
    forget_ids(p);
  }
  if (p->out)
    display(p, m);
  if (id && *id && p->tty && p->out && diff)
    fprintf(p->out, "\x1b[%zuB", diff);
  if (p->out && p->tty)
    fflush(p->out);
  return 0;
}

static int handle_line(struct progress *p, char *line, size_t n, struct berr **err) {
  while (n && (line[n - 1] == '\r' || line[n - 1] == ' '))
    n--;
  if (!n)
    return 0;
  _cleanup_json_ json_t *m = json_loadb(line, n, 0, NULL);
  if (!json_is_object(m)) {
    if (p->out)
      fprintf(p->out, "%.*s\n", (int)n, line);
    return 0;
  }
  return handle(p, m, err);
}

static int terminal_width(FILE *out) {
  struct winsize ws;
  /* docker: the terminal's width when it can be read (even 0), else 200 */
  if (!out || ioctl(fileno(out), TIOCGWINSZ, &ws) < 0)
    return 200;
  return ws.ws_col;
}

int progress_render(progress_read_fn rd, void *rctx, FILE *out, bool tty, int width, json_t **aux,
                    struct berr **err) {
  struct progress p = {.out = out, .tty = tty && out, .width = width};
  struct sb buf = {0};
  char chunk[16384];
  int r = 0;
  for (;;) {
    ssize_t k = rd(rctx, chunk, sizeof(chunk));
    if (k < 0) {
      r = berr_set(err, EPROTO, "error reading the daemon's stream: unexpected EOF");
      break;
    }
    if (k == 0)
      break;
    sb_addn(&buf, chunk, (size_t)k);
    size_t start = 0;
    for (size_t i = 0; i < buf.len && r == 0; i++)
      if (buf.s[i] == '\n') {
        r = handle_line(&p, buf.s + start, i - start, err);
        start = i + 1;
      }
    if (r < 0)
      break;
    memmove(buf.s, buf.s + start, buf.len - start);
    buf.len -= start;
    buf.s[buf.len] = 0;
  }
  if (r == 0 && buf.len)
    r = handle_line(&p, buf.s, buf.len, err);
  if (out)
    fflush(out);
  sb_free(&buf);
  forget_ids(&p);
  if (aux)
    *aux = p.aux;
  else
    json_decref(p.aux);
  return r;
}

static ssize_t resp_reader(void *ctx, void *buf, size_t n) { return resp_read(ctx, buf, n); }

int progress_display(struct http_resp *resp, FILE *out, bool tty, json_t **aux, struct berr **err) {
  return progress_render(resp_reader, resp, out, tty, tty ? terminal_width(out) : 200, aux, err);
}

/* A streamed request with extra headers (X-Registry-Auth) on a connection of
 * its own; on success *resp owns that connection (resp_free closes it). */
int cli_stream_headers(struct cli *cli, const char *method, const char *path, const char *ctype,
                       const void *data, size_t len, const char *headers, struct http_resp *resp,
                       struct berr **err) {
  int r = cli_negotiate(cli, err);
  if (r < 0)
    return r;
  struct conn *c = NULL;
  if ((r = cli_conn_open(cli, &c, err)) < 0)
    return r;
  if ((r = http_send(cli, c, method, path, ctype, data, len, headers, err)) < 0 ||
      (r = http_read_head(c, resp, err)) < 0) {
    conn_close(c);
    return r;
  }
  if (resp->status >= 400) {
    _cleanup_free_ char *text = NULL;
    resp_read_all(resp, &text, NULL, NULL);
    int st = resp->status;
    resp_free(resp);
    conn_close(c);
    return cli_resp_error(st, text, err);
  }
  resp->owned = c;
  return 0;
}
