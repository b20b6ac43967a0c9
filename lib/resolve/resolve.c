/* SPDX-License-Identifier: MIT */
/* The resolver itself: construction and teardown, the lookup of a name
 * (the shim's hot path), and the chain ve_resolve() walks for a mapped
 * name (resolve.h). The parts it calls live in the files that
 * resolve-internal.h lists. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "reference.h"
#include "resolve-internal.h"
#include "template.h"
#include "util.h"

/* Sizes and allocates r's arrays for map: the name table at most half
 * full, the path index likewise (at most one path per reference). */
static int resolver_alloc(struct ve_resolver *r, const struct ve_map *map) {
        size_t n = map->n_entries, size = 8, n_refs = n + map->n_bulk, path_size = 8;
        unsigned bits = 3;      /* log2(size) */

        for (size_t i = 0; i < n; i++)
                if (map->entries[i].tmpl)
                        n_refs += map->entries[i].tmpl->n_refs;
        while (size < 2 * n) {
                size *= 2;
                bits++;
        }
        while (path_size < 2 * n_refs)
                path_size *= 2;
        r->entries = calloc(n ? n : 1, sizeof *r->entries);
        r->paths = calloc(n_refs ? n_refs : 1, sizeof *r->paths);
        r->path_slots = calloc(path_size, sizeof *r->path_slots);
        r->table = calloc(size, sizeof *r->table);
        r->bulk = calloc(map->n_bulk ? map->n_bulk : 1, sizeof *r->bulk);
        if (!r->entries || !r->paths || !r->path_slots || !r->table || !r->bulk)
                return -ENOMEM;
        r->table_mask = size - 1;
        r->table_shift = 64 - bits;
        r->path_mask = path_size - 1;
        return 0;
}

/* The explicit entries and the bulk rules of r->map, each on its path,
 * in the name table and the filter. */
static int resolver_fill(struct ve_resolver *r) {
        const struct ve_map *map = r->map;

        for (size_t i = 0; i < map->n_entries; i++) {
                struct ve_entry *e = &r->entries[i];

                e->map = &map->entries[i];
                pthread_mutex_init(&e->fb_lock, NULL);
                if (e->map->tmpl) {
                        if (template_setup(r, e) < 0)
                                return -ENOMEM;
                } else
                        entry_attach(e, path_fixed(r, &e->map->ref));

                name_table_add(r, e);
        }
        for (size_t i = 0; i < map->n_bulk; i++) {
                r->bulk[i].map = &map->bulk[i];
                r->bulk[i].prefix_len = strlen(map->bulk[i].prefix);
                r->bulk[i].path = path_fixed(r, &map->bulk[i].ref);
                ve_name_filter_add_prefix(&r->filter, map->bulk[i].prefix);
        }
        return 0;
}

int ve_resolver_new(struct ve_map *map, const struct ve_settings *settings,
                    const struct ve_source *source, ve_getenv_fn env,
                    struct ve_resolver **ret_resolver) {
        struct ve_resolver *r;

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
        r->prefetch = settings->prefetch || map->prefetch;
        pthread_mutex_init(&r->retired_lock, NULL);
        /* settings->audit was validated when the settings were loaded. */
        if (settings->audit && ve_audit_new(settings->audit, &r->audit) < 0)
                r->audit = NULL;
        pthread_mutex_init(&r->dyn_lock, NULL);

        if (resolver_alloc(r, map) < 0 || resolver_fill(r) < 0) {
                ve_resolver_free(r);
                return -ENOMEM;
        }
        *ret_resolver = r;
        return 0;
}

