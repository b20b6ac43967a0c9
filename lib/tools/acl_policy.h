/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "mapfile.h"

/* `vaultenv policy`: the Vault ACL policy a mapping needs and nothing more.
 * Pure: the mapping and what is known of its mounts in, the policy text
 * out (HCL with comments, or Vault's JSON form); no network, no output. */

/* What reads a path, which decides its API path and rules. */
enum ve_policy_engine {
        VE_POLICY_UNKNOWN = 0,  /* KV version not known (no kv1:/kv2:, no detection) */
        VE_POLICY_KV1,          /* read as is: GET PATH */
        VE_POLICY_KV2,          /* GET MOUNT/data/REST[?version=N] */
        VE_POLICY_DYNAMIC,      /* another engine, read as is; its answer may hold a lease */
};

/* Mount detection for a reference without kv1:/kv2: (the command asks
 * Vault). 0 and the length of "MOUNT/" in path and the engine; < 0 when
 * unknown (the path is then granted in both KV forms, with a comment). */
typedef int (*ve_policy_mount_fn)(void *userdata, const char *path, size_t *ret_mount_len,
                                  enum ve_policy_engine *ret_engine);

struct ve_policy_input {
        const struct ve_map *map;
        const char *source;             /* the mapping's name in the header; NULL: map->source */
        /* restrict to these names (vaultenv learn's output); NULL: every name */
        const char *const *learned;
        size_t n_learned;
        const char *name;               /* --name: a header naming the policy; may be NULL */
        const char *namespace;          /* VAULT_NAMESPACE: paths are relative to it; may be NULL */
        bool revoke_on_exit;            /* VAULTENV_REVOKE_ON_EXIT: leases are revoked at exit */
        bool json;                      /* Vault's JSON policy form instead of HCL */
        ve_policy_mount_fn mount;       /* NULL: offline */
        void *userdata;
};

/* The policy for in. 0 and a heap string (ends in a newline), with
 * *ret_n_paths the number of path rules (0: nothing to grant); -EINVAL and
 * a one-line heap message in *ret_error when a path cannot be granted
 * exactly (a '"', '\\' or control byte, a '+' segment or a trailing '*',
 * which Vault reads as wildcards); -ENOMEM. */
int ve_policy_generate(const struct ve_policy_input *in, char **ret_text, size_t *ret_n_paths,
                       char **ret_error);

/* The names in the output of `vaultenv learn` (text, len bytes): entries
 * and commented-out entries ("NAME = ..." / "# NAME = ..."), the names
 * listed after "# Also read", and lines holding only a name. Each name
 * once. 0 and a heap array of heap strings (ve_policy_names_free()), or
 * -ENOMEM. */
int ve_policy_learned_parse(const char *text, size_t len, char ***ret_names, size_t *ret_n);
void ve_policy_names_free(char **names, size_t n);
