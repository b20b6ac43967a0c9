/* SPDX-License-Identifier: MIT */
/* vaultenv: the command-line launcher.
 *   vaultenv exec [-m MAPFILE] [--] COMMAND [ARGS...]
 *   vaultenv get [-m MAPFILE] NAME
 *   vaultenv check [-m MAPFILE]
 *   vaultenv version
 * This binary is not preloaded: it links lib/ directly and resolves in
 * process for get and check. It never prints a token, and prints a value
 * only for `get`, whose job that is. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "mapfile.h"
#include "resolve.h"
#include "settings.h"
#include "util.h"
#include "vault.h"

#ifndef VE_PKGLIBDIR
#define VE_PKGLIBDIR "/usr/local/lib/vaultenv"
#endif
#ifndef VE_PKGLIBDIR_REL
#define VE_PKGLIBDIR_REL "../lib/vaultenv"
#endif

static const char *program = "vaultenv";

static void log_stderr(void *userdata, enum ve_log_level level, const char *msg) {
        static const char *const prefix[] = { "error: ", "warning: ", "", "debug: " };

        fprintf(stderr, "%s: %s%s\n", program, prefix[level <= VE_LOG_DEBUG ? level : VE_LOG_DEBUG], msg);
}

static int usage(FILE *f, int status) {
        fprintf(f,
                "Usage: %s exec [-m MAPFILE] [--] COMMAND [ARGS...]\n"
                "       %s get [-m MAPFILE] NAME\n"
                "       %s check [-m MAPFILE]\n"
                "       %s version\n"
                "\n"
                "Serves HashiCorp Vault secrets to unmodified programs through getenv().\n"
                "  exec   run COMMAND with libvaultenv.so preloaded\n"
                "  get    print the resolved value of one mapped NAME\n"
                "  check  validate the mapping file and resolve every name (values are not shown)\n"
                "Options:\n"
                "  -m, --map MAPFILE   mapping file (default: $VAULTENV_MAP, else " VE_DEFAULT_MAP_PATH ")\n"
                "  -h, --help          this help\n"
                "See vaultenv(1) and vaultenv.map(5).\n",
                program, program, program, program);
        return status;
}

static int exists(const char *p) {
        return access(p, R_OK) == 0;
}

/* The preloaded object: beside this binary (build tree), in the private
 * libdir relative to this binary (a moved prefix), or where installed. */
static int find_shim(char *buf, size_t size) {
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        char *slash;

        if (n > 0) {
                exe[n] = '\0';
                slash = strrchr(exe, '/');
                if (slash) {
                        *slash = '\0';
                        if ((size_t) snprintf(buf, size, "%s/libvaultenv.so", exe) < size && exists(buf))
                                return 0;
                        if ((size_t) snprintf(buf, size, "%s/%s/libvaultenv.so", exe, VE_PKGLIBDIR_REL) < size &&
                            exists(buf)) {
                                char real[PATH_MAX];

                                if (realpath(buf, real) && strlen(real) < size)
                                        strcpy(buf, real);
                                return 0;
                        }
                }
        }
        if ((size_t) snprintf(buf, size, "%s/libvaultenv.so", VE_PKGLIBDIR) < size && exists(buf))
                return 0;
        return -ENOENT;
}

static int load(const char *map_opt, struct ve_settings **ret_settings, struct ve_map **ret_map) {
        struct ve_settings *s;
        char *err = NULL;
        int r;

        if (map_opt && setenv("VAULTENV_MAP", map_opt, 1) < 0)
                return -errno;
        ve_log_set(log_stderr, NULL, VE_LOG_ERROR);
        r = ve_settings_load((ve_getenv_fn) getenv, &s);
        if (r < 0)
                return r;
        ve_log_set(log_stderr, NULL, s->log_level > VE_LOG_WARN ? s->log_level : VE_LOG_WARN);
        r = ve_map_load(s->map_path, ret_map, &err);
        if (r < 0) {
                fprintf(stderr, "%s: %s\n", program, err ? err : strerror(-r));
                free(err);
                ve_settings_free(s);
                return r;
        }
        *ret_settings = s;
        return 0;
}

static int vault_read(void *userdata, const struct ve_ref *ref, struct ve_secret **ret, char **ret_error) {
        return ve_vault_read(userdata, ref, ret, ret_error);
}

static int vault_renew(void *userdata, const struct ve_ref *ref, const char *lease_id, uint64_t increment_s,
                       struct ve_lease *ret_lease, char **ret_error) {
        return ve_vault_renew(userdata, ref, lease_id, increment_s, ret_lease, ret_error);
}

static int open_resolver(const char *map_opt, struct ve_settings **ret_s, struct ve_vault **ret_v,
                         struct ve_source *src, struct ve_resolver **ret_r) {
        struct ve_settings *s;
        struct ve_map *map;
        struct ve_vault *v;
        char *err = NULL;

        if (load(map_opt, &s, &map) < 0)
                return VE_EX_CONFIG;
        if (ve_vault_new(s, &v, &err) < 0) {
                fprintf(stderr, "%s: Vault client: %s\n", program, err ? err : "cannot be created");
                free(err);
                ve_map_free(map);
                ve_settings_free(s);
                return VE_EX_CONFIG;
        }
        src->read = vault_read;
        src->renew = vault_renew;
        src->userdata = v;
        if (ve_resolver_new(map, s, src, (ve_getenv_fn) getenv, ret_r) < 0) {
                ve_vault_free(v);
                ve_settings_free(s);
                return 1;
        }
        *ret_s = s;
        *ret_v = v;
        return 0;
}

