/* SPDX-License-Identifier: MIT */
/* librelctor.so, for rel-plugin.sh, rel-concurrency.sh and canary.sh: a library that reads
 * environment variables in its constructor, as GnuTLS, p11-kit or a
 * plugin do. It knows nothing of vaultenv. Its constructor reads every
 * name in REL_CTOR_NAMES (space-separated) and writes "NAME=value" or
 * "NAME unset" per name to the file REL_CTOR_OUT (never stdout/stderr). It
 * reads those two variables through getenv() too: when a test preloads it
 * before the shim, that getenv() is the first one of the process. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((constructor))
static void relctor_start(void) {
        const char *names = getenv("REL_CTOR_NAMES"), *outfile = getenv("REL_CTOR_OUT");
        char buf[1024], *save = NULL;
        FILE *out;

        if (!names || !outfile || strlen(names) >= sizeof buf)
                return;
        strcpy(buf, names);
        out = fopen(outfile, "w");
        if (!out)
                return;
        for (char *n = strtok_r(buf, " ", &save); n; n = strtok_r(NULL, " ", &save)) {
                const char *v = getenv(n);

                if (v)
                        fprintf(out, "%s=%s\n", n, v);
                else
                        fprintf(out, "%s unset\n", n);
        }
        fclose(out);
}

/* For rel-plugin.sh: proof that dlopen() returned a working object. */
int relctor_loaded(void);
int relctor_loaded(void) {
        return 1;
}
