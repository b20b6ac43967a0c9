/* SPDX-License-Identifier: MIT */
#pragma once

/* Shared by the files of the Vault client (vault.c, read_many.c) only:
 * the client's state, and the parts of a read that vault.c gives
 * read_many.c. Locking as vault.c says: v->lock guards the mount cache
 * only, never across a request. */

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "http.h"
#include "vault.h"

struct mount {
        char *prefix;           /* "secret/", as the ref paths start */
        int version;            /* 1 or 2 */
};

struct ve_vault {
        struct ve_http *http;
        struct ve_auth *auth;
        struct ve_leases *leases;       /* every lease obtained, for ve_vault_at_exit() */

        pthread_mutex_t lock;
        struct mount *mounts;   /* guarded by lock */
        size_t n_mounts;
};

/* One request with the current token (a 403 to a token the auth layer can
 * replace is retried once). As ve_vault_request(). */
int vault_request(struct ve_vault *v, const char *method, const char *api_path, const char *body,
                  const char *user_path, struct ve_http_response *ret, bool *ret_sent_token, char **ret_error);

/* The mount cache: the longest cached mount path starts with (false: none);
 * remembering one (out of memory only loses the caching). */
bool vault_mount_lookup(struct ve_vault *v, const char *path, size_t *ret_len, int *ret_version);
void vault_mount_remember(struct ve_vault *v, const char *path, size_t len, int version);
/* Length of "MOUNT/" when the mount is the first segment of path. */
size_t vault_first_segment_len(const char *path);

/* What an answer of GET sys/internal/ui/mounts/PATH says: 0 with the mount
 * (remembered) and its KV version; 1 and the reason (heap) when it tells
 * nothing (the reads find out themselves: vault_read_fallback()); -ENOMEM. */
int vault_mount_answer(struct ve_vault *v, const char *path, const struct ve_http_response *resp,
                       size_t *ret_mount_len, int *ret_version, char **ret_reason);

/* The API path of a KV read of path on a mount of mount_len bytes. */
char *vault_kv_api_path(const char *path, size_t mount_len, int version, unsigned long ref_version);
/* An answer to a KV read: the secret on 200, else the -errno and message. */
int vault_kv_result(const char *path, int version, unsigned long ref_version,
                    const struct ve_http_response *resp, bool sent_token,
                    struct ve_secret **ret_secret, char **ret_error);
/* -EINVAL naming the reference: a version asked of a mount not KV v2. */
int vault_not_versioned(const char *path, unsigned long ref_version, size_t mount_len, char **ret_error);
/* One KV read with the mount known (mount_len 0: KV v1 as given). */
int vault_read_version(struct ve_vault *v, const char *path, size_t mount_len, int version,
                       unsigned long ref_version, struct ve_secret **ret_secret, char **ret_error);
/* The reads themselves find out the KV version when detection told
 * nothing (reason says why, logged at info). */
int vault_read_fallback(struct ve_vault *v, const char *path, unsigned long ref_version, const char *reason,
                        struct ve_secret **ret_secret, char **ret_error);
/* After a successful read of ref: its lease (if any) is noted for
 * ve_vault_at_exit(). */
void vault_read_done(struct ve_vault *v, const struct ve_ref *ref, const struct ve_secret *s);
