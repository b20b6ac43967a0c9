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
        char *token;                    /* VAULT_TOKEN (a secret: wiped on free) */
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
};

/* Never fails on a bad value: a bad value is logged (naming the variable and
 * the reason) and its default used. -ENOMEM only. */
int ve_settings_load(ve_getenv_fn env, struct ve_settings **ret_settings);
void ve_settings_free(struct ve_settings *s);
