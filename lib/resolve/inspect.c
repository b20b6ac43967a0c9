/* SPDX-License-Identifier: MIT */
/* What callers learn about entries besides their values: the mapping,
 * where a value came from, and why Vault gave none (vaultenv check,
 * export, get; and ve_resolve()'s messages). Reads an entry's vault_*
 * fields under its path's lock; never a value. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "resolve-internal.h"

size_t ve_resolver_count(const struct ve_resolver *r) {
        return r->map->n_entries;
}

struct ve_entry *ve_resolver_entry(const struct ve_resolver *r, size_t i) {
        return i < r->map->n_entries ? &r->entries[i] : NULL;
}

const struct ve_map_entry *ve_entry_map(const struct ve_entry *e) {
        return e->map;
}

const struct ve_map *ve_resolver_map(const struct ve_resolver *r) {
        return r->map;
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

const char *entry_vault_path(struct ve_entry *e) {
        e = entry_failed_part(e);
        return e && e->path ? e->path->ref->path : NULL;
}

int entry_vault_error(struct ve_entry *e) {
        int err;

        e = entry_failed_part(e);
        if (!e || !e->path)
                return 0;
        pthread_mutex_lock(&e->path->lock);
        err = e->vault_error;
        pthread_mutex_unlock(&e->path->lock);
        return err;
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

const char *ve_entry_fallback_file(const struct ve_entry *e, bool *ret_secrets_dir) {
        if (!atomic_load_explicit(&e->fb_done, memory_order_acquire) || e->fb_from != VE_FROM_FILE)
                return NULL;
        if (ret_secrets_dir)
                *ret_secrets_dir = e->fb_secrets_dir;
        return e->fb_path;
}
