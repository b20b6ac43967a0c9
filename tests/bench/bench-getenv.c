/* SPDX-License-Identifier: MIT */
/* P1, P2, P3: the cost of one getenv() call under the shim.
 *
 *   bench-getenv P1|P2|P3
 *
 * The environment holds 50 variables (bench.h), 20 names are mapped over 3
 * Vault paths. P1 and P2: each process times REPS loops of ITER calls
 * (clock_gettime around the loop) and keeps its fastest; the figure is the
 * median of that over PROCS fresh processes, shim and baseline processes
 * alternating so that machine noise hits both alike. Noise only ever adds
 * time, and on a shared VM it comes in bursts that can cover a whole
 * process's life (both sides alike): the fastest loop of a process is its
 * cost, the median over processes drops the unlucky ones.
 *   P1: getenv of an unmapped variable in the middle of the environment,
 *       with the shim vs glibc's own getenv of it; also an absent name
 *       (a full scan) as P1b.
 *   P2: getenv of a mapped name whose value is cached (read once before
 *       the loop) vs glibc's getenv of a present variable (the same middle
 *       one as P1).
 *   P3: calls per second of the cached mapped getenv from 1, 2, 4 and 8
 *       threads (each its own ITER calls), as a ratio to 1 thread; glibc's
 *       getenv scaled the same way is the reference of what this machine
 *       (its cores, and what else runs on them) allows. Also the CPU time
 *       per call (CLOCK_THREAD_CPUTIME_ID) at N threads vs 1: it stays
 *       put without contention (no lock, no shared cache line written),
 *       whatever else keeps the cores busy.
 * Worker modes (run by the driver, under or without LD_PRELOAD):
 *   --worker loop NAME ITER REPS MUST      a "sample NS_PER_CALL" per rep
 *   --worker threads NAME N ITER REPS MUST "sample CALLS_PER_S" and
 *                                          "cpu NS_PER_CALL" per rep
 * MUST=1: the name must be served (read once first); exit 3 if not. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define PROCS 15
#define REPS 5
#define ITER 300000
#define T_PROCS 3
#define T_REPS 5
#define T_ITER 300000
#define LOOKED_UP 23            /* the filler in the middle of the environment */

static const char *volatile sink;

static int worker_loop(const char *name, long iter, int reps, bool must) {
        if (must && !getenv(name))
                return 3;
        for (int r = 0; r < reps; r++) {
                double t0 = bench_now_ns(), t1;

                for (long i = 0; i < iter; i++)
                        sink = getenv(name);
                t1 = bench_now_ns();
                printf("sample %.3f\n", (t1 - t0) / (double) iter);
        }
        return 0;
}

struct tctx {
        const char *name;
        long iter;
        pthread_barrier_t *start;
        double cpu_ns;          /* this thread's CPU time in its loop */
        double t_start, t_end;  /* its loop's wall clock */
};

static double thread_cpu_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return (double) ts.tv_sec * 1e9 + (double) ts.tv_nsec;
}

static void *thread_loop(void *p) {
        struct tctx *c = p;
        const char *v = NULL;
        double c0;

        pthread_barrier_wait(c->start);
        c->t_start = bench_now_ns();
        c0 = thread_cpu_ns();
        for (long i = 0; i < c->iter; i++)
                v = getenv(c->name);
        c->cpu_ns = thread_cpu_ns() - c0;
        c->t_end = bench_now_ns();
        sink = v;
        return NULL;
}

/* Per rep: "sample CALLS_PER_S" (wall: all threads' calls over the time
 * from the first thread's start to the last one's end) and "cpu NS" (CPU time per call,
 * averaged over the threads: it rises with contention on shared cache
 * lines or spinning, but not when other processes take the cores, which a
 * shared machine does to the wall figure). */
static int worker_threads(const char *name, int n, long iter, int reps, bool must) {
        pthread_t t[64];
        struct tctx c[64];

        if (n < 1 || n > 64)
                return 2;
        if (must && !getenv(name))
                return 3;
        for (int r = 0; r < reps; r++) {
                pthread_barrier_t start;
                double t0, t1, cpu = 0;

                pthread_barrier_init(&start, NULL, (unsigned) n + 1);
                for (int i = 0; i < n; i++) {
                        c[i] = (struct tctx) { .name = name, .iter = iter, .start = &start };
                        if (pthread_create(&t[i], NULL, thread_loop, &c[i]) != 0)
                                return 2;
                }
                pthread_barrier_wait(&start);
                for (int i = 0; i < n; i++)
                        pthread_join(t[i], NULL);
                pthread_barrier_destroy(&start);
                t0 = c[0].t_start;
                t1 = c[0].t_end;
                for (int i = 0; i < n; i++) {
                        cpu += c[i].cpu_ns / (double) iter;
                        t0 = c[i].t_start < t0 ? c[i].t_start : t0;
                        t1 = c[i].t_end > t1 ? c[i].t_end : t1;
                }
                printf("sample %.1f\ncpu %.3f\n", (double) n * (double) iter / ((t1 - t0) / 1e9), cpu / n);
        }
        return 0;
}

