/* SPDX-License-Identifier: MIT */
/* lib/envscan: the inline environment scan against a plain musl-style
 * reference, and the fast-reject name filter (no false negatives). The
 * environment entries and names are heap copies of their exact size, so
 * that the sanitizer build catches any read past a NUL. */
#include "unit.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envscan.h"

/* musl's getenv, the semantics promised. */
static char *reference_scan(char **envp, const char *name) {
        size_t l;

        if (!envp || !name)
                return NULL;
        l = strchrnul(name, '=') - name;
        if (l == 0 || name[l] != '\0')
                return NULL;
        for (; *envp; envp++)
                if (strncmp(name, *envp, l) == 0 && (*envp)[l] == '=')
                        return *envp + l + 1;
        return NULL;
}

static unsigned long long rng_state = 0x9E3779B97F4A7C15ULL;

static unsigned rnd(unsigned n) {
        rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
        return (unsigned) ((rng_state >> 33) % n);
}

/* A random string over a small alphabet (so that prefixes collide often),
 * of 0..max bytes, in a heap block of exactly its size. */
static char *rnd_string(const char *alphabet, unsigned max) {
        unsigned n = rnd(max + 1), a = (unsigned) strlen(alphabet);
        char *s = malloc(n + 1);

        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        for (unsigned i = 0; i < n; i++)
                s[i] = alphabet[rnd(a)];
        s[n] = '\0';
        return s;
}

static void test_scan_cases(void) {
        char *env[] = { "A=1", "AB=2", "EMPTY=", "X=y=z", "A=shadowed", "", "NOEQUALS", "=lead", "ABC", "Q=", NULL };
        char *empty[] = { NULL };

        CU_ASSERT_STRING_EQUAL(ve_envscan_inline(env, "A"), "1");
        CU_ASSERT_STRING_EQUAL(ve_envscan_inline(env, "AB"), "2");
        CU_ASSERT_STRING_EQUAL(ve_envscan_inline(env, "EMPTY"), "");
        CU_ASSERT_STRING_EQUAL(ve_envscan_inline(env, "X"), "y=z");
        CU_ASSERT_STRING_EQUAL(ve_envscan_inline(env, "Q"), "");
        CU_ASSERT_PTR_NULL(ve_envscan_inline(env, "ABC"));
        CU_ASSERT_PTR_NULL(ve_envscan_inline(env, "NOEQUALS"));
        CU_ASSERT_PTR_NULL(ve_envscan_inline(env, "NOEQUAL"));
        CU_ASSERT_PTR_NULL(ve_envscan_inline(env, "EMPTYX"));
        CU_ASSERT_PTR_NULL(ve_envscan_inline(env, "a"));
        CU_ASSERT_PTR_NULL(ve_envscan_inline(env, ""));
        CU_ASSERT_PTR_NULL(ve_envscan_inline(env, "X=y"));
        CU_ASSERT_PTR_NULL(ve_envscan_inline(env, "A=1"));
        CU_ASSERT_PTR_NULL(ve_envscan_inline(env, "AB=2"));
        CU_ASSERT_PTR_NULL(ve_envscan_inline(env, "="));
        CU_ASSERT_PTR_NULL(ve_envscan_inline(env, "=lead"));
        CU_ASSERT_PTR_NULL(ve_envscan_inline(env, NULL));
        CU_ASSERT_PTR_NULL(ve_envscan_inline(NULL, "A"));
        CU_ASSERT_PTR_NULL(ve_envscan_inline(empty, "A"));
        /* every length of environment modulo the unrolling */
        for (size_t n = 0; n < 9; n++) {
                char *e[10];

                for (size_t i = 0; i < n; i++)
                        e[i] = i == n - 1 ? "LAST=x" : "OTHER=y";
                e[n] = NULL;
                CU_ASSERT_PTR_EQUAL(ve_envscan_inline(e, "LAST"), n ? e[n - 1] + 5 : NULL);
                CU_ASSERT_PTR_NULL(ve_envscan_inline(e, "ABSENT"));
        }
}

/* 400 random environments (up to max_entries entries over env_chars, up
 * to env_len bytes each), each looked up with 50 random names (over
 * name_chars, up to name_len) and with each entry's own name, which is
 * often present: the inline scan and ve_envscan() agree with musl's
 * getenv on every one. */
static void scan_rounds(unsigned max_entries, const char *env_chars, unsigned env_len, const char *name_chars,
                        unsigned name_len) {
        for (int round = 0; round < 400; round++) {
                unsigned n = rnd(max_entries);
                char **env = calloc(n + 1, sizeof *env);

                CU_ASSERT_PTR_NOT_NULL_FATAL(env);
                for (unsigned i = 0; i < n; i++)
                        env[i] = rnd_string(env_chars, env_len);
                for (int q = 0; q < 50; q++) {
                        char *name = rnd_string(name_chars, name_len);

                        CU_ASSERT_PTR_EQUAL(ve_envscan_inline(env, name), reference_scan(env, name));
                        CU_ASSERT_PTR_EQUAL(ve_envscan(env, name), reference_scan(env, name));
                        free(name);
                }
                for (unsigned i = 0; i < n; i++) {
                        const char *eq = strchr(env[i], '=');
                        char *name = eq ? strndup(env[i], (size_t) (eq - env[i])) : strdup(env[i]);

                        CU_ASSERT_PTR_NOT_NULL_FATAL(name);
                        CU_ASSERT_PTR_EQUAL(ve_envscan_inline(env, name), reference_scan(env, name));
                        free(name);
                }
                for (unsigned i = 0; i < n; i++)
                        free(env[i]);
                free(env);
        }
}

