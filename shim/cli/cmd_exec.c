/* SPDX-License-Identifier: MIT */
/* vaultenv exec [-m MAPFILE] [--eager] [--env] [-q] [--] COMMAND [ARGS...]
 *
 * Normally: COMMAND runs with libvaultenv.so preloaded, which serves each
 * mapped name when the program asks for it; the values never enter the
 * process's initial environment. --env is the fallback for programs the
 * shim cannot reach (Go, static binaries): the values are resolved here and
 * put in COMMAND's environment, where /proc/PID/environ shows them to
 * whoever may read it (the process's user, root). Without --env, the names
 * marked inherit are put there too, as a parent under the shim passes them
 * to its children, and a program the mode cannot serve is named. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "eager.h"
#include "exe.h"
#include "reference.h"
#include "supervise.h"
#include "util.h"

extern char **environ;

static int help(void) {
        printf("Usage: %s exec [-m MAPFILE] [--eager | --env] [--on-change=SIGNAL|restart [--watch-interval=D]\n"
               "                [--splay=D] [--grace=D]] [-q] [--] COMMAND [ARGS...]\n"
               "\n"
               "Runs COMMAND with libvaultenv.so preloaded (an existing LD_PRELOAD is kept).\n"
               "The mapping file is checked first; a bad one stops here with status 78.\n"
               "\n"
               "  -m, --map MAPFILE  mapping file (default: $VAULTENV_MAP, else " VE_DEFAULT_MAP_PATH ")\n"
               "      --eager        every mapped name is resolved before main (VAULTENV_EAGER=1)\n"
               "      --env          for programs the shim cannot reach (Go, static binaries):\n"
               "                     resolve every mapped name (and vault: references in the\n"
               "                     environment) now and pass the values in COMMAND's environment,\n"
               "                     without the shim; they are then visible in /proc/PID/environ.\n"
               "                     A required name without a value stops here with status 78.\n"
               "      --on-change=SIGNAL|restart\n"
               "                     stay as COMMAND's parent and watch the mapping's KV paths in\n"
               "                     Vault: on a change, send COMMAND SIGNAL (HUP, USR1...; its next\n"
               "                     getenv() of a changed name gets the new value), or restart it\n"
               "                     (SIGTERM, then SIGKILL after --grace). Signals are forwarded;\n"
               "                     the exit status is COMMAND's (128+N after signal N). Not with --env.\n"
               "      --watch-interval=D  how often to look (default 30s; a tenth of jitter)\n"
               "      --splay=D      wait a random time up to D before acting (default 0)\n"
               "      --grace=D      restart: time between SIGTERM and SIGKILL (default 10s)\n"
               "                     D: a duration (500ms, 30s, 5m, 1h)\n"
               "  -q, --quiet        no status lines\n"
               "  -h, --help         this help\n"
               "\n"
               "Without --env, names marked inherit (the option, or VAULTENV_INHERIT) are\n"
               "resolved here and placed in COMMAND's environment. When the mode given cannot\n"
               "serve COMMAND (a runtime that copies its environment at start, lazily; a Go or\n"
               "statically linked program, under the shim), one status line says so, the line\n"
               "`vaultenv check -- COMMAND` prints: COMMAND: MODE-THAT-WORKS: REASON.\n",
               cli_program);
        return 0;
}

/* Runs argv; returns only on failure, with the exit status. */
static int run(char **argv) {
        int k;

        execvp(argv[0], argv);
        k = errno;
        cli_error("%s: %s", argv[0], strerror(k));
        return k == ENOENT ? 127 : 126;
}

/* LD_PRELOAD without the shim (which --env does not want in the child);
 * the other objects are kept in order. */
static int drop_shim_from_preload(const char *shim) {
        const char *old = getenv("LD_PRELOAD");
        char *copy, *out, *tok, *save = NULL;
        size_t used = 0;
        int k;

        if (!old || !*old)
                return 0;
        copy = strdup(old);
        out = calloc(1, strlen(old) + 1);
        if (!copy || !out) {
                free(copy);
                free(out);
                return -ENOMEM;
        }
        /* ld.so separates the list with ':' or blanks */
        for (tok = strtok_r(copy, ": \t", &save); tok; tok = strtok_r(NULL, ": \t", &save)) {
                const char *base = strrchr(tok, '/');

                if ((shim && strcmp(tok, shim) == 0) || strcmp(base ? base + 1 : tok, "libvaultenv.so") == 0)
                        continue;
                used += (size_t) sprintf(out + used, "%s%s", used ? ":" : "", tok);
        }
        k = (used ? setenv("LD_PRELOAD", out, 1) : unsetenv("LD_PRELOAD")) < 0 ? -errno : 0;
        free(copy);
        free(out);
        return k;
}

