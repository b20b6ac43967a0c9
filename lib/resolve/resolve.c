/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "log.h"
#include "reference.h"
#include "resolve.h"
#include "template.h"
#include "util.h"

#define VE_SECRET_FILE_MAX (1024 * 1024)
#define FOREVER UINT64_MAX

#define LEASE_RETRY_MIN_MS 1000

/* One distinct Vault path (and forced KV version, and version): the unit of
 * fetching. */
struct ve_path {
        const struct ve_ref *ref;       /* the first entry's reference (or own_ref) */
        pthread_mutex_t lock;           /* guards fetching, the lease, entries, last and the entries' vault_* fields */
        pthread_cond_t cond;            /* signalled when a fetch ends */
        bool fetching;

        /* The lease of the values now served (under lock). */
        bool leased;                    /* the values came with a lease */
        struct ve_lease lease;          /* lease_id NULL: none to renew */
        uint64_t lease_asked_s;         /* the first read's lease_duration: what renewals ask for */

        /* Every entry that reads this path, linked through path_next. Grows
         * (under lock) when a reference or a bulk name joins. */
        struct ve_entry *entries;
        /* The last good read (under lock), so that an entry joining later
         * takes its value without another read. Wiped when replaced. */
        struct ve_secret *last;
        uint64_t read_at;               /* when last was read */
        uint64_t lease_until;           /* the fresh_until leased entries got then */

        /* Paths created after construction (references): owned, listed
         * under the resolver's dyn_lock. */
        struct ve_path *dyn_next;
        struct ve_ref own_ref;
};

/* A value that a refresh replaced: kept, because a caller may hold it.
 * extra: a render (templates) freed along with it. */
struct retired {
        struct retired *next;
        char *value;
        void *extra;
};

/* One rendering of a template: the value and the part values it was made
 * from (compared by pointer: a part's value pointer changes exactly when
 * its value does). */
struct render {
        char *value;
        size_t n;
        const char *from[];
};

struct tmpl_state {
        struct ve_entry *parts;         /* one hidden entry per reference of the template */
        struct ve_map_entry *part_maps; /* their map entries (strings borrowed from the template) */
        size_t n;
        pthread_mutex_t lock;           /* serialises rendering */
        _Atomic(struct render *) render;
};

struct ve_entry {
        const struct ve_map_entry *map;
        struct ve_path *path;           /* NULL for a template (its parts have paths) */
        struct ve_entry *path_next;     /* under path->lock */

        /* Published by the fetching thread; read without a lock. value is
         * only ever replaced by a new pointer (the old one retired), and
         * fresh_until says until when it (or its absence) stands. */
        _Atomic(char *) vault_value;
        _Atomic uint64_t fresh_until;   /* 0: never fetched; FOREVER: no ttl */
        char *vault_reason;             /* why Vault gave nothing; under path->lock */
        int vault_error;                /* under path->lock: 0 (a value), -ENODATA (read, no such
                                         * key), or the last failed read's -errno (vault.h) */
        uint64_t stale_since;           /* under path->lock: when the freshness of the value
                                         * served ended and refreshing it failed; 0: not stale */

        /* Steps 3 and 4, evaluated once. */
        pthread_mutex_t fb_lock;
        atomic_bool fb_done;
        char *fb_value;
        enum ve_from fb_from;
        atomic_bool fb_logged;

        struct tmpl_state *tmpl;        /* a template entry */

        /* Entries made after construction: references and bulk names.
         * They own own_map's name (and, for references, its ref). */
        struct ve_map_entry own_map;
        bool dynamic;
        bool is_reference;              /* step 2 is skipped: the environment holds the reference */
        const struct ve_map_bulk *bulk; /* a bulk name: its key is found by the name rule */
        char *ref_value;                /* references: the environment value it stands for */
        char *literal;                  /* references: an escaped literal, unescaped */
        bool invalid;                   /* references: malformed (logged when made) */
        struct ve_entry *dyn_next;      /* immutable once published */

        /* The audit trail (audit.h). */
        _Atomic long vault_version;     /* KV v2 version of the read that gave vault_value */
        char *fb_path;                  /* the file fb_value came from (fb_from == VE_FROM_FILE) */
        bool fb_secrets_dir;            /* ... found in VAULTENV_SECRETS_DIR, not through NAME_FILE */
        _Atomic uint64_t audit_key;     /* the source last recorded; 0: none yet in this process */
};

struct bulk_rule {
        const struct ve_map_bulk *map;
        size_t prefix_len;
        struct ve_path *path;
        _Atomic(struct ve_entry *) names;       /* prepended under dyn_lock; read lock-free */
};

struct ve_resolver {
        struct ve_map *map;
        const struct ve_settings *settings;
        const struct ve_source *source;
        ve_getenv_fn env;

