/* SPDX-License-Identifier: MIT */
/* vaultenv export [-m MAPFILE] [--format sh|dotenv|json]: every mapped name
 * that resolves, sorted by name, quoted for the shell, a dotenv file or
 * JSON (lib/tools/export.c). With get, the subcommand whose job is to print
 * values: on stdout only. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "export.h"
#include "util.h"

static int help(void) {
        printf("Usage: %s export [-m MAPFILE] [--format sh|dotenv|json] [-q]\n"
               "\n"
               "Prints every mapped name that has a value (Vault, then its fallbacks), sorted,\n"
               "bulk rules expanded to every key at their path:\n"
               "  sh      export NAME='value'   for eval \"$(vaultenv export)\"; any bytes round-trip\n"
               "  dotenv  NAME='value', or NAME=\"...\" with \\ escapes when the value has ' or a line end\n"
               "  json    one object {\"NAME\": \"value\"}; a value that is not UTF-8 is an error\n"
               "A name without a value is left out; a required one stops the export (status 78).\n"
               "\n"
               "  -m, --map MAPFILE  mapping file (default: $VAULTENV_MAP, else " VE_DEFAULT_MAP_PATH ")\n"
               "  -f, --format FMT   sh (default), dotenv or json\n"
               "  -q, --quiet        no status lines\n"
               "  -h, --help         this help\n",
               cli_program);
        return 0;
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* Every name to export: the explicit entries and the names of each bulk
 * rule (whose path is read once here), sorted and unique. A bulk path that
 * cannot be read is a warning: its names are unknown, and bulk names are
 * never required. */
static int collect_names(struct cli_resolver *c, const char ***ret_names, size_t *ret_n, char ****ret_bulk,
                         size_t *ret_n_bulk) {
        const struct ve_map *map = ve_resolver_map(c->resolver);
        char ***bulk = calloc(map->n_bulk ? map->n_bulk : 1, sizeof *bulk);
        const char **names = NULL;
        size_t n = map->n_entries, w = 0;
        int k;

        if (!bulk)
                return -ENOMEM;
        for (size_t i = 0; i < map->n_bulk; i++) {
                char *reason = NULL;

                k = ve_resolver_bulk_names(c->resolver, i, &bulk[i], &reason);
                if (k == -ENOMEM) {
                        free(reason);
                        goto fail;
                }
                if (k < 0)
                        cli_warn("%s* (line %u): cannot list the keys of %s: %s", map->bulk[i].prefix,
                                 map->bulk[i].line, map->bulk[i].ref.path, reason ? reason : strerror(-k));
                free(reason);
                for (char **b = bulk[i]; b && *b; b++)
                        n++;
        }
        names = calloc(n ? n : 1, sizeof *names);
        if (!names)
                goto fail;
        for (size_t i = 0; i < map->n_entries; i++)
                names[w++] = map->entries[i].name;
        for (size_t i = 0; i < map->n_bulk; i++)
                for (char **b = bulk[i]; b && *b; b++)
                        names[w++] = *b;
        qsort(names, w, sizeof *names, cmp_str);
        n = 0;
        for (size_t i = 0; i < w; i++)
                if (n == 0 || strcmp(names[n - 1], names[i]) != 0)
                        names[n++] = names[i];
        *ret_names = names;
        *ret_n = n;
        *ret_bulk = bulk;
        *ret_n_bulk = map->n_bulk;
        return 0;
fail:
        for (size_t i = 0; i < map->n_bulk; i++)
                ve_names_free(bulk[i]);
        free(bulk);
        free(names);
        return -ENOMEM;
}