static int worker(int argc, char **argv) {
        if (argc == 7 && strcmp(argv[2], "loop") == 0)
                return worker_loop(argv[3], atol(argv[4]), atoi(argv[5]), atoi(argv[6]));
        if (argc == 8 && strcmp(argv[2], "threads") == 0)
                return worker_threads(argv[3], atoi(argv[4]), atol(argv[5]), atoi(argv[6]), atoi(argv[7]));
        fprintf(stderr, "bench-getenv: bad worker arguments\n");
        return 2;
}

/* Runs one worker; appends its samples to v[*n]. False: the instrument broke. */
static bool run_worker(struct bench_env *env, const char *what, char **args, double *v, size_t *n, size_t max,
                       double *cpu, size_t *n_cpu) {
        char *argv[12] = { (char *) bench_self(), "--worker" }, *out = NULL;
        int status, r;
        size_t i;

        for (i = 0; args[i] && i < 9; i++)
                argv[i + 2] = args[i];
        argv[i + 2] = NULL;
        r = bench_run(argv, env->vars, &out, &status);
        if (r < 0) {
                fprintf(stderr, "bench-getenv: %s: cannot run the worker\n", what);
                return false;
        }
        if (WIFEXITED(status) && WEXITSTATUS(status) == 3) {
                fprintf(stderr, "bench-getenv: %s: the mapped name was not served (is the dev Vault up?)\n", what);
                free(out);
                return false;
        }
        if (!bench_ok(what, status)) {
                free(out);
                return false;
        }
        *n += bench_samples(out, v + *n, max - *n);
        if (cpu)
                *n_cpu += bench_values(out, "cpu ", cpu + *n_cpu, max - *n_cpu);
        free(out);
        return true;
}

static char num_buf[8][32];
static char *num(int slot, long x) {
        snprintf(num_buf[slot], sizeof num_buf[slot], "%ld", x);
        return num_buf[slot];
}

/* The fastest of v[from..n): a worker's samples. */
static double fastest(const double *v, size_t from, size_t n) {
        double m = v[from];

        for (size_t i = from + 1; i < n; i++)
                if (v[i] < m)
                        m = v[i];
        return m;
}

/* PROCS alternating pairs of loop workers: (shim, name_shim, must) vs
 * (base, name_base). Medians over the processes of each one's fastest loop
 * in *ret_fig, *ret_base. */
static bool loop_pair(struct bench_env *shim, struct bench_env *base, const char *name_shim, bool must,
                      const char *name_base, double *ret_fig, double *ret_base) {
        static double fs[PROCS * REPS], bs[PROCS * REPS], fmin[PROCS], bmin[PROCS];
        size_t nf = 0, nb = 0;

        for (int p = 0; p < PROCS; p++) {
                char *a_base[] = { "loop", (char *) name_base, num(0, ITER), num(1, REPS), "0", NULL };
                char *a_shim[] = { "loop", (char *) name_shim, num(2, ITER), num(3, REPS), must ? "1" : "0", NULL };
                size_t f0 = nf, b0 = nb;

                if (!run_worker(base, "baseline worker", a_base, bs, &nb, PROCS * REPS, NULL, NULL) ||
                    !run_worker(shim, "shim worker", a_shim, fs, &nf, PROCS * REPS, NULL, NULL))
                        return false;
                if (nb == b0 || nf == f0) {
                        fprintf(stderr, "bench-getenv: a worker printed no sample\n");
                        return false;
                }
                bmin[p] = fastest(bs, b0, nb);
                fmin[p] = fastest(fs, f0, nf);
        }
        *ret_fig = bench_median(fmin, PROCS);
        *ret_base = bench_median(bmin, PROCS);
        return true;
}

