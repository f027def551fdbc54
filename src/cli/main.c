/* main.c — the berth CLI's thin main: everything lives in libberth-cli (commands.c). */
#include "cli/cli.h"

int main(int argc, char **argv) { return cli_main(argc, argv); }