/* Sets name to what the resolver gave; a name without a value is removed
 * when its environment value is a vault: reference (the shim never serves
 * the reference text). 1 when set, 0 when not, -errno. */
static int pass(const char *name, const char *value) {
        if (value)
                return setenv(name, value, 1) < 0 ? -errno : 1;
        if (ve_value_is_reference(getenv(name)) && unsetenv(name) < 0)
                return -errno;
        return 0;
}

/* Resolves one entry and passes it; a required name without a value is
 * reported and makes *status 78. 0 or -errno (fatal). */
static int pass_entry(struct cli_resolver *c, struct ve_entry *e, size_t *n_passed, int *status) {
        const char *value = NULL, *name = ve_entry_map(e)->name;
        char *reason = NULL;
        int k;

        k = ve_resolve(c->resolver, e, &value, NULL, &reason);
        if (k == -ENOENT) {
                cli_error("%s: required variable is missing: %s", name, reason);
                *status = VE_EX_CONFIG;
                k = 0;
        } else if (k >= 0 && (k = pass(name, value)) > 0) {
                (*n_passed)++;
                k = 0;
        }
        free(reason);
        return k;
}

/* The names of every vault: reference in the environment that the mapping
 * does not map (copied: setenv and unsetenv change environ). */
static int reference_names(struct cli_resolver *c, char ***ret_names) {
        size_t n = 0;
        char **names;

        for (char **ep = environ; ep && *ep; ep++)
                n++;
        names = calloc(n + 1, sizeof *names);
        if (!names)
                return -ENOMEM;
        n = 0;
        for (char **ep = environ; ep && *ep; ep++) {
                const char *eq = strchr(*ep, '=');
                char *name;

                if (!eq || !ve_value_is_reference(eq + 1))
                        continue;
                name = strndup(*ep, (size_t) (eq - *ep));
                if (!name) {
                        ve_names_free(names);
                        return -ENOMEM;
                }
                if (ve_resolver_find(c->resolver, name))
                        free(name);
                else
                        names[n++] = name;
        }
        *ret_names = names;
        return 0;
}

/* exec --env: resolve everything here, exec COMMAND without the shim. */
static int exec_env(const char *map_opt, char **argv) {
        struct cli_resolver c;
        const struct ve_map *map;
        char shim[PATH_MAX], **refs = NULL;
        size_t n_passed = 0;
        int k, status = 0;

        /* lib warns, as in the shim, when a name falls back or has no
         * value. */
        if ((k = cli_resolver_open(map_opt, CLI_REPORT_LIB, &c)) != 0)
                return k;
        map = ve_resolver_map(c.resolver);
        /* Every path of the mapping at once; the passes below find them
         * cached. Out of memory here only costs the concurrency. */
        (void) ve_resolver_prefetch(c.resolver, NULL, 0);

        /* vault: references already in the environment */
        if ((k = reference_names(&c, &refs)) < 0)
                goto out;
        for (char **p = refs; *p; p++) {
                const char *value = NULL, *ref = getenv(*p);

                if (!ref)
                        continue;
                if ((k = ve_resolve_reference(c.resolver, *p, ref, &value, NULL)) < 0 ||
                    (k = pass(*p, value)) < 0)
                        goto out;
                n_passed += (size_t) k;
        }

        /* every mapped name */
        for (size_t i = 0; i < ve_resolver_count(c.resolver); i++)
                if ((k = pass_entry(&c, ve_resolver_entry(c.resolver, i), &n_passed, &status)) < 0)
                        goto out;

        /* every name of each bulk rule that no entry maps */
        for (size_t i = 0; i < map->n_bulk; i++) {
                char **names = NULL, *reason = NULL;

                k = ve_resolver_bulk_names(c.resolver, i, &names, &reason);
                if (k == -ENOMEM)
                        goto out;
                if (k < 0)
                        cli_warn("%s* (line %u): cannot list the keys of %s: %s", map->bulk[i].prefix,
                                 map->bulk[i].line, map->bulk[i].ref.path, reason ? reason : strerror(-k));
                free(reason);
                k = 0;
                for (char **p = names; p && *p && k >= 0; p++) {
                        struct ve_entry *e = ve_resolver_find(c.resolver, *p);

                        if (e && !ve_map_find(map, *p))
                                k = pass_entry(&c, e, &n_passed, &status);
                }
                ve_names_free(names);
                if (k < 0)
                        goto out;
        }
        /* A required name failed: stop before COMMAND starts. */
        if (status != 0)
                goto out;

        if ((k = drop_shim_from_preload(cli_find_shim(shim, sizeof shim) == 0 ? shim : NULL)) < 0)
                goto out;
        cli_status("--env: %zu name%s passed in the environment of %s, without the shim: "
                   "visible in its /proc/PID/environ", n_passed, n_passed == 1 ? " is" : "s are", argv[0]);
        /* Nothing is freed and no lease given back: exec replaces this
         * image and COMMAND uses the leases. */
        status = run(argv);
        k = 0;
out:
        if (k < 0) {
                cli_error("%s", strerror(-k));
                status = CLI_EX_FAIL;
        }
        ve_names_free(refs);
        cli_resolver_close(&c, false);
        return status;
}