int main(int argc, char **argv) {
        struct bench_vault v;
        struct bench_env shim, base;
        const char *which = argc > 1 ? argv[1] : "all";
        char runs[32];
        bool ok = true;
        double fig, bl;

        if (argc > 2 && strcmp(argv[1], "--worker") == 0)
                return worker(argc, argv);
        if (argc != 2 || (strcmp(which, "P1") && strcmp(which, "P2") && strcmp(which, "P3"))) {
                fprintf(stderr, "usage: bench-getenv P1|P2|P3\n");
                return 2;
        }
        if (bench_standard_start(&v, &shim, &base) < 0)
                return 1;
        snprintf(runs, sizeof runs, "%dx%d", PROCS, REPS);

        if (strcmp(which, "P1") == 0) {
                ok = loop_pair(&shim, &base, bench_filler_name(LOOKED_UP), false, bench_filler_name(LOOKED_UP), &fig,
                               &bl);
                if (ok)
                        bench_row("P1", "getenv, unmapped name present in env (ns/call)", fig, "ns", bl, fig / bl,
                                  "<= 1.10", runs);
                ok = ok && loop_pair(&shim, &base, bench_filler_name(BENCH_FILLERS), false,
                                     bench_filler_name(BENCH_FILLERS), &fig, &bl);
                if (ok)
                        bench_row("P1b", "getenv, unmapped name absent (full scan) (ns/call)", fig, "ns", bl, fig / bl,
                                  "<= 1.10", runs);
        } else if (strcmp(which, "P2") == 0) {
                ok = loop_pair(&shim, &base, bench_mapped_name(5), true, bench_filler_name(LOOKED_UP), &fig, &bl);
                if (ok)
                        bench_row("P2", "getenv, mapped name, value cached (ns/call)", fig, "ns", bl, fig / bl,
                                  "<= 1.00", runs);
        } else {
                static const int counts[] = { 1, 2, 4, 8 };
                double med[2][4], cpu[2][4];
                long cores = sysconf(_SC_NPROCESSORS_ONLN);

                for (int i = 0; i < 4 && ok; i++) {
                        static double s[2][T_PROCS * T_REPS], c[2][T_PROCS * T_REPS];
                        size_t n[2] = { 0, 0 }, nc[2] = { 0, 0 };

                        for (int p = 0; p < T_PROCS && ok; p++) {
                                char *a_shim[] = { "threads", (char *) bench_mapped_name(5), num(0, counts[i]),
                                                   num(1, T_ITER), num(2, T_REPS), "1", NULL };
                                char *a_base[] = { "threads", (char *) bench_filler_name(LOOKED_UP), num(3, counts[i]),
                                                   num(4, T_ITER), num(5, T_REPS), "0", NULL };

                                ok = run_worker(&shim, "shim worker", a_shim, s[0], &n[0], T_PROCS * T_REPS, c[0],
                                                &nc[0]) &&
                                     run_worker(&base, "baseline worker", a_base, s[1], &n[1], T_PROCS * T_REPS, c[1],
                                                &nc[1]);
                        }
                        for (int k = 0; k < 2; k++) {
                                med[k][i] = bench_median(s[k], n[k]);
                                cpu[k][i] = bench_median(c[k], nc[k]);
                        }
                }
                snprintf(runs, sizeof runs, "%dx%d", T_PROCS, T_REPS);
                printf("P3: %ld online CPU(s): more threads than that cannot add throughput; other load on the "
                       "machine lowers the wall figures, not the CPU time per call\n", cores);
                for (int i = 0; ok && i < 4; i++)
                        printf("P3: %d thread(s): shim %.1f Mcalls/s (%.1f ns CPU/call), glibc %.1f Mcalls/s "
                               "(%.1f ns CPU/call)\n",
                               counts[i], med[0][i] / 1e6, cpu[0][i], med[1][i] / 1e6, cpu[1][i]);
                for (int i = 1; ok && i < 4; i++) {
                        char id[16], what[112], target[64];
                        int ideal = counts[i] < cores ? counts[i] : (int) cores;

                        snprintf(id, sizeof id, "P3/%d", counts[i]);
                        snprintf(what, sizeof what, "cached mapped getenv, %d threads vs 1 (Mcalls/s, wall)", counts[i]);
                        snprintf(target, sizeof target, "~%d (%ld cores)", ideal, cores);
                        bench_row(id, what, med[0][i] / 1e6, "M/s", med[0][0] / 1e6, med[0][i] / med[0][0], target,
                                  runs);
                        snprintf(id, sizeof id, "P3ref/%d", counts[i]);
                        snprintf(what, sizeof what, "glibc getenv, %d threads vs 1 (reference) (Mcalls/s, wall)",
                                 counts[i]);
                        bench_row(id, what, med[1][i] / 1e6, "M/s", med[1][0] / 1e6, med[1][i] / med[1][0], "-",
                                  runs);
                        snprintf(id, sizeof id, "P3cpu/%d", counts[i]);
                        snprintf(what, sizeof what, "cached mapped getenv, %d threads vs 1 (ns CPU/call)", counts[i]);
                        bench_row(id, what, cpu[0][i], "ns", cpu[0][0], cpu[0][i] / cpu[0][0], "~1.00 (no contention)",
                                  runs);
                }
        }

        bench_standard_stop(&v, &shim, &base);
        return ok ? 0 : 1;
}
