/* SPDX-License-Identifier: MIT */
#include "unit.h"
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

int main(void) {
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
        };

        return unit_run(suites, sizeof suites / sizeof suites[0]);
}
