/* SPDX-License-Identifier: MIT */
#pragma once
/* What the vaultenv subcommands share (cli.c). One file per subcommand
 * (cmd_*.c); each parses its own options with getopt_long, starting at
 * argv[0] = the subcommand's name, and returns the process's exit status.
 *
 * Output rules for every subcommand: results on stdout; progress, status
 * and errors on stderr as "vaultenv: ..." lines (cli_status, cli_error);
 * colour only when stderr is a terminal and NO_COLOR is unset; --quiet
 * silences status lines, never errors. A secret value reaches stdout only
 * where printing it is the subcommand's job (get, export), and never
 * stderr. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#include "diagnose.h"
#include "log.h"
#include "mapfile.h"
#include "resolve.h"
#include "settings.h"
#include "vault.h"

#ifndef VE_PKGLIBDIR
#define VE_PKGLIBDIR "/usr/local/lib/vaultenv"
#endif
#ifndef VE_PKGLIBDIR_REL
#define VE_PKGLIBDIR_REL "../lib/vaultenv"
#endif
#ifndef VE_VERSION
#define VE_VERSION "unknown"
#endif

/* Exit statuses: 0 success, 1 a failure of what was asked (a name missing,
 * a write refused), 2 a usage error, 78 (EX_CONFIG) a bad mapping file or
 * configuration. */
#define CLI_EX_FAIL 1
#define CLI_EX_USAGE 2

extern const char *cli_program;         /* "vaultenv" */
extern bool cli_quiet;

/* "vaultenv: " + message on stderr. cli_error: always ("error: " in red on
 * a terminal); cli_warn: always ("warning: "); cli_status: unless quiet. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A signal's name without "SIG" ("HUP"), as glibc's sigabbrev_np(); NULL
 * for a number without one (real-time signals). */
const char *cli_signal_abbrev(int sig);

/* Whether stderr gets colour (a terminal, NO_COLOR unset, TERM not "dumb"). */
bool cli_colour(void);

/* A usage error: "vaultenv: CMD: message" then "Try 'vaultenv CMD --help'."
 * on stderr. Returns CLI_EX_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One option of a subcommand. A val below CLI_LONG_ONLY is also its short
 * form (-m); long-only options use CLI_LONG_ONLY + n. CLI_FLAG sets the
 * bool at target; CLI_ARG the const char * at target; CLI_LIST appends to
 * the struct cli_list at target, whose v has room for argc entries. */
#define CLI_LONG_ONLY 0x100
enum cli_option_kind { CLI_FLAG, CLI_ARG, CLI_LIST };
struct cli_option {
        const char *name;
        int val;
        enum cli_option_kind kind;
        void *target;
};
struct cli_list {
        char **v;
        size_t n;
};

/* Parses the options of subcommand cmd (argv[0]) against opts (ended by an
 * entry whose name is NULL) and -q/--quiet, -h/--help, which every
 * subcommand takes. -1, with *ret_next the index of the first operand, when
 * the caller goes on; else the exit status to return: help()'s after
 * --help, CLI_EX_USAGE after a bad option. command: stop at the first
 * operand (exec, learn: COMMAND keeps its own flags). */
int cli_parse_options(const char *cmd, int argc, char **argv, const struct cli_option *opts, bool command,
                      int (*help)(void), int *ret_next);

/* Sets how much of lib's log reaches stderr (the level cli_load set from
 * VAULTENV_LOG, at least warn, until changed). */
void cli_log_level(enum ve_log_level max_level);

/* Loads the settings (after setting VAULTENV_MAP to map_opt when not NULL)
 * and parses the mapping file; lib's log goes to stderr at VAULTENV_LOG
 * (at least warn). On failure the error is printed and VE_EX_CONFIG is
 * returned; 0 on success. */
int cli_load(const char *map_opt, struct ve_settings **ret_settings, struct ve_map **ret_map);

/* Who tells the user about a name without a value. CLI_REPORT_LIB: lib
 * warns, as in the shim (--quiet keeps only errors). CLI_REPORT_OWN: the
 * subcommand's own line, lib's other warnings stay. CLI_REPORT_OWN_ONLY:
 * the subcommand's own line per name says what lib's warnings would, so
 * these show only at VAULTENV_LOG=info or debug. */
enum cli_report { CLI_REPORT_LIB, CLI_REPORT_OWN, CLI_REPORT_OWN_ONLY };

/* A resolver over the mapping with a Vault client (settings from the
 * environment, as the shim would see them). 0, or an exit status after
 * printing why. cli_resolver_close() gives back leases (or, with
 * VAULTENV_REVOKE_ON_EXIT, leases and token) when revoke is true, and
 * frees everything. */
struct cli_resolver {
        struct ve_settings *settings;
        struct ve_vault *vault;
        struct ve_source *source;       /* heap: the resolver keeps a pointer to it */
        struct ve_resolver *resolver;
};
int cli_resolver_open(const char *map_opt, enum cli_report how, struct cli_resolver *ret);
void cli_resolver_close(struct cli_resolver *c, bool revoke_leases);

/* Only a Vault client (rotate, migrate): 0 or an exit status. */
int cli_vault_open(struct ve_settings **ret_settings, struct ve_vault **ret_vault);

/* The installed (or built) libvaultenv.so: beside this binary, in the
 * private libdir relative to it, or in VE_PKGLIBDIR. 0 or -ENOENT. */
int cli_find_shim(char *buf, size_t size);

/* Finds the shim (cli_find_shim) and puts it first in LD_PRELOAD, so that
 * its getenv is the one every later object binds to; an existing list is
 * kept (and not given the shim twice). 0, or an exit status after printing
 * why (VE_EX_CONFIG: no shim; CLI_EX_FAIL: out of memory). */
int cli_preload_shim(void);

/* Diagnoses the command line argv as exec would run it (ve_diagnose, with
 * $PATH) and makes its one line, "COMMAND: MODE: REASON", which check
 * prints and exec says. 0, or -errno as ve_diagnose returns it. */
int cli_diagnose(char *const *argv, struct ve_diagnosis *ret_diagnosis, char **ret_line);

/* The subcommands. */
int cmd_exec(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_rotate(int argc, char **argv);
int cmd_learn(int argc, char **argv);
int cmd_policy(int argc, char **argv);
