/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The pass-through: musl's getenv, over an explicit environment block.
 * An empty name or a name containing '=' gives NULL (as musl; glibc would
 * match "A=B" against "A=B=C"), and so does a NULL name (glibc crashes).
 * No allocation, no lock, no system call, no initialisation: safe from a
 * signal handler, before any constructor, and inside the shim's own work. */
char *ve_envscan(char **envp, const char *name);

/* The rest of an entry whose first two bytes are name's (for a one-byte
 * name: name[0] and '='): its value when it is name's entry, else NULL. A
 * name with a '=' matches nothing. s is never read past its NUL: each byte
 * read follows one equal to a non-NUL byte of name. */
static inline char *ve_envscan_rest(const char *s, const char *name) {
        size_t i;

        if (name[1] == '\0')
                return (char *) s + 2;
        /* four bytes per iteration: one taken branch per four bytes */
        for (i = 2;; i += 4) {
#pragma GCC unroll 4
                for (unsigned k = 0; k < 4; k++) {
                        unsigned char c = (unsigned char) name[i + k];

                        if (c == '\0' || c == '=' || c != (unsigned char) s[i + k])
                                return name[i + k] == '\0' && s[i + k] == '=' ? (char *) s + i + k + 1 : NULL;
                }
        }
}

/* ve_envscan(), inline, for the shim's getenv() hot path. As glibc, an
 * entry is rejected on its first two bytes, compared inline (the second
 * only when the first matched, so never past an entry's NUL); the rest of
 * the name is compared only in the (few) entries that start alike, and
 * no strlen() of the name is needed. Four entries per iteration: one taken
 * branch per four entries, and a speed that depends less on how the loop
 * happens to be aligned. */
static inline char *ve_envscan_inline(char **envp, const char *name) {
        unsigned char c0, c1;

        if (!envp || !name)
                return NULL;
        c0 = (unsigned char) name[0];
        if (c0 == '\0' || c0 == '=')
                return NULL;
        c1 = (unsigned char) name[1];
        if (c1 == '=')
                return NULL;
        if (c1 == '\0')
                c1 = '=';
        for (;; envp += 4) {
#pragma GCC unroll 4
                for (unsigned k = 0; k < 4; k++) {
                        const char *s = envp[k];
                        char *v;

                        if (!s)
                                return NULL;
                        if (__builtin_expect((unsigned char) s[0] == c0, 0) && (unsigned char) s[1] == c1 &&
                            (v = ve_envscan_rest(s, name)))
                                return v;
                }
        }
}

/* A fast reject, before any hashing, of the names that nothing in a mapping
 * can map: one bit per pair of first two bytes, each taken modulo 64
 * (ASCII letters, digits and '_' stay apart, but for 'p'..'y' and '0'..'9'),
 * set for every mapped name and bulk prefix (a one-byte prefix sets the
 * whole row of its first byte; a one-byte name pairs with its NUL). 512
 * bytes, one load and one bit test, sharing the two bytes the environment
 * scan compares. No false negatives: a mapped name, or a name a bulk rule
 * may map, always passes; a name that passes may still be unmapped (the
 * name table says). */
struct ve_name_filter {
        uint64_t bits[64 * 64 / 64];
};

/* The bit of the pair (c0, c1). */
static inline unsigned ve_name_filter_index(unsigned char c0, unsigned char c1) {
        return (c0 & 63u) << 6 | (c1 & 63u);
}

/* false: name is certainly not mapped. name must not be NULL. */
static inline bool ve_name_filter_may_match(const struct ve_name_filter *f, const char *name) {
        unsigned char c0 = (unsigned char) name[0];
        unsigned b = ve_name_filter_index(c0, __builtin_expect(c0 != '\0', 1) ? (unsigned char) name[1] : 0);

        return (f->bits[b / 64] >> (b % 64)) & 1;
}

/* Building one (zero-initialised: matches nothing). */
void ve_name_filter_add_name(struct ve_name_filter *f, const char *name);
void ve_name_filter_add_prefix(struct ve_name_filter *f, const char *prefix);

/* How lib/ reads the environment: the shim passes its pass-through, the CLI
 * uses libc's getenv, unit tests pass a fake. */
typedef const char *(*ve_getenv_fn)(const char *name);
