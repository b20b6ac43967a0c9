/* SPDX-License-Identifier: MIT */
#pragma once

/* Shared by the files of lib/resolve that implement resolve.h, and
 * included only by them: the resolver's state, the name lookup of the hot
 * path (static inline, so that getenv() pays no call for it), and the
 * helpers one file of the resolver gives another.
 *
 * The files, each calling only those listed after it (never back up):
 *   resolve.c        ve_resolver_new/free, the lookups, ve_resolve()
 *   prefetch.c       fetching many paths at once (ve_resolver_prefetch())
 *   bulk.c           the names a bulk rule gives (vaultenv check, export)
 *   dynamic.c        entries made after construction: references, bulk names
 *   render.c         templates: their parts, their rendering
 *   cache.c          fetching a path, renewing its lease, handing its entries
 *                    their values
 *   index.c          the name table and the path table
 *   entry.c          freeing entries and paths, retiring replaced values
 *   fallback.c       steps 3 and 4: secret files, the default
 *   inspect.c        what vaultenv check and export ask of an entry
 *   resolve_audit.c  when to write the audit trail (audit.c writes it)
 *   atfork.c         the fork handlers */

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "audit.h"
#include "resolve.h"

#define FOREVER UINT64_MAX

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

        /* A change in Vault told through the generation (generation.c), under
         * lock: regen is bumped for each one; a fetch claimed at regen hands
         * every entry its new value (not only those without one) and leaves
         * them stale if regen moved on meanwhile. */
        unsigned regen, regen_claimed, regen_done;

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

/* A slot of the name table: besides the entry, what a lookup compares
 * first, the name's length and two words that cover its first and last
 * bytes (name_words()); for a name of up to 16 bytes they are the whole
 * name, so most lookups never call strcmp(). */
struct slot {
        uint64_t w0, w1;
        size_t len;
        struct ve_entry *e;     /* NULL: empty */
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

        bool prefetch;                  /* VAULTENV_PREFETCH or the mapping's prefetch directive */
        atomic_bool prefetched;         /* prefetch_first() ran (or is running) */

        struct ve_audit *audit;         /* VAULTENV_AUDIT; NULL: off */

        /* ve_resolver_follow_generation(): the counter another process bumps
         * when a secret changed, and the value the cache was last made stale
         * for (written under dyn_lock). */
        const _Atomic(uint64_t) *generation;
        _Atomic(uint64_t) generation_seen;
        bool missing_quiet;             /* see ve_resolver_set_report_missing() */
};

/* ---- the name lookup (the shim's hot path: inline, no lock, no call) ---- */

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

/* Whether e's Vault value (or its absence) still stands. The clock is read
 * only for a value that has a deadline (ttl, lease). */
static inline bool entry_fresh(const struct ve_resolver *r, const struct ve_entry *e) {
        uint64_t until = atomic_load_explicit(&e->fresh_until, memory_order_acquire);

        return until == FOREVER || (until != 0 && r->now_ms() < until);
}

/* ---- index.c: the name table and the path table ---- */

/* At construction only: adds e under its name (the table has room). */
void name_table_add(struct ve_resolver *r, struct ve_entry *e);
/* At construction only (no lock): the fixed path for ref, made if new. */
struct ve_path *path_fixed(struct ve_resolver *r, const struct ve_ref *ref);
/* Called with r->dyn_lock held: the path for ref, fixed or dynamic, made
 * when new. NULL: out of memory. */
struct ve_path *path_dynamic(struct ve_resolver *r, const struct ve_ref *ref);

/* ---- entry.c: lifetimes of entries, paths and values ---- */

/* Links e into p's entries (under p->lock once p is shared). */
void entry_attach(struct ve_entry *e, struct ve_path *p);
/* Frees what e owns (not e itself). */
void entry_done(struct ve_entry *e);
/* Frees a list of dynamic entries linked through dyn_next, and them. */
void entry_list_free(struct ve_entry *e);
/* Frees what p owns (not p itself). */
void path_done(struct ve_path *p);
/* Keeps a value a refresh replaced (and extra, freed along with it) until
 * ve_resolver_free(): a caller may still hold it. Takes retired_lock. */
void retire_with(struct ve_resolver *r, char *value, void *extra);
void retire(struct ve_resolver *r, char *value);
/* At ve_resolver_free(): frees every retired value. */
void retired_free(struct ve_resolver *r);

