/* SPDX-License-Identifier: MIT */
/* bench-reader: the measured program of bench-network (P10, P11), run under
 * the shim. It links libc alone, so that what the shim's core loads
 * (libcurl, TLS, cJSON) is not already in the process, as in a real
 * program; the benchmark drivers link cJSON.
 *
 *   bench-reader read PREFIX NAME...   getenv() of each NAME; exit 3 when
 *                                      one has no value or one not starting
 *                                      with PREFIX (a failed fetch is never
 *                                      measured as fast)
 *   bench-reader first NAME1 NAME2     "sample" lines: ns of getenv(NAME1),
 *                                      the first mapped lookup, then of
 *                                      getenv(NAME2); exit 3 as above
 *   bench-reader dlopen PATH           "sample" line: ns of dlopen(PATH,
 *                                      RTLD_NOW | RTLD_LOCAL), as the shim
 *                                      loads its core
 * Prints numbers only, never a value. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e9 + (double) ts.tv_nsec;
}

int main(int argc, char **argv) {
        if (argc >= 3 && strcmp(argv[1], "read") == 0) {
                size_t l = strlen(argv[2]);
                int ok = 1;

                for (int i = 3; i < argc; i++) {
                        const char *v = getenv(argv[i]);

                        ok = ok && v && strncmp(v, argv[2], l) == 0;
                }
                return ok ? 0 : 3;
        }
        if (argc == 4 && strcmp(argv[1], "first") == 0) {
                double t0, t1, t2;
                const char *a, *b;

                t0 = now_ns();
                a = getenv(argv[2]);
                t1 = now_ns();
                b = getenv(argv[3]);
                t2 = now_ns();
                printf("sample %.0f\nsample %.0f\n", t1 - t0, t2 - t1);
                return a && b ? 0 : 3;
        }
        if (argc == 3 && strcmp(argv[1], "dlopen") == 0) {
                double t0, t1;
                void *h;

                t0 = now_ns();
                h = dlopen(argv[2], RTLD_NOW | RTLD_LOCAL);
                t1 = now_ns();
                if (!h) {
                        fprintf(stderr, "bench-reader: %s\n", dlerror());
                        return 1;
                }
                printf("sample %.0f\n", t1 - t0);
                return 0;
        }
        fprintf(stderr, "usage: bench-reader read PREFIX NAME... | first NAME1 NAME2 | dlopen PATH\n");
        return 2;
}
