/* SPDX-License-Identifier: MIT */
/* Re-reads one name many times, for mem-flat.sh. It knows nothing of
 * vaultenv:
 *
 *   rereadprog OUTFILE NAME WARMUP COUNT SLEEP_MS
 *
 * Reads NAME WARMUP times, then COUNT times more, sleeping SLEEP_MS before
 * each read (past the name's ttl, so that each read fetches it anew).
 * Writes to OUTFILE (never to stdout/stderr, and never the value) the
 * VmRSS and VmLck of /proc/self/status, in kB, after the warm-up and at
 * the end ("rss A B", "lck A B"), then "same" when every read gave the
 * value of the first, else "changed" (or "unset"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long status_kb(const char *field) {
        char line[256];
        size_t n = strlen(field);
        long v = -1;
        FILE *f = fopen("/proc/self/status", "re");

        if (!f)
                return -1;
        while (fgets(line, sizeof line, f))
                if (strncmp(line, field, n) == 0 && line[n] == ':') {
                        v = strtol(line + n + 1, NULL, 10);
                        break;
                }
        fclose(f);
        return v;
}

int main(int argc, char **argv) {
        struct timespec pause;
        long warmup, count, sleep_ms, rss0 = status_kb("VmRSS"), lck0 = status_kb("VmLck");
        const char *v;
        char *first;
        int same = 1;
        FILE *out;

        if (argc != 6) {
                fprintf(stderr, "usage: rereadprog OUTFILE NAME WARMUP COUNT SLEEP_MS\n");
                return 2;
        }
        warmup = atol(argv[3]);
        count = atol(argv[4]);
        sleep_ms = atol(argv[5]);
        pause = (struct timespec) { .tv_sec = sleep_ms / 1000, .tv_nsec = sleep_ms % 1000 * 1000000 };
        v = getenv(argv[2]);
        first = v ? strdup(v) : NULL;
        for (long i = 0; i < warmup + count; i++) {
                if (i == warmup) {
                        rss0 = status_kb("VmRSS");
                        lck0 = status_kb("VmLck");
                }
                nanosleep(&pause, NULL);
                v = getenv(argv[2]);
                if (!v || !first || strcmp(v, first) != 0)
                        same = 0;
        }
        out = fopen(argv[1], "w");
        if (!out)
                return 2;
        fprintf(out, "rss %ld %ld\nlck %ld %ld\n%s\n", rss0, status_kb("VmRSS"), lck0, status_kb("VmLck"),
                !first ? "unset" : same ? "same" : "changed");
        free(first);
        return fclose(out) == 0 ? 0 : 2;
}
