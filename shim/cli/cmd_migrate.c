/* SPDX-License-Identifier: MIT */
/* vaultenv migrate [--mount M] [--prefix P] [--pattern GLOB]... [-o MAPFILE]
 * [--dry-run] [--force] DOTENV: moves the secrets of a .env file into one
 * Vault KV secret, writes the mapping file that serves them back, and
 * rewrites the .env without them. The logic is in lib/ (dotenv.c,
 * migrate.c, kv_write.c); this file only runs the steps in order:
 *   1. parse the .env and build the plan (no I/O beyond reading it);
 *   2. --dry-run: print the plan (no value) and stop: Vault is not contacted;
 *   3. refuse early when the mapping file exists (unless --force);
 *   4. write Vault (check-and-set 0 = "must not exist", or with --force a
 *      merge with check-and-set on the version read), read it back;
 *   5. write the mapping file, then replace the .env (both atomically). */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "dotenv.h"
#include "kv_write.h"
#include "migrate.h"
#include "util.h"

#define DEFAULT_MOUNT "secret"
#define DEFAULT_MAP_NAME "vaultenv.map"

static int help(void) {
        printf("Usage: %s migrate [--mount MOUNT] [--prefix PREFIX] [--pattern GLOB]...\n"
               "                        [-o MAPFILE] [--dry-run] [--force] DOTENV\n"
               "\n"
               "Moves the sensitive entries of the dotenv file DOTENV into one Vault KV secret,\n"
               "MOUNT/PREFIX, one key per name; writes a mapping file that serves them back\n"
               "through the shim; and rewrites DOTENV with each moved entry replaced by a\n"
               "comment. Sensitive: names ending in _KEY, _SECRET, _PASSWORD, _PASSWD, _PASS,\n"
               "_PWD, _TOKEN, _CREDENTIAL(S); values that are URLs with a password\n"
               "(scheme://user:pass@host); names matching a --pattern.\n"
               "\n"
               "  --mount MOUNT     the KV mount (default " DEFAULT_MOUNT ")\n"
               "  --prefix PREFIX   the secret's path in the mount (default: the name of\n"
               "                    DOTENV's directory)\n"
               "  --pattern GLOB    also move names matching GLOB (fnmatch; repeatable)\n"
               "  -o, --output MAPFILE  the mapping file (default: " DEFAULT_MAP_NAME " beside DOTENV)\n"
               "  -n, --dry-run     print the plan (never a value) and change nothing\n"
               "  --force           merge into an existing secret; replace an existing MAPFILE\n"
               "  -q, --quiet       no status lines\n"
               "  -h, --help        this help\n",
               cli_program);
        return 0;
}

/* The default --prefix: the name of the directory DOTENV is in. */
static char *default_prefix(const char *dotenv) {
        char real[PATH_MAX], *copy, *dir, *base, *r = NULL;

        if (!realpath(dotenv, real))
                return NULL;
        copy = strdup(real);
        if (!copy)
                return NULL;
        dir = dirname(copy);
        base = basename(dir);
        if (base && *base && strcmp(base, "/") != 0 && strcmp(base, ".") != 0)
                r = strdup(base);
        free(copy);
        return r;
}

/* MAPFILE beside DOTENV. */
static char *default_map(const char *dotenv) {
        char *copy = strdup(dotenv), *dir, *r;

        if (!copy)
                return NULL;
        dir = dirname(copy);
        r = ve_asprintf("%s/%s", dir, DEFAULT_MAP_NAME);
        free(copy);
        return r;
}

static const char *base_name(const char *p) {
        const char *s = strrchr(p, '/');

        return s ? s + 1 : p;
}

