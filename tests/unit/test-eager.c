/* SPDX-License-Identifier: MIT */
#include "unit.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eager.h"
#include "mapfile.h"

static void test_list_has(void) {
        CU_ASSERT_TRUE(ve_eager_list_has("A", "A"));
        CU_ASSERT_TRUE(ve_eager_list_has("A,B", "B"));
        CU_ASSERT_TRUE(ve_eager_list_has(" A , B ,C", "B"));
        CU_ASSERT_TRUE(ve_eager_list_has(" A , B ,C", "C"));
        CU_ASSERT_TRUE(ve_eager_list_has(",,A,,", "A"));
        CU_ASSERT_TRUE(ve_eager_list_has("\tPGPASSWORD\t", "PGPASSWORD"));
        /* prefixes, suffixes and empty items do not match */
        CU_ASSERT_FALSE(ve_eager_list_has("AB", "A"));
        CU_ASSERT_FALSE(ve_eager_list_has("A", "AB"));
        CU_ASSERT_FALSE(ve_eager_list_has("XA,AX", "A"));
        CU_ASSERT_FALSE(ve_eager_list_has("A B", "A"));
        CU_ASSERT_FALSE(ve_eager_list_has(",,", "A"));
        CU_ASSERT_FALSE(ve_eager_list_has("", "A"));
        CU_ASSERT_FALSE(ve_eager_list_has("a", "A"));          /* names are case-sensitive */
        CU_ASSERT_FALSE(ve_eager_list_has("A", ""));
        CU_ASSERT_FALSE(ve_eager_list_has(",", ""));
        CU_ASSERT_FALSE(ve_eager_list_has(NULL, "A"));
        CU_ASSERT_FALSE(ve_eager_list_has("A", NULL));
}

static void test_entry_flags(void) {
        struct ve_map *map = NULL;
        const char text[] =
                "PLAIN = secret/app/db#a\n"
                "EAGER = secret/app/db#b eager\n"
                "INHERIT = secret/app/db#c inherit\n"
                "LISTED = secret/app/db#d\n";
        const struct ve_map_entry *plain, *eager, *inherit, *listed;

        CU_ASSERT_EQUAL_FATAL(ve_map_parse("t.map", text, sizeof text - 1, &map, NULL), 0);
        plain = ve_map_find(map, "PLAIN");
        eager = ve_map_find(map, "EAGER");
        inherit = ve_map_find(map, "INHERIT");
        listed = ve_map_find(map, "LISTED");
        CU_ASSERT_FATAL(plain && eager && inherit && listed);

        CU_ASSERT_FALSE(ve_eager_entry_wanted(plain, false, NULL));
        CU_ASSERT_TRUE(ve_eager_entry_wanted(plain, true, NULL));       /* VAULTENV_EAGER=1 */
        CU_ASSERT_TRUE(ve_eager_entry_wanted(eager, false, NULL));
        CU_ASSERT_TRUE(ve_eager_entry_wanted(inherit, false, NULL));    /* inherit implies eager */
        CU_ASSERT_FALSE(ve_eager_entry_wanted(listed, false, "PLAIN,OTHER"));
        CU_ASSERT_TRUE(ve_eager_entry_wanted(listed, false, "OTHER, LISTED"));

        CU_ASSERT_FALSE(ve_eager_entry_inherits(plain, NULL));
        CU_ASSERT_FALSE(ve_eager_entry_inherits(eager, "PLAIN"));
        CU_ASSERT_TRUE(ve_eager_entry_inherits(inherit, NULL));
        CU_ASSERT_TRUE(ve_eager_entry_inherits(listed, "LISTED"));
        ve_map_free(map);
}

static void test_env_count(void) {
        char *env[] = { "A=1", "B=2", NULL };
        char *empty[] = { NULL };

        CU_ASSERT_EQUAL(ve_eager_env_count(env), 2);
        CU_ASSERT_EQUAL(ve_eager_env_count(empty), 0);
        CU_ASSERT_EQUAL(ve_eager_env_count(NULL), 0);
}

/* Compares a NULL-terminated list with the expected entries. */
static int env_equal(char **got, char *const *want) {
        size_t i;

        for (i = 0; got[i] && want[i]; i++)
                if (strcmp(got[i], want[i]) != 0)
                        return 0;
        return !got[i] && !want[i];
}

