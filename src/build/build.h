/*
 * build.h — the builder: Dockerfile parser, build graph, cache, executor.
 *
 * (Placeholder while the issue "Builder: Dockerfiles, cache, multi-stage"
 * is built.)
 */
#pragma once

#include "common/common.h"

/* The default Dockerfile name. */
const char *build_default_dockerfile(void);
