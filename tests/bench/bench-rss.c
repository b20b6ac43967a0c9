/* SPDX-License-Identifier: MIT */
/* P8: resident memory (VmRSS of /proc/PID/status) added by the shim.
 *
 *   bench-rss P8
 *
 * Nothing read: /bin/sleep with the shim preloaded and the 20-name mapping,
 * vs /bin/sleep without, same environment; VmRSS once it sleeps (its
 * /proc/PID/syscall shows nanosleep or clock_nanosleep, or its wchan
 * names a sleep when /proc/PID/syscall is not readable).
 * 20 secrets read: this program ("--worker hold NAME...") reads the 20
 * mapped names, says "ready" and waits; without the shim the same program
 * reads the same names (unset there). RUNS of each, alternating; medians;
 * the figure is the KiB added (median with minus median without). */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define RUNS 5

static int worker_hold(int n, char **names, bool must) {
        for (int i = 0; i < n; i++)
                if (!getenv(names[i]) && must)
                        return 3;
        printf("ready\n");
        fflush(stdout);
        for (;;)
                pause();
}

static long vm_rss_kib(pid_t pid) {
        char path[64], line[256];
        long kib = -1;
        FILE *f;

        snprintf(path, sizeof path, "/proc/%d/status", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return -1;
        while (fgets(line, sizeof line, f))
                if (strncmp(line, "VmRSS:", 6) == 0)
                        kib = strtol(line + 6, NULL, 10);
        fclose(f);
        return kib;
}

/* Whether pid sleeps in nanosleep/clock_nanosleep (x86_64 and aarch64
 * numbers), falling back to its wchan. */
static bool is_sleeping(pid_t pid) {
        char path[64], buf[256] = "";
        FILE *f;

        snprintf(path, sizeof path, "/proc/%d/syscall", (int) pid);
        f = fopen(path, "re");
        if (f) {
                bool got = fgets(buf, sizeof buf, f) != NULL;
                long nr = strtol(buf, NULL, 10);

                fclose(f);
                if (got && buf[0] >= '0' && buf[0] <= '9')
#if defined(__x86_64__)
                        return nr == 35 || nr == 230;
#elif defined(__aarch64__)
                        return nr == 101 || nr == 115;
#else
                        return false;
#endif
        }
        snprintf(path, sizeof path, "/proc/%d/wchan", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return false;
        buf[0] = '\0';
        if (!fgets(buf, sizeof buf, f))
                buf[0] = '\0';
        fclose(f);
        return strstr(buf, "nanosleep") != NULL;
}

/* How many of the heavy libraries (the core, libcurl, TLS, cJSON) pid has
 * mapped; their names appended to list. */
static int heavy_libraries(pid_t pid, char *list, size_t size) {
        static const char *const heavy[] = { "libvaultenv-core", "libcurl", "libssl", "libcrypto", "libgnutls",
                                             "libcjson" };
        bool seen[sizeof heavy / sizeof *heavy] = { false };
        char path[64], line[1024];
        int n = 0;
        FILE *f;

        snprintf(path, sizeof path, "/proc/%d/maps", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return -1;
        while (fgets(line, sizeof line, f))
                for (size_t i = 0; i < sizeof heavy / sizeof *heavy; i++)
                        if (!seen[i] && strstr(line, heavy[i])) {
                                size_t l = strlen(list);

                                seen[i] = true;
                                n++;
                                snprintf(list + l, size - l, "%s%s", l ? " " : "", heavy[i]);
                        }
        fclose(f);
        return n;
}

static void end(pid_t pid) {
        kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
}

/* RSS of a sleeping /bin/sleep started with env; < 0 on failure. The
 * number of heavy libraries it mapped in *ret_heavy (names in list). */
static long sleep_rss(struct bench_env *env, int *ret_heavy, char *list, size_t size) {
        char *argv[] = { access("/bin/sleep", X_OK) == 0 ? "/bin/sleep" : "/usr/bin/sleep", "600", NULL };
        pid_t pid;
        long kib = -1;

        if (bench_spawn(argv, env->vars, NULL, &pid) < 0)
                return -1;
        /* up to 10 s for it to reach its sleep (not a timing assertion) */
        for (int i = 0; i < 10000; i++) {
                int status;

                if (waitpid(pid, &status, WNOHANG) == pid) {
                        fprintf(stderr, "bench-rss: sleep ended early\n");
                        return -1;
                }
                if (is_sleeping(pid)) {
                        kib = vm_rss_kib(pid);
                        list[0] = '\0';
                        *ret_heavy = heavy_libraries(pid, list, size);
                        break;
                }
                nanosleep(&(struct timespec) { .tv_nsec = 1000 * 1000 }, NULL);
        }
        end(pid);
        return kib;
}

/* RSS of the worker once it read the 20 names; < 0 on failure. */
static long read20_rss(struct bench_env *env, bool shim) {
        char *argv[BENCH_MAPPED + 5] = { (char *) bench_self(), "--worker", "hold", shim ? "1" : "0" };
        char buf[16] = "";
        pid_t pid;
        long kib = -1;
        int fd;
        ssize_t n;

        for (size_t i = 0; i < BENCH_MAPPED; i++)
                argv[4 + i] = (char *) bench_mapped_name(i);
        argv[4 + BENCH_MAPPED] = NULL;
        if (bench_spawn(argv, env->vars, &fd, &pid) < 0)
                return -1;
        do
                n = read(fd, buf, sizeof buf - 1);
        while (n < 0 && errno == EINTR);
        close(fd);
        if (n > 0 && strncmp(buf, "ready", 5) == 0)
                kib = vm_rss_kib(pid);
        else
                fprintf(stderr, "bench-rss: the worker did not get its names%s\n", shim ? " (is the dev Vault up?)" : "");
        end(pid);
        return kib;
}

int main(int argc, char **argv) {
        double s0[RUNS], b0[RUNS], s20[RUNS], b20[RUNS];
        struct bench_vault v;
        struct bench_env shim, base;
        char runs[16], list[256] = "";
        bool ok = true;
        int heavy = -1, heavy_base = -1;

        if (argc > 3 && strcmp(argv[1], "--worker") == 0 && strcmp(argv[2], "hold") == 0)
                return worker_hold(argc - 4, argv + 4, strcmp(argv[3], "1") == 0);
        if (argc != 2 || strcmp(argv[1], "P8") != 0) {
                fprintf(stderr, "usage: bench-rss P8\n");
                return 2;
        }
        if (bench_standard_start(&v, &shim, &base) < 0)
                return 1;
        for (int r = 0; r < RUNS && ok; r++) {
                long a = sleep_rss(&base, &heavy_base, list, sizeof list), b = sleep_rss(&shim, &heavy, list, sizeof list);
                long c = read20_rss(&base, false), d = read20_rss(&shim, true);

                ok = a > 0 && b > 0 && c > 0 && d > 0 && heavy >= 0;
                b0[r] = (double) a;
                s0[r] = (double) b;
                b20[r] = (double) c;
                s20[r] = (double) d;
        }
        if (!ok)
                fprintf(stderr, "bench-rss: could not read VmRSS\n");
        else {
                double ms0 = bench_median(s0, RUNS), mb0 = bench_median(b0, RUNS);
                double ms20 = bench_median(s20, RUNS), mb20 = bench_median(b20, RUNS);

                snprintf(runs, sizeof runs, "%d", RUNS);
                printf("P8: VmRSS of sleep: %.0f KiB with the shim, %.0f KiB without\n", ms0, mb0);
                printf("P8: VmRSS after reading 20 names: %.0f KiB with the shim, %.0f KiB without\n", ms20, mb20);
                bench_row("P8", "RSS added to a preloaded sleep that reads nothing (KiB; baseline = RSS without)",
                          ms0 - mb0, "KiB", mb0, ms0 / mb0, "<= 256 KiB added", runs);
                printf("P8: heavy libraries mapped in the preloaded sleep: %s\n", heavy ? list : "none");
                bench_row("P8lib", "heavy libraries (core, libcurl, TLS, cJSON) mapped in the preloaded sleep",
                          heavy, "", 0, NAN, "0", runs);
                bench_row("P8r", "RSS added to a program that read 20 secrets (KiB; baseline = RSS without)",
                          ms20 - mb20, "KiB", mb20, ms20 / mb20, "report", runs);
        }
        bench_standard_stop(&v, &shim, &base);
        return ok ? 0 : 1;
}
