/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "secret.h"
#include "util.h"

struct ve_secret *ve_secret_new(void) {
        return calloc(1, sizeof(struct ve_secret));
}

int ve_secret_add(struct ve_secret *s, const char *key, const char *value) {
        char *k, *v, **nk, **nv;

        /* Values live in pages kept out of core dumps (util.h). */
        v = ve_secure_strdup(value);
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < s->n; i++)
                if (strcmp(s->keys[i], key) == 0) {
                        ve_secure_free(s->values[i]);
                        s->values[i] = v;
                        return 0;
                }
        k = strdup(key);
        if (!k)
                goto fail;
        nk = realloc(s->keys, (s->n + 1) * sizeof(char *));
        if (!nk)
                goto fail;
        s->keys = nk;
        nv = realloc(s->values, (s->n + 1) * sizeof(char *));
        if (!nv)
                goto fail;
        s->values = nv;
        s->keys[s->n] = k;
        s->values[s->n] = v;
        s->n++;
        return 0;
fail:
        free(k);
        ve_secure_free(v);
        return -ENOMEM;
}

const char *ve_secret_get(const struct ve_secret *s, const char *key) {
        if (!s || !key)
                return NULL;
        for (size_t i = 0; i < s->n; i++)
                if (strcmp(s->keys[i], key) == 0)
                        return s->values[i];
        return NULL;
}

bool ve_secret_leased(const struct ve_secret *s) {
        return s && s->lease.lease_id && s->lease.lease_id[0] && s->lease.duration_s > 0;
}

void ve_lease_done(struct ve_lease *l) {
        if (!l)
                return;
        ve_erase_free(l->lease_id);
        *l = (struct ve_lease) {};
}

void ve_secret_free(struct ve_secret *s) {
        if (!s)
                return;
        ve_lease_done(&s->lease);
        for (size_t i = 0; i < s->n; i++) {
                free(s->keys[i]);
                ve_secure_free(s->values[i]);
        }
        free(s->keys);
        free(s->values);
        free(s);
}
