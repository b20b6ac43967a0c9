/* SPDX-License-Identifier: MIT */
/* vaultenv: the command-line tool. One binary, one file per subcommand
 * (cmd_*.c, shared parts in cli.c). This binary is not preloaded: it links
 * lib/ directly and resolves in process. It never prints a token, and
 * prints a value only where that is the subcommand's job (get, export). */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct {
        const char *name;
        int (*run)(int argc, char **argv);
        const char *summary;
} commands[] = {
        { "exec",    cmd_exec,    "run a command with Vault-backed variables (the shim preloaded, or --env)" },
        { "check",   cmd_check,   "validate the mapping and check every mapped secret (no values shown)" },
        { "get",     cmd_get,     "print the resolved value of one name" },
        { "export",  cmd_export,  "print every mapped value, for eval or other tools" },
        { "migrate", cmd_migrate, "move the secrets of a .env file into Vault KV" },
        { "rotate",  cmd_rotate,  "write a new random value as a new KV v2 version" },
        { "learn",   cmd_learn,   "record which variables a program reads (names only)" },
        { "policy",  cmd_policy,  "print the Vault policy the mapping needs, and nothing more" },
};

static int usage(FILE *f, int status) {
        fprintf(f, "Usage: %s COMMAND [OPTIONS] [ARGS...]\n"
                   "\n"
                   "Serves HashiCorp Vault secrets to unmodified programs through getenv().\n"
                   "\n"
                   "Commands:\n", cli_program);
        for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
                fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
        fprintf(f, "  %-8s %s\n", "version", "print the version");
        fprintf(f, "\n'%s COMMAND --help' describes a command. See vaultenv(1) and vaultenv.map(5).\n",
                cli_program);
        return status;
}

int main(int argc, char **argv) {
        const char *cmd;

        if (argc < 2)
                return usage(stderr, CLI_EX_USAGE);
        cmd = argv[1];
        if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0)
                return usage(stdout, 0);
        if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
                printf("vaultenv %s\n", VE_VERSION);
                return fflush(stdout) == 0 ? 0 : CLI_EX_FAIL;
        }
        for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
                if (strcmp(cmd, commands[i].name) == 0)
                        return commands[i].run(argc - 1, argv + 1);
        fprintf(stderr, "%s: unknown command \"%s\"\n", cli_program, cmd);
        return usage(stderr, CLI_EX_USAGE);
}
