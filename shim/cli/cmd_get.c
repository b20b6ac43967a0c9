/* SPDX-License-Identifier: MIT */
/* vaultenv get [-m MAPFILE] NAME: the one subcommand (with export) whose
 * job is to print a value. NAME is a mapped name (or a name of a bulk
 * rule), or, when not mapped, a variable of this environment whose value is
 * a vault: reference: get prints what the shim would serve a program for it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "reference.h"

static int help(void) {
        printf("Usage: %s get [-m MAPFILE] NAME\n"
               "\n"
               "Prints the value NAME resolves to (Vault, then its fallbacks), for scripts.\n"
               "NAME is mapped in MAPFILE, or holds a vault: reference in the environment\n"
               "(DB_PASSWORD=vault:secret/app/db#password vaultenv get DB_PASSWORD).\n"
               "Exit status 1 when NAME has no value, 78 when a required NAME has none.\n"
               "\n"
               "  -m, --map MAPFILE  mapping file (default: $VAULTENV_MAP, else " VE_DEFAULT_MAP_PATH ")\n"
               "  -h, --help         this help\n",
               cli_program);
        return 0;
}

int cmd_get(int argc, char **argv) {
        const char *map_opt = NULL, *name, *value;
        struct cli_resolver c;
        struct ve_entry *e;
        char *reason = NULL;
        int next, k, status = 0;
        const struct cli_option opts[] = {
                { "map", 'm', CLI_ARG, &map_opt },
                {},
        };

        if ((k = cli_parse_options("get", argc, argv, opts, false, help, &next)) >= 0)
                return k;
        if (argc - next != 1)
                return cli_usage_error("get", "expected one NAME");
        name = argv[next];
        if ((k = cli_resolver_open(map_opt, CLI_REPORT_OWN, &c)) != 0)
                return k;
        e = ve_resolver_find(c.resolver, name);
        if (!e && ve_value_is_reference(getenv(name))) {
                /* As the shim: the secret, never the reference text. */
                value = NULL;
                k = ve_resolve_reference(c.resolver, name, getenv(name), &value, NULL);
                if (k < 0 || !value) {
                        cli_error("%s: the vault: reference in the environment gives no value", name);
                        status = CLI_EX_FAIL;
                } else if (printf("%s\n", value) < 0 || fflush(stdout) != 0)
                        status = CLI_EX_FAIL;
        } else if (!e) {
                cli_error("%s is not mapped in %s", name, c.settings->map_path);
                status = CLI_EX_FAIL;
        } else {
                k = ve_resolve(c.resolver, e, &value, NULL, &reason);
                if (k == -ENOENT) {
                        cli_error("%s: required variable is missing: %s", name, reason);
                        status = VE_EX_CONFIG;
                } else if (k < 0 || !value) {
                        cli_error("%s: no value", name);
                        status = CLI_EX_FAIL;
                } else if (printf("%s\n", value) < 0 || fflush(stdout) != 0)
                        status = CLI_EX_FAIL;
        }
        free(reason);
        /* As the shim: with VAULTENV_REVOKE_ON_EXIT, the lease of a dynamic
         * secret printed here ends with this command; otherwise it stays. */
        cli_resolver_close(&c, false);
        return status;
}
