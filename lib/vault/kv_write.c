/* SPDX-License-Identifier: MIT */
/* KV writes (kv_write.h): read, merge, write with check-and-set, read back. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "kv_write.h"
#include "log.h"
#include "util.h"

#define CAS_MISMATCH "check-and-set parameter did not match the current version"

char *ve_kv_data_path(const char *path, size_t mount_len, int kv_version) {
        const char *rest;

        if (!path)
                return NULL;
        if (kv_version != 2)
                return strdup(path);
        if (mount_len > strlen(path))
                mount_len = strlen(path);
        rest = path + mount_len;
        return ve_asprintf("%.*sdata%s%s", (int) mount_len, path, *rest ? "/" : "", rest);
}

/* The KV object of a read answer: data (v1) or data.data (v2), NULL when
 * absent or null; and data.metadata.version (v2) in *ret_version. */
static const cJSON *kv_object(const cJSON *root, int kv_version, long *ret_version) {
        const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data"), *md, *ver;

        *ret_version = 0;
        if (!cJSON_IsObject(data))
                return NULL;
        if (kv_version != 2)
                return data;
        md = cJSON_GetObjectItemCaseSensitive(data, "metadata");
        ver = cJSON_IsObject(md) ? cJSON_GetObjectItemCaseSensitive(md, "version") : NULL;
        if (cJSON_IsNumber(ver) && ver->valuedouble >= 0 && ver->valuedouble < 9e15)
                *ret_version = (long) ver->valuedouble;
        data = cJSON_GetObjectItemCaseSensitive(data, "data");
        return cJSON_IsObject(data) ? data : NULL;
}

static int set_error(char **ret_error, int r, char *msg) {
        if (!msg)
                return -ENOMEM;
        ve_set_error(ret_error, msg);
        return r;
}

/* Adds key = value to obj: a JSON string when is_string, else raw JSON
 * text (a number, true, an object... as Vault gave it). */
static int add_value(cJSON *obj, const char *key, const char *value, bool is_string) {
        cJSON *item = is_string ? cJSON_CreateString(value) : cJSON_CreateRaw(value);

        if (!item)
                return -ENOMEM;
        if (!cJSON_AddItemToObject(obj, key, item)) {
                ve_vault_json_free(item);
                return -ENOMEM;
        }
        return 0;
}

/* What mode asks of the secret as it is: CREATE wants none live, REPLACE
 * one holding every key written. 0, or -EEXIST/-ENOENT with why. */
static int check_mode(const char *path, enum ve_kv_put_mode mode, const struct ve_secret *cur, const cJSON *live,
                      const struct ve_secret *values, char **ret_error) {
        if (mode == VE_KV_PUT_CREATE && live)
                return set_error(ret_error, -EEXIST, ve_asprintf("%s already holds a secret (%zu key(s))", path,
                                                              cur ? cur->n : 0));
        if (mode != VE_KV_PUT_REPLACE)
                return 0;
        if (!live)
                return set_error(ret_error, -ENOENT, ve_asprintf("no secret at %s", path));
        for (size_t i = 0; i < values->n; i++)
                if (!cJSON_GetObjectItemCaseSensitive(live, values->keys[i]))
                        return set_error(ret_error, -ENOENT, ve_asprintf("%s has no key %s", path, values->keys[i]));
        return 0;
}

/* The key/value object to write: the live keys (unless CREATE), each with
 * its new value when values has one, then the new keys. */
static int merged_object(enum ve_kv_put_mode mode, const struct ve_secret *cur, const cJSON *live,
                         const struct ve_secret *values, cJSON **ret) {
        cJSON *out = cJSON_CreateObject();
        int r = 0;

        if (!out)
                return -ENOMEM;
        if (live && mode != VE_KV_PUT_CREATE)
                for (size_t i = 0; i < cur->n && r == 0; i++) {
                        const char *nv = ve_secret_get(values, cur->keys[i]);
                        const cJSON *orig = cJSON_GetObjectItemCaseSensitive(live, cur->keys[i]);

                        r = add_value(out, cur->keys[i], nv ? nv : cur->values[i], nv || cJSON_IsString(orig));
                }
        for (size_t i = 0; i < values->n && r == 0; i++)
                if (!cJSON_GetObjectItemCaseSensitive(out, values->keys[i]))
                        r = add_value(out, values->keys[i], values->values[i], true);
        if (r < 0) {
                ve_vault_json_free(out);
                return r;
        }
        *ret = out;
        return 0;
}

/* The request body: KV v1 the object itself; KV v2 {"data":…,
 * "options":{"cas":N}}. Takes out (freed in every case). */