int cmd_migrate(int argc, char **argv) {
        enum { OPT_MOUNT = 0x100, OPT_PREFIX, OPT_PATTERN, OPT_FORCE };
        static const struct option opts[] = {
                { "mount", required_argument, NULL, OPT_MOUNT },
                { "prefix", required_argument, NULL, OPT_PREFIX },
                { "pattern", required_argument, NULL, OPT_PATTERN },
                { "output", required_argument, NULL, 'o' },
                { "dry-run", no_argument, NULL, 'n' },
                { "force", no_argument, NULL, OPT_FORCE },
                { "quiet", no_argument, NULL, 'q' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *mount = DEFAULT_MOUNT, *prefix_opt = NULL, *map_opt = NULL, *dotenv;
        struct ve_migrate_options mo = {};
        struct ve_migrate_plan *plan = NULL;
        struct ve_settings *settings = NULL;
        struct ve_vault *vault = NULL;
        struct ve_dotenv *d = NULL;
        char **patterns = NULL, *prefix = NULL, *map_path = NULL, *err = NULL, *text = NULL, *env_real = NULL;
        size_t n_patterns = 0;
        bool dry_run = false, force = false;
        struct stat st;
        long version = 0;
        int o, r, kv = 0, status = CLI_EX_FAIL;

        patterns = calloc((size_t) argc + 1, sizeof *patterns);
        if (!patterns) {
                cli_error("out of memory");
                return CLI_EX_FAIL;
        }
        optind = 0;
        while ((o = getopt_long(argc, argv, "o:nqh", opts, NULL)) >= 0)
                switch (o) {
                case OPT_MOUNT:
                        mount = optarg;
                        break;
                case OPT_PREFIX:
                        prefix_opt = optarg;
                        break;
                case OPT_PATTERN:
                        patterns[n_patterns++] = optarg;
                        break;
                case 'o':
                        map_opt = optarg;
                        break;
                case 'n':
                        dry_run = true;
                        break;
                case OPT_FORCE:
                        force = true;
                        break;
                case 'q':
                        cli_quiet = true;
                        break;
                case 'h':
                        free(patterns);
                        return help();
                default:
                        free(patterns);
                        return cli_usage_error("migrate", "bad option");
                }
        if (argc - optind != 1) {
                free(patterns);
                return cli_usage_error("migrate", "expected one DOTENV file");
        }
        dotenv = argv[optind];
        if (!*mount || mount[0] == '/' || mount[strlen(mount) - 1] == '/') {
                free(patterns);
                return cli_usage_error("migrate", "--mount \"%s\": a mount name without leading or trailing '/'",
                                       mount);
        }

        r = ve_dotenv_load(dotenv, &d, &err);
        if (r < 0) {
                cli_error("%s", err ? err : strerror(-r));
                goto out;
        }
        if (prefix_opt)
                prefix = strdup(prefix_opt);
        else {
                prefix = default_prefix(dotenv);
                if (!prefix) {
                        status = cli_usage_error("migrate", "cannot name the secret after %s's directory; give --prefix",
                                                 dotenv);
                        goto out;
                }
        }
        map_path = map_opt ? strdup(map_opt) : default_map(dotenv);
        if (!prefix || !map_path) {
                cli_error("out of memory");
                goto out;
        }
        mo = (struct ve_migrate_options) {
                .mount = mount, .prefix = prefix, .patterns = patterns, .n_patterns = n_patterns,
                .source = base_name(dotenv), .map_name = base_name(map_path),
        };
        r = ve_migrate_plan(d, &mo, &plan, &err);
        if (r < 0) {
                if (r == -EINVAL)
                        status = cli_usage_error("migrate", "%s", err ? err : "bad --mount or --prefix");
                else
                        cli_error("%s", err ? err : strerror(-r));
                goto out;
        }

        if (dry_run) {
                text = ve_migrate_plan_text(plan, dotenv, map_path);
                if (!text || fputs(text, stdout) < 0 || fflush(stdout) != 0)
                        goto out;
                cli_status("dry run: nothing was written, Vault was not contacted");
                status = 0;
                goto out;
        }
        if (plan->n_moved == 0) {
                cli_status("%s: no sensitive entry to move; nothing changed", dotenv);
                status = 0;
                goto out;
        }
        if (!force && access(map_path, F_OK) == 0) {
                cli_error("%s exists already; --force replaces it (nothing was written)", map_path);
                goto out;
        }
        if (stat(dotenv, &st) < 0) {
                cli_error("%s: %s", dotenv, strerror(errno));
                goto out;
        }

        if ((r = cli_vault_open(&settings, &vault)) != 0) {
                status = r;
                goto out;
        }
        r = ve_kv_put(vault, plan->path, plan->values, force ? VE_KV_PUT_MERGE : VE_KV_PUT_CREATE, false,
                      &version, &kv, &err);
        if (r < 0) {
                cli_error("%s%s; nothing was written", err ? err : strerror(-r),
                          r == -EEXIST ? " (--force merges the moved names into it)" :
                          r == -ESTALE ? ", run migrate again" : "");
                goto out;
        }
        free(err);
        err = NULL;
        r = ve_kv_verify(vault, plan->path, version, plan->values, &err);
        if (r < 0) {
                cli_error("%s; %s and the mapping file were left unchanged", err ? err : strerror(-r), dotenv);
                goto out;
        }
        if (kv == 2)
                cli_status("moved %zu name(s) to %s (KV v2, version %ld), read back and checked",
                           plan->n_moved, plan->path, version);
        else
                cli_status("moved %zu name(s) to %s (KV v1), read back and checked", plan->n_moved, plan->path);

        r = ve_write_file_atomic(map_path, plan->map_text, strlen(plan->map_text), 0644, force, &err);
        if (r < 0) {
                cli_error("%s; the secrets are in Vault at %s, %s is unchanged: fix this and run again "
                          "with --force", err ? err : strerror(-r), plan->path, dotenv);
                goto out;
        }
        cli_status("wrote %s", map_path);
        /* Through a symbolic link: the file it points to is replaced, the link stays. */
        env_real = realpath(dotenv, NULL);
        r = ve_write_file_atomic(env_real ? env_real : dotenv, plan->env_text, strlen(plan->env_text),
                                 st.st_mode & 07777, true, &err);
        if (r < 0) {
                cli_error("%s; the secrets are in Vault at %s and %s is written, but %s still holds them: "
                          "fix this and run again with --force", err ? err : strerror(-r), plan->path, map_path, dotenv);
                goto out;
        }
        cli_status("rewrote %s without the moved values; run the program with: %s exec -m %s -- COMMAND",
                   dotenv, cli_program, map_path);
        status = 0;
out:
        free(env_real);
        free(text);
        ve_migrate_plan_free(plan);
        ve_dotenv_free(d);
        ve_vault_free(vault);
        ve_settings_free(settings);
        free(prefix);
        free(map_path);
        free(patterns);
        free(err);
        return status;
}
