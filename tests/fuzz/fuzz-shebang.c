/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "diagnose.h"

/* libFuzzer entry point for the "#!" line and env(1) argument parsing of
 * `vaultenv check -- PROGRAM` (as fuzz-mapfile.c):
 *
 *     ninja -C build-fuzz tests/fuzz/fuzz-shebang
 *     build-fuzz/tests/fuzz/fuzz-shebang -max_total_time=600 CORPUS_DIR tests/fuzz/corpus/shebang
 *
 * The input is a file's first bytes. Aborts when a promise of diagnose.h
 * breaks: 0 with an interpreter that is non-empty and has no blank or
 * newline, an argument (or none) on one line and trimmed; -ENOEXEC; -ENOMEM.
 * Then env's program: one word, not NAME=VALUE. */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool blank(char c) {
        return c == ' ' || c == '\t';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *interp = NULL, *arg = NULL, *program = NULL;
        size_t n;
        int k;

        k = ve_shebang_parse((const char *) data, size, &interp, &arg);
        if (k == -ENOEXEC || k == -ENOMEM) {
                if (interp || arg)
                        abort();        /* not written on failure */
                return 0;
        }
        if (k != 0 || !interp || !*interp || strpbrk(interp, " \t\n"))
                abort();
        if (arg) {
                n = strlen(arg);
                if (n == 0 || strchr(arg, '\n') || blank(arg[0]) || blank(arg[n - 1]))
                        abort();
        }
        k = ve_env_program(arg, &program);
        if (k == 0 && (!*program || strpbrk(program, " \t=") || program[0] == '-'))
                abort();
        if (k != 0 && k != -ENOENT && k != -ENOMEM)
                abort();
        free(program);
        free(interp);
        free(arg);
        return 0;
}
