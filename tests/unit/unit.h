/* SPDX-License-Identifier: MIT */
#pragma once

/* The one main loop of every CUnit binary: register, run verbosely, and
 * turn the result into an exit status (0 only when every assert passed;
 * 2 when CUnit itself failed). */
#include <CUnit/Basic.h>
#include <stddef.h>

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