static void test_strip(void) {
        const struct ve_eager_var vars[] = {
                { .name = "PGPASSWORD", .value = "fake-pw" },
                { .name = "TOKEN", .value = "fake-token" },
        };
        char *env[] = { "PATH=/bin", "PGPASSWORD=fake-pw", "PGPASSWORDX=fake-pw", "TOKEN=fake-token",
                        "LD_PRELOAD=/lib/libvaultenv.so", NULL };
        char *want[] = { "PATH=/bin", "PGPASSWORDX=fake-pw", "LD_PRELOAD=/lib/libvaultenv.so", NULL };
        char *out[8];

        memset(out, 0xaa, sizeof out);
        CU_ASSERT_TRUE(ve_eager_strip(env, vars, 2, out));
        CU_ASSERT_TRUE(env_equal(out, want));
        /* the entries are envp's own pointers, in order */
        CU_ASSERT_PTR_EQUAL(out[0], env[0]);
        CU_ASSERT_PTR_EQUAL(out[1], env[2]);
        CU_ASSERT_PTR_EQUAL(out[2], env[4]);
}

static void test_strip_changed_value_stays(void) {
        /* the program set PGPASSWORD itself: its value, not the injected one */
        const struct ve_eager_var vars[] = { { .name = "PGPASSWORD", .value = "fake-pw" } };
        char *env[] = { "PGPASSWORD=fake-pw-changed", "A=1", NULL };
        char *prefix[] = { "PGPASSWORD=fake-p", NULL };
        char *empty[] = { "PGPASSWORD=", NULL };
        char *out[4];

        CU_ASSERT_FALSE(ve_eager_strip(env, vars, 1, out));
        CU_ASSERT_TRUE(env_equal(out, env));
        CU_ASSERT_FALSE(ve_eager_strip(prefix, vars, 1, out));
        CU_ASSERT_TRUE(env_equal(out, prefix));
        CU_ASSERT_FALSE(ve_eager_strip(empty, vars, 1, out));
        CU_ASSERT_TRUE(env_equal(out, empty));
}

static void test_strip_inherit(void) {
        const struct ve_eager_var vars[] = {
                { .name = "GO_SECRET", .value = "fake-go", .inherit = true },
                { .name = "OTHER", .value = "fake-other" },
        };
        char *env[] = { "GO_SECRET=fake-go", "OTHER=fake-other", NULL };
        char *want[] = { "GO_SECRET=fake-go", NULL };
        char *out[4];

        CU_ASSERT_TRUE(ve_eager_strip(env, vars, 2, out));
        CU_ASSERT_TRUE(env_equal(out, want));
}

static void test_strip_original_restored(void) {
        /* the process started with PGPASSWORD=fake-from-env; the shim
         * replaced it with Vault's value: the child gets the original */
        const struct ve_eager_var vars[] = {
                { .name = "PGPASSWORD", .value = "fake-vault", .original = "PGPASSWORD=fake-from-env" },
        };
        char *env[] = { "A=1", "PGPASSWORD=fake-vault", "B=2", NULL };
        char *want[] = { "A=1", "PGPASSWORD=fake-from-env", "B=2", NULL };
        char *out[4];

        CU_ASSERT_TRUE(ve_eager_strip(env, vars, 1, out));
        CU_ASSERT_TRUE(env_equal(out, want));
        CU_ASSERT_PTR_EQUAL(out[1], vars[0].original);
}

static void test_strip_nothing(void) {
        const struct ve_eager_var vars[] = { { .name = "PGPASSWORD", .value = "fake-pw" } };
        char *env[] = { "A=1", "PGPASSWORD", "=fake-pw", NULL };    /* malformed entries pass */
        char *none[] = { NULL };
        char *out[4];

        CU_ASSERT_FALSE(ve_eager_strip(env, vars, 1, out));
        CU_ASSERT_TRUE(env_equal(out, env));
        CU_ASSERT_FALSE(ve_eager_strip(env, NULL, 0, out));
        CU_ASSERT_TRUE(env_equal(out, env));
        CU_ASSERT_FALSE(ve_eager_strip(none, vars, 1, out));
        CU_ASSERT_PTR_NULL(out[0]);
        out[0] = (char *) "x";
        CU_ASSERT_FALSE(ve_eager_strip(NULL, vars, 1, out));
        CU_ASSERT_PTR_NULL(out[0]);
}

