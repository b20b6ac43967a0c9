/* SPDX-License-Identifier: MIT */
/* The option parser every subcommand uses: its own options from a table,
 * and -q/--quiet and -h/--help, which all of them take. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define MAX_OPTIONS 16

int cli_parse_options(const char *cmd, int argc, char **argv, const struct cli_option *opts, bool command,
                      int (*help)(void), int *ret_next) {
        struct option lo[MAX_OPTIONS + 3] = {};
        char so[3 * MAX_OPTIONS + 8], *s = so;
        size_t n = 0;
        int c;

        /* "+": stop at the first operand, so COMMAND keeps its own flags. */
        if (command)
                *s++ = '+';
        for (; opts && opts[n].name; n++) {
                if (n == MAX_OPTIONS)
                        abort();        /* a table in this program, not input */
                lo[n] = (struct option) { opts[n].name, opts[n].kind == CLI_FLAG ? no_argument : required_argument,
                                          NULL, opts[n].val };
                if (opts[n].val < CLI_LONG_ONLY) {
                        *s++ = (char) opts[n].val;
                        if (opts[n].kind != CLI_FLAG)
                                *s++ = ':';
                }
        }
        lo[n] = (struct option) { "quiet", no_argument, NULL, 'q' };
        lo[n + 1] = (struct option) { "help", no_argument, NULL, 'h' };
        strcpy(s, "qh");

        optind = 0;
        while ((c = getopt_long(argc, argv, so, lo, NULL)) >= 0) {
                const struct cli_option *o = NULL;

                if (c == 'q') {
                        cli_quiet = true;
                        continue;
                }
                if (c == 'h')
                        return help();
                for (size_t i = 0; i < n && !o; i++)
                        if (opts[i].val == c)
                                o = &opts[i];
                if (!o)
                        return cli_usage_error(cmd, "bad option");
                switch (o->kind) {
                case CLI_FLAG:
                        *(bool *) o->target = true;
                        break;
                case CLI_ARG:
                        *(const char **) o->target = optarg;
                        break;
                case CLI_LIST: {
                        struct cli_list *l = o->target;

                        l->v[l->n++] = optarg;
                        break;
                }
                }
        }
        *ret_next = optind;
        return -1;
}
