/* SPDX-License-Identifier: MIT */
/* Reading many paths at once (vault.h: ve_vault_read_many()): the token
 * first, then the mount detections that are missing in one concurrent
 * batch, then the reads in another (http.h: ve_http_request_many()), each
 * answer taken as ve_vault_read() takes it (vault.c gives the parts:
 * vault-internal.h). The cases that need a conversation, one request
 * depending on the last (a detection that told nothing, a login token Vault
 * no longer accepts), take vault.c's sequential path for the paths
 * concerned. No lock is held across a request (the mount cache's lock is
 * taken per look-up or update). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "http.h"
#include "log.h"
#include "secret.h"
#include "util.h"
#include "vault-internal.h"
#include "vault.h"

/* Where one call stands between the batches. */
struct item {
        struct ve_read_call *c;
        bool known;             /* the mount is known: ml, version */
        size_t ml;
        int version;
        bool done;              /* c->r is final */
        char *reason;           /* detection told nothing: read by vault_read_fallback() */
        char *api;              /* the request of the current batch */
};

void ve_vault_read_calls_done(struct ve_read_call *calls, size_t n) {
        for (size_t i = 0; calls && i < n; i++) {
                ve_secret_free(calls[i].secret);
                calls[i].secret = NULL;
                free(calls[i].error);
                calls[i].error = NULL;
        }
}

static void item_fail(struct item *it, int r, char *msg) {
        it->c->r = r;
        it->c->error = msg;
        it->done = true;
}

/* Whether it still needs its mount detected. */
static bool undetected(struct item *it) {
        return !it->done && !it->known && !it->reason;
}

/* Whether path's first segment equals another's (the usual mount). */
static bool same_segment(const char *a, const char *b) {
        size_t n = vault_first_segment_len(a);

        return n == vault_first_segment_len(b) && strncmp(a, b, n) == 0;
}

/* One batch of GET sys/internal/ui/mounts/PATH for the items whose mount
 * is not known: one per first segment (by_segment), else one per path (a
 * mount nested deeper than the first segment). Then every item looks up
 * the mount cache again; by segment, one whose segment got no answer
 * fails with that segment's failure. */
static void detect(struct ve_vault *v, struct item *items, size_t n, const char *token, bool by_segment) {
        struct ve_http_call *hc;
        size_t *who, m = 0;

        hc = calloc(n, sizeof *hc);
        who = calloc(n, sizeof *who);
        if (!hc || !who)
                goto out;
        for (size_t i = 0; i < n; i++) {
                const char *path = items[i].c->ref->path;
                bool dup = false;

                if (!undetected(&items[i]))
                        continue;
                for (size_t k = 0; k < m && !dup; k++) {
                        const char *other = items[who[k]].c->ref->path;

                        dup = by_segment ? same_segment(path, other) : strcmp(path, other) == 0;
                }
                if (dup)
                        continue;
                items[i].api = ve_asprintf("sys/internal/ui/mounts/%s", path);
                if (!items[i].api) {
                        item_fail(&items[i], -ENOMEM, NULL);
                        continue;
                }
                hc[m] = (struct ve_http_call) { .method = "GET", .api_path = items[i].api, .token = token,
                                                .user_path = path };
                who[m++] = i;
        }
        if (m == 0)
                goto out;
        ve_debug("detecting the mounts of %zu path(s) at once", m);
        (void) ve_http_request_many(v->http, hc, m);
        for (size_t k = 0; k < m; k++) {
                struct item *it = &items[who[k]];
                int r;

                if (hc[k].r < 0) {
                        /* Not cached: the next read asks again, as vault.c. */
                        item_fail(it, hc[k].r, hc[k].error);
                        hc[k].error = NULL;
                        continue;
                }
                r = vault_mount_answer(v, it->c->ref->path, &hc[k].resp, &it->ml, &it->version, &it->reason);
                if (r < 0)
                        item_fail(it, r, NULL);
                else if (r == 0)
                        it->known = true;
        }
out:
        for (size_t i = 0; i < n; i++) {
                free(items[i].api);
                items[i].api = NULL;
                if (undetected(&items[i]) &&
                    vault_mount_lookup(v, items[i].c->ref->path, &items[i].ml, &items[i].version))
                        items[i].known = true;
        }
        /* No answer for a segment (unreachable, timed out): its other
         * paths fail alike rather than wait for the same again. */
        for (size_t i = 0; by_segment && i < n; i++)
                for (size_t k = 0; k < m && undetected(&items[i]); k++) {
                        const struct item *rep = &items[who[k]];

                        if (rep->done && rep->c->r < 0 && rep->c->r != -ENOMEM &&
                            same_segment(items[i].c->ref->path, rep->c->ref->path))
                                item_fail(&items[i], rep->c->r, rep->c->error ? strdup(rep->c->error) : NULL);
                }
        ve_http_calls_done(hc, m);
        free(hc);
        free(who);
}

/* The sequential path for one item: as ve_vault_read() after detection. */
static void read_one(struct ve_vault *v, struct item *it) {
        const struct ve_ref *ref = it->c->ref;
        int r;

        if (it->reason)
                r = vault_read_fallback(v, ref->path, ref->version, it->reason, &it->c->secret, &it->c->error);
        else
                r = vault_read_version(v, ref->path, it->ml, it->version, ref->version, &it->c->secret,
                                       &it->c->error);
        it->c->r = r < 0 ? r : 0;
        it->done = true;
        if (r >= 0)
                vault_read_done(v, ref, it->c->secret);
}

