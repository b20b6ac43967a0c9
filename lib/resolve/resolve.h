/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdatomic.h>
#include <stdint.h>

#include "envscan.h"
#include "mapfile.h"
#include "reference.h"
#include "secret.h"
#include "settings.h"

/* Resolution of mapped names, with the per-process cache.
 *
 * For a mapped NAME the chain is:
 *   1. Vault: the key at the mapped path (all keys of one path come from one
 *      read; one read per path however many names and threads ask);
 *   2. the process's own environment value of NAME (when that value is a
 *      reference, "vault:...", what it resolves to: ve_resolve_reference());
 *   3. the file named by NAME_FILE, then SECRETS_DIR/NAME, then
 *      SECRETS_DIR/name (lower-cased), one trailing "\n" or "\r\n" stripped;
 *   4. the default= option;
 *   5. nothing: NULL, or for a required name an error (see ve_resolve()).
 *
 * Caching: a Vault read (success or failure) is kept for the life of the
 * process, or until the name's ttl= passes; then the next lookup reads the
 * path again and, should Vault fail, the last good value is still served
 * (stale-if-error), with a warning at each failed attempt, for at most
 * settings->stale_max_ms (VAULTENV_STALE_MAX) after its freshness ended;
 * the next attempt is made no later than that bound. Past it, the value is
 * dropped and the name follows steps 2-5 until a read succeeds again.
 * Steps 3 and 4 are evaluated once per name. Step 2 is live.
 *
 * Templates (map entry with tmpl): step 1 is the template rendered from the
 * values of all its references (each path read once, shared with every
 * other name on it); when any has no value, steps 2-5 as for any name. The
 * rendering is cached and re-made, as a new pointer, when a value it was
 * made from changes (ttl, lease).
 *
 * Bulk names (map->bulk): ve_resolver_find() of a name that no entry maps
 * but that starts with a rule's prefix gives an entry made on the spot
 * (once per name); step 1 is the key that the name rule turns into the name
 * (read the path once for all of them); a miss goes on to steps 2-5 (no
 * default, never required).
 *
 * References (ve_resolve_reference()): as a name, without step 2.
 *
 * Leases (dynamic secrets): values whose read came with a lease are fresh
 * until 2/3 of its lease_duration has passed (ttl= does not apply to
 * them). Then the next lookup renews the lease (source->renew, asking for
 * the first read's lease_duration again) when it is renewable; it reads
 * the path again instead when the lease is not renewable, when the renewal
 * fails, or when Vault renews for less than asked (the lease's max TTL is
 * near). Every name of the path takes the new read's values in one update
 * under the path's lock; should the new read fail, the old values are
 * served and the next attempt is made after 1/6 of the lease duration (at
 * least a second). Renewal is lazy: nothing runs between lookups.
 *
 * Pointer stability: every value pointer handed out stays valid and
 * unchanged until ve_resolver_free() (which the shim never calls): a value
 * replaced by a refresh is retired, not freed.
 *
 * Locking: finding an entry and reading a fresh cached value take no lock
 * and do not allocate. A cold or expired path is fetched by exactly one
 * thread (single flight); meanwhile the others serve the value they had,
 * or, when they have none yet, wait on a condition variable. No lock is
 * held while the source does network I/O. */

struct ve_source {
        /* As ve_vault_read(): every key at ref->path, or -errno and a
         * one-line message. Called without any resolver lock held. */
        int (*read)(void *userdata, const struct ve_ref *ref,
                    struct ve_secret **ret_secret, char **ret_error);
        /* As ve_vault_renew(): renews lease_id (from a read of ref) for
         * increment_s; 0 and the lease as renewed, or -errno and a message.
         * Without lock. NULL: leases are never renewed, only read anew. */
        int (*renew)(void *userdata, const struct ve_ref *ref, const char *lease_id, uint64_t increment_s,
                     struct ve_lease *ret_lease, char **ret_error);
        /* Reads calls[i].ref for every i, concurrently (as
         * ve_vault_read_many()), each outcome as read() gives it; sets
         * every call's r. Without lock. NULL: ve_resolver_prefetch() reads
         * the paths one by one with read(). */
        int (*read_many)(void *userdata, struct ve_read_call *calls, size_t n);
        void *userdata;
};

enum ve_from {
        VE_FROM_NONE = 0,
        VE_FROM_VAULT,
        VE_FROM_ENV,
        VE_FROM_FILE,
        VE_FROM_DEFAULT,
};

struct ve_resolver;
struct ve_entry;

