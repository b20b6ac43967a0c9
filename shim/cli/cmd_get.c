/* SPDX-License-Identifier: MIT */
/* vaultenv get [-m MAPFILE] NAME...: the one subcommand (with export) whose
 * job is to print values. NAME is a mapped name (or a name of a bulk
 * rule), or, when not mapped, a variable of this environment whose value is
 * a vault: reference: get prints what the shim would serve a program for it.
 * Several names are read at once and printed one a line, all or none. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "reference.h"

static int help(void) {
        printf("Usage: %s get [-m MAPFILE] NAME...\n"
               "\n"
               "Prints the value NAME resolves to (Vault, then its fallbacks), for scripts.\n"
               "NAME is mapped in MAPFILE, or holds a vault: reference in the environment\n"
               "(DB_PASSWORD=vault:secret/app/db#password vaultenv get DB_PASSWORD).\n"
               "Several NAMEs: their paths are read at once, and their values printed one a\n"
               "line in the order given, or none when one has no value or holds a newline.\n"
               "Exit status 1 when a NAME has no value, 78 when a required NAME has none.\n"
               "\n"
               "  -m, --map MAPFILE  mapping file (default: $VAULTENV_MAP, else " VE_DEFAULT_MAP_PATH ")\n"
               "  -h, --help         this help\n",
               cli_program);
        return 0;
}

/* NAME's value into *ret_value (the resolver's), or an exit status after
 * saying why there is none. */
static int get_one(struct cli_resolver *c, const char *name, const char **ret_value) {
        const char *value = NULL;
        struct ve_entry *e;
        char *reason = NULL;
        int k, status = 0;

        e = ve_resolver_find(c->resolver, name);
        if (!e && ve_value_is_reference(getenv(name))) {
                /* As the shim: the secret, never the reference text. */
                k = ve_resolve_reference(c->resolver, name, getenv(name), &value, NULL);
                if (k < 0 || !value) {
                        cli_error("%s: the vault: reference in the environment gives no value", name);
                        status = CLI_EX_FAIL;
                }
        } else if (!e) {
                cli_error("%s is not mapped in %s", name, c->settings->map_path);
                status = CLI_EX_FAIL;
        } else {
                k = ve_resolve(c->resolver, e, &value, NULL, &reason);
                if (k == -ENOENT) {
                        cli_error("%s: required variable is missing: %s", name, reason);
                        status = VE_EX_CONFIG;
                } else if (k < 0 || !value) {
                        cli_error("%s: no value", name);
                        status = CLI_EX_FAIL;
                }
        }
        free(reason);
        if (status == 0)
                *ret_value = value;
        return status;
}

int cmd_get(int argc, char **argv) {
        const char *map_opt = NULL, **values = NULL;
        struct cli_resolver c;
        size_t n;
        int next, k, status = 0;
        const struct cli_option opts[] = {
                { "map", 'm', CLI_ARG, &map_opt },
                {},
        };

        if ((k = cli_parse_options("get", argc, argv, opts, false, help, &next)) >= 0)
                return k;
        if (argc - next < 1)
                return cli_usage_error("get", "expected a NAME");
        n = (size_t) (argc - next);
        if ((k = cli_resolver_open(map_opt, CLI_REPORT_OWN, &c)) != 0)
                return k;
        values = calloc(n, sizeof *values);
        if (!values) {
                cli_error("out of memory");
                status = CLI_EX_FAIL;
                goto out;
        }
        /* Several names: their paths at once (out of memory here only
         * costs the concurrency). */
        if (n > 1)
                (void) ve_resolver_prefetch(c.resolver, (const char *const *) argv + next, n);
        for (size_t i = 0; i < n; i++) {
                k = get_one(&c, argv[next + i], &values[i]);
                if (k == 0 && n > 1 && strchr(values[i], '\n')) {
                        cli_error("%s: its value holds a newline, which one value a line cannot show "
                                  "(vaultenv export --format json can)", argv[next + i]);
                        k = CLI_EX_FAIL;
                }
                /* 78 (a required name) wins over 1. */
                if (k != 0 && status != VE_EX_CONFIG)
                        status = k;
        }
        /* All or nothing: a script must not take half the values for all. */
        for (size_t i = 0; status == 0 && i < n; i++)
                if (printf("%s\n", values[i]) < 0)
                        status = CLI_EX_FAIL;
        if (status == 0 && fflush(stdout) != 0)
                status = CLI_EX_FAIL;
out:
        free(values);
        /* As the shim: with VAULTENV_REVOKE_ON_EXIT, the lease of a dynamic
         * secret printed here ends with this command; otherwise it stays. */
        cli_resolver_close(&c, false);
        return status;
}
