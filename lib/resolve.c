/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "resolve.h"
#include "util.h"

#define VE_SECRET_FILE_MAX (1024 * 1024)
#define FOREVER UINT64_MAX

#define LEASE_RETRY_MIN_MS 1000

/* One distinct Vault path (and forced KV version, and version): the unit of
 * fetching. */
struct ve_path {
        const struct ve_ref *ref;       /* the first entry's reference */
        pthread_mutex_t lock;           /* guards fetching, the lease and the entries' vault_* fields */
        pthread_cond_t cond;            /* signalled when a fetch ends */
        bool fetching;

        /* The lease of the values now served (under lock). */
        bool leased;                    /* the values came with a lease */
        struct ve_lease lease;          /* lease_id NULL: none to renew */
        uint64_t lease_asked_s;         /* the first read's lease_duration: what renewals ask for */
};

/* A value that a refresh replaced: kept, because a caller may hold it. */
struct retired {
        struct retired *next;
        char *value;
};

struct ve_entry {
        const struct ve_map_entry *map;
        struct ve_path *path;

        /* Published by the fetching thread; read without a lock. value is
         * only ever replaced by a new pointer (the old one retired), and
         * fresh_until says until when it (or its absence) stands. */
        _Atomic(char *) vault_value;
        _Atomic uint64_t fresh_until;   /* 0: never fetched; FOREVER: no ttl */
        char *vault_reason;             /* why Vault gave nothing; under path->lock */

        /* Steps 3 and 4, evaluated once. */
        pthread_mutex_t fb_lock;
        atomic_bool fb_done;
        char *fb_value;
        enum ve_from fb_from;
        atomic_bool fb_logged;
};

struct ve_resolver {
        struct ve_map *map;
        const struct ve_settings *settings;
        const struct ve_source *source;
        ve_getenv_fn env;

        struct ve_entry *entries;       /* map->n_entries */
        struct ve_path *paths;
        size_t n_paths;

        /* Open addressing over entries, immutable after construction. */
        struct ve_entry **table;
        size_t table_mask;

        pthread_mutex_t retired_lock;
        struct retired *retired;

        uint64_t (*now_ms)(void);
};

static uint64_t hash_name(const char *s) {
        uint64_t h = 1469598103934665603ULL;    /* FNV-1a */

        for (; *s; s++)
                h = (h ^ (unsigned char) *s) * 1099511628211ULL;
        return h;
}

static void path_locks_init(struct ve_path *p) {
        pthread_mutex_init(&p->lock, NULL);
        pthread_cond_init(&p->cond, NULL);
        p->fetching = false;
}

int ve_resolver_new(struct ve_map *map, const struct ve_settings *settings,
                    const struct ve_source *source, ve_getenv_fn env,
                    struct ve_resolver **ret_resolver) {
        struct ve_resolver *r;
        size_t n = map->n_entries, size = 8;

        r = calloc(1, sizeof *r);
        if (!r) {
                ve_map_free(map);
                return -ENOMEM;
        }
        r->map = map;
        r->settings = settings;
        r->source = source;
        r->env = env;
        r->now_ms = ve_now_ms;
        pthread_mutex_init(&r->retired_lock, NULL);

        while (size < 2 * n)
                size *= 2;
        r->entries = calloc(n ? n : 1, sizeof *r->entries);
        r->paths = calloc(n ? n : 1, sizeof *r->paths);
        r->table = calloc(size, sizeof *r->table);
        if (!r->entries || !r->paths || !r->table) {
                ve_resolver_free(r);
                return -ENOMEM;
        }
        r->table_mask = size - 1;

        for (size_t i = 0; i < n; i++) {
                struct ve_entry *e = &r->entries[i];
                const struct ve_ref *ref = &map->entries[i].ref;
                struct ve_path *p = NULL;
                size_t slot;

                e->map = &map->entries[i];
                pthread_mutex_init(&e->fb_lock, NULL);

                for (size_t j = 0; j < r->n_paths; j++)
                        if (r->paths[j].ref->kv == ref->kv && r->paths[j].ref->version == ref->version &&
                            strcmp(r->paths[j].ref->path, ref->path) == 0) {
                                p = &r->paths[j];
                                break;
                        }
                if (!p) {
                        p = &r->paths[r->n_paths++];
                        p->ref = ref;
                        path_locks_init(p);
                }
                e->path = p;

                for (slot = hash_name(e->map->name) & r->table_mask; r->table[slot];
                     slot = (slot + 1) & r->table_mask)
                        ;
                r->table[slot] = e;
        }

        *ret_resolver = r;
        return 0;
}

