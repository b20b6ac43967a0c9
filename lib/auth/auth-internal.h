/* SPDX-License-Identifier: MIT */
#pragma once

/* Shared by the files of lib/auth and by the unit test.
 * Not part of the library's interface. Every string here that may hold a
 * secret (a secret id, a JWT, a token, a login body) is wiped before it is
 * freed (ve_erase_free). Those kept past one call (the token, the secret
 * id, the unwrap cache, a grant's token, what ve_auth_read_credential()
 * read) live in the secure arena (util.h: out of core dumps, locked), made
 * by ve_auth_secret_dup() and freed by ve_auth_secret_free(). */

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "http.h"
#include "settings.h"

enum ve_auth_method {
        VE_AUTH_TOKEN,          /* VAULT_TOKEN, else the token file, else none */
        VE_AUTH_APPROLE,
        VE_AUTH_KUBERNETES,
        VE_AUTH_JWT,
        VE_AUTH_CERT,
};

/* What a login method needs: copies of the settings, made by ve_auth_new().
 * The login methods only read it, except approle's unwrap cache, which only
 * the one thread that is logging in touches (logins are single-flight). */
struct ve_auth_config {
        enum ve_auth_method method;
        char *mount;                    /* VAULT_AUTH_PATH, else the method's name */
        char *role;                     /* VAULT_AUTH_ROLE */
        char *role_id, *role_id_file;
        char *secret_id;                /* secret (secure arena) */
        char *secret_id_file;
        bool secret_id_wrapped;
        char *k8s_token_file;
        char *jwt_file;
        bool has_sink;                  /* VAULTENV_TOKEN_SINK is set: no hint */

        /* approle, VAULT_SECRET_ID_WRAPPED: the wrapping token last
         * unwrapped and what it held, so that a re-login does not unwrap a
         * single-use wrapping token twice. Both secrets (secure arena). */
        char *unwrapped_from, *unwrapped_secret_id;
};

/* What a login, a renewal or a lookup-self gave. */
struct ve_auth_grant {
        char *token;                    /* secret (secure arena) */
        uint64_t ttl_s;                 /* 0: does not expire */
        uint64_t full_ttl_s;            /* the TTL a renewal restores (lookup-self: creation_ttl) */
        bool renewable;
};

void ve_auth_grant_done(struct ve_auth_grant *g);

/* A copy of a secret kept past the call: in the secure arena
 * (ve_secure_strdup()), or, when the arena cannot grow, on the heap (warned
 * once). NULL for NULL or on allocation failure. */
char *ve_auth_secret_dup(const char *s);
/* Frees (wiped) what ve_auth_secret_dup() gave, or any heap string. */
void ve_auth_secret_free(char *s);

const char *ve_auth_method_name(enum ve_auth_method m);

/* Decides the method from the settings (doc/authentication.md) and
 * checks that its inputs are there. -EINVAL and a one-line message naming
 * the missing variable. An AppRole secret id may be missing when
 * VAULTENV_TOKEN_SINK is set: only the sink's token is used then (a child
 * of a VAULTENV_SCRUB parent). Looks at the file system only to see whether
 * the Kubernetes token file exists (for detection). */
int ve_auth_detect(const struct ve_settings *s, enum ve_auth_method *ret_method, char **ret_error);

/* {"k1":"v1","k2":"v2",...} from n key/value pairs (NULL values are left
 * out), JSON-escaped, in one exactly sized allocation (no realloc leaves a
 * copy behind). NULL on allocation failure. The caller wipes it. */
char *ve_auth_json_object(size_t n, const char *const *kv);

/* Parses the "auth" block of a login or renew-self answer (client_token,
 * lease_duration, renewable), or with lookup=true the "data" block of
 * lookup-self (id, ttl, creation_ttl, renewable), through the checked
 * parser (ve_vault_parse_json()). 0 (the token may be NULL: absent, null or
 * ""), -ENOMEM, or -EPROTO and a one-line reason in *ret_why (may be NULL):
 * a body the checked parser refuses, no such block, a token that is not a
 * string or holds "\u0000" or a control character (never a shortened
 * token), a TTL that is not a number, renewable not a boolean. The parse
 * tree is wiped before it is freed. */
