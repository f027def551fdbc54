/*
 * credentials.c — registry credentials in the docker CLI's config file
 * ($DOCKER_CONFIG/config.json, else ~/.docker/config.json), and the
 * X-Registry-Auth header built from them.
 *
 * Format (docker/cli configfile): {"auths": {"<key>": {"auth": base64("user:password"),
 * "identitytoken": "..."}}, ...}. The key is "https://index.docker.io/v1/" for
 * Docker Hub and the bare host[:port] for any other registry (docker's
 * ConvertToHostname). Lookups also accept keys written with a scheme or path.
 *
 * Invariants: every key of the file we do not own (credsStore, proxies,
 * psFormat, ...) and every other registry's entry is kept as read; the file is
 * replaced atomically with mode 0600 (its directory made 0700), written with
 * tab indentation as Go's json.MarshalIndent(…, "", "\t") does. No state is
 * kept between calls.
 */
#include <errno.h>
#include <sys/stat.h>

#include "cli/cli.h"

#define INDEX_SERVER "https://index.docker.io/v1/"

/* ---------- base64 (std and url alphabets, padded, as Go's StdEncoding/URLEncoding) ---------- */

static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *b64_encode(const void *data, size_t n, bool url) {
  const unsigned char *p = data;
  const char *a = url ? b64_url : b64_std;
  char *out = xmalloc((n + 2) / 3 * 4 + 1), *o = out;
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)p[i] << 16;
    if (i + 1 < n)
      v |= (uint32_t)p[i + 1] << 8;
    if (i + 2 < n)
      v |= p[i + 2];
    *o++ = a[(v >> 18) & 63];
    *o++ = a[(v >> 12) & 63];
    *o++ = i + 1 < n ? a[(v >> 6) & 63] : '=';
    *o++ = i + 2 < n ? a[v & 63] : '=';
  }
  *o = 0;
  return out;
}

static int b64_val(char c) {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+' || c == '-')
    return 62;
  if (c == '/' || c == '_')
    return 63;
  return -1;
}

int b64_decode(const char *s, char **out, size_t *outlen) {
  size_t n = strlen(s);
  char *buf = xmalloc(n / 4 * 3 + 4);
  size_t len = 0;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '=')
      break;
    int v = b64_val(s[i]);
    if (v < 0) {
      free(buf);
      return -EINVAL;
    }
    acc = (acc << 6) | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      buf[len++] = (char)((acc >> bits) & 0xff);
    }
  }
  buf[len] = 0;
  *out = buf;
  if (outlen)
    *outlen = len;
  return 0;
}

/* ---------- keys ---------- */

char *cred_config_path(void) {
  const char *dir = getenv("DOCKER_CONFIG");
  if (dir && *dir)
    return xasprintf("%s/config.json", dir);
  const char *home = getenv("HOME");
  return xasprintf("%s/.docker/config.json", home && *home ? home : "/root");
}

/* docker's credentials.ConvertToHostname: drop the scheme and any path. */
char *cred_hostname(const char *addr) {
  const char *s = addr;
  if (str_has_prefix(s, "http://"))
    s += 7;
  else if (str_has_prefix(s, "https://"))
    s += 8;
  return strndup(s, strcspn(s, "/"));
}

static bool is_index_name(const char *s) {
  return !strcmp(s, "docker.io") || !strcmp(s, "index.docker.io") ||
         !strcmp(s, "registry-1.docker.io") || !strcmp(s, INDEX_SERVER);
}

char *cred_server_key(const char *server) {
  if (!server || !*server || is_index_name(server))
    return xstrdup(INDEX_SERVER);
  _cleanup_free_ char *host = cred_hostname(server);
  if (is_index_name(host))
    return xstrdup(INDEX_SERVER);
  return steal_ptr(host);
}

/* reference.ParseNormalizedNamed's domain split: the first component is a
 * registry when it has a '.' or ':' or is "localhost". */
