/*
 * security.h — capabilities and seccomp for the container's process (private to src/runtime).
 *
 * Order in the container's init, as the kernel demands (see process.c):
 *   caps_drop_bounding()           while still uid 0 with CAP_SETPCAP
 *   prctl(KEEPCAPS) + setresuid/gid
 *   caps_apply()                   effective/permitted/inheritable, then ambient
 *   seccomp_filter_load()          last, right before execve (before caps_apply when
 *                                  noNewPrivileges is false, since loading then needs CAP_SYS_ADMIN)
 */
#ifndef BERTH_RUNTIME_SECURITY_H
#define BERTH_RUNTIME_SECURITY_H

#include "common/common.h"
#include "oci/oci.h"

/* "CAP_SYS_ADMIN" -> 21. -EINVAL for an unknown name (error names it). */
int caps_from_name(const char *name, int *cap, struct berr **err);
/* Highest capability number the running kernel knows (/proc/sys/kernel/cap_last_cap). */
int caps_last_cap(void);
/* Check every name in every set; the error names the set and the capability. */
int caps_validate(const struct oci_caps *caps, struct berr **err);
/* Drop from the bounding set everything not in caps->bounding. caps == NULL or a
 * NULL bounding list: drop everything, as runc does (an absent list is an empty
 * one; dockerd sends none for --cap-drop ALL). Capabilities newer than
 * the running kernel are skipped with a warning, here and in caps_apply. */
int caps_drop_bounding(const struct oci_caps *caps, struct berr **err);
/* Set effective, permitted and inheritable exactly, then raise the ambient ones.
 * caps == NULL: clear everything (a process with no capabilities block gets none). */
int caps_apply(const struct oci_caps *caps, struct berr **err);

/* A filter built from the spec, to be loaded later (build early, load late). */
struct seccomp_filter;
/* Build the libseccomp filter; errors name the syscall / action / arch / flag that is wrong.
 * Syscalls unknown to this libseccomp/kernel are skipped, as runc does. */
int seccomp_filter_build(const struct oci_seccomp *s, struct seccomp_filter **out, struct berr **err);
/* The same, with the compiled program cached in cache_dir (see seccomp.c):
 * `raw` is the spec's linux.seccomp object the profile was parsed from. The
 * filter then loads that program as is. raw or cache_dir NULL: no cache. */
int seccomp_filter_build_cached(const struct oci_seccomp *s, const json_t *raw, const char *cache_dir,
                                struct seccomp_filter **out, struct berr **err);
/* Load into the calling thread (with the spec's flags: LOG, SPEC_ALLOW, TSYNC). */
int seccomp_filter_load(struct seccomp_filter *f, struct berr **err);
/* Write the BPF program (for tests/debugging) to fd. */
int seccomp_filter_export_bpf(struct seccomp_filter *f, int fd, struct berr **err);
void seccomp_filter_free(struct seccomp_filter *f);
void seccomp_filter_freep(struct seccomp_filter **f);
#define _cleanup_seccomp_filter_ __attribute__((cleanup(seccomp_filter_freep)))

/* Name tables shared with the parser's validation. Return false for unknown names. */
bool seccomp_action_known(const char *name);
bool seccomp_operator_known(const char *name);
bool seccomp_arch_known(const char *name);
bool seccomp_flag_known(const char *name);
/* The "seccomp" object of `berth-runc features` (features-linux.md): enabled,
 * actions, operators, archs (those this libseccomp supports), knownFlags,
 * supportedFlags (those this libseccomp and kernel support). New reference. */
json_t *seccomp_features_json(void);

#endif
