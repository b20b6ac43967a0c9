/* SPDX-License-Identifier: MIT */
/* vaultenv export: placeholder until issue 5 lands it. */
#include "cli.h"

int cmd_export(int argc, char **argv) {
        (void) argc;
        (void) argv;
        cli_error("export: not implemented yet");
        return CLI_EX_FAIL;
}
