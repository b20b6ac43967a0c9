/* SPDX-License-Identifier: MIT */
/* Entries made after construction: bulk names (on their first lookup) and
 * references (per (name, value) pair seen in the environment). Each lives
 * on an append-only list that is read without a lock; making one takes
 * dyn_lock, then the path's lock to join it. A new entry takes its value
 * from the path's last read, if any, so it costs no request. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "resolve-internal.h"

/* Called with r->dyn_lock held: attaches a new entry to p and gives it the
 * values of p's last read, if any. */
static void entry_join(struct ve_resolver *r, struct ve_path *p, struct ve_entry *e) {
        pthread_mutex_lock(&p->lock);
        entry_attach(e, p);
        if (p->last) {
                uint64_t until = p->leased ? p->lease_until :
                                 e->map->ttl_ms ? p->read_at + e->map->ttl_ms : FOREVER;

                entry_set(r, p, e, p->last);
                atomic_store_explicit(&e->fresh_until, until, memory_order_release);
        }
        pthread_mutex_unlock(&p->lock);
}

static struct ve_entry *dyn_entry_new(const char *name) {
        struct ve_entry *e = calloc(1, sizeof *e);

        if (!e)
                return NULL;
        e->dynamic = true;
        e->own_map.name = strdup(name);
        if (!e->own_map.name) {
                free(e);
                return NULL;
        }
        e->map = &e->own_map;
        pthread_mutex_init(&e->fb_lock, NULL);
        return e;
}

struct ve_entry *bulk_entry(struct ve_resolver *r, struct bulk_rule *b, const char *name) {
        struct ve_entry *e;

        for (e = atomic_load_explicit(&b->names, memory_order_acquire); e; e = e->dyn_next)
                if (strcmp(e->map->name, name) == 0)
                        return e;
        if (!ve_name_valid(name))
                return NULL;

        pthread_mutex_lock(&r->dyn_lock);
        for (e = atomic_load(&b->names); e; e = e->dyn_next)
                if (strcmp(e->map->name, name) == 0)
                        goto out;
        e = dyn_entry_new(name);
        if (!e)
                goto out;
        /* The rule's reference, borrowed: the key "*" is never looked up,
         * the name rule finds the key instead (cache.c). */
        e->own_map.ref = b->map->ref;
        e->own_map.ttl_ms = b->map->ttl_ms;
        e->own_map.line = b->map->line;
        e->bulk = b->map;
        entry_join(r, b->path, e);
        e->dyn_next = atomic_load(&b->names);
        atomic_store_explicit(&b->names, e, memory_order_release);
out:
        pthread_mutex_unlock(&r->dyn_lock);
        return e;
}

/* Called with r->dyn_lock held: a new reference entry for (name, value). */
static struct ve_entry *reference_entry_new(struct ve_resolver *r, const char *name, const char *value) {
        struct ve_entry *e = dyn_entry_new(name);
        char *err = NULL;
        int k;

        if (!e)
                return NULL;
        e->is_reference = true;
        e->ref_value = strdup(value);
        if (!e->ref_value) {
                entry_done(e);
                free(e);
                return NULL;
        }
        k = ve_reference_parse(value, &e->own_map.ref, &e->literal, &err);
        if (k == -EINVAL) {
                /* The value is not shown: it is only malformed, but it
                 * may be a secret pasted into the wrong variable. */
                ve_warn("%s: %s; the variable reads as unset", name, err ? err : "invalid reference");
                free(err);
                e->invalid = true;
        } else if (k < 0) {
                entry_done(e);
                free(e);
                return NULL;
        } else if (k == 0) {
                struct ve_path *p = path_dynamic(r, &e->own_map.ref);

                if (!p) {
                        entry_done(e);
                        free(e);
                        return NULL;
                }
                ve_debug("%s: a reference to %s", name, p->ref->path);
                entry_join(r, p, e);
        }
        return e;
}

static bool reference_is(const struct ve_entry *e, const char *name, const char *value) {
        return strcmp(e->map->name, name) == 0 && strcmp(e->ref_value, value) == 0;
}

struct ve_entry *reference_entry(struct ve_resolver *r, const char *name, const char *value) {
        struct ve_entry *e;

        for (e = atomic_load_explicit(&r->refs, memory_order_acquire); e; e = e->dyn_next)
                if (reference_is(e, name, value))
                        return e;

        pthread_mutex_lock(&r->dyn_lock);
        for (e = atomic_load(&r->refs); e; e = e->dyn_next)
                if (reference_is(e, name, value))
                        break;
        if (!e) {
                e = reference_entry_new(r, name, value);
                if (e) {
                        e->dyn_next = atomic_load(&r->refs);
                        atomic_store_explicit(&r->refs, e, memory_order_release);
                }
        }
        pthread_mutex_unlock(&r->dyn_lock);
        return e;
}
