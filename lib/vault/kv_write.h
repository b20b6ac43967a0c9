/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "http.h"
#include "secret.h"
#include "vault.h"

/* Writing KV secrets, for `vaultenv migrate` and `vaultenv rotate`: a
 * read-modify-write of one path.
 *
 *   KV v2: GET MOUNT/data/PATH (the current data and version), then
 *          POST MOUNT/data/PATH {"data":{...},"options":{"cas":VERSION}}:
 *          Vault takes the write only if VERSION is still the current one
 *          (check-and-set; 0 = the path has no version yet), and answers
 *          200 {"data":{"version":NEW,...}}.
 *   KV v1: GET MOUNT/PATH, then POST MOUNT/PATH {...} (204). KV v1 has no
 *          check-and-set: a write that lands in between is overwritten.
 *
 * Keys not being written keep their value and their JSON type (a number
 * stays a number, written back exactly as Vault gave it). Values written
 * are JSON strings. Every body and tree that held a value is wiped.
 *
 * Errors are -errno with a one-line message naming PATH (never a value):
 *   -ESTALE       400 "check-and-set parameter did not match the current
 *                 version": someone wrote PATH after it was read
 *   -EEXIST       VE_KV_PUT_CREATE and PATH holds a secret
 *   -ENOENT       VE_KV_PUT_REPLACE and PATH (or one of the keys) is missing
 *   -EOPNOTSUPP   require_v2 and the mount is KV v1
 *   and those of ve_vault_read() (-EACCES, -EAGAIN, -EIO, ...). */

enum ve_kv_put_mode {
        VE_KV_PUT_CREATE,       /* PATH must hold no live secret */
        VE_KV_PUT_MERGE,        /* other keys kept; the given keys set (new or not) */
        VE_KV_PUT_REPLACE,      /* PATH and every given key must exist (rotate) */
};

/* Detects PATH's mount (ve_vault_mount), reads PATH, merges values into
 * what is there per mode, and writes it back (with cas = the version read
 * on KV v2). 0 and, in *ret_version (may be NULL), the version written (0
 * on KV v1) and in *ret_kv_version (may be NULL) the mount's KV version. */
int ve_kv_put(struct ve_vault *v, const char *path, const struct ve_secret *values,
              enum ve_kv_put_mode mode, bool require_v2,
              long *ret_version, int *ret_kv_version, char **ret_error);

/* Reads PATH back (version `version` on KV v2) and checks that each key of
 * expected is there with exactly that string value. 0, or -EIO "PATH: KEY
 * read back differs from what was written" (no value), or a read error. */
int ve_kv_verify(struct ve_vault *v, const char *path, long version, const struct ve_secret *expected,
                 char **ret_error);

/* ---- the pure parts, exposed for unit tests ---- */

/* The API paths: "MOUNT/data/REST" (v2) or PATH (v1). mount_len counts
 * "MOUNT/". NULL on -ENOMEM. */
char *ve_kv_data_path(const char *path, size_t mount_len, int kv_version);

/* From the answer to the GET of PATH (status 200 or 404; others are the
 * caller's), the body to write and the cas to send (v2; -1 on v1). */
int ve_kv_build_write(const char *path, int kv_version, const struct ve_http_response *current,
                      const struct ve_secret *values, enum ve_kv_put_mode mode,
                      char **ret_body, long *ret_cas, char **ret_error);

/* The result of the write request: 0 and the new version (v2: data.version
 * of the 200 answer; v1: 0 on 200/204), or the errors above. cas: what was
 * sent, for the message. */
int ve_kv_write_result(const char *path, int kv_version, long cas, const struct ve_http_response *resp,
                       bool sent_token, long *ret_version, char **ret_error);

/* Compares a 200 read answer with expected (see ve_kv_verify()). */
int ve_kv_check_readback(const char *path, int kv_version, const struct ve_http_response *resp,
                         const struct ve_secret *expected, char **ret_error);
