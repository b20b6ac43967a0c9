/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* The leases this process obtained (dynamic secrets), for
 * VAULTENV_REVOKE_ON_EXIT: each lease id with the monotonic time its lease
 * ends. vault.c adds a lease after a read and moves its end after a
 * renewal; at exit it takes the leases that are still live and revokes
 * them. Thread-safe (one mutex, never held across I/O). Lease ids are kept
 * out of messages and wiped when dropped. */

struct ve_leases;

int ve_leases_new(struct ve_leases **ret_leases);
/* Wipes and frees every id. Accepts NULL. */
void ve_leases_free(struct ve_leases *l);

/* Records lease id ending duration_s after now_ms, or moves the end of an
 * id already known. 0 or -ENOMEM. */
int ve_leases_note(struct ve_leases *l, const char *id, uint64_t duration_s, uint64_t now_ms);

/* Removes every lease and returns, in *ret_ids (a heap array of n heap
 * strings, for ve_leases_ids_free()), the ids of those not yet ended at
 * now_ms. Leases already ended are dropped: Vault has revoked them. */
int ve_leases_take_live(struct ve_leases *l, uint64_t now_ms, char ***ret_ids, size_t *ret_n);
void ve_leases_ids_free(char **ids, size_t n);

/* fork() handlers: prepare takes l's lock, parent releases it. In the
 * child the leases are the parent's to revoke, not the child's: child
 * forgets them all (the parent keeps and wipes them) and releases it. l may
 * be NULL. */
void ve_leases_atfork_prepare(struct ve_leases *l);
void ve_leases_atfork_parent(struct ve_leases *l);
void ve_leases_atfork_child(struct ve_leases *l);

/* Request bodies: {"lease_id":ID,"increment":N} for sys/leases/renew,
 * {"lease_id":ID} for sys/leases/revoke. Heap strings; NULL: out of memory. */
char *ve_lease_renew_body(const char *id, uint64_t increment_s);
char *ve_lease_revoke_body(const char *id);
