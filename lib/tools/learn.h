/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* `vaultenv learn`: which variable names a program reads.
 *
 * Recording (the shim, VAULTENV_LEARN=FILE): for each distinct name a
 * process asks getenv()/secure_getenv() for, one line "NAME\tPROGRAM\n" is
 * appended to FILE with one write(2) (O_APPEND: lines of concurrent
 * processes never interleave). Names only, never values. The helpers here
 * allocate nothing and take no lock, so that they are safe wherever getenv()
 * may be called from.
 *
 * Drafting (the CLI): the collected records become a mapping-file skeleton
 * (ve_learn_skeleton()). */

/* Dedup per process: a lock-free set of 64-bit name hashes (open
 * addressing, insert by compare-and-swap). When it is full, every name
 * counts as new (the skeleton dedups again). Zero-initialised = empty. */
#define VE_LEARN_SEEN_SLOTS 4096
struct ve_learn_seen {
        _Atomic uint64_t slot[VE_LEARN_SEEN_SLOTS];
};

/* true the first time name is added (or when the set is full). */
bool ve_learn_seen_add(struct ve_learn_seen *s, const char *name);

/* Names longer than this are not recorded. */
#define VE_LEARN_NAME_MAX 255
/* Program names are cut to this many bytes. */
#define VE_LEARN_PROGRAM_MAX 64

/* Formats the record "NAME\tPROGRAM\n" into buf. Returns its length;
 * -EINVAL when name is not a variable name a mapping can hold
 * ([A-Za-z_][A-Za-z0-9_]*, at most VE_LEARN_NAME_MAX bytes); -ENOBUFS when
 * buf is too small. Control bytes in the program name become '?'; an empty
 * or NULL program is "?". */
int ve_learn_format(const char *name, const char *program, char *buf, size_t size);

enum ve_learn_class {
        VE_LEARN_SECRET,        /* looks like a secret: _PASSWORD, _TOKEN, _SECRET, _KEY, _URL, ... */
        VE_LEARN_OTHER,         /* anything else an application may read */
        VE_LEARN_SYSTEM,        /* well known and not a secret: HOME, LANG, LC_*, PATH, LD_*, VAULT_*, ... */
};

/* Case-insensitive. SYSTEM wins over SECRET (VAULT_TOKEN is vaultenv's own,
 * never mapped). */
enum ve_learn_class ve_learn_classify(const char *name);

/* The placeholder for the Vault path in a skeleton line: a single path
 * segment, which the mapping parser rejects ("reference needs
 * MOUNT/PATH"), so that a skeleton nobody finished cannot be used. */
#define VE_LEARN_PLACEHOLDER "TODO"

/* The mapping-file skeleton for the records (len bytes of
 * "NAME\tPROGRAM\n" lines; malformed lines are skipped). command is shown
 * in the header (control bytes shown as '?'). Layout:
 *   - a header saying how to finish it;
 *   - names that look like secrets, as entries
 *     "NAME = TODO#name    # read by: prog1, prog2";
 *   - other names, as the same entries commented out ("# NAME = ...");
 *   - well-known names, listed in a comment only.
 * Sorted by name within each part; each name once. Once TODO is replaced
 * by a MOUNT/PATH the file parses. 0 and a heap string, or -ENOMEM. */
int ve_learn_skeleton(const char *records, size_t len, const char *command, char **ret_text);
