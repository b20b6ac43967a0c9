/* SPDX-License-Identifier: MIT */
/* Asking Vault about a token: lookup-self (is it alive, for how long),
 * renew-self, and adopting the token another process wrote to the sink. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "auth-internal.h"
#include "auth-state.h"
#include "log.h"
#include "util.h"

/* The grant of a lookup-self or renew-self answer names the token we asked
 * about: keep our own copy of it (data.id may be absent, e.g. behind an
 * agent). On -ENOMEM the grant is released. */
static int grant_keep_token(struct ve_auth_grant *g, const char *token) {
        ve_auth_secret_free(g->token);
        g->token = ve_auth_secret_dup(token);
        if (!g->token) {
                ve_auth_grant_done(g);
                return -ENOMEM;
        }
        return 0;
}

/* GET auth/token/lookup-self with token: 0 and its TTL when Vault accepts
 * it; -EACCES when it does not; or the transport's error, or -EIO, -EAGAIN,
 * -EPROTO, with a one-line reason in *ret_error (may be NULL). */
int ve_auth_lookup_self(struct ve_auth *a, const char *token, struct ve_auth_grant *ret, char **ret_error) {
        struct ve_http_response resp = {};
        struct ve_auth_grant g = {};
        char *err = NULL;
        int r;

        r = ve_http_request(a->http, "GET", "auth/token/lookup-self", NULL, token,
                            "auth/token/lookup-self", &resp, &err);
        if (r < 0) {
                ve_debug("lookup-self: %s", err ? err : strerror(-r));
                ve_set_error(ret_error, err);
                return r;
        }
        if (resp.status != 200) {
                r = ve_auth_status_errno(resp.status);
                if (r != -EACCES)
                        ve_set_error(ret_error, ve_asprintf("HTTP status %ld", resp.status));
                goto out;
        }
        r = ve_auth_parse_grant(resp.body, resp.len, true, &g, &err);
        if (r < 0) {
                ve_debug("lookup-self: %s", err ? err : strerror(-r));
                ve_set_error(ret_error, err);
                goto out;
        }
        r = grant_keep_token(&g, token);
        if (r == 0)
                *ret = g;
out:
        ve_http_response_done(&resp);
        return r;
}

/* A token adopted from the sink with less than half of its TTL (lookup-self's
 * creation_ttl) left is renewed at once. A process may well end before its
 * own renewal point (2/3 of what remained when it adopted the token), so
 * without this the shared token would die token_ttl after the login even
 * while processes keep coming; with it, one process starting in each half
 * TTL keeps it alive up to its max TTL. A failed renewal is no failure: the
 * token serves while it lasts. */
static void renew_at_adoption(struct ve_auth *a, struct ve_auth_grant *g) {
        struct ve_auth_grant rg = {};
        char *err = NULL;

        if (!g->renewable || g->ttl_s == 0 || g->ttl_s >= g->full_ttl_s / 2)
                return;
        if (ve_auth_renew_self(a, g->token, &rg, &err) == 0) {
                ve_debug("renewed the Vault token from VAULTENV_TOKEN_SINK %s: %llus of %llus were left, now %llus",
                         a->sink, (unsigned long long) g->ttl_s, (unsigned long long) g->full_ttl_s,
                         (unsigned long long) rg.ttl_s);
                g->ttl_s = rg.ttl_s;
                g->renewable = rg.renewable;
        } else
                ve_info("%s; using the token from VAULTENV_TOKEN_SINK %s while it lasts",
                        err ? err : "cannot renew the Vault token", a->sink);
        ve_auth_grant_done(&rg);
        free(err);
}

/* The sink's token, when it is not one we know to be dead (skip1, skip2,
 * *io_dead) and Vault accepts it. Else -errno and in *ret_why what is wrong
 * with the sink (worded to follow its name); a token Vault refused is kept
 * in *io_dead (may be NULL), so that reading the sink again asks Vault only
 * about a new token. login_follows: a login is tried next, and a sink that
 * someone else may have tampered with is worth a warning; without a login
 * the caller's error says it all. */
int ve_auth_sink_adopt(struct ve_auth *a, const char *skip1, const char *skip2, bool login_follows,
                      char **io_dead, struct ve_auth_grant *ret, char **ret_why) {
        char *t = NULL, *why = NULL, *err = NULL;
        bool local = false;
        int r;

        r = ve_sink_read(a->sink, &t, &why);
        if (r < 0)
                local = true;
        else if (streq_opt(t, skip2)) {
                why = strdup("holds only the token Vault refused");
                r = -ESTALE;
        } else if (streq_opt(t, skip1)) {
                why = strdup("holds only the token being replaced");
                r = -ESTALE;
        } else if (io_dead && streq_opt(t, *io_dead)) {
                why = strdup("holds a token Vault refuses (expired or revoked)");
                r = -EACCES;
        } else {
                r = ve_auth_lookup_self(a, t, ret, &err);
                if (r == 0)
                        renew_at_adoption(a, ret);
                if (r == -EACCES) {
                        why = strdup("holds a token Vault refuses (expired or revoked)");
                        if (io_dead) {
                                ve_auth_secret_free(*io_dead);
                                *io_dead = t;
                                t = NULL;
                        }
                } else if (r < 0 && r != -ENOMEM)
                        why = ve_asprintf("holds a token that could not be checked (auth/token/lookup-self): %s",
                                          err ? err : strerror(-r));
                free(err);
        }
        ve_auth_secret_free(t);
        if (r == 0) {
                ve_info("using the Vault token from VAULTENV_TOKEN_SINK %s", a->sink);
                return 0;
        }
        if (login_follows) {
                if (local && r != -ENOENT && r != -ENODATA)
                        ve_warn("VAULTENV_TOKEN_SINK %s %s; not using it", a->sink, why ? why : strerror(-r));
                else
                        ve_debug("VAULTENV_TOKEN_SINK %s %s; logging in", a->sink, why ? why : strerror(-r));
        }
        ve_set_error(ret_why, why);
        return r;
}

int ve_auth_renew_self(struct ve_auth *a, const char *token, struct ve_auth_grant *ret, char **ret_error) {
        struct ve_http_response resp = {};
        struct ve_auth_grant g = {};
        char *why = NULL;
        int r;

        r = ve_http_request(a->http, "POST", "auth/token/renew-self", "{}", token,
                            "auth/token/renew-self", &resp, ret_error);
        if (r < 0)
                return r;
        if (resp.status != 200) {
                ve_set_error(ret_error, ve_auth_refusal("renewing the token (auth/token/renew-self)", &resp));
                r = ve_auth_status_errno(resp.status);
                goto out;
        }
        r = ve_auth_parse_grant(resp.body, resp.len, false, &g, &why);
        if (r < 0) {
                if (r != -ENOMEM)
                        ve_set_error(ret_error, ve_asprintf("renewing the token: %s",
                                                            why ? why : "unexpected answer"));
                free(why);
                goto out;
        }
        r = grant_keep_token(&g, token);
        if (r == 0)
                *ret = g;
out:
        ve_http_response_done(&resp);
        return r;
}