/* ---- cache.c: fetching a path ---- */

/* Called with p->lock held: sets e's Vault value from secret (a successful
 * read). */
void entry_set(struct ve_resolver *r, struct ve_path *p, struct ve_entry *e, const struct ve_secret *secret);
/* Refreshes e's path (single flight; renews its lease when it can), and
 * hands every entry of the path its value. Takes p->lock, never across
 * the source's I/O. */
void entry_fetch(struct ve_resolver *r, struct ve_entry *e);

/* Claims the fetch of p for a batch (prefetch.c), without waiting: true
 * when no fetch of p is in flight, e (an entry of p) is not fresh, and p
 * has no lease to renew (a renewal is a request of its own: left to
 * entry_fetch()). Then p->fetching is set, for path_fetched() to end. */
bool path_claim_nowait(struct ve_resolver *r, struct ve_path *p, struct ve_entry *e);
/* Ends a claimed fetch of p with the read's outcome (secret taken, or err
 * and errmsg), exactly as entry_fetch() does: every entry of the path its
 * value, the lease adopted, the waiters woken. renewed: a renewal was
 * tried first and failed. Takes p->lock. */
void path_fetched(struct ve_resolver *r, struct ve_path *p, struct ve_secret *secret, int err,
                  const char *errmsg, bool renewed);

/* ---- prefetch.c: many paths at once ---- */

/* ve_resolver_prefetch() of entries[0..n) (NULL entries skipped), or of
 * every entry and bulk rule when entries is NULL. */
int prefetch_entries(struct ve_resolver *r, struct ve_entry *const *entries, size_t n);

/* The first lookup of a resolver with prefetch on (VAULTENV_PREFETCH, the
 * mapping's prefetch directive): every path of the mapping, concurrently,
 * once per resolver; a failed path is logged once, as an error. */
void prefetch_first(struct ve_resolver *r);

/* ---- generation.c: changes told from outside ---- */

/* Whether the followed generation moved since the cache was made stale for
 * it: one acquire load (the hot path's cost). */
static inline bool generation_moved(struct ve_resolver *r) {
        return r->generation && atomic_load_explicit(r->generation, memory_order_acquire) !=
                                        atomic_load_explicit(&r->generation_seen, memory_order_acquire);
}
/* When it moved: every path without a lease made stale, so that the next
 * lookup of each of its names reads it again and takes the new values.
 * Takes dyn_lock, then each path's lock. */
void generation_sync(struct ve_resolver *r);

/* ---- render.c: templates ---- */

/* At construction: e's template state, one part entry per reference, each
 * on its fixed path. -ENOMEM (what was made is freed by entry_done()). */
int template_setup(struct ve_resolver *r, struct ve_entry *e);
/* A template's value from Vault: rendered from its parts' values, or NULL
 * when one of them has none. */
const char *template_value(struct ve_resolver *r, struct ve_entry *e);

/* ---- dynamic.c: entries made after construction ---- */

/* The entry of bulk rule b for name, made (under dyn_lock) on the first
 * lookup; NULL when name is not a valid name or out of memory. */
struct ve_entry *bulk_entry(struct ve_resolver *r, struct bulk_rule *b, const char *name);
/* The entry for the reference (name, value), made on the first lookup of
 * the pair; NULL: out of memory. */
struct ve_entry *reference_entry(struct ve_resolver *r, const char *name, const char *value);

/* ---- fallback.c: steps 3 and 4 ---- */

/* e's value from its files or its default (computed once, under fb_lock),
 * or NULL; *ret_from says which (VE_FROM_NONE with NULL). */
const char *entry_fallback(struct ve_resolver *r, struct ve_entry *e, enum ve_from *ret_from);

/* ---- inspect.c ---- */

/* The Vault path of e's failed read (a template's first part without a
 * value), or NULL. */
const char *entry_vault_path(struct ve_entry *e);
/* The failed read's -errno (vault.h), -ENODATA for a missing key, 0. */
int entry_vault_error(struct ve_entry *e);

/* ---- resolve_audit.c ---- */

/* Called by ve_resolve() when r->audit is set: records e's source unless
 * this process recorded the same one already. */
void audit_note(struct ve_resolver *r, struct ve_entry *e, enum ve_from from, const char *value);