void ve_resolver_free(struct ve_resolver *r) {
        if (!r)
                return;
        if (r->entries)
                for (size_t i = 0; i < r->map->n_entries; i++) {
                        struct ve_entry *e = &r->entries[i];

                        ve_erase_free(atomic_load(&e->vault_value));
                        free(e->vault_reason);
                        ve_erase_free(e->fb_value);
                        pthread_mutex_destroy(&e->fb_lock);
                }
        for (size_t i = 0; r->paths && i < r->n_paths; i++) {
                ve_lease_done(&r->paths[i].lease);
                pthread_mutex_destroy(&r->paths[i].lock);
                pthread_cond_destroy(&r->paths[i].cond);
        }
        while (r->retired) {
                struct retired *t = r->retired;

                r->retired = t->next;
                ve_erase_free(t->value);
                free(t);
        }
        pthread_mutex_destroy(&r->retired_lock);
        free(r->entries);
        free(r->paths);
        free(r->table);
        ve_map_free(r->map);
        free(r);
}

void ve_resolver_set_clock(struct ve_resolver *r, uint64_t (*now_ms)(void)) {
        if (r && now_ms)
                r->now_ms = now_ms;
}

struct ve_entry *ve_resolver_find(const struct ve_resolver *r, const char *name) {
        if (!r || !name || !*name)
                return NULL;
        for (size_t slot = hash_name(name) & r->table_mask; r->table[slot];
             slot = (slot + 1) & r->table_mask)
                if (strcmp(r->table[slot]->map->name, name) == 0)
                        return r->table[slot];
        return NULL;
}

size_t ve_resolver_count(const struct ve_resolver *r) {
        return r->map->n_entries;
}

struct ve_entry *ve_resolver_entry(const struct ve_resolver *r, size_t i) {
        return i < r->map->n_entries ? &r->entries[i] : NULL;
}

const struct ve_map_entry *ve_entry_map(const struct ve_entry *e) {
        return e->map;
}

const char *ve_from_name(enum ve_from from) {
        switch (from) {
        case VE_FROM_VAULT:
                return "vault";
        case VE_FROM_ENV:
                return "environment";
        case VE_FROM_FILE:
                return "file";
        case VE_FROM_DEFAULT:
                return "default";
        default:
                return "none";
        }
}

static bool entry_fresh(const struct ve_entry *e, uint64_t now) {
        uint64_t until = atomic_load_explicit(&e->fresh_until, memory_order_acquire);

        return until != 0 && (until == FOREVER || now < until);
}

static void retire(struct ve_resolver *r, char *value) {
        struct retired *t;

        if (!value)
                return;
        t = malloc(sizeof *t);
        if (!t)
                return;         /* leak rather than free: a caller may hold it */
        t->value = value;
        pthread_mutex_lock(&r->retired_lock);
        t->next = r->retired;
        r->retired = t;
        pthread_mutex_unlock(&r->retired_lock);
}

static uint64_t lease_ms(uint64_t duration_s) {
        return duration_s > UINT64_MAX / 4000 ? UINT64_MAX / 4 : duration_s * 1000;
}

/* Until when values under a lease of duration_s, obtained at now, are
 * served without renewing: 2/3 of the way, leaving a third of the lease for
 * the renewal or the new read (and for a slow Vault). */
