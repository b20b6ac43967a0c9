/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>

/* Which way of running a program under vaultenv serves it: `vaultenv check
 * -- PROGRAM` recommends one, `vaultenv exec` warns when it was given a
 * weaker one. What each runtime does is asserted by
 * tests/integration/shim/runtimes.sh (doc/runtimes.md's table). */

/* Ordered: each mode serves every program the one before it serves. */
enum ve_run_mode {
        VE_RUN_LAZY,    /* the shim answers getenv when the program asks */
        VE_RUN_EAGER,   /* values placed in the environment before main */
        VE_RUN_ENV,     /* values in the initial environment, no shim */
};

/* "lazy", "--eager" or "--env". */
const char *ve_run_mode_word(enum ve_run_mode mode);

/* The runtime an executable's file name names (python3.11, perl5.36,
 * nodejs, gawk...: a known name and a version suffix of digits and dots):
 * 0, *ret_mode and a static one-clause reason in *ret_why; -ENOENT for a
 * name that is no known runtime (a plain program). */
int ve_runtime_by_name(const char *basename, enum ve_run_mode *ret_mode, const char **ret_why);

/* The "#!" line at the start of buf (len bytes), as Linux reads it: the
 * interpreter up to the first blank, the rest of the line (trimmed) as its
 * one argument. 0, heap strings in *ret_interp and *ret_arg (NULL: none);
 * -ENOEXEC when buf has no "#!" or no interpreter; -ENOMEM. */
int ve_shebang_parse(const char *buf, size_t len, char **ret_interp, char **ret_arg);

/* The program env(1) runs for the argument of a "#!/usr/bin/env ARG" line
 * (with -S, or --split-string, words; options and NAME=VALUE skipped):
 * 0 and a heap string; -ENOENT when it names none; -ENOMEM. */
int ve_env_program(const char *arg, char **ret_program);

struct ve_diagnosis {
        enum ve_run_mode mode;
        char *path;     /* the executable that decides: the program itself
                         * or the interpreter its "#!" line runs */
        char *reason;   /* one line: the way to it and why */
};

/* Diagnoses the command line argv (NULL-ended) as execvp() would run it
 * (search_path as for ve_exe_lookup; "#!" lines followed, "/usr/bin/env
 * NAME" too, as is env(1) as argv[0]; symbolic links resolved: /bin/sh is
 * dash; a file without "#!" runs with /bin/sh). 0 and *ret filled (ve_diagnosis_done frees it); -ENOENT for a
 * missing program or interpreter, -EACCES for one that is not an
 * executable regular file, -ENOEXEC for a file no one can run, -ELOOP for
 * interpreters nested too deep, -ENOMEM. */
int ve_diagnose(char *const *argv, const char *search_path, struct ve_diagnosis *ret);

void ve_diagnosis_done(struct ve_diagnosis *d);
