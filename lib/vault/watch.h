/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mapfile.h"
#include "vault.h"

/* Watching a mapping's secrets for changes (`vaultenv exec --on-change`).
 *
 * Every distinct KV path of the mapping (entries, template references,
 * bulk rules) is read again at each poll, concurrently
 * (ve_vault_read_many()), and reduced to a fingerprint: a 64-bit keyed
 * hash of its version, keys and values, or of its absence. The values
 * themselves are never kept. Paths pinned to a version (@N) cannot change
 * and are not read. Paths of other engines (dynamic secrets) are not read
 * either: a read would issue a new credential and lease; their values
 * change when the program's lease runs out, which the shim handles. The
 * engine is told by sys/internal/ui/mounts (its data.type), asked once per
 * path; kv1:/kv2: paths are KV without asking. */

struct ve_watch;

/* The paths of map, none read yet. 0 or -ENOMEM. v is borrowed. */
int ve_watch_new(struct ve_vault *v, const struct ve_map *map, struct ve_watch **ret_watch);
void ve_watch_free(struct ve_watch *w);

/* How many paths are watched (known after the first poll). */
size_t ve_watch_count(const struct ve_watch *w);

/* Reads every watched path once. The first poll only records the
 * fingerprints. *ret_changed: some path's fingerprint differs from the
 * last one read (a path that could not be read counts as unchanged). When
 * some reads got an answer, a path that fails is logged once (warn, naming
 * it and the reason) until it reads again (info). Returns 0 then; when no
 * read got an answer, the first error (-ECONNREFUSED, -ETIMEDOUT: Vault
 * unreachable; -EACCES...) and its message in *ret_error (heap, may be
 * NULL), for the caller to say once and back off; -ENOMEM. */
int ve_watch_poll(struct ve_watch *w, bool *ret_changed, char **ret_error);