static int cmd_exec(const char *map_opt, int argc, char **argv) {
        struct ve_settings *s;
        struct ve_map *map;
        char shim[PATH_MAX], *preload;
        const char *old;

        if (argc < 1) {
                fprintf(stderr, "%s: exec: missing COMMAND\n", program);
                return usage(stderr, 2);
        }
        /* Refuse a bad mapping here, before the program starts, rather
         * than let the shim fall back to pass-through inside it. */
        if (load(map_opt, &s, &map) < 0)
                return VE_EX_CONFIG;
        if (s->map_path[0] != '/') {
                char real[PATH_MAX];

                if (realpath(s->map_path, real))
                        setenv("VAULTENV_MAP", real, 1);
        }
        ve_map_free(map);
        ve_settings_free(s);

        if (find_shim(shim, sizeof shim) < 0) {
                fprintf(stderr, "%s: cannot find libvaultenv.so (looked beside %s and in %s)\n",
                        program, "this program", VE_PKGLIBDIR);
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
                fprintf(stderr, "%s: out of memory\n", program);
                return 1;
        }
        free(preload);
        execvp(argv[0], argv);
        fprintf(stderr, "%s: %s: %s\n", program, argv[0], strerror(errno));
        return errno == ENOENT ? 127 : 126;
}

static int cmd_get(const char *map_opt, int argc, char **argv) {
        struct ve_settings *s;
        struct ve_vault *v;
        struct ve_source src;
        struct ve_resolver *r;
        struct ve_entry *e;
        const char *value;
        char *reason = NULL;
        int k, status = 0;

        if (argc != 1) {
                fprintf(stderr, "%s: get: expected one NAME\n", program);
                return usage(stderr, 2);
        }
        if ((k = open_resolver(map_opt, &s, &v, &src, &r)) != 0)
                return k;
        e = ve_resolver_find(r, argv[0]);
        if (!e) {
                fprintf(stderr, "%s: %s is not mapped in %s\n", program, argv[0], s->map_path);
                status = 1;
        } else {
                k = ve_resolve(r, e, &value, NULL, &reason);
                if (k == -ENOENT) {
                        fprintf(stderr, "%s: %s: required variable is missing: %s\n", program, argv[0], reason);
                        status = VE_EX_CONFIG;
                } else if (k < 0 || !value) {
                        fprintf(stderr, "%s: %s: no value\n", program, argv[0]);
                        status = 1;
                } else if (printf("%s\n", value) < 0 || fflush(stdout) != 0)
                        status = 1;
        }
        /* As the shim: with VAULTENV_REVOKE_ON_EXIT, the lease of a dynamic
         * secret printed here ends with this command. */
        if (s->revoke_on_exit)
                (void) ve_vault_at_exit(v);
        free(reason);
        ve_resolver_free(r);
        ve_vault_free(v);
        ve_settings_free(s);
        return status;
}

static int cmd_check(const char *map_opt) {
        struct ve_settings *s;
        struct ve_vault *v;
        struct ve_source src;
        struct ve_resolver *r;
        int k, status = 0;

        if ((k = open_resolver(map_opt, &s, &v, &src, &r)) != 0)
                return k;
        /* A value is never shown: only where it came from, or why not. */
        ve_log_set(log_stderr, NULL, VE_LOG_ERROR);
        for (size_t i = 0; i < ve_resolver_count(r); i++) {
                struct ve_entry *e = ve_resolver_entry(r, i);
                const struct ve_map_entry *m = ve_entry_map(e);
                const char *value;
                enum ve_from from = VE_FROM_NONE;
                char *reason = NULL, *why;

                k = ve_resolve(r, e, &value, &from, &reason);
                why = ve_entry_vault_reason(r, e);
                if (k == -ENOENT) {
                        printf("%-24s MISSING   %s\n", m->name, reason);
                        status = 1;
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
         * secrets at once (and, with VAULTENV_REVOKE_ON_EXIT, the login
         * token). */
        if (s->revoke_on_exit)
                (void) ve_vault_at_exit(v);
        else
                (void) ve_vault_revoke_leases(v);
        ve_resolver_free(r);
        ve_vault_free(v);
        ve_settings_free(s);
        return status;
}

int main(int argc, char **argv) {
        static const struct option opts[] = {
                { "map", required_argument, NULL, 'm' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *cmd, *map_opt = NULL;
        int c;

        if (argc < 2)
                return usage(stderr, 2);
        cmd = argv[1];
        if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0)
                return usage(stdout, 0);
        if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
                printf("vaultenv %s\n", VE_VERSION);
                return 0;
        }
        argv++, argc--;
        /* "+": stop at the first non-option, so COMMAND keeps its own flags. */
        while ((c = getopt_long(argc, argv, "+m:h", opts, NULL)) >= 0)
                switch (c) {
                case 'm':
                        map_opt = optarg;
                        break;
                case 'h':
                        return usage(stdout, 0);
                default:
                        return usage(stderr, 2);
                }
        argc -= optind;
        argv += optind;

        if (strcmp(cmd, "exec") == 0)
                return cmd_exec(map_opt, argc, argv);
        if (strcmp(cmd, "get") == 0)
                return cmd_get(map_opt, argc, argv);
        if (strcmp(cmd, "check") == 0 && argc == 0)
                return cmd_check(map_opt);
        fprintf(stderr, "%s: unknown command \"%s\"\n", program, cmd);
        return usage(stderr, 2);
}
