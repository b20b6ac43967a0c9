/* SPDX-License-Identifier: MIT */
/* vaultenv export [-m MAPFILE] [--format sh|dotenv|json]: every mapped name
 * that resolves, sorted by name, quoted for the shell, a dotenv file or
 * JSON (lib/tools/export.c). With get, the subcommand whose job is to print
 * values: on stdout only. */
#include <errno.h>
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

/* Resolves names[0..n): each value into out_names/out_values (room for n),
 * their count in *ret_n. 0, or an exit status after printing why: a
 * required name without a value (nothing is to be printed then: an eval of
 * half the names would start the program without a secret). */
static int resolve_all(struct cli_resolver *c, const char **names, size_t n, const char **out_names,
                       const char **out_values, size_t *ret_n) {
        size_t n_out = 0;
        int k, status = 0;

        for (size_t i = 0; i < n; i++) {
                struct ve_entry *e = ve_resolver_find(c->resolver, names[i]);
                const char *value = NULL;
                char *reason = NULL;

                if (!e)
                        continue;
                k = ve_resolve(c->resolver, e, &value, NULL, &reason);
                if (k == -ENOENT) {
                        cli_error("%s: required variable is missing: %s", names[i], reason);
                        status = VE_EX_CONFIG;
                } else if (k < 0) {
                        cli_error("%s: %s", names[i], strerror(-k));
                        status = CLI_EX_FAIL;
                } else if (value) {
                        out_names[n_out] = names[i];
                        out_values[n_out++] = value;
                } else {
                        char *why = ve_entry_vault_reason(c->resolver, e);

                        cli_status("%s has no value, left out (vault: %s)", names[i], why ? why : "no value");
                        free(why);
                }
                free(reason);
        }
        *ret_n = n_out;
        return status;
}

/* Prints the n values in format on stdout: 0 or an exit status. */
static int print(enum ve_export_format format, const char **names, const char **values, size_t n) {
        char *text = NULL;
        size_t bad = 0;
        int k, status = 0;

        k = ve_export_render(format, names, values, n, &text, &bad);
        if (k == -EILSEQ) {
                cli_error("%s: the value is not valid UTF-8, which JSON cannot carry (use --format sh or dotenv)",
                          names[bad]);
                return CLI_EX_FAIL;
        }
        if (k < 0) {
                cli_error("%s", strerror(-k));
                return CLI_EX_FAIL;
        }
        if (fputs(text, stdout) < 0 || fflush(stdout) != 0) {
                cli_error("cannot write to standard output: %s", strerror(errno));
                status = CLI_EX_FAIL;
        } else
                cli_status("exported %zu name%s", n, n == 1 ? "" : "s");
        ve_erase_free(text);
        return status;
}

int cmd_export(int argc, char **argv) {
        enum ve_export_format format = VE_EXPORT_SH;
        const char *map_opt = NULL, *format_opt = NULL, **names = NULL, **out_names = NULL, **out_values = NULL;
        char ***bulk = NULL;
        size_t n = 0, n_bulk = 0, n_out = 0;
        struct cli_resolver c;
        int next, k, status = CLI_EX_FAIL;
        const struct cli_option opts[] = {
                { "map", 'm', CLI_ARG, &map_opt },
                { "format", 'f', CLI_ARG, &format_opt },
                {},
        };

        if ((k = cli_parse_options("export", argc, argv, opts, false, help, &next)) >= 0)
                return k;
        if (format_opt && ve_export_format_parse(format_opt, &format) < 0)
                return cli_usage_error("export", "unknown format \"%s\" (sh, dotenv or json)", format_opt);
        if (argc != next)
                return cli_usage_error("export", "unexpected argument \"%s\"", argv[next]);
        /* The status line of a name left out says what lib's warning would
         * (and --quiet silences it). */
        if ((k = cli_resolver_open(map_opt, CLI_REPORT_OWN_ONLY, &c)) != 0)
                return k;

        /* Every path at once (bulk rules' too); what follows finds them
         * cached. Out of memory here only costs the concurrency. */
        (void) ve_resolver_prefetch(c.resolver, NULL, 0);
        if (collect_names(&c, &names, &n, &bulk, &n_bulk) < 0)
                goto nomem;
        out_names = calloc(n ? n : 1, sizeof *out_names);
        out_values = calloc(n ? n : 1, sizeof *out_values);
        if (!out_names || !out_values)
                goto nomem;
        status = resolve_all(&c, names, n, out_names, out_values, &n_out);
        if (status == 0)
                status = print(format, out_names, out_values, n_out);
        goto out;
nomem:
        cli_error("out of memory");
out:
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
