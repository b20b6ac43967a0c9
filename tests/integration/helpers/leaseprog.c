/* SPDX-License-Identifier: MIT */
/* A program that keeps what getenv() returned, for the lease tests: a
 * re-read of a dynamic secret must never change a value an earlier getenv
 * returned. It knows nothing of vaultenv.
 *
 *   leaseprog OUTFILE STEP...
 *
 * A STEP is a NAME (getenv it; the pointer and a copy of the value are
 * kept) or "--sleep MS". At the end it writes to OUTFILE (never to
 * stdout/stderr, so test logs hold no values) one line per lookup,
 * "NAME=VALUE" or "NAME unset", where VALUE is what the kept pointer holds
 * NOW, then "pointers stable" when every kept pointer still holds the copy
 * made when it was returned, else "pointers changed". */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_LOOKUPS 64

int main(int argc, char **argv) {
        const char *names[MAX_LOOKUPS], *ptrs[MAX_LOOKUPS];
        char *copies[MAX_LOOKUPS];
        size_t n = 0;
        bool stable = true;
        FILE *out;

        if (argc < 3) {
                fprintf(stderr, "usage: leaseprog OUTFILE [NAME | --sleep MS]...\n");
                return 2;
        }
        for (int i = 2; i < argc; i++) {
                if (strcmp(argv[i], "--sleep") == 0 && i + 1 < argc) {
                        usleep((useconds_t) atoi(argv[++i]) * 1000);
                        continue;
                }
                if (n == MAX_LOOKUPS)
                        return 2;
                names[n] = argv[i];
                ptrs[n] = getenv(argv[i]);
                copies[n] = ptrs[n] ? strdup(ptrs[n]) : NULL;
                n++;
        }
        out = fopen(argv[1], "w");
        if (!out) {
                perror(argv[1]);
                return 2;
        }
        for (size_t k = 0; k < n; k++) {
                if (ptrs[k])
                        fprintf(out, "%s=%s\n", names[k], ptrs[k]);
                else
                        fprintf(out, "%s unset\n", names[k]);
                if ((ptrs[k] == NULL) != (copies[k] == NULL) ||
                    (ptrs[k] && strcmp(ptrs[k], copies[k]) != 0))
                        stable = false;
                free(copies[k]);
        }
        fprintf(out, "pointers %s\n", stable ? "stable" : "changed");
        return fclose(out) == 0 ? 0 : 2;
}
