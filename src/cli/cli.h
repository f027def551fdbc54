/*
 * cli.h — the berth CLI's internal header: the Engine API client (client.c),
 * docker/pflag-style flag parsing (flags.c), go-units formatting (format.c),
 * terminal and hijacked-stream helpers (stream.c) and the command table
 * (main.c dispatches to the cmd_*.c files).
 *
 * Invariants: nothing here keeps process-wide state; one `struct cli` per
 * invocation holds the daemon address, the negotiated API version and a
 * keep-alive connection. Requests on that connection are strictly sequential;
 * a command that needs several requests open at once (run: wait + attach +
 * start) opens extra connections with cli_conn_open.
 */
#ifndef BERTH_CLI_H
#define BERTH_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/common.h"

/* ---------- growing string ---------- */

struct sb {
  char *s;
  size_t len, cap;
};
void sb_add(struct sb *b, const char *s);
void sb_addn(struct sb *b, const char *s, size_t n);
void sb_addf(struct sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append `s` percent-encoded for a URL query. */
void sb_add_qs(struct sb *b, const char *s);
/* Append "&key=value" (or "?key=value" when b is empty of '?'), value encoded. */
void sb_query(struct sb *b, const char *key, const char *value);
void sb_free(struct sb *b);
/* Give the string to the caller (never NULL). */
char *sb_steal(struct sb *b);
#define _cleanup_sb_ __attribute__((cleanup(sb_free)))

/* ---------- connections and HTTP ---------- */

struct conn;        /* a socket (unix, tcp or tls) with a read buffer */
struct ssl_ctx_st;  /* OpenSSL's SSL_CTX, only with --tls */

struct cli {
  const char *prog;         /* "berth": prefix of run/create errors */
  char *host;               /* unix:///path or tcp://host:port */
  bool tls, tlsverify;      /* --tls / --tlsverify (or DOCKER_TLS_VERIFY) */
  char *tlscacert, *tlscert, *tlskey;
  char *api_version;        /* "1.41": DOCKER_API_VERSION, assumed, or negotiated via /_ping */
  bool negotiated;          /* api_version is set (maybe only assumed: see optimistic) */
  bool optimistic;          /* api_version is our own, not yet accepted by the daemon */
  struct ssl_ctx_st *ssl;   /* lazily made for tls */
  struct conn *conn;        /* keep-alive connection for sequential requests */
  bool debug;               /* -D: log requests to stderr */
};

struct http_resp {
  int status;               /* HTTP status code */
  char *ctype;              /* Content-Type (may be NULL) */
  char *api_version;        /* Api-Version header (may be NULL) */
  int64_t length;           /* Content-Length, -1 when absent */
  bool chunked;             /* Transfer-Encoding: chunked */
  bool close;               /* the server closes after this response */
  int64_t left;             /* bytes left of the body or of the current chunk */
  bool eof;                 /* body fully read */
  struct conn *c;           /* where the body comes from */
  struct conn *owned;       /* c when the response owns it (streams); closed by resp_free */
  char *path_stat;          /* X-Docker-Container-Path-Stat (base64 JSON), archive routes */
};

void cli_init(struct cli *cli);
void cli_fini(struct cli *cli);
/* Open a new connection to the daemon. */
int cli_conn_open(struct cli *cli, struct conn **out, struct berr **err);
void conn_close(struct conn *c);
void conn_closep(struct conn **c);
#define _cleanup_conn_ __attribute__((cleanup(conn_closep)))
int conn_fd(const struct conn *c);
/* Bytes already buffered (or pending inside TLS) that poll() would not see. */
size_t conn_pending(const struct conn *c);
ssize_t conn_read(struct conn *c, void *buf, size_t n);
int conn_write_all(struct conn *c, const void *buf, size_t n);
/* Half-close: no more writes (stdin EOF on a hijacked stream). */
void conn_close_write(struct conn *c);

/* Send a request on `c` (path without /vX.Y prefix; it is added) and read the
 * response head into *resp. `body` may be NULL; `extra_headers` lines end with \r\n. */
int http_send(struct cli *cli, struct conn *c, const char *method, const char *path,
              const char *ctype, const void *body, size_t len, const char *extra_headers,
              struct berr **err);
int http_read_head(struct conn *c, struct http_resp *resp, struct berr **err);
/* Read body bytes (dechunking); 0 at the end; -1 on error. */
ssize_t resp_read(struct http_resp *r, void *buf, size_t n);
/* Read the rest of the body (NUL-terminated). Caller frees *out. */
int resp_read_all(struct http_resp *r, char **out, size_t *len, struct berr **err);
void resp_free(struct http_resp *r);

/* A request on the keep-alive connection; reads the whole reply. For status
 * >= 400, returns -errno-class with *err = "Error response from daemon: <message>"
 * and *status set. *out (may be NULL to ignore) gets the parsed JSON body (or
 * NULL when empty / not JSON). */
int cli_call(struct cli *cli, const char *method, const char *path, const json_t *body,
             json_t **out, int *status, struct berr **err);
/* cli_call for a list reply of which the caller reads only the keys `keep`
 * of each element (others may be left out: cli_json_fast_keys). */
int cli_call_keys(struct cli *cli, const char *method, const char *path, const json_t *body,
                  const char *const *keep, json_t **out, int *status, struct berr **err);
/* Like cli_call but leaves the body to the caller for streaming (logs, events,
 * stats, archive): on success *resp is ready for resp_read on the keep-alive
 * connection. `ctype`/`data` for raw request bodies (tar). */
int cli_stream(struct cli *cli, const char *method, const char *path, const char *ctype,
               const void *data, size_t len, struct http_resp *resp, struct berr **err);
/* Stream a request body from `fd` (chunked), e.g. docker load / cp to container. */
int cli_stream_upload(struct cli *cli, const char *method, const char *path, const char *ctype,
                      int fd, struct http_resp *resp, struct berr **err);
/* Open a new connection and hijack it (Upgrade: tcp) with `body` (may be NULL). */
int cli_hijack(struct cli *cli, const char *path, const json_t *body, struct conn **out,
               struct berr **err);
/* Turn an error reply into *err. */
int cli_resp_error(int status, const char *body, struct berr **err);
/* Settle the API version (GET /_ping unless DOCKER_API_VERSION). */
int cli_negotiate(struct cli *cli, struct berr **err);

/* ---------- json_parse.c: the daemon's JSON replies ---------- */

/* json_loadb(text, len, JSON_DECODE_ANY) without jansson's per-byte stream:
 * the same value, or NULL for anything it leaves to jansson (bad input, NUL
 * escapes, integers over 18 digits, deep nesting, invalid UTF-8). */
json_t *cli_json_fast(const char *text, size_t len);
/* The same for a list whose elements are objects: only their keys named in
 * `keep` (NULL-terminated; NULL: all) are built, the rest only checked. */
json_t *cli_json_fast_keys(const char *text, size_t len, const char *const *keep);
/* cli_json_fast_keys, else jansson's json_loadb (every key; NULL on bad input). */
json_t *cli_json_load(const char *text, size_t len, const char *const *keep);

/* ---------- flags (pflag semantics) ---------- */

enum flag_type {
  FLAG_BOOL,   /* bool *: --x, --x=true/false, -x */
  FLAG_STR,    /* char ** (not owned: points into argv or a literal) */
  FLAG_STRV,   /* char *** (repeatable; vector owned, strings from argv) */
  FLAG_INT,    /* int64_t * */
  FLAG_DURATION, /* int64_t * nanoseconds: Go's time.ParseDuration ("1m30s") */
  FLAG_BYTES,  /* int64_t *: go-units RAMInBytes ("512m", "1g") */
};

struct flag {
  const char *name;    /* long name without "--" (NULL ends the table) */
  char shorthand;      /* 0 when none */
  enum flag_type type;
  void *dst;
  const char *help;
  bool *set;           /* optional: set true when the flag was given */
};

struct cmd_ctx;
/* Parse argv (argv[0] is the first argument after the command). Positional
 * arguments go to *args (vector owned by caller, strings borrowed). When
 * `interspersed` is false, parsing stops at the first positional (run, exec).
 * Errors use pflag's wording; *help is set for --help. */
int flags_parse(const struct flag *flags, int argc, char **argv, bool interspersed,
                char ***args, bool *help, struct berr **err);
void flags_help(FILE *out, const struct flag *flags);

/* ---------- format.c: go-units and docker/cli formatting ---------- */

/* units.HumanSizeWithPrecision(size, prec): "1.98MB" (1000-based). Caller frees. */
char *fmt_human_size(double size, int prec);
/* units.BytesSize: "1.5MiB" (1024-based, %.4g). Caller frees. */
char *fmt_bytes_size(double size);
/* units.HumanDuration of `secs`: "Less than a second", "About a minute", ... Caller frees. */
char *fmt_human_duration(double secs);
/* Parse an RFC 3339 time ("2024-01-02T03:04:05.123Z" or +hh:mm); seconds since
 * the epoch (with fraction) in *out; zero time ("0001-...") gives 0. */
int parse_rfc3339(const char *s, double *out);
/* Go's time.Time.String() for a unix time in UTC: "2024-01-02 03:04:05 +0000 UTC". */
char *fmt_go_time(int64_t unix_secs);
/* Labels as "k=v,k2=v2", keys sorted (volume ls, network ls). Caller frees. */
char *fmt_labels(const json_t *labels);
/* Docker's Ellipsis: cut to `max` display chars with "…". Caller frees. */
char *fmt_ellipsis(const char *s, size_t max);
/* Go's strconv.Quote for ASCII/UTF-8 text. Caller frees. */
char *fmt_go_quote(const char *s);
/* docker ps's Ports column from the API's Ports array. Caller frees. */
char *fmt_ports(const json_t *ports);
/* "Up 3 seconds" / "Exited (0) 2 minutes ago" from a State object + now (the
 * daemon normally sends Status; this is used when it does not). Caller frees. */
char *fmt_state_status(const json_t *state, double now);
/* Docker's --since/--until value: RFC 3339, unix seconds, or a duration
 * ("10m", "1h30m") relative to now. *out gets "secs[.nanos]" for the API. */
int parse_timestamp_arg(const char *s, double now, char **out, struct berr **err);
/* Go duration "1m30s", "500ms" → nanoseconds. */
int parse_go_duration(const char *s, int64_t *ns);
/* The same with Go's error text in *err ("time: unknown unit ..."). */
int parse_go_duration_err(const char *s, int64_t *ns, struct berr **err);
/* go-units RAMInBytes: "512m" → bytes; *err "invalid size: '...'" / "invalid suffix: '...'". */
int parse_ram_bytes(const char *s, int64_t *out, struct berr **err);
/* Docker's --cpus "1.5" → NanoCPUs. */
int parse_nano_cpus(const char *s, int64_t *out);
/* Strip "sha256:" and cut to 12 chars (stringid.TruncateID). Caller frees. */
char *fmt_trunc_id(const char *id);

/* ---------- stream.c: hijacked streams, terminal ---------- */

struct stream_opts {
  bool tty;            /* raw stream, no stdcopy framing */
  bool in;             /* copy stdin to the stream */
  bool out, err;       /* want stdout / stderr */
  bool sig_proxy;      /* forward signals to the container (not with tty) */
  const char *resize_path; /* "/containers/ID/resize" or "/exec/ID/resize" (tty only) */
  const char *kill_path;   /* "/containers/ID/kill" for signal proxying */
  const char *detach_keys; /* with a tty: the detach sequence (NULL: ctrl-p,ctrl-q) */
  bool *detached;          /* set when the user typed the detach keys */
};
/* Copy stdin → c and c → stdout/stderr until the stream ends. With a tty and
 * a terminal on stdin: raw mode (restored on return) and SIGWINCH → resize. */
int stream_run(struct cli *cli, struct conn *c, const struct stream_opts *o, struct berr **err);
/* Demultiplex a stdcopy stream from a response body to stdout/stderr. */
int stream_demux_resp(struct http_resp *r, bool tty, struct berr **err);
/* Resize the tty of the container/exec at `path` to the terminal's size. */
void stream_resize(struct cli *cli, const char *path);

/* ---------- progress.c: Docker's JSON message stream (jsonmessage) ---------- */

/* Read the stream of `resp` and render it on `out` (NULL: discard) as the
 * docker CLI: per-id lines updated in place with progress bars when `tty`,
 * each status line once otherwise. An error message ends it: -errno and
 * *err = its text. *aux (may be NULL) gets the last "aux" object (caller decrefs). */
int progress_display(struct http_resp *resp, FILE *out, bool tty, json_t **aux, struct berr **err);
/* The renderer behind progress_display, reading through `rd` (bytes read, 0 at
 * the end, <0 on error); `width`: the terminal's columns. */
typedef ssize_t (*progress_read_fn)(void *ctx, void *buf, size_t n);
int progress_render(progress_read_fn rd, void *ctx, FILE *out, bool tty, int width, json_t **aux,
                    struct berr **err);
/* jsonmessage's JSONProgress.String(): "[====>   ]  1.2MB/3.4MB 5s". Caller frees. */
char *progress_bar(int64_t current, int64_t total, int64_t start, int width, double now);
/* cli_stream on a new connection with extra header lines ("Name: v\r\n"). */
int cli_stream_headers(struct cli *cli, const char *method, const char *path, const char *ctype,
                       const void *data, size_t len, const char *headers, struct http_resp *resp,
                       struct berr **err);

/* ---------- credentials.c: ~/.docker/config.json ---------- */

struct cred {
  char *username, *password, *serveraddress, *identitytoken;
};
void cred_free(struct cred *c);
/* Base64, padded; `url`: the URL-safe alphabet. Caller frees. */
char *b64_encode(const void *data, size_t n, bool url);
/* Decode either alphabet; *out NUL-terminated. -EINVAL on bad input. */
int b64_decode(const char *s, char **out, size_t *outlen);
/* $DOCKER_CONFIG/config.json or $HOME/.docker/config.json. Caller frees. */
char *cred_config_path(void);
/* docker's ConvertToHostname: "https://h:5000/v2/" -> "h:5000". Caller frees. */
char *cred_hostname(const char *addr);
/* The config key of a login/logout SERVER argument: "https://index.docker.io/v1/"
 * for Docker Hub (empty, docker.io, ...), else the hostname. Caller frees. */
char *cred_server_key(const char *server);
/* The config key of the registry an image reference points at. Caller frees. */
char *cred_ref_key(const char *ref);
/* Look `key` up (exact, else by hostname); *found false when absent. */
int cred_get(const char *path, const char *key, struct cred *out, bool *found, struct berr **err);
/* Store user/password (or identity token) under `key`, keeping the rest of the file. */
int cred_store(const char *path, const char *key, const char *user, const char *password,
               const char *identitytoken, struct berr **err);
/* Remove `key` (and its hostname / http:// / https:// spellings); *found when one existed. */
int cred_erase(const char *path, const char *key, bool *found, struct berr **err);
/* The X-Registry-Auth value: base64url JSON {username,password,serveraddress,identitytoken}. */
char *cred_encode(const struct cred *c);
/* "X-Registry-Auth: ...\r\n" for the registry of image `ref` ("{}" without credentials). */
char *cred_header_for_ref(const char *ref);

/* ---------- commands ---------- */

struct cmd_ctx {
  struct cli *cli;
  const char *name;    /* "run", "container ls", ... (for messages) */
  const char *usage;   /* "berth run [OPTIONS] IMAGE [COMMAND] [ARG...]" */
};

typedef int (*cmd_fn)(struct cmd_ctx *ctx, int argc, char **argv);

/* Flag error / --help handling shared by all commands: parse, print docker's
 * messages. Returns 0 to continue, else the exit status (+1000 for "done, exit 0"). */
int cmd_parse(struct cmd_ctx *ctx, const struct flag *flags, int argc, char **argv,
              bool interspersed, char ***args);
/* Docker's "'berth rm' requires at least 1 argument" check; returns 0 or exit status 1. */
int cmd_need_args(struct cmd_ctx *ctx, char **args, size_t min, size_t max);
/* Print err ("Error response from daemon: ...") to stderr. */
void cmd_print_err(struct berr *err);

/* Look a container up (GET /containers/ID/json). */
int cli_inspect_container(struct cli *cli, const char *id, json_t **out, struct berr **err);

int cmd_run(struct cmd_ctx *, int, char **);
int cmd_create(struct cmd_ctx *, int, char **);
int cmd_start(struct cmd_ctx *, int, char **);
int cmd_stop(struct cmd_ctx *, int, char **);
int cmd_kill(struct cmd_ctx *, int, char **);
int cmd_restart(struct cmd_ctx *, int, char **);
int cmd_pause(struct cmd_ctx *, int, char **);
int cmd_unpause(struct cmd_ctx *, int, char **);
int cmd_wait(struct cmd_ctx *, int, char **);
int cmd_rm(struct cmd_ctx *, int, char **);
int cmd_rename(struct cmd_ctx *, int, char **);
int cmd_attach(struct cmd_ctx *, int, char **);
int cmd_logs(struct cmd_ctx *, int, char **);
int cmd_exec(struct cmd_ctx *, int, char **);
int cmd_ps(struct cmd_ctx *, int, char **);
int cmd_inspect(struct cmd_ctx *, int, char **);
int cmd_container_inspect(struct cmd_ctx *, int, char **);
int cmd_top(struct cmd_ctx *, int, char **);
int cmd_stats(struct cmd_ctx *, int, char **);
int cmd_diff(struct cmd_ctx *, int, char **);
int cmd_cp(struct cmd_ctx *, int, char **);
int cmd_port(struct cmd_ctx *, int, char **);
int cmd_update(struct cmd_ctx *, int, char **);
int cmd_container_prune(struct cmd_ctx *, int, char **);
int cmd_events(struct cmd_ctx *, int, char **);
int cmd_version(struct cmd_ctx *, int, char **);
int cmd_info(struct cmd_ctx *, int, char **);
int cmd_system_df(struct cmd_ctx *, int, char **);
int cmd_system_prune(struct cmd_ctx *, int, char **);
int cmd_images(struct cmd_ctx *, int, char **);
int cmd_rmi(struct cmd_ctx *, int, char **);
int cmd_tag(struct cmd_ctx *, int, char **);
int cmd_image_inspect(struct cmd_ctx *, int, char **);
int cmd_history(struct cmd_ctx *, int, char **);
int cmd_load(struct cmd_ctx *, int, char **);
int cmd_build(struct cmd_ctx *, int, char **);
int cmd_builder_prune(struct cmd_ctx *, int, char **);
int cmd_save(struct cmd_ctx *, int, char **);
int cmd_import(struct cmd_ctx *, int, char **); /* store-import helper: import, commit, export */
int cmd_commit(struct cmd_ctx *, int, char **);
int cmd_export(struct cmd_ctx *, int, char **);
int cmd_image_prune(struct cmd_ctx *, int, char **);
int cmd_volume_create(struct cmd_ctx *, int, char **);
int cmd_volume_ls(struct cmd_ctx *, int, char **);
int cmd_volume_inspect(struct cmd_ctx *, int, char **);
int cmd_volume_rm(struct cmd_ctx *, int, char **);
int cmd_volume_prune(struct cmd_ctx *, int, char **);
int cmd_network_create(struct cmd_ctx *, int, char **);
int cmd_network_ls(struct cmd_ctx *, int, char **);
int cmd_network_inspect(struct cmd_ctx *, int, char **);
int cmd_network_rm(struct cmd_ctx *, int, char **);
int cmd_network_prune(struct cmd_ctx *, int, char **);
int cmd_network_connect(struct cmd_ctx *, int, char **);
int cmd_network_disconnect(struct cmd_ctx *, int, char **);
int cmd_pull(struct cmd_ctx *, int, char **);
int cmd_push(struct cmd_ctx *, int, char **);
int cmd_login(struct cmd_ctx *, int, char **);
int cmd_logout(struct cmd_ctx *, int, char **);

/* Print `rows` with a user --format (or the default table `deftable`):
 * "table ..." → header + tabwriter(10,1,3); "json" → one JSON line per row;
 * otherwise the template per row. headers() maps field → column title. */
int cli_print_rows(const char *format, const char *deftable, json_t *rows,
                   const char *(*headers)(const char *field), struct berr **err);
/* ---------- table.c: the list commands' tables ---------- */

/* docker's column title of a template field (ps: "ID" → "CONTAINER ID"). */
struct cli_column {
  const char *field, *title;
};
/* The title of `field` in `cols` (ended by a NULL field); NULL when unknown. */
const char *cli_column_title(const struct cli_column *cols, const char *field);
/* GET `path` (+ "filters=" from the --filter list) into *out. */
int cli_list_get(struct cli *cli, struct sb *path, char **filters, json_t **out, struct berr **err);
/* A `<kind> ls` whose list is one GET. */
struct cli_list {
  const char *path;         /* "/volumes" */
  const char *items_key;    /* the array in the reply ("Volumes"); NULL: the reply is it */
  const char *sort_key;     /* rows in the order of this key of the items; NULL: the daemon's */
  json_t *(*row)(const json_t *item, bool trunc); /* an item as a row of template fields */
  const char *deftable;     /* the default table */
  const char *quiet_format; /* -q without --format */
  const char *(*title)(const char *field);
};
/* Fetch, sort, print (--format, -q or the default table); the exit status. */
int cli_list_run(struct cmd_ctx *ctx, const struct cli_list *l, char **filters, const char *format,
                 bool quiet, bool trunc);

/* Print one JSON value per Docker's inspect: 4-space indent array. */
void cli_print_json_indent(const json_t *j);
/* docker's inspect output of `items` (an array): the indented array, or with
 * --format one line per object ("json": compact JSON, else the template). */
int cli_print_inspect(const char *format, json_t *items, struct berr **err);
/* `<kind> inspect NAME...` for objects at path_of(name, "") (GET, caller
 * frees the path): prints what was found, then each error on stderr;
 * returns 1 when any name failed, as docker does. */
int cli_inspect_each(struct cmd_ctx *ctx, char **names, const char *format,
                     char *(*path_of)(const char *name, const char *suffix));

/* `<kind> prune` once its flags are parsed: docker's confirmation (unless
 * force), POST `endpoint` with the filters, the "<title>:" list of the
 * reply's `key` array, and "Total reclaimed space: …" when `space`. */
int cli_prune(struct cmd_ctx *ctx, const char *warning, bool force, char **filters, const char *endpoint,
              const char *key, const char *title, bool space);
/* docker's "Are you sure you want to continue? [y/N]" prompt; true on y/yes. */
bool cli_confirm(const char *warning);
/* --filter k=v list → the API's filters JSON ({"k":["v"]}); *out NULL when none. */
int cli_filters_json(char **filters, char **out, struct berr **err);
/* POST /images/prune (dangling only unless all), printing docker's "Deleted Images:" list. */
int cli_prune_images(struct cli *cli, bool all, char **filters, int64_t *reclaimed, struct berr **err);
/* now as seconds since the epoch (with fraction) */
double cli_now(void);

/* Entry point of the berth binary (main.c calls it). */
int cli_main(int argc, char **argv);

#endif
