/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>

#include "http.h"
#include "settings.h"

/* Where the Vault token comes from, and its life: VAULT_TOKEN, else the
 * token file (~/.vault-token), read on first use; no token at all is fine
 * (a Vault Agent may add one). Thread-safe; logs in at most once at a time.
 * A token is a secret: copies handed out are wiped by the caller
 * (ve_erase_free). */

#define VE_NO_TOKEN_HINT "set VAULT_TOKEN or write ~/.vault-token"

struct ve_auth;

/* Borrows http, which must outlive the auth. No I/O. */
int ve_auth_new(const struct ve_settings *settings, struct ve_http *http,
                struct ve_auth **ret_auth, char **ret_error);
void ve_auth_free(struct ve_auth *a);

/* The token to send: 0 and a heap copy in *ret_token, or NULL for none.
 * -errno and a message when a token was configured but cannot be had. */
int ve_auth_token(struct ve_auth *a, char **ret_token, char **ret_error);

/* Vault refused token (403). Returns true when a new token may now be had
 * (the caller retries once), false when retrying cannot help. */
bool ve_auth_rejected(struct ve_auth *a, const char *token);

void ve_auth_atfork_child(struct ve_auth *a);

/* For VAULTENV_REVOKE_ON_EXIT: revokes the token this process obtained by
 * logging in (never a token it was given). 0 or -errno. */
int ve_auth_revoke(struct ve_auth *a);