        struct ve_entry *entries;       /* map->n_entries */
        struct ve_path *paths;          /* fixed at construction */
        size_t n_paths;
        /* The fixed paths by (form, path, version): open addressing over
         * indexes into paths plus one (0: empty slot); filled at
         * construction, immutable after. */
        size_t *path_slots;
        size_t path_mask;               /* size - 1 */
        size_t path_compares;           /* paths looked at by construction (tests) */

        /* Open addressing over entries, immutable after construction. */
        struct slot *table;
        size_t table_mask;              /* size - 1 */
        unsigned table_shift;           /* 64 - log2(size) */
        /* The fast reject: every entry's name and every bulk prefix. */
        struct ve_name_filter filter;

        struct bulk_rule *bulk;         /* map->n_bulk, immutable */

        /* References: an append-only list, read without a lock; entries
         * and paths are added under dyn_lock (then a path's lock). */
        pthread_mutex_t dyn_lock;
        _Atomic(struct ve_entry *) refs;
        struct ve_path *dyn_paths;

        pthread_mutex_t retired_lock;
        struct retired *retired;

        uint64_t (*now_ms)(void);

        struct ve_audit *audit;         /* VAULTENV_AUDIT; NULL: off */
        bool missing_quiet;             /* see ve_resolver_set_report_missing() */
};

static void audit_note(struct ve_resolver *r, struct ve_entry *e, enum ve_from from, const char *value);

/* A slot of the name table: besides the entry, what a lookup compares
 * first, the name's length and two words that cover its first and last
 * bytes (name_words()); for a name of up to 16 bytes they are the whole
 * name, so most lookups never call strcmp(). */
struct slot {
        uint64_t w0, w1;
        size_t len;
        struct ve_entry *e;     /* NULL: empty */
};

static inline uint64_t load64(const char *p) {
        uint64_t v;

        memcpy(&v, p, sizeof v);
        return v;
}

static inline uint32_t load32(const char *p) {
        uint32_t v;

        memcpy(&v, p, sizeof v);
        return v;
}

/* Two words that together cover bytes [0, min(len, 16)) and the last
 * min(len, 8) bytes of a name of len bytes; never read past it. */
static inline void name_words(const char *s, size_t len, uint64_t *ret_w0, uint64_t *ret_w1) {
        if (len >= 8) {
                *ret_w0 = load64(s);
                *ret_w1 = load64(s + len - 8);
        } else if (len >= 4) {
                *ret_w0 = load32(s);
                *ret_w1 = load32(s + len - 4);
        } else {
                *ret_w0 = len == 0 ? 0 :
                          (uint64_t) (unsigned char) s[0] | (uint64_t) (unsigned char) s[len / 2] << 8 |
                          (uint64_t) (unsigned char) s[len - 1] << 16;
                *ret_w1 = 0;
        }
}

/* The slot to start at: the top bits of one multiply (Fibonacci hashing;
 * a multiply carries every input bit into the top ones). */
static inline size_t name_slot(const struct ve_resolver *r, uint64_t w0, uint64_t w1, size_t len) {
        uint64_t x = w0 ^ (w1 << 32 | w1 >> 32) ^ len;

        return (size_t) ((x * 0x9E3779B97F4A7C15ULL) >> r->table_shift);
}

/* The explicit entry named name (len bytes), or NULL. */
static inline struct ve_entry *table_find(const struct ve_resolver *r, const char *name, size_t len) {
        uint64_t w0, w1;

        name_words(name, len, &w0, &w1);
        for (size_t i = name_slot(r, w0, w1, len); r->table[i].e; i = (i + 1) & r->table_mask) {
                const struct slot *t = &r->table[i];

                if (t->w0 == w0 && t->w1 == w1 && t->len == len &&
                    (len <= 16 || memcmp(t->e->map->name + 8, name + 8, len - 16) == 0))
                        return t->e;
        }
        return NULL;
}

