/* SPDX-License-Identifier: MIT */
/* An ordinary multithreaded program for the reliability tests (rel-*.sh);
 * it knows nothing of vaultenv. It writes what it got to OUTFILE, never to
 * stdout/stderr, so that test logs hold no values:
 *
 *   relprog fork OUTFILE SLOW OTHER
 *     a thread reads SLOW (the test makes its fetch slow); meanwhile the
 *     main thread forks; the child reads SLOW and OTHER and writes
 *     "NAME=value"/"NAME unset" lines to OUTFILE; the parent then writes
 *     "parent SLOW=value" to OUTFILE.parent. Exit status: the child's.
 *   relprog signal OUTFILE SLOW UNMAPPED CACHED
 *     reads CACHED, then a thread reads SLOW while the main thread keeps
 *     sending SIGUSR1 to that thread and to itself; the handler calls
 *     getenv(UNMAPPED) and getenv(CACHED). Writes "handled some"/"none",
 *     "handler values same"/"differ" (the handler got what the main thread
 *     got outside it; for CACHED, when the handler interrupted the shim's
 *     own work, its environment value), then "SLOW=value".
 *   relprog guard OUTFILE SLOW
 *     a thread reads SLOW (cold; the test makes its fetch slow) while the
 *     main thread keeps sending SIGUSR1 to that thread; the handler, once
 *     the thread is inside getenv(), calls getenv(SLOW) itself and
 *     compares (never copies) what it got. Writes "handler env none"/"some"
 *     (got SLOW's environment value), "handler unset none"/"some" (got
 *     NULL), then "SLOW=value".
 *   relprog dlopen OUTFILE PLUGIN [FIRST|-] [RACE]
 *     optionally reads FIRST (the shim is then initialised); with RACE, a
 *     thread reads RACE at the moment the main thread calls dlopen(PLUGIN);
 *     writes "dlopen ok" when dlopen() returned and the plugin's symbol
 *     works, then "RACE=value".
 * The main thread waits a little before forking/while signalling; that
 * only makes the interesting case likely, nothing asserts a duration. */

#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static const char *slow_name;
static const char *volatile slow_value;
static atomic_bool slow_started, slow_done;
static pthread_barrier_t barrier;

static void *slow_reader(void *arg) {
        (void) arg;
        pthread_barrier_wait(&barrier);
        atomic_store(&slow_started, true);
        slow_value = getenv(slow_name);
        atomic_store(&slow_done, true);
        return NULL;
}

static void msleep(long ms) {
        struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

        while (nanosleep(&ts, &ts) < 0)
                ;
}

static void put(FILE *out, const char *prefix, const char *name, const char *v) {
        if (v)
                fprintf(out, "%s%s=%s\n", prefix, name, v);
        else
                fprintf(out, "%s%s unset\n", prefix, name);
}

static int do_fork(const char *outfile, const char *other) {
        pthread_t t;
        pid_t pid;
        int status;
        FILE *out;
        char parent_file[4096];

        pthread_barrier_init(&barrier, NULL, 2);
        pthread_create(&t, NULL, slow_reader, NULL);
        pthread_barrier_wait(&barrier);
        msleep(300);    /* the fetch is (very likely) in flight now */
        pid = fork();
        if (pid < 0)
                return 2;
        if (pid == 0) {
                out = fopen(outfile, "w");
                if (!out)
                        _exit(2);
                put(out, "", slow_name, getenv(slow_name));
                put(out, "", other, getenv(other));
                _exit(fclose(out) == 0 ? 0 : 2);
        }
        if (waitpid(pid, &status, 0) < 0)
                return 2;
        pthread_join(t, NULL);
        snprintf(parent_file, sizeof parent_file, "%s.parent", outfile);
        out = fopen(parent_file, "w");
        if (!out)
                return 2;
        put(out, "parent ", slow_name, slow_value);
        if (fclose(out) != 0)
                return 2;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 2;
}

static const char *sig_unmapped, *sig_cached;
static const char *expect_unmapped, *expect_cached, *env_cached;
static atomic_int handled, handler_differs;

static void on_signal(int sig) {
        const char *u = getenv(sig_unmapped), *c = getenv(sig_cached);

        (void) sig;
        /* Interrupting the shim's own work on its thread, a mapped name
         * passes through as every getenv() there does: its environment
         * value. Anywhere else: what main() got. */
        if (u != expect_unmapped || (c != expect_cached && c != env_cached))
                atomic_store(&handler_differs, 1);
        atomic_fetch_add(&handled, 1);
}

