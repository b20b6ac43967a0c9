/* SPDX-License-Identifier: MIT */
/* What every login method shares: the JSON body it sends, the POST to
 * auth/MOUNT/login, and the parsing of the grant (or of a data string) in
 * Vault's answer, through the checked JSON parser. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "auth-internal.h"
#include "log.h"
#include "util.h"
#include "vault_json.h"

const char *ve_auth_method_name(enum ve_auth_method m) {
        switch (m) {
        case VE_AUTH_TOKEN:
                return "token";
        case VE_AUTH_APPROLE:
                return "approle";
        case VE_AUTH_KUBERNETES:
                return "kubernetes";
        case VE_AUTH_JWT:
                return "jwt";
        case VE_AUTH_CERT:
                return "cert";
        }
        return "?";
}

void ve_auth_grant_done(struct ve_auth_grant *g) {
        if (!g)
                return;
        ve_auth_secret_free(g->token);
        *g = (struct ve_auth_grant) {};
}

char *ve_auth_json_object(size_t n, const char *const *kv) {
        size_t size = 3;        /* { } NUL */
        char *buf, *o;
        bool first = true;

        for (size_t i = 0; i < n; i++)
                if (kv[2 * i + 1])
                        size += ve_json_quoted_len(kv[2 * i]) + ve_json_quoted_len(kv[2 * i + 1]) + 2;
        buf = malloc(size);
        if (!buf)
                return NULL;
        o = buf;
        *o++ = '{';
        for (size_t i = 0; i < n; i++) {
                if (!kv[2 * i + 1])
                        continue;
                if (!first)
                        *o++ = ',';
                first = false;
                o = ve_json_quote_to(o, kv[2 * i]);
                *o++ = ':';
                o = ve_json_quote_to(o, kv[2 * i + 1]);
        }
        *o++ = '}';
        *o = 0;
        return buf;
}

/* A number of seconds in block (absent or null: 0). -EPROTO with a reason
 * when it is of another type. */
static int json_seconds(const cJSON *block, const char *name, const char *key, uint64_t *ret, char **ret_why) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(block, key);

        if (!n || cJSON_IsNull(n)) {
                *ret = 0;
                return 0;
        }
        if (!cJSON_IsNumber(n)) {
                ve_set_error(ret_why, ve_asprintf("%s.%s in the answer from Vault is not a number", name, key));
                return -EPROTO;
        }
        if (n->valuedouble <= 0)
                *ret = 0;
        else if (n->valuedouble > 1e12)
                *ret = (uint64_t) 1e12;
        else
                *ret = (uint64_t) n->valuedouble;
        return 0;
}

/* Vault's answer as JSON, through the checked parser; an empty answer is
 * -EPROTO with a reason. */
static int parse_body(const char *body, size_t len, cJSON **ret_root, char **ret_why) {
        if (!body) {
                ve_set_error(ret_why, strdup("no answer from Vault"));
                return -EPROTO;
        }
        return ve_vault_parse_json(body, len, ret_root, ret_why);
}

int ve_auth_parse_grant(const char *body, size_t len, bool lookup, struct ve_auth_grant *ret, char **ret_why) {
        const char *name = lookup ? "data" : "auth", *token = NULL;
        struct ve_auth_grant g = {};
        const cJSON *block, *renewable;
        cJSON *root = NULL;
        char *field = NULL;
        int r;

        r = parse_body(body, len, &root, ret_why);
        if (r < 0)
                return r;
        block = cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, name) : NULL;
        if (!cJSON_IsObject(block)) {
                ve_set_error(ret_why, ve_asprintf("the answer from Vault holds no %s block", name));
                r = -EPROTO;
                goto out;
        }
        field = ve_asprintf("%s.%s", name, lookup ? "id" : "client_token");
        if (!field) {
                r = -ENOMEM;
                goto out;
        }
        /* A token with an escaped NUL, or of another type, is refused:
         * never a shortened token. */
        r = ve_vault_json_string(block, lookup ? "id" : "client_token", field, &token, ret_why);
        if (r < 0)
                goto out;
        if (token && ve_has_control(token)) {
                /* It goes into an HTTP header. */
                ve_set_error(ret_why, ve_asprintf("%s in the answer from Vault contains a control character", field));
                r = -EPROTO;
                goto out;
        }
        r = json_seconds(block, name, lookup ? "ttl" : "lease_duration", &g.ttl_s, ret_why);
        if (r < 0)
                goto out;
        if (lookup) {
                r = json_seconds(block, name, "creation_ttl", &g.full_ttl_s, ret_why);
                if (r < 0)
                        goto out;
        } else
                g.full_ttl_s = g.ttl_s;
        if (g.full_ttl_s < g.ttl_s)
                g.full_ttl_s = g.ttl_s;
        renewable = cJSON_GetObjectItemCaseSensitive(block, "renewable");
        if (renewable && !cJSON_IsNull(renewable) && !cJSON_IsBool(renewable)) {
                ve_set_error(ret_why, ve_asprintf("%s.renewable in the answer from Vault is not a boolean", name));
                r = -EPROTO;
                goto out;
        }
        g.renewable = cJSON_IsTrue(renewable);
        if (token && token[0] && !(g.token = ve_auth_secret_dup(token))) {
                r = -ENOMEM;
                goto out;
        }
        *ret = g;
        r = 0;
