/* SPDX-License-Identifier: MIT */
/* The resolver's two indexes: names to explicit entries (open addressing,
 * looked up by table_find() in resolve-internal.h) and references to the
 * paths they read (the fixed paths of construction, then the dynamic ones
 * that references add). Both fixed tables are filled at construction and
 * immutable after, so lookups in them take no lock. */
#include <stdlib.h>
#include <string.h>

#include "resolve-internal.h"
#include "util.h"

void name_table_add(struct ve_resolver *r, struct ve_entry *e) {
        const char *name = e->map->name;
        size_t len = strlen(name), i;
        uint64_t w0, w1;

        name_words(name, len, &w0, &w1);
        for (i = name_slot(r, w0, w1, len); r->table[i].e; i = (i + 1) & r->table_mask)
                ;
        r->table[i] = (struct slot) { .w0 = w0, .w1 = w1, .len = len, .e = e };
        ve_name_filter_add_name(&r->filter, name);
}

static void path_locks_init(struct ve_path *p) {
        pthread_mutex_init(&p->lock, NULL);
        pthread_cond_init(&p->cond, NULL);
        p->fetching = false;
}

static bool ref_same_path(const struct ve_ref *a, const struct ve_ref *b) {
        return a->kv == b->kv && a->version == b->version && strcmp(a->path, b->path) == 0;
}

/* The slot of r->path_slots that holds ref's fixed path, or the empty one
 * where it goes; *compares counts the paths looked at on the way. */
static size_t path_slot(const struct ve_resolver *r, const struct ve_ref *ref, size_t *compares) {
        uint64_t h = ve_fnv1a(VE_FNV1A_INIT, ref->path, strlen(ref->path));
        size_t i;

        h = ve_fnv1a(h, &ref->kv, sizeof ref->kv);
        h = ve_fnv1a(h, &ref->version, sizeof ref->version);
        for (i = (size_t) h & r->path_mask; r->path_slots[i]; i = (i + 1) & r->path_mask) {
                ++*compares;
                if (ref_same_path(r->paths[r->path_slots[i] - 1].ref, ref))
                        break;
        }
        return i;
}

/* The fixed path for ref, or NULL. Lock-free: the index is immutable. */
static struct ve_path *fixed_path_find(const struct ve_resolver *r, const struct ve_ref *ref) {
        size_t compares = 0, k = r->path_slots[path_slot(r, ref, &compares)];

        return k ? &r->paths[k - 1] : NULL;
}

struct ve_path *path_fixed(struct ve_resolver *r, const struct ve_ref *ref) {
        size_t i = path_slot(r, ref, &r->path_compares);
        struct ve_path *p;

        if (r->path_slots[i])
                return &r->paths[r->path_slots[i] - 1];
        p = &r->paths[r->n_paths++];
        p->ref = ref;
        path_locks_init(p);
        r->path_slots[i] = r->n_paths;
        return p;
}

struct ve_path *path_dynamic(struct ve_resolver *r, const struct ve_ref *ref) {
        struct ve_path *p = fixed_path_find(r, ref);

        if (p)
                return p;
        for (p = r->dyn_paths; p; p = p->dyn_next)
                if (ref_same_path(p->ref, ref))
                        return p;
        p = calloc(1, sizeof *p);
        if (!p)
                return NULL;
        p->own_ref = (struct ve_ref) { .kv = ref->kv, .version = ref->version,
                                       .path = strdup(ref->path), .key = strdup(ref->key) };
        if (!p->own_ref.path || !p->own_ref.key) {
                ve_ref_done(&p->own_ref);
                free(p);
                return NULL;
        }
        p->ref = &p->own_ref;
        path_locks_init(p);
        p->dyn_next = r->dyn_paths;
        r->dyn_paths = p;
        return p;
}
