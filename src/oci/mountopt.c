/*
 * mountopt.c — OCI mount option strings -> mount(2) arguments.
 *
 * config.json lists a mount's options as strings ("nosuid", "rbind",
 * "mode=755"). oci_mount_options_parse() walks them once, at parse time, and
 * fills the derived fields of struct oci_mount: MS_* flags to set and to clear,
 * the propagation type, bind/rbind, and the leftover filesystem-specific
 * options joined with commas for mount(2)'s data argument.
 *
 * Everything known lives in one table (`mount_opts`); there is no if/else
 * chain. Rules:
 *   - options apply in order, the last one wins ("ro,rw" is rw): a SET option
 *     adds its flag to `flags` and removes it from `clear`, a CLEAR option the
 *     reverse;
 *   - the mount_setattr(2) recursive forms ("rro", "rnosuid", ...) are accepted
 *     for the entries marked `recursive_ok` and treated as their plain form;
 *   - propagation words set m->propagation (the r- forms add MS_REC);
 *   - anything unknown is filesystem-specific and goes to m->data, as the spec
 *     says runtimes SHOULD do.
 */
#include <errno.h>
#include <sys/mount.h>

#include "oci/oci.h"

#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif
#ifndef MS_LAZYTIME
#define MS_LAZYTIME (1 << 25)
#endif

enum opt_kind {
  OPT_NOOP,        /* "defaults": nothing to do */
  OPT_SET,         /* add `flag` */
  OPT_CLEAR,       /* remove `flag` (and ask the runtime to clear it on remount) */
  OPT_PROPAGATION, /* m->propagation = flag */
  OPT_BIND,        /* bind mount; `flag` is MS_BIND or MS_BIND|MS_REC */
  OPT_TMPCOPYUP,   /* copy the directory's contents into the new tmpfs */
  OPT_IDMAP,       /* idmapped mount (not passed to mount(2)) */
};

struct mount_opt {
  const char *name;
  enum opt_kind kind;
  unsigned long flag;
  bool recursive_ok; /* "r" + name is the mount_setattr AT_RECURSIVE form */
};

static const struct mount_opt mount_opts[] = {
  { "defaults", OPT_NOOP, 0, false },
  { "ro", OPT_SET, MS_RDONLY, true },
  { "rw", OPT_CLEAR, MS_RDONLY, true },
  { "nosuid", OPT_SET, MS_NOSUID, true },
  { "suid", OPT_CLEAR, MS_NOSUID, true },
  { "nodev", OPT_SET, MS_NODEV, true },
  { "dev", OPT_CLEAR, MS_NODEV, true },
  { "noexec", OPT_SET, MS_NOEXEC, true },
  { "exec", OPT_CLEAR, MS_NOEXEC, true },
  { "sync", OPT_SET, MS_SYNCHRONOUS, false },
  { "async", OPT_CLEAR, MS_SYNCHRONOUS, false },
  { "dirsync", OPT_SET, MS_DIRSYNC, false },
  { "remount", OPT_SET, MS_REMOUNT, false },
  { "mand", OPT_SET, MS_MANDLOCK, false },
  { "nomand", OPT_CLEAR, MS_MANDLOCK, false },
  { "noatime", OPT_SET, MS_NOATIME, true },
  { "atime", OPT_CLEAR, MS_NOATIME, true },
  { "nodiratime", OPT_SET, MS_NODIRATIME, true },
  { "diratime", OPT_CLEAR, MS_NODIRATIME, true },
  { "relatime", OPT_SET, MS_RELATIME, true },
  { "norelatime", OPT_CLEAR, MS_RELATIME, true },
  { "strictatime", OPT_SET, MS_STRICTATIME, true },
  { "nostrictatime", OPT_CLEAR, MS_STRICTATIME, true },
  { "lazytime", OPT_SET, MS_LAZYTIME, false },
  { "nolazytime", OPT_CLEAR, MS_LAZYTIME, false },
  { "iversion", OPT_SET, MS_I_VERSION, false },
  { "noiversion", OPT_CLEAR, MS_I_VERSION, false },
  { "silent", OPT_SET, MS_SILENT, false },
  { "loud", OPT_CLEAR, MS_SILENT, false },
  { "nosymfollow", OPT_SET, MS_NOSYMFOLLOW, true },
  { "symfollow", OPT_CLEAR, MS_NOSYMFOLLOW, true },
  { "bind", OPT_BIND, MS_BIND, false },
  { "rbind", OPT_BIND, MS_BIND | MS_REC, false },
  { "private", OPT_PROPAGATION, MS_PRIVATE, false },
  { "rprivate", OPT_PROPAGATION, MS_PRIVATE | MS_REC, false },
  { "shared", OPT_PROPAGATION, MS_SHARED, false },
  { "rshared", OPT_PROPAGATION, MS_SHARED | MS_REC, false },
  { "slave", OPT_PROPAGATION, MS_SLAVE, false },
  { "rslave", OPT_PROPAGATION, MS_SLAVE | MS_REC, false },
  { "unbindable", OPT_PROPAGATION, MS_UNBINDABLE, false },
  { "runbindable", OPT_PROPAGATION, MS_UNBINDABLE | MS_REC, false },
  { "tmpcopyup", OPT_TMPCOPYUP, 0, false },
  { "idmap", OPT_IDMAP, 0, false },
  { "ridmap", OPT_IDMAP, 0, false },
};

