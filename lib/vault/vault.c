/* SPDX-License-Identifier: MIT */
/* Reading secrets: KV v1 and v2, the KV version of each mount, and what
 * Vault's answers mean. The transport is lib/transport, the token lib/auth.
 *
 * Locking: v->lock guards the mount cache only, for one look-up or update
 * at a time, never across a request. Two threads reading secrets of a mount
 * not yet detected may both detect it: one extra request, harmless (the
 * cache keeps one entry per mount). */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "auth.h"
#include "http.h"
#include "lease.h"
#include "log.h"
#include "secret.h"
#include "util.h"
#include "vault.h"
#include "vault-internal.h"

#define VERSIONED_KV_WARNING "Invalid path for a versioned K/V secrets engine"

int ve_vault_new(const struct ve_settings *settings, struct ve_vault **ret_vault, char **ret_error) {
        struct ve_vault *v;
        int r;

        if (!settings || !settings->addr || !*settings->addr) {
                ve_set_error(ret_error, strdup("VAULT_ADDR is empty"));
                return -EINVAL;
        }
        v = calloc(1, sizeof *v);
        if (!v)
                return -ENOMEM;
        pthread_mutex_init(&v->lock, NULL);
        r = ve_http_new(settings, &v->http, ret_error);
        if (r < 0)
                goto fail;
        r = ve_auth_new(settings, v->http, &v->auth, ret_error);
        if (r < 0)
                goto fail;
        r = ve_leases_new(&v->leases);
        if (r < 0)
                goto fail;
        *ret_vault = v;
        return 0;
fail:
        ve_vault_free(v);
        return r;
}

void ve_vault_free(struct ve_vault *v) {
        if (!v)
                return;
        ve_leases_free(v->leases);
        ve_auth_free(v->auth);
        ve_http_free(v->http);
        for (size_t i = 0; i < v->n_mounts; i++)
                free(v->mounts[i].prefix);
        free(v->mounts);
        pthread_mutex_destroy(&v->lock);
        free(v);
}

void ve_vault_atfork_prepare(struct ve_vault *v) {
        if (!v)
                return;
        ve_auth_atfork_prepare(v->auth);
        pthread_mutex_lock(&v->lock);
        ve_http_atfork_prepare(v->http);
        ve_leases_atfork_prepare(v->leases);
}

void ve_vault_atfork_parent(struct ve_vault *v) {
        if (!v)
                return;
        ve_leases_atfork_parent(v->leases);
        ve_http_atfork_parent(v->http);
        pthread_mutex_unlock(&v->lock);
        ve_auth_atfork_parent(v->auth);
}

void ve_vault_atfork_child(struct ve_vault *v) {
        if (!v)
                return;
        /* The parent's leases are the parent's to renew and revoke. */
        ve_leases_atfork_child(v->leases);
        ve_http_atfork_child(v->http);
        pthread_mutex_unlock(&v->lock);
        ve_auth_atfork_child(v->auth);
}

/* One request with the current token. A 403 to a token that the auth layer
 * can replace (a login whose token expired) is retried once with the new
 * one. *ret_sent_token says whether a token went out (a 403 without one
 * means "no token" on Vault 1.10+). */
int vault_request(struct ve_vault *v, const char *method, const char *api_path, const char *body,
                   const char *user_path, struct ve_http_response *ret, bool *ret_sent_token, char **ret_error) {
        for (int attempt = 0;; attempt++) {
                struct ve_http_response resp = {};
                _cleanup_erase_ char *token = NULL;
                int r;

                r = ve_auth_token(v->auth, &token, ret_error);
                if (r < 0)
                        return r;
                r = ve_http_request(v->http, method, api_path, body, token, user_path, &resp, ret_error);
                if (r == 0 && resp.status == 403 && token && attempt == 0 &&
                    ve_auth_rejected(v->auth, token)) {
                        ve_info("%s: token refused; logging in again", user_path);
                        ve_http_response_done(&resp);
                        continue;
                }
                if (ret_sent_token)
                        *ret_sent_token = token != NULL;
                if (r < 0)
                        return r;
                *ret = resp;
                return 0;
        }
}