/* Without --env: resolves the names marked inherit (the option, or
 * VAULTENV_INHERIT) and places them in this environment, for COMMAND: the
 * one way to reach a Go or static program, which the shim never serves.
 * 0, or an exit status (78: a required name without a value). */
static int pass_inherited(void) {
        const char *list = getenv("VAULTENV_INHERIT");
        struct cli_resolver c;
        size_t n_passed = 0;
        int k, status = 0;

        if ((k = cli_resolver_open(NULL, CLI_REPORT_LIB, &c)) != 0)
                return k;
        for (size_t i = 0; i < ve_resolver_count(c.resolver); i++) {
                struct ve_entry *e = ve_resolver_entry(c.resolver, i);

                if (ve_eager_entry_inherits(ve_entry_map(e), list) &&
                    (k = pass_entry(&c, e, &n_passed, &status)) < 0) {
                        cli_error("%s", strerror(-k));
                        status = CLI_EX_FAIL;
                        break;
                }
        }
        /* On success nothing is freed and no lease given back: exec
         * replaces this image and COMMAND uses the values. */
        if (status != 0)
                cli_resolver_close(&c, false);
        return status;
}

/* Whether a vault: reference is in this environment (the shim resolves it
 * in COMMAND). */
static bool env_has_reference(void) {
        for (char **ep = environ; ep && *ep; ep++) {
                const char *eq = strchr(*ep, '=');

                if (eq && ve_value_is_reference(eq + 1))
                        return true;
        }
        return false;
}

/* Whether something mapped would not reach COMMAND without the shim: a name
 * not marked inherit, a bulk rule, a vault: reference in the environment. */
static bool shim_needed(const struct ve_map *map) {
        const char *list = getenv("VAULTENV_INHERIT");

        if (map->n_bulk > 0)
                return true;
        for (size_t i = 0; i < map->n_entries; i++)
                if (!ve_eager_entry_inherits(&map->entries[i], list))
                        return true;
        return env_has_reference();
}

/* Whether some mapped name would reach COMMAND only when it asks getenv:
 * not eager (VAULTENV_EAGER, the option, inherit), a bulk rule, or a vault:
 * reference in the environment without VAULTENV_EAGER. */
static bool lazy_left(const struct ve_map *map, bool all_eager) {
        const char *list = getenv("VAULTENV_INHERIT");

        if (all_eager)
                return false;
        if (map->n_bulk > 0)
                return true;
        for (size_t i = 0; i < map->n_entries; i++)
                if (!ve_eager_entry_wanted(&map->entries[i], false, list))
                        return true;
        return env_has_reference();
}

/* The line `vaultenv check -- COMMAND` prints, as one status line, when
 * mode cannot serve COMMAND (a Go or static program under the shim, a
 * runtime that copies its environment at start without --eager). A
 * command that cannot be diagnosed is left to execvp to report. */
static void say_mode(char **argv, enum ve_run_mode mode) {
        struct ve_diagnosis d;
        char *line;

        if (cli_diagnose(argv, &d, &line) < 0)
                return;
        if (d.mode > mode)
                cli_status("%s", line);
        ve_diagnosis_done(&d);
        free(line);
}

/* SIGNAL (HUP, SIGHUP, or a number) or "restart" for --on-change. */
static int parse_on_change(const char *s, int *ret_signal) {
        char *end;
        long n;

        if (strcmp(s, "restart") == 0) {
                *ret_signal = 0;
                return 0;
        }
        if (strncmp(s, "SIG", 3) == 0)
                s += 3;
        for (int i = 1; i < NSIG; i++) {
                const char *name = cli_signal_abbrev(i);

                if (name && strcmp(name, s) == 0 && i != SIGKILL && i != SIGSTOP) {
                        *ret_signal = i;
                        return 0;
                }
        }
        errno = 0;
        n = strtol(s, &end, 10);
        if (errno || end == s || *end || n <= 0 || n >= NSIG || n == SIGKILL || n == SIGSTOP)
                return -EINVAL;
        *ret_signal = (int) n;
        return 0;
}