static int print_body(int kv_version, cJSON *out, long cas, char **ret_body) {
        cJSON *wrapper = NULL, *opts;
        char *body = NULL;

        if (kv_version == 2) {
                wrapper = cJSON_CreateObject();
                opts = cJSON_CreateObject();
                if (!wrapper || !opts || !cJSON_AddItemToObject(wrapper, "data", out)) {
                        cJSON_Delete(opts);
                        goto out;
                }
                out = NULL;
                if (!cJSON_AddItemToObject(wrapper, "options", opts)) {
                        cJSON_Delete(opts);
                        goto out;
                }
                if (cJSON_AddNumberToObject(opts, "cas", (double) cas))
                        body = cJSON_PrintUnformatted(wrapper);
        } else
                body = cJSON_PrintUnformatted(out);
out:
        ve_vault_json_free(wrapper);
        ve_vault_json_free(out);
        if (!body)
                return -ENOMEM;
        *ret_body = body;
        return 0;
}

int ve_kv_build_write(const char *path, int kv_version, const struct ve_http_response *current,
                      const struct ve_secret *values, enum ve_kv_put_mode mode,
                      char **ret_body, long *ret_cas, char **ret_error) {
        struct ve_secret *cur = NULL;
        cJSON *root = NULL, *out = NULL;
        const cJSON *kv = NULL, *live = NULL;   /* live: the secret's keys now, when it has any */
        char *msg = NULL, *body;
        long cas = 0;
        int r;

        if (!path || !current || !values || !ret_body || !ret_cas || (kv_version != 1 && kv_version != 2))
                return -EINVAL;
        if (current->status != 200 && current->status != 404)
                return -EINVAL;

        if (current->body && current->len > 0) {
                /* The checked parser: a key twice ("version" of the
                 * metadata, a key of the data) or text after the answer
                 * is refused, not read one way here and another by Vault. */
                r = ve_vault_parse_json(current->body, current->len, &root, &msg);
                if (r == -ENOMEM)
                        goto out;
                if (r < 0) {
                        r = set_error(ret_error, -EPROTO, ve_asprintf("unexpected answer from Vault for %s: %s", path,
                                                                    msg ? msg : "cannot parse it"));
                        goto out;
                }
                /* A 404 of KV v2 may carry the metadata of a deleted or
                 * destroyed latest version: cas must be that version. A
                 * plain 404: 0. */
                kv = kv_object(root, kv_version, &cas);
        }
        if (current->status == 200) {
                r = ve_vault_parse_kv(kv_version, current->body, current->len, &cur, &msg);
                if (r == -ENOMEM)
                        goto out;
                if (r == 0 && kv)
                        live = kv;
                else if (r != -ENOENT) {        /* -ENOENT: a 200 without data, nothing live */
                        r = set_error(ret_error, -EPROTO,
                                      ve_asprintf("unexpected answer from Vault for %s: %s", path,
                                                  msg ? msg : "cannot parse it"));
                        goto out;
                }
        }
        r = check_mode(path, mode, cur, live, values, ret_error);
        if (r < 0)
                goto out;
        r = merged_object(mode, cur, live, values, &out);
        if (r < 0)
                goto out;
        if (kv_version != 2)
                cas = -1;
        r = print_body(kv_version, out, cas, &body);
        if (r < 0)
                goto out;
        *ret_body = body;
        *ret_cas = cas;
out:
        ve_vault_json_free(root);
        ve_secret_free(cur);
        free(msg);
        return r;
}

int ve_kv_write_result(const char *path, int kv_version, long cas, const struct ve_http_response *resp,
                       bool sent_token, long *ret_version, char **ret_error) {
        const cJSON *data, *ver;
        cJSON *root = NULL;
        char *text, *why = NULL;
        long version = 0;
        int r;

        if (!path || !resp)
                return -EINVAL;
        if (resp->status == 400) {
                text = ve_vault_errors_text(resp->body, resp->len);
                if (text && strstr(text, CAS_MISMATCH)) {
                        free(text);
                        return set_error(ret_error, -ESTALE,
                                         ve_asprintf("%s changed after it was read (check-and-set against "
                                                     "version %ld failed); nothing was written", path, cas));
                }
                free(text);
        }
        if (resp->status == 204 && kv_version == 1) {
                if (ret_version)
                        *ret_version = 0;
                return 0;
        }
        if (resp->status != 200)
                return ve_vault_status_error(path, resp, sent_token, ret_error);
        if (kv_version == 1) {
                if (ret_version)
                        *ret_version = 0;
                return 0;
        }
        /* The answer of a KV v2 write holds metadata only, no value. */
        if (resp->body) {
                r = ve_vault_parse_json(resp->body, resp->len, &root, &why);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        r = set_error(ret_error, -EPROTO,
                                      ve_asprintf("unexpected answer from Vault writing %s: %s", path,
                                                  why ? why : "cannot parse it"));
                        free(why);
                        return r;
                }
        }
        data = cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "data") : NULL;
        ver = cJSON_IsObject(data) ? cJSON_GetObjectItemCaseSensitive(data, "version") : NULL;
        if (cJSON_IsNumber(ver) && ver->valuedouble >= 1 && ver->valuedouble < 9e15)
                version = (long) ver->valuedouble;
        ve_vault_json_free(root);
        if (version < 1)
                return set_error(ret_error, -EPROTO,
                                 ve_asprintf("unexpected answer from Vault writing %s: no data.version", path));
        if (ret_version)
                *ret_version = version;
        return 0;
}

