/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A Vault lease: what a dynamic secret (database/creds/ROLE, aws/creds/...)
 * comes with. lease_id is not a credential by itself (using it needs a
 * token) but is still kept out of messages and wiped when freed. */
struct ve_lease {
        char *lease_id;         /* NULL or "": not leased */
        uint64_t duration_s;    /* lease_duration: seconds from the answer */
        bool renewable;
};

/* Every key of one Vault path, from one response. Values are owned and are
 * wiped when freed. A non-string JSON value is kept as its compact JSON text
 * ("true", "5432", "{\"a\":1}"); a JSON null is kept as a missing key. */
struct ve_secret {
        size_t n;
        char **keys;
        char **values;
        long version;           /* KV v2 version; 0 for KV v1 */
        struct ve_lease lease;  /* the answer's lease (a dynamic secret); lease_id NULL when none */
};

/* Whether s carries a lease that can run out: a non-empty lease_id and a
 * lease_duration above zero. (A KV v1 secret with a "ttl" key has a
 * lease_duration but no lease_id: not a lease.) */
bool ve_secret_leased(const struct ve_secret *s);

/* Wipes and frees lease_id; leaves the struct zeroed. Accepts NULL. */
void ve_lease_done(struct ve_lease *l);

struct ve_secret *ve_secret_new(void);
/* Copies key and value. 0 or -ENOMEM. A repeated key replaces the earlier one. */
int ve_secret_add(struct ve_secret *s, const char *key, const char *value);
/* NULL when the key is absent. */
const char *ve_secret_get(const struct ve_secret *s, const char *key);
void ve_secret_free(struct ve_secret *s);
