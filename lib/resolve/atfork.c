/* SPDX-License-Identifier: MIT */
/* The fork handlers (resolve.h): every lock of the resolver, taken in one
 * fixed order before fork() and released after it on both sides, so that
 * the child never inherits a lock some vanished thread held. */
#include "resolve-internal.h"

/* The locks of one entry (its template's, then its fallback's): lock or
 * unlock. */
static void entry_locks(struct ve_entry *e, bool lock) {
        int (*op)(pthread_mutex_t *) = lock ? pthread_mutex_lock : pthread_mutex_unlock;

        if (e->tmpl) {
                op(&e->tmpl->lock);
                for (size_t k = 0; k < e->tmpl->n; k++)
                        op(&e->tmpl->parts[k].fb_lock);
        }
        op(&e->fb_lock);
}

/* Every lock of r, in the one order the fork handlers take them. The
 * dynamic lists (references, bulk names, dynamic paths) only grow under
 * dyn_lock, taken first: they stay as walked until it is released. */
static void all_locks(struct ve_resolver *r, bool lock) {
        int (*op)(pthread_mutex_t *) = lock ? pthread_mutex_lock : pthread_mutex_unlock;

        op(&r->dyn_lock);
        for (size_t i = 0; i < r->map->n_entries; i++)
                entry_locks(&r->entries[i], lock);
        for (struct ve_entry *e = atomic_load(&r->refs); e; e = e->dyn_next)
                entry_locks(e, lock);
        for (size_t i = 0; i < r->map->n_bulk; i++)
                for (struct ve_entry *e = atomic_load(&r->bulk[i].names); e; e = e->dyn_next)
                        entry_locks(e, lock);
        for (size_t i = 0; i < r->n_paths; i++)
                op(&r->paths[i].lock);
        for (struct ve_path *p = r->dyn_paths; p; p = p->dyn_next)
                op(&p->lock);
        op(&r->retired_lock);
}

void ve_resolver_atfork_prepare(struct ve_resolver *r) {
        if (r)
                all_locks(r, true);
}

void ve_resolver_atfork_parent(struct ve_resolver *r) {
        if (r)
                all_locks(r, false);
}

static void path_atfork_child(struct ve_path *p) {
        /* Its waiters and its fetching thread, if any, are the parent's. */
        pthread_cond_init(&p->cond, NULL);
        p->fetching = false;
}

static void atfork_entries(struct ve_entry *e) {
        /* The audit trail is per process: the child records what it
         * resolves under its own pid. */
        for (; e; e = e->dyn_next)
                atomic_store(&e->audit_key, 0);
}

void ve_resolver_atfork_child(struct ve_resolver *r) {
        if (!r)
                return;
        for (size_t i = 0; i < r->n_paths; i++)
                path_atfork_child(&r->paths[i]);
        for (struct ve_path *p = r->dyn_paths; p; p = p->dyn_next)
                path_atfork_child(p);
        /* The leases stay: the child serves the same values, and renews
         * them (the renewal is the parent's lease too) or reads anew. */
        for (size_t i = 0; i < r->map->n_entries; i++)
                atomic_store(&r->entries[i].audit_key, 0);
        atfork_entries(atomic_load(&r->refs));
        for (size_t i = 0; i < r->map->n_bulk; i++)
                atfork_entries(atomic_load(&r->bulk[i].names));
        all_locks(r, false);
}
