/* SPDX-License-Identifier: MIT */
/* vaultenv rotate [--length N | --value-file FILE] PATH KEY: a new value
 * for one key of a KV v2 secret, written as a new version with
 * check-and-set against the version read. Prints the new version number,
 * never the value. The logic is in lib/ (rotate.c, kv_write.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "kv_write.h"
#include "rotate.h"
#include "util.h"

static int help(void) {
        printf("Usage: %s rotate [--length N | --value-file FILE] PATH KEY\n"
               "\n"
               "Writes a new value for KEY of the KV v2 secret at PATH (as `vault kv get`\n"
               "takes it: secret/app/db) as a new version, keeping every other key, with\n"
               "check-and-set against the version it read: if anyone writes PATH in\n"
               "between, nothing is written and the exit status is 1. Prints the new\n"
               "version number on stdout; never the value.\n"
               "\n"
               "  -l, --length N         a random value of N characters from A-Z a-z 0-9\n"
               "                         (default %d, %d..%d)\n"
               "  -f, --value-file FILE  the value from FILE ('-': standard input), one\n"
               "                         trailing newline removed\n"
               "  -q, --quiet            no status lines\n"
               "  -h, --help             this help\n"
               "\n"
               "PATH must hold a secret and KEY must exist in it (a typo fails instead of\n"
               "creating a stray key). KV v1 mounts are refused: they have no versions.\n",
               cli_program, VE_ROTATE_LENGTH_DEFAULT, VE_ROTATE_LENGTH_MIN, VE_ROTATE_LENGTH_MAX);
        return 0;
}

/* PATH and KEY as a mapping-file reference would take them. */
static int check_target(const char *path, const char *key) {
        struct ve_ref ref = {};
        char *s, *err = NULL;
        int r;

        s = ve_asprintf("%s#%s", path, key);
        if (!s)
                return CLI_EX_FAIL;
        r = ve_ref_parse(s, &ref, &err);
        if (r == 0 && (ref.kv != VE_KV_AUTO || ref.version != 0 || strcmp(ref.path, path) != 0 ||
                       strcmp(ref.key, key) != 0)) {
                r = -EINVAL;
                free(err);
                err = strdup("give the path as `vault kv get` takes it, without kv1:/kv2: or @VERSION");
        }
        free(s);
        ve_ref_done(&ref);
        if (r < 0) {
                r = cli_usage_error("rotate", "%s#%s: %s", path, key, err ? err : "not a valid PATH KEY");
                free(err);
                return r;
        }
        return 0;
}

int cmd_rotate(int argc, char **argv) {
        const char *length_opt = NULL, *file_opt = NULL, *path, *key;
        struct ve_settings *settings = NULL;
        struct ve_vault *vault = NULL;
        struct ve_secret *values = NULL;
        char *value = NULL, *err = NULL;
        size_t length = VE_ROTATE_LENGTH_DEFAULT;
        long version = 0;
        int next, r, status = CLI_EX_FAIL;
        const struct cli_option opts[] = {
                { "length", 'l', CLI_ARG, &length_opt },
                { "value-file", 'f', CLI_ARG, &file_opt },
                {},
        };

        if ((r = cli_parse_options("rotate", argc, argv, opts, false, help, &next)) >= 0)
                return r;
        if (argc - next != 2)
                return cli_usage_error("rotate", "expected PATH and KEY");
        if (length_opt && file_opt)
                return cli_usage_error("rotate", "--length and --value-file exclude each other");
        path = argv[next];
        key = argv[next + 1];
        if ((r = check_target(path, key)) != 0)
                return r;
        if (length_opt && ve_rotate_parse_length(length_opt, &length, &err) < 0) {
                r = cli_usage_error("rotate", "%s", err ? err : "bad --length");
                free(err);
                return r;
        }

        if (file_opt)
                r = ve_rotate_read_value(file_opt, &value, &err);
        else
                r = ve_random_string(VE_ROTATE_ALPHABET, length, &value);
        if (r < 0) {
                cli_error("%s", err ? err : strerror(-r));
                goto out;
        }
        values = ve_secret_new();
        if (!values || ve_secret_add(values, key, value) < 0) {
                cli_error("out of memory");
                goto out;
        }
        if ((r = cli_vault_open(&settings, &vault)) != 0) {
                status = r;
                goto out;
        }
        r = ve_kv_put(vault, path, values, VE_KV_PUT_REPLACE, true, &version, NULL, &err);
        if (r < 0) {
                cli_error("rotate %s#%s: %s%s", path, key, err ? err : strerror(-r),
                          r == -ESTALE ? "; run rotate again" : "");
                goto out;
        }
        cli_status("%s#%s: new value written as version %ld (%s)", path, key, version,
                   file_opt ? "from --value-file" : "random");
        if (printf("%ld\n", version) < 0 || fflush(stdout) != 0)
                goto out;
        status = 0;
out:
        ve_erase_free(value);
        ve_secret_free(values);
        free(err);
        ve_vault_free(vault);
        ve_settings_free(settings);
        return status;
}