/* Takes ownership of map (also on failure). settings and source are
 * borrowed and must outlive the resolver. env reads the live environment.
 * map may be empty (no entries): a resolver for references only. With
 * settings->prefetch (VAULTENV_PREFETCH) or map->prefetch (the directive),
 * the first lookup that reaches step 1 first reads every path of the
 * mapping at once (ve_resolver_prefetch() of all), a failed path logged
 * once as an error. */
int ve_resolver_new(struct ve_map *map, const struct ve_settings *settings,
                    const struct ve_source *source, ve_getenv_fn env,
                    struct ve_resolver **ret_resolver);
void ve_resolver_free(struct ve_resolver *r);

/* For tests: the monotonic clock in milliseconds (default ve_now_ms()).
 * Call before any lookup. */
void ve_resolver_set_clock(struct ve_resolver *r, uint64_t (*now_ms)(void));

/* For tests: how many times construction compared a reference with a path
 * it had already made, to find the path it reads. */
size_t ve_resolver_path_compares(const struct ve_resolver *r);

/* NULL when name is not mapped (neither by an entry nor by a bulk rule).
 * Lock-free and allocation-free for a mapped name, for a name that matches
 * no bulk prefix (a prefix compare per rule), and for a bulk name seen
 * before; the first lookup of a bulk name allocates its entry under a lock.
 * Does no I/O. */
struct ve_entry *ve_resolver_find(struct ve_resolver *r, const char *name);
/* The fast reject (envscan.h) over r's names and bulk prefixes: a name it
 * rejects is not mapped (ve_resolver_find() gives NULL). Immutable. */
const struct ve_name_filter *ve_resolver_filter(const struct ve_resolver *r);

/* The shim's hot path, for a name that r's filter passed. k is
 *   1 with value: name is an explicit entry (not a template, not a bulk
 *     name) whose Vault value is cached for the life of the process (no
 *     ttl, no lease), and nothing else is due on the lookup (no audit
 *     trail): the value ve_resolve() gives;
 *   0: name is not mapped (ve_resolver_find() gives NULL);
 *   -1: anything else: go through ve_resolver_find() and ve_resolve().
 * A hash, a compare of the name, two atomic loads (or a prefix compare per
 * bulk rule): no lock, no allocation, no clock. Returned in registers. */
struct ve_cached {
        int k;
        const char *value;
};
struct ve_cached ve_resolver_cached(struct ve_resolver *r, const char *name);

size_t ve_resolver_count(const struct ve_resolver *r);
struct ve_entry *ve_resolver_entry(const struct ve_resolver *r, size_t i);
const struct ve_map_entry *ve_entry_map(const struct ve_entry *e);

/* Resolves one mapped name. Returns 0 with *ret_value (NULL when nothing
 * resolved a name that is not required, or VAULTENV_ON_MISSING=null) and,
 * if ret_from is not NULL, where it came from. Returns -ENOENT for a
 * required name that nothing resolved, with a one-line heap reason in
 * *ret_reason (never a value). -ENOMEM likewise. */
int ve_resolve(struct ve_resolver *r, struct ve_entry *e,
               const char **ret_value, enum ve_from *ret_from, char **ret_reason);

const char *ve_from_name(enum ve_from from);

/* Fetches at once the Vault paths of names[0..n) (NULL: every name the
 * mapping has, every template's references and every bulk rule's path),
 * through source->read_many: each distinct path once, skipping the ones
 * whose values are fresh, being fetched by another thread (single flight
 * holds: a lookup meanwhile waits for this fetch), or due a lease renewal
 * (left to the lookup). Each read fills the cache exactly as a lookup's
 * read would (values, failures, leases, ttl). Names not mapped are
 * ignored. A failed path is logged at info (callers report per name); its
 * names then fall back as after any failed read. Blocks for the batch; no
 * lock is held across it. 0, -ENOMEM. */
int ve_resolver_prefetch(struct ve_resolver *r, const char *const *names, size_t n);
/* The same for the names eager mode resolves before main
 * (ve_eager_entry_wanted(): all_eager is VAULTENV_EAGER, inherit_list
 * VAULTENV_INHERIT), for the shim to call before it resolves them. */
int ve_resolver_prefetch_eager(struct ve_resolver *r, bool all_eager, const char *inherit_list);

/* Follows a counter that another process bumps (release) when a mapped
 * secret changed in Vault (`vaultenv exec --on-change`, in memory it shares
 * with this process): once it moved, each path without a lease is read
 * again at the next lookup of one of its names, and every name of it then
 * gets the new value; values handed out before stay valid. Costs the
 * cached lookup one load. Call before any lookup; generation outlives r. */
