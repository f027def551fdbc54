/*
 * cmd_network.c — the berth CLI's network commands.
 *
 * (Placeholder until they are built.)
 */
#include "cli/cli.h"

/* keeps this translation unit non-empty until the commands land */
typedef int cmd_network_placeholder;
