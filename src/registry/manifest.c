/*
 * manifest.c — image manifests as registries serve them: Docker schema 2
 * and OCI image manifests (config + layers), Docker manifest lists and OCI
 * image indexes (one manifest per platform), and platform selection.
 *
 * The media type comes from the body's "mediaType" when present, else the
 * response's Content-Type (OCI manifests may omit it); a body with
 * "manifests" is an index whatever it says. Schema 1 manifests (signed,
 * "fsLayers") are refused, as current dockerd does by default. A layer of
 * a media type we cannot unpack (manifest_check_layers) is an error naming
 * it, before anything is downloaded.
 */
#include <errno.h>
#include <sys/utsname.h>

#include "registry/registry_internal.h"

void manifest_clear(struct manifest *m) {
  free(m->media_type);
  free(m->config.media_type);
  free(m->config.digest);
  for (size_t i = 0; i < m->nlayers; i++) {
    free(m->layers[i].media_type);
    free(m->layers[i].digest);
  }
  free(m->layers);
  memset(m, 0, sizeof *m);
}

bool layer_media_type_known(const char *mt) {
  static const char *const known[] = {MT_DOCKER_LAYER_GZIP, MT_DOCKER_LAYER_FOREIGN, MT_OCI_LAYER,
                                      MT_OCI_LAYER_GZIP, MT_OCI_LAYER_ZSTD,
                                      "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
                                      "application/vnd.oci.image.layer.nondistributable.v1.tar"};
  for (size_t i = 0; mt && i < sizeof known / sizeof known[0]; i++)
    if (strcmp(mt, known[i]) == 0)
      return true;
  return false;
}

static bool sha256_digest(const char *d) {
  if (!d || strncmp(d, "sha256:", 7) != 0 || strlen(d) != 71)
    return false;
  for (const char *p = d + 7; *p; p++)
    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
      return false;
  return true;
}

static int descriptor(json_t *j, struct descriptor *d, const char *what, struct berr **err) {
  const char *dig = json_string_value(json_object_get(j, "digest"));
  json_t *sz = json_object_get(j, "size");
  if (!sha256_digest(dig))
    return berr_set(err, EINVAL, "invalid manifest: %s digest \"%s\"", what, dig ? dig : "");
  if (!json_is_integer(sz) || json_integer_value(sz) < 0)
    return berr_set(err, EINVAL, "invalid manifest: %s %s has no size", what, dig);
  const char *mt = json_string_value(json_object_get(j, "mediaType"));
  d->media_type = xstrdup(mt ? mt : "");
  d->digest = xstrdup(dig);
  d->size = json_integer_value(sz);
  return 0;
}

int manifest_parse(const char *body, size_t len, const char *content_type, struct manifest *out,
                   struct berr **err) {
  memset(out, 0, sizeof *out);
  json_error_t je;
  _cleanup_json_ json_t *j = json_loadb(body, len, 0, &je);
  if (!json_is_object(j))
    return berr_set(err, EINVAL, "invalid manifest: %s", je.text);
  const char *mt = json_string_value(json_object_get(j, "mediaType"));
  if (!mt)
    mt = content_type;
  json_int_t sv = json_integer_value(json_object_get(j, "schemaVersion"));
  if (sv == 1 || json_object_get(j, "fsLayers"))
    return berr_set(err, EINVAL, "unsupported manifest format: schema 1 (\"%s\")",
                    mt ? mt : "application/vnd.docker.distribution.manifest.v1+json");
  if (json_is_array(json_object_get(j, "manifests"))) {
    out->is_index = true;
    out->media_type = xstrdup(mt && *mt ? mt : MT_OCI_INDEX);
    return 0;
  }
  if (mt && *mt && strcmp(mt, MT_DOCKER_MANIFEST) != 0 && strcmp(mt, MT_OCI_MANIFEST) != 0 &&
      strcmp(mt, "application/json") != 0)
    return berr_set(err, EINVAL, "unsupported manifest media type \"%s\"", mt);
  out->media_type = xstrdup(mt && *mt && strcmp(mt, "application/json") != 0 ? mt : MT_OCI_MANIFEST);
  int r = descriptor(json_object_get(j, "config"), &out->config, "config", err);
  if (r < 0) {
    manifest_clear(out);
    return r;
  }
  json_t *ls = json_object_get(j, "layers");
  if (!json_is_array(ls)) {
    manifest_clear(out);
    return berr_set(err, EINVAL, "invalid manifest: no layers");
  }
  out->layers = xcalloc(json_array_size(ls) + 1, sizeof *out->layers);
  json_t *e;
  size_t i;
  json_array_foreach(ls, i, e) {
    if ((r = descriptor(e, &out->layers[i], "layer", err)) < 0) {
      out->nlayers = i + 1;
      manifest_clear(out);
      return r;
    }
    out->nlayers = i + 1;
  }
  return 0;
}

int manifest_check_layers(const struct manifest *m, struct berr **err) {
  const char *cmt = m->config.media_type;
  if (cmt && *cmt && strcmp(cmt, MT_DOCKER_CONFIG) != 0 && strcmp(cmt, MT_OCI_CONFIG) != 0)
    return berr_set(err, EINVAL, "unsupported media type \"%s\" for image config %s", cmt, m->config.digest);
  for (size_t i = 0; i < m->nlayers; i++)
    if (!layer_media_type_known(m->layers[i].media_type)) /* dockerd's words, then the layer */
      return berr_set(err, EINVAL, "unsupported media type %s for layer %s", m->layers[i].media_type,
                      m->layers[i].digest);
  return 0;
}

/* ---------- platforms ---------- */

