/* SPDX-License-Identifier: MIT */
/* vaultenv learn: placeholder until issue 5 lands it. */
#include "cli.h"

int cmd_learn(int argc, char **argv) {
        (void) argc;
        (void) argv;
        cli_error("learn: not implemented yet");
        return CLI_EX_FAIL;
}
