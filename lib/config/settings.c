/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "settings.h"
#include "util.h"

/* An unset or empty variable is "not set", as for the vault CLI. */
static const char *get(ve_getenv_fn env, const char *name) {
        const char *v = env(name);
        return v && *v ? v : NULL;
}

static int dup_opt(ve_getenv_fn env, const char *name, char **ret) {
        const char *v = get(env, name);

        *ret = NULL;
        if (!v)
                return 0;
        *ret = strdup(v);
        return *ret ? 0 : -ENOMEM;
}

/* dup_opt() for a credential: a copy in memory kept out of core dumps
 * (util.h), wiped when freed. */
static int dup_secret(ve_getenv_fn env, const char *name, char **ret) {
        const char *v = get(env, name);

        *ret = NULL;
        if (!v)
                return 0;
        *ret = ve_secure_strdup(v);
        return *ret ? 0 : -ENOMEM;
}

int ve_fallback_parse(const char *s, unsigned *ret) {
        unsigned bits = 0;
        const char *p = s;

        if (!s || !*s)
                return -EINVAL;
        if (strcmp(s, "all") == 0) {
                *ret = VE_FALLBACK_ALL;
                return 0;
        }
        if (strcmp(s, "none") == 0) {
                *ret = 0;
                return 0;
        }
        for (;;) {
                size_t n = strcspn(p, ",");

                if (n == 3 && strncmp(p, "env", 3) == 0)
                        bits |= VE_FALLBACK_ENV;
                else if (n == 4 && strncmp(p, "file", 4) == 0)
                        bits |= VE_FALLBACK_FILE;
                else if (n == 7 && strncmp(p, "default", 7) == 0)
                        bits |= VE_FALLBACK_DEFAULT;
                else
                        return -EINVAL;
                if (!p[n])
                        break;
                p += n + 1;
        }
        *ret = bits;
        return 0;
}