void platform_host(struct platform *out) {
  memset(out, 0, sizeof *out);
  snprintf(out->os, sizeof out->os, "linux");
  struct utsname u;
  const char *arch = "amd64", *variant = "";
  if (uname(&u) == 0) {
    if (strcmp(u.machine, "aarch64") == 0) {
      arch = "arm64";
      variant = "v8";
    } else if (str_has_prefix(u.machine, "armv7")) {
      arch = "arm";
      variant = "v7";
    } else if (strcmp(u.machine, "ppc64le") == 0 || strcmp(u.machine, "s390x") == 0 ||
               strcmp(u.machine, "riscv64") == 0) {
      arch = u.machine;
    } else if (strcmp(u.machine, "i686") == 0) {
      arch = "386";
    }
  }
  snprintf(out->arch, sizeof out->arch, "%s", arch);
  snprintf(out->variant, sizeof out->variant, "%s", variant);
}

int platform_parse(const char *s, struct platform *out, struct berr **err) {
  platform_host(out);
  if (!s || !*s)
    return 0;
  char buf[100];
  snprintf(buf, sizeof buf, "%s", s);
  for (char *c = buf; *c; c++)
    if (*c >= 'A' && *c <= 'Z')
      *c = (char)(*c + 32);
  char *parts[4] = {0};
  int n = 0;
  for (char *save = NULL, *t = strtok_r(buf, "/", &save); t; t = strtok_r(NULL, "/", &save))
    if (n < 4)
      parts[n++] = t;
  if (n < 1 || n > 3 || strlen(s) >= sizeof buf)
    return berr_set(err, EINVAL, "invalid platform \"%s\": expected os/arch[/variant]", s);
  memset(out, 0, sizeof *out);
  snprintf(out->os, sizeof out->os, "%s", parts[0]);
  if (n == 1) { /* an OS alone: this machine's architecture */
    struct platform h;
    platform_host(&h);
    memcpy(out->arch, h.arch, sizeof out->arch);
    memcpy(out->variant, h.variant, sizeof out->variant);
    return 0;
  }
  const char *arch = parts[1];
  /* containerd's normalisation: x86_64/x86-64 → amd64, aarch64 → arm64 */
  if (strcmp(arch, "x86_64") == 0 || strcmp(arch, "x86-64") == 0)
    arch = "amd64";
  else if (strcmp(arch, "aarch64") == 0)
    arch = "arm64";
  snprintf(out->arch, sizeof out->arch, "%s", arch);
  snprintf(out->variant, sizeof out->variant, "%s", n == 3 ? parts[2] : "");
  if (strcmp(out->arch, "arm64") == 0 && strcmp(out->variant, "v8") == 0)
    out->variant[0] = '\0';
  return 0;
}

/* Does an index entry's platform match p? arm64 "v8" and "" are one; an
 * entry without a variant matches any wanted variant. */
static bool platform_match(json_t *pl, const struct platform *p) {
  const char *os = json_string_value(json_object_get(pl, "os"));
  const char *arch = json_string_value(json_object_get(pl, "architecture"));
  const char *var = json_string_value(json_object_get(pl, "variant"));
  if (!os || !arch || strcmp(os, p->os) != 0 || strcmp(arch, p->arch) != 0)
    return false;
  if (!var || !*var || (strcmp(arch, "arm64") == 0 && strcmp(var, "v8") == 0))
    return !*p->variant || strcmp(p->arch, "arm64") == 0;
  return !*p->variant || strcmp(var, p->variant) == 0;
}

int index_select(const char *body, size_t len, const struct platform *p, char **digest, char **media_type,
                 struct berr **err) {
  _cleanup_json_ json_t *j = json_loadb(body, len, 0, NULL);
  json_t *ms = json_object_get(j, "manifests"), *e, *pick = NULL;
  size_t i;
  json_array_foreach(ms, i, e) {
    json_t *pl = json_object_get(e, "platform");
    if (pl && platform_match(pl, p)) {
      pick = e;
      break;
    }
  }
  if (!pick) {
    if (*p->variant)
      return berr_set(err, ENOENT, "no matching manifest for %s/%s/%s in the manifest list entries", p->os,
                      p->arch, p->variant);
    return berr_set(err, ENOENT, "no matching manifest for %s/%s in the manifest list entries", p->os, p->arch);
  }
  const char *d = json_string_value(json_object_get(pick, "digest"));
  if (!sha256_digest(d))
    return berr_set(err, EINVAL, "invalid manifest list: digest \"%s\"", d ? d : "");
  const char *mt = json_string_value(json_object_get(pick, "mediaType"));
  *digest = xstrdup(d);
  *media_type = xstrdup(mt ? mt : "");
  return 0;
}

json_t *platform_json(const json_t *pl) {
  /* Go's ocispec.Platform: os.version, os.features, variant omitted when empty */
  json_t *o = json_pack("{s:s,s:s}", "architecture", json_string_value(json_object_get(pl, "architecture")) ?: "",
                        "os", json_string_value(json_object_get(pl, "os")) ?: "");
  const char *v = json_string_value(json_object_get(pl, "os.version"));
  if (v && *v)
    json_object_set_new(o, "os.version", json_string(v));
  json_t *f = json_object_get(pl, "os.features");
  if (json_array_size(f))
    json_object_set(o, "os.features", f);
  v = json_string_value(json_object_get(pl, "variant"));
  if (v && *v)
    json_object_set_new(o, "variant", json_string(v));
  return o;
}

json_t *index_platforms(const char *body, size_t len) {
  json_t *out = json_array();
  _cleanup_json_ json_t *j = json_loadb(body, len, 0, NULL);
  json_t *e;
  size_t i;
  json_array_foreach(json_object_get(j, "manifests"), i, e) {
    json_t *pl = json_object_get(e, "platform");
    if (!pl)
      continue;
    json_array_append_new(out, platform_json(pl));
  }
  return out;
}