static void table_add(struct ve_resolver *r, struct ve_entry *e) {
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

/* At construction only (no lock): the fixed path for ref, made if new. */
static struct ve_path *fixed_path(struct ve_resolver *r, const struct ve_ref *ref) {
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

static void entry_attach(struct ve_entry *e, struct ve_path *p) {
        e->path = p;
        e->path_next = p->entries;
        p->entries = e;
}

static int tmpl_setup(struct ve_resolver *r, struct ve_entry *e) {
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
                entry_attach(pe, fixed_path(r, &m->ref));
        }
        return 0;
}

int ve_resolver_new(struct ve_map *map, const struct ve_settings *settings,
                    const struct ve_source *source, ve_getenv_fn env,
                    struct ve_resolver **ret_resolver) {
        struct ve_resolver *r;
        size_t n = map->n_entries, size = 8, n_refs = n + map->n_bulk, path_size = 8;
        unsigned bits = 3;      /* log2(size) */

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
        /* settings->audit was validated when the settings were loaded. */
        if (settings->audit && ve_audit_new(settings->audit, &r->audit) < 0)
                r->audit = NULL;
        pthread_mutex_init(&r->dyn_lock, NULL);

        for (size_t i = 0; i < n; i++)
                if (map->entries[i].tmpl)
                        n_refs += map->entries[i].tmpl->n_refs;
        while (size < 2 * n) {
                size *= 2;
                bits++;
        }
        /* At most n_refs paths: the index is at most half full. */
        while (path_size < 2 * n_refs)
                path_size *= 2;
        r->entries = calloc(n ? n : 1, sizeof *r->entries);
        r->paths = calloc(n_refs ? n_refs : 1, sizeof *r->paths);
        r->path_slots = calloc(path_size, sizeof *r->path_slots);
        r->table = calloc(size, sizeof *r->table);
        r->bulk = calloc(map->n_bulk ? map->n_bulk : 1, sizeof *r->bulk);
        if (!r->entries || !r->paths || !r->path_slots || !r->table || !r->bulk) {
                ve_resolver_free(r);
                return -ENOMEM;
        }
        r->table_mask = size - 1;
        r->table_shift = 64 - bits;
        r->path_mask = path_size - 1;

        for (size_t i = 0; i < n; i++) {
                struct ve_entry *e = &r->entries[i];

                e->map = &map->entries[i];
                pthread_mutex_init(&e->fb_lock, NULL);
                if (e->map->tmpl) {
                        if (tmpl_setup(r, e) < 0) {
                                ve_resolver_free(r);
                                return -ENOMEM;
                        }
                } else
                        entry_attach(e, fixed_path(r, &e->map->ref));

                table_add(r, e);
        }
        for (size_t i = 0; i < map->n_bulk; i++) {
                r->bulk[i].map = &map->bulk[i];
                r->bulk[i].prefix_len = strlen(map->bulk[i].prefix);
                r->bulk[i].path = fixed_path(r, &map->bulk[i].ref);
                ve_name_filter_add_prefix(&r->filter, map->bulk[i].prefix);
        }

        *ret_resolver = r;
        return 0;
}

/* A value this file handed out: a Vault value lives in secure memory
 * (util.h: out of core dumps), a rendering or a file's text on the heap;
 * either way wiped. */
static void value_free(char *v) {
        if (v && ve_secure_owns(v))
                ve_secure_free(v);
        else
                ve_erase_free(v);
}

static void entry_done(struct ve_entry *e) {
        value_free(atomic_load(&e->vault_value));
        free(e->vault_reason);
        ve_erase_free(e->fb_value);
        free(e->fb_path);
        pthread_mutex_destroy(&e->fb_lock);
        if (e->tmpl) {
                struct tmpl_state *ts = e->tmpl;
                struct render *rd = atomic_load(&ts->render);

                for (size_t i = 0; ts->parts && i < ts->n; i++)
                        entry_done(&ts->parts[i]);
                if (rd) {
                        ve_erase_free(rd->value);
                        free(rd);
                }
                pthread_mutex_destroy(&ts->lock);
                free(ts->parts);
                free(ts->part_maps);
                free(ts);
        }
        if (e->dynamic) {
                free(e->own_map.name);
                if (e->is_reference)
                        ve_ref_done(&e->own_map.ref);
                ve_erase_free(e->ref_value);
                ve_erase_free(e->literal);
        }
}

static void dyn_list_free(struct ve_entry *e) {
        while (e) {
                struct ve_entry *next = e->dyn_next;

                entry_done(e);
                free(e);
                e = next;
        }
}

static void path_done(struct ve_path *p) {
        ve_lease_done(&p->lease);
        ve_secret_free(p->last);
        pthread_mutex_destroy(&p->lock);
        pthread_cond_destroy(&p->cond);
}

void ve_resolver_free(struct ve_resolver *r) {
        if (!r)
                return;
        if (r->entries)
                for (size_t i = 0; i < r->map->n_entries; i++)
                        entry_done(&r->entries[i]);
        dyn_list_free(atomic_load(&r->refs));
        for (size_t i = 0; r->bulk && i < r->map->n_bulk; i++)
                dyn_list_free(atomic_load(&r->bulk[i].names));
        for (size_t i = 0; r->paths && i < r->n_paths; i++)
                path_done(&r->paths[i]);
        while (r->dyn_paths) {
                struct ve_path *p = r->dyn_paths;

                r->dyn_paths = p->dyn_next;
                path_done(p);
                ve_ref_done(&p->own_ref);
                free(p);
        }
        while (r->retired) {
                struct retired *t = r->retired;

                r->retired = t->next;
                value_free(t->value);
                free(t->extra);
                free(t);
        }
        pthread_mutex_destroy(&r->retired_lock);
        pthread_mutex_destroy(&r->dyn_lock);
        free(r->entries);
        free(r->paths);
        free(r->path_slots);
        free(r->table);
        free(r->bulk);
        ve_audit_free(r->audit);
        ve_map_free(r->map);
        free(r);
}

size_t ve_resolver_path_compares(const struct ve_resolver *r) {
        return r->path_compares;
}

void ve_resolver_set_clock(struct ve_resolver *r, uint64_t (*now_ms)(void)) {
        if (r && now_ms)
                r->now_ms = now_ms;
}

static struct ve_entry *bulk_entry(struct ve_resolver *r, struct bulk_rule *b, const char *name);

struct ve_entry *ve_resolver_find(struct ve_resolver *r, const char *name) {
        struct ve_entry *e;

        if (!r || !name || !*name || !ve_name_filter_may_match(&r->filter, name))
                return NULL;
        e = table_find(r, name, strlen(name));
        if (e)
                return e;
        /* Explicit entries win; then at most one bulk rule matches (their
         * prefixes never overlap). A reserved name (an allocator's
         * MALLOC_CONF, SSLKEYLOGFILE: ve_name_reserved()) is never served
         * by a rule: it stays the environment's. */
        for (size_t i = 0; i < r->map->n_bulk; i++) {
                struct bulk_rule *b = &r->bulk[i];

                if (strncmp(name, b->map->prefix, b->prefix_len) == 0 && name[b->prefix_len])
                        return ve_name_reserved(name) ? NULL : bulk_entry(r, b, name);
        }
        return NULL;
}

const struct ve_name_filter *ve_resolver_filter(const struct ve_resolver *r) {
        return &r->filter;
}

struct ve_cached ve_resolver_cached(struct ve_resolver *r, const char *name) {
        struct ve_entry *e = table_find(r, name, strlen(name));
        const char *v;

        if (!e) {
                for (size_t i = 0; i < r->map->n_bulk; i++)
                        if (strncmp(name, r->bulk[i].map->prefix, r->bulk[i].prefix_len) == 0 &&
                            name[r->bulk[i].prefix_len])
                                return (struct ve_cached) { .k = -1 };  /* perhaps a bulk name */
                return (struct ve_cached) { .k = 0 };
        }
        /* As ve_resolve(): a fresh Vault value is served as it is. */
        if (r->audit || e->tmpl || atomic_load_explicit(&e->fresh_until, memory_order_acquire) != FOREVER)
                return (struct ve_cached) { .k = -1 };
        v = atomic_load_explicit(&e->vault_value, memory_order_acquire);
        return (struct ve_cached) { .k = v ? 1 : -1, .value = v };
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

/* The clock is read only for a value that has a deadline (ttl, lease). */
static bool entry_fresh(const struct ve_resolver *r, const struct ve_entry *e) {
        uint64_t until = atomic_load_explicit(&e->fresh_until, memory_order_acquire);

        return until == FOREVER || (until != 0 && r->now_ms() < until);
}

static void retire_with(struct ve_resolver *r, char *value, void *extra) {
        struct retired *t;

        if (!value && !extra)
                return;
        t = malloc(sizeof *t);
        if (!t)
                return;         /* leak rather than free: a caller may hold it */
        t->value = value;
        t->extra = extra;
        pthread_mutex_lock(&r->retired_lock);
        t->next = r->retired;
        r->retired = t;
        pthread_mutex_unlock(&r->retired_lock);
}

static void retire(struct ve_resolver *r, char *value) {
        retire_with(r, value, NULL);
}

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

/* Called with p->lock held: sets e's Vault value from secret (a successful
 * read). */
static void entry_set(struct ve_resolver *r, struct ve_path *p, struct ve_entry *e, const struct ve_secret *secret) {
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
 * except on a leased path, where every entry follows the lease.
 * Stale-if-error: when the read failed, an entry that has a value keeps
 * serving it, for at most settings->stale_max_ms after its freshness ended;
 * beyond that it is dropped and the name follows its fallback chain. */
static void distribute(struct ve_resolver *r, struct ve_path *p, const struct ve_secret *secret,
                       int err, const char *errmsg, uint64_t now) {
        bool leased = err < 0 ? p->leased : ve_secret_leased(secret);
        bool follow = leased || p->leased;
        uint64_t lease_until = 0, stale_max = r->settings->stale_max_ms;

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
                else if (old) {
                        uint64_t ended = atomic_load(&e->fresh_until);

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
                        } else {
                                /* stale-if-error: the last good value stands */
                                ve_warn("%s: refreshing %s failed, keeping the cached value: %s",
                                        e->map->name, p->ref->path, errmsg);
                                /* Try again no later than when it may no
                                 * longer be served. */
                                if (until > e->stale_since + stale_max)
                                        until = e->stale_since + stale_max;
                        }
                } else {
                        free(e->vault_reason);
                        e->vault_reason = strdup(errmsg);
                        e->vault_error = err;
                }
                atomic_store_explicit(&e->fresh_until, until, memory_order_release);
        }
}

/* Called with p->lock held after a renewal that Vault granted in full:
 * every entry of the path keeps its value for another 2/3 of the lease. */
static void extend(struct ve_resolver *r, struct ve_path *p, uint64_t now) {
        uint64_t until = lease_fresh_until(now, p->lease.duration_s);

        p->lease_until = until;
        for (struct ve_entry *e = p->entries; e; e = e->path_next)
                atomic_store_explicit(&e->fresh_until, until, memory_order_release);
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
        uint64_t increment = 0, now;
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
        if (entry_fresh(r, e)) {
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
        now = r->now_ms();
        distribute(r, p, secret, err,
                   errmsg ? errmsg : (err == -ENOTCONN ? "no Vault client" : strerror(-err)),
                   now);
        if (err >= 0) {
                /* The path's lease is now the new read's (or none). */
                ve_lease_done(&p->lease);
                p->leased = ve_secret_leased(secret);
                if (p->leased) {
                        p->lease = secret->lease;
                        secret->lease = (struct ve_lease) {};
                        p->lease_asked_s = p->lease.duration_s;
                        p->lease_until = lease_fresh_until(now, p->lease.duration_s);
                }
                /* Kept for entries that join later (references, bulk
                 * names): they take their values from it. */
                ve_secret_free(p->last);
                p->last = secret;
                p->read_at = now;
                secret = NULL;
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

        /* VAULTENV_FALLBACK (settings.h) takes steps out of the chain. */
        if (r->settings->fallback_off & VE_FALLBACK_FILE)
                goto no_file;
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
                e->fb_path = strdup(f);         /* for the audit trail */
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
                                if (ve_ascii_tolower(*c) != *c) {
                                        *c = ve_ascii_tolower(*c);
                                        changed = true;
                                }
                        if (!changed)
                                break;
                }
                k = read_secret_file(name, path, &value);
                if (k < 0 && k != -ENOENT)
                        ve_warn("%s: cannot read %s: %s", name, path, strerror(-k));
        }
        if (value) {
                e->fb_from = VE_FROM_FILE;
                e->fb_secrets_dir = true;
                e->fb_path = path;      /* the file it came from, for the audit trail */
                goto done;
        }
        free(path);

no_file:
        if (e->map->default_value && !(r->settings->fallback_off & VE_FALLBACK_DEFAULT)) {
                value = strdup(e->map->default_value);
                if (value)
                        e->fb_from = VE_FROM_DEFAULT;
        }
done:
        e->fb_value = value;
}

/* A template's value from Vault: rendered from its parts' values, or NULL
 * when one of them has none. Lock-free while the parts' values stay the
 * same; a re-render (under ts->lock) publishes a new pointer and retires
 * the old one. */
static const char *template_value(struct ve_resolver *r, struct ve_entry *e) {
        struct tmpl_state *ts = e->tmpl;
        struct render *rd, *nrd;
        bool same;
        char *value;

        for (size_t i = 0; i < ts->n; i++)
                if (!entry_fresh(r, &ts->parts[i]))
                        fetch(r, &ts->parts[i]);

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
        rd = atomic_load(&ts->render);
        nrd = calloc(1, sizeof *nrd + ts->n * sizeof nrd->from[0]);
        if (!nrd) {
                pthread_mutex_unlock(&ts->lock);
                return NULL;
        }
        nrd->n = ts->n;
        same = rd != NULL;
        for (size_t i = 0; i < ts->n; i++) {
                nrd->from[i] = atomic_load_explicit(&ts->parts[i].vault_value, memory_order_acquire);
                if (!nrd->from[i]) {
                        pthread_mutex_unlock(&ts->lock);
                        free(nrd);
                        return NULL;
                }
                if (rd && rd->from[i] != nrd->from[i])
                        same = false;
        }
        if (same) {
                /* Another thread rendered these values meanwhile. */
                value = rd->value;
                free(nrd);
        } else if (ve_template_render(e->map->tmpl, nrd->from, &nrd->value) < 0) {
                free(nrd);
                value = rd ? rd->value : NULL;
        } else {
                atomic_store_explicit(&ts->render, nrd, memory_order_release);
                if (rd)
                        retire_with(r, rd->value, rd);
                value = nrd->value;
        }
        pthread_mutex_unlock(&ts->lock);
        return value;
}

/* The entry whose read failed: e, or a template's first part without a
 * value. */
static struct ve_entry *entry_failed_part(struct ve_entry *e) {
        if (!e->tmpl)
                return e;
        for (size_t i = 0; i < e->tmpl->n; i++)
                if (!atomic_load(&e->tmpl->parts[i].vault_value))
                        return &e->tmpl->parts[i];
        return e->tmpl->n ? &e->tmpl->parts[0] : NULL;
}

static const char *entry_path(struct ve_entry *e) {
        e = entry_failed_part(e);
        return e && e->path ? e->path->ref->path : NULL;
}

/* The failed read's -errno (vault.h), -ENODATA for a missing key, 0. */
static int entry_vault_error(struct ve_entry *e) {
        int err;

        e = entry_failed_part(e);
        if (!e || !e->path)
                return 0;
        pthread_mutex_lock(&e->path->lock);
        err = e->vault_error;
        pthread_mutex_unlock(&e->path->lock);
        return err;
}

void ve_resolver_set_report_missing(struct ve_resolver *r, bool on) {
        r->missing_quiet = !on;
}

int ve_resolve(struct ve_resolver *r, struct ve_entry *e,
               const char **ret_value, enum ve_from *ret_from, char **ret_reason) {
        const char *v;
        enum ve_from from;
        char *reason = NULL;

        if (e->tmpl)
                v = template_value(r, e);
        else {
                if (!entry_fresh(r, e))
                        fetch(r, e);
                v = atomic_load_explicit(&e->vault_value, memory_order_acquire);
        }
        if (v) {
                from = VE_FROM_VAULT;
                goto found;
        }

        reason = ve_entry_vault_reason(r, e);

        /* A reference's environment value is the reference itself. A
         * mapped name whose environment value is a reference (or an escaped
         * literal) gets what that resolves to. */
        v = e->is_reference || (r->settings->fallback_off & VE_FALLBACK_ENV) ? NULL : r->env(e->map->name);
        if (v && ve_value_is_reference(v)) {
                const char *rv = NULL;

                if (ve_resolve_reference(r, e->map->name, v, &rv, NULL) < 0)
                        rv = NULL;
                v = rv;
        }
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
                if (r->audit)
                        audit_note(r, e, VE_FROM_NONE, NULL);
                return -ENOENT;
        }
        if (!atomic_exchange(&e->fb_logged, true) && !r->missing_quiet) {
                /* Vault refused or failed and nothing filled the name: an
                 * error the user sees at the default level. A secret or
                 * key Vault says is not there is an optional name's
                 * absence: a warning. The reason is whatever the read
                 * gave; the path is added when it does not name it. */
                const char *path = entry_path(e);
                int err = entry_vault_error(e);
                bool say_path = path && (!reason || !strstr(reason, path));

                ve_log(e->map->required || (err != -ENOENT && err != -ENODATA) ? VE_LOG_ERROR : VE_LOG_WARN,
                       "%s: not found in Vault (%s%s%s) nor any fallback%s", e->map->name,
                       say_path ? path : "", say_path ? ": " : "", reason ? reason : "no answer",
                       e->map->required ? "; VAULTENV_ON_MISSING=null, returning NULL" : "");
        }
        free(reason);
        if (r->audit)
                audit_note(r, e, VE_FROM_NONE, NULL);
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
        if (r->audit)
                audit_note(r, e, from, v);
        *ret_value = v;
        if (ret_from)
                *ret_from = from;
        return 0;
}