int ve_settings_load(ve_getenv_fn env, struct ve_settings **ret_settings) {
        struct ve_settings *s;
        const char *v;
        int r;

        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;

        s->log_level = VE_LOG_ERROR;
        v = get(env, "VAULTENV_LOG");
        if (v && ve_log_level_parse(v, &s->log_level) < 0)
                ve_error("VAULTENV_LOG: unknown level \"%.32s\" (use error, warn, info or debug); using error", v);

        v = get(env, "VAULTENV_MAP");
        s->map_explicit = v != NULL;
        s->map_path = strdup(v ? v : VE_DEFAULT_MAP_PATH);
        v = get(env, "VAULTENV_SECRETS_DIR");
        s->secrets_dir = strdup(v ? v : VE_DEFAULT_SECRETS_DIR);
        v = get(env, "VAULT_ADDR");
        s->addr = strdup(v ? v : VE_DEFAULT_VAULT_ADDR);
        if (!s->map_path || !s->secrets_dir || !s->addr)
                goto oom;

        v = get(env, "VAULTENV_ON_MISSING");
        if (v) {
                if (strcmp(v, "null") == 0)
                        s->on_missing_null = true;
                else if (strcmp(v, "exit") != 0)
                        ve_error("VAULTENV_ON_MISSING: unknown value \"%.32s\" (use exit or null); using exit", v);
        }

        if ((r = dup_secret(env, "VAULT_TOKEN", &s->token)) < 0 ||
            (r = dup_opt(env, "VAULT_NAMESPACE", &s->namespace)) < 0 ||
            (r = dup_opt(env, "VAULT_CACERT", &s->cacert)) < 0 ||
            (r = dup_opt(env, "VAULT_CAPATH", &s->capath)) < 0 ||
            (r = dup_opt(env, "VAULT_CLIENT_CERT", &s->client_cert)) < 0 ||
            (r = dup_opt(env, "VAULT_CLIENT_KEY", &s->client_key)) < 0 ||
            (r = dup_opt(env, "VAULT_TLS_SERVER_NAME", &s->tls_server_name)) < 0)
                goto oom;

        /* VAULT_HTTP_PROXY is the older spelling the vault CLI still reads. */
        if ((r = dup_opt(env, "VAULT_PROXY_ADDR", &s->proxy)) < 0)
                goto oom;
        if (!s->proxy && (r = dup_opt(env, "VAULT_HTTP_PROXY", &s->proxy)) < 0)
                goto oom;

        /* VAULT_TOKEN, else VAULT_TOKEN_FILE (a Vault Agent sink), else
         * ~/.vault-token. */
        if (!s->token) {
                if ((r = dup_opt(env, "VAULT_TOKEN_FILE", &s->token_file)) < 0)
                        goto oom;
                s->token_file_explicit = s->token_file != NULL;
                v = get(env, "HOME");
                if (!s->token_file && v && !(s->token_file = ve_asprintf("%s/.vault-token", v)))
                        goto oom;
        }

        if ((r = dup_opt(env, "VAULT_AGENT_ADDR", &s->agent_addr)) < 0 ||
            (r = dup_opt(env, "VAULT_AUTH_METHOD", &s->auth_method)) < 0 ||
            (r = dup_opt(env, "VAULT_AUTH_PATH", &s->auth_path)) < 0 ||
            (r = dup_opt(env, "VAULT_AUTH_ROLE", &s->auth_role)) < 0 ||
            (r = dup_opt(env, "VAULT_ROLE_ID", &s->role_id)) < 0 ||
            (r = dup_opt(env, "VAULT_ROLE_ID_FILE", &s->role_id_file)) < 0 ||
            (r = dup_secret(env, "VAULT_SECRET_ID", &s->secret_id)) < 0 ||
            (r = dup_opt(env, "VAULT_SECRET_ID_FILE", &s->secret_id_file)) < 0 ||
            (r = dup_opt(env, "VAULT_JWT_FILE", &s->jwt_file)) < 0 ||
            (r = dup_opt(env, "VAULTENV_TOKEN_SINK", &s->token_sink)) < 0)
                goto oom;
        v = get(env, "VAULT_K8S_TOKEN_FILE");
        if (!(s->k8s_token_file = strdup(v ? v : VE_DEFAULT_K8S_TOKEN_FILE)))
                goto oom;
        if (s->auth_method && strcmp(s->auth_method, "token") != 0 && strcmp(s->auth_method, "approle") != 0 &&
            strcmp(s->auth_method, "kubernetes") != 0 && strcmp(s->auth_method, "jwt") != 0 &&
            strcmp(s->auth_method, "cert") != 0)
                ve_error("VAULT_AUTH_METHOD: unknown method \"%.32s\" (use token, approle, kubernetes, jwt or cert)",
                         s->auth_method);

        v = get(env, "VAULT_SECRET_ID_WRAPPED");
        if (v && ve_bool_parse(v, &s->secret_id_wrapped) < 0)
                ve_error("VAULT_SECRET_ID_WRAPPED: not a boolean \"%.32s\"; taking the secret id as is", v);
        v = get(env, "VAULTENV_REVOKE_ON_EXIT");
        if (v && ve_bool_parse(v, &s->revoke_on_exit) < 0)
                ve_error("VAULTENV_REVOKE_ON_EXIT: not a boolean \"%.32s\"; not revoking", v);
        v = get(env, "VAULTENV_EAGER");
        if (v && ve_bool_parse(v, &s->eager) < 0)
                ve_error("VAULTENV_EAGER: not a boolean \"%.32s\"; not eager", v);
        if ((r = dup_opt(env, "VAULTENV_INHERIT", &s->inherit)) < 0)
                goto oom;
        s->stale_max_ms = VE_DEFAULT_STALE_MAX_MS;
        v = get(env, "VAULTENV_STALE_MAX");
        if (v && ve_duration_parse(v, &s->stale_max_ms) < 0) {
                ve_error("VAULTENV_STALE_MAX: invalid duration \"%.32s\"; using 24h", v);
                s->stale_max_ms = VE_DEFAULT_STALE_MAX_MS;
        }
        s->breaker_window_ms = VE_DEFAULT_BREAKER_WINDOW_MS;
        v = get(env, "VAULTENV_BREAKER_WINDOW");
        if (v && ve_duration_parse(v, &s->breaker_window_ms) < 0) {
                ve_error("VAULTENV_BREAKER_WINDOW: invalid duration \"%.32s\"; using 30s", v);
                s->breaker_window_ms = VE_DEFAULT_BREAKER_WINDOW_MS;
        }

        v = get(env, "VAULTENV_FALLBACK");
        if (v) {
                unsigned on;

                if (ve_fallback_parse(v, &on) < 0) {
                        ve_error("VAULTENV_FALLBACK: invalid value \"%.32s\" (use all, none, or a list of env, "
                                 "file, default such as env,default); using none (Vault only)", v);
                        on = 0;
                }
                s->fallback_off = VE_FALLBACK_ALL & ~on;
        }
        v = get(env, "VAULTENV_NODUMP");
        if (v && ve_bool_parse(v, &s->nodump) < 0) {
                ve_error("VAULTENV_NODUMP: not a boolean \"%.32s\"; setting the process non-dumpable", v);
                s->nodump = true;
        }
        v = get(env, "VAULTENV_SCRUB");
        if (v && ve_bool_parse(v, &s->scrub) < 0) {
                ve_error("VAULTENV_SCRUB: not a boolean \"%.32s\"; scrubbing the credentials", v);
                s->scrub = true;
        }

        /* Relative paths are refused: the program may chdir() between
         * two records. */
        v = get(env, "VAULTENV_AUDIT");
        if (v && strcmp(v, "syslog") != 0 && v[0] != '/')
                ve_error("VAULTENV_AUDIT: \"%.64s\" is neither syslog nor an absolute file path; no audit trail", v);
        else if ((r = dup_opt(env, "VAULTENV_AUDIT", &s->audit)) < 0)
                goto oom;
        if ((r = dup_opt(env, "VAULTENV_LEARN", &s->learn)) < 0)
                goto oom;

        s->max_retries = VE_DEFAULT_MAX_RETRIES;
        v = get(env, "VAULT_MAX_RETRIES");
        if (v) {
                char *end;
                long n;

                errno = 0;
                n = strtol(v, &end, 10);
                if (errno || *end || end == v || n < 0 || n > 100)
                        ve_error("VAULT_MAX_RETRIES: not a number from 0 to 100 \"%.32s\"; using 2", v);
                else
                        s->max_retries = (unsigned) n;
        }

        v = get(env, "VAULT_SKIP_VERIFY");
        if (v && ve_bool_parse(v, &s->skip_verify) < 0)
                ve_error("VAULT_SKIP_VERIFY: not a boolean \"%.32s\"; verifying TLS certificates", v);

        s->timeout_ms = VE_DEFAULT_TIMEOUT_MS;
        v = get(env, "VAULT_CLIENT_TIMEOUT");
        if (v && (ve_duration_parse(v, &s->timeout_ms) < 0 || s->timeout_ms == 0)) {
                ve_error("VAULT_CLIENT_TIMEOUT: invalid duration \"%.32s\"; using 60s", v);
                s->timeout_ms = VE_DEFAULT_TIMEOUT_MS;
        }

        *ret_settings = s;
        return 0;
oom:
        ve_settings_free(s);
        return -ENOMEM;
}

void ve_settings_free(struct ve_settings *s) {
        if (!s)
                return;
        free(s->map_path);
        free(s->secrets_dir);
        free(s->addr);
        ve_secure_free(s->token);
        free(s->token_file);
        free(s->namespace);
        free(s->cacert);
        free(s->capath);
        free(s->client_cert);
        free(s->client_key);
        free(s->tls_server_name);
        free(s->proxy);
        free(s->agent_addr);
        free(s->auth_method);
        free(s->auth_path);
        free(s->auth_role);
        free(s->role_id);
        free(s->role_id_file);
        ve_secure_free(s->secret_id);
        free(s->secret_id_file);
        free(s->k8s_token_file);
        free(s->jwt_file);
        free(s->token_sink);
        free(s->inherit);
        free(s->audit);
        free(s->learn);
        free(s);
}
