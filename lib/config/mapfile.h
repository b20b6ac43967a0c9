/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "names.h"
#include "ref.h"

struct ve_template;

/* The mapping file: which environment variable names come from which Vault
 * secret. One entry a line:
 *
 *     NAME = [kv1:|kv2:]MOUNT/PATH[#KEY][@VERSION]  [required] [default=VALUE] [ttl=DURATION] [eager] [inherit]
 *     NAME = "text {{REF [| urlencode]}} text"  [options as above]     (a template: template.h)
 *     PREFIX* = [kv1:|kv2:]MOUNT/PATH#*[@VERSION]  [ttl=DURATION]     (bulk: every key at the path)
 *     prefetch                                       (a directive: the first lookup reads every path)
 *
 * Parsing is all or nothing: any error rejects the whole file, and the error
 * reads "FILE:LINE:COL: message". See doc/vaultenv.map.5.in. */

#define VE_MAP_MAX_SIZE (1024 * 1024)

struct ve_map_entry {
        char *name;             /* [A-Za-z_][A-Za-z0-9_]* */
        struct ve_ref ref;
        bool required;
        char *default_value;    /* NULL: no default= option */
        uint64_t ttl_ms;        /* 0: no ttl= option (fetched once per process) */
        bool eager;             /* "eager": resolved before main and put in the environment */
        bool inherit;           /* "inherit": an eager value is passed on to exec'ed children */
        struct ve_template *tmpl; /* a template (template.h); NULL for a plain reference. For a
                                 * template, ref is a copy of its first reference (for messages) */
        unsigned line;          /* 1-based line in the file, for messages */
};

/* "PREFIX* = MOUNT/PATH#*": every key at the path, as PREFIX + the key
 * upper-cased with each byte outside [A-Za-z0-9_] replaced by '_'
 * (ve_bulk_name_matches()). Prefixes of two rules never overlap (neither is
 * a prefix of the other); an explicit entry wins over a rule. */
struct ve_map_bulk {
        char *prefix;           /* non-empty, [A-Za-z_][A-Za-z0-9_]* */
        struct ve_ref ref;      /* key is "*" */
        uint64_t ttl_ms;
        unsigned line;
};

struct ve_map {
        char *source;           /* the name used in messages (the path) */
        struct ve_map_entry *entries;
        size_t n_entries;
        struct ve_map_bulk *bulk;
        size_t n_bulk;
        bool prefetch;          /* the "prefetch" directive: the first lookup reads every
                                 * path of the mapping at once (resolve.h) */
};

/* Parses text (len bytes, need not be NUL-terminated; an embedded NUL is an
 * error). source names the file in messages. On error returns -EINVAL (or
 * -ENOMEM) and, when ret_error is not NULL, a heap string
 * "source:line:col: message" (no trailing newline). */
int ve_map_parse(const char *source, const char *text, size_t len,
                 struct ve_map **ret_map, char **ret_error);

/* Reads and parses a file. -ENOENT when it does not exist (ret_error then
 * says so too); other read failures give -errno and "path: reason". */
int ve_map_load(const char *path, struct ve_map **ret_map, char **ret_error);

/* NULL when absent. Linear; callers build their own index. */
const struct ve_map_entry *ve_map_find(const struct ve_map *map, const char *name);

void ve_map_free(struct ve_map *map);
