/* SPDX-License-Identifier: MIT */
/* The names a bulk rule gives (ve_resolver_bulk_names(), for vaultenv check
 * and export): its path's keys turned into names by the name rule. Serving
 * a bulk name is ve_resolver_find()'s job (dynamic.c makes its entry). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "resolve-internal.h"

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

/* prefix (plen bytes) + key (klen bytes) under the name rule: ASCII
 * letters upper-cased, digits and '_' kept, any other byte '_', whatever
 * the locale. Heap; NULL: out of memory. */
static char *bulk_key_name(const char *prefix, size_t plen, const char *key, size_t klen) {
        char *name = malloc(plen + klen + 1);

        if (!name)
                return NULL;
        memcpy(name, prefix, plen);
        for (size_t c = 0; c < klen; c++) {
                char ch = key[c];

                if (ch >= 'a' && ch <= 'z')
                        ch = (char) (ch - 'a' + 'A');
                else if (!((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_'))
                        ch = '_';
                name[plen + c] = ch;
        }
        name[plen + klen] = '\0';
        return name;
}

/* Called with the rule's path lock held: the names the keys of s give
 * (unsorted, NULL-terminated) and their number. -ENOMEM. */
static int bulk_names_of(const struct bulk_rule *b, const struct ve_secret *s, char ***ret_names, size_t *ret_n) {
        char **names;
        size_t n = 0;

        names = calloc(s->n + 1, sizeof *names);
        if (!names)
                return -ENOMEM;
        for (size_t j = 0; j < s->n; j++) {
                size_t klen = strlen(s->keys[j]);

                if (klen == 0)          /* gives no name (ve_bulk_name_matches()) */
                        continue;
                names[n] = bulk_key_name(b->map->prefix, b->prefix_len, s->keys[j], klen);
                if (!names[n]) {
                        ve_names_free(names);
                        return -ENOMEM;
                }
                n++;
        }
        *ret_names = names;
        *ret_n = n;
        return 0;
}

/* Sorted names without repeats: two keys may give one name ("a-b",
 * "a_b"). Returns the new count; names stays NULL-terminated. */
static size_t names_sort_unique(char **names, size_t n) {
        size_t w = n > 0;

        qsort(names, n, sizeof *names, cmp_names);
        for (size_t j = 1; j < n; j++) {
                if (strcmp(names[j], names[w - 1]) == 0)
                        free(names[j]);
                else
                        names[w++] = names[j];
        }
        names[w] = NULL;
        return w;
}

/* Drops, with a warning, the reserved names: ve_resolver_find() never
 * serves them from the rule. Returns the new count. */
static size_t names_drop_reserved(const struct bulk_rule *b, char **names, size_t n) {
        size_t w = 0;

        for (size_t j = 0; j < n; j++) {
                if (ve_name_reserved(names[j])) {
                        ve_warn("%s (a key at %s, bulk mapping %s* on line %u) is a name vaultenv never serves; "
                                "left to the environment", names[j], b->map->ref.path, b->map->prefix,
                                b->map->line);
                        free(names[j]);
                } else
                        names[w++] = names[j];
        }
        names[w] = NULL;
        return w;
}

int ve_resolver_bulk_names(struct ve_resolver *r, size_t i, char ***ret_names, char **ret_reason) {
        struct bulk_rule *b;
        struct ve_entry *probe;
        struct ve_path *p;
        char **names = NULL;
        size_t n = 0;
        int k;

        if (i >= r->map->n_bulk)
                return -EINVAL;
        b = &r->bulk[i];
        p = b->path;
        /* The name that is the prefix alone joins the path like any bulk
         * name: fetching it reads the path once for every name of the
         * rule, and leaves the read in p->last. */
        probe = bulk_entry(r, b, b->map->prefix);
        if (!probe)
                return -ENOMEM;
        if (!entry_fresh(r, probe))
                entry_fetch(r, probe);

        pthread_mutex_lock(&p->lock);
        if (p->last)
                k = bulk_names_of(b, p->last, &names, &n);
        else {
                k = probe->vault_error < 0 ? probe->vault_error : -EIO;
                if (ret_reason)
                        *ret_reason = strdup(probe->vault_reason ? probe->vault_reason : "no answer");
        }
        pthread_mutex_unlock(&p->lock);
        if (k < 0)
                return k;

        n = names_sort_unique(names, n);
        /* Told here, with no lock held. */
        (void) names_drop_reserved(b, names, n);
        *ret_names = names;
        return 0;
}