void ve_resolver_follow_generation(struct ve_resolver *r, const _Atomic(uint64_t) *generation);

/* Whether ve_resolve() logs a name that nothing filled (on by default):
 * an error when Vault refused or failed, a warning when it has no such
 * secret or key; once per name. Off for callers that report every name
 * themselves (`vaultenv check`, `export`, `get`). Call before any lookup. */
void ve_resolver_set_report_missing(struct ve_resolver *r, bool on);

/* Why Vault gave no value for this name at the last read (heap copy), or
 * NULL when it gave one or was not asked yet. For `vaultenv check`. */
char *ve_entry_vault_reason(struct ve_resolver *r, struct ve_entry *e);

/* A reference in the environment: name's live value (for which
 * ve_value_is_reference() is true) when name is NOT mapped
 * (ve_resolver_find() gave NULL). Returns 0 and *ret_value:
 *   - the secret (from Vault, else NAME_FILE / SECRETS_DIR files),
 *   - the unescaped text for an escaped literal ("vault::x" gives "vault:x"),
 *   - NULL when nothing resolved the reference or it is malformed (a
 *     warning is logged once per (name, value); the reference text itself is
 *     never served).
 * Pointer-stable like ve_resolve(); thread-safe; one read per path, shared
 * with mapped names and other references on the same path (same KV version
 * form and version). Entries are kept per (name, value): a program that
 * sets another reference gets it resolved too. Lock-free once the pair was
 * seen; the first time, a lock and an allocation. -ENOMEM, -EINVAL (bad
 * arguments). ret_reason: unused (references are never required), may be
 * NULL. */
int ve_resolve_reference(struct ve_resolver *r, const char *name, const char *value,
                         const char **ret_value, char **ret_reason);

/* fork() handlers. prepare takes every lock of r in one fixed order
 * (dyn_lock; each entry's template and fallback locks; each path's lock;
 * retired_lock): none is held across network I/O, and no thread holding
 * one waits for another that comes earlier. parent releases them. child
 * releases them, re-creates the condition variables and forgets fetches
 * that were in flight in the parent (their threads do not exist here). */
void ve_resolver_atfork_prepare(struct ve_resolver *r);
void ve_resolver_atfork_parent(struct ve_resolver *r);
void ve_resolver_atfork_child(struct ve_resolver *r);

/* ---- for vaultenv check and export ---- */

/* The mapping the resolver was made with (owned by it). */
const struct ve_map *ve_resolver_map(const struct ve_resolver *r);

/* The outcome of the last Vault read for e (call after ve_resolve()):
 *   0         Vault gave e its value; *ret_version (when not NULL) is the
 *             KV v2 version that read returned, 0 when none (KV v1, other
 *             engines, templates);
 *   -ENODATA  the read succeeded but the path has no such key (a bulk
 *             name: no key, or several keys, give the name);
 *   -ESRCH    Vault was not asked yet;
 *   else the failed read's -errno, in the classes of vault.h (-EACCES,
 *   -ENOENT, -EAGAIN, -ECONNREFUSED, -ETIMEDOUT, -EPROTO, -EINVAL, -EIO).
 * A template: the first of its references that has no value, else 0.
 * ve_entry_vault_reason() gives the matching message. */
int ve_entry_vault_status(struct ve_resolver *r, struct ve_entry *e, unsigned long *ret_version);

/* A template's references, each an entry of its own (its map's ref is the
 * reference, its name the template's); 0 and NULL for a plain entry. */
size_t ve_entry_n_parts(const struct ve_entry *e);
struct ve_entry *ve_entry_part(struct ve_entry *e, size_t i);

/* The names bulk rule i (0 <= i < map->n_bulk) gives: reads the rule's
 * path (once, shared with every bulk name of the path; a fresh cached read
 * is used as is) and turns each key into PREFIX + the key under the name
 * rule. 0 and a sorted, duplicate-free, NULL-terminated heap array
 * (ve_names_free()); names an explicit entry maps are included. On a failed
 * read, its -errno (vault.h) and the reason (heap) in *ret_reason when not
 * NULL. -EINVAL (no such rule), -ENOMEM. */
int ve_resolver_bulk_names(struct ve_resolver *r, size_t i, char ***ret_names, char **ret_reason);
void ve_names_free(char **names);

/* The file e's value came from when ve_resolve() gave VE_FROM_FILE (the
 * path, never its contents), else NULL; *ret_secrets_dir (when not NULL):
 * found in VAULTENV_SECRETS_DIR rather than through NAME_FILE. */
const char *ve_entry_fallback_file(const struct ve_entry *e, bool *ret_secrets_dir);
