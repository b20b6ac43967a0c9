/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>

#include "http.h"
#include "settings.h"

/* Where the Vault token comes from, and its life (doc/authentication.md):
 * VAULT_TOKEN or the token file (VAULT_TOKEN_FILE, else ~/.vault-token),
 * used as given; or a login (AppRole, Kubernetes, JWT, TLS certificate)
 * made lazily by the first ve_auth_token() call, whose TTL is tracked
 * (renewed, or logged in again, once 2/3 of it has passed). With
 * VAULTENV_TOKEN_SINK a login token is shared with later processes through
 * a 0600 file. Thread-safe; at most one login or renewal at a time, and no
 * lock is held across a request. A token is a secret: copies handed out
 * are wiped by the caller (ve_erase_free). */

#define VE_NO_TOKEN_HINT "set VAULT_TOKEN or write ~/.vault-token"

struct ve_auth;

/* Borrows http, which must outlive the auth. Chooses the method; -EINVAL
 * and a one-line message naming the missing variable when the chosen
 * method lacks an input (AppRole without a secret id but with
 * VAULTENV_TOKEN_SINK is accepted: then only the sink's token is used, and
 * ve_auth_token() fails with one line naming the sink when it cannot be).
 * No network I/O (it may look whether the Kubernetes token file exists). */
int ve_auth_new(const struct ve_settings *settings, struct ve_http *http,
                struct ve_auth **ret_auth, char **ret_error);
void ve_auth_free(struct ve_auth *a);

/* The token to send: 0 and a heap copy in *ret_token, or NULL for none.
 * May log in or renew first (the caller's thread makes the requests; other
 * threads wait or keep using a still valid token). -errno and a one-line
 * message when a login was needed and failed (-EACCES: Vault refused it;
 * a failure is remembered for a few seconds, so that a burst of lookups
 * makes one attempt). */
int ve_auth_token(struct ve_auth *a, char **ret_token, char **ret_error);

/* Vault refused token (403). Returns true when a new token may now be had
 * (the caller retries once): the token file holds a different token, or a
 * login token is no longer accepted (expired, revoked: checked with
 * lookup-self, since a 403 may just be the policy) and was dropped, so the
 * next ve_auth_token() logs in again. False when retrying cannot help. */
bool ve_auth_rejected(struct ve_auth *a, const char *token);

/* fork() handlers: prepare takes a's lock, then the refusal log's (the
 * order in which a thread may hold them); neither is held across network
 * I/O. parent releases them; child releases them and forgets a refresh in
 * flight (its thread is the parent's). a may be NULL. */
void ve_auth_atfork_prepare(struct ve_auth *a);
void ve_auth_atfork_parent(struct ve_auth *a);
void ve_auth_atfork_child(struct ve_auth *a);

/* For VAULTENV_REVOKE_ON_EXIT: revokes (auth/token/revoke-self) the token
 * this very process obtained by logging in, never a token it was given or
 * adopted from the sink, nor its parent's (after fork). The sink is removed
 * when it still holds the revoked token. 0 (also when there is nothing to
 * revoke) or -errno. */
int ve_auth_revoke(struct ve_auth *a);