/* One batch of the reads whose mount is known. A 403 to a token that the
 * auth layer then replaces (ve_auth_rejected(), asked once) is read again
 * one by one with the new token, as a single read would. */
static void read_batch(struct ve_vault *v, struct item *items, size_t n, const char *token) {
        struct ve_http_call *hc;
        size_t *who, m = 0;
        bool asked = false, rejected = false;

        hc = calloc(n, sizeof *hc);
        who = calloc(n, sizeof *who);
        if (!hc || !who) {
                for (size_t i = 0; i < n; i++)
                        if (!items[i].done && items[i].known)
                                item_fail(&items[i], -ENOMEM, NULL);
                goto out;
        }
        for (size_t i = 0; i < n; i++) {
                struct item *it = &items[i];
                const struct ve_ref *ref = it->c->ref;
                int r;

                if (it->done || !it->known)
                        continue;
                if (ref->version > 0 && it->version != 2) {
                        r = vault_not_versioned(ref->path, ref->version,
                                                it->ml ? it->ml : vault_first_segment_len(ref->path), &it->c->error);
                        item_fail(it, r, it->c->error);
                        continue;
                }
                it->api = vault_kv_api_path(ref->path, it->ml, it->version, ref->version);
                if (!it->api) {
                        item_fail(it, -ENOMEM, NULL);
                        continue;
                }
                hc[m] = (struct ve_http_call) { .method = "GET", .api_path = it->api, .token = token,
                                                .user_path = ref->path };
                who[m++] = i;
        }
        if (m == 0)
                goto out;
        ve_debug("reading %zu path(s) at once", m);
        (void) ve_http_request_many(v->http, hc, m);
        for (size_t k = 0; k < m; k++) {
                struct item *it = &items[who[k]];
                const struct ve_ref *ref = it->c->ref;
                int r;

                if (hc[k].r < 0) {
                        item_fail(it, hc[k].r, hc[k].error);
                        hc[k].error = NULL;
                        continue;
                }
                if (hc[k].resp.status == 403 && token) {
                        if (!asked) {
                                asked = true;
                                rejected = ve_auth_rejected(v->auth, token);
                                if (rejected)
                                        ve_info("%s: token refused; logging in again", ref->path);
                        }
                        if (rejected) {
                                read_one(v, it);
                                continue;
                        }
                }
                r = vault_kv_result(ref->path, it->version, ref->version, &hc[k].resp, token != NULL,
                                    &it->c->secret, &it->c->error);
                it->c->r = r < 0 ? r : 0;
                it->done = true;
                if (r >= 0)
                        vault_read_done(v, ref, it->c->secret);
        }
out:
        for (size_t i = 0; i < n; i++) {
                free(items[i].api);
                items[i].api = NULL;
        }
        ve_http_calls_done(hc, m);
        free(hc);
        free(who);
}

int ve_vault_read_many(struct ve_vault *v, struct ve_read_call *calls, size_t n) {
        _cleanup_erase_ char *token = NULL;
        struct item *items;
        char *err = NULL;
        int r;

        if (!v || (!calls && n > 0))
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                calls[i].r = 0;
                calls[i].secret = NULL;
                calls[i].error = NULL;
        }
        if (n == 0)
                return 0;
        items = calloc(n, sizeof *items);
        if (!items) {
                for (size_t i = 0; i < n; i++)
                        calls[i].r = -ENOMEM;
                return 0;
        }
        /* The token first: a login, when one is needed, happens once here
         * rather than racing in every request. */
        r = ve_auth_token(v->auth, &token, &err);
        for (size_t i = 0; i < n; i++) {
                struct item *it = &items[i];
                const struct ve_ref *ref = calls[i].ref;

                it->c = &calls[i];
                if (!ref || !ref->path || !*ref->path)
                        item_fail(it, -EINVAL, NULL);
                else if (r < 0)
                        item_fail(it, r, err ? strdup(err) : NULL);
                else if (ref->kv == VE_KV_1)
                        *it = (struct item) { .c = &calls[i], .known = true, .ml = 0, .version = 1 };
                else if (ref->kv == VE_KV_2)
                        *it = (struct item) { .c = &calls[i], .known = true,
                                              .ml = vault_first_segment_len(ref->path), .version = 2 };
                else if (vault_mount_lookup(v, ref->path, &it->ml, &it->version))
                        it->known = true;
        }
        free(err);
        if (r >= 0) {
                detect(v, items, n, token, true);
                detect(v, items, n, token, false);
                /* Detection told nothing: the reads find out, one by one. */
                for (size_t i = 0; i < n; i++)
                        if (!items[i].done && items[i].reason)
                                read_one(v, &items[i]);
                read_batch(v, items, n, token);
        }
        for (size_t i = 0; i < n; i++) {
                if (!items[i].done)     /* cannot be: every item ends above */
                        item_fail(&items[i], -EIO, NULL);
                free(items[i].reason);
        }
        free(items);
        return 0;
}
