/* SPDX-License-Identifier: MIT */
/* Templates: each reference of a template is a hidden part entry on its
 * path (sharing reads with every other name there); the template's Vault
 * value is the rendering of its parts' values, made again, as a new
 * pointer, when a part's value changes. */
#include <errno.h>
#include <stdlib.h>

#include "resolve-internal.h"
#include "template.h"

int template_setup(struct ve_resolver *r, struct ve_entry *e) {
        const struct ve_template *t = e->map->tmpl;
        struct tmpl_state *ts;

        ts = calloc(1, sizeof *ts);
        if (!ts)
                return -ENOMEM;
        e->tmpl = ts;
        pthread_mutex_init(&ts->lock, NULL);
        ts->parts = calloc(t->n_refs, sizeof *ts->parts);
        ts->part_maps = calloc(t->n_refs, sizeof *ts->part_maps);
        if (!ts->parts || !ts->part_maps)
                return -ENOMEM;
        ts->n = t->n_refs;
        for (size_t i = 0; i < t->n_refs; i++) {
                struct ve_map_entry *m = &ts->part_maps[i];
                struct ve_entry *pe = &ts->parts[i];

                m->name = e->map->name;
                m->ref = ve_template_ref(t, i)->ref;
                m->ttl_ms = e->map->ttl_ms;
                m->line = e->map->line;
                pe->map = m;
                pthread_mutex_init(&pe->fb_lock, NULL);
                entry_attach(pe, path_fixed(r, &m->ref));
        }
        return 0;
}

/* Under ts->lock: renders e from its parts' values now, unless the
 * rendering in place (or one another thread made meanwhile) was made from
 * the same; publishes the new one and retires the old. The value to
 * serve, or NULL when a part has none. */
static const char *render_locked(struct ve_resolver *r, struct ve_entry *e) {
        struct tmpl_state *ts = e->tmpl;
        struct render *rd = atomic_load(&ts->render), *nrd;
        bool same;

        nrd = calloc(1, sizeof *nrd + ts->n * sizeof nrd->from[0]);
        if (!nrd)
                return NULL;
        nrd->n = ts->n;
        same = rd != NULL;
        for (size_t i = 0; i < ts->n; i++) {
                nrd->from[i] = atomic_load_explicit(&ts->parts[i].vault_value, memory_order_acquire);
                if (!nrd->from[i]) {
                        free(nrd);
                        return NULL;
                }
                if (rd && rd->from[i] != nrd->from[i])
                        same = false;
        }
        if (same) {
                /* Another thread rendered these values meanwhile. */
                free(nrd);
                return rd->value;
        }
        if (ve_template_render(e->map->tmpl, nrd->from, &nrd->value) < 0) {
                free(nrd);
                return rd ? rd->value : NULL;
        }
        atomic_store_explicit(&ts->render, nrd, memory_order_release);
        if (rd)
                retire_with(r, rd->value, rd);
        return nrd->value;
}

/* Lock-free while the parts' values stay the same; a re-render takes
 * ts->lock. */
const char *template_value(struct ve_resolver *r, struct ve_entry *e) {
        struct tmpl_state *ts = e->tmpl;
        struct render *rd;
        const char *value;
        bool same;

        for (size_t i = 0; i < ts->n; i++)
                if (!entry_fresh(r, &ts->parts[i]))
                        entry_fetch(r, &ts->parts[i]);

        rd = atomic_load_explicit(&ts->render, memory_order_acquire);
        same = rd != NULL;
        for (size_t i = 0; i < ts->n; i++) {
                const char *v = atomic_load_explicit(&ts->parts[i].vault_value, memory_order_acquire);

                if (!v)
                        return NULL;
                if (rd && rd->from[i] != v)
                        same = false;
        }
        if (same)
                return rd->value;

        pthread_mutex_lock(&ts->lock);
        value = render_locked(r, e);
        pthread_mutex_unlock(&ts->lock);
        return value;
}
