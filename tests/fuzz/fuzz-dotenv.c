/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dotenv.h"
#include "export.h"
#include "util.h"
#include "mapfile.h"
#include "migrate.h"

/* libFuzzer entry point for the dotenv parser, its writer and the migrate
 * plan (as fuzz-mapfile.c):
 *
 *     ninja -C build-fuzz tests/fuzz/fuzz-dotenv
 *     build-fuzz/tests/fuzz/fuzz-dotenv -max_total_time=600 CORPUS_DIR tests/fuzz/corpus/dotenv
 *
 * Aborts when a promise of dotenv.h breaks: a failure has a
 * "FILE:LINE:COL: " message; a success has valid names and in-order spans,
 * rewriting with nothing replaced gives the text back byte for byte, and
 * every value survives export's ve_dotenv_quote() and a new parse unchanged. */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_round_trip(const struct ve_dotenv_entry *e) {
        struct ve_dotenv *d = NULL;
        char *line, *q, *err = NULL;

        q = ve_dotenv_quote(e->value);
        if (!q)
                return;
        line = ve_asprintf("%s=%s", e->name, q);
        ve_erase_free(q);
        if (!line)
                return;
        if (ve_dotenv_parse("rt.env", line, strlen(line), &d, &err) != 0 || d->n != 1 ||
            strcmp(d->entries[0].name, e->name) != 0 || strcmp(d->entries[0].value, e->value) != 0 ||
            d->entries[0].expands)
                abort();
        ve_dotenv_free(d);
        free(err);
        free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct ve_migrate_options o = { .mount = "secret", .prefix = "app", .source = ".env",
                                        .map_name = "vaultenv.map" };
        struct ve_migrate_plan *plan = NULL;
        struct ve_dotenv *d = NULL;
        const char **rep;
        char *err = NULL, *out = NULL, *text;
        size_t prev_end = 0;
        int r;

        if (size > 65536)
                return 0;
        r = ve_dotenv_parse("fuzz.env", (const char *) data, size, &d, &err);
        if (r < 0) {
                if (r == -EINVAL && (!err || strncmp(err, "fuzz.env:", 9) != 0))
                        abort();
                free(err);
                return 0;
        }
        if (err)
                abort();
        for (size_t i = 0; i < d->n; i++) {
                const struct ve_dotenv_entry *e = &d->entries[i];

                if (!ve_name_valid(e->name) || e->start < prev_end || e->end < e->start || e->end > d->len ||
                    e->last_line < e->line || (e->quote == VE_DOTENV_BARE) != (e->value == NULL))
                        abort();
                prev_end = e->end;
                if (e->value)
                        check_round_trip(e);
        }
        if (ve_dotenv_rewrite(d, NULL, &out) == 0) {
                if (strlen(out) != size || memcmp(out, data, size) != 0)
                        abort();
                free(out);
        }
        rep = calloc(d->n ? d->n : 1, sizeof *rep);
        if (rep) {
                for (size_t i = 0; i < d->n; i++)
                        rep[i] = i % 2 ? "" : "# replaced";
                if (ve_dotenv_rewrite(d, rep, &out) == 0)
                        free(out);
                free(rep);
        }
        if (ve_migrate_plan(d, &o, &plan, &err) == 0) {
                text = ve_migrate_plan_text(plan, ".env", "vaultenv.map");
                free(text);
                ve_migrate_plan_free(plan);
        }
        free(err);
        ve_dotenv_free(d);
        return 0;
}