static uint64_t lease_fresh_until(uint64_t now, uint64_t duration_s) {
        return now + lease_ms(duration_s) / 3 * 2;
}

/* Called with p->lock held, after a fetch: hands each entry of the path its
 * value. An entry that has a value and no ttl keeps it ("fetched once"),
 * except on a leased path, where every entry follows the lease. */
static void distribute(struct ve_resolver *r, struct ve_path *p, const struct ve_secret *secret,
                       int err, const char *errmsg, uint64_t now) {
        bool leased = err < 0 ? p->leased : ve_secret_leased(secret);
        bool follow = leased || p->leased;
        uint64_t lease_until = 0;

        if (err < 0 && leased) {
                uint64_t retry = lease_ms(p->lease_asked_s) / 6;

                lease_until = now + (retry > LEASE_RETRY_MIN_MS ? retry : LEASE_RETRY_MIN_MS);
        } else if (leased)
                lease_until = lease_fresh_until(now, secret->lease.duration_s);

        for (size_t i = 0; i < r->map->n_entries; i++) {
                struct ve_entry *e = &r->entries[i];
                char *old = atomic_load(&e->vault_value);
                uint64_t until = e->map->ttl_ms ? now + e->map->ttl_ms : FOREVER;

                if (e->path != p)
                        continue;
                if (old && !e->map->ttl_ms && !follow)
                        continue;
                if (leased)
                        until = lease_until;

                free(e->vault_reason);
                e->vault_reason = NULL;
                if (err < 0) {
                        if (old)
                                /* stale-if-error: the last good value stands */
                                ve_warn("%s: refreshing %s failed, keeping the cached value: %s",
                                        e->map->name, p->ref->path, errmsg);
                        else
                                e->vault_reason = strdup(errmsg);
                } else {
                        const char *v = ve_secret_get(secret, e->map->ref.key);

                        if (!v) {
                                e->vault_reason = ve_asprintf("no key \"%s\" in %s",
                                                              e->map->ref.key, p->ref->path);
                                if (old) {
                                        atomic_store(&e->vault_value, NULL);
                                        retire(r, old);
                                }
                        } else if (!old || strcmp(old, v) != 0) {
                                char *nv = strdup(v);

                                if (!nv)
                                        e->vault_reason = strdup("out of memory");
                                else {
                                        atomic_store_explicit(&e->vault_value, nv, memory_order_release);
                                        retire(r, old);
                                }
                        }
                }
                atomic_store_explicit(&e->fresh_until, until, memory_order_release);
        }
}

/* Called with p->lock held after a renewal that Vault granted in full:
 * every entry of the path keeps its value for another 2/3 of the lease. */
static void extend(struct ve_resolver *r, struct ve_path *p, uint64_t now) {
        uint64_t until = lease_fresh_until(now, p->lease.duration_s);

        for (size_t i = 0; i < r->map->n_entries; i++)
                if (r->entries[i].path == p)
                        atomic_store_explicit(&r->entries[i].fresh_until, until, memory_order_release);
}

/* Without lock: tries to renew the path's lease (id is a copy taken under
 * the lock). true when Vault granted the whole increment: p's lease and the
 * entries are then updated. false: the caller reads the path anew. */
static bool try_renew(struct ve_resolver *r, struct ve_path *p, const char *id, uint64_t increment_s) {
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
                extend(r, p, r->now_ms());
                pthread_mutex_unlock(&p->lock);
                ok = true;
        }
        ve_lease_done(&nl);
        free(errmsg);
        return ok;
}