out:
        free(field);
        ve_vault_json_free(root);
        return r;
}

int ve_auth_parse_data_string(const char *body, size_t len, const char *key, char **ret_value, char **ret_why) {
        const char *v = NULL;
        cJSON *root = NULL;
        char *name, *s;
        int r;

        r = parse_body(body, len, &root, ret_why);
        if (r < 0)
                return r;
        name = ve_asprintf("data.%s", key);
        if (!name) {
                r = -ENOMEM;
                goto out;
        }
        r = ve_vault_json_string(cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "data") : NULL,
                                 key, name, &v, ret_why);
        if (r < 0)
                goto out;
        if (!v || !v[0]) {
                ve_set_error(ret_why, ve_asprintf("the answer from Vault holds no %s", name));
                r = -ENOENT;
                goto out;
        }
        s = strdup(v);
        if (!s) {
                r = -ENOMEM;
                goto out;
        }
        *ret_value = s;
        r = 0;
out:
        free(name);
        ve_vault_json_free(root);
        return r;
}

int ve_auth_status_errno(long status) {
        switch (status) {
        case 400:
        case 401:
        case 403:
                return -EACCES;
        case 429:
        case 503:
                return -EAGAIN;
        default:
                return -EIO;
        }
}

char *ve_auth_refusal(const char *what, const struct ve_http_response *resp) {
        char *text, *m;

        text = ve_vault_errors_text(resp->body, resp->len);
        if (text && resp->status == 400 && strcmp(text, "missing client token") == 0)
                /* What Vault says to a login at a path where nothing is mounted. */
                m = ve_asprintf("%s failed: missing client token (is the auth method mounted there? "
                                "VAULT_AUTH_PATH names its path)", what);
        else if (text)
                m = ve_asprintf("%s failed: %s", what, text);
        else
                m = ve_asprintf("%s failed: HTTP status %ld", what, resp->status);
        free(text);
        return m;
}

int ve_auth_login_post(const struct ve_auth_config *c, struct ve_http *http, const char *body,
                       struct ve_auth_grant *ret, char **ret_error) {
        struct ve_http_response resp = {};
        struct ve_auth_grant g = {};
        char *path, *what, *why = NULL;
        int r;

        path = ve_asprintf("auth/%s/login", c->mount);
        what = ve_asprintf("%s login at auth/%s/login", ve_auth_method_name(c->method), c->mount);
        if (!path || !what) {
                r = -ENOMEM;
                goto out;
        }
        r = ve_http_request(http, "POST", path, body, NULL, path, &resp, ret_error);
        if (r < 0)
                goto out;
        if (resp.status != 200) {
                ve_set_error(ret_error, ve_auth_refusal(what, &resp));
                r = ve_auth_status_errno(resp.status);
                goto out;
        }
        r = ve_auth_parse_grant(resp.body, resp.len, false, &g, &why);
        if (r == 0 && !g.token) {
                ve_auth_grant_done(&g);
                why = strdup("the answer holds no auth.client_token");
                r = -EPROTO;
        }
        if (r < 0) {
                /* No token at all rather than a doubtful one. */
                if (r != -ENOMEM)
                        ve_set_error(ret_error, ve_asprintf("%s: %s", what, why ? why : "unexpected answer"));
                goto out;
        }
        *ret = g;
out:
        ve_http_response_done(&resp);
        free(path);
        free(what);
        free(why);
        return r;
}