static int parse_duration(const char *opt, const char *value, uint64_t min_ms, uint64_t *ret_ms) {
        if (!value)
                return 0;
        if (ve_duration_parse(value, ret_ms) < 0 || *ret_ms < min_ms)
                return cli_usage_error("exec", "--%s: not a duration of at least %llu ms: %s", opt,
                                       (unsigned long long) min_ms, value);
        return 0;
}

int cmd_exec(int argc, char **argv) {
        enum { OPT_EAGER = CLI_LONG_ONLY, OPT_ENV, OPT_ON_CHANGE, OPT_INTERVAL, OPT_SPLAY, OPT_GRACE };
        const char *map_opt = NULL, *on_change = NULL, *interval = NULL, *splay = NULL, *grace = NULL;
        struct cli_on_change oc = { .interval_ms = 30000, .grace_ms = 10000 };
        struct ve_settings *s;
        struct ve_map *map;
        bool eager = false, env = false, inherit = false, needs_shim = false, lazy = false;
        int next, k;
        const struct cli_option opts[] = {
                { "map", 'm', CLI_ARG, &map_opt },
                { "eager", OPT_EAGER, CLI_FLAG, &eager },
                { "env", OPT_ENV, CLI_FLAG, &env },
                { "on-change", OPT_ON_CHANGE, CLI_ARG, &on_change },
                { "watch-interval", OPT_INTERVAL, CLI_ARG, &interval },
                { "splay", OPT_SPLAY, CLI_ARG, &splay },
                { "grace", OPT_GRACE, CLI_ARG, &grace },
                {},
        };

        if ((k = cli_parse_options("exec", argc, argv, opts, true, help, &next)) >= 0)
                return k;
        argc -= next;
        argv += next;
        if (argc < 1)
                return cli_usage_error("exec", "missing COMMAND");
        if (eager && env)
                return cli_usage_error("exec", "--eager and --env exclude each other (--env runs COMMAND without the shim)");
        if (on_change && parse_on_change(on_change, &oc.signal) < 0)
                return cli_usage_error("exec", "--on-change: not a signal name or number, nor restart: %s", on_change);
        if (!on_change && (interval || splay || grace))
                return cli_usage_error("exec", "--watch-interval, --splay and --grace go with --on-change");
        if ((k = parse_duration("watch-interval", interval, 100, &oc.interval_ms)) != 0 ||
            (k = parse_duration("splay", splay, 0, &oc.splay_ms)) != 0 ||
            (k = parse_duration("grace", grace, 0, &oc.grace_ms)) != 0)
                return k;
        if (on_change && env)
                return cli_usage_error("exec", "--on-change and --env exclude each other (with --env the values are "
                                       "fixed in COMMAND's environment; the shim serves changed ones)");
        if (env)
                return exec_env(map_opt, argv);

        /* Refuse a bad mapping here, before the program starts, rather
         * than let the shim fall back to pass-through inside it. */
        if ((k = cli_load(map_opt, &s, &map)) != 0)
                return k;
        if (s->map_path[0] != '/') {
                char real[PATH_MAX];

                if (realpath(s->map_path, real))
                        setenv("VAULTENV_MAP", real, 1);
        }
        for (size_t i = 0; i < map->n_entries && !inherit; i++)
                inherit = ve_eager_entry_inherits(&map->entries[i], getenv("VAULTENV_INHERIT"));
        needs_shim = shim_needed(map);
        lazy = lazy_left(map, eager || s->eager);
        ve_settings_free(s);
        if (!on_change) {
                ve_map_free(map);
                map = NULL;
        }
        /* what inherit passes on reaches every program: only the rest can miss */
        if (needs_shim)
                say_mode(argv, lazy ? VE_RUN_LAZY : VE_RUN_EAGER);
        if (inherit && (k = pass_inherited()) != 0)
                goto out;
        if ((k = cli_preload_shim()) != 0)
                goto out;
        if (eager && setenv("VAULTENV_EAGER", "1", 1) < 0) {
                cli_error("out of memory");
                k = CLI_EX_FAIL;
                goto out;
        }
        k = map ? cli_supervise(argv, map, &oc) : run(argv);
out:
        ve_map_free(map);
        return k;
}
