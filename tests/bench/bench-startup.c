/* SPDX-License-Identifier: MIT */
/* P4: start-up of /bin/true with the shim preloaded and a 20-name mapping
 * file (nothing is read), vs /bin/true without the shim, same environment.
 * P9: set-up against the mapping's size: this program ("--worker home")
 * calls getenv("HOME") once, which builds the shim's resolver, and exits;
 * with 1,000, 10,000 and 40,000 names on as many distinct paths, vs the
 * same program without the shim. Nothing is read from Vault.
 *
 *   bench-startup P4|P9
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
#define SETUP_RUNS 10

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

/* One spawn+wait of argv with env: the wall time in ns, < 0 on failure. */
static double one_run_argv(char **argv, struct bench_env *env) {
        const char *prog = argv[0];
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

static double one_run(const char *prog, struct bench_env *env) {
        char *argv[] = { (char *) prog, NULL };

        return one_run_argv(argv, env);
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

/* A mapping of n names N0... on n distinct paths s/p0...; its path
 * (static rotating buffer), NULL on failure. */
static const char *distinct_map(size_t n) {
        char file[64], *text;
        const char *path;
        size_t len = 0, cap = n * 32 + 1;
        int k;

        snprintf(file, sizeof file, "distinct-%zu.map", n);
        path = bench_tmpfile(file);
        text = malloc(cap);
        if (!text)
                return NULL;
        text[0] = '\0';
        for (size_t i = 0; i < n; i++)
                len += (size_t) snprintf(text + len, cap - len, "N%zu=s/p%zu#k\n", i, i);
        k = bench_write_file(path, text);
        free(text);
        return k < 0 ? NULL : path;
}

static bool setup_rows(const struct bench_vault *v) {
        static const size_t sizes[] = { 1000, 10000, 40000 };
        char *argv[] = { (char *) bench_self(), "--worker", "home", NULL };
        double fig[3], shim_ns[SETUP_RUNS], base_ns[SETUP_RUNS];
        char runs[32], id[32], what[128];
        bool ok = true;

        snprintf(runs, sizeof runs, "%d", SETUP_RUNS);
        for (size_t k = 0; k < 3 && ok; k++) {
                const char *map = distinct_map(sizes[k]);
                struct bench_env shim, base;
                double f, b;

                if (!map) {
                        fprintf(stderr, "bench-startup: cannot write the mapping file\n");
                        return false;
                }
                bench_env_init(&shim, v, map, true);
                bench_env_init(&base, v, map, false);
                /* one unmeasured run of each: the mapping file in the page cache */
                ok = one_run_argv(argv, &base) >= 0 && one_run_argv(argv, &shim) >= 0;
                for (int i = 0; i < SETUP_RUNS && ok; i++) {
                        base_ns[i] = one_run_argv(argv, &base);
                        shim_ns[i] = one_run_argv(argv, &shim);
                        ok = base_ns[i] >= 0 && shim_ns[i] >= 0;
                }
                bench_env_done(&shim);
                bench_env_done(&base);
                if (!ok)
                        break;
                f = bench_median(shim_ns, SETUP_RUNS) / 1e6;
                b = bench_median(base_ns, SETUP_RUNS) / 1e6;
                fig[k] = f;
                snprintf(id, sizeof id, "P9-%zuk", sizes[k] / 1000);
                snprintf(what, sizeof what, "first getenv(\"HOME\") and exit, %zu names on distinct paths (ms wall)",
                         sizes[k]);
                bench_row(id, what, f, "ms", b, f / b, "report", runs);
        }
        /* Linear set-up costs as much per name from 10,000 to 40,000 names
         * as from 1,000 to 10,000: a ratio near 1 (a quadratic one, ~5). */
        if (ok) {
                double hi = (fig[2] - fig[1]) * 1e3 / 30000, lo = (fig[1] - fig[0]) * 1e3 / 9000;

                bench_row("P9n", "time per added name, 10,000 to 40,000 names vs 1,000 to 10,000 (us/name)", hi,
                          "us", lo, hi / lo, "~1 (linear)", runs);
        }
        return ok;
}

int main(int argc, char **argv) {
        static double shim_ns[RUNS], base_ns[RUNS];
        struct bench_vault v;
        struct bench_env shim, base;
        const char *prog = find_true(), *valgrind = find_valgrind();
        char runs[32];
        bool ok = true;

        if (argc == 3 && strcmp(argv[1], "--worker") == 0 && strcmp(argv[2], "home") == 0) {
                /* The first lookup, which builds the shim's resolver. */
                const char *volatile home = getenv("HOME");

                (void) home;
                return 0;
        }
        if (argc != 2 || (strcmp(argv[1], "P4") != 0 && strcmp(argv[1], "P9") != 0)) {
                fprintf(stderr, "usage: bench-startup P4|P9\n");
                return 2;
        }
        if (strcmp(argv[1], "P9") == 0) {
                if (bench_vault_start(&v) < 0)
                        return 1;
                ok = setup_rows(&v);
                bench_vault_stop(&v);
                return ok ? 0 : 1;
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
