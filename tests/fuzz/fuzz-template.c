/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reference.h"
#include "template.h"

/* libFuzzer entry point for the template and reference parsers (as
 * fuzz-mapfile.c):
 *
 *     ninja -C build-fuzz tests/fuzz/fuzz-template
 *     build-fuzz/tests/fuzz/fuzz-template -max_total_time=600 CORPUS_DIR tests/fuzz/corpus/template
 *
 * The bytes, NUL-terminated, go to ve_template_parse() (and, when it
 * succeeds, ve_template_render() with fake values), to ve_urlencode(), and
 * to ve_reference_parse() behind "vault:". Aborts when a promise breaks. */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char unreserved[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct ve_template *t = NULL;
        struct ve_ref ref = {};
        char *s, *err = NULL, *out = NULL, *lit = NULL, *v;
        size_t off = 0;
        int r;

        if (size > 65536)
                return 0;
        s = malloc(size + sizeof "vault:");
        if (!s)
                return 0;
        memcpy(s, "vault:", 6);
        memcpy(s + 6, data, size);
        s[size + 6] = '\0';

        r = ve_template_parse(s + 6, &t, &off, &err);
        if (r == 0) {
                const char **values = calloc(t->n_refs ? t->n_refs : 1, sizeof *values);

                if (err || t->n_refs == 0 || !ve_template_ref(t, t->n_refs - 1) || ve_template_ref(t, t->n_refs))
                        abort();
                if (values) {
                        for (size_t i = 0; i < t->n_refs; i++)
                                values[i] = "fake-\x01@/ %";
                        if (ve_template_render(t, values, &out) == 0)
                                free(out);
                        free(values);
                }
                ve_template_free(t);
        } else if (r == -EINVAL && (!err || off > strlen(s + 6)))
                abort();
        free(err);
        err = NULL;

        v = ve_urlencode(s + 6);
        if (v) {
                for (const char *c = v; *c; c++)
                        if (*c != '%' && !strchr(unreserved, *c))
                                abort();
                free(v);
        }

        r = ve_reference_parse(s, &ref, &lit, &err);
        if (r == 0) {
                if (!ref.path || !ref.key || !strchr(ref.path, '/'))
                        abort();
                ve_ref_done(&ref);
        } else if (r == 1) {
                if (!lit || strncmp(lit, "vault:", 6) != 0)
                        abort();
                free(lit);
        } else if (r == -EINVAL && !err)
                abort();
        free(err);
        free(s);
        return 0;
}
