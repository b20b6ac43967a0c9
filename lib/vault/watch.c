/* SPDX-License-Identifier: MIT */
/* Watching a mapping's KV paths for changes (watch.h). Only the watcher's
 * thread uses a struct ve_watch; the Vault client is thread-safe. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <cjson/cJSON.h>

#include "http.h"
#include "log.h"
#include "secret.h"
#include "template.h"
#include "util.h"
#include "watch.h"

enum kind {
        K_UNKNOWN,      /* engine not asked yet, or asking failed */
        K_KV,           /* read at every poll */
        K_SKIP,         /* another engine (dynamic secrets): never read */
};

struct wpath {
        const struct ve_ref *ref;       /* borrowed from the map */
        enum kind kind;
        bool have;                      /* fp holds the last answer's fingerprint */
        bool failing;                   /* the last read failed (logged once) */
        int learn_err;                  /* K_UNKNOWN: why the engine could not be told */
        char *learn_msg;
        uint64_t fp;
};

struct ve_watch {
        struct ve_vault *vault;
        struct wpath *paths;
        size_t n;
        uint64_t key;                   /* the fingerprints' hash key, random */
        char **kv_mounts;               /* mounts known to be KV ("secret/") */
        size_t n_kv_mounts;
        char **other_mounts;            /* mounts of other engines */
        size_t n_other_mounts;
};

static bool same_path(const struct ve_ref *a, const struct ve_ref *b) {
        return a->kv == b->kv && a->version == b->version && strcmp(a->path, b->path) == 0;
}

static int add_ref(struct ve_watch *w, const struct ve_ref *ref, size_t *cap) {
        if (ref->version > 0)
                return 0;       /* a pinned version never changes */
        for (size_t i = 0; i < w->n; i++)
                if (same_path(w->paths[i].ref, ref))
                        return 0;
        if (w->n == *cap) {
                size_t nc = *cap ? *cap * 2 : 8;
                struct wpath *np = realloc(w->paths, nc * sizeof *np);

                if (!np)
                        return -ENOMEM;
                w->paths = np;
                *cap = nc;
        }
        w->paths[w->n++] = (struct wpath) { .ref = ref, .kind = ref->kv == VE_KV_AUTO ? K_UNKNOWN : K_KV };
        return 0;
}

int ve_watch_new(struct ve_vault *v, const struct ve_map *map, struct ve_watch **ret_watch) {
        struct ve_watch *w = calloc(1, sizeof *w);
        size_t cap = 0;
        int r = -ENOMEM;

        if (!w)
                return -ENOMEM;
        w->vault = v;
        for (size_t i = 0; i < map->n_entries; i++) {
                const struct ve_map_entry *e = &map->entries[i];

                if (e->tmpl) {
                        for (size_t j = 0; j < e->tmpl->n_parts; j++)
                                if (!e->tmpl->parts[j].text && (r = add_ref(w, &e->tmpl->parts[j].ref, &cap)) < 0)
                                        goto fail;
                } else if ((r = add_ref(w, &e->ref, &cap)) < 0)
                        goto fail;
        }
        for (size_t i = 0; i < map->n_bulk; i++)
                if ((r = add_ref(w, &map->bulk[i].ref, &cap)) < 0)
                        goto fail;
        if (getrandom(&w->key, sizeof w->key, 0) != (ssize_t) sizeof w->key)
                w->key = (uint64_t) ve_now_ms() * UINT64_C(0x9E3779B97F4A7C15);
        *ret_watch = w;
        return 0;
fail:
        ve_watch_free(w);
        return r;
}

