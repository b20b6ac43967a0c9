/* SPDX-License-Identifier: MIT */
/* The per-path cache: one thread fetches a cold or expired path (single
 * flight; the others serve what they had or wait on p->cond), then hands
 * every entry of the path its value under p->lock. No lock is held while
 * the source does network I/O. Leased values (dynamic secrets) are renewed
 * lazily: the lookup that finds one past its freshness renews the lease,
 * nothing runs in between. Values are published as new pointers, the
 * replaced ones retired (entry.c), so lock-free readers never see one
 * freed. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "resolve-internal.h"
#include "util.h"

#define LEASE_RETRY_MIN_MS 1000

/* ---- leases ---- */

/* A lease's duration in milliseconds, capped well below overflow. */
static uint64_t lease_ms(uint64_t duration_s) {
        return duration_s > UINT64_MAX / 4000 ? UINT64_MAX / 4 : duration_s * 1000;
}

/* Until when values under a lease of duration_s, obtained at now, are
 * served without renewing: 2/3 of the way, leaving a third of the lease for
 * the renewal or the new read (and for a slow Vault). */
static uint64_t lease_fresh_until(uint64_t now, uint64_t duration_s) {
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

/* Without lock: tries to renew p's lease (id is a copy taken under the
 * lock). true when Vault granted the whole increment: p's lease and its
 * entries are then updated. false: the caller reads the path anew. */
static bool lease_try_renew(struct ve_resolver *r, struct ve_path *p, const char *id, uint64_t increment_s) {
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

/* ---- handing the entries of a path their values ---- */

/* The value for e in s: its key, or for a bulk name the one key that the
 * name rule turns into it (NULL, with *ret_ambiguous, when several do). */
static const char *entry_lookup(const struct ve_entry *e, const struct ve_secret *s, bool *ret_ambiguous) {
        const char *suffix, *found = NULL;

        *ret_ambiguous = false;
        if (!e->bulk)
                return ve_secret_get(s, e->map->ref.key);
        suffix = e->map->name + strlen(e->bulk->prefix);
        for (size_t i = 0; i < s->n; i++)
                if (ve_bulk_name_matches(s->keys[i], suffix)) {
                        if (found) {
                                *ret_ambiguous = true;
                                return NULL;
                        }
                        found = s->values[i];
                }
        return found;
}

void entry_set(struct ve_resolver *r, struct ve_path *p, struct ve_entry *e, const struct ve_secret *secret) {
        char *old = atomic_load(&e->vault_value);
        bool ambiguous;
        const char *v = entry_lookup(e, secret, &ambiguous);

        atomic_store_explicit(&e->vault_version, secret->version, memory_order_relaxed);
        e->stale_since = 0;
        free(e->vault_reason);
        e->vault_reason = NULL;
        e->vault_error = v ? 0 : -ENODATA;
        if (!v) {
                if (ambiguous)
                        e->vault_reason = ve_asprintf("several keys in %s give the name %s", p->ref->path,
                                                      e->map->name);
                else if (e->bulk)
                        e->vault_reason = ve_asprintf("no key in %s gives the name %s", p->ref->path, e->map->name);
                else
                        e->vault_reason = ve_asprintf("no key \"%s\" in %s", e->map->ref.key, p->ref->path);
                if (old) {
                        atomic_store(&e->vault_value, NULL);
                        retire(r, old);
                }
        } else if (!old || strcmp(old, v) != 0) {
                char *nv = ve_secure_strdup(v);

                if (!nv) {
                        e->vault_reason = strdup("out of memory");
                        e->vault_error = -ENOMEM;
                }
                else {
                        atomic_store_explicit(&e->vault_value, nv, memory_order_release);
                        retire(r, old);
                }
        }
}

/* Called with p->lock held when refreshing e's value old failed:
 * stale-if-error. The value stands for at most settings->stale_max_ms
 * after its freshness ended; past that it is dropped (retired) and the
 * name follows its fallback chain. Returns the fresh_until to give e:
 * until, or earlier, so that the next attempt comes no later than when
 * the value may no longer be served. */
static uint64_t entry_stale(struct ve_resolver *r, struct ve_path *p, struct ve_entry *e, char *old,
                            int err, const char *errmsg, uint64_t now, uint64_t until) {
        uint64_t ended = atomic_load(&e->fresh_until), stale_max = r->settings->stale_max_ms;

        if (e->stale_since == 0)
                e->stale_since = ended != 0 && ended != FOREVER && ended <= now ? ended : now;
        if (now - e->stale_since >= stale_max) {
                ve_warn("%s: refreshing %s failed and the cached value is stale for longer "
                        "than VAULTENV_STALE_MAX: no longer served: %s",
                        e->map->name, p->ref->path, errmsg);
                free(e->vault_reason);
                e->vault_reason = ve_asprintf("%s; the cached value is stale for longer than "
                                              "VAULTENV_STALE_MAX", errmsg);
                e->vault_error = err;
                atomic_store(&e->vault_value, NULL);
                retire(r, old);
                return until;
        }
        ve_warn("%s: refreshing %s failed, keeping the cached value: %s", e->map->name, p->ref->path, errmsg);
        return until > e->stale_since + stale_max ? e->stale_since + stale_max : until;
}

/* Called with p->lock held, after a fetch: hands each entry of the path its
 * value. An entry that has a value and no ttl keeps it ("fetched once"),
 * except on a leased path, where every entry follows the lease. When the
 * read failed, an entry that has a value keeps serving it (entry_stale()). */
static void distribute(struct ve_resolver *r, struct ve_path *p, const struct ve_secret *secret,
                       int err, const char *errmsg, uint64_t now) {
        bool leased = err < 0 ? p->leased : ve_secret_leased(secret);
        bool follow = leased || p->leased || p->regen_claimed != p->regen_done;
        uint64_t lease_until = 0;

        if (err < 0 && leased) {
                uint64_t retry = lease_ms(p->lease_asked_s) / 6;

                lease_until = now + (retry > LEASE_RETRY_MIN_MS ? retry : LEASE_RETRY_MIN_MS);
        } else if (leased)
                lease_until = lease_fresh_until(now, secret->lease.duration_s);

        for (struct ve_entry *e = p->entries; e; e = e->path_next) {
                char *old = atomic_load(&e->vault_value);
                uint64_t until = e->map->ttl_ms ? now + e->map->ttl_ms : FOREVER;

                if (old && !e->map->ttl_ms && !follow)
                        continue;
                if (leased)
                        until = lease_until;

                if (err >= 0)
                        entry_set(r, p, e, secret);
                else if (old)
                        until = entry_stale(r, p, e, old, err, errmsg, now, until);
                else {
                        free(e->vault_reason);
                        e->vault_reason = strdup(errmsg);
                        e->vault_error = err;
                }
                atomic_store_explicit(&e->fresh_until, until, memory_order_release);
        }
}

/* Called with p->lock held after a successful read: the path's lease is
 * now the read's (or none), and the read is kept in p->last for entries
 * that join later (references, bulk names), which take their values from
 * it. Takes secret. */
static void path_adopt(struct ve_path *p, struct ve_secret *secret, uint64_t now) {
        ve_lease_done(&p->lease);
        p->leased = ve_secret_leased(secret);
        if (p->leased) {
                p->lease = secret->lease;
                secret->lease = (struct ve_lease) {};
                p->lease_asked_s = p->lease.duration_s;
                p->lease_until = lease_fresh_until(now, p->lease.duration_s);
        }
        ve_secret_free(p->last);
        p->last = secret;
        p->read_at = now;
}

/* ---- fetching ---- */

/* Claims the fetch of e's path: false when there is nothing to do (a
 * refresh in flight elsewhere while e has a value to serve, or e made
 * fresh while this thread waited). true: p->fetching is set, and
 * *ret_renew_id is a copy of the lease to renew first (NULL: read) with
 * the increment to ask for. */
static bool fetch_claim(struct ve_resolver *r, struct ve_entry *e, char **ret_renew_id, uint64_t *ret_increment) {
        struct ve_path *p = e->path;
        char *renew_id = NULL;
        uint64_t increment = 0;

        pthread_mutex_lock(&p->lock);
        /* A refresh in flight elsewhere: a name that has a value keeps
         * serving it meanwhile; only a name with none waits. */
        if (p->fetching && atomic_load(&e->vault_value)) {
                pthread_mutex_unlock(&p->lock);
                return false;
        }
        while (p->fetching)
                pthread_cond_wait(&p->cond, &p->lock);
        /* Another thread may have done the work while we waited. */
        if (entry_fresh(r, e)) {
                pthread_mutex_unlock(&p->lock);
                return false;
        }
        p->fetching = true;
        p->regen_claimed = p->regen;
        if (p->leased && p->lease.lease_id && p->lease.renewable && r->source && r->source->renew) {
                renew_id = strdup(p->lease.lease_id);
                increment = p->lease_asked_s;
        }
        pthread_mutex_unlock(&p->lock);

        *ret_renew_id = renew_id;
        *ret_increment = increment;
        return true;
}

bool path_claim_nowait(struct ve_resolver *r, struct ve_path *p, struct ve_entry *e) {
        bool claimed = false;

        pthread_mutex_lock(&p->lock);
        if (!p->fetching && !entry_fresh(r, e) &&
            !(p->leased && p->lease.lease_id && p->lease.renewable && r->source && r->source->renew)) {
                p->fetching = true;
                p->regen_claimed = p->regen;
                claimed = true;
        }
        pthread_mutex_unlock(&p->lock);
        return claimed;
}

void path_fetched(struct ve_resolver *r, struct ve_path *p, struct ve_secret *secret, int err,
                  const char *errmsg, bool renewed) {
        uint64_t now;

        pthread_mutex_lock(&p->lock);
        now = r->now_ms();
        distribute(r, p, secret, err,
                   errmsg ? errmsg : (err == -ENOTCONN ? "no Vault client" : strerror(-err)),
                   now);
        if (err >= 0) {
                path_adopt(p, secret, now);
                secret = NULL;
                p->regen_done = p->regen_claimed;
        } else if (renewed) {
                /* The lease could not be renewed: do not try it again. */
                p->lease.renewable = false;
        }
        /* Told of a change while this read was in flight: its values may
         * predate the change; the next lookup reads again. */
        if (p->regen != p->regen_claimed)
                for (struct ve_entry *e = p->entries; e; e = e->path_next)
                        atomic_store_explicit(&e->fresh_until, 0, memory_order_release);
        p->fetching = false;
        pthread_cond_broadcast(&p->cond);
        pthread_mutex_unlock(&p->lock);
        ve_secret_free(secret);
}

void entry_fetch(struct ve_resolver *r, struct ve_entry *e) {
        struct ve_path *p = e->path;
        struct ve_secret *secret = NULL;
        char *errmsg = NULL, *renew_id;
        uint64_t increment;
        int err;

        if (!fetch_claim(r, e, &renew_id, &increment))
                return;

        if (renew_id && lease_try_renew(r, p, renew_id, increment)) {
                pthread_mutex_lock(&p->lock);
                p->fetching = false;
                pthread_cond_broadcast(&p->cond);
                pthread_mutex_unlock(&p->lock);
                ve_erase_free(renew_id);
                return;
        }

        ve_debug("%s: reading %s", e->map->name, p->ref->path);
        if (r->source && r->source->read)
                err = r->source->read(r->source->userdata, p->ref, &secret, &errmsg);
        else
                err = -ENOTCONN;
        if (err < 0)
                ve_info("%s: %s", p->ref->path, errmsg ? errmsg : strerror(-err));
        path_fetched(r, p, secret, err, errmsg, renew_id != NULL);
        free(errmsg);
        ve_erase_free(renew_id);
}
