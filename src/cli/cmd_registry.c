/*
 * cmd_registry.c — the berth CLI's registry commands.
 *
 * (Placeholder until they are built.)
 */
#include "cli/cli.h"

/* keeps this translation unit non-empty until the commands land */
typedef int cmd_registry_placeholder;
