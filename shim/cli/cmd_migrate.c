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

/* What migrate works on, from its options to the plan. */
struct migrate {
        const char *mount, *prefix_opt, *map_opt, *dotenv;
        struct cli_list patterns;
        bool dry_run, force;
        struct ve_dotenv *d;
        char *prefix, *map_path;
        struct ve_migrate_plan *plan;
};

static void migrate_done(struct migrate *m) {
        ve_migrate_plan_free(m->plan);
        ve_dotenv_free(m->d);
        free(m->prefix);
        free(m->map_path);
        free(m->patterns.v);
}

/* Step 1: reads DOTENV and builds the plan. 0 or an exit status. */
static int make_plan(struct migrate *m) {
        struct ve_migrate_options mo;
        char *err = NULL;
        int r, status = CLI_EX_FAIL;

        r = ve_dotenv_load(m->dotenv, &m->d, &err);
        if (r < 0) {
                cli_error("%s", err ? err : strerror(-r));
                goto out;
        }
        if (m->prefix_opt)
                m->prefix = strdup(m->prefix_opt);
        else {
                m->prefix = default_prefix(m->dotenv);
                if (!m->prefix) {
                        status = cli_usage_error("migrate", "cannot name the secret after %s's directory; give --prefix",
                                                 m->dotenv);
                        goto out;
                }
        }
        m->map_path = m->map_opt ? strdup(m->map_opt) : default_map(m->dotenv);
        if (!m->prefix || !m->map_path) {
                cli_error("out of memory");
                goto out;
        }
        mo = (struct ve_migrate_options) {
                .mount = m->mount, .prefix = m->prefix, .patterns = m->patterns.v,
                .n_patterns = m->patterns.n, .source = base_name(m->dotenv), .map_name = base_name(m->map_path),
        };
        r = ve_migrate_plan(m->d, &mo, &m->plan, &err);
        if (r < 0) {
                if (r == -EINVAL)
                        status = cli_usage_error("migrate", "%s", err ? err : "bad --mount or --prefix");
                else
                        cli_error("%s", err ? err : strerror(-r));
                goto out;
        }
        status = 0;
out:
        free(err);
        return status;
}

/* Step 4: writes the moved values to Vault and reads them back. 0 or an
 * exit status. */
static int write_vault(struct migrate *m) {
        const struct ve_migrate_plan *plan = m->plan;
        struct ve_settings *settings = NULL;
        struct ve_vault *vault = NULL;
        char *err = NULL;
        long version = 0;
        int r, kv = 0, status = CLI_EX_FAIL;

        if ((r = cli_vault_open(&settings, &vault)) != 0)
                return r;
        r = ve_kv_put(vault, plan->path, plan->values, m->force ? VE_KV_PUT_MERGE : VE_KV_PUT_CREATE, false,
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
                cli_error("%s; %s and the mapping file were left unchanged", err ? err : strerror(-r), m->dotenv);
                goto out;
        }
        if (kv == 2)
                cli_status("moved %zu name(s) to %s (KV v2, version %ld), read back and checked",
                           plan->n_moved, plan->path, version);
        else
                cli_status("moved %zu name(s) to %s (KV v1), read back and checked", plan->n_moved, plan->path);
        status = 0;
out:
        free(err);
        ve_vault_free(vault);
        ve_settings_free(settings);
        return status;
}

/* Step 5: the mapping file, then DOTENV without the moved values (with
 * DOTENV's mode). 0 or an exit status. */
static int write_files(struct migrate *m, mode_t env_mode) {
        const struct ve_migrate_plan *plan = m->plan;
        char *err = NULL, *env_real = NULL;
        int r, status = CLI_EX_FAIL;

        r = ve_write_file_atomic(m->map_path, plan->map_text, strlen(plan->map_text), 0644, m->force, &err);
        if (r < 0) {
                cli_error("%s; the secrets are in Vault at %s, %s is unchanged: fix this and run again "
                          "with --force", err ? err : strerror(-r), plan->path, m->dotenv);
                goto out;
        }
        cli_status("wrote %s", m->map_path);
        /* Through a symbolic link: the file it points to is replaced, the link stays. */
        env_real = realpath(m->dotenv, NULL);
        r = ve_write_file_atomic(env_real ? env_real : m->dotenv, plan->env_text, strlen(plan->env_text),
                                 env_mode, true, &err);
        if (r < 0) {
                cli_error("%s; the secrets are in Vault at %s and %s is written, but %s still holds them: "
                          "fix this and run again with --force", err ? err : strerror(-r), plan->path, m->map_path,
                          m->dotenv);
                goto out;
        }
        cli_status("rewrote %s without the moved values; run the program with: %s exec -m %s -- COMMAND",
                   m->dotenv, cli_program, m->map_path);
        status = 0;
out:
        free(env_real);
        free(err);
        return status;
}

/* Steps 2 and 3, then 4 and 5. 0 or an exit status. */
static int run(struct migrate *m) {
        struct stat st;
        char *text;
        int r;

        if (m->dry_run) {
                text = ve_migrate_plan_text(m->plan, m->dotenv, m->map_path);
                r = !text || fputs(text, stdout) < 0 || fflush(stdout) != 0;
                free(text);
                if (r)
                        return CLI_EX_FAIL;
                cli_status("dry run: nothing was written, Vault was not contacted");
                return 0;
        }
        if (m->plan->n_moved == 0) {
                cli_status("%s: no sensitive entry to move; nothing changed", m->dotenv);
                return 0;
        }
        if (!m->force && access(m->map_path, F_OK) == 0) {
                cli_error("%s exists already; --force replaces it (nothing was written)", m->map_path);
                return CLI_EX_FAIL;
        }
        if (stat(m->dotenv, &st) < 0) {
                cli_error("%s: %s", m->dotenv, strerror(errno));
                return CLI_EX_FAIL;
        }
        if ((r = write_vault(m)) != 0)
                return r;
        return write_files(m, st.st_mode & 07777);
}

int cmd_migrate(int argc, char **argv) {
        enum { OPT_MOUNT = CLI_LONG_ONLY, OPT_PREFIX, OPT_PATTERN, OPT_FORCE };
        struct migrate m = { .mount = DEFAULT_MOUNT };
        int next, status;
        const struct cli_option opts[] = {
                { "mount", OPT_MOUNT, CLI_ARG, &m.mount },
                { "prefix", OPT_PREFIX, CLI_ARG, &m.prefix_opt },
                { "pattern", OPT_PATTERN, CLI_LIST, &m.patterns },
                { "output", 'o', CLI_ARG, &m.map_opt },
                { "dry-run", 'n', CLI_FLAG, &m.dry_run },
                { "force", OPT_FORCE, CLI_FLAG, &m.force },
                {},
        };

        m.patterns.v = calloc((size_t) argc + 1, sizeof *m.patterns.v);
        if (!m.patterns.v) {
                cli_error("out of memory");
                return CLI_EX_FAIL;
        }
        if ((status = cli_parse_options("migrate", argc, argv, opts, false, help, &next)) >= 0)
                goto out;
        if (argc - next != 1) {
                status = cli_usage_error("migrate", "expected one DOTENV file");
                goto out;
        }
        m.dotenv = argv[next];
        if (!*m.mount || m.mount[0] == '/' || m.mount[strlen(m.mount) - 1] == '/') {
                status = cli_usage_error("migrate", "--mount \"%s\": a mount name without leading or trailing '/'",
                                         m.mount);
                goto out;
        }
        status = make_plan(&m);
        if (status == 0)
                status = run(&m);
out:
        migrate_done(&m);
        return status;
}
