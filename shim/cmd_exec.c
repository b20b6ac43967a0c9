/* SPDX-License-Identifier: MIT */
/* vaultenv exec [-m MAPFILE] [--eager] [-q] [--] COMMAND [ARGS...] */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "util.h"

static int help(void) {
        printf("Usage: %s exec [-m MAPFILE] [--eager] [-q] [--] COMMAND [ARGS...]\n"
               "\n"
               "Runs COMMAND with libvaultenv.so preloaded (an existing LD_PRELOAD is kept).\n"
               "The mapping file is checked first; a bad one stops here with status 78.\n"
               "\n"
               "  -m, --map MAPFILE  mapping file (default: $VAULTENV_MAP, else " VE_DEFAULT_MAP_PATH ")\n"
               "  -q, --quiet        no status lines\n"
               "  -h, --help         this help\n",
               cli_program);
        return 0;
}

int cmd_exec(int argc, char **argv) {
        static const struct option opts[] = {
                { "map", required_argument, NULL, 'm' },
                { "quiet", no_argument, NULL, 'q' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *map_opt = NULL, *old;
        struct ve_settings *s;
        struct ve_map *map;
        char shim[PATH_MAX], *preload;
        int c, k;

        optind = 0;
        /* "+": stop at the first non-option, so COMMAND keeps its own flags. */
        while ((c = getopt_long(argc, argv, "+m:qh", opts, NULL)) >= 0)
                switch (c) {
                case 'm':
                        map_opt = optarg;
                        break;
                case 'q':
                        cli_quiet = true;
                        break;
                case 'h':
                        return help();
                default:
                        return cli_usage_error("exec", "bad option");
                }
        argc -= optind;
        argv += optind;
        if (argc < 1)
                return cli_usage_error("exec", "missing COMMAND");

        /* Refuse a bad mapping here, before the program starts, rather
         * than let the shim fall back to pass-through inside it. */
        if ((k = cli_load(map_opt, &s, &map)) != 0)
                return k;
        if (s->map_path[0] != '/') {
                char real[PATH_MAX];

                if (realpath(s->map_path, real))
                        setenv("VAULTENV_MAP", real, 1);
        }
        ve_map_free(map);
        ve_settings_free(s);

        if (cli_find_shim(shim, sizeof shim) < 0) {
                cli_error("cannot find libvaultenv.so (looked beside this program and in %s)", VE_PKGLIBDIR);
                return VE_EX_CONFIG;
        }
        /* Keep an existing LD_PRELOAD list; put the shim first so that its
         * getenv is the one every later object binds to. */
        old = getenv("LD_PRELOAD");
        if (old && *old) {
                if (strstr(old, shim))
                        preload = strdup(old);
                else
                        preload = ve_asprintf("%s:%s", shim, old);
        } else
                preload = strdup(shim);
        if (!preload || setenv("LD_PRELOAD", preload, 1) < 0) {
                cli_error("out of memory");
                return CLI_EX_FAIL;
        }
        free(preload);
        execvp(argv[0], argv);
        k = errno;
        cli_error("%s: %s", argv[0], strerror(k));
        return k == ENOENT ? 127 : 126;
}