char *ve_entry_vault_reason(struct ve_resolver *r, struct ve_entry *e) {
        char *s = NULL;

        if (e->tmpl) {
                for (size_t i = 0; !s && i < e->tmpl->n; i++)
                        s = ve_entry_vault_reason(r, &e->tmpl->parts[i]);
                return s;
        }
        pthread_mutex_lock(&e->path->lock);
        if (e->vault_reason)
                s = strdup(e->vault_reason);
        pthread_mutex_unlock(&e->path->lock);
        return s;
}

/* Called with r->dyn_lock held: attaches a new entry to p and gives it the
 * values of p's last read, if any, so that it costs no request. */
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

/* Called with r->dyn_lock held: the path for ref, fixed or dynamic, made
 * when new. NULL: out of memory. */
static struct ve_path *dyn_path(struct ve_resolver *r, const struct ve_ref *ref) {
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

static struct ve_entry *bulk_entry(struct ve_resolver *r, struct bulk_rule *b, const char *name) {
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
         * entry_lookup() applies the name rule instead. */
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
                struct ve_path *p = dyn_path(r, &e->own_map.ref);

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

int ve_resolve_reference(struct ve_resolver *r, const char *name, const char *value,
                         const char **ret_value, char **ret_reason) {
        struct ve_entry *e;

        if (!r || !name || !*name || !ve_value_is_reference(value) || !ret_value)
                return -EINVAL;
        for (e = atomic_load_explicit(&r->refs, memory_order_acquire); e; e = e->dyn_next)
                if (strcmp(e->map->name, name) == 0 && strcmp(e->ref_value, value) == 0)
                        goto found;

        pthread_mutex_lock(&r->dyn_lock);
        for (e = atomic_load(&r->refs); e; e = e->dyn_next)
                if (strcmp(e->map->name, name) == 0 && strcmp(e->ref_value, value) == 0)
                        break;
        if (!e) {
                e = reference_entry_new(r, name, value);
                if (e) {
                        e->dyn_next = atomic_load(&r->refs);
                        atomic_store_explicit(&r->refs, e, memory_order_release);
                }
        }
        pthread_mutex_unlock(&r->dyn_lock);
        if (!e)
                return -ENOMEM;
found:
        if (e->literal) {
                *ret_value = e->literal;
                return 0;
        }
        if (e->invalid) {
                *ret_value = NULL;
                return 0;
        }
        return ve_resolve(r, e, ret_value, NULL, ret_reason);
}

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

/* ---- for vaultenv check and export ---- */

const struct ve_map *ve_resolver_map(const struct ve_resolver *r) {
        return r->map;
}

int ve_entry_vault_status(struct ve_resolver *r, struct ve_entry *e, unsigned long *ret_version) {
        unsigned long version = 0;
        int k;

        (void) r;
        if (e->tmpl) {
                for (size_t i = 0; i < e->tmpl->n; i++)
                        if ((k = ve_entry_vault_status(r, &e->tmpl->parts[i], NULL)) < 0)
                                return k;
                if (ret_version)
                        *ret_version = 0;
                return 0;
        }
        pthread_mutex_lock(&e->path->lock);
        if (atomic_load(&e->vault_value)) {
                k = 0;
                if (e->path->last && e->path->last->version > 0)
                        version = (unsigned long) e->path->last->version;
        } else if (e->vault_error < 0)
                k = e->vault_error;
        else
                k = atomic_load(&e->fresh_until) == 0 ? -ESRCH : -ENODATA;
        pthread_mutex_unlock(&e->path->lock);
        if (k == 0 && ret_version)
                *ret_version = version;
        return k;
}

size_t ve_entry_n_parts(const struct ve_entry *e) {
        return e->tmpl ? e->tmpl->n : 0;
}

struct ve_entry *ve_entry_part(struct ve_entry *e, size_t i) {
        return e->tmpl && i < e->tmpl->n ? &e->tmpl->parts[i] : NULL;
}

static int cmp_names(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

void ve_names_free(char **names) {
        if (!names)
                return;
        for (char **n = names; *n; n++)
                free(*n);
        free(names);
}

int ve_resolver_bulk_names(struct ve_resolver *r, size_t i, char ***ret_names, char **ret_reason) {
        struct bulk_rule *b;
        struct ve_entry *probe;
        struct ve_path *p;
        char **names = NULL;
        size_t n = 0, plen;
        int k = 0;

        if (i >= r->map->n_bulk)
                return -EINVAL;
        b = &r->bulk[i];
        p = b->path;
        plen = b->prefix_len;
        /* The name that is the prefix alone joins the path like any bulk
         * name: fetching it reads the path once for every name of the
         * rule, and leaves the read in p->last. */
        probe = bulk_entry(r, b, b->map->prefix);
        if (!probe)
                return -ENOMEM;
        if (!entry_fresh(r, probe))
                fetch(r, probe);

        pthread_mutex_lock(&p->lock);
        if (!p->last) {
                k = probe->vault_error < 0 ? probe->vault_error : -EIO;
                if (ret_reason)
                        *ret_reason = strdup(probe->vault_reason ? probe->vault_reason : "no answer");
                goto unlock;
        }
        names = calloc(p->last->n + 1, sizeof *names);
        if (!names) {
                k = -ENOMEM;
                goto unlock;
        }
        for (size_t j = 0; j < p->last->n; j++) {
                const char *key = p->last->keys[j];
                size_t klen = strlen(key);
                char *name;

                if (klen == 0)          /* gives no name (ve_bulk_name_matches()) */
                        continue;
                name = malloc(plen + klen + 1);
                if (!name) {
                        k = -ENOMEM;
                        goto unlock;
                }
                memcpy(name, b->map->prefix, plen);
                /* The name rule, in ASCII whatever the locale. */
                for (size_t c = 0; c < klen; c++) {
                        char ch = key[c];

                        if (ch >= 'a' && ch <= 'z')
                                ch = (char) (ch - 'a' + 'A');
                        else if (!((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_'))
                                ch = '_';
                        name[plen + c] = ch;
                }
                name[plen + klen] = '\0';
                names[n++] = name;
        }
unlock:
        pthread_mutex_unlock(&p->lock);
        if (k < 0) {
                ve_names_free(names);
                return k;
        }
        qsort(names, n, sizeof *names, cmp_names);
        /* Two keys may give one name ("a-b", "a_b"): listed once. */
        for (size_t j = 1, w = 1; j <= n; j++) {
                if (j == n) {
                        names[w] = NULL;
                        n = w;
                        break;
                }
                if (strcmp(names[j], names[w - 1]) == 0)
                        free(names[j]);
                else
                        names[w++] = names[j];
        }
        /* A reserved name: ve_resolver_find() never serves it from the
         * rule (told here, with no lock held). */
        for (size_t j = 0, w = 0; j <= n; j++) {
                if (j == n) {
                        names[w] = NULL;
                        n = w;
                        break;
                }
                if (ve_name_reserved(names[j])) {
                        ve_warn("%s (a key at %s, bulk mapping %s* on line %u) is a name vaultenv never serves; "
                                "left to the environment", names[j], b->map->ref.path, b->map->prefix,
                                b->map->line);
                        free(names[j]);
                } else
                        names[w++] = names[j];
        }
        *ret_names = names;
        return 0;
}

/* ---- the audit trail (audit.h) ---- */

static uint64_t audit_mix(uint64_t h, uint64_t v) {
        return (h ^ v) * 1099511628211ULL;
}

static void audit_ref(const struct ve_entry *e, struct ve_audit_ref *ret) {
        long version = atomic_load_explicit(&e->vault_version, memory_order_relaxed);

        *ret = (struct ve_audit_ref) {
                .path = e->map->ref.path,
                /* a bulk name's key is whichever the name rule matched */
                .key = e->bulk ? NULL : e->map->ref.key,
                .version = version > 0 ? (unsigned long) version : 0,
        };
}

/* Called by ve_resolve() when r->audit is set: records e's source unless
 * this process recorded the same one already. The source is identified by
 * a hash of where the value came from and, for Vault, of the KV version(s)
 * and the value pointer (a pointer changes exactly when a refresh brought
 * a new value: retired values are never freed while the resolver lives).
 * So a ttl refresh that read a new version records again; the fast path,
 * once recorded, is one atomic load. Two threads racing on the first
 * lookup may both record (harmless). */
static void audit_note(struct ve_resolver *r, struct ve_entry *e, enum ve_from from, const char *value) {
        struct ve_audit_event ev = { .name = e->map->name };
        struct ve_audit_ref one, *refs = NULL;
        uint64_t key = audit_mix(1469598103934665603ULL, (uint64_t) from + 1);

        switch (from) {
        case VE_FROM_VAULT:
                key = audit_mix(key, (uint64_t) (uintptr_t) value);
                if (e->tmpl)
                        for (size_t i = 0; i < e->tmpl->n; i++)
                                key = audit_mix(key, (uint64_t) atomic_load_explicit(&e->tmpl->parts[i].vault_version,
                                                                                     memory_order_relaxed));
                else
                        key = audit_mix(key, (uint64_t) atomic_load_explicit(&e->vault_version,
                                                                             memory_order_relaxed));
                break;
        case VE_FROM_FILE:
                key = audit_mix(key, e->fb_secrets_dir);
                break;
        default:
                break;
        }
        if (key == 0)
                key = 1;
        if (atomic_load_explicit(&e->audit_key, memory_order_relaxed) == key ||
            atomic_exchange(&e->audit_key, key) == key)
                return;

        switch (from) {
        case VE_FROM_VAULT:
                ev.source = VE_AUDIT_VAULT;
                if (e->tmpl) {
                        refs = calloc(e->tmpl->n, sizeof *refs);
                        if (!refs) {
                                /* try again at the next lookup */
                                atomic_store(&e->audit_key, 0);
                                return;
                        }
                        for (size_t i = 0; i < e->tmpl->n; i++)
                                audit_ref(&e->tmpl->parts[i], &refs[i]);
                        ev.refs = refs;
                        ev.n_refs = e->tmpl->n;
                } else {
                        audit_ref(e, &one);
                        ev.refs = &one;
                        ev.n_refs = 1;
                }
                break;
        case VE_FROM_ENV:
                ev.source = VE_AUDIT_ENV;
                break;
        case VE_FROM_FILE:
                ev.source = e->fb_secrets_dir ? VE_AUDIT_SECRETS_DIR : VE_AUDIT_FILE;
                ev.file = e->fb_path;
                break;
        case VE_FROM_DEFAULT:
                ev.source = VE_AUDIT_DEFAULT;
                break;
        default:
                ev.source = VE_AUDIT_NONE;
                break;
        }
        (void) ve_audit_record(r->audit, &ev);
        free(refs);
}

const char *ve_entry_fallback_file(const struct ve_entry *e, bool *ret_secrets_dir) {
        if (!atomic_load_explicit(&e->fb_done, memory_order_acquire) || e->fb_from != VE_FROM_FILE)
                return NULL;
        if (ret_secrets_dir)
                *ret_secrets_dir = e->fb_secrets_dir;
        return e->fb_path;
}
