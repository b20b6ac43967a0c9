/* SPDX-License-Identifier: MIT */
#pragma once

/* A reference to a Vault secret, "[kv1:|kv2:]MOUNT/PATH[#KEY][@VERSION]":
 * the grammar the mapping file, templates and "vault:" values share. */

#define VE_REF_DEFAULT_KEY "value"

enum ve_kv_version {
        VE_KV_AUTO = 0,         /* detect through sys/internal/ui/mounts */
        VE_KV_1 = 1,            /* forced with "kv1:" */
        VE_KV_2 = 2,            /* forced with "kv2:" */
};

struct ve_ref {
        enum ve_kv_version kv;
        char *path;             /* "secret/app/db": mount and path as `vault kv get` takes
                                 * them, no "/data/", no leading or trailing '/',
                                 * no empty, "." or ".." segment, at least two segments */
        char *key;              /* "url"; VE_REF_DEFAULT_KEY when the reference has no '#' */
        unsigned long version;  /* KV v2 version from a trailing "@N" (1..VE_REF_VERSION_MAX);
                                 * 0: the latest */
};

#define VE_REF_VERSION_MAX 2147483647UL

struct ve_secret;

/* One read of a batch of paths (the resolver's source, ve_vault_read_many()):
 * ref in (borrowed), and the outcome a single read of it would give: r
 * (0 or -errno), and the secret or a one-line message (heap, may be NULL). */
struct ve_read_call {
        const struct ve_ref *ref;
        int r;
        struct ve_secret *secret;
        char *error;
};

/* Parses one reference "[kv1:|kv2:]MOUNT/PATH[#KEY][@VERSION]" (already
 * unquoted). The reference ends in a version when the text after its last
 * '@' is empty or an optionally signed run of ASCII digits; that text must
 * then be a positive decimal integer without leading zeros, at most
 * VE_REF_VERSION_MAX, and kv1: does not take one. Anything else after the
 * last '@' is part of the key (or path).
 * On error returns -EINVAL and a heap message without position, e.g.
 * "reference needs MOUNT/PATH: \"secret\"". */
int ve_ref_parse(const char *s, struct ve_ref *ret_ref, char **ret_error);
void ve_ref_done(struct ve_ref *ref);
