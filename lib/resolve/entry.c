/* SPDX-License-Identifier: MIT */
/* Lifetimes: linking an entry to its path, freeing entries and paths, and
 * retiring values. A value handed out stays valid until ve_resolver_free():
 * one a refresh replaced is retired (kept on a list), never freed early. */
#include <stdlib.h>

#include "resolve-internal.h"
#include "util.h"

/* A value the resolver handed out: a Vault value lives in secure memory
 * (util.h: out of core dumps), a rendering or a file's text on the heap;
 * either way wiped. */
static void value_free(char *v) {
        if (v && ve_secure_owns(v))
                ve_secure_free(v);
        else
                ve_erase_free(v);
}

void entry_attach(struct ve_entry *e, struct ve_path *p) {
        e->path = p;
        e->path_next = p->entries;
        p->entries = e;
}

static void tmpl_state_free(struct tmpl_state *ts) {
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

void entry_done(struct ve_entry *e) {
        value_free(atomic_load(&e->vault_value));
        free(e->vault_reason);
        ve_erase_free(e->fb_value);
        free(e->fb_path);
        pthread_mutex_destroy(&e->fb_lock);
        if (e->tmpl)
                tmpl_state_free(e->tmpl);
        if (e->dynamic) {
                free(e->own_map.name);
                if (e->is_reference)
                        ve_ref_done(&e->own_map.ref);
                ve_erase_free(e->ref_value);
                ve_erase_free(e->literal);
        }
}

void entry_list_free(struct ve_entry *e) {
        while (e) {
                struct ve_entry *next = e->dyn_next;

                entry_done(e);
                free(e);
                e = next;
        }
}

void path_done(struct ve_path *p) {
        ve_lease_done(&p->lease);
        ve_secret_free(p->last);
        pthread_mutex_destroy(&p->lock);
        pthread_cond_destroy(&p->cond);
}

void retire_with(struct ve_resolver *r, char *value, void *extra) {
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

void retire(struct ve_resolver *r, char *value) {
        retire_with(r, value, NULL);
}

void retired_free(struct ve_resolver *r) {
        while (r->retired) {
                struct retired *t = r->retired;

                r->retired = t->next;
                value_free(t->value);
                free(t->extra);
                free(t);
        }
}
