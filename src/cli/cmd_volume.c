/*
 * cmd_volume.c — the berth CLI's volume commands.
 *
 * (Placeholder until they are built.)
 */
#include "cli/cli.h"

/* keeps this translation unit non-empty until the commands land */
typedef int cmd_volume_placeholder;