char *cred_ref_key(const char *ref) {
  const char *slash = strchr(ref, '/');
  if (!slash)
    return xstrdup(INDEX_SERVER);
  _cleanup_free_ char *first = strndup(ref, (size_t)(slash - ref));
  if (!strchr(first, '.') && !strchr(first, ':') && strcmp(first, "localhost"))
    return xstrdup(INDEX_SERVER);
  return cred_server_key(first);
}

/* ---------- the file ---------- */

static int load_config(const char *path, json_t **out, struct berr **err) {
  if (!path_exists(path)) {
    *out = json_object();
    return 0;
  }
  _cleanup_free_ char *text = NULL;
  int r = read_file(path, &text, NULL, err);
  if (r < 0)
    return r;
  json_error_t je;
  json_t *j = json_loads(text, 0, &je);
  if (!j || !json_is_object(j)) {
    json_decref(j);
    /* docker: "loading config file: <path>: invalid character ..." */
    return berr_set(err, EINVAL, "loading config file: %s: %s", path, j ? "not a JSON object" : je.text);
  }
  *out = j;
  return 0;
}

/* Go's MarshalIndent with "\t": jansson indents with one space per level here,
 * turned into one tab per level (raw newlines only occur between tokens). */
static char *dump_tabs(const json_t *j) {
  _cleanup_free_ char *s = json_dumps(j, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
  struct sb b = {0};
  bool bol = true;
  for (const char *p = s; p && *p; p++) {
    if (bol && *p == ' ') {
      sb_add(&b, "\t");
      continue;
    }
    bol = *p == '\n';
    sb_addn(&b, p, 1);
  }
  return sb_steal(&b);
}

static int save_config(const char *path, const json_t *cfg, struct berr **err) {
  _cleanup_free_ char *dir = xstrdup(path);
  char *slash = strrchr(dir, '/');
  if (slash && slash != dir) {
    *slash = 0;
    int r = mkdir_p(dir, 0700, err);
    if (r < 0)
      return r;
  }
  _cleanup_free_ char *text = dump_tabs(cfg);
  int r = write_file_atomic(path, text, strlen(text), 0600, err);
  if (r < 0)
    return berr_wrap(err, "error saving credentials");
  return 0;
}

/* The entry of `key`: exact, else one whose hostname matches (docker's legacy lookup). */
static json_t *find_entry(json_t *auths, const char *key, const char **found_key) {
  json_t *e = json_object_get(auths, key);
  if (e) {
    *found_key = key;
    return e;
  }
  const char *k;
  json_t *v;
  json_object_foreach(auths, k, v) {
    _cleanup_free_ char *h = cred_hostname(k);
    if (!strcmp(h, key) || (!strcmp(key, INDEX_SERVER) && is_index_name(h))) {
      *found_key = k;
      return v;
    }
  }
  return NULL;
}

void cred_free(struct cred *c) {
  free(c->username);
  free(c->password);
  free(c->serveraddress);
  free(c->identitytoken);
  memset(c, 0, sizeof(*c));
}

int cred_get(const char *path, const char *key, struct cred *out, bool *found, struct berr **err) {
  memset(out, 0, sizeof(*out));
  *found = false;
  _cleanup_json_ json_t *cfg = NULL;
  int r = load_config(path, &cfg, err);
  if (r < 0)
    return r;
  const char *fk = NULL;
  json_t *e = find_entry(json_object_get(cfg, "auths"), key, &fk);
  if (!e)
    return 0;
  const char *auth = json_string_value(json_object_get(e, "auth"));
  if (auth && *auth) {
    _cleanup_free_ char *plain = NULL;
    char *colon;
    if (b64_decode(auth, &plain, NULL) < 0 || !(colon = strchr(plain, ':')))
      return berr_set(err, EINVAL, "loading config file: %s: invalid auth configuration file", path);
    *colon = 0;
    out->username = xstrdup(plain);
    out->password = xstrdup(colon + 1);
  } else {
    const char *u = json_string_value(json_object_get(e, "username"));
    const char *p = json_string_value(json_object_get(e, "password"));
    out->username = u ? xstrdup(u) : NULL;
    out->password = p ? xstrdup(p) : NULL;
  }
  const char *it = json_string_value(json_object_get(e, "identitytoken"));
  out->identitytoken = it && *it ? xstrdup(it) : NULL;
  out->serveraddress = xstrdup(fk);
  *found = true;
  return 0;
}

int cred_store(const char *path, const char *key, const char *user, const char *password,
               const char *identitytoken, struct berr **err) {
  _cleanup_json_ json_t *cfg = NULL;
  int r = load_config(path, &cfg, err);
  if (r < 0)
    return r;
  json_t *auths = json_object_get(cfg, "auths");
  if (!json_is_object(auths)) {
    auths = json_object();
    json_object_set_new(cfg, "auths", auths);
  }
  /* docker stores an identity token instead of the password */
  _cleanup_free_ char *plain = xasprintf("%s:%s", user ? user : "", identitytoken ? "" : password ? password : "");
  _cleanup_free_ char *enc = b64_encode(plain, strlen(plain), false);
  json_t *e = json_object();
  json_object_set_new(e, "auth", json_string(enc));
  if (identitytoken && *identitytoken)
    json_object_set_new(e, "identitytoken", json_string(identitytoken));
  json_object_set_new(auths, key, e);
  return save_config(path, cfg, err);
}

int cred_erase(const char *path, const char *key, bool *found, struct berr **err) {
  *found = false;
  _cleanup_json_ json_t *cfg = NULL;
  int r = load_config(path, &cfg, err);
  if (r < 0)
    return r;
  json_t *auths = json_object_get(cfg, "auths");
  /* docker logout removes the address as given, its hostname and both schemes */
  _cleanup_free_ char *h = cred_hostname(key);
  _cleanup_free_ char *http = xasprintf("http://%s", h);
  _cleanup_free_ char *https = xasprintf("https://%s", h);
  const char *names[] = {key, h, http, https};
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
    if (json_object_get(auths, names[i])) {
      json_object_del(auths, names[i]);
      *found = true;
    }
  /* also any other spelling of that host ("http://h/v2/"), which docker would leave */
  const char *k;
  json_t *v;
  void *tmp;
  json_object_foreach_safe(auths, tmp, k, v) {
    _cleanup_free_ char *kh = cred_hostname(k);
    if (!strcmp(kh, h)) {
      json_object_del(auths, k);
      *found = true;
    }
  }
  if (!*found)
    return 0;
  return save_config(path, cfg, err);
}

/* registry.EncodeAuthConfig: base64url of the JSON, fields in Go's struct order, omitempty. */
char *cred_encode(const struct cred *c) {
  _cleanup_json_ json_t *j = json_object();
  if (c->username && *c->username)
    json_object_set_new(j, "username", json_string(c->username));
  if (c->password && *c->password)
    json_object_set_new(j, "password", json_string(c->password));
  if (c->serveraddress && *c->serveraddress)
    json_object_set_new(j, "serveraddress", json_string(c->serveraddress));
  if (c->identitytoken && *c->identitytoken)
    json_object_set_new(j, "identitytoken", json_string(c->identitytoken));
  _cleanup_free_ char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
  return b64_encode(s, strlen(s), true);
}

char *cred_header_for_ref(const char *ref) {
  _cleanup_free_ char *path = cred_config_path();
  _cleanup_free_ char *key = cred_ref_key(ref);
  struct cred c;
  bool found = false;
  _cleanup_berr_ struct berr *e = NULL;
  if (cred_get(path, key, &c, &found, &e) < 0)
    fprintf(stderr, "WARNING: Error %s\n", e->msg);
  /* docker sends "{}" encoded when there are no credentials */
  if (!found)
    c.serveraddress = NULL;
  _cleanup_free_ char *enc = cred_encode(&c);
  cred_free(&c);
  return xasprintf("X-Registry-Auth: %s\r\n", enc);
}
