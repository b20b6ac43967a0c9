/* SPDX-License-Identifier: MIT */
#pragma once

/* The one main loop of every CUnit binary: register, run verbosely, and
 * turn the result into an exit status (0 only when every assert passed;
 * 2 when CUnit itself failed). */
#include <CUnit/Basic.h>
#include <errno.h>
#include <stddef.h>
#include <sys/wait.h>
#include <unistd.h>

struct unit_test {
        const char *name;
        CU_TestFunc fn;
};

struct unit_suite {
        const char *name;
        const struct unit_test *tests;  /* ends with { NULL, NULL } */
};

static inline int unit_run(const struct unit_suite *suites, size_t n_suites) {
        unsigned failures;

        if (CU_initialize_registry() != CUE_SUCCESS)
                return 2;
        for (size_t i = 0; i < n_suites; i++) {
                CU_pSuite s = CU_add_suite(suites[i].name, NULL, NULL);

                if (!s)
                        goto fail;
                for (const struct unit_test *t = suites[i].tests; t->name; t++)
                        if (!CU_add_test(s, t->name, t->fn))
                                goto fail;
        }
        CU_basic_set_mode(CU_BRM_VERBOSE);
        if (CU_basic_run_tests() != CUE_SUCCESS)
                goto fail;
        failures = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
        CU_cleanup_registry();
        return failures > 0 ? 1 : 0;
fail:
        CU_cleanup_registry();
        return 2;
}

/* Runs fn(userdata) in a forked child and returns its result (0..255)
 * through a pipe, or -1 when the child could not report. The child's exit
 * status is not the verdict: under valgrind, memory of threads that do not
 * exist in the child counts as lost there and changes it. */
static inline int unit_in_child(int (*fn)(void *), void *userdata) {
        unsigned char result = 0;
        int fds[2], status;
        ssize_t n;
        pid_t pid;

        if (pipe(fds) < 0)
                return -1;
        pid = fork();
        if (pid < 0) {
                close(fds[0]);
                close(fds[1]);
                return -1;
        }
        if (pid == 0) {
                unsigned char r;

                close(fds[0]);
                r = (unsigned char) fn(userdata);
                if (write(fds[1], &r, 1) != 1)
                        _exit(2);
                _exit(0);
        }
        close(fds[1]);
        do
                n = read(fds[0], &result, 1);
        while (n < 0 && errno == EINTR);
        close(fds[0]);
        if (waitpid(pid, &status, 0) != pid || n != 1)
                return -1;
        return result;
}
