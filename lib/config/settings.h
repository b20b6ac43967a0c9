/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "envscan.h"
#include "log.h"

#define VE_DEFAULT_MAP_PATH "/etc/vaultenv/vaultenv.map"
#define VE_DEFAULT_SECRETS_DIR "/run/secrets"
#define VE_DEFAULT_VAULT_ADDR "https://127.0.0.1:8200"
#define VE_DEFAULT_TIMEOUT_MS (60 * 1000)
#define VE_EX_CONFIG 78

/* Everything vaultenv reads from the environment, read once. The Vault
 * variables have the meanings the `vault` CLI gives them. Strings are heap
 * copies or NULL when unset/empty. */
struct ve_settings {
        /* vaultenv's own */
        char *map_path;                 /* VAULTENV_MAP, else VE_DEFAULT_MAP_PATH */
        bool map_explicit;              /* VAULTENV_MAP was set */
        enum ve_log_level log_level;    /* VAULTENV_LOG, default error */
        bool on_missing_null;           /* VAULTENV_ON_MISSING=null */
        char *secrets_dir;              /* VAULTENV_SECRETS_DIR, else /run/secrets */

        /* Vault */
        char *addr;                     /* VAULT_ADDR, else VE_DEFAULT_VAULT_ADDR */
        char *token;                    /* VAULT_TOKEN (a secret: ve_secure_strdup(), util.h) */
        char *token_file;               /* $HOME/.vault-token, read lazily when token is NULL */
        char *namespace;                /* VAULT_NAMESPACE */
        char *cacert;                   /* VAULT_CACERT */
        char *capath;                   /* VAULT_CAPATH */
        char *client_cert;              /* VAULT_CLIENT_CERT */
        char *client_key;               /* VAULT_CLIENT_KEY */
        bool skip_verify;               /* VAULT_SKIP_VERIFY */
        char *tls_server_name;          /* VAULT_TLS_SERVER_NAME */
        uint64_t timeout_ms;            /* VAULT_CLIENT_TIMEOUT, default 60 s */
        char *proxy;                    /* VAULT_PROXY_ADDR or VAULT_HTTP_PROXY; else no proxy */

        /* Vault: agent, retries, authentication, the login token's life */
        char *agent_addr;               /* VAULT_AGENT_ADDR: wins over addr; http(s):// or unix:///path */
        unsigned max_retries;           /* VAULT_MAX_RETRIES, default 2 (as the official client) */
        bool token_file_explicit;       /* token_file came from VAULT_TOKEN_FILE */
        char *auth_method;              /* VAULT_AUTH_METHOD: token|approle|kubernetes|jwt|cert; NULL: detect */
        char *auth_path;                /* VAULT_AUTH_PATH: mount of the auth method; NULL: the method's name */
        char *auth_role;                /* VAULT_AUTH_ROLE: role for kubernetes, jwt, cert (cert: certificate name) */
        char *role_id;                  /* VAULT_ROLE_ID */
        char *role_id_file;             /* VAULT_ROLE_ID_FILE */
        char *secret_id;                /* VAULT_SECRET_ID (a secret: ve_secure_strdup(), util.h) */
        char *secret_id_file;           /* VAULT_SECRET_ID_FILE */
        bool secret_id_wrapped;         /* VAULT_SECRET_ID_WRAPPED: the secret id is a response-wrapping token */
        char *k8s_token_file;           /* VAULT_K8S_TOKEN_FILE, default the service-account token path */
        char *jwt_file;                 /* VAULT_JWT_FILE */
        char *token_sink;               /* VAULTENV_TOKEN_SINK: where a login token is shared with children */
        bool revoke_on_exit;            /* VAULTENV_REVOKE_ON_EXIT */

        /* Resolution: eager names, children, stale values, the breaker */
        bool eager;                     /* VAULTENV_EAGER: every mapped name is eager */
        bool prefetch;                  /* VAULTENV_PREFETCH: the first lookup reads every path of
                                         * the mapping at once */
        char *inherit;                  /* VAULTENV_INHERIT: "NAME,NAME" passed on to exec'ed children */
        uint64_t stale_max_ms;          /* VAULTENV_STALE_MAX: how long a stale value may be served */
        uint64_t breaker_window_ms;     /* VAULTENV_BREAKER_WINDOW: how long an unreachable Vault is not
                                         * asked again (http.h); 0, the zero value: never skipped */

        /* Audit trail */
        char *audit;                    /* VAULTENV_AUDIT: "syslog" or an absolute file path (audit.h);
                                         * NULL: no audit trail (also after a bad value) */

        /* Fallback chain, process hardening, learning mode */
        unsigned fallback_off;          /* VAULTENV_FALLBACK: the VE_FALLBACK_* steps taken out of the
                                         * chain (0, the zero value: all steps; so a hand-made
                                         * settings struct keeps the whole chain) */
        bool nodump;                    /* VAULTENV_NODUMP: PR_SET_DUMPABLE 0 in the shim */
        bool scrub;                     /* VAULTENV_SCRUB: VAULT_TOKEN / VAULT_SECRET_ID wiped from the
                                         * environment once read */
        char *learn;                    /* VAULTENV_LEARN: the file `vaultenv learn` collects names in;
                                         * set: the shim records names and resolves nothing (the
                                         * shim checks it before it loads the settings) */
};

/* VAULTENV_FALLBACK: "all" (default), "none" (fail closed: Vault or
 * nothing), or a comma list of env, file, default: the steps after Vault
 * that a mapped name may use (resolve.h). A bad value is logged and taken
 * as "none": a mistyped fail-closed setting must not open. */
#define VE_FALLBACK_ENV     (1u << 0)
#define VE_FALLBACK_FILE    (1u << 1)
#define VE_FALLBACK_DEFAULT (1u << 2)
#define VE_FALLBACK_ALL     (VE_FALLBACK_ENV | VE_FALLBACK_FILE | VE_FALLBACK_DEFAULT)
/* 0 and the bits, or -EINVAL. */
int ve_fallback_parse(const char *s, unsigned *ret);

#define VE_DEFAULT_STALE_MAX_MS (24ULL * 3600 * 1000)
#define VE_DEFAULT_BREAKER_WINDOW_MS (30ULL * 1000)

#define VE_DEFAULT_MAX_RETRIES 2
#define VE_DEFAULT_K8S_TOKEN_FILE "/var/run/secrets/kubernetes.io/serviceaccount/token"

/* Never fails on a bad value: a bad value is logged (naming the variable and
 * the reason) and its default used. -ENOMEM only. */
int ve_settings_load(ve_getenv_fn env, struct ve_settings **ret_settings);
void ve_settings_free(struct ve_settings *s);