int cmd_export(int argc, char **argv) {
        static const struct option opts[] = {
                { "map", required_argument, NULL, 'm' },
                { "format", required_argument, NULL, 'f' },
                { "quiet", no_argument, NULL, 'q' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        enum ve_export_format format = VE_EXPORT_SH;
        const char *map_opt = NULL, **names = NULL, **out_names = NULL, **out_values = NULL;
        char ***bulk = NULL, *text = NULL;
        size_t n = 0, n_bulk = 0, n_out = 0, bad = 0;
        struct cli_resolver c;
        int o, k, status = 0;

        optind = 0;
        while ((o = getopt_long(argc, argv, "m:f:qh", opts, NULL)) >= 0)
                switch (o) {
                case 'm':
                        map_opt = optarg;
                        break;
                case 'f':
                        if (ve_export_format_parse(optarg, &format) < 0)
                                return cli_usage_error("export", "unknown format \"%s\" (sh, dotenv or json)",
                                                       optarg);
                        break;
                case 'q':
                        cli_quiet = true;
                        break;
                case 'h':
                        return help();
                default:
                        return cli_usage_error("export", "bad option");
                }
        if (argc != optind)
                return cli_usage_error("export", "unexpected argument \"%s\"", argv[optind]);
        if ((k = cli_resolver_open(map_opt, &c)) != 0)
                return k;
        /* The status line of a name left out says what lib's warning
         * would (and --quiet silences it); VAULTENV_LOG=info or debug
         * still shows lib's messages. */
        if (c.settings->log_level <= VE_LOG_WARN)
                cli_log_level(VE_LOG_ERROR);
        /* Each name's own line says why it has no value. */
        ve_resolver_set_report_missing(c.resolver, false);

        if (collect_names(&c, &names, &n, &bulk, &n_bulk) < 0) {
                cli_error("out of memory");
                status = CLI_EX_FAIL;
                goto out;
        }
        out_names = calloc(n ? n : 1, sizeof *out_names);
        out_values = calloc(n ? n : 1, sizeof *out_values);
        if (!out_names || !out_values) {
                cli_error("out of memory");
                status = CLI_EX_FAIL;
                goto out;
        }
        for (size_t i = 0; i < n; i++) {
                struct ve_entry *e = ve_resolver_find(c.resolver, names[i]);
                const char *value = NULL;
                char *reason = NULL;

                if (!e)
                        continue;
                k = ve_resolve(c.resolver, e, &value, NULL, &reason);
                if (k == -ENOENT) {
                        /* Nothing is printed: an eval of half the names
                         * would start the program without a secret. */
                        cli_error("%s: required variable is missing: %s", names[i], reason);
                        status = VE_EX_CONFIG;
                } else if (k < 0) {
                        cli_error("%s: %s", names[i], strerror(-k));
                        status = CLI_EX_FAIL;
                } else if (value) {
                        out_names[n_out] = names[i];
                        out_values[n_out++] = value;
                } else {
                        char *why = ve_entry_vault_reason(c.resolver, e);

                        cli_status("%s has no value, left out (vault: %s)", names[i], why ? why : "no value");
                        free(why);
                }
                free(reason);
        }
        if (status != 0)
                goto out;

        k = ve_export_render(format, out_names, out_values, n_out, &text, &bad);
        if (k == -EILSEQ) {
                cli_error("%s: the value is not valid UTF-8, which JSON cannot carry (use --format sh or dotenv)",
                          out_names[bad]);
                status = CLI_EX_FAIL;
                goto out;
        }
        if (k < 0) {
                cli_error("%s", strerror(-k));
                status = CLI_EX_FAIL;
                goto out;
        }
        if (fputs(text, stdout) < 0 || fflush(stdout) != 0) {
                cli_error("cannot write to standard output: %s", strerror(errno));
                status = CLI_EX_FAIL;
        } else
                cli_status("exported %zu name%s", n_out, n_out == 1 ? "" : "s");
out:
        ve_erase_free(text);
        free(out_names);
        free(out_values);
        free(names);
        for (size_t i = 0; bulk && i < n_bulk; i++)
                ve_names_free(bulk[i]);
        free(bulk);
        /* As get: with VAULTENV_REVOKE_ON_EXIT the leases of what was
         * printed end with this command; otherwise they stay. */
        cli_resolver_close(&c, false);
        return status;
}