static void test_strip_duplicates(void) {
        /* a name twice in envp (possible with putenv tricks): each entry
         * judged alone */
        const struct ve_eager_var vars[] = { { .name = "K", .value = "fake-v" } };
        char *env[] = { "K=fake-v", "K=mine", "K=fake-v", NULL };
        char *want[] = { "K=mine", NULL };
        char *out[4];

        CU_ASSERT_TRUE(ve_eager_strip(env, vars, 1, out));
        CU_ASSERT_TRUE(env_equal(out, want));
}

/* ---- the shim's start-up check ---- */

static void test_env_scan(void) {
        char *env[] = { "PATH=/bin", "VAULT_ADDR=x", "VAULTENV_EAGERX=1", "VAULTENV_EAGER=1", "VAULTENV_EAGER=0",
                        "VAULTENV_INHERIT=", "VAULTENV_MAP=/m", "VAULTENV_MAP=/other", "VAULTENV", "V", "L",
                        "LD_PRELOAD=/abs/lib.so", "VAULTENV_LEARN=", NULL };
        struct ve_eager_env e;

        ve_eager_env_scan(env, &e);
        CU_ASSERT_STRING_EQUAL(e.eager, "1");   /* the first entry wins */
        CU_ASSERT_STRING_EQUAL(e.inherit, "");
        CU_ASSERT_STRING_EQUAL(e.map, "/m");
        CU_ASSERT_FALSE(e.learning);            /* an empty value */
        CU_ASSERT_FALSE(e.relative_preload);

        ve_eager_env_scan(NULL, &e);
        CU_ASSERT_PTR_NULL(e.eager);
        CU_ASSERT_PTR_NULL(e.inherit);
        CU_ASSERT_PTR_NULL(e.map);
        CU_ASSERT_FALSE(e.learning || e.relative_preload);
        {
                char *learn[] = { "VAULTENV_LEARN=", "VAULTENV_LEARN=/tmp/f", NULL };

                ve_eager_env_scan(learn, &e);
                CU_ASSERT_TRUE(e.learning);     /* any entry with a value */
        }
}

static bool preload_relative(const char *value) {
        char entry[256];
        char *env[] = { entry, NULL };
        struct ve_eager_env e;

        snprintf(entry, sizeof entry, "LD_PRELOAD=%s", value);
        ve_eager_env_scan(env, &e);
        return e.relative_preload;
}

static void test_env_scan_preload(void) {
        CU_ASSERT_FALSE(preload_relative(""));
        CU_ASSERT_FALSE(preload_relative("/usr/lib/vaultenv/libvaultenv.so"));
        CU_ASSERT_FALSE(preload_relative("libvaultenv.so"));            /* the search path */
        CU_ASSERT_FALSE(preload_relative("/a/x.so:/b/y.so /c/z.so"));
        CU_ASSERT_FALSE(preload_relative("libm.so.6 /a/x.so::  :"));
        CU_ASSERT_TRUE(preload_relative("build/shim/libvaultenv.so"));
        CU_ASSERT_TRUE(preload_relative("./libvaultenv.so"));
        CU_ASSERT_TRUE(preload_relative("../lib/libvaultenv.so"));
        CU_ASSERT_TRUE(preload_relative("/a/x.so:lib/y.so"));
        CU_ASSERT_TRUE(preload_relative("/a/x.so lib/y.so"));
        CU_ASSERT_TRUE(preload_relative("libm.so.6 ./y.so"));
        CU_ASSERT_TRUE(preload_relative(" :x/"));
        {
                /* every LD_PRELOAD entry counts */
                char *env[] = { "LD_PRELOAD=/a.so", "LD_PRELOAD_X=b/c.so", "LD_PRELOAD=b/c.so", NULL };
                struct ve_eager_env e;

                ve_eager_env_scan(env, &e);
                CU_ASSERT_TRUE(e.relative_preload);
        }
}

/* What two memmem() calls say. */
static bool mentioned_ref(const char *buf, size_t len) {
        return memmem(buf, len, "eager", 5) || memmem(buf, len, "inherit", 7);
}

