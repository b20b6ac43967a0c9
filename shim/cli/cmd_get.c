/* SPDX-License-Identifier: MIT */
/* vaultenv get [-m MAPFILE] NAME: the one subcommand (with export) whose
 * job is to print a value. NAME is a mapped name (or a name of a bulk
 * rule), or, when not mapped, a variable of this environment whose value is
 * a vault: reference: get prints what the shim would serve a program for it. */
#include <errno.h>
#include <getopt.h>
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
        static const struct option opts[] = {
                { "map", required_argument, NULL, 'm' },
                { "quiet", no_argument, NULL, 'q' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *map_opt = NULL, *value;
        struct cli_resolver c;
        struct ve_entry *e;
        char *reason = NULL;
        int o, k, status = 0;

        optind = 0;
        while ((o = getopt_long(argc, argv, "m:qh", opts, NULL)) >= 0)
                switch (o) {
                case 'm':
                        map_opt = optarg;
                        break;
                case 'q':
                        cli_quiet = true;
                        break;
                case 'h':
                        return help();
                default:
                        return cli_usage_error("get", "bad option");
                }
        if (argc - optind != 1)
                return cli_usage_error("get", "expected one NAME");
        if ((k = cli_resolver_open(map_opt, &c)) != 0)
                return k;
        /* Each name's own line says why it has no value. */
        ve_resolver_set_report_missing(c.resolver, false);
        e = ve_resolver_find(c.resolver, argv[optind]);
        if (!e && ve_value_is_reference(getenv(argv[optind]))) {
                /* As the shim: the secret, never the reference text. */
                value = NULL;
                k = ve_resolve_reference(c.resolver, argv[optind], getenv(argv[optind]), &value, NULL);
                if (k < 0 || !value) {
                        cli_error("%s: the vault: reference in the environment gives no value", argv[optind]);
                        status = CLI_EX_FAIL;
                } else if (printf("%s\n", value) < 0 || fflush(stdout) != 0)
                        status = CLI_EX_FAIL;
        } else if (!e) {
                cli_error("%s is not mapped in %s", argv[optind], c.settings->map_path);
                status = CLI_EX_FAIL;
        } else {
                k = ve_resolve(c.resolver, e, &value, NULL, &reason);
                if (k == -ENOENT) {
                        cli_error("%s: required variable is missing: %s", argv[optind], reason);
                        status = VE_EX_CONFIG;
                } else if (k < 0 || !value) {
                        cli_error("%s: no value", argv[optind]);
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
