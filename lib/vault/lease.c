/* SPDX-License-Identifier: MIT */
/* The leases this process obtained. See lease.h.
 *
 * Locking: l->lock guards the array, for one update or one take at a time;
 * no I/O happens under it. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "lease.h"
#include "util.h"

struct lease {
        char *id;
        uint64_t end_ms;        /* monotonic */
};

struct ve_leases {
        pthread_mutex_t lock;
        struct lease *a;        /* guarded by lock */
        size_t n;
};

int ve_leases_new(struct ve_leases **ret_leases) {
        struct ve_leases *l = calloc(1, sizeof *l);

        if (!l)
                return -ENOMEM;
        pthread_mutex_init(&l->lock, NULL);
        *ret_leases = l;
        return 0;
}

void ve_leases_free(struct ve_leases *l) {
        if (!l)
                return;
        for (size_t i = 0; i < l->n; i++)
                ve_erase_free(l->a[i].id);
        free(l->a);
        pthread_mutex_destroy(&l->lock);
        free(l);
}

int ve_leases_note(struct ve_leases *l, const char *id, uint64_t duration_s, uint64_t now_ms) {
        uint64_t end = now_ms + (duration_s > UINT64_MAX / 2000 ? UINT64_MAX / 2 : duration_s * 1000);
        struct lease *a;
        char *copy;
        int r = 0;

        if (!l || !id || !*id)
                return 0;
        pthread_mutex_lock(&l->lock);
        for (size_t i = 0; i < l->n; i++)
                if (strcmp(l->a[i].id, id) == 0) {
                        l->a[i].end_ms = end;
                        goto unlock;
                }
        copy = strdup(id);
        a = copy ? realloc(l->a, (l->n + 1) * sizeof *a) : NULL;
        if (!a) {
                free(copy);
                r = -ENOMEM;
                goto unlock;
        }
        l->a = a;
        l->a[l->n++] = (struct lease) { .id = copy, .end_ms = end };
unlock:
        pthread_mutex_unlock(&l->lock);
        return r;
}

int ve_leases_take_live(struct ve_leases *l, uint64_t now_ms, char ***ret_ids, size_t *ret_n) {
        struct lease *a;
        char **ids;
        size_t n, k = 0;

        pthread_mutex_lock(&l->lock);
        a = l->a;
        n = l->n;
        l->a = NULL;
        l->n = 0;
        pthread_mutex_unlock(&l->lock);

        ids = calloc(n ? n : 1, sizeof *ids);
        if (!ids) {
                for (size_t i = 0; i < n; i++)
                        ve_erase_free(a[i].id);
                free(a);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                if (a[i].end_ms > now_ms)
                        ids[k++] = a[i].id;
                else
                        ve_erase_free(a[i].id);
        }
        free(a);
        *ret_ids = ids;
        *ret_n = k;
        return 0;
}

void ve_leases_ids_free(char **ids, size_t n) {
        if (!ids)
                return;
        for (size_t i = 0; i < n; i++)
                ve_erase_free(ids[i]);
        free(ids);
}

void ve_leases_atfork_prepare(struct ve_leases *l) {
        if (l)
                pthread_mutex_lock(&l->lock);
}

void ve_leases_atfork_parent(struct ve_leases *l) {
        if (l)
                pthread_mutex_unlock(&l->lock);
}

void ve_leases_atfork_child(struct ve_leases *l) {
        if (!l)
                return;
        /* The parent's array is abandoned (a small leak in the child):
         * freeing it would wipe nothing the parent does not keep. */
        l->a = NULL;
        l->n = 0;
        pthread_mutex_unlock(&l->lock);
}

static char *body_for(const char *id, bool with_increment, uint64_t increment_s) {
        cJSON *o = cJSON_CreateObject();
        char *text = NULL, *out = NULL;

        if (!o)
                return NULL;
        if (!cJSON_AddStringToObject(o, "lease_id", id))
                goto out;
        if (with_increment && !cJSON_AddNumberToObject(o, "increment", (double) increment_s))
                goto out;
        text = cJSON_PrintUnformatted(o);
        if (text) {
                out = strdup(text);
                explicit_bzero(text, strlen(text));
                cJSON_free(text);
        }
out:
        /* The tree holds the id: wipe its copy too. */
        {
                cJSON *item = cJSON_GetObjectItemCaseSensitive(o, "lease_id");

                if (item && item->valuestring)
                        explicit_bzero(item->valuestring, strlen(item->valuestring));
        }
        cJSON_Delete(o);
        return out;
}

char *ve_lease_renew_body(const char *id, uint64_t increment_s) {
        return body_for(id, true, increment_s);
}

char *ve_lease_revoke_body(const char *id) {
        return body_for(id, false, 0);
}