static const struct mount_opt *mount_opt_find_exact(const char *name) {
  for (size_t i = 0; i < sizeof(mount_opts) / sizeof(mount_opts[0]); i++)
    if (strcmp(mount_opts[i].name, name) == 0)
      return &mount_opts[i];
  return NULL;
}

/* The table entry for `name`, also for the recursive "r" + name forms; NULL if unknown. */
static const struct mount_opt *mount_opt_find(const char *name) {
  const struct mount_opt *o = mount_opt_find_exact(name);
  if (o == NULL && name[0] == 'r') {
    o = mount_opt_find_exact(name + 1);
    if (o != NULL && !o->recursive_ok)
      o = NULL;
  }
  return o;
}

int oci_propagation_parse(const char *s, unsigned long *out) {
  const struct mount_opt *o = s ? mount_opt_find_exact(s) : NULL;
  if (o == NULL || o->kind != OPT_PROPAGATION)
    return -EINVAL;
  *out = o->flag;
  return 0;
}

/* Append a filesystem-specific option to m->data ("a" -> "a,b"). */
static void mount_data_append(struct oci_mount *m, const char *opt) {
  char *joined = m->data ? xasprintf("%s,%s", m->data, opt) : xstrdup(opt);
  free(m->data);
  m->data = joined;
}

static void mount_opt_apply(struct oci_mount *m, const struct mount_opt *o) {
  switch (o->kind) {
  case OPT_NOOP:
    break;
  case OPT_SET:
    m->flags |= o->flag;
    m->clear &= ~o->flag;
    break;
  case OPT_CLEAR:
    m->clear |= o->flag;
    m->flags &= ~o->flag;
    break;
  case OPT_PROPAGATION:
    m->propagation = o->flag;
    break;
  case OPT_BIND:
    m->bind = true;
    m->recursive = m->recursive || (o->flag & MS_REC);
    m->flags |= o->flag;
    break;
  case OPT_TMPCOPYUP:
    m->tmpcopyup = true;
    break;
  case OPT_IDMAP:
    m->has_idmap = true;
    break;
  }
}

/* Reset what a previous call derived, so the function can be called again. */
static void mount_derived_reset(struct oci_mount *m) {
  m->flags = m->clear = m->propagation = 0;
  m->bind = m->recursive = m->tmpcopyup = m->has_idmap = false;
  free(m->data);
  m->data = NULL;
}

int oci_mount_options_parse(struct oci_mount *m, const char *what, struct berr **err) {
  mount_derived_reset(m);
  for (size_t i = 0; m->options && m->options[i]; i++) {
    const char *opt = m->options[i];
    if (opt[0] == '\0')
      return berr_set(err, EINVAL, "%s.options[%zu]: empty mount option", what, i);
    const struct mount_opt *o = mount_opt_find(opt);
    if (o)
      mount_opt_apply(m, o);
    else
      mount_data_append(m, opt);
  }
  if (m->type == NULL && m->bind)
    m->type = xstrdup("bind");
  return 0;
}
