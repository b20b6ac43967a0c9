/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ve_template;

/* The mapping file: which environment variable names come from which Vault
 * secret. One entry a line:
 *
 *     NAME = [kv1:|kv2:]MOUNT/PATH[#KEY][@VERSION]  [required] [default=VALUE] [ttl=DURATION] [eager] [inherit]
 *     NAME = "text {{REF [| urlencode]}} text"  [options as above]     (a template: template.h)
 *     PREFIX* = [kv1:|kv2:]MOUNT/PATH#*[@VERSION]  [ttl=DURATION]     (bulk: every key at the path)
 *
 * Parsing is all or nothing: any error rejects the whole file, and the error
 * reads "FILE:LINE:COL: message". See doc/vaultenv.map.5. */

#define VE_MAP_MAX_SIZE (1024 * 1024)
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
};

/* Whether name is reserved: one of vaultenv's own configuration names
 * (VAULT_*, VAULTENV_*), or a name the shim passes through to the real
 * environment because libraries read it during the shim's own work (every
 * name ending in MALLOC_CONF, SSLKEYLOGFILE). Never mapped: the parser
 * refuses such a name, and a bulk prefix that could give a VAULT_* or
 * VAULTENV_* name, with FILE:LINE:COL; a bulk rule never serves a reserved
 * name (the resolver leaves it to the environment). */
bool ve_name_reserved(const char *name);

/* The names the shim passes through (shim/preload/shim.c), defined once here so
 * that the parser refuses exactly those. An allocator's configuration:
 * every name ending in MALLOC_CONF (jemalloc reads MALLOC_CONF, or with its
 * prefix _RJEM_MALLOC_CONF, JE_MALLOC_CONF..., under its init lock, often
 * before the shim can answer). And SSLKEYLOGFILE: libcurl and OpenSSL would
 * write the TLS keys of the shim's own connections to the file it names.
 * Both false for NULL; neither allocates nor takes a lock (the shim calls
 * them before it is initialised). */
#define VE_KEY_LOG_NAME "SSLKEYLOGFILE"
bool ve_name_allocator_config(const char *name);
bool ve_name_key_log(const char *name);

/* Whether key, under the bulk name rule, gives name_suffix (the name with
 * the rule's prefix taken off). */
bool ve_bulk_name_matches(const char *key, const char *name_suffix);

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

/* POSIX portable name check used for mapped names. */
bool ve_name_valid(const char *name);
