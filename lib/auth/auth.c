/* SPDX-License-Identifier: MIT */
/* Setting up and tearing down the token's keeper (struct ve_auth, see
 * auth-state.h): copies of the login settings, fork handling, and revoking
 * the token this process logged in for. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth-internal.h"
#include "auth-state.h"
#include "log.h"
#include "util.h"
#include "auth.h"
#include "vault_json.h"

static int dup_opt(const char *s, char **ret) {
        *ret = NULL;
        if (s && !(*ret = strdup(s)))
                return -ENOMEM;
        return 0;
}

/* dup_opt() for a secret: into the secure arena (ve_auth_secret_dup()).
 * False on allocation failure. */
static bool secret_dup_opt(const char *s, char **ret) {
        *ret = ve_auth_secret_dup(s);
        return !s || *ret;
}

int ve_auth_new(const struct ve_settings *settings, struct ve_http *http,
                struct ve_auth **ret_auth, char **ret_error) {
        enum ve_auth_method m;
        struct ve_auth *a;
        int r;

        r = ve_auth_detect(settings, &m, ret_error);
        if (r < 0)
                return r;
        a = calloc(1, sizeof *a);
        if (!a)
                return -ENOMEM;
        pthread_mutex_init(&a->lock, NULL);
        pthread_cond_init(&a->cond, NULL);
        a->http = http;
        a->now = ve_now_ms;
        atomic_init(&a->flight_fd, -1);
        /* A login is at most an unwrap and a login request. */
        a->flight_wait_ms = 2 * settings->timeout_ms + 1000;
        a->cfg.method = m;
        a->cfg.secret_id_wrapped = settings->secret_id_wrapped;
        a->cfg.has_sink = settings->token_sink != NULL;
        a->token_file_explicit = settings->token_file_explicit;
        a->agent = settings->agent_addr != NULL;
        if (dup_opt(settings->auth_path ? settings->auth_path : ve_auth_method_name(m), &a->cfg.mount) < 0 ||
            dup_opt(settings->auth_role, &a->cfg.role) < 0 ||
            dup_opt(settings->role_id, &a->cfg.role_id) < 0 ||
            dup_opt(settings->role_id_file, &a->cfg.role_id_file) < 0 ||
            !secret_dup_opt(settings->secret_id, &a->cfg.secret_id) ||
            dup_opt(settings->secret_id_file, &a->cfg.secret_id_file) < 0 ||
            dup_opt(settings->k8s_token_file, &a->cfg.k8s_token_file) < 0 ||
            dup_opt(settings->jwt_file, &a->cfg.jwt_file) < 0 ||
            dup_opt(settings->token_sink, &a->sink) < 0) {
                ve_auth_free(a);
                return -ENOMEM;
        }
        /* A mount path is written as the vault CLI's -path: no slashes
         * around it. */
        while (*a->cfg.mount == '/')
                memmove(a->cfg.mount, a->cfg.mount + 1, strlen(a->cfg.mount));
        for (size_t n = strlen(a->cfg.mount); n > 0 && a->cfg.mount[n - 1] == '/'; n--)
                a->cfg.mount[n - 1] = 0;

        if (m == VE_AUTH_TOKEN) {
                if (settings->token) {
                        if (!secret_dup_opt(settings->token, &a->token)) {
                                ve_auth_free(a);
                                return -ENOMEM;
                        }
                        a->source = SRC_GIVEN;
                        a->file_loaded = true;
                } else if (dup_opt(settings->token_file, &a->token_file) < 0) {
                        ve_auth_free(a);
                        return -ENOMEM;
                }
        } else {
                if (settings->token)
                        ve_debug("VAULT_TOKEN is not used: VAULT_AUTH_METHOD=%s", ve_auth_method_name(m));
                a->no_credential = ve_auth_missing_credential(settings, m);
                if (a->no_credential)
                        /* ve_auth_detect() let it pass for the sink. */
                        ve_debug("%s: only the token in VAULTENV_TOKEN_SINK %s is used", a->no_credential, a->sink);
                else
                        ve_debug("Vault login: %s at auth/%s/login", ve_auth_method_name(m), a->cfg.mount);
        }
        *ret_auth = a;
        return 0;
}