/* ---- the mount cache ---- */

/* Longest cached mount that path starts with. */
bool vault_mount_lookup(struct ve_vault *v, const char *path, size_t *ret_len, int *ret_version) {
        size_t best = 0;
        int version = 0;

        pthread_mutex_lock(&v->lock);
        for (size_t i = 0; i < v->n_mounts; i++) {
                size_t n = strlen(v->mounts[i].prefix);

                if (n > best && strncmp(path, v->mounts[i].prefix, n) == 0) {
                        best = n;
                        version = v->mounts[i].version;
                }
        }
        pthread_mutex_unlock(&v->lock);
        if (!best)
                return false;
        *ret_len = best;
        *ret_version = version;
        return true;
}

/* Remembers that the mount made of the first len bytes of path (with its
 * trailing '/') is KV version. Out of memory only loses the caching. */
void vault_mount_remember(struct ve_vault *v, const char *path, size_t len, int version) {
        struct mount *m;
        char *prefix;

        prefix = strndup(path, len);
        if (!prefix)
                return;
        pthread_mutex_lock(&v->lock);
        for (size_t i = 0; i < v->n_mounts; i++)
                if (strcmp(v->mounts[i].prefix, prefix) == 0) {
                        v->mounts[i].version = version;
                        goto unlock;
                }
        m = realloc(v->mounts, (v->n_mounts + 1) * sizeof(*m));
        if (!m)
                goto unlock;
        v->mounts = m;
        v->mounts[v->n_mounts++] = (struct mount) { .prefix = prefix, .version = version };
        prefix = NULL;
unlock:
        pthread_mutex_unlock(&v->lock);
        free(prefix);
}

/* Length of "MOUNT/" when the mount is the first segment. */
size_t vault_first_segment_len(const char *path) {
        const char *s = strchr(path, '/');

        return s ? (size_t) (s - path) + 1 : strlen(path);
}

/* Where the mount that Vault named ends in path. Like the vault CLI's
 * addPrefixToKVPath: with a namespace, Vault may name the mount with the
 * namespace in front ("ns1/secret/") while the path has no namespace; leading
 * segments of the mount are dropped until it is a prefix of path. 0 when it
 * never is. */
size_t ve_vault_mount_len_in_path(const char *path, const char *mount) {
        while (*mount) {
                size_t n = strlen(mount);
                const char *s;

                if (strncmp(path, mount, n) == 0)
                        return n;
                s = strchr(mount, '/');
                if (!s)
                        break;
                mount = s + 1;
        }
        return 0;
}

/* ---- reading ---- */

/* The API path of a KV read: PATH for version 1 (and any other engine,
 * read as is), MOUNT/data/REST for version 2, with "?version=N" for a
 * specific version (mapfile.c allows no '?' in a path, so this is the only
 * one). */
char *vault_kv_api_path(const char *path, size_t mount_len, int version, unsigned long ref_version) {
        const char *rest;

        if (version == 1)
                return strdup(path);
        rest = path + mount_len;
        if (ref_version > 0)
                return ve_asprintf("%.*sdata%s%s?version=%lu", (int) mount_len, path, *rest ? "/" : "", rest,
                                   ref_version);
        return ve_asprintf("%.*sdata%s%s", (int) mount_len, path, *rest ? "/" : "", rest);
}

static char *with_text(const char *fmt_prefix, const char *text) {
        return text ? ve_asprintf("%s: %s", fmt_prefix, text) : strdup(fmt_prefix);
}

/* The errno and one-line message for an answer that is not a success.
 * what names the request in messages ("secret/app/db", "the lease of
 * database/creds/ro"). */
