/*
 * caps.c — process.capabilities (OCI runtime-spec) applied to the container's
 * process: the bounding set, then effective/permitted/inheritable, then ambient.
 *
 * Names: the spec's "CAP_CHOWN" form (the prefix is required, case does not
 * matter), resolved by libcap's name table, so the table follows libcap.
 * A capability libcap knows but the running kernel does not (above
 * /proc/sys/kernel/cap_last_cap) is skipped with a warning, as the spec asks
 * ("SHOULD NOT fail ... MUST be logged as a warning"); an unknown name is an
 * error naming the set.
 *
 * The sets are kept as 64-bit masks (capset v3 carries 64 capabilities) and
 * written with one raw capset(2), so the process gets exactly what the spec
 * lists. The kernel's rules that make a spec unsatisfiable are checked first,
 * for a clear error instead of a bare EPERM: effective ⊆ permitted, and each
 * ambient capability in both permitted and inheritable.
 *
 * Order (see security.h): caps_drop_bounding() while still uid 0 with
 * CAP_SETPCAP; caps_apply() after setresuid (with PR_SET_KEEPCAPS).
 */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <strings.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "runtime/security.h"

/* The spec's sets, named as in the config, for validation and messages. */
struct cap_set_def {
  const char *name;
  size_t offset; /* of the char ** vector in struct oci_caps */
};

static const struct cap_set_def cap_set_defs[] = {
    {"bounding", offsetof(struct oci_caps, bounding)},       {"effective", offsetof(struct oci_caps, effective)},
    {"inheritable", offsetof(struct oci_caps, inheritable)}, {"permitted", offsetof(struct oci_caps, permitted)},
    {"ambient", offsetof(struct oci_caps, ambient)},
};

#define N_CAP_SETS (sizeof(cap_set_defs) / sizeof(cap_set_defs[0]))
#define CAP_SET_PREFIX "process.capabilities."
/* capset v3 carries two 32-bit words per set. */
#define CAPS_MAX_BITS 64

static char **cap_set_names(const struct oci_caps *caps, const struct cap_set_def *def) {
  return *(char **const *)((const char *)caps + def->offset);
}

/* Masks of the five sets, capabilities above the kernel's last dropped. */
struct cap_masks {
  uint64_t effective, inheritable, permitted, ambient;
};

static uint64_t cap_bit(int cap) { return (uint64_t)1 << cap; }

/* "CAP_" then letters, digits and underscores: libcap's parser would also take
 * numbers and comma-separated lists, which the spec does not allow. */
static bool cap_name_well_formed(const char *name) {
  if (name == NULL || strncasecmp(name, "CAP_", 4) != 0 || name[4] == '\0')
    return false;
  for (const char *p = name + 4; *p; p++)
    if (!isalnum((unsigned char)*p) && *p != '_')
      return false;
  return true;
}

int caps_from_name(const char *name, int *cap, struct berr **err) {
  cap_value_t v;
  if (!cap_name_well_formed(name) || cap_from_name(name, &v) < 0 || v < 0)
    return berr_set(err, EINVAL, "unknown capability \"%s\"", name ? name : "");
  *cap = v;
  return 0;
}

/* The kernel's last capability by probing the bounding set (no /proc needed). */
static int last_cap_by_probing(void) {
  int c = 0;
  while (c + 1 < CAPS_MAX_BITS && prctl(PR_CAPBSET_READ, (unsigned long)(c + 1), 0, 0, 0) >= 0)
    c++;
  return c;
}

int caps_last_cap(void) {
  _cleanup_berr_ struct berr *ignored = NULL;
  _cleanup_free_ char *text = NULL;
  int64_t v;
  if (read_file("/proc/sys/kernel/cap_last_cap", &text, NULL, &ignored) == 0) {
    text[strcspn(text, "\n")] = '\0';
    if (parse_int64(text, &v) == 0 && v >= 0 && v < CAPS_MAX_BITS)
      return (int)v;
  }
  return last_cap_by_probing();
}

/* Canonical upper-case name for messages ("CAP_KILL"). */
static void cap_display_name(int cap, char *buf, size_t size) {
  char *n = cap_to_name((cap_value_t)cap);
  snprintf(buf, size, "%s", n ? n : "?");
  cap_free(n);
  for (char *p = buf; *p; p++)
    *p = (char)toupper((unsigned char)*p);
}

/* One set's names to a mask. Unknown names fail, naming the set; names the
 * kernel does not know (above `last`) are skipped with a warning. */
static int set_to_mask(char *const *names, const char *set, int last, uint64_t *mask, struct berr **err) {
  *mask = 0;
  for (size_t i = 0; names && names[i]; i++) {
    int cap;
    if (caps_from_name(names[i], &cap, NULL) < 0)
      return berr_set(err, EINVAL, "unknown capability \"%s\" in " CAP_SET_PREFIX "%s", names[i] ? names[i] : "", set);
    if (cap > last) {
      log_warn(CAP_SET_PREFIX "%s: %s is not supported by the running kernel (last capability is %d); skipped", set,
               names[i], last);
      continue;
    }
    *mask |= cap_bit(cap);
  }
  return 0;
}

