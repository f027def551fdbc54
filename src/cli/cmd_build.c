/*
 * cmd_build.c — the berth CLI's build commands.
 *
 * (Placeholder until they are built.)
 */
#include "cli/cli.h"

/* keeps this translation unit non-empty until the commands land */
typedef int cmd_build_placeholder;
