/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>

#include "mapfile.h"

/* References in the environment: a variable whose value starts with
 * "vault:" names a Vault secret, and the shim serves the secret instead of
 * that text, with or without a mapping file:
 *
 *     DB_PASSWORD=vault:secret/app/db#password        (mapping-file grammar)
 *     DB_PASSWORD=vault:secret/data/app/db#password   (KV v2 API form)
 *     DB_PASSWORD=vault:kv2:secret/app/db#password@3  (forced KV v2, version 3)
 *
 * After "vault:" comes a reference in the grammar of ve_ref_parse(). One
 * more form is accepted, the KV v2 API path that other injectors use:
 * without a kv1:/kv2: prefix, a reference whose SECOND segment is "data"
 * and that has at least three segments means KV v2, mount = the first
 * segment, path = the rest without "data": "secret/data/app/db" is
 * kv2:secret/app/db. (For a KV v1 path that really is MOUNT/data/..., write
 * vault:kv1:MOUNT/data/...; for a KV v2 mount with a '/' in its name, write
 * vault:kv2:MOUNT/PATH.)
 *
 * Escape: a value starting with "vault::" is not a reference but the
 * literal text with one ':' fewer: "vault::x" is served as "vault:x",
 * "vault:::x" as "vault::x". (No reference can start with ':', so the
 * escape is unambiguous.) */

#define VE_REFERENCE_PREFIX "vault:"
#define VE_REFERENCE_PREFIX_LEN 6

/* Whether value is a reference or an escaped literal (starts with "vault:").
 * Cheap: one prefix compare, no allocation; NULL gives false. */
bool ve_value_is_reference(const char *value);

/* Parses a value for which ve_value_is_reference() is true.
 * Returns 0 and *ret_ref (to ve_ref_done()) for a reference; 1 and
 * *ret_literal (heap, the unescaped text; wipe it) for an escaped literal;
 * -EINVAL and a one-line heap message in *ret_error (naming the reference,
 * quoted and cut, never more) for a malformed one; -ENOMEM. */
int ve_reference_parse(const char *value, struct ve_ref *ret_ref, char **ret_literal, char **ret_error);