void ve_auth_free(struct ve_auth *a) {
        if (!a)
                return;
        ve_auth_secret_free(a->token);
        ve_auth_secret_free(a->rejected);
        free(a->fail_msg);
        free(a->token_file);
        free(a->sink);
        free(a->cfg.mount);
        free(a->cfg.role);
        ve_erase_free(a->cfg.role_id);
        free(a->cfg.role_id_file);
        ve_auth_secret_free(a->cfg.secret_id);
        free(a->cfg.secret_id_file);
        free(a->cfg.k8s_token_file);
        free(a->cfg.jwt_file);
        free(a->file_refused);
        ve_auth_secret_free(a->cfg.unwrapped_from);
        ve_auth_secret_free(a->cfg.unwrapped_secret_id);
        pthread_cond_destroy(&a->cond);
        pthread_mutex_destroy(&a->lock);
        free(a);
}

void ve_auth_set_clock(struct ve_auth *a, uint64_t (*now_ms)(void)) {
        a->now = now_ms;
}

const char *ve_auth_peek_token(struct ve_auth *a) {
        return a->token;
}

const char *ve_auth_peek_rejected(struct ve_auth *a) {
        return a->rejected;
}

const struct ve_auth_config *ve_auth_peek_config(struct ve_auth *a) {
        return &a->cfg;
}

void ve_auth_atfork_prepare(struct ve_auth *a) {
        if (a)
                pthread_mutex_lock(&a->lock);
        ve_auth_refusal_lock();
}

void ve_auth_atfork_parent(struct ve_auth *a) {
        ve_auth_refusal_unlock();
        if (a)
                pthread_mutex_unlock(&a->lock);
}

void ve_auth_atfork_child(struct ve_auth *a) {
        ve_auth_refusal_unlock();
        if (!a)
                return;
        /* The refreshing thread, if any, and the waiters are not in the
         * child. */
        pthread_cond_init(&a->cond, NULL);
        a->busy = false;
        /* Its copy of the lock file the refreshing thread held, if any:
         * that thread is not in the child, and the parent unlocks it. */
        {
                int fd = atomic_exchange(&a->flight_fd, -1);

                if (fd >= 0)
                        close(fd);
        }
        pthread_mutex_unlock(&a->lock);
}

int ve_auth_revoke(struct ve_auth *a) {
        struct ve_http_response resp = {};
        char *t = NULL, *err = NULL, *text;
        int r;

        pthread_mutex_lock(&a->lock);
        /* Only a token this very process logged in for: not VAULT_TOKEN,
         * not a token file's, not one adopted from the sink, and not the
         * parent's token that a forked child inherited. */
        if (!a->token || a->source != SRC_LOGIN || a->owner != getpid()) {
                pthread_mutex_unlock(&a->lock);
                return 0;
        }
        t = a->token;
        a->token = NULL;
        a->source = SRC_NONE;
        pthread_mutex_unlock(&a->lock);

        r = ve_http_request(a->http, "POST", "auth/token/revoke-self", NULL, t,
                            "auth/token/revoke-self", &resp, &err);
        if (r < 0) {
                ve_warn("cannot revoke the Vault token: %s", err ? err : strerror(-r));
                goto out;
        }
        if (resp.status != 204 && resp.status != 200) {
                text = ve_vault_errors_text(resp.body, resp.len);
                ve_warn("cannot revoke the Vault token: %s", text ? text : "refused");
                free(text);
                r = ve_auth_status_errno(resp.status);
                goto out;
        }
        ve_debug("revoked the Vault token this process logged in for");
        if (a->sink)
                ve_sink_remove_if(a->sink, t);
        r = 0;
out:
        ve_http_response_done(&resp);
        ve_auth_secret_free(t);
        free(err);
        return r;
}
