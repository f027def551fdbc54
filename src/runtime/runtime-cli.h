/* runtime-cli.h — pieces of berth-runc's front end split out of cli.c. */
#ifndef BERTH_RUNTIME_CLI_H
#define BERTH_RUNTIME_CLI_H

#include <sys/types.h>

#include "common/common.h"

int cli_main(int argc, char **argv);
/* `ps` table: run ps(1) with ps_args (default -ef) and keep the header and our pids' lines. */
int cli_ps_table(const pid_t *pids, size_t n, char **ps_args, struct berr **err);
/* `list` table: runc's columns ID PID STATUS BUNDLE CREATED OWNER. */
void cli_list_table(json_t *states);

#endif