static int status_error(const char *what, const struct ve_http_response *resp, bool sent_token,
                        char **ret_error) {
        char *text, *msg = NULL, *head = NULL;
        int r;

        text = ve_vault_errors_text(resp->body, resp->len);
        switch (resp->status) {
        case 404:
                r = -ENOENT;
                msg = ve_asprintf("no secret at %s", what);
                break;
        case 403:
                r = -EACCES;
                head = ve_asprintf("permission denied on %s", what);
                if (head)
                        msg = with_text(head, text && strcmp(text, "permission denied") != 0 ? text : NULL);
                if (msg && !sent_token) {
                        /* Vault 1.10+ answers a request without a token so. */
                        free(head);
                        head = msg;
                        msg = ve_asprintf("%s (no Vault token: " VE_NO_TOKEN_HINT ")", head);
                }
                break;
        case 400:
                if (text && strstr(text, "missing client token")) {
                        r = -EACCES;
                        msg = strdup("no Vault token (" VE_NO_TOKEN_HINT ")");
                        break;
                }
                r = -EIO;
                head = ve_asprintf("unexpected HTTP status 400 for %s", what);
                break;
        case 503:
                r = -EAGAIN;
                head = ve_asprintf("Vault is sealed or unavailable (503) at %s", what);
                break;
        case 429:
                r = -EAGAIN;
                head = ve_asprintf("rate limited by Vault (429) at %s", what);
                break;
        case 412:
                /* A Vault Agent or Proxy with require_request_header. */
                r = -EIO;
                head = ve_asprintf("Vault refused the request for %s (412)", what);
                break;
        default:
                r = -EIO;
                head = ve_asprintf("unexpected HTTP status %ld for %s", resp->status, what);
                break;
        }
        /* The statuses that only name what failed: Vault's own words follow. */
        if (!msg && head && resp->status != 403)
                msg = with_text(head, text);
        free(head);
        free(text);
        if (!msg)
                return -ENOMEM;
        ve_set_error(ret_error, msg);
        return r;
}

/* Turns an answer to a KV read into the result: the secret on 200, else the
 * errno and message of the status. ref_version: the version asked for (0:
 * the latest), for messages. */
int vault_kv_result(const char *path, int version, unsigned long ref_version,
                     const struct ve_http_response *resp, bool sent_token,
                     struct ve_secret **ret_secret, char **ret_error) {
        char *msg = NULL;
        int r;

        if (resp->status == 200 || (resp->status == 404 && version == 2)) {
                struct ve_secret *s = NULL;

                r = ve_vault_parse_kv(version, resp->body, resp->len, &s, &msg);
                if (r == 0 && resp->status == 200) {
                        *ret_secret = s;
                        return 0;
                }
                ve_secret_free(s);
                if (r == -ENOENT && msg && strncmp(msg, "version ", 8) == 0) {
                        /* "secret/app/db: version 3 is deleted" */
                        ve_set_error(ret_error, ve_asprintf("%s: %s", path, msg));
                        free(msg);
                        return -ENOENT;
                }
                if (resp->status == 200) {
                        if (r == -ENOENT)
                                ve_set_error(ret_error, ve_asprintf("no secret at %s", path));
                        else if (r != -ENOMEM)
                                ve_set_error(ret_error, ve_asprintf("unexpected answer from Vault for %s: %s",
                                                                 path, msg ? msg : "cannot parse it"));
                        free(msg);
                        return r;
                }
                free(msg);
                if (ref_version > 0) {
                        /* Vault answers {"errors":[]} for a version that
                         * never was (and for a path that never was). */
                        msg = ve_asprintf("%s: no version %lu", path, ref_version);
                        if (!msg)
                                return -ENOMEM;
                        ve_set_error(ret_error, msg);
                        return -ENOENT;
                }
        }
        return status_error(path, resp, sent_token, ret_error);
}

/* A version asked of a mount that is not KV v2: an error naming the
 * reference. */
int vault_not_versioned(const char *path, unsigned long ref_version, size_t mount_len, char **ret_error) {
        char *msg = ve_asprintf("%s@%lu: a version needs a KV v2 mount, and %.*s is not one",
                                path, ref_version, (int) mount_len, path);

        if (!msg)
                return -ENOMEM;
        ve_set_error(ret_error, msg);
        return -EINVAL;
}

