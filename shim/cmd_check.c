/* SPDX-License-Identifier: MIT */
/* vaultenv check [-m MAPFILE]: one line per name, never a value. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int help(void) {
        printf("Usage: %s check [-m MAPFILE]\n"
               "\n"
               "Validates the mapping file and resolves every name against Vault, printing one\n"
               "line per name with where its value comes from, or why not. Never a value.\n"
               "Exit status 1 when a required name has no value, 78 for a bad mapping file.\n"
               "\n"
               "  -m, --map MAPFILE  mapping file (default: $VAULTENV_MAP, else " VE_DEFAULT_MAP_PATH ")\n"
               "  -h, --help         this help\n",
               cli_program);
        return 0;
}

int cmd_check(int argc, char **argv) {
        static const struct option opts[] = {
                { "map", required_argument, NULL, 'm' },
                { "quiet", no_argument, NULL, 'q' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *map_opt = NULL;
        struct cli_resolver c;
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
                        return cli_usage_error("check", "bad option");
                }
        if (argc != optind)
                return cli_usage_error("check", "unexpected argument \"%s\"", argv[optind]);
        if ((k = cli_resolver_open(map_opt, &c)) != 0)
                return k;
        /* A value is never shown: only where it came from, or why not. */
        cli_log_level(VE_LOG_ERROR);
        for (size_t i = 0; i < ve_resolver_count(c.resolver); i++) {
                struct ve_entry *e = ve_resolver_entry(c.resolver, i);
                const struct ve_map_entry *m = ve_entry_map(e);
                const char *value;
                enum ve_from from = VE_FROM_NONE;
                char *reason = NULL, *why;

                k = ve_resolve(c.resolver, e, &value, &from, &reason);
                why = ve_entry_vault_reason(c.resolver, e);
                if (k == -ENOENT) {
                        printf("%-24s MISSING   %s\n", m->name, reason);
                        status = CLI_EX_FAIL;
                } else if (from == VE_FROM_VAULT) {
                        char at[32] = "";

                        if (m->ref.version)
                                snprintf(at, sizeof at, "@%lu", m->ref.version);
                        printf("%-24s ok        vault %s#%s%s\n", m->name, m->ref.path, m->ref.key, at);
                } else if (from == VE_FROM_NONE)
                        printf("%-24s unset     %s\n", m->name, why ? why : "no value");
                else
                        printf("%-24s fallback  %s (vault: %s)\n", m->name, ve_from_name(from), why ? why : "no value");
                free(why);
                free(reason);
        }
        /* Nothing uses what check read: give back the leases of dynamic
         * secrets at once. */
        cli_resolver_close(&c, true);
        return status;
}
