/* SPDX-License-Identifier: MIT */
/* What the vaultenv subcommands share: messages, loading the settings and
 * the mapping, opening a resolver or a Vault client, finding the shim. */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libc-config.h"
#include "cli.h"
#include "log.h"
#include "util.h"

const char *cli_program = "vaultenv";
bool cli_quiet;

bool cli_colour(void) {
        const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");

        return isatty(STDERR_FILENO) && !(nc && nc[0]) && !(term && strcmp(term, "dumb") == 0);
}

static void say(const char *colour, const char *label, const char *fmt, va_list ap) {
        bool c = colour && cli_colour();

        fprintf(stderr, "%s: ", cli_program);
        if (label)
                fprintf(stderr, "%s%s%s", c ? colour : "", label, c ? "\033[0m" : "");
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
}

void cli_error(const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        say("\033[1;31m", "error: ", fmt, ap);
        va_end(ap);
}

void cli_warn(const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        say("\033[1;33m", "warning: ", fmt, ap);
        va_end(ap);
}

void cli_status(const char *fmt, ...) {
        va_list ap;

        if (cli_quiet)
                return;
        va_start(ap, fmt);
        say(NULL, NULL, fmt, ap);
        va_end(ap);
}

int cli_usage_error(const char *cmd, const char *fmt, ...) {
        va_list ap;

        fprintf(stderr, "%s: %s: ", cli_program, cmd);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, "\nTry '%s %s --help'.\n", cli_program, cmd);
        return CLI_EX_USAGE;
}

/* lib's log: the level names the shim uses; colour as cli_error. */
static void log_stderr(void *userdata, enum ve_log_level level, const char *msg) {
        (void) userdata;
        if (level == VE_LOG_ERROR)
                cli_error("%s", msg);
        else if (level == VE_LOG_WARN)
                cli_warn("%s", msg);
        else
                fprintf(stderr, "%s: %s%s\n", cli_program, level == VE_LOG_DEBUG ? "debug: " : "", msg);
}

void cli_log_level(enum ve_log_level max_level) {
        ve_log_set(log_stderr, NULL, max_level);
}

static int settings_load(struct ve_settings **ret) {
        struct ve_settings *s;
        int r;

        ve_log_set(log_stderr, NULL, VE_LOG_ERROR);
        r = ve_settings_load((ve_getenv_fn) getenv, &s);
        if (r < 0) {
                cli_error("cannot load the settings: %s", strerror(-r));
                return VE_EX_CONFIG;
        }
        ve_log_set(log_stderr, NULL, s->log_level > VE_LOG_WARN ? s->log_level : VE_LOG_WARN);
        *ret = s;
        return 0;
}

int cli_load(const char *map_opt, struct ve_settings **ret_settings, struct ve_map **ret_map) {
        struct ve_settings *s;
        char *err = NULL;
        int r;

        if (map_opt && setenv("VAULTENV_MAP", map_opt, 1) < 0) {
                cli_error("%s", strerror(errno));
                return VE_EX_CONFIG;
        }
        if ((r = settings_load(&s)) != 0)
                return r;
        r = ve_map_load(s->map_path, ret_map, &err);
        if (r < 0) {
                cli_error("%s", err ? err : strerror(-r));
                free(err);
                ve_settings_free(s);
                return VE_EX_CONFIG;
        }
        *ret_settings = s;
        return 0;
}

static int vault_read(void *userdata, const struct ve_ref *ref, struct ve_secret **ret, char **ret_error) {
        return ve_vault_read(userdata, ref, ret, ret_error);
}

static int vault_read_many(void *userdata, struct ve_read_call *calls, size_t n) {
        return ve_vault_read_many(userdata, calls, n);
}

static int vault_renew(void *userdata, const struct ve_ref *ref, const char *lease_id, uint64_t increment_s,
                       struct ve_lease *ret_lease, char **ret_error) {
        return ve_vault_renew(userdata, ref, lease_id, increment_s, ret_lease, ret_error);
}

static int vault_new(struct ve_settings *s, struct ve_vault **ret_vault) {
        char *err = NULL;

        if (ve_vault_new(s, ret_vault, &err) < 0) {
                cli_error("Vault client: %s", err ? err : "cannot be created");
                free(err);
                return VE_EX_CONFIG;
        }
        return 0;
}

static void report(enum cli_report how, struct cli_resolver *c) {
        if (how == CLI_REPORT_LIB) {
                if (cli_quiet)
                        cli_log_level(VE_LOG_ERROR);
                return;
        }
        if (how == CLI_REPORT_OWN_ONLY && c->settings->log_level <= VE_LOG_WARN)
                cli_log_level(VE_LOG_ERROR);
        ve_resolver_set_report_missing(c->resolver, false);
}

int cli_resolver_open(const char *map_opt, enum cli_report how, struct cli_resolver *ret) {
        struct cli_resolver c = { 0 };
        struct ve_map *map;
        int k;

        if ((k = cli_load(map_opt, &c.settings, &map)) != 0)
                return k;
        if ((k = vault_new(c.settings, &c.vault)) != 0) {
                ve_map_free(map);
                ve_settings_free(c.settings);
                return k;
        }
        /* On the heap: the resolver keeps the pointer, and *ret is a copy. */
        c.source = calloc(1, sizeof *c.source);
        if (!c.source) {
                ve_map_free(map);
                goto fail;
        }
        c.source->read = vault_read;
        c.source->read_many = vault_read_many;
        c.source->renew = vault_renew;
        c.source->userdata = c.vault;
        if (ve_resolver_new(map, c.settings, c.source, (ve_getenv_fn) getenv, &c.resolver) < 0)
                goto fail;
        report(how, &c);
        *ret = c;
        return 0;
fail:
        cli_error("out of memory");
        free(c.source);
        ve_vault_free(c.vault);
        ve_settings_free(c.settings);
        return CLI_EX_FAIL;
}

