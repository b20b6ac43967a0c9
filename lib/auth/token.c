/* SPDX-License-Identifier: MIT */
/* The token in use: handing it out (ve_auth_token), refreshing it when 2/3
 * of its TTL has passed (renewal, the sink, a login: single-flight, see
 * auth-state.h for the locking), and dropping it when Vault refuses it. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth-internal.h"
#include "auth-state.h"
#include "auth.h"
#include "log.h"
#include "util.h"

/* After a failed login, callers get the same error for this long instead
 * of each trying again (and e.g. each using up a single-use credential). */
#define FAIL_HOLD_MS (5 * 1000)

/* Token method: reads the token file. Called with the lock held. Returns
 * the token read, or NULL (missing, empty, unreadable: logged). */
static char *token_file_read(struct ve_auth *a) {
        const char *var = a->token_file_explicit ? "VAULT_TOKEN_FILE" : "~/.vault-token";
        char *t = NULL, *err = NULL;
        int r;

        if (!a->token_file)
                return NULL;
        r = ve_auth_read_credential(a->token_file, var, &t, &err);
        if (r == -EPERM && err) {
                /* Refused (writable by others, a stranger's file): no
                 * request at all, rather than one without a token. */
                free(a->file_refused);
                a->file_refused = err;
                return NULL;
        }
        free(a->file_refused);
        a->file_refused = NULL;
        if (r == -ENOENT && !a->token_file_explicit)
                ve_debug("no token file at %s; sending no token", a->token_file);
        else if (r == -ENODATA)
                ve_debug("%s; sending no token", err ? err : "the token file is empty");
        else if (r < 0)
                ve_warn("%s; sending no token", err ? err : "cannot read the token file");
        free(err);
        return r < 0 ? NULL : t;
}

static int login(struct ve_auth *a, struct ve_auth_grant *ret, char **ret_error) {
        switch (a->cfg.method) {
        case VE_AUTH_APPROLE:
                return ve_auth_approle_login(&a->cfg, a->http, ret, ret_error);
        case VE_AUTH_KUBERNETES:
                return ve_auth_kubernetes_login(&a->cfg, a->http, ret, ret_error);
        case VE_AUTH_JWT:
                return ve_auth_jwt_login(&a->cfg, a->http, ret, ret_error);
        case VE_AUTH_CERT:
                return ve_auth_cert_login(&a->cfg, a->http, ret, ret_error);
        case VE_AUTH_TOKEN:
                break;
        }
        return -EINVAL;
}

/* After a refused login: a process outside the flight (no lock) may have
 * used up a single-use credential and written its token to the sink. 0
 * when that token serves (the login's error is dropped then). */
static int adopt_after_refusal(struct ve_auth *a, const char *old, const char *rejected, char **io_dead,
                               struct ve_auth_grant *ret, char **io_error) {
        char *why = NULL;
        int r;

        r = ve_auth_sink_adopt(a, old, rejected, false, io_dead, ret, &why);
        free(why);
        if (r < 0)
                return r;
        ve_info("%s; using the token another process wrote to VAULTENV_TOKEN_SINK %s",
                io_error && *io_error ? *io_error : "the login was refused", a->sink);
        if (io_error) {
                free(*io_error);
                *io_error = NULL;
        }
        return 0;
}

/* Runs with no lock held, by the one thread that set busy. old: the token
 * in use (may be NULL); renew: try renew-self with it first; rejected: a
 * token Vault refused. *ret_refused: set when Vault refused the login. */
