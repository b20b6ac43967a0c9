/* SPDX-License-Identifier: MIT */
/* An ordinary program that reads environment variables through libc, as
 * legacy programs do; it knows nothing of vaultenv. It writes what it got to
 * OUTFILE (never to stdout/stderr, so test logs hold no values):
 *
 *   readenv [--secure] [--setlocale] [--threads N] [--wait READYFILE] OUTFILE NAME...
 *
 * "NAME=value" or "NAME unset" per name. --secure uses secure_getenv.
 * --threads N: N threads read the first NAME at once (cold); adds a line
 * "threads same" or "threads differ". --wait: after writing, create
 * READYFILE and sleep until killed (for /proc/PID/environ checks).
 * --fork: read the first NAME, then fork; the child reads every NAME and
 * writes OUTFILE; the parent exits with the child's status.
 * --chdir DIR: changes to DIR before reading (OUTFILE is opened after).
 * --setlocale: setlocale(LC_ALL, "") first, as localised programs do.
 * Among the NAMEs, "--sleep MS" pauses that long before reading on (for
 * ttl, lease and token-renewal tests within one process). */
#include <locale.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *first_name;
static pthread_barrier_t barrier;

static void *reader(void *p) {
        pthread_barrier_wait(&barrier);
        *(char **) p = getenv(first_name);
        return NULL;
}

int main(int argc, char **argv) {
        bool secure = false, do_fork = false;
        int threads = 0, i;
        const char *ready = NULL;
        char *results[256] = { 0 };
        FILE *out;

        for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
                if (strcmp(argv[i], "--secure") == 0)
                        secure = true;
                else if (strcmp(argv[i], "--fork") == 0)
                        do_fork = true;
                else if (strcmp(argv[i], "--setlocale") == 0) {
                        if (!setlocale(LC_ALL, "")) {
                                fprintf(stderr, "readenv: setlocale: the locale of the environment is not available\n");
                                return 2;
                        }
                }
                else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
                        threads = atoi(argv[++i]);
                else if (strcmp(argv[i], "--wait") == 0 && i + 1 < argc)
                        ready = argv[++i];
                else if (strcmp(argv[i], "--chdir") == 0 && i + 1 < argc) {
                        if (chdir(argv[++i]) < 0) {
                                perror(argv[i]);
                                return 2;
                        }
                } else {
                        fprintf(stderr, "readenv: unknown option %s\n", argv[i]);
                        return 2;
                }
        }
        if (i + 1 >= argc || threads > 256) {
                fprintf(stderr, "usage: readenv [--secure] [--fork] [--setlocale] [--threads N] [--wait FILE] [--chdir DIR] OUTFILE NAME...\n");
                return 2;
        }
        if (do_fork) {
                pid_t pid;
                int status;

                (void) getenv(argv[i + 1]);
                pid = fork();
                if (pid < 0)
                        return 2;
                if (pid > 0) {
                        if (waitpid(pid, &status, 0) < 0)
                                return 2;
                        return WIFEXITED(status) ? WEXITSTATUS(status) : 2;
                }
        }
        out = fopen(argv[i], "w");
        if (!out) {
                perror(argv[i]);
                return 2;
        }
        first_name = argv[i + 1];

        if (threads > 0) {
                pthread_t t[256];

                pthread_barrier_init(&barrier, NULL, (unsigned) threads);
                for (int k = 0; k < threads; k++)
                        pthread_create(&t[k], NULL, reader, &results[k]);
                for (int k = 0; k < threads; k++)
                        pthread_join(t[k], NULL);
        }

        for (int k = i + 1; k < argc; k++) {
                const char *v;

                if (strcmp(argv[k], "--sleep") == 0 && k + 1 < argc) {
                        fflush(out);
                        usleep((useconds_t) atoi(argv[++k]) * 1000);
                        continue;
                }
                v = secure ? secure_getenv(argv[k]) : getenv(argv[k]);

                if (v)
                        fprintf(out, "%s=%s\n", argv[k], v);
                else
                        fprintf(out, "%s unset\n", argv[k]);
        }
        if (threads > 0) {
                bool same = results[0] != NULL;

                for (int k = 1; k < threads; k++)
                        same = same && results[k] == results[0];
                fprintf(out, "threads %s\n", same ? "same" : "differ");
        }
        if (fclose(out) != 0)
                return 2;

        if (ready) {
                FILE *f = fopen(ready, "w");

                if (f)
                        fclose(f);
                for (;;)
                        pause();
        }
        return 0;
}
