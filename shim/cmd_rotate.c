/* SPDX-License-Identifier: MIT */
/* vaultenv rotate: placeholder until issue 5 lands it. */
#include "cli.h"

int cmd_rotate(int argc, char **argv) {
        (void) argc;
        (void) argv;
        cli_error("rotate: not implemented yet");
        return CLI_EX_FAIL;
}
