/* builder.c — placeholder entry of the builder (build.h). */
#include "build/build.h"

const char *build_default_dockerfile(void) { return "Dockerfile"; }
