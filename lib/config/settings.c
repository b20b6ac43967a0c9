/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stddef.h>
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

#define FIELD(f) offsetof(struct ve_settings, f)
#define AT(s, off, type) ((type *) (void *) ((char *) (s) + (off)))

/* Variables copied as they are (unset or empty: NULL). VAULT_TOKEN and
 * VAULT_SECRET_ID are credentials: kept out of core dumps (util.h). */
static const struct {
        const char *name;
        size_t field;
        bool secret;
} strings[] = {
        { "VAULT_TOKEN", FIELD(token), true },
        { "VAULT_NAMESPACE", FIELD(namespace), false },
        { "VAULT_CACERT", FIELD(cacert), false },
        { "VAULT_CAPATH", FIELD(capath), false },
        { "VAULT_CLIENT_CERT", FIELD(client_cert), false },
        { "VAULT_CLIENT_KEY", FIELD(client_key), false },
        { "VAULT_TLS_SERVER_NAME", FIELD(tls_server_name), false },
        { "VAULT_AGENT_ADDR", FIELD(agent_addr), false },
        { "VAULT_AUTH_METHOD", FIELD(auth_method), false },
        { "VAULT_AUTH_PATH", FIELD(auth_path), false },
        { "VAULT_AUTH_ROLE", FIELD(auth_role), false },
        { "VAULT_ROLE_ID", FIELD(role_id), false },
        { "VAULT_ROLE_ID_FILE", FIELD(role_id_file), false },
        { "VAULT_SECRET_ID", FIELD(secret_id), true },
        { "VAULT_SECRET_ID_FILE", FIELD(secret_id_file), false },
        { "VAULT_JWT_FILE", FIELD(jwt_file), false },
        { "VAULTENV_TOKEN_SINK", FIELD(token_sink), false },
        { "VAULTENV_INHERIT", FIELD(inherit), false },
        { "VAULTENV_LEARN", FIELD(learn), false },
};

/* Booleans: a value that is not one gives an error naming it and what is
 * done instead (otherwise, the setting's value then). */
static const struct {
        const char *name;
        size_t field;
        bool otherwise;
        const char *instead;
} booleans[] = {
        { "VAULT_SECRET_ID_WRAPPED", FIELD(secret_id_wrapped), false, "taking the secret id as is" },
        { "VAULTENV_REVOKE_ON_EXIT", FIELD(revoke_on_exit), false, "not revoking" },
        { "VAULTENV_EAGER", FIELD(eager), false, "not eager" },
        { "VAULTENV_PREFETCH", FIELD(prefetch), false, "not prefetching" },
        { "VAULTENV_NODUMP", FIELD(nodump), true, "setting the process non-dumpable" },
        { "VAULTENV_SCRUB", FIELD(scrub), true, "scrubbing the credentials" },
        { "VAULT_SKIP_VERIFY", FIELD(skip_verify), false, "verifying TLS certificates" },
};

/* Durations, with their default (also taken for an invalid value). */
static const struct {
        const char *name;
        size_t field;
        uint64_t default_ms;
        bool zero_ok;
        const char *shown;
} durations[] = {
        { "VAULTENV_STALE_MAX", FIELD(stale_max_ms), VE_DEFAULT_STALE_MAX_MS, true, "24h" },
        { "VAULTENV_BREAKER_WINDOW", FIELD(breaker_window_ms), VE_DEFAULT_BREAKER_WINDOW_MS, true, "30s" },
        { "VAULT_CLIENT_TIMEOUT", FIELD(timeout_ms), VE_DEFAULT_TIMEOUT_MS, false, "60s" },
};

static int load_tables(ve_getenv_fn env, struct ve_settings *s) {
        for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
                char **f = AT(s, strings[i].field, char *);
                int r = strings[i].secret ? dup_secret(env, strings[i].name, f) : dup_opt(env, strings[i].name, f);

                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < sizeof booleans / sizeof booleans[0]; i++) {
                const char *v = get(env, booleans[i].name);
                bool *f = AT(s, booleans[i].field, bool);

                if (v && ve_bool_parse(v, f) < 0) {
                        ve_error("%s: not a boolean \"%.32s\"; %s", booleans[i].name, v, booleans[i].instead);
                        *f = booleans[i].otherwise;
                }
        }
        for (size_t i = 0; i < sizeof durations / sizeof durations[0]; i++) {
                const char *v = get(env, durations[i].name);
                uint64_t *f = AT(s, durations[i].field, uint64_t);

                *f = durations[i].default_ms;
                if (v && (ve_duration_parse(v, f) < 0 || (*f == 0 && !durations[i].zero_ok))) {
                        ve_error("%s: invalid duration \"%.32s\"; using %s", durations[i].name, v,
                                 durations[i].shown);
                        *f = durations[i].default_ms;
                }
        }
        return 0;
}

