/*
 * volume.h — named and anonymous volumes: the local driver (a directory, or
 * a mount of type/device/o), labels, reference counting by containers.
 *
 * (Placeholder while the issue "Volumes, mounts, resource limits and
 * security options" is built.)
 */
#pragma once

#include "common/common.h"

/* The default driver's name. */
const char *volume_default_driver(void);
