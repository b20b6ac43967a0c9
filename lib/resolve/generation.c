/* SPDX-License-Identifier: MIT */
/* Changes told from outside: a counter that another process (`vaultenv
 * exec --on-change`, which watches Vault) bumps when a mapped secret
 * changed. The hot path compares it with the value the cache was made
 * stale for (one load); the slow path makes the cache stale. Values already
 * handed out stay valid (retired, never freed before the resolver). */
#include "log.h"
#include "resolve-internal.h"

void ve_resolver_follow_generation(struct ve_resolver *r, const _Atomic(uint64_t) *generation) {
        atomic_store_explicit(&r->generation_seen, atomic_load_explicit(generation, memory_order_acquire),
                              memory_order_relaxed);
        r->generation = generation;
}

/* Called with p->lock held. A leased path (dynamic secret) is left alone:
 * its values change with its lease, and a read would issue a new one. */
static void path_make_stale(struct ve_path *p) {
        if (p->leased)
                return;
        p->regen++;
        for (struct ve_entry *e = p->entries; e; e = e->path_next)
                atomic_store_explicit(&e->fresh_until, 0, memory_order_release);
}

void generation_sync(struct ve_resolver *r) {
        uint64_t g;

        pthread_mutex_lock(&r->dyn_lock);
        g = atomic_load_explicit(r->generation, memory_order_acquire);
        if (g != atomic_load_explicit(&r->generation_seen, memory_order_relaxed)) {
                ve_debug("secrets changed in Vault (generation %llu): reading them again on their next lookup",
                         (unsigned long long) g);
                for (size_t i = 0; i < r->n_paths; i++) {
                        pthread_mutex_lock(&r->paths[i].lock);
                        path_make_stale(&r->paths[i]);
                        pthread_mutex_unlock(&r->paths[i].lock);
                }
                for (struct ve_path *p = r->dyn_paths; p; p = p->dyn_next) {
                        pthread_mutex_lock(&p->lock);
                        path_make_stale(p);
                        pthread_mutex_unlock(&p->lock);
                }
                atomic_store_explicit(&r->generation_seen, g, memory_order_release);
        }
        pthread_mutex_unlock(&r->dyn_lock);
}