/* Short names over "AB=_". */
static void test_scan_random(void) {
        scan_rounds(12, "AB=_", 7, "AB=_", 5);
}

/* Long names with long common prefixes (over "AAB=": mostly 'A'), so
 * that the compare of the rest runs over several of its unrolled rounds
 * and stops at every position. */
static void test_scan_random_long(void) {
        scan_rounds(10, "AAAAB=", 16, "AAAAAB=", 14);
}

static const char name_start[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_";
static const char name_rest[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_0123456789";

/* A random valid variable name of 1..max bytes (heap). */
static char *rnd_name(unsigned max) {
        char *tail = rnd_string(name_rest, max - 1), *s = malloc(strlen(tail) + 2);

        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        s[0] = name_start[rnd(sizeof name_start - 1)];
        strcpy(s + 1, tail);
        free(tail);
        return s;
}

static void test_filter_empty(void) {
        struct ve_name_filter f = { 0 };

        for (int i = 0; i < 1000; i++) {
                char *name = rnd_string(name_rest, 12);

                CU_ASSERT_FALSE(ve_name_filter_may_match(&f, name));
                free(name);
        }
}

/* No false negatives: every name added passes, and so does every name a
 * bulk prefix may map (the prefix and at least one more byte, any byte);
 * most other names are rejected. */
static void test_filter_no_false_negatives(void) {
        for (int round = 0; round < 200; round++) {
                struct ve_name_filter f = { 0 };
                unsigned n_names = 1 + rnd(40), n_prefixes = rnd(3), passed = 0, tried = 0;
                char *names[40], *prefixes[3];

                for (unsigned i = 0; i < n_names; i++) {
                        names[i] = rnd_name(1 + rnd(24));
                        ve_name_filter_add_name(&f, names[i]);
                }
                for (unsigned i = 0; i < n_prefixes; i++) {
                        prefixes[i] = rnd_name(1 + rnd(6));
                        ve_name_filter_add_prefix(&f, prefixes[i]);
                }
                for (unsigned i = 0; i < n_names; i++)
                        CU_ASSERT_TRUE(ve_name_filter_may_match(&f, names[i]));
                for (unsigned i = 0; i < n_prefixes; i++)
                        for (int k = 0; k < 20; k++) {
                                char *tail = rnd_string(name_rest, 10), *s;

                                CU_ASSERT_PTR_NOT_NULL_FATAL(tail);
                                s = malloc(strlen(prefixes[i]) + strlen(tail) + 2);
                                CU_ASSERT_PTR_NOT_NULL_FATAL(s);
                                /* at least one byte after the prefix, even an odd one */
                                sprintf(s, "%s%c%s", prefixes[i], k == 0 ? '-' : name_rest[rnd(sizeof name_rest - 1)],
                                        tail);
                                CU_ASSERT_TRUE(ve_name_filter_may_match(&f, s));
                                free(s);
                                free(tail);
                        }
                /* the false-positive rate stays low with few names */
                if (n_prefixes == 0 && n_names <= 10) {
                        for (int k = 0; k < 200; k++) {
                                char *s = rnd_name(12);

                                passed += ve_name_filter_may_match(&f, s);
                                tried++;
                                free(s);
                        }
                        CU_ASSERT(passed * 4 < tried);
                }
                for (unsigned i = 0; i < n_names; i++)
                        free(names[i]);
                for (unsigned i = 0; i < n_prefixes; i++)
                        free(prefixes[i]);
        }
}

static void test_filter_short_names(void) {
        struct ve_name_filter f = { 0 };

        ve_name_filter_add_name(&f, "A");
        CU_ASSERT_TRUE(ve_name_filter_may_match(&f, "A"));
        CU_ASSERT_FALSE(ve_name_filter_may_match(&f, "B"));
        CU_ASSERT_FALSE(ve_name_filter_may_match(&f, "AB"));
        ve_name_filter_add_prefix(&f, "Z");     /* every name Z + something */
        CU_ASSERT_TRUE(ve_name_filter_may_match(&f, "ZA"));
        CU_ASSERT_TRUE(ve_name_filter_may_match(&f, "Z_9"));
        CU_ASSERT_TRUE(ve_name_filter_may_match(&f, "Zz"));
        CU_ASSERT_FALSE(ve_name_filter_may_match(&f, "YA"));
        ve_name_filter_add_prefix(&f, "DB_");
        CU_ASSERT_TRUE(ve_name_filter_may_match(&f, "DB_PASSWORD"));
        CU_ASSERT_FALSE(ve_name_filter_may_match(&f, "HOME"));
        CU_ASSERT_FALSE(ve_name_filter_may_match(&f, ""));
}

int main(void) {
        static const struct unit_test tests[] = {
                { "scan: cases", test_scan_cases },
                { "scan: random, as musl", test_scan_random },
                { "scan: long common prefixes, as musl", test_scan_random_long },
                { "filter: empty rejects all", test_filter_empty },
                { "filter: no false negatives", test_filter_no_false_negatives },
                { "filter: short names and prefixes", test_filter_short_names },
                { NULL, NULL },
        };
        static const struct unit_suite suite = { "envscan", tests };

        return unit_run(&suite, 1);
}
