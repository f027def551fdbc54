/*
 * auth.c — registry authentication pieces: the WWW-Authenticate parser
 * (RFC 7235 challenge: a scheme, then auth-params whose values may be
 * quoted strings with commas and backslash escapes), the bearer-token cache,
 * base64, and the X-Registry-Auth header (base64url JSON) the Engine API
 * carries credentials in.
 *
 * Token cache: keyed by "realm|service|scope|user|<hash of the credentials>"
 * (session.c builds the key); an entry lives until
 * the expires_in the token server gave (60 s when it gave none, as the
 * distribution spec says), less a 5 s margin. Guarded by its own mutex:
 * pulls and pushes share it from many threads.
 */
#include <errno.h>
#include <strings.h>

#include "registry/registry_internal.h"

/* ---------- WWW-Authenticate ---------- */

void challenge_clear(struct challenge *c) {
  free(c->scheme);
  free(c->realm);
  free(c->service);
  free(c->scope);
  memset(c, 0, sizeof *c);
}

static const char *skip_ws(const char *p) {
  while (*p == ' ' || *p == '\t')
    p++;
  return p;
}

/* A token or quoted string at p; *end after it. Caller frees. */
static char *param_value(const char *p, const char **end) {
  if (*p != '"') {
    const char *e = p + strcspn(p, ", \t");
    *end = e;
    return xasprintf("%.*s", (int)(e - p), p);
  }
  p++;
  char *v = xmalloc(strlen(p) + 1), *o = v;
  while (*p && *p != '"') {
    if (*p == '\\' && p[1])
      p++;
    *o++ = *p++;
  }
  *o = '\0';
  if (*p != '"') {
    free(v);
    return NULL;
  }
  *end = p + 1;
  return v;
}

int challenge_parse(const char *value, struct challenge *out) {
  memset(out, 0, sizeof *out);
  const char *p = skip_ws(value ? value : "");
  size_t sl = strcspn(p, " \t");
  if (sl == 0)
    return -EINVAL;
  out->scheme = xasprintf("%.*s", (int)sl, p);
  for (char *c = out->scheme; *c; c++)
    if (*c >= 'A' && *c <= 'Z')
      *c = (char)(*c + 32);
  p = skip_ws(p + sl);
  while (*p) {
    size_t kl = strcspn(p, "= \t,");
    if (kl == 0 || p[kl] != '=') {
      challenge_clear(out);
      return -EINVAL;
    }
    const char *key = p, *end;
    char *v = param_value(p + kl + 1, &end);
    if (!v) {
      challenge_clear(out);
      return -EINVAL;
    }
    char **slot = kl == 5 && strncasecmp(key, "realm", 5) == 0     ? &out->realm
                  : kl == 7 && strncasecmp(key, "service", 7) == 0 ? &out->service
                  : kl == 5 && strncasecmp(key, "scope", 5) == 0   ? &out->scope
                                                                   : NULL;
    if (slot) {
      free(*slot);
      *slot = v;
    } else {
      free(v);
    }
    p = skip_ws(end);
    if (*p == ',')
      p = skip_ws(p + 1);
    else if (*p) {
      challenge_clear(out);
      return -EINVAL;
    }
  }
  return 0;
}

/* ---------- token cache ---------- */

struct token_entry {
  char *key, *token;
  int64_t expires_at;
};

struct token_cache {
  pthread_mutex_t lock;
  struct token_entry *v;
  size_t n;
};

struct token_cache *token_cache_new(void) {
  struct token_cache *c = xcalloc(1, sizeof *c);
  pthread_mutex_init(&c->lock, NULL);
  return c;
}

void token_cache_free(struct token_cache *c) {
  if (!c)
    return;
  for (size_t i = 0; i < c->n; i++) {
    free(c->v[i].key);
    free(c->v[i].token);
  }
  free(c->v);
  pthread_mutex_destroy(&c->lock);
  free(c);
}