/* The settings with a default, or taken from another variable when unset. */
static int load_defaults(ve_getenv_fn env, struct ve_settings *s) {
        const char *v;

        v = get(env, "VAULTENV_MAP");
        s->map_explicit = v != NULL;
        s->map_path = strdup(v ? v : VE_DEFAULT_MAP_PATH);
        v = get(env, "VAULTENV_SECRETS_DIR");
        s->secrets_dir = strdup(v ? v : VE_DEFAULT_SECRETS_DIR);
        v = get(env, "VAULT_ADDR");
        s->addr = strdup(v ? v : VE_DEFAULT_VAULT_ADDR);
        v = get(env, "VAULT_K8S_TOKEN_FILE");
        s->k8s_token_file = strdup(v ? v : VE_DEFAULT_K8S_TOKEN_FILE);
        if (!s->map_path || !s->secrets_dir || !s->addr || !s->k8s_token_file)
                return -ENOMEM;

        /* VAULT_HTTP_PROXY is the older spelling the vault CLI still reads. */
        if (!s->proxy && dup_opt(env, "VAULT_PROXY_ADDR", &s->proxy) < 0)
                return -ENOMEM;
        if (!s->proxy && dup_opt(env, "VAULT_HTTP_PROXY", &s->proxy) < 0)
                return -ENOMEM;

        /* VAULT_TOKEN, else VAULT_TOKEN_FILE (a Vault Agent sink), else
         * ~/.vault-token. */
        if (!s->token) {
                if (dup_opt(env, "VAULT_TOKEN_FILE", &s->token_file) < 0)
                        return -ENOMEM;
                s->token_file_explicit = s->token_file != NULL;
                v = get(env, "HOME");
                if (!s->token_file && v && !(s->token_file = ve_asprintf("%s/.vault-token", v)))
                        return -ENOMEM;
        }
        return 0;
}

/* The settings whose value is checked against a list or a range. */
static int load_checked(ve_getenv_fn env, struct ve_settings *s) {
        const char *v;

        v = get(env, "VAULTENV_ON_MISSING");
        if (v) {
                if (strcmp(v, "null") == 0)
                        s->on_missing_null = true;
                else if (strcmp(v, "exit") != 0)
                        ve_error("VAULTENV_ON_MISSING: unknown value \"%.32s\" (use exit or null); using exit", v);
        }

        if (s->auth_method && strcmp(s->auth_method, "token") != 0 && strcmp(s->auth_method, "approle") != 0 &&
            strcmp(s->auth_method, "kubernetes") != 0 && strcmp(s->auth_method, "jwt") != 0 &&
            strcmp(s->auth_method, "cert") != 0)
                ve_error("VAULT_AUTH_METHOD: unknown method \"%.32s\" (use token, approle, kubernetes, jwt or cert)",
                         s->auth_method);

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

        /* Relative paths are refused: the program may chdir() between
         * two records. */
        v = get(env, "VAULTENV_AUDIT");
        if (v && strcmp(v, "syslog") != 0 && v[0] != '/')
                ve_error("VAULTENV_AUDIT: \"%.64s\" is neither syslog nor an absolute file path; no audit trail", v);
        else if (dup_opt(env, "VAULTENV_AUDIT", &s->audit) < 0)
                return -ENOMEM;

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
        return 0;
}

int ve_settings_load(ve_getenv_fn env, struct ve_settings **ret_settings) {
        struct ve_settings *s;
        const char *v;

        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;

        s->log_level = VE_LOG_ERROR;
        v = get(env, "VAULTENV_LOG");
        if (v && ve_log_level_parse(v, &s->log_level) < 0)
                ve_error("VAULTENV_LOG: unknown level \"%.32s\" (use error, warn, info or debug); using error", v);

        if (load_tables(env, s) < 0 || load_defaults(env, s) < 0 || load_checked(env, s) < 0) {
                ve_settings_free(s);
                return -ENOMEM;
        }
        *ret_settings = s;
        return 0;
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
