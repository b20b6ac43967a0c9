/* SPDX-License-Identifier: MIT */
/* vaultenv migrate: placeholder until issue 5 lands it. */
#include "cli.h"

int cmd_migrate(int argc, char **argv) {
        (void) argc;
        (void) argv;
        cli_error("migrate: not implemented yet");
        return CLI_EX_FAIL;
}