static void test_mentioned(void) {
        static const char *const yes[] = {
                "eager", "inherit", "A = secret/a#b eager\n", "A = secret/a#b inherit\n",
                "# eager is an option\n", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxeager",
                "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxinherit", "eagerxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        };
        static const char *const no[] = {
                "", "e", "eage", "inheri", "EAGER", "Inherit", "ager", "A = secret/a#b required\n",
                "agnhagnhagnhagnhagnhagnhagnhagnhagnhagnhagnh", "eage r", "inher it",
        };

        for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
                CU_ASSERT_TRUE(ve_eager_mentioned(yes[i], strlen(yes[i])));
        for (size_t i = 0; i < sizeof no / sizeof *no; i++)
                CU_ASSERT_FALSE(ve_eager_mentioned(no[i], strlen(no[i])));
        /* NUL bytes are ordinary bytes; the length bounds the search */
        CU_ASSERT_TRUE(ve_eager_mentioned("\0\0eager\0", 8));
        CU_ASSERT_FALSE(ve_eager_mentioned("eager", 4));
        CU_ASSERT_FALSE(ve_eager_mentioned("inherit", 6));
}

/* Random buffers over a small alphabet rich in the words' letters, every
 * length up to 100 and the words planted at every offset: the same answer
 * as memmem(), so no false negative (and no false positive). Each buffer is
 * an allocation of exactly its length, so that ASan and valgrind see any
 * read past it. */
static void test_mentioned_random(void) {
        static const char alphabet[] = "eagrinht \n#=/_AEGNx";
        unsigned seed = 6;
        size_t checked = 0, found = 0;

        for (int round = 0; round < 300; round++)
                for (size_t len = 0; len <= 100; len++) {
                        char *buf = malloc(len ? len : 1);
                        bool want, got;

                        CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
                        for (size_t i = 0; i < len; i++)
                                buf[i] = alphabet[(seed = seed * 1103515245u + 12345u) / 65536 % (sizeof alphabet - 1)];
                        if (round % 3 == 1 && len >= 5)
                                memcpy(buf + seed % (len - 4), "eager", 5);
                        else if (round % 3 == 2 && len >= 7)
                                memcpy(buf + seed % (len - 6), "inherit", 7);
                        want = mentioned_ref(buf, len);
                        got = ve_eager_mentioned(buf, len);
                        CU_ASSERT_EQUAL(got, want);
                        checked++;
                        found += want;
                        free(buf);
                }
        CU_ASSERT(found > checked / 3);         /* the planting worked */
        /* every offset of each word, in a 200-byte buffer of fillers */
        for (size_t at = 0; at + 7 <= 200; at++) {
                char buf[200];

                memset(buf, 'a', sizeof buf);
                memcpy(buf + at, "eager", 5);
                CU_ASSERT_TRUE(ve_eager_mentioned(buf, sizeof buf));
                CU_ASSERT_FALSE(ve_eager_mentioned(buf, at + 4));
                memset(buf, 'n', sizeof buf);
                memcpy(buf + at, "inherit", 7);
                CU_ASSERT_TRUE(ve_eager_mentioned(buf, sizeof buf));
                CU_ASSERT_FALSE(ve_eager_mentioned(buf, at + 6));
        }
}

int main(void) {
        static const struct unit_test start_tests[] = {
                { "env_scan", test_env_scan },
                { "env_scan_preload", test_env_scan_preload },
                { "mentioned", test_mentioned },
                { "mentioned_random", test_mentioned_random },
                { NULL, NULL },
        };
        static const struct unit_test list_tests[] = {
                { "list_has", test_list_has },
                { "entry_flags", test_entry_flags },
                { "env_count", test_env_count },
                { NULL, NULL },
        };
        static const struct unit_test strip_tests[] = {
                { "strip", test_strip },
                { "changed_value_stays", test_strip_changed_value_stays },
                { "inherit", test_strip_inherit },
                { "original_restored", test_strip_original_restored },
                { "nothing", test_strip_nothing },
                { "duplicates", test_strip_duplicates },
                { NULL, NULL },
        };
        static const struct unit_suite suites[] = {
                { "eager", list_tests },
                { "strip", strip_tests },
                { "start", start_tests },
        };

        return unit_run(suites, sizeof suites / sizeof suites[0]);
}