int ve_kv_check_readback(const char *path, int kv_version, const struct ve_http_response *resp,
                         const struct ve_secret *expected, char **ret_error) {
        struct ve_secret *got = NULL;
        char *msg = NULL;
        int r;

        if (!path || !resp || !expected)
                return -EINVAL;
        r = ve_vault_parse_kv(kv_version, resp->body, resp->len, &got, &msg);
        free(msg);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return set_error(ret_error, -EIO, ve_asprintf("%s: cannot read it back after writing", path));
        for (size_t i = 0; i < expected->n; i++) {
                const char *g = ve_secret_get(got, expected->keys[i]);

                if (!g || strcmp(g, expected->values[i]) != 0) {
                        r = set_error(ret_error, -EIO, ve_asprintf("%s: %s read back differs from what was written",
                                                                path, expected->keys[i]));
                        break;
                }
        }
        ve_secret_free(got);
        return r;
}

int ve_kv_put(struct ve_vault *v, const char *path, const struct ve_secret *values,
              enum ve_kv_put_mode mode, bool require_v2,
              long *ret_version, int *ret_kv_version, char **ret_error) {
        struct ve_http_response cur = {}, resp = {};
        char *api = NULL, *body = NULL;
        bool sent_token = false;
        size_t ml;
        long cas, version;
        int kv, r;

        if (!v || !path || !values)
                return -EINVAL;
        r = ve_vault_mount(v, path, &ml, &kv, ret_error);
        if (r < 0)
                return r;
        if (kv != 2 && require_v2)
                return set_error(ret_error, -EOPNOTSUPP,
                                 ve_asprintf("%s: mount %.*s is KV v1, which has no versions and no check-and-set",
                                             path, (int) ml, path));
        api = ve_kv_data_path(path, ml, kv);
        if (!api)
                return -ENOMEM;
        r = ve_vault_request(v, "GET", api, NULL, path, &cur, &sent_token, ret_error);
        if (r < 0)
                goto out;
        if (cur.status != 200 && cur.status != 404) {
                r = ve_vault_status_error(path, &cur, sent_token, ret_error);
                goto out;
        }
        r = ve_kv_build_write(path, kv, &cur, values, mode, &body, &cas, ret_error);
        if (r < 0)
                goto out;
        ve_debug("%s: writing %zu key(s) to KV v%d%s", path, values->n, kv, kv == 2 ? " with check-and-set" : "");
        r = ve_vault_request(v, "POST", api, body, path, &resp, &sent_token, ret_error);
        if (r < 0)
                goto out;
        r = ve_kv_write_result(path, kv, cas, &resp, sent_token, &version, ret_error);
        if (r < 0)
                goto out;
        if (ret_version)
                *ret_version = version;
        if (ret_kv_version)
                *ret_kv_version = kv;
out:
        ve_http_response_done(&cur);
        ve_http_response_done(&resp);
        ve_erase_free(body);
        free(api);
        return r;
}

int ve_kv_verify(struct ve_vault *v, const char *path, long version, const struct ve_secret *expected,
                 char **ret_error) {
        struct ve_http_response resp = {};
        char *api = NULL, *q = NULL;
        bool sent_token = false;
        size_t ml;
        int kv, r;

        if (!v || !path || !expected)
                return -EINVAL;
        r = ve_vault_mount(v, path, &ml, &kv, ret_error);
        if (r < 0)
                return r;
        api = ve_kv_data_path(path, ml, kv);
        if (!api)
                return -ENOMEM;
        if (kv == 2 && version > 0) {
                q = ve_asprintf("%s?version=%ld", api, version);
                if (!q) {
                        r = -ENOMEM;
                        goto out;
                }
        }
        r = ve_vault_request(v, "GET", q ? q : api, NULL, path, &resp, &sent_token, ret_error);
        if (r < 0)
                goto out;
        if (resp.status != 200)
                r = ve_vault_status_error(path, &resp, sent_token, ret_error);
        else
                r = ve_kv_check_readback(path, kv, &resp, expected, ret_error);
out:
        ve_http_response_done(&resp);
        free(api);
        free(q);
        return r;
}