void ve_resolver_free(struct ve_resolver *r) {
        if (!r)
                return;
        if (r->entries)
                for (size_t i = 0; i < r->map->n_entries; i++)
                        entry_done(&r->entries[i]);
        entry_list_free(atomic_load(&r->refs));
        for (size_t i = 0; r->bulk && i < r->map->n_bulk; i++)
                entry_list_free(atomic_load(&r->bulk[i].names));
        for (size_t i = 0; r->paths && i < r->n_paths; i++)
                path_done(&r->paths[i]);
        while (r->dyn_paths) {
                struct ve_path *p = r->dyn_paths;

                r->dyn_paths = p->dyn_next;
                path_done(p);
                ve_ref_done(&p->own_ref);
                free(p);
        }
        retired_free(r);
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

void ve_resolver_set_report_missing(struct ve_resolver *r, bool on) {
        r->missing_quiet = !on;
}

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

int ve_resolver_prefetch(struct ve_resolver *r, const char *const *names, size_t n) {
        struct ve_entry **entries;
        int k;

        if (!r || (!names && n > 0))
                return -EINVAL;
        if (!names)
                return prefetch_entries(r, NULL, 0);
        entries = calloc(n ? n : 1, sizeof *entries);
        if (!entries)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                entries[i] = names[i] ? ve_resolver_find(r, names[i]) : NULL;
        k = prefetch_entries(r, entries, n);
        free(entries);
        return k;
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
        if (generation_moved(r) || r->audit || e->tmpl || atomic_load_explicit(&e->fresh_until, memory_order_acquire) != FOREVER)
                return (struct ve_cached) { .k = -1 };
        v = atomic_load_explicit(&e->vault_value, memory_order_acquire);
        return (struct ve_cached) { .k = v ? 1 : -1, .value = v };
}

/* ---- ve_resolve(): the chain of resolve.h ---- */

/* Step 1: e's Vault value (a template's rendering), fetched first when it
 * is not fresh; NULL when Vault gave none. */
static const char *vault_value(struct ve_resolver *r, struct ve_entry *e) {
        if (generation_moved(r))
                generation_sync(r);
        /* Prefetch: the first lookup reads every path of the mapping at once. */
        if (r->prefetch && !atomic_load_explicit(&r->prefetched, memory_order_relaxed))
                prefetch_first(r);
        if (e->tmpl)
                return template_value(r, e);
        if (!entry_fresh(r, e))
                entry_fetch(r, e);
        return atomic_load_explicit(&e->vault_value, memory_order_acquire);
}

/* Step 2: the live environment value of e's name. A reference's
 * environment value is the reference itself: skipped. A mapped name whose
 * environment value is a reference (or an escaped literal) gets what that
 * resolves to. */
static const char *env_value(struct ve_resolver *r, struct ve_entry *e) {
        const char *v, *rv = NULL;

        if (e->is_reference || (r->settings->fallback_off & VE_FALLBACK_ENV))
                return NULL;
        v = r->env(e->map->name);
        if (!v || !ve_value_is_reference(v))
                return v;
        if (ve_resolve_reference(r, e->map->name, v, &rv, NULL) < 0)
                return NULL;
        return rv;
}

/* Logs, once per name, that nothing filled e (unless the caller reports
 * missing names itself). Vault refused or failed: an error the user sees
 * at the default level. A secret or key Vault says is not there is an
 * optional name's absence: a warning. reason is whatever the read gave;
 * the path is added when it does not name it. */
static void report_missing(struct ve_resolver *r, struct ve_entry *e, const char *reason) {
        const char *path;
        bool say_path;
        int err;

        if (atomic_exchange(&e->fb_logged, true) || r->missing_quiet)
                return;
        path = entry_vault_path(e);
        err = entry_vault_error(e);
        say_path = path && (!reason || !strstr(reason, path));
        ve_log(e->map->required || (err != -ENOENT && err != -ENODATA) ? VE_LOG_ERROR : VE_LOG_WARN,
               "%s: not found in Vault (%s%s%s) nor any fallback%s", e->map->name,
               say_path ? path : "", say_path ? ": " : "", reason ? reason : "no answer",
               e->map->required ? "; VAULTENV_ON_MISSING=null, returning NULL" : "");
}

/* Step 5: nothing resolved e. -ENOENT with *ret_reason for a required
 * name (unless VAULTENV_ON_MISSING=null), else 0 and NULL. */
static int resolve_missing(struct ve_resolver *r, struct ve_entry *e, const char *reason,
                           const char **ret_value, enum ve_from *ret_from, char **ret_reason) {
        if (e->map->required && !r->settings->on_missing_null) {
                if (ret_reason) {
                        *ret_reason = ve_asprintf("not found in Vault (%s), the environment, %s_FILE, %s/%s or a default",
                                                  reason ? reason : "no answer", e->map->name,
                                                  r->settings->secrets_dir, e->map->name);
                        if (!*ret_reason)
                                return -ENOMEM;
                }
                if (r->audit)
                        audit_note(r, e, VE_FROM_NONE, NULL);
                return -ENOENT;
        }
        report_missing(r, e, reason);
        if (r->audit)
                audit_note(r, e, VE_FROM_NONE, NULL);
        *ret_value = NULL;
        if (ret_from)
                *ret_from = VE_FROM_NONE;
        return 0;
}

/* Hands v out, from from, noting it in the audit trail. */
static int resolved(struct ve_resolver *r, struct ve_entry *e, enum ve_from from, const char *v,
                    const char **ret_value, enum ve_from *ret_from) {
        if (r->audit)
                audit_note(r, e, from, v);
        *ret_value = v;
        if (ret_from)
                *ret_from = from;
        return 0;
}

/* Steps 2 to 5, for an entry Vault gave no value. */
static int resolve_without_vault(struct ve_resolver *r, struct ve_entry *e,
                                 const char **ret_value, enum ve_from *ret_from, char **ret_reason) {
        char *reason = ve_entry_vault_reason(r, e);
        enum ve_from from = VE_FROM_ENV;
        const char *v;
        int k;

        v = env_value(r, e);
        if (!v)
                v = entry_fallback(r, e, &from);
        if (!v) {
                k = resolve_missing(r, e, reason, ret_value, ret_from, ret_reason);
                free(reason);
                return k;
        }
        if (!atomic_exchange(&e->fb_logged, true))
                ve_warn("%s: Vault gave no value (%s); using the %s", e->map->name,
                        reason ? reason : "no answer", ve_from_name(from));
        free(reason);
        return resolved(r, e, from, v, ret_value, ret_from);
}

int ve_resolve(struct ve_resolver *r, struct ve_entry *e,
               const char **ret_value, enum ve_from *ret_from, char **ret_reason) {
        const char *v = vault_value(r, e);

        if (v)
                return resolved(r, e, VE_FROM_VAULT, v, ret_value, ret_from);
        return resolve_without_vault(r, e, ret_value, ret_from, ret_reason);
}

int ve_resolve_reference(struct ve_resolver *r, const char *name, const char *value,
                         const char **ret_value, char **ret_reason) {
        struct ve_entry *e;

        if (!r || !name || !*name || !ve_value_is_reference(value) || !ret_value)
                return -EINVAL;
        e = reference_entry(r, name, value);
        if (!e)
                return -ENOMEM;
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