static void fetch(struct ve_resolver *r, struct ve_entry *e) {
        struct ve_path *p = e->path;
        struct ve_secret *secret = NULL;
        char *errmsg = NULL, *renew_id = NULL;
        uint64_t increment = 0;
        int err;

        pthread_mutex_lock(&p->lock);
        /* A refresh in flight elsewhere: a name that has a value keeps
         * serving it meanwhile; only a name with none waits. */
        if (p->fetching && atomic_load(&e->vault_value)) {
                pthread_mutex_unlock(&p->lock);
                return;
        }
        while (p->fetching)
                pthread_cond_wait(&p->cond, &p->lock);
        /* Another thread may have done the work while we waited. */
        if (entry_fresh(e, r->now_ms())) {
                pthread_mutex_unlock(&p->lock);
                return;
        }
        p->fetching = true;
        if (p->leased && p->lease.lease_id && p->lease.renewable && r->source && r->source->renew) {
                renew_id = strdup(p->lease.lease_id);
                increment = p->lease_asked_s;
        }
        pthread_mutex_unlock(&p->lock);

        if (renew_id && try_renew(r, p, renew_id, increment)) {
                pthread_mutex_lock(&p->lock);
                goto done;
        }

        ve_debug("%s: reading %s", e->map->name, p->ref->path);
        if (r->source && r->source->read)
                err = r->source->read(r->source->userdata, p->ref, &secret, &errmsg);
        else
                err = -ENOTCONN;
        if (err < 0)
                ve_info("%s: %s", p->ref->path, errmsg ? errmsg : strerror(-err));

        pthread_mutex_lock(&p->lock);
        distribute(r, p, secret, err,
                   errmsg ? errmsg : (err == -ENOTCONN ? "no Vault client" : strerror(-err)),
                   r->now_ms());
        if (err >= 0) {
                /* The path's lease is now the new read's (or none). */
                ve_lease_done(&p->lease);
                p->leased = ve_secret_leased(secret);
                if (p->leased) {
                        p->lease = secret->lease;
                        secret->lease = (struct ve_lease) {};
                        p->lease_asked_s = p->lease.duration_s;
                }
        } else if (renew_id) {
                /* The lease could not be renewed: do not try it again. */
                p->lease.renewable = false;
        }
done:
        p->fetching = false;
        pthread_cond_broadcast(&p->cond);
        pthread_mutex_unlock(&p->lock);

        ve_secret_free(secret);
        free(errmsg);
        ve_erase_free(renew_id);
}

/* Reads one secret file into a heap value; 0, or -errno (-ENOENT: absent). */
static int read_secret_file(const char *name, const char *path, char **ret_value) {
        char *data;
        size_t len;
        int r;

        r = ve_read_file(path, VE_SECRET_FILE_MAX, &data, &len);
        if (r < 0)
                return r;
        if (memchr(data, '\0', len)) {
                ve_warn("%s: %s contains a NUL byte; ignored", name, path);
                ve_erase_free_n(data, len);
                return -EINVAL;
        }
        /* One trailing line end, "\n" or "\r\n": a secret file written on
         * Windows must not end a password in '\r'. */
        if (len > 0 && data[len - 1] == '\n') {
                data[--len] = '\0';
                if (len > 0 && data[len - 1] == '\r')
                        data[--len] = '\0';
        }
        *ret_value = data;
        return 0;
}

static void fallback_compute(struct ve_resolver *r, struct ve_entry *e) {
        const char *name = e->map->name;
        char *fname, *path = NULL, *value = NULL;
        const char *f;
        int k;

        fname = ve_asprintf("%s_FILE", name);
        f = fname ? r->env(fname) : NULL;
        if (f && *f) {
                k = read_secret_file(name, f, &value);
                if (k < 0)
                        ve_warn("%s: cannot read %s=%s: %s", name, fname, f, strerror(-k));
        }
        free(fname);
        if (value) {
                e->fb_from = VE_FROM_FILE;
                goto done;
        }

        for (int lower = 0; lower < 2 && !value; lower++) {
                free(path);
                path = ve_asprintf("%s/%s", r->settings->secrets_dir, name);
                if (!path)
                        break;
                if (lower) {
                        bool changed = false;
                        for (char *c = path + strlen(r->settings->secrets_dir) + 1; *c; c++)
                                if (isupper((unsigned char) *c)) {
                                        *c = (char) tolower((unsigned char) *c);
                                        changed = true;
                                }
                        if (!changed)
                                break;
                }
                k = read_secret_file(name, path, &value);
                if (k < 0 && k != -ENOENT)
                        ve_warn("%s: cannot read %s: %s", name, path, strerror(-k));
        }
        free(path);
        if (value) {
                e->fb_from = VE_FROM_FILE;
                goto done;
        }

        if (e->map->default_value) {
                value = strdup(e->map->default_value);
                if (value)
                        e->fb_from = VE_FROM_DEFAULT;
        }
done:
        e->fb_value = value;
}

