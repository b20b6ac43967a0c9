/* SPDX-License-Identifier: MIT */
/* The resolver's side of the audit trail: when a name's source is worth a
 * record, and what the record says (audit.c formats and delivers it).
 * Never the value: only where it came from. */
#include <stdlib.h>

#include "resolve-internal.h"

static uint64_t audit_mix(uint64_t h, uint64_t v) {
        return (h ^ v) * 1099511628211ULL;
}

/* A hash of where e's value came from and, for Vault, of the KV version(s)
 * and the value pointer (a pointer changes exactly when a refresh brought
 * a new value: retired values are never freed while the resolver lives).
 * Never 0, which means "nothing recorded". */
static uint64_t audit_source_key(const struct ve_entry *e, enum ve_from from, const char *value) {
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
        return key == 0 ? 1 : key;
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

/* A ttl refresh that read a new version changes the key and records
 * again; once recorded, the fast path is one atomic load. Two threads
 * racing on the first lookup may both record (harmless). */
void audit_note(struct ve_resolver *r, struct ve_entry *e, enum ve_from from, const char *value) {
        struct ve_audit_event ev = { .name = e->map->name };
        struct ve_audit_ref one, *refs = NULL;
        uint64_t key = audit_source_key(e, from, value);

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