void cli_resolver_close(struct cli_resolver *c, bool revoke_leases) {
        if (!c)
                return;
        if (c->vault) {
                if (c->settings->revoke_on_exit)
                        (void) ve_vault_at_exit(c->vault);
                else if (revoke_leases)
                        (void) ve_vault_revoke_leases(c->vault);
        }
        ve_resolver_free(c->resolver);
        free(c->source);
        ve_vault_free(c->vault);
        ve_settings_free(c->settings);
        *c = (struct cli_resolver) { 0 };
}

int cli_vault_open(struct ve_settings **ret_settings, struct ve_vault **ret_vault) {
        struct ve_settings *s;
        struct ve_vault *v;
        int k;

        if ((k = settings_load(&s)) != 0)
                return k;
        if ((k = vault_new(s, &v)) != 0) {
                ve_settings_free(s);
                return k;
        }
        *ret_settings = s;
        *ret_vault = v;
        return 0;
}

static bool exists(const char *p) {
        return access(p, R_OK) == 0;
}

int cli_find_shim(char *buf, size_t size) {
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

#if defined(__SANITIZE_ADDRESS__)
/* A test build with AddressSanitizer: the shim is instrumented too, and in
 * an uninstrumented program it needs the sanitizer's runtime loaded ahead
 * of every other object, so the child's LD_PRELOAD starts with it (the path
 * the loader found for this program's libasan). Release builds have none
 * of this. */
void __asan_init(void);

static char *asan_first(char *preload) {
        Dl_info info;
        char *r;

        if (!preload || !dladdr((void *) __asan_init, &info) || !info.dli_fname || !*info.dli_fname ||
            strncmp(preload, info.dli_fname, strlen(info.dli_fname)) == 0)
                return preload;
        r = ve_asprintf("%s:%s", info.dli_fname, preload);
        free(preload);
        return r;
}
#else
static char *asan_first(char *preload) {
        return preload;
}
#endif

int cli_preload_shim(void) {
        const char *old = getenv("LD_PRELOAD");
        char shim[PATH_MAX], *preload;
        int k = 0;

        if (cli_find_shim(shim, sizeof shim) < 0) {
                cli_error("cannot find libvaultenv.so (looked beside this program and in %s)", VE_PKGLIBDIR);
                return VE_EX_CONFIG;
        }
        if (old && *old)
                preload = strstr(old, shim) ? strdup(old) : ve_asprintf("%s:%s", shim, old);
        else
                preload = strdup(shim);
        preload = asan_first(preload);
        if (!preload || setenv("LD_PRELOAD", preload, 1) < 0) {
                cli_error("out of memory");
                k = CLI_EX_FAIL;
        }
        free(preload);
        return k;
}

int cli_diagnose(char *const *argv, struct ve_diagnosis *ret_diagnosis, char **ret_line) {
        struct ve_diagnosis d;
        char *line;
        int k;

        if ((k = ve_diagnose(argv, getenv("PATH"), &d)) < 0)
                return k;
        line = ve_asprintf("%s: %s: %s", argv[0], ve_run_mode_word(d.mode), d.reason);
        if (!line) {
                ve_diagnosis_done(&d);
                return -ENOMEM;
        }
        *ret_diagnosis = d;
        *ret_line = line;
        return 0;
}

#if VE_HAVE_SIGABBREV_NP
const char *cli_signal_abbrev(int sig) {
        return sigabbrev_np(sig);
}
#else
/* libc without sigabbrev_np (musl): Linux's standard signals, named as
 * glibc names them. */
const char *cli_signal_abbrev(int sig) {
        static const struct { int sig; const char *name; } names[] = {
                { SIGHUP, "HUP" }, { SIGINT, "INT" }, { SIGQUIT, "QUIT" }, { SIGILL, "ILL" },
                { SIGTRAP, "TRAP" }, { SIGABRT, "ABRT" }, { SIGBUS, "BUS" }, { SIGFPE, "FPE" },
                { SIGKILL, "KILL" }, { SIGUSR1, "USR1" }, { SIGSEGV, "SEGV" }, { SIGUSR2, "USR2" },
                { SIGPIPE, "PIPE" }, { SIGALRM, "ALRM" }, { SIGTERM, "TERM" }, { SIGSTKFLT, "STKFLT" },
                { SIGCHLD, "CHLD" }, { SIGCONT, "CONT" }, { SIGSTOP, "STOP" }, { SIGTSTP, "TSTP" },
                { SIGTTIN, "TTIN" }, { SIGTTOU, "TTOU" }, { SIGURG, "URG" }, { SIGXCPU, "XCPU" },
                { SIGXFSZ, "XFSZ" }, { SIGVTALRM, "VTALRM" }, { SIGPROF, "PROF" }, { SIGWINCH, "WINCH" },
                { SIGIO, "POLL" }, { SIGPWR, "PWR" }, { SIGSYS, "SYS" },
        };

        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
                if (names[i].sig == sig)
                        return names[i].name;
        return NULL;
}
#endif
