/* SPDX-License-Identifier: MIT */
/* P4: start-up of /bin/true with the shim preloaded and a 20-name mapping
 * file (nothing is read), vs /bin/true without the shim, same environment.
 *
 *   bench-startup P4
 *
 * Wall time: posix_spawn + waitpid around each run, RUNS runs of each,
 * alternating, median. Instructions: valgrind --tool=callgrind counts the
 * instructions of one run of each (deterministic; valgrind's own preload
 * objects are in both counts, so the ratio slightly understates the cost),
 * when valgrind is installed. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define RUNS 300

static const char *find_true(void) {
        return access("/bin/true", X_OK) == 0 ? "/bin/true" : "/usr/bin/true";
}

static const char *find_valgrind(void) {
        static const char *const places[] = { "/usr/bin/valgrind", "/usr/local/bin/valgrind" };

        for (size_t i = 0; i < sizeof places / sizeof *places; i++)
                if (access(places[i], X_OK) == 0)
                        return places[i];
        return NULL;
}

/* One spawn+wait of prog with env: the wall time in ns, < 0 on failure. */
static double one_run(const char *prog, struct bench_env *env) {
        char *argv[] = { (char *) prog, NULL };
        double t0, t1;
        pid_t pid;
        int status;

        t0 = bench_now_ns();
        if (bench_spawn(argv, env->vars, NULL, &pid) < 0)
                return -1;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -1;
        t1 = bench_now_ns();
        return bench_ok(prog, status) ? t1 - t0 : -1;
}

/* The "Collected : N" of callgrind for one run of prog; < 0 on failure. */
static double instructions(const char *valgrind, const char *prog, struct bench_env *env) {
        char *argv[] = { (char *) valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", "--log-fd=1",
                         (char *) prog, NULL };
        char *out = NULL, *p;
        int status;
        double n = -1;

        if (bench_run(argv, env->vars, &out, &status) < 0)
                return -1;
        p = out ? strstr(out, "Collected : ") : NULL;
        if (p && WIFEXITED(status) && WEXITSTATUS(status) == 0)
                n = strtod(p + 12, NULL);
        free(out);
        return n;
}

int main(int argc, char **argv) {
        static double shim_ns[RUNS], base_ns[RUNS];
        struct bench_vault v;
        struct bench_env shim, base;
        const char *prog = find_true(), *valgrind = find_valgrind();
        char runs[32];
        bool ok = true;

        if (argc != 2 || strcmp(argv[1], "P4") != 0) {
                fprintf(stderr, "usage: bench-startup P4\n");
                return 2;
        }
        if (bench_standard_start(&v, &shim, &base) < 0)
                return 1;

        /* a few unmeasured runs: page cache and dynamic loader caches warm */
        for (int i = 0; i < 10 && ok; i++)
                ok = one_run(prog, &base) >= 0 && one_run(prog, &shim) >= 0;
        for (int i = 0; i < RUNS && ok; i++) {
                base_ns[i] = one_run(prog, &base);
                shim_ns[i] = one_run(prog, &shim);
                ok = base_ns[i] >= 0 && shim_ns[i] >= 0;
        }
        if (ok) {
                double f = bench_median(shim_ns, RUNS) / 1e3, b = bench_median(base_ns, RUNS) / 1e3;

                snprintf(runs, sizeof runs, "%d", RUNS);
                bench_row("P4", "start-up of /bin/true, 20-name mapping, nothing read (us wall)", f, "us", b, f / b,
                          "<= 1.15", runs);
        }
        if (ok && valgrind) {
                double f = instructions(valgrind, prog, &shim), b = instructions(valgrind, prog, &base);

                if (f < 0 || b < 0) {
                        fprintf(stderr, "bench-startup: callgrind did not report an instruction count\n");
                        ok = false;
                } else
                        bench_row("P4i", "start-up of /bin/true, 20-name mapping (instructions, callgrind)", f,
                                  "Ir", b, f / b, "<= 1.15", "1 (exact)");
        } else if (ok)
                printf("P4i: valgrind is not installed: no instruction count\n");

        bench_standard_stop(&v, &shim, &base);
        return ok ? 0 : 1;
}