static int refresh(struct ve_auth *a, const char *old, bool renew, const char *rejected,
                   struct ve_auth_grant *ret, enum source *ret_source, bool *ret_refused, char **ret_error) {
        char *err = NULL, *sink_why = NULL, *dead = NULL;
        int r = 0, fd = -1;

        if (renew) {
                r = ve_auth_renew_self(a, old, ret, &err);
                if (r == 0) {
                        ve_debug("renewed the Vault token (TTL %llus)", (unsigned long long) ret->ttl_s);
                        *ret_source = SRC_RENEWED;
                        return 0;
                }
                ve_info("%s; logging in again", err ? err : "cannot renew the Vault token");
                free(err);
                err = NULL;
        }
        if (a->sink) {
                r = ve_auth_sink_adopt(a, old, rejected, !a->no_credential, &dead, ret, &sink_why);
                if (r == 0) {
                        *ret_source = SRC_SINK;
                        goto out;
                }
                /* Another process may be logging in: wait for it, and
                 * take its token. */
                fd = ve_sink_flight_lock(a);
                if (fd >= 0) {
                        free(sink_why);
                        sink_why = NULL;
                        r = ve_auth_sink_adopt(a, old, rejected, false, &dead, ret, &sink_why);
                        if (r == 0) {
                                *ret_source = SRC_SINK;
                                goto out;
                        }
                }
        }
        if (a->no_credential) {
                /* Nothing to log in with: the sink was the only way. One
                 * line naming both, an error the user sees (as the
                 * missing secret id was without a sink), once until it
                 * changes. */
                char *m = ve_asprintf("VAULTENV_TOKEN_SINK %s %s, and %s", a->sink,
                                      sink_why ? sink_why : "holds no usable token", a->no_credential);

                ve_auth_refusal_log(m);
                ve_set_error(ret_error, m);
                /* Not -ENOENT ("no such secret" to the callers): the token
                 * is what is missing. A transport error stays one. */
                r = r == -ENOENT || r == -ENODATA || r == -ESTALE || r == -EPERM || r == -ELOOP ? -EACCES : r;
                goto out;
        }
        r = login(a, ret, ret_error);
        if (r == -EACCES && a->sink && adopt_after_refusal(a, old, rejected, &dead, ret, ret_error) == 0) {
                *ret_source = SRC_SINK;
                r = 0;
                goto out;
        }
        if (r < 0) {
                *ret_refused = r == -EACCES;
                if (r == -ENOENT && sink_why && ret_error && *ret_error) {
                        /* The credential file is gone, and the sink did
                         * not serve either: say why. */
                        char *m = ve_asprintf("%s (and VAULTENV_TOKEN_SINK %s %s)", *ret_error, a->sink, sink_why);

                        if (m) {
                                free(*ret_error);
                                *ret_error = m;
                        }
                }
                goto out;
        }
        ve_info("logged in to Vault with %s at auth/%s/login (token TTL %llus%s)",
                ve_auth_method_name(a->cfg.method), a->cfg.mount, (unsigned long long) ret->ttl_s,
                ret->renewable ? ", renewable" : "");
        if (a->sink)
                ve_sink_write(a->sink, ret->token, fd >= 0);
        *ret_source = SRC_LOGIN;
out:
        ve_sink_flight_unlock(a, fd);
        free(sink_why);
        ve_auth_secret_free(dead);
        return r;
}

/* Takes over g (its token). Called with the lock held. */
static void install(struct ve_auth *a, struct ve_auth_grant *g, enum source src, uint64_t start) {
        if (src == SRC_RENEWED)
                /* A renewal that gives back less than the token's full TTL
                 * was capped by its max TTL: the next refresh logs in. */
                a->relogin = g->ttl_s < a->full_ttl_s;
        else {
                a->source = src;
                a->full_ttl_s = g->full_ttl_s;
                a->relogin = false;
                a->owner = src == SRC_LOGIN ? getpid() : 0;
        }
        ve_auth_secret_free(a->token);
        a->token = g->token;
        g->token = NULL;
        a->renewable = g->renewable;
        a->expires_at = g->ttl_s ? start + g->ttl_s * 1000 : 0;
        a->refresh_at = g->ttl_s ? start + g->ttl_s * 1000 * 2 / 3 : 0;
        a->fail_r = 0;
        a->fail_until = 0;
        free(a->fail_msg);
        a->fail_msg = NULL;
}

static bool token_valid_locked(struct ve_auth *a, uint64_t now) {
        return a->token && (a->expires_at == 0 || now < a->expires_at);
}

static int copy_out(const char *token, char **ret_token) {
        char *t = NULL;

        if (token && !(t = strdup(token)))
                return -ENOMEM;
        *ret_token = t;
        return 0;
}