int ve_auth_parse_grant(const char *body, size_t len, bool lookup, struct ve_auth_grant *ret, char **ret_why);

/* data.KEY of an answer as a string, through the checked parser (wiped
 * tree; the copy is the caller's to wipe). 0, -ENOENT when absent, null or
 * empty, -EPROTO (refused body, not a string, "\u0000" in it), -ENOMEM;
 * -ENOENT and -EPROTO with a one-line reason in *ret_why (may be NULL). */
int ve_auth_parse_data_string(const char *body, size_t len, const char *key, char **ret_value,
                              char **ret_why);

/* Reads a credential file: whole, surrounding whitespace trimmed, at most
 * 64 KiB, into ve_auth_secret_dup() memory (free: ve_auth_secret_free()). A file readable by group or others gives a warning naming it and
 * var (not a refusal: Kubernetes secret volumes are 0644). -errno and a
 * one-line message naming the file, var and the reason; an empty file is
 * -ENODATA. */
int ve_auth_read_credential(const char *path, const char *var, char **ret_value, char **ret_error);

/* An open credential file read whole (at most 64 KiB), surrounding
 * whitespace trimmed, into ve_auth_secret_dup() memory. -ENODATA when
 * nothing is left, -EFBIG when larger. */
int ve_auth_read_fd_trimmed(int fd, char **ret_value);
/* Warns (naming path and var) when a regular file is readable by group or
 * others. */
void ve_auth_warn_mode(const char *path, const char *var, const struct stat *st);
/* A refused credential is an error the user must see (not only the
 * warning a fallback gives): logged once, until the refusal changes. The
 * lock it takes is held across fork() (ve_auth_atfork_*). */
void ve_auth_refusal_log(const char *msg);
void ve_auth_refusal_lock(void);
void ve_auth_refusal_unlock(void);

/* What a login method lacks when the credential that proves its identity
 * is given by no variable at all, or NULL (see detect.c). */
const char *ve_auth_missing_credential(const struct ve_settings *s, enum ve_auth_method m);

/* The errno for a non-2xx answer: -EACCES (400, 401, 403), -EAGAIN (429,
 * 503), else -EIO. */
int ve_auth_status_errno(long status);

/* "what at auth/MOUNT/login refused: <Vault's errors>" for a non-2xx
 * answer. */
char *ve_auth_refusal(const char *what, const struct ve_http_response *resp);

/* POSTs body to auth/<c->mount>/login without a token and parses the
 * grant. -EACCES for a refusal (400, 403...), -EPROTO for an answer without
 * a token, or the transport's -errno; each with a one-line message. */
int ve_auth_login_post(const struct ve_auth_config *c, struct ve_http *http, const char *body,
                       struct ve_auth_grant *ret, char **ret_error);

/* The login methods: each logs in (one request, approle: possibly an unwrap
 * first) and returns the grant. */
int ve_auth_approle_login(struct ve_auth_config *c, struct ve_http *http,
                          struct ve_auth_grant *ret, char **ret_error);
/* The role + JWT login both kubernetes and jwt are: the JWT read from
 * jwt_file (named var in messages) at every login. */
int ve_auth_role_jwt_login(struct ve_auth_config *c, struct ve_http *http,
                           const char *jwt_file, const char *var,
                           struct ve_auth_grant *ret, char **ret_error);
int ve_auth_kubernetes_login(struct ve_auth_config *c, struct ve_http *http,
                             struct ve_auth_grant *ret, char **ret_error);
int ve_auth_jwt_login(struct ve_auth_config *c, struct ve_http *http,
                      struct ve_auth_grant *ret, char **ret_error);
int ve_auth_cert_login(struct ve_auth_config *c, struct ve_http *http,
                       struct ve_auth_grant *ret, char **ret_error);

/* Test hook: the monotonic clock (milliseconds) used for TTLs. */
struct ve_auth;
void ve_auth_set_clock(struct ve_auth *a, uint64_t (*now_ms)(void));
/* Test hooks: the stored token, the last token Vault refused (NULL: none),
 * and the login configuration, to check where they live. No locking. */
const char *ve_auth_peek_token(struct ve_auth *a);
const char *ve_auth_peek_rejected(struct ve_auth *a);
const struct ve_auth_config *ve_auth_peek_config(struct ve_auth *a);
