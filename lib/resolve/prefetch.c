/* SPDX-License-Identifier: MIT */
/* Many paths at once (ve_resolver_prefetch()): the paths of a set of
 * names are claimed one by one without waiting (path_claim_nowait(): a
 * path another thread fetches, or whose values are fresh, is left alone),
 * read in one call of the source's read_many (concurrent requests), and
 * handed to their entries by path_fetched(), as entry_fetch() does for one.
 * While claimed, a lookup of one of those paths waits on the path's
 * condition variable as for any fetch in flight: one read per path. No
 * lock is held across the source's I/O. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "eager.h"
#include "log.h"
#include "resolve-internal.h"
#include "util.h"

/* Which entries are eager (eager.h). */
struct eager_ask {
        bool all;
        const char *inherit;
};

/* The entries whose paths a prefetch looks at, growing. */
struct set {
        struct ve_entry **e;
        size_t n, cap;
};

static int set_add(struct set *s, struct ve_entry *e) {
        if (s->n == s->cap) {
                size_t cap = s->cap ? s->cap * 2 : 16;
                struct ve_entry **a = realloc(s->e, cap * sizeof *a);

                if (!a)
                        return -ENOMEM;
                s->e = a;
                s->cap = cap;
        }
        s->e[s->n++] = e;
        return 0;
}

/* e, or a template's parts (each on a path of its own). */
static int set_add_entry(struct set *s, struct ve_entry *e) {
        int k;

        if (!e->tmpl)
                return e->path ? set_add(s, e) : 0;
        for (size_t i = 0; i < e->tmpl->n; i++) {
                k = set_add(s, &e->tmpl->parts[i]);
                if (k < 0)
                        return k;
        }
        return 0;
}

/* The entries asked for: with eager, those ve_eager_entry_wanted() makes
 * eager; else entries[0..n), or (NULL) all and the bulk rules' paths. */
static int collect(struct ve_resolver *r, struct ve_entry *const *entries, size_t n,
                   const struct eager_ask *eager, struct set *s) {
        int k = 0;

        if (eager) {
                for (size_t i = 0; i < r->map->n_entries && k >= 0; i++)
                        if (ve_eager_entry_wanted(&r->map->entries[i], eager->all, eager->inherit))
                                k = set_add_entry(s, &r->entries[i]);
                return k;
        }
        if (entries) {
                for (size_t i = 0; i < n && k >= 0; i++)
                        if (entries[i])
                                k = set_add_entry(s, entries[i]);
                return k;
        }
        for (size_t i = 0; i < r->map->n_entries && k >= 0; i++)
                k = set_add_entry(s, &r->entries[i]);
        /* A bulk rule's path joins through the name that is its prefix
         * alone, as ve_resolver_bulk_names() reads it. */
        for (size_t i = 0; i < r->map->n_bulk && k >= 0; i++) {
                struct ve_entry *probe = bulk_entry(r, &r->bulk[i], r->bulk[i].map->prefix);

                k = probe ? set_add(s, probe) : -ENOMEM;
        }
        return k;
}

/* The batch: claims, reads, hands out. report: a failed path is logged as
 * an error (the lazy prefetch, where no caller reports per name). */
static int prefetch(struct ve_resolver *r, struct ve_entry *const *entries, size_t n,
                    const struct eager_ask *eager, bool report) {
        struct set s = {};
        struct ve_path **paths = NULL;
        struct ve_read_call *calls = NULL;
        size_t m = 0;
        int k;

        k = collect(r, entries, n, eager, &s);
        if (k < 0)
                goto out;
        paths = calloc(s.n ? s.n : 1, sizeof *paths);
        calls = calloc(s.n ? s.n : 1, sizeof *calls);
        if (!paths || !calls) {
                k = -ENOMEM;
                goto out;
        }
        for (size_t i = 0; i < s.n; i++) {
                struct ve_path *p = s.e[i]->path;
                bool seen = false;

                for (size_t j = 0; j < m && !seen; j++)
                        seen = paths[j] == p;
                if (seen || !path_claim_nowait(r, p, s.e[i]))
                        continue;
                paths[m] = p;
                calls[m++].ref = p->ref;
        }
        if (m == 0)
                goto out;

        ve_debug("prefetching %zu path(s)", m);
        if (r->source && r->source->read_many)
                (void) r->source->read_many(r->source->userdata, calls, m);
        else
                for (size_t i = 0; i < m; i++)
                        calls[i].r = r->source && r->source->read ?
                                     r->source->read(r->source->userdata, calls[i].ref, &calls[i].secret,
                                                     &calls[i].error) : -ENOTCONN;

        for (size_t i = 0; i < m; i++) {
                struct ve_read_call *c = &calls[i];

                if (c->r < 0 && report)
                        ve_error("%s: %s", paths[i]->ref->path, c->error ? c->error : strerror(-c->r));
                else if (c->r < 0)
                        ve_info("%s: %s", paths[i]->ref->path, c->error ? c->error : strerror(-c->r));
                path_fetched(r, paths[i], c->r < 0 ? NULL : c->secret, c->r, c->error, false);
                c->secret = NULL;
                free(c->error);
                c->error = NULL;
        }
        k = 0;
out:
        free(calls);
        free(paths);
        free(s.e);
        return k;
}

int prefetch_entries(struct ve_resolver *r, struct ve_entry *const *entries, size_t n) {
        return prefetch(r, entries, n, NULL, false);
}

int ve_resolver_prefetch_eager(struct ve_resolver *r, bool all_eager, const char *inherit_list) {
        struct eager_ask eager = { .all = all_eager, .inherit = inherit_list };

        if (!r)
                return -EINVAL;
        return prefetch(r, NULL, 0, &eager, false);
}

void prefetch_first(struct ve_resolver *r) {
        if (atomic_exchange(&r->prefetched, true))
                return;
        if (prefetch(r, NULL, 0, NULL, true) < 0)
                ve_warn("out of memory; the paths of the mapping are read as names are looked up");
}
