/* SPDX-License-Identifier: MIT */
/* P5 and P7: what reaches the Vault server, counted by scripts/vault-dev's
 * /_dev/requests (every Vault API request, and accepted TCP connections).
 *
 *   bench-requests P5|P7
 *
 * P5: a fresh process reads the 20 mapped names (3 paths) once each. The
 *     figures are the secret reads (3 expected), every request (plus the
 *     one-time mount detection or login), the TCP connections (1 expected),
 *     and the time per request over the kept-alive connection: the time of
 *     the lookups after the first (which loads the core, connects and reads
 *     the first path) divided by the requests they made (those naming the
 *     2 other paths). Its baseline: a minimal C client's GET of the same
 *     path over one kept-alive connection, the floor on this server.
 * P7: 64 threads of a fresh process read one cold mapped name at once; the
 *     reads of its path at the server (exactly 1 expected).
 * Each over RUNS fresh processes; medians (P7 also says the maximum).
 * Worker modes:
 *   --worker first NAME...   "sample" lines: ns of the first lookup, then
 *                            ns of the other lookups together; exit 3 when
 *                            a name was not served
 *   --worker storm NAME N    N threads at once; exit 3 when one got NULL
 *                            or the threads got different pointers */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "bench.h"

#define RUNS 5
#define STORM 64

static int worker_first(int n, char **names) {
        double t0, t1, t2;
        bool all = true;

        t0 = bench_now_ns();
        all = getenv(names[0]) != NULL;
        t1 = bench_now_ns();
        for (int i = 1; i < n; i++)
                all = getenv(names[i]) && all;
        t2 = bench_now_ns();
        printf("sample %.0f\nsample %.0f\n", t1 - t0, t2 - t1);
        return all ? 0 : 3;
}

static const char *storm_name;
static pthread_barrier_t storm_barrier;

static void *storm_thread(void *p) {
        pthread_barrier_wait(&storm_barrier);
        *(const char **) p = getenv(storm_name);
        return NULL;
}

static int worker_storm(const char *name, int n) {
        pthread_t t[STORM];
        const char *got[STORM] = { 0 };
        bool ok = true;

        if (n < 1 || n > STORM)
                return 2;
        storm_name = name;
        pthread_barrier_init(&storm_barrier, NULL, (unsigned) n);
        for (int i = 0; i < n; i++)
                if (pthread_create(&t[i], NULL, storm_thread, &got[i]) != 0)
                        return 2;
        for (int i = 0; i < n; i++)
                pthread_join(t[i], NULL);
        for (int i = 0; i < n; i++)
                ok = ok && got[i] && got[i] == got[0];
        return ok ? 0 : 3;
}

/* Runs the worker under the shim; its samples into s (at most max). */
static bool run_worker(struct bench_env *env, char **args, double *s, size_t max, size_t *ret_n) {
        char *argv[BENCH_MAPPED + 8] = { (char *) bench_self(), "--worker" }, *out = NULL;
        int status;
        size_t i;

        for (i = 0; args[i] && i < BENCH_MAPPED + 4; i++)
                argv[i + 2] = args[i];
        argv[i + 2] = NULL;
        if (bench_run(argv, env->vars, &out, &status) < 0) {
                fprintf(stderr, "bench-requests: cannot run the worker\n");
                return false;
        }
        if (WIFEXITED(status) && WEXITSTATUS(status) == 3) {
                fprintf(stderr, "bench-requests: a mapped name was not served (or threads disagreed)\n");
                free(out);
                return false;
        }
        if (!bench_ok("worker", status)) {
                free(out);
                return false;
        }
        *ret_n = s ? bench_samples(out, s, max) : 0;
        free(out);
        return true;
}

/* The request keys of the last run, for the log: names and paths only. */
static void show_requests(const struct bench_vault *v) {
        char *t = bench_dev_requests_text(v);

        if (t) {
                printf("requests at the server (one run): %s", t);
                if (!strchr(t, '\n'))
                        putchar('\n');
        }
        free(t);
}