int vault_read_version(struct ve_vault *v, const char *path, size_t mount_len, int version,
                        unsigned long ref_version, struct ve_secret **ret_secret, char **ret_error) {
        struct ve_http_response resp = {};
        char *api;
        bool sent_token = false;
        int r;

        if (ref_version > 0 && version != 2)
                return vault_not_versioned(path, ref_version, mount_len ? mount_len : vault_first_segment_len(path), ret_error);
        api = vault_kv_api_path(path, mount_len, version, ref_version);
        if (!api)
                return -ENOMEM;
        r = vault_request(v, "GET", api, NULL, path, &resp, &sent_token, ret_error);
        free(api);
        if (r < 0)
                return r;
        r = vault_kv_result(path, version, ref_version, &resp, sent_token, ret_secret, ret_error);
        ve_http_response_done(&resp);
        return r;
}

/* What a 404 body tells about the mount's KV version. */
struct body_shape {
        bool v2_metadata;       /* data.metadata is an object: a KV v2 answer */
        bool versioned_warning; /* the warning a KV v2 mount gives to a v1-style read */
        bool plain;             /* {"errors":[]}: nothing but an empty list */
};

/* A body the checked parser refuses tells nothing (all false): logged with
 * the reason, naming path. */
static struct body_shape shape_of(const char *path, const struct ve_http_response *resp) {
        struct body_shape s = {};
        const cJSON *data, *md, *warnings, *w, *errors;
        cJSON *root = NULL;
        char *why = NULL;

        if (!resp->body)
                return s;
        if (ve_vault_parse_json(resp->body, resp->len, &root, &why) < 0) {
                ve_info("%s: the answer from Vault (HTTP %ld) tells nothing about the KV version: %s",
                        path, resp->status, why ? why : "out of memory");
                free(why);
                return s;
        }
        if (!cJSON_IsObject(root))
                goto out;
        data = cJSON_GetObjectItemCaseSensitive(root, "data");
        md = cJSON_IsObject(data) ? cJSON_GetObjectItemCaseSensitive(data, "metadata") : NULL;
        s.v2_metadata = cJSON_IsObject(md);
        warnings = cJSON_GetObjectItemCaseSensitive(root, "warnings");
        cJSON_ArrayForEach(w, warnings)
                if (cJSON_IsString(w) && strstr(w->valuestring, VERSIONED_KV_WARNING))
                        s.versioned_warning = true;
        errors = cJSON_GetObjectItemCaseSensitive(root, "errors");
        s.plain = cJSON_IsArray(errors) && cJSON_GetArraySize(errors) == 0 && cJSON_GetArraySize(root) == 1;
out:
        ve_vault_json_free(root);
        return s;
}

/* Mount detection failed (denied, or an answer we cannot use): find out from
 * the reads themselves, with the first segment as the mount. KV v2 first
 * (the default for new mounts), then KV v1 when v2 says 404 or 403:
 *   v2 200                         → v2
 *   v2 404 with data.metadata      → v2 (that version is deleted/destroyed)
 *   v2 other than 403/404          → that answer (sealed, no token, ...)
 *   v1 200                         → v1
 *   v1 404 with the versioned-KV warning → v2; the v2 answer is the result
 *   v1 404 {"errors":[]}           → v1; no secret (a v2 mount would have
 *                                    answered with the warning)
 *   anything else                  → the v2 answer is the result, nothing
 *                                    is cached.
 * Network errors are returned and nothing is cached. */
