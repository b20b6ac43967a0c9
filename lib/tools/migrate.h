/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "dotenv.h"
#include "secret.h"

/* The plan of `vaultenv migrate`: which entries of a .env file are secrets,
 * where they go in Vault, the mapping file that serves them back, and the
 * .env without them. Pure: the Vault write is ve_kv_put() (kv_write.h) and
 * the files are written by ve_write_file_atomic().
 *
 * A name is sensitive when (case-insensitively)
 *   - it ends with one of VE_MIGRATE_SUFFIXES after a '_' (DB_PASSWORD,
 *     STRIPE_API_KEY), or is one of them on its own (PASSWORD, TOKEN; not
 *     PWD or PASS, which are shell variables or too vague), or
 *   - its value is a URL with a password in its user info
 *     (scheme://user:pass@host..., scheme://:pass@host), or
 *   - it matches a user --pattern (fnmatch(3) glob, case-sensitive).
 * A sensitive entry is moved unless its value is empty (nothing to hide)
 * or uses ${...}/$NAME expansion (Vault would serve the text unexpanded);
 * those stay in the .env and the plan says why.
 *
 * All moved names go to ONE KV secret, MOUNT/PREFIX, as keys named like
 * the variables: the shim then reads them in one request. A name that
 * repeats in the .env moves with its last value (as dotenv loaders read it). */

#define VE_MIGRATE_SUFFIXES "KEY", "SECRET", "PASSWORD", "PASSWD", "PASS", "PWD", "TOKEN", "CREDENTIALS", "CREDENTIAL"

enum ve_migrate_reason {
        VE_MIGRATE_NOT_SENSITIVE = 0,
        VE_MIGRATE_SUFFIX,              /* detail: the suffix, "PASSWORD" */
        VE_MIGRATE_URL_PASSWORD,        /* detail: NULL */
        VE_MIGRATE_PATTERN,             /* detail: the pattern */
};

enum ve_migrate_action {
        VE_MIGRATE_MOVE,
        VE_MIGRATE_KEEP_EMPTY,
        VE_MIGRATE_KEEP_EXPANDS,
};

/* Whether value is scheme://[user]:password@host... with a non-empty password. */
bool ve_url_has_password(const char *value);

/* Why name (with value, may be NULL) is sensitive; *ret_detail (may be
 * NULL) points into a static string or into patterns. */
enum ve_migrate_reason ve_migrate_classify(const char *name, const char *value, char *const *patterns,
                                           size_t n_patterns, const char **ret_detail);

struct ve_migrate_options {
        const char *mount;              /* "secret" */
        const char *prefix;             /* "app" or "team/app" */
        char *const *patterns;
        size_t n_patterns;
        const char *source;             /* the .env's name, for comments */
        const char *map_name;           /* the mapping file's name, for comments */
};

struct ve_migrate_item {
        char *name;
        enum ve_migrate_reason reason;
        char *detail;                   /* a copy, or NULL */
        enum ve_migrate_action action;
};

struct ve_migrate_plan {
        char *path;                     /* "secret/app": the one KV secret */
        size_t n;                       /* sensitive names (unique, first-seen order) */
        struct ve_migrate_item *items;
        size_t n_moved;
        struct ve_secret *values;       /* the moved names and values (wiped when freed) */
        char *map_text;                 /* the mapping file (checked with ve_map_parse) */
        char *env_text;                 /* the .env without moved values (wiped when freed) */
};

/* 0 and the plan (n_moved may be 0), -ENOMEM, or -EINVAL with a message
 * when mount or prefix do not make a valid reference. */
int ve_migrate_plan(const struct ve_dotenv *d, const struct ve_migrate_options *o,
                    struct ve_migrate_plan **ret_plan, char **ret_error);
void ve_migrate_plan_free(struct ve_migrate_plan *p);

/* The plan as text for people (--dry-run): every sensitive name, where it
 * goes or why it stays, never a byte or the length of a value. */
char *ve_migrate_plan_text(const struct ve_migrate_plan *p, const char *env_path, const char *map_path);

/* Writes text to path through a temporary file in the same directory
 * (fsync, then rename), so readers see the old or the new file, never
 * half of one. replace=false refuses (-EEXIST) when path exists. mode:
 * the new file's permissions. -errno with a message naming path. */
int ve_write_file_atomic(const char *path, const char *text, size_t len, mode_t mode, bool replace,
                         char **ret_error);