static bool p5(const struct bench_vault *v, struct bench_env *shim) {
        double reads[RUNS], total[RUNS], conns[RUNS], per_req[RUNS], cold[RUNS], floor_ns[RUNS];
        char *args[BENCH_MAPPED + 2] = { "first" };
        size_t k = 1;

        /* first a name on svc-a, then the others (svc-a, b and c) */
        for (size_t i = 0; i < BENCH_MAPPED; i++)
                args[k++] = (char *) bench_mapped_name(i);
        args[k] = NULL;

        for (int r = 0; r < RUNS; r++) {
                struct bench_counts all, b, c;
                double s[2];
                size_t n;

                if (bench_dev_reset(v) < 0 || !run_worker(shim, args, s, 2, &n) || n != 2 ||
                    bench_dev_counts(v, "GET /v1/secret/data/bench/svc-", &all) < 0 ||
                    bench_dev_counts(v, "svc-b", &b) < 0 || bench_dev_counts(v, "svc-c", &c) < 0) {
                        fprintf(stderr, "bench-requests: P5 run %d failed\n", r + 1);
                        return false;
                }
                if (r == 0)
                        show_requests(v);
                reads[r] = (double) all.matching;
                total[r] = (double) all.total;
                conns[r] = (double) all.connections;
                cold[r] = s[0] / 1e6;
                per_req[r] = b.matching + c.matching > 0 ? s[1] / (double) (b.matching + c.matching) / 1e3 : 0;
                floor_ns[r] = bench_http_keepalive_ns(v, "/v1/secret/data/bench/svc-b", 50) / 1e3;
                if (floor_ns[r] < 0) {
                        fprintf(stderr, "bench-requests: the minimal client failed\n");
                        return false;
                }
        }
        {
                double fr = bench_median(reads, RUNS), ft = bench_median(total, RUNS), fc = bench_median(conns, RUNS);
                double fp = bench_median(per_req, RUNS), fb = bench_median(floor_ns, RUNS);
                char runs[16];

                snprintf(runs, sizeof runs, "%d", RUNS);
                bench_row("P5", "first access to 20 names on 3 paths: secret reads", fr, "req", 3, fr / 3,
                          "exactly 3", runs);
                bench_row("P5all", "first access to 20 names on 3 paths: all requests (+mount detection/login)", ft,
                          "req", 3, ft / 3, "3 + one-time", runs);
                bench_row("P5conn", "first access to 20 names on 3 paths: TCP connections", fc, "conn", 1, fc,
                          "exactly 1", runs);
                bench_row("P5t", "time per request over keep-alive vs a minimal C client (us)", fp, "us", fb, fp / fb,
                          "-", runs);
                bench_row("P5cold", "first mapped lookup: core load, connect, first read (ms)", bench_median(cold, RUNS),
                          "ms", NAN, NAN, "-", runs);
        }
        return true;
}

static bool p7(const struct bench_vault *v, struct bench_env *shim) {
        double reads[RUNS], max = 0;
        char n_arg[16], *args[] = { "storm", (char *) bench_mapped_name(0), n_arg, NULL };
        char runs[16], what[96];

        snprintf(n_arg, sizeof n_arg, "%d", STORM);
        for (int r = 0; r < RUNS; r++) {
                struct bench_counts c;
                size_t n;

                if (bench_dev_reset(v) < 0 || !run_worker(shim, args, NULL, 0, &n) ||
                    bench_dev_counts(v, "GET /v1/secret/data/bench/svc-a", &c) < 0) {
                        fprintf(stderr, "bench-requests: P7 run %d failed\n", r + 1);
                        return false;
                }
                if (r == 0)
                        show_requests(v);
                reads[r] = (double) c.matching;
                if (reads[r] > max)
                        max = reads[r];
        }
        snprintf(runs, sizeof runs, "%d", RUNS);
        snprintf(what, sizeof what, "%d threads, one cold name: reads of its path at the server (max %.0f)", STORM,
                 max);
        {
                double m = bench_median(reads, RUNS);

                bench_row("P7", what, m, "req", 1, m, "exactly 1", runs);
        }
        return true;
}

int main(int argc, char **argv) {
        struct bench_vault v;
        struct bench_env shim;
        bool ok;

        if (argc > 2 && strcmp(argv[1], "--worker") == 0) {
                if (strcmp(argv[2], "first") == 0 && argc > 3)
                        return worker_first(argc - 3, argv + 3);
                if (strcmp(argv[2], "storm") == 0 && argc == 5)
                        return worker_storm(argv[3], atoi(argv[4]));
                fprintf(stderr, "bench-requests: bad worker arguments\n");
                return 2;
        }
        if (argc != 2 || (strcmp(argv[1], "P5") && strcmp(argv[1], "P7"))) {
                fprintf(stderr, "usage: bench-requests P5|P7\n");
                return 2;
        }
        if (bench_standard_start(&v, &shim, NULL) < 0)
                return 1;
        ok = strcmp(argv[1], "P5") == 0 ? p5(&v, &shim) : p7(&v, &shim);
        bench_standard_stop(&v, &shim, NULL);
        return ok ? 0 : 1;
}