char *token_cache_get(struct token_cache *c, const char *key, int64_t now) {
  char *t = NULL;
  pthread_mutex_lock(&c->lock);
  for (size_t i = 0; i < c->n; i++)
    if (strcmp(c->v[i].key, key) == 0 && c->v[i].expires_at > now) {
      t = xstrdup(c->v[i].token);
      break;
    }
  pthread_mutex_unlock(&c->lock);
  return t;
}

void token_cache_put(struct token_cache *c, const char *key, const char *token, int64_t expires_at) {
  pthread_mutex_lock(&c->lock);
  size_t i;
  for (i = 0; i < c->n; i++)
    if (strcmp(c->v[i].key, key) == 0)
      break;
  if (i == c->n) { /* a new key; drop one that has expired to keep the table small */
    for (size_t k = 0; k < c->n; k++)
      if (c->v[k].expires_at <= expires_at - 3600) {
        i = k;
        break;
      }
    if (i == c->n) {
      c->v = xrealloc(c->v, (c->n + 1) * sizeof *c->v);
      c->v[c->n++] = (struct token_entry){0};
    }
  }
  free(c->v[i].key);
  free(c->v[i].token);
  c->v[i].key = xstrdup(key);
  c->v[i].token = xstrdup(token);
  c->v[i].expires_at = expires_at;
  pthread_mutex_unlock(&c->lock);
}

/* ---------- base64 ---------- */

static const char b64_alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *b64_encode(const void *data, size_t len) {
  const unsigned char *d = data;
  char *o = xmalloc(4 * ((len + 2) / 3) + 1), *p = o;
  for (size_t i = 0; i < len; i += 3) {
    unsigned v = (unsigned)d[i] << 16 | (i + 1 < len ? (unsigned)d[i + 1] << 8 : 0) |
                 (i + 2 < len ? d[i + 2] : 0);
    *p++ = b64_alpha[v >> 18 & 63];
    *p++ = b64_alpha[v >> 12 & 63];
    *p++ = i + 1 < len ? b64_alpha[v >> 6 & 63] : '=';
    *p++ = i + 2 < len ? b64_alpha[v & 63] : '=';
  }
  *p = '\0';
  return o;
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

char *b64_decode(const char *s, size_t *len) {
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == '=' || s[n - 1] == '\n' || s[n - 1] == '\r'))
    n--;
  if (n % 4 == 1)
    return NULL;
  unsigned char *o = xmalloc(n * 3 / 4 + 2);
  size_t k = 0;
  unsigned acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; i++) {
    int v = b64_val(s[i]);
    if (v < 0) {
      free(o);
      return NULL;
    }
    acc = acc << 6 | (unsigned)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      o[k++] = (unsigned char)(acc >> bits & 0xff);
    }
  }
  o[k] = '\0';
  if (len)
    *len = k;
  return (char *)o;
}

/* ---------- X-Registry-Auth ---------- */

void registry_auth_clear(struct registry_auth *a) {
  if (!a)
    return;
  free(a->username);
  free(a->password);
  free(a->serveraddress);
  free(a->identitytoken);
  memset(a, 0, sizeof *a);
}

static char *jstr(json_t *o, const char *k) {
  const char *v = json_string_value(json_object_get(o, k));
  return v && *v ? xstrdup(v) : NULL;
}

int registry_auth_decode(const char *header, struct registry_auth *out, struct berr **err) {
  memset(out, 0, sizeof *out);
  if (!header || !*header)
    return 0;
  size_t len = 0;
  _cleanup_free_ char *raw = b64_decode(header, &len);
  json_t *j = raw ? json_loadb(raw, len, 0, NULL) : NULL;
  if (!json_is_object(j)) { /* dockerd: an unreadable header means anonymous */
    json_decref(j);
    return raw ? 0 : berr_set(err, EINVAL, "invalid X-Registry-Auth header: not base64");
  }
  out->username = jstr(j, "username");
  out->password = jstr(j, "password");
  out->serveraddress = jstr(j, "serveraddress");
  out->identitytoken = jstr(j, "identitytoken");
  json_decref(j);
  return 0;
}
