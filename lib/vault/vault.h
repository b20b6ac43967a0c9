/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mapfile.h"
#include "secret.h"
#include "settings.h"
#include "vault_json.h"

/* The Vault client: one libcurl easy handle per client, reused (keep-alive),
 * serialised by a mutex so any thread may call in. The KV version of each
 * mount is detected once (GET /v1/sys/internal/ui/mounts/PATH) and cached.
 *
 * Errors are -errno with a one-line heap message in *ret_error naming the
 * path and the reason, never a value or a token:
 *   -EACCES       403: permission denied on PATH (or no/invalid token)
 *   -ENOENT       404: no secret at PATH (also: deleted/destroyed version)
 *   -EAGAIN       503: Vault is sealed or unavailable; 429 rate limited
 *   -ECONNREFUSED Vault cannot be reached (refused, DNS)
 *   -EINVAL       a bad VAULT_ADDR (not http/https), server name, namespace
 *   -ETIMEDOUT    VAULT_CLIENT_TIMEOUT passed
 *   -EPROTO       TLS failure (bad certificate...) or a malformed response
 *   -EIO          any other status
 */

struct ve_vault;

/* Copies what it needs from settings. Does no I/O. */
int ve_vault_new(const struct ve_settings *settings, struct ve_vault **ret_vault, char **ret_error);
void ve_vault_free(struct ve_vault *v);

/* Reads every key at ref->path (ref->key is not looked at) in one secret
 * request (plus a one-time mount detection for VE_KV_AUTO mounts).
 * ref->version > 0 reads that KV v2 version (?version=N): -EINVAL naming
 * the reference when the mount is not KV v2; -ENOENT "PATH: version N is
 * deleted" (or destroyed), or "PATH: no version N". A mount of another
 * engine (database, aws, ...) is read as is (GET PATH), and its answer's
 * lease is in the secret and remembered for ve_vault_at_exit(). */
int ve_vault_read(struct ve_vault *v, const struct ve_ref *ref,
                  struct ve_secret **ret_secret, char **ret_error);

/* Reads every calls[i].ref concurrently (read_many.c; struct ve_read_call
 * is ref.h's): the token first (one login when one is needed), then one
 * batch of mount detections (one per first segment not cached, for
 * VE_KV_AUTO refs; a mount nested deeper may take a second batch), then
 * one batch of reads, at most VE_HTTP_PARALLEL_MAX in flight (http.h).
 * Each outcome is as ve_vault_read()'s, leases noted the same; one failing
 * fails no other. Refs should be distinct paths (one read each). Rare
 * cases take the sequential path (a detection that tells nothing, a
 * refused login token). Every call's r is set; 0, or -EINVAL. */
int ve_vault_read_many(struct ve_vault *v, struct ve_read_call *calls, size_t n);
/* Frees the calls' secrets and messages (not the array). */
void ve_vault_read_calls_done(struct ve_read_call *calls, size_t n);

/* Renews a lease (PUT sys/leases/renew {lease_id, increment}) obtained
 * by ve_vault_read() of ref. 0 and the lease Vault gives back (its
 * duration may be shorter than increment_s: the lease's max TTL), or
 * -errno and a message naming ref->path (never the lease id). */
int ve_vault_renew(struct ve_vault *v, const struct ve_ref *ref, const char *lease_id, uint64_t increment_s,
                   struct ve_lease *ret_lease, char **ret_error);

/* Revokes (PUT sys/leases/revoke) every lease this client obtained that
 * has not yet run out, and forgets them. Failures are logged as warnings;
 * returns 0 or the last -errno. */
int ve_vault_revoke_leases(struct ve_vault *v);

/* For VAULTENV_REVOKE_ON_EXIT: ve_vault_revoke_leases(), then the token
 * this client obtained by logging in (ve_auth_revoke()). 0 or -errno. */
int ve_vault_at_exit(struct ve_vault *v);

/* fork() handlers for every lock of the client, in one fixed order: the
 * auth layer's (then the refusal log's), the mount cache's, libcurl's
 * global init's and the HTTP handle's, the leases'. None is held across network I/O. prepare takes
 * them, parent releases them; child releases them, abandons (does not
 * clean up) the inherited handle and connection, which the parent still
 * uses, and forgets the parent's leases. v may be NULL. */
void ve_vault_atfork_prepare(struct ve_vault *v);
void ve_vault_atfork_parent(struct ve_vault *v);
void ve_vault_atfork_child(struct ve_vault *v);

/* ---- for the KV writers (kv_write.c): the same request path, mount cache
 * and error mapping as the reads ---- */

struct ve_http_response;

/* One request with the client's token (a 403 to a token the auth layer can
 * renew by logging in again is retried once). *ret_sent_token (may be NULL)
 * says whether a token went out. Same errors as ve_http_request(). */
int ve_vault_request(struct ve_vault *v, const char *method, const char *api_path, const char *body,
                     const char *user_path, struct ve_http_response *ret, bool *ret_sent_token,
                     char **ret_error);

/* The -errno and one-line message for an answer that is not a success,
 * as the reads map them (403 -EACCES, 404 -ENOENT, 503/429 -EAGAIN, ...).
 * what names the thing in the message. */
int ve_vault_status_error(const char *what, const struct ve_http_response *resp, bool sent_token,
                          char **ret_error);

/* The mount that path lies in and its KV version (1 or 2), as the reads
 * detect it (GET sys/internal/ui/mounts/PATH, cached; a 404 there means a
 * Vault without the endpoint: the first segment, KV v1). *ret_mount_len
 * counts "MOUNT/" with its '/'. -errno and a message naming path when
 * detection fails (denied, sealed...). The engine type is not checked:
 * a write to a mount of another engine fails with Vault's answer. */
/* The length of the mount Vault named (sys/internal/ui/mounts' data.path)
 * in path: with a namespace Vault may name it with the namespace in front,
 * so leading segments are dropped until it is a prefix of path (as the vault
 * CLI's addPrefixToKVPath). 0 when it never is. */
size_t ve_vault_mount_len_in_path(const char *path, const char *mount);

int ve_vault_mount(struct ve_vault *v, const char *path, size_t *ret_mount_len, int *ret_version,
                   char **ret_error);
