/*
 * userns.h — the daemon's --userns-remap (userns.c): the remapped root's id
 * ranges from /etc/subuid and /etc/subgid, the user namespace containers run
 * in, and the ownership of what they must reach on the host.
 */
#ifndef BERTH_DAEMON_USERNS_H
#define BERTH_DAEMON_USERNS_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/common.h"

struct userns {
  char *user, *group;       /* the host account names the ranges belong to */
  json_t *uid_map, *gid_map; /* OCI [{"containerID","hostID","size"}] */
  uid_t root_uid;           /* host ids of the container's root */
  gid_t root_gid;
  int ns_fd;                /* a user namespace with these maps (idmapped mounts) */
};

struct userns_paths {
  const char *subuid, *subgid; /* /etc/subuid, /etc/subgid (tests use their own) */
};

/* Pure: the ranges [[start,count]…] of the lines of an /etc/subuid- or
 * /etc/subgid-shaped `text` owned by `name` or by the number `id` (-1: none),
 * in file order. Blank lines and # comments are skipped; a line without
 * exactly three fields is dockerd's "Cannot parse subuid/gid information:
 * Format not correct for <path> file"; a bad number or an empty or
 * overflowing range is an error too. */
int userns_subid_parse(const char *text, const char *path, const char *name, int64_t id,
                       json_t **out, struct berr **err);
/* Pure: ranges → OCI mappings, container ids consecutive from 0. New array. */
json_t *userns_idmap(const json_t *ranges);
/* Pure: the first 65536-id range from 100000 on that touches none of `all`
 * (dockerd's findNextRangeStart). */
int64_t userns_next_range(const json_t *all);
/* Pure: "user[:group]" split (group NULL when absent); more than one ':' or
 * an empty value is dockerd's "Invalid user/group specification". */
int userns_spec_parse(const char *spec, char **user, char **group, struct berr **err);

/* The setting → the mapping and its namespace (*out NULL for "root": no
 * remapping). "default" creates the berthremap user and its ranges when
 * missing (useradd, usermod -v/-w: the host's /etc/passwd, /etc/group,
 * /etc/shadow, /etc/gshadow, /etc/subuid, /etc/subgid change). */
int userns_open(const char *spec, const struct userns_paths *paths, struct userns **out,
                struct berr **err);
void userns_free(struct userns *u);
/* <base>/<uid>.<gid>, made 0700 for the remapped root; base gets 0711. */
int userns_data_root(const struct userns *u, const char *base, char **out, struct berr **err);
/* Does a container with this HostConfig get the user namespace? */
bool userns_active(const struct userns *u, const json_t *hc);
/* create: dockerd's refusals (--privileged, --net host, --pid host) unless
 * UsernsMode is "host". */
int userns_check_create(const struct userns *u, const json_t *hc, struct berr **err);
/* chown path to the remapped root (mode too, unless 0); no-op without u. */
int userns_own(const struct userns *u, const char *path, mode_t mode, struct berr **err);
/* root:<remapped gid> 0710: the remapped root may pass through a directory. */
int userns_grant_dir(const struct userns *u, const char *path, struct berr **err);

struct daemon;
struct container;
/* create, once the writable layer exists: mark it idmapped, let the
 * remapped root pass the container's directory. No-op without remapping or
 * with UsernsMode "host". */
int userns_ctr_create(struct daemon *d, struct container *c, struct berr **err);
/* start, before the spec: hostname, hosts, resolv.conf owned by the remapped root */
int userns_ctr_start(struct daemon *d, struct container *c, struct berr **err);
/* the OCI mappings for the spec (spec_input), NULL when the container shares
 * the host's user namespace */
const json_t *userns_uid_map(const struct daemon *d, const json_t *hc);
const json_t *userns_gid_map(const struct daemon *d, const json_t *hc);
/* berthd's start: with userns-remap set, open the mapping into d->userns and
 * move d->cfg.data_root to its <uid>.<gid> subdirectory (as dockerd). */
int userns_daemon_setup(struct daemon *d, struct berr **err);

#endif