int vault_read_fallback(struct ve_vault *v, const char *path, unsigned long ref_version, const char *reason,
                         struct ve_secret **ret_secret, char **ret_error) {
        struct ve_http_response r2 = {}, r1 = {};
        size_t ml = vault_first_segment_len(path);
        bool sent2 = false, sent1 = false;
        struct body_shape shape;
        char *api;
        int r;

        ve_info("%s: cannot detect the KV version of its mount (%s); trying a KV v2 read, then KV v1",
                path, reason);

        api = vault_kv_api_path(path, ml, 2, ref_version);
        if (!api)
                return -ENOMEM;
        r = vault_request(v, "GET", api, NULL, path, &r2, &sent2, ret_error);
        free(api);
        if (r < 0)
                return r;
        if (r2.status == 200 || (r2.status == 404 && shape_of(path, &r2).v2_metadata)) {
                vault_mount_remember(v, path, ml, 2);
                r = vault_kv_result(path, 2, ref_version, &r2, sent2, ret_secret, ret_error);
                goto out;
        }
        if (r2.status != 404 && r2.status != 403) {
                r = vault_kv_result(path, 2, ref_version, &r2, sent2, ret_secret, ret_error);
                goto out;
        }

        r = vault_request(v, "GET", path, NULL, path, &r1, &sent1, ret_error);
        if (r < 0)
                goto out;
        if (r1.status == 200) {
                vault_mount_remember(v, path, ml, 1);
                ve_info("%s: mount %.*s is KV v1", path, (int) ml, path);
                if (ref_version > 0) {
                        r = vault_not_versioned(path, ref_version, ml, ret_error);
                        goto out;
                }
                r = vault_kv_result(path, 1, 0, &r1, sent1, ret_secret, ret_error);
                goto out;
        }
        shape = r1.status == 404 ? shape_of(path, &r1) : (struct body_shape) {};
        if (shape.versioned_warning) {
                vault_mount_remember(v, path, ml, 2);
                ve_info("%s: mount %.*s is KV v2", path, (int) ml, path);
        } else if (shape.plain) {
                vault_mount_remember(v, path, ml, 1);
                ve_info("%s: mount %.*s is KV v1", path, (int) ml, path);
                if (ref_version > 0) {
                        r = vault_not_versioned(path, ref_version, ml, ret_error);
                        goto out;
                }
                r = vault_kv_result(path, 1, 0, &r1, sent1, ret_secret, ret_error);
                goto out;
        }
        r = vault_kv_result(path, 2, ref_version, &r2, sent2, ret_secret, ret_error);
out:
        ve_http_response_done(&r2);
        ve_http_response_done(&r1);
        return r;
}

int vault_mount_answer(struct ve_vault *v, const char *path, const struct ve_http_response *resp,
                       size_t *ret_mount_len, int *ret_version, char **ret_reason) {
        char *mount = NULL;
        size_t ml;
        int version, r;

        switch (resp->status) {
        case 200:
                r = ve_vault_parse_mount(resp->body, resp->len, &mount, &version);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        *ret_reason = strdup("unexpected answer from sys/internal/ui/mounts");
                        return *ret_reason ? 1 : -ENOMEM;
                }
                ml = ve_vault_mount_len_in_path(path, mount);
                if (ml == 0) {
                        *ret_reason = ve_asprintf("Vault named mount %s", mount);
                        free(mount);
                        return *ret_reason ? 1 : -ENOMEM;
                }
                free(mount);
                vault_mount_remember(v, path, ml, version);
                ve_debug("%s: mount %.*s is KV v%d", path, (int) ml, path, version);
                break;
        case 404:
                /* A Vault without the endpoint: KV v1, as the vault CLI. */
                ml = vault_first_segment_len(path);
                version = 1;
                vault_mount_remember(v, path, ml, version);
                ve_debug("%s: no mount detection (404); taking %.*s as KV v1", path, (int) ml, path);
                break;
        default:
                *ret_reason = ve_asprintf("sys/internal/ui/mounts answered %ld", resp->status);
                return *ret_reason ? 1 : -ENOMEM;
        }
        *ret_mount_len = ml;
        *ret_version = version;
        return 0;
}

/* GET sys/internal/ui/mounts/PATH, as the vault CLI does (1.8; newer CLIs
 * ask sys/mounts-all/PATH, which Vault 1.8 does not have). */