static int do_signal(const char *outfile, const char *unmapped, const char *cached) {
        struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESTART };
        pthread_t t;
        FILE *out;

        sig_unmapped = unmapped;
        sig_cached = cached;
        expect_unmapped = getenv(unmapped);
        expect_cached = getenv(cached);
        for (char **e = environ; e && *e; e++)
                if (strncmp(*e, cached, strlen(cached)) == 0 && (*e)[strlen(cached)] == '=')
                        env_cached = *e + strlen(cached) + 1;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGUSR1, &sa, NULL);
        pthread_barrier_init(&barrier, NULL, 2);
        pthread_create(&t, NULL, slow_reader, NULL);
        pthread_barrier_wait(&barrier);
        while (!atomic_load(&slow_done)) {
                pthread_kill(t, SIGUSR1);
                raise(SIGUSR1);
                msleep(1);
        }
        pthread_join(t, NULL);
        out = fopen(outfile, "w");
        if (!out)
                return 2;
        fprintf(out, "handled %s\n", atomic_load(&handled) > 0 ? "some" : "none");
        fprintf(out, "handler values %s\n", atomic_load(&handler_differs) ? "differ" : "same");
        put(out, "", slow_name, slow_value);
        return fclose(out) == 0 ? 0 : 2;
}

static const char *guard_env;
static atomic_int guard_env_seen, guard_unset_seen;

/* Only once the thread is inside its own getenv(SLOW): a handler that ran
 * before would make the first (cold) lookup itself. strcmp() is
 * async-signal-safe in glibc. */
static void on_guard_signal(int sig) {
        const char *v;

        (void) sig;
        if (!atomic_load(&slow_started) || atomic_load(&slow_done))
                return;
        v = getenv(slow_name);
        if (!v)
                atomic_fetch_add(&guard_unset_seen, 1);
        else if (guard_env && strcmp(v, guard_env) == 0)
                atomic_fetch_add(&guard_env_seen, 1);
}

static int do_guard(const char *outfile) {
        struct sigaction sa = { .sa_handler = on_guard_signal, .sa_flags = SA_RESTART };
        size_t n = strlen(slow_name);
        pthread_t t;
        FILE *out;

        for (char **e = environ; e && *e; e++)
                if (strncmp(*e, slow_name, n) == 0 && (*e)[n] == '=') {
                        guard_env = *e + n + 1;
                        break;
                }
        sigemptyset(&sa.sa_mask);
        sigaction(SIGUSR1, &sa, NULL);
        pthread_barrier_init(&barrier, NULL, 2);
        pthread_create(&t, NULL, slow_reader, NULL);
        pthread_barrier_wait(&barrier);
        msleep(200);    /* the fetch is (very likely) in flight now */
        while (!atomic_load(&slow_done)) {
                pthread_kill(t, SIGUSR1);
                msleep(1);
        }
        pthread_join(t, NULL);
        out = fopen(outfile, "w");
        if (!out)
                return 2;
        fprintf(out, "handler env %s\n", atomic_load(&guard_env_seen) > 0 ? "some" : "none");
        fprintf(out, "handler unset %s\n", atomic_load(&guard_unset_seen) > 0 ? "some" : "none");
        put(out, "", slow_name, slow_value);
        return fclose(out) == 0 ? 0 : 2;
}

static int do_dlopen(const char *outfile, const char *plugin, const char *first, const char *race) {
        pthread_t t;
        void *h;
        int (*loaded)(void) = NULL;
        FILE *out;

        if (first && strcmp(first, "-") != 0)
                (void) getenv(first);
        if (race) {
                slow_name = race;
                pthread_barrier_init(&barrier, NULL, 2);
                pthread_create(&t, NULL, slow_reader, NULL);
                pthread_barrier_wait(&barrier);
        }
        h = dlopen(plugin, RTLD_NOW | RTLD_LOCAL);
        if (h)
                loaded = (int (*)(void)) dlsym(h, "relctor_loaded");
        if (race)
                pthread_join(t, NULL);
        out = fopen(outfile, "w");
        if (!out)
                return 2;
        fprintf(out, "dlopen %s\n", loaded && loaded() == 1 ? "ok" : "failed");
        if (race)
                put(out, "", race, slow_value);
        return fclose(out) == 0 ? 0 : 2;
}

int main(int argc, char **argv) {
        if (argc == 5 && strcmp(argv[1], "fork") == 0) {
                slow_name = argv[3];
                return do_fork(argv[2], argv[4]);
        }
        if (argc == 6 && strcmp(argv[1], "signal") == 0) {
                slow_name = argv[3];
                return do_signal(argv[2], argv[4], argv[5]);
        }
        if (argc == 4 && strcmp(argv[1], "guard") == 0) {
                slow_name = argv[3];
                return do_guard(argv[2]);
        }
        if (argc >= 4 && argc <= 6 && strcmp(argv[1], "dlopen") == 0)
                return do_dlopen(argv[2], argv[3], argc > 4 ? argv[4] : NULL, argc > 5 ? argv[5] : NULL);
        fprintf(stderr, "usage: relprog fork OUTFILE SLOW OTHER | signal OUTFILE SLOW UNMAPPED CACHED |"
                        " guard OUTFILE SLOW | dlopen OUTFILE PLUGIN [FIRST|-] [RACE]\n");
        return 2;
}
