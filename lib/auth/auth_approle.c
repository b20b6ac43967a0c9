/* SPDX-License-Identifier: MIT */
/* AppRole login: POST auth/<mount>/login {role_id, secret_id}. The secret
 * id comes from VAULT_SECRET_ID or VAULT_SECRET_ID_FILE (re-read at every
 * login: it may be rotated); with VAULT_SECRET_ID_WRAPPED it is a
 * response-wrapping token, unwrapped through sys/wrapping/unwrap (the
 * wrapping token as X-Vault-Token, no body; the answer's data.secret_id).
 *
 * Called only by the thread that is logging in (auth.c keeps logins
 * single-flight), which is what makes c->unwrapped_* safe to touch. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "auth-internal.h"
#include "log.h"
#include "util.h"

#define INVALID_SECRET_ID "invalid secret id"

static int read_role_id(const struct ve_auth_config *c, char **ret, char **ret_error) {
        char *v;

        if (c->role_id) {
                v = ve_auth_secret_dup(c->role_id);
                if (!v)
                        return -ENOMEM;
                *ret = v;
                return 0;
        }
        return ve_auth_read_credential(c->role_id_file, "VAULT_ROLE_ID_FILE", ret, ret_error);
}

/* The secret id as given (or the wrapping token that holds it). */
static int read_secret_id(const struct ve_auth_config *c, char **ret, char **ret_error) {
        char *v;

        if (c->secret_id) {
                v = ve_auth_secret_dup(c->secret_id);
                if (!v)
                        return -ENOMEM;
                *ret = v;
                return 0;
        }
        return ve_auth_read_credential(c->secret_id_file, "VAULT_SECRET_ID_FILE", ret, ret_error);
}

/* Unwraps wrapping (a single-use token): 0 and the secret id. The last
 * unwrap is remembered, so that a re-login with the same wrapping token
 * uses the secret id it held instead of failing. */
static int unwrap(struct ve_auth_config *c, struct ve_http *http, const char *wrapping,
                  char **ret_secret_id, char **ret_error) {
        struct ve_http_response resp = {};
        char *sid = NULL, *copy = NULL, *from = NULL, *why = NULL;
        int r;

        if (c->unwrapped_from && strcmp(c->unwrapped_from, wrapping) == 0) {
                sid = ve_auth_secret_dup(c->unwrapped_secret_id);
                if (!sid)
                        return -ENOMEM;
                *ret_secret_id = sid;
                return 0;
        }

        r = ve_http_request(http, "POST", "sys/wrapping/unwrap", NULL, wrapping,
                            "sys/wrapping/unwrap", &resp, ret_error);
        if (r < 0)
                return r;
        if (resp.status != 200) {
                ve_set_error(ret_error, ve_auth_refusal("unwrapping the secret id (VAULT_SECRET_ID_WRAPPED)", &resp));
                r = -EACCES;
                goto out;
        }
        r = ve_auth_parse_data_string(resp.body, resp.len, "secret_id", &sid, &why);
        if (r == -ENOMEM)
                goto out;
        if (r < 0) {
                ve_set_error(ret_error, ve_asprintf("unwrapping the secret id (VAULT_SECRET_ID_WRAPPED): %s",
                                                    why ? why : "unexpected answer"));
                r = -EPROTO;
                goto out;
        }
        copy = ve_auth_secret_dup(sid);
        from = ve_auth_secret_dup(wrapping);
        if (!copy || !from) {
                ve_auth_secret_free(sid);
                r = -ENOMEM;
                goto out;
        }
        ve_auth_secret_free(c->unwrapped_from);
        ve_auth_secret_free(c->unwrapped_secret_id);
        c->unwrapped_from = from;
        c->unwrapped_secret_id = copy;
        from = copy = NULL;
        ve_debug("unwrapped the secret id (VAULT_SECRET_ID_WRAPPED)");
        *ret_secret_id = sid;
        r = 0;
out:
        ve_auth_secret_free(copy);
        ve_auth_secret_free(from);
        free(why);
        ve_http_response_done(&resp);
        return r;
}

int ve_auth_approle_login(struct ve_auth_config *c, struct ve_http *http,
                          struct ve_auth_grant *ret, char **ret_error) {
        char *role_id = NULL, *secret_id = NULL, *wrapping = NULL, *body = NULL, *err = NULL;
        int r;

        r = read_role_id(c, &role_id, ret_error);
        if (r < 0)
                goto out;
        r = read_secret_id(c, c->secret_id_wrapped ? &wrapping : &secret_id, ret_error);
        if (r < 0)
                goto out;
        if (wrapping) {
                r = unwrap(c, http, wrapping, &secret_id, ret_error);
                if (r < 0)
                        goto out;
        }

        body = ve_auth_json_object(2, (const char *const[]) { "role_id", role_id, "secret_id", secret_id });
        if (!body) {
                r = -ENOMEM;
                goto out;
        }
        r = ve_auth_login_post(c, http, body, ret, &err);
        if (r == -EACCES && !c->has_sink && err && strstr(err, INVALID_SECRET_ID)) {
                /* The usual cause in a process tree: a parent used up a
                 * single-use secret id. Say what solves it. */
                char *m = ve_asprintf("%s (a single-use secret id works once: set VAULTENV_TOKEN_SINK "
                                      "to share the token with later processes, or use a Vault Agent)", err);

                if (m) {
                        free(err);
                        err = m;
                }
        }
        ve_set_error(ret_error, err);
out:
        ve_auth_secret_free(role_id);
        ve_auth_secret_free(secret_id);
        ve_auth_secret_free(wrapping);
        ve_erase_free(body);
        return r;
}