/* Token method: says once (info) where the token comes from. A
 * ~/.vault-token that `vault login` left goes to a Vault Agent as it does
 * from the vault CLI, and the agent then uses it instead of its auto-auth
 * token (use_auto_auth_token=true yields to a request's token): a surprise
 * said at the default level. Called with the lock held. */
static void say_token_source(struct ve_auth *a) {
        if (a->source_said)
                return;
        a->source_said = true;
        if (a->source == SRC_GIVEN)
                ve_info("using the Vault token from VAULT_TOKEN");
        else if (a->source == SRC_FILE && a->token_file_explicit)
                ve_info("using the Vault token from VAULT_TOKEN_FILE %s", a->token_file);
        else if (a->source == SRC_FILE) {
                ve_info("using the Vault token from ~/.vault-token (%s)", a->token_file);
                if (a->agent)
                        ve_error("~/.vault-token (%s) is sent to the Vault Agent at VAULT_AGENT_ADDR, which then "
                                 "uses it instead of its auto-auth token; remove the file, or name the token "
                                 "to use with VAULT_TOKEN_FILE", a->token_file);
        } else if (!a->file_refused)
                ve_info("no Vault token (no VAULT_TOKEN, %s (%s)): sending none%s",
                        a->token_file_explicit ? "none in VAULT_TOKEN_FILE" : "no ~/.vault-token",
                        a->token_file ? a->token_file : "no home directory",
                        a->agent ? "; the Vault Agent at VAULT_AGENT_ADDR adds its auto-auth token" : "");
}

/* Token method: the given token, or the token file's (read once; a
 * refused file is an error). Called with the lock held; releases it. */
static int token_method_get(struct ve_auth *a, char **ret_token, char **ret_error) {
        int r;

        if (!a->file_loaded) {
                a->file_loaded = true;
                a->token = token_file_read(a);
                a->source = a->token ? SRC_FILE : SRC_NONE;
        }
        say_token_source(a);
        if (a->file_refused) {
                ve_set_error(ret_error, strdup(a->file_refused));
                pthread_mutex_unlock(&a->lock);
                return -EPERM;
        }
        r = copy_out(a->token, ret_token);
        pthread_mutex_unlock(&a->lock);
        return r;
}

/* Called with the lock held. 1: this thread is to refresh (the lock still
 * held); else the lock is released and the token was handed out (0) or a
 * recent failure is repeated (-errno): a token that is not due, or one
 * that still serves while another thread refreshes or after a failure. */
static int serve_or_wait(struct ve_auth *a, char **ret_token, char **ret_error) {
        int r;

        for (;;) {
                uint64_t now = a->now();
                bool serve = a->token && (a->refresh_at == 0 || now < a->refresh_at);

                if (!serve && a->busy) {
                        /* Another thread refreshes: the current token
                         * serves until it expires. */
                        if (!token_valid_locked(a, now)) {
                                pthread_cond_wait(&a->cond, &a->lock);
                                continue;
                        }
                        serve = true;
                }
                if (!serve && a->fail_until && now < a->fail_until) {
                        /* A refresh failed a moment ago: do not hammer. */
                        if (!token_valid_locked(a, now)) {
                                ve_set_error(ret_error, a->fail_msg ? strdup(a->fail_msg) : NULL);
                                r = a->fail_r;
                                pthread_mutex_unlock(&a->lock);
                                return r;
                        }
                        serve = true;
                }
                if (!serve)
                        return 1;
                r = copy_out(a->token, ret_token);
                pthread_mutex_unlock(&a->lock);
                return r;
        }
}

/* The outcome of a refresh (r, the grant g from start on, or the error
 * err), under the lock: installed, or remembered for FAIL_HOLD_MS while the
 * current token serves, if it still can. Returns r, or 0 when the current
 * token serves. */
