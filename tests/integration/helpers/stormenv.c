/* SPDX-License-Identifier: MIT */
/* A thread storm on a name whose value has expired, for rotation.sh. It
 * knows nothing of vaultenv:
 *
 *   stormenv OUTFILE NAME SLEEP_MS THREADS
 *
 * Reads NAME once, sleeps SLEEP_MS (past its ttl), then THREADS threads
 * read NAME at once. Writes to OUTFILE (never to stdout/stderr) "first
 * NAME=VALUE" (or "first NAME unset"), flushed before the sleep so that a
 * test can rotate the secret then. After the storm it reads NAME once more
 * and writes "after NAME=VALUE"; then "storm NAME ok" when every thread got
 * either the first value (served while one thread refreshes) or the after
 * value, else "storm NAME other"; then "kept NAME=VALUE", what the pointer
 * the first read returned holds after the storm. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *name;
static pthread_barrier_t barrier;

static void *reader(void *p) {
        pthread_barrier_wait(&barrier);
        *(const char **) p = getenv(name);
        return NULL;
}

int main(int argc, char **argv) {
        const char *results[256] = { 0 }, *first, *after;
        pthread_t t[256];
        int threads;
        FILE *out;
        int same = 1;

        if (argc != 5 || (threads = atoi(argv[4])) < 1 || threads > 256) {
                fprintf(stderr, "usage: stormenv OUTFILE NAME SLEEP_MS THREADS\n");
                return 2;
        }
        name = argv[2];
        out = fopen(argv[1], "w");
        if (!out)
                return 2;
        first = getenv(name);
        if (first)
                fprintf(out, "first %s=%s\n", name, first);
        else
                fprintf(out, "first %s unset\n", name);
        fflush(out);
        usleep((useconds_t) atoi(argv[3]) * 1000);

        pthread_barrier_init(&barrier, NULL, (unsigned) threads);
        for (int k = 0; k < threads; k++)
                pthread_create(&t[k], NULL, reader, &results[k]);
        for (int k = 0; k < threads; k++)
                pthread_join(t[k], NULL);
        after = getenv(name);
        if (after)
                fprintf(out, "after %s=%s\n", name, after);
        else
                fprintf(out, "after %s unset\n", name);
        for (int k = 0; k < threads; k++)
                if (!results[k] || !((first && strcmp(results[k], first) == 0) ||
                                     (after && strcmp(results[k], after) == 0)))
                        same = 0;
        fprintf(out, "storm %s %s\n", name, same ? "ok" : "other");
        if (first)
                fprintf(out, "kept %s=%s\n", name, first);
        return fclose(out) == 0 ? 0 : 2;
}