static int read_auto(struct ve_vault *v, const char *path, unsigned long ref_version,
                     struct ve_secret **ret_secret, char **ret_error) {
        struct ve_http_response resp = {};
        char *api, *reason = NULL;
        size_t ml = 0;
        int version = 0, r;

        if (vault_mount_lookup(v, path, &ml, &version))
                return vault_read_version(v, path, ml, version, ref_version, ret_secret, ret_error);

        api = ve_asprintf("sys/internal/ui/mounts/%s", path);
        if (!api)
                return -ENOMEM;
        r = vault_request(v, "GET", api, NULL, path, &resp, NULL, ret_error);
        free(api);
        if (r < 0)
                return r;       /* not cached: the next read asks again */
        r = vault_mount_answer(v, path, &resp, &ml, &version, &reason);
        ve_http_response_done(&resp);
        if (r == 1)
                r = vault_read_fallback(v, path, ref_version, reason, ret_secret, ret_error);
        else if (r == 0)
                r = vault_read_version(v, path, ml, version, ref_version, ret_secret, ret_error);
        free(reason);
        return r;
}

void vault_read_done(struct ve_vault *v, const struct ve_ref *ref, const struct ve_secret *s) {
        if (!ve_secret_leased(s))
                return;
        ve_debug("%s: leased for %llus%s", ref->path, (unsigned long long) s->lease.duration_s,
                 s->lease.renewable ? ", renewable" : "");
        if (ve_leases_note(v->leases, s->lease.lease_id, s->lease.duration_s, ve_now_ms()) < 0)
                ve_warn("%s: out of memory; its lease will not be revoked at exit", ref->path);
}

int ve_vault_read(struct ve_vault *v, const struct ve_ref *ref,
                  struct ve_secret **ret_secret, char **ret_error) {
        struct ve_secret *s = NULL;
        int r;

        if (!v || !ref || !ref->path || !*ref->path)
                return -EINVAL;

        switch (ref->kv) {
        case VE_KV_1:
                r = vault_read_version(v, ref->path, 0, 1, ref->version, &s, ret_error);
                break;
        case VE_KV_2:
                r = vault_read_version(v, ref->path, vault_first_segment_len(ref->path), 2, ref->version, &s, ret_error);
                break;
        case VE_KV_AUTO:
        default:
                r = read_auto(v, ref->path, ref->version, &s, ret_error);
                break;
        }
        if (r < 0)
                return r;
        vault_read_done(v, ref, s);
        *ret_secret = s;
        return 0;
}

int ve_vault_renew(struct ve_vault *v, const struct ve_ref *ref, const char *lease_id, uint64_t increment_s,
                   struct ve_lease *ret_lease, char **ret_error) {
        struct ve_http_response resp = {};
        struct ve_lease l = {};
        char *body, *what, *msg = NULL;
        bool sent_token = false;
        int r;

        if (!v || !ref || !ref->path || !lease_id || !*lease_id)
                return -EINVAL;
        what = ve_asprintf("the lease of %s", ref->path);
        body = ve_lease_renew_body(lease_id, increment_s);
        if (!what || !body) {
                r = -ENOMEM;
                goto out;
        }
        /* PUT, as the vault CLI's Sys().Renew(). */
        r = vault_request(v, "PUT", "sys/leases/renew", body, what, &resp, &sent_token, ret_error);
        if (r < 0)
                goto out;
        if (resp.status != 200) {
                r = status_error(what, &resp, sent_token, ret_error);
                goto out;
        }
        r = ve_vault_parse_lease(resp.body, resp.len, &l, &msg);
        if (r == 0 && strcmp(l.lease_id, lease_id) != 0) {
                r = -EPROTO;
                msg = strdup("Vault renewed another lease than asked");
        }
        if (r < 0) {
                if (r != -ENOMEM)
                        ve_set_error(ret_error, ve_asprintf("unexpected answer from Vault renewing %s: %s", what,
                                                         msg ? msg : "cannot parse it"));
                goto out;
        }
        (void) ve_leases_note(v->leases, lease_id, l.duration_s, ve_now_ms());
        *ret_lease = l;
        l = (struct ve_lease) {};
out:
        ve_lease_done(&l);
        ve_http_response_done(&resp);
        ve_erase_free(body);
        free(what);
        free(msg);
        return r;
}