static int settle(struct ve_auth *a, int r, struct ve_auth_grant *g, enum source src, uint64_t start,
                  bool refused, const char *err) {
        if (r == 0) {
                install(a, g, src, start);
                return 0;
        }
        a->fail_r = r;
        free(a->fail_msg);
        a->fail_msg = err ? strdup(err) : NULL;
        a->fail_until = a->now() + FAIL_HOLD_MS;
        if (token_valid_locked(a, a->now())) {
                ve_warn("%s; using the current Vault token while it lasts",
                        err ? err : "cannot refresh the Vault token");
                return 0;
        }
        ve_auth_secret_free(a->token);
        a->token = NULL;
        a->source = SRC_NONE;
        /* One line per refused login, at the default level: the names it
         * leaves empty say it too. */
        if (refused)
                ve_error("%s", err ? err : "Vault refused the login");
        return r;
}

int ve_auth_token(struct ve_auth *a, char **ret_token, char **ret_error) {
        struct ve_auth_grant g = {};
        enum source src = SRC_NONE;
        char *old = NULL, *rejected = NULL, *err = NULL;
        uint64_t start;
        bool renew, refused = false;
        int r;

        pthread_mutex_lock(&a->lock);
        if (a->cfg.method == VE_AUTH_TOKEN)
                return token_method_get(a, ret_token, ret_error);
        r = serve_or_wait(a, ret_token, ret_error);
        if (r <= 0)
                return r;

        /* This thread refreshes. */
        start = a->now();
        renew = a->token && a->renewable && !a->relogin && token_valid_locked(a, start);
        if ((a->token && !(old = ve_auth_secret_dup(a->token))) ||
            (a->rejected && !(rejected = ve_auth_secret_dup(a->rejected)))) {
                ve_auth_secret_free(old);
                pthread_mutex_unlock(&a->lock);
                return -ENOMEM;
        }
        a->busy = true;
        pthread_mutex_unlock(&a->lock);

        r = refresh(a, old, renew, rejected, &g, &src, &refused, &err);

        pthread_mutex_lock(&a->lock);
        a->busy = false;
        pthread_cond_broadcast(&a->cond);
        r = settle(a, r, &g, src, start, refused, err);
        if (r == 0)
                r = copy_out(a->token, ret_token);
        else
                ve_set_error(ret_error, err ? strdup(err) : NULL);
        pthread_mutex_unlock(&a->lock);

        ve_auth_grant_done(&g);
        ve_auth_secret_free(old);
        ve_auth_secret_free(rejected);
        free(err);
        return r;
}

bool ve_auth_rejected(struct ve_auth *a, const char *token) {
        struct ve_auth_grant g = {};
        bool expired, changed;
        char *t;
        int r;

        pthread_mutex_lock(&a->lock);
        if (a->cfg.method == VE_AUTH_TOKEN) {
                /* VAULT_TOKEN cannot change. A token file can: a Vault Agent
                 * sink rotates it; a new token there is worth one retry. */
                changed = false;
                if (a->source != SRC_GIVEN && a->token_file) {
                        t = token_file_read(a);
                        changed = t && !streq_opt(t, a->token);
                        if (changed) {
                                ve_info("the token file %s holds a new token", a->token_file);
                                ve_auth_secret_free(a->token);
                                a->token = t;
                                a->source = SRC_FILE;
                        } else
                                ve_auth_secret_free(t);
                }
                pthread_mutex_unlock(&a->lock);
                return changed;
        }
        if (!streq_opt(a->token, token)) {
                /* Already replaced (or dropped) by another thread. */
                pthread_mutex_unlock(&a->lock);
                return true;
        }
        expired = a->expires_at && a->now() >= a->expires_at;
        pthread_mutex_unlock(&a->lock);

        /* A 403 also means "your policy does not allow this path": only a
         * token Vault no longer knows is worth a new login. */
        if (!expired) {
                r = ve_auth_lookup_self(a, token, &g, NULL);
                ve_auth_grant_done(&g);
                if (r == 0 || r != -EACCES)
                        return false;
        }

        pthread_mutex_lock(&a->lock);
        if (streq_opt(a->token, token)) {
                ve_info("Vault no longer accepts the token; logging in again");
                ve_auth_secret_free(a->rejected);
                a->rejected = a->token;
                a->token = NULL;
                a->source = SRC_NONE;
                a->fail_until = 0;
        }
        pthread_mutex_unlock(&a->lock);
        return true;
}