static void strv_free(char **v, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

void ve_watch_free(struct ve_watch *w) {
        if (!w)
                return;
        for (size_t i = 0; i < w->n; i++)
                free(w->paths[i].learn_msg);
        free(w->paths);
        strv_free(w->kv_mounts, w->n_kv_mounts);
        strv_free(w->other_mounts, w->n_other_mounts);
        explicit_bzero(&w->key, sizeof w->key);
        free(w);
}

size_t ve_watch_count(const struct ve_watch *w) {
        size_t n = 0;

        for (size_t i = 0; i < w->n; i++)
                n += w->paths[i].kind == K_KV;
        return n;
}

static bool under(char *const *mounts, size_t n, const char *path) {
        for (size_t i = 0; i < n; i++)
                if (strncmp(path, mounts[i], strlen(mounts[i])) == 0)
                        return true;
        return false;
}

static int remember(char ***v, size_t *n, const char *mount) {
        char **nv = realloc(*v, (*n + 1) * sizeof *nv);

        if (!nv)
                return -ENOMEM;
        *v = nv;
        if (!(nv[*n] = strdup(mount)))
                return -ENOMEM;
        (*n)++;
        return 0;
}

/* Asks sys/internal/ui/mounts/PATH what engine p's mount is (one request
 * per mount: the answer's data.path covers the paths under it). Vault
 * without the endpoint (404): KV v1, as the reads assume. */
static int learn_kind(struct ve_watch *w, struct wpath *p) {
        struct ve_http_response resp = {};
        const cJSON *data, *type, *mount;
        cJSON *root = NULL;
        char *api, *err = NULL;
        int r;

        if (under(w->kv_mounts, w->n_kv_mounts, p->ref->path)) {
                p->kind = K_KV;
                return 0;
        }
        if (under(w->other_mounts, w->n_other_mounts, p->ref->path)) {
                p->kind = K_SKIP;
                return 0;
        }
        api = ve_asprintf("sys/internal/ui/mounts/%s", p->ref->path);
        if (!api)
                return -ENOMEM;
        r = ve_vault_request(w->vault, "GET", api, NULL, p->ref->path, &resp, NULL, &err);
        free(api);
        if (r < 0)
                goto out;
        if (resp.status == 404) {
                p->kind = K_KV;
                goto out;
        }
        if (resp.status != 200) {
                r = ve_vault_status_error(p->ref->path, &resp, true, &err);
                goto out;
        }
        root = cJSON_ParseWithLength(resp.body, resp.len);
        data = cJSON_GetObjectItemCaseSensitive(root, "data");
        type = cJSON_GetObjectItemCaseSensitive(data, "type");
        mount = cJSON_GetObjectItemCaseSensitive(data, "path");
        if (!cJSON_IsString(type) || !cJSON_IsString(mount) || !mount->valuestring[0]) {
                r = -EPROTO;
                err = strdup("unexpected answer from sys/internal/ui/mounts");
                goto out;
        }
        /* "generic" is KV v1's old name */
        if (strcmp(type->valuestring, "kv") == 0 || strcmp(type->valuestring, "generic") == 0) {
                p->kind = K_KV;
                r = remember(&w->kv_mounts, &w->n_kv_mounts, mount->valuestring);
        } else {
                p->kind = K_SKIP;
                ve_info("%s: a %s secret, not watched (its lease decides when it changes)", p->ref->path,
                        type->valuestring);
                r = remember(&w->other_mounts, &w->n_other_mounts, mount->valuestring);
        }
out:
        if (r < 0 && r != -ENOMEM) {
                free(p->learn_msg);
                p->learn_err = r;
                p->learn_msg = ve_asprintf("cannot tell its secrets engine: %s", err ? err : strerror(-r));
                if (!p->learn_msg)
                        r = -ENOMEM;
        }
        cJSON_Delete(root);
        free(err);
        ve_http_response_done(&resp);
        return r;
}

/* The fingerprint of a read's outcome: its version, keys and values, or
 * that there is no such secret. */
static uint64_t fingerprint(const struct ve_watch *w, int r, const struct ve_secret *s) {
        uint64_t h = ve_fnv1a(VE_FNV1A_INIT, &w->key, sizeof w->key);

        if (r == -ENOENT)
                return ve_fnv1a(h, "absent", 6);
        h = ve_fnv1a(h, &s->version, sizeof s->version);
        for (size_t i = 0; i < s->n; i++) {
                h = ve_fnv1a(h, s->keys[i], strlen(s->keys[i]) + 1);
                h = ve_fnv1a(h, s->values[i], strlen(s->values[i]) + 1);
        }
        return h;
}

int ve_watch_poll(struct ve_watch *w, bool *ret_changed, char **ret_error) {
        struct ve_read_call *calls = calloc(w->n ? w->n : 1, sizeof *calls);
        struct wpath **of = calloc(w->n ? w->n : 1, sizeof *of);
        size_t n = 0, n_read, answered = 0;
        bool changed = false;
        int first_err = 0, r = -ENOMEM;

        if (!calls || !of)
                goto out;
        /* The engine of each path not known yet; a path whose engine could
         * not be told is a failed call, after the reads. */
        for (size_t i = 0; i < w->n; i++) {
                if (w->paths[i].kind != K_UNKNOWN)
                        continue;
                r = learn_kind(w, &w->paths[i]);
                if (r == -ENOMEM)
                        goto out;
        }
        for (size_t i = 0; i < w->n; i++)
                if (w->paths[i].kind == K_KV) {
                        of[n] = &w->paths[i];
                        calls[n++].ref = w->paths[i].ref;
                }
        n_read = n;
        if (n_read > 0 && (r = ve_vault_read_many(w->vault, calls, n_read)) < 0)
                goto out;
        for (size_t i = 0; i < w->n; i++)
                if (w->paths[i].kind == K_UNKNOWN) {
                        of[n] = &w->paths[i];
                        calls[n].ref = w->paths[i].ref;
                        calls[n].r = w->paths[i].learn_err;
                        calls[n++].error = w->paths[i].learn_msg;
                        w->paths[i].learn_msg = NULL;
                }

        for (size_t i = 0; i < n; i++)
                answered += calls[i].r >= 0 || calls[i].r == -ENOENT;
        for (size_t i = 0; i < n; i++) {
                struct wpath *p = of[i];
                int k = calls[i].r;
                uint64_t fp;

                if (k < 0 && k != -ENOENT) {
                        /* every read failed: the caller says it once */
                        if (!first_err) {
                                first_err = k;
                                if (answered == 0 && ret_error)
                                        *ret_error = calls[i].error ? strdup(calls[i].error) : NULL;
                        }
                        if (answered > 0 && !p->failing) {
                                ve_warn("%s: cannot watch it: %s", p->ref->path,
                                        calls[i].error ? calls[i].error : strerror(-k));
                                p->failing = true;
                        }
                        continue;
                }
                fp = fingerprint(w, k, calls[i].secret);
                if (p->failing)
                        ve_info("%s: watched again", p->ref->path);
                p->failing = false;
                if (p->have && p->fp != fp) {
                        ve_info("%s: changed in Vault", p->ref->path);
                        changed = true;
                }
                p->fp = fp;
                p->have = true;
        }
        *ret_changed = changed;
        r = answered > 0 || first_err == 0 ? 0 : first_err;
out:
        if (calls)
                ve_vault_read_calls_done(calls, n);
        free(calls);
        free(of);
        return r;
}
