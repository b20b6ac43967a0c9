/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>

#include "secret.h"

/* Vault's answers, parsed: the one JSON reader every layer above uses
 * (auth, the KV client and writers), and the shapes of the answers the
 * client reads. No I/O, no state. */

/* The one way any answer of Vault is parsed (auth.c, kv_write.c and
 * vault.c too, not only the parsers below): refuses (-EPROTO) anything that
 * is not exactly one JSON value (text after it, a NUL byte), nests deeper
 * than 32 levels, or has a key twice in one object (Go's decoder would take
 * the last, cJSON's lookups take the first). A string with an escaped NUL
 * ("\u0000") is not cut there: it keeps an internal stand-in byte, so that
 * ve_vault_json_string() can refuse it. Numbers are cJSON_Number items.
 * 0 and the tree in *ret_root (free it with ve_vault_json_free()), -ENOMEM,
 * or -EPROTO and, when ret_why is not NULL, a one-line heap reason that
 * names at most a key, never a value ("malformed JSON from Vault", "key
 * \"client_token\" appears twice in one object of the answer from Vault"). */
struct cJSON;
int ve_vault_parse_json(const char *body, size_t len, struct cJSON **ret_root, char **ret_why);

/* Wipes every string and key of a cJSON tree (one of ve_vault_parse_json()
 * or one built for a request), then frees it as cJSON_Delete() does, so
 * siblings too. Accepts NULL. */
void ve_vault_json_free(struct cJSON *root);

/* obj.key of such a tree as a string: 0 and the string (inside the tree),
 * or NULL when obj is not an object, or the key is absent or null.
 * -EPROTO and "NAME in the answer from Vault is not a string" (or
 * "... contains a NUL byte") in *ret_why (may be NULL) otherwise; name is
 * how the message calls the field ("auth.client_token"). */
int ve_vault_json_string(const struct cJSON *obj, const char *key, const char *name, const char **ret,
                         char **ret_why);

/* Joined "errors" of a Vault error body ("a; b"), or NULL when the body
 * has none (or an empty list). Heap string. */
char *ve_vault_errors_text(const char *body, size_t len);

/* Parses the answer of GET /v1/sys/internal/ui/mounts/PATH: the mount path
 * ("secret/", with trailing '/') and the KV version (1 or 2; 1 when options or
 * options.version are absent, as the vault CLI does). 0 or -EPROTO. */
int ve_vault_parse_mount(const char *body, size_t len, char **ret_mount, int *ret_version);

/* Parses a 200 answer of a KV read: for version 2, data.data (and
 * data.metadata.version); for version 1 (and any other engine read as is,
 * e.g. database/creds/ROLE), data. The top-level lease_id, lease_duration
 * and renewable go to the secret's lease. 0, -ENOENT (data or data.data
 * null: deleted/destroyed), or -EPROTO with a message. */
int ve_vault_parse_kv(int kv_version, const char *body, size_t len,
                      struct ve_secret **ret_secret, char **ret_error);

/* Parses a 200 answer of PUT sys/leases/renew: lease_id, lease_duration,
 * renewable. 0, or -EPROTO with a message (also when lease_id is missing). */
int ve_vault_parse_lease(const char *body, size_t len, struct ve_lease *ret_lease, char **ret_error);