int ve_resolve(struct ve_resolver *r, struct ve_entry *e,
               const char **ret_value, enum ve_from *ret_from, char **ret_reason) {
        const char *v;
        enum ve_from from;
        char *reason = NULL;

        if (!entry_fresh(e, r->now_ms()))
                fetch(r, e);

        v = atomic_load_explicit(&e->vault_value, memory_order_acquire);
        if (v) {
                from = VE_FROM_VAULT;
                goto found;
        }

        reason = ve_entry_vault_reason(r, e);

        v = r->env(e->map->name);
        if (v) {
                from = VE_FROM_ENV;
                goto fallback;
        }

        if (!atomic_load_explicit(&e->fb_done, memory_order_acquire)) {
                pthread_mutex_lock(&e->fb_lock);
                if (!atomic_load(&e->fb_done)) {
                        fallback_compute(r, e);
                        atomic_store_explicit(&e->fb_done, true, memory_order_release);
                }
                pthread_mutex_unlock(&e->fb_lock);
        }
        v = e->fb_value;
        from = e->fb_from;
        if (v)
                goto fallback;

        if (e->map->required && !r->settings->on_missing_null) {
                if (ret_reason) {
                        *ret_reason = ve_asprintf("not found in Vault (%s), the environment, %s_FILE, %s/%s or a default",
                                                  reason ? reason : "no answer", e->map->name,
                                                  r->settings->secrets_dir, e->map->name);
                        if (!*ret_reason) {
                                free(reason);
                                return -ENOMEM;
                        }
                }
                free(reason);
                return -ENOENT;
        }
        if (!atomic_exchange(&e->fb_logged, true))
                ve_log(e->map->required ? VE_LOG_ERROR : VE_LOG_WARN,
                       "%s: not found in Vault (%s) nor any fallback%s", e->map->name,
                       reason ? reason : "no answer",
                       e->map->required ? "; VAULTENV_ON_MISSING=null, returning NULL" : "");
        free(reason);
        *ret_value = NULL;
        if (ret_from)
                *ret_from = VE_FROM_NONE;
        return 0;

fallback:
        if (!atomic_exchange(&e->fb_logged, true))
                ve_warn("%s: Vault gave no value (%s); using the %s", e->map->name,
                        reason ? reason : "no answer", ve_from_name(from));
        free(reason);
found:
        *ret_value = v;
        if (ret_from)
                *ret_from = from;
        return 0;
}

char *ve_entry_vault_reason(struct ve_resolver *r, struct ve_entry *e) {
        char *s = NULL;

        pthread_mutex_lock(&e->path->lock);
        if (e->vault_reason)
                s = strdup(e->vault_reason);
        pthread_mutex_unlock(&e->path->lock);
        return s;
}

void ve_resolver_atfork_child(struct ve_resolver *r) {
        if (!r)
                return;
        for (size_t i = 0; i < r->n_paths; i++)
                path_locks_init(&r->paths[i]);
        /* The leases stay: the child serves the same values, and renews
         * them (the renewal is the parent's lease too) or reads anew. */
        for (size_t i = 0; i < r->map->n_entries; i++)
                pthread_mutex_init(&r->entries[i].fb_lock, NULL);
        pthread_mutex_init(&r->retired_lock, NULL);
}