int caps_validate(const struct oci_caps *caps, struct berr **err) {
  if (caps == NULL)
    return 0;
  for (size_t s = 0; s < N_CAP_SETS; s++) {
    uint64_t ignored;
    /* The widest `last`: validation is about names, not this kernel. */
    int r = set_to_mask(cap_set_names(caps, &cap_set_defs[s]), cap_set_defs[s].name, CAPS_MAX_BITS - 1, &ignored, err);
    if (r < 0)
      return r;
  }
  return 0;
}

/* ---------- bounding set ---------- */

int caps_drop_bounding(const struct oci_caps *caps, struct berr **err) {
  int last = caps_last_cap();
  /* caps == NULL or no bounding list: an empty bounding set. runc reads an absent
   * list as empty, and dockerd relies on that: --cap-drop ALL sends no lists. */
  uint64_t keep = 0;
  if (caps != NULL) {
    int r = set_to_mask(caps->bounding, "bounding", last, &keep, err);
    if (r < 0)
      return r;
  }
  for (int c = 0; c <= last; c++) {
    if (keep & cap_bit(c))
      continue;
    if (prctl(PR_CAPBSET_READ, (unsigned long)c, 0, 0, 0) == 0)
      continue; /* already out: nothing to do, and no CAP_SETPCAP needed */
    if (prctl(PR_CAPBSET_DROP, (unsigned long)c, 0, 0, 0) < 0) {
      char name[64];
      cap_display_name(c, name, sizeof(name));
      return berr_sys(err, errno, "drop %s from the bounding set", name);
    }
  }
  return 0;
}

/* ---------- effective, permitted, inheritable, ambient ---------- */

static int masks_from_caps(const struct oci_caps *caps, int last, struct cap_masks *m, struct berr **err) {
  *m = (struct cap_masks){0};
  if (caps == NULL)
    return 0;
  int r;
  if ((r = set_to_mask(caps->effective, "effective", last, &m->effective, err)) < 0 ||
      (r = set_to_mask(caps->permitted, "permitted", last, &m->permitted, err)) < 0 ||
      (r = set_to_mask(caps->inheritable, "inheritable", last, &m->inheritable, err)) < 0 ||
      (r = set_to_mask(caps->ambient, "ambient", last, &m->ambient, err)) < 0)
    return r;
  return 0;
}

/* First capability in `extra` (a set that must be empty), or -1. */
static int first_cap(uint64_t extra) { return extra ? __builtin_ctzll(extra) : -1; }

/* The kernel's rules: effective ⊆ permitted; ambient ⊆ permitted ∩ inheritable.
 * An ambient capability outside permitted ∩ inheritable is dropped with a warning,
 * not refused: runc ignores that raise failing, and `runc spec`'s own default
 * config lists ambient capabilities that are not inheritable. */
static int check_masks(struct cap_masks *m, struct berr **err) {
  char name[64];
  int c = first_cap(m->effective & ~m->permitted);
  if (c >= 0) {
    cap_display_name(c, name, sizeof(name));
    return berr_set(err, EINVAL, CAP_SET_PREFIX "effective: %s is not in " CAP_SET_PREFIX "permitted", name);
  }
  while ((c = first_cap(m->ambient & ~(m->permitted & m->inheritable))) >= 0) {
    cap_display_name(c, name, sizeof(name));
    log_warn(CAP_SET_PREFIX "ambient: %s is not in both permitted and inheritable: not raised", name);
    m->ambient &= ~cap_bit(c);
  }
  return 0;
}

static int set_eff_prm_inh(const struct cap_masks *m, struct berr **err) {
  struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct data[2];
  for (int w = 0; w < 2; w++) {
    data[w].effective = (uint32_t)(m->effective >> (32 * w));
    data[w].permitted = (uint32_t)(m->permitted >> (32 * w));
    data[w].inheritable = (uint32_t)(m->inheritable >> (32 * w));
  }
  if (capset(&hdr, data) < 0)
    return berr_sys(err, errno, "set effective, permitted and inheritable capabilities");
  return 0;
}

static int set_ambient(uint64_t ambient, int last, struct berr **err) {
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) {
    if (errno == EINVAL && ambient == 0)
      return 0; /* a kernel without ambient capabilities (< 4.3): nothing to clear */
    return berr_sys(err, errno, "clear ambient capabilities");
  }
  for (int c = 0; c <= last; c++) {
    if (!(ambient & cap_bit(c)))
      continue;
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, (unsigned long)c, 0, 0) < 0) {
      char name[64];
      cap_display_name(c, name, sizeof(name));
      return berr_sys(err, errno, "raise ambient capability %s", name);
    }
  }
  return 0;
}

int caps_apply(const struct oci_caps *caps, struct berr **err) {
  int last = caps_last_cap();
  struct cap_masks m;
  int r = masks_from_caps(caps, last, &m, err);
  if (r < 0)
    return r;
  r = check_masks(&m, err);
  if (r < 0)
    return r;
  r = set_eff_prm_inh(&m, err);
  if (r < 0)
    return r;
  return set_ambient(m.ambient, last, err);
}
