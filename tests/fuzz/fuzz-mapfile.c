/* SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mapfile.h"
#include "template.h"

/* libFuzzer entry point, in the shape of systemd's fuzz-env-file.c:
 *
 *     CC=clang meson setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false
 *     ninja -C build-fuzz tests/fuzz/fuzz-mapfile
 *     build-fuzz/tests/fuzz/fuzz-mapfile -max_total_time=600 CORPUS_DIR tests/fuzz/corpus/mapfile
 *
 * Every build also replays the seed corpus through it (fuzz-main.c).
 *
 * Feeds the bytes to ve_map_parse() as a whole file (templates and bulk
 * rules included), and as a
 * NUL-terminated string to ve_ref_parse(). Beyond the sanitizers, it checks
 * what a successful parse promises and aborts when that does not hold. */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_ref(const struct ve_ref *ref) {
        if (!ref->path || !ref->key || ref->key[0] == '\0')
                abort();
        if (ref->kv != VE_KV_AUTO && ref->kv != VE_KV_1 && ref->kv != VE_KV_2)
                abort();
        if (ref->path[0] == '/' || !strchr(ref->path, '/') || strchr(ref->path, '#') ||
            strstr(ref->path, "//") || ref->path[strlen(ref->path) - 1] == '/')
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct ve_map *map = NULL;
        struct ve_ref ref = {};
        char *error = NULL, *s;
        int r;

        /* Larger inputs only make each run slower, not the search better. */
        if (size > 65536)
                return 0;

        r = ve_map_parse("fuzz", (const char *) data, size, &map, &error);
        if (r == 0) {
                if (!map || error)
                        abort();
                for (size_t i = 0; i < map->n_entries; i++) {
                        const struct ve_map_entry *e = &map->entries[i];

                        if (!ve_name_valid(e->name) || ve_map_find(map, e->name) != e)
                                abort();
                        if (e->required && e->default_value)
                                abort();
                        check_ref(&e->ref);
                        if (e->tmpl && (e->tmpl->n_refs == 0 || !ve_template_ref(e->tmpl, 0)))
                                abort();
                }
                for (size_t i = 0; i < map->n_bulk; i++) {
                        const struct ve_map_bulk *b = &map->bulk[i];

                        if (!ve_name_valid(b->prefix) || strcmp(b->ref.key, "*") != 0)
                                abort();
                        check_ref(&b->ref);
                        for (size_t j = 0; j < i; j++)
                                if (strncmp(b->prefix, map->bulk[j].prefix, strlen(map->bulk[j].prefix)) == 0 ||
                                    strncmp(map->bulk[j].prefix, b->prefix, strlen(b->prefix)) == 0)
                                        abort();
                }
                ve_map_free(map);
        } else if (!error || strncmp(error, "fuzz:", 5) != 0)
                abort();
        free(error);
        error = NULL;

        s = malloc(size + 1);
        if (!s)
                return 0;
        memcpy(s, data, size);
        s[size] = '\0';
        r = ve_ref_parse(s, &ref, &error);
        if (r == 0) {
                check_ref(&ref);
                ve_ref_done(&ref);
        } else if (!error)
                abort();
        free(error);
        free(s);
        return 0;
}