int ve_vault_revoke_leases(struct ve_vault *v) {
        char **ids = NULL;
        size_t n = 0, revoked = 0;
        int r, ret = 0;

        if (!v)
                return 0;
        r = ve_leases_take_live(v->leases, ve_now_ms(), &ids, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                struct ve_http_response resp = {};
                _cleanup_erase_ char *body = ve_lease_revoke_body(ids[i]);
                char *err = NULL;

                if (!body) {
                        ret = -ENOMEM;
                        continue;
                }
                /* Vault answers 204; revoking a lease that is gone is 204 too. */
                r = vault_request(v, "PUT", "sys/leases/revoke", body, "a lease", &resp, NULL, &err);
                if (r == 0 && resp.status != 200 && resp.status != 204)
                        r = status_error("sys/leases/revoke", &resp, true, &err);
                ve_http_response_done(&resp);
                if (r < 0) {
                        ve_warn("revoking a lease at exit failed: %s", err ? err : strerror(-r));
                        ret = r;
                } else
                        revoked++;
                free(err);
        }
        if (n > 0)
                ve_info("revoked %zu of %zu lease(s) at exit", revoked, n);
        ve_leases_ids_free(ids, n);
        return ret;
}

int ve_vault_at_exit(struct ve_vault *v) {
        int r, ret;

        if (!v)
                return 0;
        ret = ve_vault_revoke_leases(v);
        /* After the leases: revoking the token would revoke them too, but
         * only if it is a login token of ours. ve_auth_revoke() says why
         * when it fails. */
        r = ve_auth_revoke(v->auth);
        if (r < 0)
                ret = r;
        return ret;
}

/* ---- for kv_write.c ---- */

int ve_vault_request(struct ve_vault *v, const char *method, const char *api_path, const char *body,
                     const char *user_path, struct ve_http_response *ret, bool *ret_sent_token,
                     char **ret_error) {
        if (!v || !method || !api_path || !user_path || !ret)
                return -EINVAL;
        return vault_request(v, method, api_path, body, user_path, ret, ret_sent_token, ret_error);
}

int ve_vault_status_error(const char *what, const struct ve_http_response *resp, bool sent_token,
                          char **ret_error) {
        if (!what || !resp)
                return -EINVAL;
        return status_error(what, resp, sent_token, ret_error);
}

int ve_vault_mount(struct ve_vault *v, const char *path, size_t *ret_mount_len, int *ret_version,
                   char **ret_error) {
        struct ve_http_response resp = {};
        char *api, *mount = NULL, *what = NULL;
        bool sent_token = false;
        size_t ml;
        int version, r;

        if (!v || !path || !*path || !ret_mount_len || !ret_version)
                return -EINVAL;
        if (vault_mount_lookup(v, path, &ml, &version))
                goto found;
        api = ve_asprintf("sys/internal/ui/mounts/%s", path);
        if (!api)
                return -ENOMEM;
        r = vault_request(v, "GET", api, NULL, path, &resp, &sent_token, ret_error);
        free(api);
        if (r < 0)
                return r;
        switch (resp.status) {
        case 200:
                r = ve_vault_parse_mount(resp.body, resp.len, &mount, &version);
                if (r == -ENOMEM)
                        goto out;
                if (r < 0) {
                        ve_set_error(ret_error, ve_asprintf("%s: unexpected answer from sys/internal/ui/mounts", path));
                        goto out;
                }
                ml = ve_vault_mount_len_in_path(path, mount);
                if (ml == 0) {
                        r = -EPROTO;
                        ve_set_error(ret_error, ve_asprintf("%s: Vault named mount %s, which is not a prefix of it",
                                                         path, mount));
                        goto out;
                }
                break;
        case 404:
                /* A Vault without the endpoint: KV v1, as the vault CLI. */
                ml = vault_first_segment_len(path);
                version = 1;
                break;
        default:
                what = ve_asprintf("the mount of %s", path);
                r = what ? status_error(what, &resp, sent_token, ret_error) : -ENOMEM;
                goto out;
        }
        vault_mount_remember(v, path, ml, version);
        ve_debug("%s: mount %.*s is KV v%d", path, (int) ml, path, version);
        ve_http_response_done(&resp);
found:
        *ret_mount_len = ml;
        *ret_version = version;
        r = 0;
out:
        ve_http_response_done(&resp);
        free(mount);
        free(what);
        return r;
}
