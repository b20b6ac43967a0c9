/* SPDX-License-Identifier: MIT */
/* Leases (dynamic secrets): how long leased values are served, and the
 * renewal that extends them. Renewal is lazy: the lookup that finds a
 * leased value past its freshness renews it (cache.c), nothing runs in
 * between. */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "resolve-internal.h"

uint64_t lease_ms(uint64_t duration_s) {
        return duration_s > UINT64_MAX / 4000 ? UINT64_MAX / 4 : duration_s * 1000;
}

/* 2/3 of the way, leaving a third of the lease for the renewal or the new
 * read (and for a slow Vault). */
uint64_t lease_fresh_until(uint64_t now, uint64_t duration_s) {
        return now + lease_ms(duration_s) / 3 * 2;
}

/* Called with p->lock held after a renewal that Vault granted in full:
 * every entry of the path keeps its value for another 2/3 of the lease. */
static void extend(struct ve_path *p, uint64_t now) {
        uint64_t until = lease_fresh_until(now, p->lease.duration_s);

        p->lease_until = until;
        for (struct ve_entry *e = p->entries; e; e = e->path_next)
                atomic_store_explicit(&e->fresh_until, until, memory_order_release);
}

bool lease_try_renew(struct ve_resolver *r, struct ve_path *p, const char *id, uint64_t increment_s) {
        struct ve_lease nl = {};
        char *errmsg = NULL;
        bool ok = false;
        int k;

        ve_debug("%s: renewing its lease", p->ref->path);
        k = r->source->renew(r->source->userdata, p->ref, id, increment_s, &nl, &errmsg);
        if (k < 0)
                ve_info("%s: renewing the lease failed (%s); reading it again", p->ref->path,
                        errmsg ? errmsg : strerror(-k));
        else if (nl.duration_s < increment_s)
                ve_info("%s: lease renewed for %llus only, less than %llus (its max TTL): reading it again",
                        p->ref->path, (unsigned long long) nl.duration_s, (unsigned long long) increment_s);
        else {
                pthread_mutex_lock(&p->lock);
                p->lease.duration_s = nl.duration_s;
                p->lease.renewable = nl.renewable;
                extend(p, r->now_ms());
                pthread_mutex_unlock(&p->lock);
                ok = true;
        }
        ve_lease_done(&nl);
        free(errmsg);
        return ok;
}
