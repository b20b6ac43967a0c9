/* SPDX-License-Identifier: MIT */
#include "unit.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mapfile.h"
#include "template.h"

/* Every error is checked by its exact text, "t.map:LINE:COL: message". */

#define SOURCE "t.map"

/* Parses a literal (its own length, so embedded NULs count). */
#define PARSE(lit, ret_map, ret_error) \
        ve_map_parse(SOURCE, (lit), sizeof(lit) - 1, (ret_map), (ret_error))

/* The map pointer must be left alone on failure: poisoned beforehand. */
static struct ve_map *const POISON = (struct ve_map *) (uintptr_t) 0x1;

static bool check_error(const char *text, size_t len, const char *expected, int line) {
        struct ve_map *map = POISON;
        char *error = NULL;
        bool ok;
        int r;

        r = ve_map_parse(SOURCE, text, len, &map, &error);
        ok = r == -EINVAL && map == POISON && error && strcmp(error, expected) == 0;
        if (!ok)
                fprintf(stderr, "\n  line %d: r=%d error=<%s>\n  expected <%s>\n",
                        line, r, error ? error : "(null)", expected);
        if (r == 0 && map != POISON)
                ve_map_free(map);
        free(error);
        return ok;
}

#define CHECK_ERROR(lit, expected) \
        CU_ASSERT_TRUE(check_error((lit), sizeof(lit) - 1, (expected), __LINE__))

/* Parses lit, which must succeed; NULL (and a failed assert) otherwise. */
static struct ve_map *parse_ok(const char *text, size_t len, int line) {
        struct ve_map *map = NULL;
        char *error = NULL;
        int r;

        r = ve_map_parse(SOURCE, text, len, &map, &error);
        CU_ASSERT_EQUAL(r, 0);
        if (r != 0) {
                fprintf(stderr, "\n  line %d: r=%d error=<%s>\n", line, r, error ? error : "(null)");
                free(error);
                return NULL;
        }
        CU_ASSERT_PTR_NULL(error);
        return map;
}

#define PARSE_OK(lit) parse_ok((lit), sizeof(lit) - 1, __LINE__)

static bool check_ref_error(const char *s, const char *expected, int line) {
        struct ve_ref ref = { .path = (char *) "untouched" };
        char *error = NULL;
        bool ok;
        int r;

        r = ve_ref_parse(s, &ref, &error);
        ok = r == -EINVAL && error && strcmp(error, expected) == 0 &&
                strcmp(ref.path, "untouched") == 0;
        if (!ok)
                fprintf(stderr, "\n  line %d: ref <%s> r=%d error=<%s>\n  expected <%s>\n",
                        line, s, r, error ? error : "(null)", expected);
        if (r == 0)
                ve_ref_done(&ref);
        free(error);
        return ok;
}

#define CHECK_REF_ERROR(s, expected) CU_ASSERT_TRUE(check_ref_error((s), (expected), __LINE__))

static const char example[] =
        "# NAME            = vault reference                   options\n"
        "DATABASE_URL      = secret/app/db#url\n"
        "PGPASSWORD        = secret/app/db#password            required\n"
        "ANTHROPIC_API_KEY = secret/api_keys/anthropic                 # key defaults to \"value\"\n"
        "LEGACY_TOKEN      = kv1:legacy/tokens#svc\n"
        "DEBUG             = secret/app/flags#debug            default=false\n"
        "GREETING          = secret/app/ui#greeting            default=\"hello, world\"  ttl=5m\n";

static void test_example(void) {
        struct ve_map *map = PARSE_OK(example);
        const struct ve_map_entry *e;

        CU_ASSERT_PTR_NOT_NULL_FATAL(map);
        CU_ASSERT_STRING_EQUAL(map->source, SOURCE);
        CU_ASSERT_EQUAL_FATAL(map->n_entries, 6);

        e = &map->entries[0];
        CU_ASSERT_STRING_EQUAL(e->name, "DATABASE_URL");
        CU_ASSERT_EQUAL(e->ref.kv, VE_KV_AUTO);
        CU_ASSERT_STRING_EQUAL(e->ref.path, "secret/app/db");
        CU_ASSERT_STRING_EQUAL(e->ref.key, "url");
        CU_ASSERT_FALSE(e->required);
        CU_ASSERT_PTR_NULL(e->default_value);
        CU_ASSERT_EQUAL(e->ttl_ms, 0);
        CU_ASSERT_EQUAL(e->line, 2);

        e = &map->entries[1];
        CU_ASSERT_STRING_EQUAL(e->name, "PGPASSWORD");
        CU_ASSERT_EQUAL(e->ref.kv, VE_KV_AUTO);
        CU_ASSERT_STRING_EQUAL(e->ref.path, "secret/app/db");
        CU_ASSERT_STRING_EQUAL(e->ref.key, "password");
        CU_ASSERT_TRUE(e->required);
        CU_ASSERT_PTR_NULL(e->default_value);
        CU_ASSERT_EQUAL(e->ttl_ms, 0);
        CU_ASSERT_EQUAL(e->line, 3);

        e = &map->entries[2];
        CU_ASSERT_STRING_EQUAL(e->name, "ANTHROPIC_API_KEY");
        CU_ASSERT_EQUAL(e->ref.kv, VE_KV_AUTO);
        CU_ASSERT_STRING_EQUAL(e->ref.path, "secret/api_keys/anthropic");
        CU_ASSERT_STRING_EQUAL(e->ref.key, "value");
        CU_ASSERT_FALSE(e->required);
        CU_ASSERT_PTR_NULL(e->default_value);
        CU_ASSERT_EQUAL(e->line, 4);

        e = &map->entries[3];
        CU_ASSERT_STRING_EQUAL(e->name, "LEGACY_TOKEN");
        CU_ASSERT_EQUAL(e->ref.kv, VE_KV_1);
        CU_ASSERT_STRING_EQUAL(e->ref.path, "legacy/tokens");
        CU_ASSERT_STRING_EQUAL(e->ref.key, "svc");
        CU_ASSERT_EQUAL(e->line, 5);

        e = &map->entries[4];
        CU_ASSERT_STRING_EQUAL(e->name, "DEBUG");
        CU_ASSERT_STRING_EQUAL(e->ref.path, "secret/app/flags");
        CU_ASSERT_STRING_EQUAL(e->ref.key, "debug");
        CU_ASSERT_FALSE(e->required);
        CU_ASSERT_PTR_NOT_NULL_FATAL(e->default_value);
        CU_ASSERT_STRING_EQUAL(e->default_value, "false");
        CU_ASSERT_EQUAL(e->ttl_ms, 0);
        CU_ASSERT_EQUAL(e->line, 6);

        e = &map->entries[5];
        CU_ASSERT_STRING_EQUAL(e->name, "GREETING");
        CU_ASSERT_STRING_EQUAL(e->ref.path, "secret/app/ui");
        CU_ASSERT_STRING_EQUAL(e->ref.key, "greeting");
        CU_ASSERT_PTR_NOT_NULL_FATAL(e->default_value);
        CU_ASSERT_STRING_EQUAL(e->default_value, "hello, world");
        CU_ASSERT_EQUAL(e->ttl_ms, 5 * 60 * 1000);
        CU_ASSERT_EQUAL(e->line, 7);

        CU_ASSERT_PTR_EQUAL(ve_map_find(map, "GREETING"), &map->entries[5]);
        CU_ASSERT_PTR_EQUAL(ve_map_find(map, "DATABASE_URL"), &map->entries[0]);
        CU_ASSERT_PTR_NULL(ve_map_find(map, "GREETIN"));
        CU_ASSERT_PTR_NULL(ve_map_find(map, "greeting"));
        CU_ASSERT_PTR_NULL(ve_map_find(map, ""));
        CU_ASSERT_PTR_NULL(ve_map_find(map, NULL));
        CU_ASSERT_PTR_NULL(ve_map_find(NULL, "GREETING"));

        ve_map_free(map);
}

static void test_empty(void) {
        struct ve_map *map;

        map = PARSE_OK("");
        CU_ASSERT_PTR_NOT_NULL_FATAL(map);
        CU_ASSERT_EQUAL(map->n_entries, 0);
        CU_ASSERT_PTR_NULL(ve_map_find(map, "X"));
        ve_map_free(map);

        map = PARSE_OK("# only a comment\n\n   \t\n  # indented comment\r\n#");
        CU_ASSERT_PTR_NOT_NULL_FATAL(map);
        CU_ASSERT_EQUAL(map->n_entries, 0);
        ve_map_free(map);

        map = PARSE_OK("\xef\xbb\xbf");
        CU_ASSERT_PTR_NOT_NULL_FATAL(map);
        CU_ASSERT_EQUAL(map->n_entries, 0);
        ve_map_free(map);

        map = NULL;
        CU_ASSERT_EQUAL(ve_map_parse(SOURCE, NULL, 0, &map, NULL), 0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(map);
        CU_ASSERT_EQUAL(map->n_entries, 0);
        ve_map_free(map);

        /* No source: messages still get one. */
        map = NULL;
        CU_ASSERT_EQUAL(ve_map_parse(NULL, "", 0, &map, NULL), 0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(map);
        CU_ASSERT_STRING_EQUAL(map->source, "<input>");
        ve_map_free(map);

        ve_map_free(NULL);
}

static void test_layout(void) {
        struct ve_map *map;

        /* Tabs, no blanks around '=', leading and trailing blanks, no final
         * newline, blank lines. */
        map = PARSE_OK("\n\tA=m/a\t\n  B\t=\tm/b#k\trequired\t\n\nC =m/c   \nD= m/d");
        CU_ASSERT_PTR_NOT_NULL_FATAL(map);
        CU_ASSERT_EQUAL_FATAL(map->n_entries, 4);
        CU_ASSERT_STRING_EQUAL(map->entries[0].name, "A");
        CU_ASSERT_STRING_EQUAL(map->entries[0].ref.path, "m/a");
        CU_ASSERT_EQUAL(map->entries[0].line, 2);
        CU_ASSERT_STRING_EQUAL(map->entries[1].name, "B");
        CU_ASSERT_STRING_EQUAL(map->entries[1].ref.key, "k");
        CU_ASSERT_TRUE(map->entries[1].required);
        CU_ASSERT_EQUAL(map->entries[1].line, 3);
        CU_ASSERT_STRING_EQUAL(map->entries[2].ref.path, "m/c");
        CU_ASSERT_EQUAL(map->entries[2].line, 5);
        CU_ASSERT_STRING_EQUAL(map->entries[3].name, "D");
        CU_ASSERT_STRING_EQUAL(map->entries[3].ref.path, "m/d");
        CU_ASSERT_EQUAL(map->entries[3].line, 6);
        ve_map_free(map);

        /* CRLF line ends, last one without. */
        map = PARSE_OK("A = m/a#x default=1\r\n\r\n# c\r\nB = m/b ttl=30s\r\nC = m/c");
        CU_ASSERT_PTR_NOT_NULL_FATAL(map);
        CU_ASSERT_EQUAL_FATAL(map->n_entries, 3);
        CU_ASSERT_STRING_EQUAL(map->entries[0].ref.key, "x");
        CU_ASSERT_STRING_EQUAL(map->entries[0].default_value, "1");
        CU_ASSERT_EQUAL(map->entries[1].ttl_ms, 30000);
        CU_ASSERT_EQUAL(map->entries[1].line, 4);
        CU_ASSERT_STRING_EQUAL(map->entries[2].ref.path, "m/c");
        ve_map_free(map);

        /* BOM, then an entry on line 1. */
        map = PARSE_OK("\xef\xbb\xbf" "A = m/a\n");
        CU_ASSERT_PTR_NOT_NULL_FATAL(map);
        CU_ASSERT_EQUAL_FATAL(map->n_entries, 1);
        CU_ASSERT_STRING_EQUAL(map->entries[0].name, "A");
        CU_ASSERT_EQUAL(map->entries[0].line, 1);
        ve_map_free(map);

        /* Columns on line 1 count from after the BOM. */
        CHECK_ERROR("\xef\xbb\xbf" "1A = m/a\n", SOURCE ":1:1: invalid variable name \"1A\"");
        /* A BOM anywhere else is just bytes, here in a name. */
        CHECK_ERROR("A = m/a\n\xef\xbb\xbf" "B = m/b\n",
                    SOURCE ":2:1: invalid variable name \"\xef\xbb\xbf" "B\"");

        /* Line ends: one '\r' before '\n' only. */
        CHECK_ERROR("A = m/a\rB = m/b\n", SOURCE ":1:8: carriage return not followed by a newline");
        CHECK_ERROR("A = m/a\r\r\n", SOURCE ":1:8: carriage return not followed by a newline");
        CHECK_ERROR("A = m/a\n# \r comment\n", SOURCE ":2:3: carriage return not followed by a newline");
        CHECK_ERROR("A = m/a\r", SOURCE ":1:8: carriage return not followed by a newline");
        CHECK_ERROR("A = \"m/\ra\"\n", SOURCE ":1:8: carriage return not followed by a newline");

        /* NUL, in an entry or a comment. */
        CHECK_ERROR("A = m/a\nB = m/\0b\n", SOURCE ":2:7: embedded NUL byte");
        CHECK_ERROR("# \0\n", SOURCE ":1:3: embedded NUL byte");
        CHECK_ERROR("\0", SOURCE ":1:1: embedded NUL byte");
}

static void test_comments(void) {
        struct ve_map *map;

        map = PARSE_OK("# c\n"
                       "A = m/a#k#l required # comment with = and \"quote\n"
                       "B = m/b default=x#y # comment\n"
                       "C = m/c default=#z\n"
                       "D = m/d#\"q r\"\t# tab before the comment\n"
                       "   # indented comment\n"
                       "E = m/e default=\"a b\"#c'd e'\n");
        CU_ASSERT_PTR_NOT_NULL_FATAL(map);
        CU_ASSERT_EQUAL_FATAL(map->n_entries, 5);
        CU_ASSERT_STRING_EQUAL(map->entries[0].ref.path, "m/a");
        CU_ASSERT_STRING_EQUAL(map->entries[0].ref.key, "k#l");
        CU_ASSERT_TRUE(map->entries[0].required);
        CU_ASSERT_STRING_EQUAL(map->entries[1].default_value, "x#y");
        CU_ASSERT_STRING_EQUAL(map->entries[2].default_value, "#z");
        CU_ASSERT_STRING_EQUAL(map->entries[3].ref.key, "q r");
        CU_ASSERT_STRING_EQUAL(map->entries[4].default_value, "a b#cd e");
        CU_ASSERT_EQUAL(map->entries[4].line, 7);
        ve_map_free(map);

        /* '#' right after '=' is not after a blank: part of the reference. */
        CHECK_ERROR("A =#x\n", SOURCE ":1:4: reference needs MOUNT/PATH: \"#x\"");
        /* After a blank it is a comment, so the reference is missing. */
        CHECK_ERROR("A = #m/a\n", SOURCE ":1:5: missing Vault reference for A");
        CHECK_ERROR("A # = m/a\n", SOURCE ":1:3: expected '=' after A");
}

static void test_quoting(void) {
        struct ve_map *map;

        map = PARSE_OK("A = \"secret/my app/db#k\"\n"
                       "B = sec'ret/x y'\"/z#k \"ey default='$HOME \\n \"' \n"
                       "C = m/c default=\"\\\\ \\\" \\n \\t \\r\"\n"
                       "D = m/d default=\n"
                       "E = m/e default=\"\"\n"
                       "F = m/f default=''\"\"x''\n"
                       "G = m/g \"default=a b\" 'ttl'=1h30m\n"
                       "H = m/h default=\"#\" ttl=\"1h\"\n");
        CU_ASSERT_PTR_NOT_NULL_FATAL(map);
        CU_ASSERT_EQUAL_FATAL(map->n_entries, 8);
        CU_ASSERT_STRING_EQUAL(map->entries[0].ref.path, "secret/my app/db");
        CU_ASSERT_STRING_EQUAL(map->entries[0].ref.key, "k");
        CU_ASSERT_STRING_EQUAL(map->entries[1].ref.path, "secret/x y/z");
        CU_ASSERT_STRING_EQUAL(map->entries[1].ref.key, "k ey");
        CU_ASSERT_STRING_EQUAL(map->entries[1].default_value, "$HOME \\n \"");
        CU_ASSERT_STRING_EQUAL(map->entries[2].default_value, "\\ \" \n \t \r");
        CU_ASSERT_PTR_NOT_NULL_FATAL(map->entries[3].default_value);
        CU_ASSERT_STRING_EQUAL(map->entries[3].default_value, "");
        CU_ASSERT_PTR_NOT_NULL_FATAL(map->entries[4].default_value);
        CU_ASSERT_STRING_EQUAL(map->entries[4].default_value, "");
        CU_ASSERT_STRING_EQUAL(map->entries[5].default_value, "x");
        CU_ASSERT_STRING_EQUAL(map->entries[6].default_value, "a b");
        CU_ASSERT_EQUAL(map->entries[6].ttl_ms, 90 * 60 * 1000);
        CU_ASSERT_STRING_EQUAL(map->entries[7].default_value, "#");
        CU_ASSERT_EQUAL(map->entries[7].ttl_ms, 3600 * 1000);
        ve_map_free(map);

        /* Quoted parts join: "req"uired is the option required. */
        map = PARSE_OK("A = m/a \"req\"uired\n");
        CU_ASSERT_PTR_NOT_NULL_FATAL(map);
        CU_ASSERT_TRUE(map->entries[0].required);
        ve_map_free(map);

        /* A backslash outside double quotes is an ordinary character. */
        map = PARSE_OK("A = m/a default=a\\n'c\\d'\n");
        CU_ASSERT_PTR_NOT_NULL_FATAL(map);
        CU_ASSERT_STRING_EQUAL(map->entries[0].default_value, "a\\nc\\d");
        ve_map_free(map);

        CHECK_ERROR("A = \"m/a\n", SOURCE ":1:5: unterminated double quote");
        CHECK_ERROR("A = m/a 'default=x\n", SOURCE ":1:9: unterminated single quote");
        CHECK_ERROR("A = m/a default=\"x\\\"\n", SOURCE ":1:17: unterminated double quote");
        CHECK_ERROR("A = m/a default=\"x\\\n", SOURCE ":1:17: unterminated double quote");
        CHECK_ERROR("A = m/a default='x\n\n", SOURCE ":1:17: unterminated single quote");
        /* A quote does not continue on the next line. */
        CHECK_ERROR("A = m/a\nB = \"m/b\nc\"\n", SOURCE ":2:5: unterminated double quote");
        CHECK_ERROR("A = \"m/\\q\"\n", SOURCE ":1:8: unknown escape \\q");
        CHECK_ERROR("A = \"m/\\'\"\n", SOURCE ":1:8: unknown escape \\'");
        CHECK_ERROR("A = \"m/\\\ta\"\n", SOURCE ":1:8: unknown escape \\ before byte 0x09");
        /* In a default, the escaped character is not shown. */
        CHECK_ERROR("A = m/a \"default=s3\\cret\"\n", SOURCE ":1:20: unknown escape in default= value");
        CHECK_ERROR("A = m/a default=\"s3\\cret\"\n", SOURCE ":1:20: unknown escape in default= value");
}

static void test_names(void) {
        char long_name[300], text[400];
        struct ve_map *map;
        char *error = NULL;

        CHECK_ERROR("1FOO = m/a\n", SOURCE ":1:1: invalid variable name \"1FOO\"");
        CHECK_ERROR("A = m/a\n  FOO-BAR = m/b\n", SOURCE ":2:3: invalid variable name \"FOO-BAR\"");
        CHECK_ERROR("\"FOO\" = m/b\n", SOURCE ":1:1: invalid variable name \"\\\"FOO\\\"\"");
        CHECK_ERROR("F\x01O = m/b\n", SOURCE ":1:1: invalid variable name \"F\\x01O\"");
        CHECK_ERROR("FOO:x = m/b\n", SOURCE ":1:1: invalid variable name \"FOO:x\"");
        CHECK_ERROR("= m/b\n", SOURCE ":1:1: missing variable name before '='");
        CHECK_ERROR("  =m/b\n", SOURCE ":1:3: missing variable name before '='");
        CHECK_ERROR("FOO\n", SOURCE ":1:4: expected '=' after FOO");
        CHECK_ERROR("FOO   \n", SOURCE ":1:7: expected '=' after FOO");
        CHECK_ERROR("FOO m/a\n", SOURCE ":1:5: expected '=' after FOO");
        CHECK_ERROR("FOO\t# c\n", SOURCE ":1:5: expected '=' after FOO");
        CHECK_ERROR("FOO =\n", SOURCE ":1:6: missing Vault reference for FOO");
        CHECK_ERROR("FOO =   \r\n", SOURCE ":1:9: missing Vault reference for FOO");
        CHECK_ERROR("FOO = # none\n", SOURCE ":1:7: missing Vault reference for FOO");

        /* 255 bytes is the limit. */
        memset(long_name, 'N', 255);
        long_name[255] = '\0';
        snprintf(text, sizeof text, "%s = m/a\n", long_name);
        map = NULL;
        CU_ASSERT_EQUAL(ve_map_parse(SOURCE, text, strlen(text), &map, &error), 0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(map);
        CU_ASSERT_STRING_EQUAL(map->entries[0].name, long_name);
        ve_map_free(map);

        snprintf(text, sizeof text, "  %sN = m/a\n", long_name);
        map = POISON;
        CU_ASSERT_EQUAL(ve_map_parse(SOURCE, text, strlen(text), &map, &error), -EINVAL);
        CU_ASSERT_PTR_EQUAL(map, POISON);
        CU_ASSERT_PTR_NOT_NULL_FATAL(error);
        CU_ASSERT_STRING_EQUAL(error, SOURCE ":1:3: variable name longer than 255 bytes");
        free(error);

        CU_ASSERT_TRUE(ve_name_valid("A"));
        CU_ASSERT_TRUE(ve_name_valid("_"));
        CU_ASSERT_TRUE(ve_name_valid("_a1"));
        CU_ASSERT_TRUE(ve_name_valid("PATH_2"));
        CU_ASSERT_TRUE(ve_name_valid(long_name));
        CU_ASSERT_FALSE(ve_name_valid(NULL));
        CU_ASSERT_FALSE(ve_name_valid(""));
        CU_ASSERT_FALSE(ve_name_valid("1A"));
        CU_ASSERT_FALSE(ve_name_valid("A-B"));
        CU_ASSERT_FALSE(ve_name_valid("A=B"));
        CU_ASSERT_FALSE(ve_name_valid("A B"));
        CU_ASSERT_FALSE(ve_name_valid("\xc3\xa9"));
        long_name[255] = 'N';
        long_name[256] = '\0';
        CU_ASSERT_FALSE(ve_name_valid(long_name));
}

static void test_duplicates(void) {
        CHECK_ERROR("A = m/a\nB = m/b\n\n  A = m/c\n",
                    SOURCE ":4:3: duplicate variable A (first defined on line 1)");
        CHECK_ERROR("# c\nA = m/a\nB = m/b\nB = m/b\n",
                    SOURCE ":4:1: duplicate variable B (first defined on line 3)");
        /* Names are case-sensitive. */
        struct ve_map *map = PARSE_OK("a = m/a\nA = m/a\n");
        CU_ASSERT_PTR_NOT_NULL_FATAL(map);
        CU_ASSERT_EQUAL(map->n_entries, 2);
        ve_map_free(map);
}

static void test_prefetch_directive(void) {
        struct ve_map *map;

        /* the bare word, alone on its line but for blanks and a comment */
        map = PARSE_OK("# x\n  prefetch   # read every path at once\nA = m/a\n");
        CU_ASSERT_PTR_NOT_NULL_FATAL(map);
        CU_ASSERT_TRUE(map->prefetch);
        CU_ASSERT_EQUAL(map->n_entries, 1);
        ve_map_free(map);
        map = PARSE_OK("A = m/a\nprefetch");
        CU_ASSERT_PTR_NOT_NULL_FATAL(map);
        CU_ASSERT_TRUE(map->prefetch);
        ve_map_free(map);
        /* without it: off */
        map = PARSE_OK("A = m/a\n");
        CU_ASSERT_PTR_NOT_NULL_FATAL(map);
        CU_ASSERT_FALSE(map->prefetch);
        ve_map_free(map);
        /* a variable named prefetch is an entry like any other */
        map = PARSE_OK("prefetch = m/a\nprefetch_x=m/b\n");
        CU_ASSERT_PTR_NOT_NULL_FATAL(map);
        CU_ASSERT_FALSE(map->prefetch);
        CU_ASSERT_EQUAL(map->n_entries, 2);
        CU_ASSERT_STRING_EQUAL(map->entries[0].name, "prefetch");
        ve_map_free(map);
        /* twice, or with something after it */
        CHECK_ERROR("prefetch\nA = m/a\n prefetch\n", SOURCE ":3:2: duplicate directive prefetch (first on line 1)");
        CHECK_ERROR("prefetch yes\n", SOURCE ":1:10: expected '=' after prefetch");
}

static void test_many(void) {
        /* Enough entries to grow the array and the duplicate index a few
         * times; then a duplicate of an early one at the end. */
        size_t n = 3000, size = n * 40 + 64, len = 0;
        char *text = malloc(size);
        struct ve_map *map = NULL;
        char *error = NULL;

        CU_ASSERT_PTR_NOT_NULL_FATAL(text);
        for (size_t i = 0; i < n; i++)
                len += (size_t) snprintf(text + len, size - len, "V%zu = m/p%zu#k%zu\n", i, i, i);
        CU_ASSERT_EQUAL(ve_map_parse(SOURCE, text, len, &map, &error), 0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(map);
        CU_ASSERT_EQUAL(map->n_entries, n);
        for (size_t i = 0; i < n; i += 97) {
                char name[32], key[32];
                const struct ve_map_entry *e;

                snprintf(name, sizeof name, "V%zu", i);
                snprintf(key, sizeof key, "k%zu", i);
                e = ve_map_find(map, name);
                CU_ASSERT_PTR_NOT_NULL_FATAL(e);
                CU_ASSERT_STRING_EQUAL(e->ref.key, key);
                CU_ASSERT_EQUAL(e->line, i + 1);
        }
        ve_map_free(map);

        len += (size_t) snprintf(text + len, size - len, "V17 = m/x\n");
        map = POISON;
        CU_ASSERT_EQUAL(ve_map_parse(SOURCE, text, len, &map, &error), -EINVAL);
        CU_ASSERT_PTR_EQUAL(map, POISON);
        CU_ASSERT_PTR_NOT_NULL_FATAL(error);
        CU_ASSERT_STRING_EQUAL(error, SOURCE ":3001:1: duplicate variable V17 (first defined on line 18)");
        free(error);
        free(text);
}

static void test_options(void) {
        struct ve_map *map;

        map = PARSE_OK("A = m/a required ttl=30s\n"
                       "B = m/b ttl=5m default=x\n"
                       "C = m/c ttl=1h\n"
                       "D = m/d ttl=1h30m\n"
                       "E = m/e ttl=90\n"
                       "F = m/f ttl=250ms\n");
        CU_ASSERT_PTR_NOT_NULL_FATAL(map);
        CU_ASSERT_EQUAL_FATAL(map->n_entries, 6);
        CU_ASSERT_TRUE(map->entries[0].required);
        CU_ASSERT_EQUAL(map->entries[0].ttl_ms, 30 * 1000);
        CU_ASSERT_EQUAL(map->entries[1].ttl_ms, 5 * 60 * 1000);
        CU_ASSERT_STRING_EQUAL(map->entries[1].default_value, "x");
        CU_ASSERT_EQUAL(map->entries[2].ttl_ms, 3600 * 1000);
        CU_ASSERT_EQUAL(map->entries[3].ttl_ms, 90 * 60 * 1000);
        CU_ASSERT_EQUAL(map->entries[4].ttl_ms, 90 * 1000);
        CU_ASSERT_EQUAL(map->entries[5].ttl_ms, 250);
        CU_ASSERT_FALSE(map->entries[0].eager);
        CU_ASSERT_FALSE(map->entries[0].inherit);
        ve_map_free(map);

        /* eager and inherit: flags, once each, no value */
        map = PARSE_OK("A = m/a eager\n"
                       "B = m/b inherit eager required\n");
        CU_ASSERT_PTR_NOT_NULL_FATAL(map);
        CU_ASSERT_TRUE(map->entries[0].eager);
        CU_ASSERT_FALSE(map->entries[0].inherit);
        CU_ASSERT_TRUE(map->entries[1].eager);
        CU_ASSERT_TRUE(map->entries[1].inherit);
        CU_ASSERT_TRUE(map->entries[1].required);
        ve_map_free(map);
        CHECK_ERROR("A = m/a eager eager\n", SOURCE ":1:15: option \"eager\" given more than once");
        CHECK_ERROR("A = m/a inherit inherit\n", SOURCE ":1:17: option \"inherit\" given more than once");
        CHECK_ERROR("A = m/a eager=yes\n", SOURCE ":1:9: option \"eager\" takes no value");
        CHECK_ERROR("A = m/a inherit=1\n", SOURCE ":1:9: option \"inherit\" takes no value");
        CHECK_ERROR("A = m/a required=1\n", SOURCE ":1:9: option \"required\" takes no value");

        CHECK_ERROR("A = m/a ttl=x\n", SOURCE ":1:9: invalid duration \"x\" for ttl");
        CHECK_ERROR("A = m/a ttl=0\n", SOURCE ":1:9: invalid duration \"0\" for ttl");
        CHECK_ERROR("A = m/a ttl=0s\n", SOURCE ":1:9: invalid duration \"0s\" for ttl");
        CHECK_ERROR("A = m/a ttl=\n", SOURCE ":1:9: invalid duration \"\" for ttl");
        CHECK_ERROR("A = m/a ttl=-5m\n", SOURCE ":1:9: invalid duration \"-5m\" for ttl");
        CHECK_ERROR("A = m/a ttl=5 m\n", SOURCE ":1:15: unknown option \"m\"");
        CHECK_ERROR("A = m/a ttl=5x\n", SOURCE ":1:9: invalid duration \"5x\" for ttl");
        CHECK_ERROR("A = m/a ttl\n", SOURCE ":1:9: option \"ttl\" needs a value (ttl=DURATION)");
        CHECK_ERROR("A = m/a ttl=1m ttl=2m\n", SOURCE ":1:16: option \"ttl\" given more than once");

        CHECK_ERROR("A = m/a foo\n", SOURCE ":1:9: unknown option \"foo\"");
        CHECK_ERROR("A = m/a required foo=bar\n", SOURCE ":1:18: unknown option \"foo\"");
        CHECK_ERROR("A = m/a Required\n", SOURCE ":1:9: unknown option \"Required\"");
        CHECK_ERROR("A = m/a =x\n", SOURCE ":1:9: unknown option \"\"");
        CHECK_ERROR("A = m/a required required\n", SOURCE ":1:18: option \"required\" given more than once");
        CHECK_ERROR("A = m/a required=yes\n", SOURCE ":1:9: option \"required\" takes no value");
        CHECK_ERROR("A = m/a default\n", SOURCE ":1:9: option \"default\" needs a value (default=VALUE)");
        CHECK_ERROR("A = m/a default=x default=y\n", SOURCE ":1:19: option \"default\" given more than once");

        CHECK_ERROR("A = m/a required default=x\n",
                    SOURCE ":1:18: 'required' and 'default=' contradict each other");
        CHECK_ERROR("A = m/a default= ttl=1s required\n",
                    SOURCE ":1:25: 'required' and 'default=' contradict each other");
}

/* A default may be a secret: no message may show any part of it. */
static void test_no_default_in_messages(void) {
        CHECK_ERROR("A = m/a default=s3cret default=s3cret\n",
                    SOURCE ":1:24: option \"default\" given more than once");
        CHECK_ERROR("A = m/a default=s3cret required\n",
                    SOURCE ":1:24: 'required' and 'default=' contradict each other");
        CHECK_ERROR("A = m/a defualt=s3cret\n", SOURCE ":1:9: unknown option \"defualt\"");
        /* Unquoted blanks split a value: the rest is not echoed. */
        CHECK_ERROR("A = m/a default=top s3cret\n",
                    SOURCE ":1:21: unknown option after default= (not shown, it may be part of the value: "
                    "quote a default that contains blanks)");
        CHECK_ERROR("A = m/a default= s3cret\n",
                    SOURCE ":1:18: unknown option after default= (not shown, it may be part of the value: "
                    "quote a default that contains blanks)");
        CHECK_ERROR("A = m/a default=\"s3cret\n", SOURCE ":1:17: unterminated double quote");
}

static void test_ref_errors_in_map(void) {
        CHECK_ERROR("A = secret\n", SOURCE ":1:5: reference needs MOUNT/PATH: \"secret\"");
        CHECK_ERROR("A =\tkv3:secret/a\n", SOURCE ":1:5: unknown reference prefix \"kv3:\"");
        CHECK_ERROR("A = m/a\nB = /m/b#k required\n", SOURCE ":2:5: reference must not start with '/': \"/m/b#k\"");
        CHECK_ERROR("A = \"\"\n", SOURCE ":1:5: empty reference: \"\"");
        CHECK_ERROR("A = 'm/a\tb'\n", SOURCE ":1:5: reference contains a control character: \"m/a\\x09b\"");
        CHECK_ERROR("A = \"m/a\\nb\"\n", SOURCE ":1:5: reference contains a control character: \"m/a\\x0ab\"");
        CHECK_ERROR("A = m/a# ttl=1s\n", SOURCE ":1:5: empty key after '#' in reference: \"m/a#\"");
}

static void test_ref_parse(void) {
        struct ve_ref ref = {};
        char *error = NULL;

        CU_ASSERT_EQUAL_FATAL(ve_ref_parse("secret/app/db#url", &ref, &error), 0);
        CU_ASSERT_EQUAL(ref.kv, VE_KV_AUTO);
        CU_ASSERT_STRING_EQUAL(ref.path, "secret/app/db");
        CU_ASSERT_STRING_EQUAL(ref.key, "url");
        ve_ref_done(&ref);
        CU_ASSERT_PTR_NULL(ref.path);
        CU_ASSERT_PTR_NULL(ref.key);
        ve_ref_done(&ref);

        CU_ASSERT_EQUAL_FATAL(ve_ref_parse("kv1:legacy/tokens", &ref, &error), 0);
        CU_ASSERT_EQUAL(ref.kv, VE_KV_1);
        CU_ASSERT_STRING_EQUAL(ref.path, "legacy/tokens");
        CU_ASSERT_STRING_EQUAL(ref.key, VE_REF_DEFAULT_KEY);
        CU_ASSERT_STRING_EQUAL(ref.key, "value");
        ve_ref_done(&ref);

        CU_ASSERT_EQUAL_FATAL(ve_ref_parse("kv2:secret/a/b/c#k#l:m/n?", &ref, &error), 0);
        CU_ASSERT_EQUAL(ref.kv, VE_KV_2);
        CU_ASSERT_STRING_EQUAL(ref.path, "secret/a/b/c");
        CU_ASSERT_STRING_EQUAL(ref.key, "k#l:m/n?");
        ve_ref_done(&ref);

        /* "/data/" is not special (yet): just a path. */
        CU_ASSERT_EQUAL_FATAL(ve_ref_parse("secret/data/app", &ref, &error), 0);
        CU_ASSERT_EQUAL(ref.kv, VE_KV_AUTO);
        CU_ASSERT_STRING_EQUAL(ref.path, "secret/data/app");
        ve_ref_done(&ref);

        /* ':' after the mount, dots inside names, UTF-8 and spaces are fine. */
        CU_ASSERT_EQUAL_FATAL(ve_ref_parse("m/a:b/.x/..y/x.../caf\xc3\xa9 au lait#k", &ref, &error), 0);
        CU_ASSERT_STRING_EQUAL(ref.path, "m/a:b/.x/..y/x.../caf\xc3\xa9 au lait");
        ve_ref_done(&ref);

        CU_ASSERT_PTR_NULL(error);

        /* A zeroed ref and NULL are fine. */
        ve_ref_done(&(struct ve_ref) {});
        ve_ref_done(NULL);

        CHECK_REF_ERROR("", "empty reference: \"\"");
        CHECK_REF_ERROR("secret", "reference needs MOUNT/PATH: \"secret\"");
        CHECK_REF_ERROR("secret#k", "reference needs MOUNT/PATH: \"secret#k\"");
        CHECK_REF_ERROR("kv2:secret", "reference needs MOUNT/PATH: \"kv2:secret\"");
        CHECK_REF_ERROR("kv2:", "reference needs MOUNT/PATH: \"kv2:\"");
        CHECK_REF_ERROR("#k", "reference needs MOUNT/PATH: \"#k\"");
        CHECK_REF_ERROR("/secret/a", "reference must not start with '/': \"/secret/a\"");
        CHECK_REF_ERROR("kv1:/secret/a", "reference must not start with '/': \"kv1:/secret/a\"");
        CHECK_REF_ERROR("/", "reference must not start with '/': \"/\"");
        CHECK_REF_ERROR("secret/a/", "reference must not end with '/': \"secret/a/\"");
        CHECK_REF_ERROR("secret/a/#k", "reference must not end with '/': \"secret/a/#k\"");
        CHECK_REF_ERROR("secret//a", "empty path segment in reference: \"secret//a\"");
        CHECK_REF_ERROR("secret/./a", "'.' and '..' path segments are not allowed in reference: \"secret/./a\"");
        CHECK_REF_ERROR("secret/a/..", "'.' and '..' path segments are not allowed in reference: \"secret/a/..\"");
        CHECK_REF_ERROR("../a", "'.' and '..' path segments are not allowed in reference: \"../a\"");
        CHECK_REF_ERROR("secret/a?x=1", "reference must not contain '?': \"secret/a?x=1\"");
        CHECK_REF_ERROR("secret/a#", "empty key after '#' in reference: \"secret/a#\"");
        CHECK_REF_ERROR("secret/a\x7f", "reference contains a control character: \"secret/a\\x7f\"");
        CHECK_REF_ERROR("secret/a#k\x1b[2J", "reference contains a control character: \"secret/a#k\\x1b[2J\"");
        CHECK_REF_ERROR("kv3:secret/a", "unknown reference prefix \"kv3:\"");
        CHECK_REF_ERROR("KV2:secret/a", "unknown reference prefix \"KV2:\"");
        CHECK_REF_ERROR("kv2:kv1:secret/a", "unknown reference prefix \"kv1:\"");
        CHECK_REF_ERROR("https://vault/x", "unknown reference prefix \"https:\"");
        CHECK_REF_ERROR("se\"c:ret/a", "unknown reference prefix \"se\\\"c:\"");

        /* Long references are cut in messages. */
        {
                char long_ref[600];

                memset(long_ref, 'a', sizeof long_ref - 1);
                long_ref[sizeof long_ref - 1] = '\0';
                CU_ASSERT_EQUAL(ve_ref_parse(long_ref, &ref, &error), -EINVAL);
                CU_ASSERT_PTR_NOT_NULL_FATAL(error);
                CU_ASSERT_EQUAL(strlen(error), strlen("reference needs MOUNT/PATH: \"\"...") + 256);
                CU_ASSERT_STRING_EQUAL(error + strlen(error) - 6, "aa\"...");
                free(error);
        }

        /* No message wanted. */
        CU_ASSERT_EQUAL(ve_ref_parse("secret", &ref, NULL), -EINVAL);
        CU_ASSERT_EQUAL(ve_ref_parse("kv3:a/b", &ref, NULL), -EINVAL);
        CU_ASSERT_EQUAL(ve_ref_parse(NULL, &ref, NULL), -EINVAL);
}

static void test_ref_version(void) {
        struct ve_ref ref = {};
        char *error = NULL;

        /* "@N" after the key, or after the path when there is no key */
        CU_ASSERT_EQUAL_FATAL(ve_ref_parse("secret/app/db#password@3", &ref, &error), 0);
        CU_ASSERT_STRING_EQUAL(ref.path, "secret/app/db");
        CU_ASSERT_STRING_EQUAL(ref.key, "password");
        CU_ASSERT_EQUAL(ref.version, 3);
        ve_ref_done(&ref);
        CU_ASSERT_EQUAL(ref.version, 0);

        CU_ASSERT_EQUAL_FATAL(ve_ref_parse("secret/app/db@12", &ref, &error), 0);
        CU_ASSERT_STRING_EQUAL(ref.path, "secret/app/db");
        CU_ASSERT_STRING_EQUAL(ref.key, "value");
        CU_ASSERT_EQUAL(ref.version, 12);
        ve_ref_done(&ref);

        CU_ASSERT_EQUAL_FATAL(ve_ref_parse("kv2:secret/app/db#k@2147483647", &ref, &error), 0);
        CU_ASSERT_EQUAL(ref.kv, VE_KV_2);
        CU_ASSERT_EQUAL(ref.version, 2147483647UL);
        ve_ref_done(&ref);

        /* no version: the latest */
        CU_ASSERT_EQUAL_FATAL(ve_ref_parse("secret/app/db#password", &ref, &error), 0);
        CU_ASSERT_EQUAL(ref.version, 0);
        ve_ref_done(&ref);

        /* An '@' not followed by digits only is part of the key or path. */
        CU_ASSERT_EQUAL_FATAL(ve_ref_parse("secret/users/bob@example.com#mail@host", &ref, &error), 0);
        CU_ASSERT_STRING_EQUAL(ref.path, "secret/users/bob@example.com");
        CU_ASSERT_STRING_EQUAL(ref.key, "mail@host");
        CU_ASSERT_EQUAL(ref.version, 0);
        ve_ref_done(&ref);
        CU_ASSERT_EQUAL_FATAL(ve_ref_parse("secret/a#k@3x", &ref, &error), 0);
        CU_ASSERT_STRING_EQUAL(ref.key, "k@3x");
        CU_ASSERT_EQUAL(ref.version, 0);
        ve_ref_done(&ref);
        CU_ASSERT_EQUAL_FATAL(ve_ref_parse("secret/a#k@1.5", &ref, &error), 0);
        CU_ASSERT_STRING_EQUAL(ref.key, "k@1.5");
        ve_ref_done(&ref);
        /* the last '@' decides; a key may hold an earlier "@digits" */
        CU_ASSERT_EQUAL_FATAL(ve_ref_parse("secret/a#k@1@2", &ref, &error), 0);
        CU_ASSERT_STRING_EQUAL(ref.key, "k@1");
        CU_ASSERT_EQUAL(ref.version, 2);
        ve_ref_done(&ref);
        CU_ASSERT_PTR_NULL(error);

        CHECK_REF_ERROR("secret/a#k@", "empty version after '@' in reference: \"secret/a#k@\"");
        CHECK_REF_ERROR("secret/a@", "empty version after '@' in reference: \"secret/a@\"");
        CHECK_REF_ERROR("secret/a#k@0", "version must be a positive integer in reference: \"secret/a#k@0\"");
        CHECK_REF_ERROR("secret/a#k@007", "version must be a positive integer in reference: \"secret/a#k@007\"");
        CHECK_REF_ERROR("secret/a#k@-1", "version must be a positive integer in reference: \"secret/a#k@-1\"");
        CHECK_REF_ERROR("secret/a#k@+1", "version must be a positive integer in reference: \"secret/a#k@+1\"");
        CHECK_REF_ERROR("secret/a#k@2147483648", "version is too large in reference: \"secret/a#k@2147483648\"");
        CHECK_REF_ERROR("secret/a#k@99999999999999999999999",
                        "version is too large in reference: \"secret/a#k@99999999999999999999999\"");
        CHECK_REF_ERROR("secret/app/db@3#password",
                        "'@VERSION' goes at the end of the reference, after '#KEY': \"secret/app/db@3#password\"");
        CHECK_REF_ERROR("kv1:secret/a#k@3", "a version needs KV v2; kv1: reference cannot have one: \"kv1:secret/a#k@3\"");
        CHECK_REF_ERROR("secret/a#@3", "empty key after '#' in reference: \"secret/a#@3\"");
        CHECK_REF_ERROR("secret@3", "reference needs MOUNT/PATH: \"secret@3\"");
        CHECK_REF_ERROR("secret/a/@3", "reference must not end with '/': \"secret/a/@3\"");

        /* in a mapping file: the position of the reference */
        CHECK_ERROR("A = secret/a#k@0\n", SOURCE ":1:5: version must be a positive integer in reference: \"secret/a#k@0\"");
}

static char *write_temp(const char *content, size_t len) {
        char *path = strdup("/tmp/test-mapfile-XXXXXX");
        int fd;

        if (!path)
                return NULL;
        fd = mkstemp(path);
        if (fd < 0) {
                free(path);
                return NULL;
        }
        if (write(fd, content, len) != (ssize_t) len) {
                close(fd);
                unlink(path);
                free(path);
                return NULL;
        }
        close(fd);
        return path;
}

static void test_load(void) {
        struct ve_map *map = POISON;
        char *error = NULL, *path, expected[256];

        CU_ASSERT_EQUAL(ve_map_load("/nonexistent/vaultenv.map", &map, &error), -ENOENT);
        CU_ASSERT_PTR_EQUAL(map, POISON);
        CU_ASSERT_PTR_NOT_NULL_FATAL(error);
        CU_ASSERT_STRING_EQUAL(error, "/nonexistent/vaultenv.map: no such file");
        free(error);
        error = NULL;
        CU_ASSERT_EQUAL(ve_map_load("/nonexistent/vaultenv.map", &map, NULL), -ENOENT);

        CU_ASSERT_EQUAL(ve_map_load("/", &map, &error), -EISDIR);
        CU_ASSERT_PTR_EQUAL(map, POISON);
        CU_ASSERT_PTR_NOT_NULL_FATAL(error);
        CU_ASSERT_STRING_EQUAL(error, "/: Is a directory");
        free(error);
        error = NULL;

        path = write_temp(example, sizeof example - 1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(path);
        map = NULL;
        CU_ASSERT_EQUAL(ve_map_load(path, &map, &error), 0);
        CU_ASSERT_PTR_NULL(error);
        CU_ASSERT_PTR_NOT_NULL_FATAL(map);
        CU_ASSERT_STRING_EQUAL(map->source, path);
        CU_ASSERT_EQUAL(map->n_entries, 6);
        CU_ASSERT_STRING_EQUAL(ve_map_find(map, "GREETING")->default_value, "hello, world");
        CU_ASSERT_EQUAL(ve_map_find(map, "LEGACY_TOKEN")->ref.kv, VE_KV_1);
        ve_map_free(map);
        unlink(path);
        free(path);

        /* Errors name the file as given. */
        path = write_temp("A = m/a\nB = m/b bogus\n", 22);
        CU_ASSERT_PTR_NOT_NULL_FATAL(path);
        map = POISON;
        CU_ASSERT_EQUAL(ve_map_load(path, &map, &error), -EINVAL);
        CU_ASSERT_PTR_EQUAL(map, POISON);
        snprintf(expected, sizeof expected, "%s:2:9: unknown option \"bogus\"", path);
        CU_ASSERT_PTR_NOT_NULL_FATAL(error);
        CU_ASSERT_STRING_EQUAL(error, expected);
        free(error);
        error = NULL;
        unlink(path);
        free(path);

        /* Exactly the limit is fine (comments only), one more byte is not. */
        {
                size_t size = VE_MAP_MAX_SIZE + 1;
                char *big = malloc(size);

                CU_ASSERT_PTR_NOT_NULL_FATAL(big);
                memset(big, '#', size);
                path = write_temp(big, size - 1);
                CU_ASSERT_PTR_NOT_NULL_FATAL(path);
                map = NULL;
                CU_ASSERT_EQUAL(ve_map_load(path, &map, &error), 0);
                CU_ASSERT_PTR_NOT_NULL_FATAL(map);
                CU_ASSERT_EQUAL(map->n_entries, 0);
                ve_map_free(map);
                unlink(path);
                free(path);

                path = write_temp(big, size);
                CU_ASSERT_PTR_NOT_NULL_FATAL(path);
                map = POISON;
                CU_ASSERT_EQUAL(ve_map_load(path, &map, &error), -EFBIG);
                CU_ASSERT_PTR_EQUAL(map, POISON);
                snprintf(expected, sizeof expected, "%s: file too large (more than 1048576 bytes)", path);
                CU_ASSERT_PTR_NOT_NULL_FATAL(error);
                CU_ASSERT_STRING_EQUAL(error, expected);
                free(error);
                error = NULL;
                unlink(path);
                free(path);
                free(big);
        }
}

static void test_templates_in_map(void) {
        struct ve_map *map;

        map = PARSE_OK("URL = \"pg://{{secret/app/db#user}}:{{ secret/app/db#password | urlencode }}@db/app\" required ttl=5m eager\n"
                       "PLAIN = secret/app/db#user\n");
        if (map) {
                const struct ve_map_entry *e = ve_map_find(map, "URL");

                CU_ASSERT_PTR_NOT_NULL_FATAL(e);
                CU_ASSERT_PTR_NOT_NULL_FATAL(e->tmpl);
                CU_ASSERT_EQUAL(e->tmpl->n_refs, 2);
                CU_ASSERT_STRING_EQUAL(e->ref.path, "secret/app/db");    /* the first reference */
                CU_ASSERT_STRING_EQUAL(e->ref.key, "user");
                CU_ASSERT_TRUE(e->required && e->eager);
                CU_ASSERT_EQUAL(e->ttl_ms, 300000);
                CU_ASSERT_PTR_NULL(ve_map_find(map, "PLAIN")->tmpl);
                ve_map_free(map);
        }
        /* errors: FILE:LINE:COL at the problem */
        CHECK_ERROR("A = \"x{{secret/a#b\"\n", SOURCE ":1:7: A: unterminated \"{{\" (no \"}}\")");
        CHECK_ERROR("A = \"x{{ }}\"\n", SOURCE ":1:7: A: empty reference in \"{{ }}\"");
        CHECK_ERROR("A = \"{{secret/a#b | base32}}\"\n", SOURCE ":1:21: A: unknown filter \"base32\" (known: urlencode)");
        CHECK_ERROR("A = \"{{secret}}\"\n", SOURCE ":1:8: A: reference needs MOUNT/PATH: \"secret\"");
        CHECK_ERROR("A = \"{{secret/a#b |}}\"\n", SOURCE ":1:20: A: empty filter after '|'");
        CHECK_ERROR("A = \"x{{'{{'}}\"\n", SOURCE ":1:6: A: template has no reference");
        CHECK_ERROR("A = secret/a#*\n", SOURCE ":1:5: key \"*\" means every key: write the name as a prefix, A_* = ...");
}

static void test_bulk_in_map(void) {
        struct ve_map *map;

        map = PARSE_OK("DB_* = secret/app/db#* ttl=1m\nAPI_* = kv2:secret/api#*@2\nDB_X = secret/a#b\n");
        if (map) {
                CU_ASSERT_EQUAL(map->n_bulk, 2);
                CU_ASSERT_EQUAL(map->n_entries, 1);
                CU_ASSERT_STRING_EQUAL(map->bulk[0].prefix, "DB_");
                CU_ASSERT_STRING_EQUAL(map->bulk[0].ref.path, "secret/app/db");
                CU_ASSERT_EQUAL(map->bulk[0].ttl_ms, 60000);
                CU_ASSERT_EQUAL(map->bulk[1].ref.kv, VE_KV_2);
                CU_ASSERT_EQUAL(map->bulk[1].ref.version, 2);
                CU_ASSERT_EQUAL(map->bulk[1].line, 2);
                ve_map_free(map);
        }
        CHECK_ERROR("* = secret/a#*\n", SOURCE ":1:1: a bulk mapping needs a name prefix before '*' (e.g. DB_*)");
        CHECK_ERROR("1X* = secret/a#*\n", SOURCE ":1:1: invalid variable name prefix \"1X*\"");
        CHECK_ERROR("DB_* = secret/a#*\nDB_PASS_* = secret/b#*\n", SOURCE ":2:1: bulk mapping DB_PASS_* overlaps DB_* (line 1)");
        CHECK_ERROR("DB_* = secret/a#k\n", SOURCE ":1:8: bulk mapping DB_* needs a reference ending in \"#*\" (every key)");
        CHECK_ERROR("DB_* = secret/a#* required\n", SOURCE ":1:19: option \"required\" does not apply to a bulk mapping (only ttl= does)");
        CHECK_ERROR("DB_* = secret/a#* default=fake-x\n", SOURCE ":1:19: option \"default\" does not apply to a bulk mapping (only ttl= does)");
        CHECK_ERROR("DB_* = secret/a#* ttl=1s ttl=2s\n", SOURCE ":1:26: option \"ttl\" given more than once");
        CU_ASSERT_TRUE(ve_bulk_name_matches("password", "PASSWORD"));
        CU_ASSERT_TRUE(ve_bulk_name_matches("host-name.x", "HOST_NAME_X"));
        CU_ASSERT_TRUE(ve_bulk_name_matches("\xc3\xa9t", "__T"));
        CU_ASSERT_FALSE(ve_bulk_name_matches("password", "password"));
        CU_ASSERT_FALSE(ve_bulk_name_matches("pass", "PASSWORD"));
        CU_ASSERT_FALSE(ve_bulk_name_matches("", ""));
}

/* vaultenv's own configuration names are never mapped. */
static void test_reserved_names(void) {
        struct ve_map *map;

        CHECK_ERROR("A = m/a\nVAULT_TOKEN = secret/app/t\n",
                    SOURCE ":2:1: VAULT_TOKEN is one of vaultenv's own configuration names (VAULT_*, VAULTENV_*), "
                    "which are never served through a mapping");
        CHECK_ERROR("  VAULT_SECRET_ID = secret/app/t\n",
                    SOURCE ":1:3: VAULT_SECRET_ID is one of vaultenv's own configuration names (VAULT_*, "
                    "VAULTENV_*), which are never served through a mapping");
        CHECK_ERROR("VAULTENV_MAP = secret/app/t\n",
                    SOURCE ":1:1: VAULTENV_MAP is one of vaultenv's own configuration names (VAULT_*, VAULTENV_*), "
                    "which are never served through a mapping");
        CHECK_ERROR("VAULT_* = secret/app/t#*\n",
                    SOURCE ":1:1: bulk mapping VAULT_* covers vaultenv's own configuration names (VAULT_*, "
                    "VAULTENV_*), which are never served through a mapping");
        CHECK_ERROR("V* = secret/app/t#*\n",
                    SOURCE ":1:1: bulk mapping V* covers vaultenv's own configuration names (VAULT_*, "
                    "VAULTENV_*), which are never served through a mapping");
        CHECK_ERROR("VAULTENV_X_* = secret/app/t#*\n",
                    SOURCE ":1:1: bulk mapping VAULTENV_X_* covers vaultenv's own configuration names (VAULT_*, "
                    "VAULTENV_*), which are never served through a mapping");
        CU_ASSERT_TRUE(ve_name_reserved("VAULT_ADDR"));
        CU_ASSERT_TRUE(ve_name_reserved("VAULTENV_FALLBACK"));
        CU_ASSERT_FALSE(ve_name_reserved("VAULTED"));
        CU_ASSERT_FALSE(ve_name_reserved("MY_VAULT_TOKEN"));
        CU_ASSERT_FALSE(ve_name_reserved(NULL));
        /* Look-alikes stay mappable. */
        map = PARSE_OK("VAULTED = m/a\nvault_token = m/b\nMY_VAULT_TOKEN = m/c\nVB_* = m/d#*\n");
        CU_ASSERT_PTR_NOT_NULL_FATAL(map);
        CU_ASSERT_EQUAL(map->n_entries, 3);
        ve_map_free(map);
}

/* Names the shim passes through to the real environment because libraries
 * read them during its own work (shim/preload/getenv.c: allocator_config(),
 * key_log_name()): a mapping of one could never be served, so it is an
 * error, with the place. Bulk rules stay allowed (every prefix could give
 * a name ending in MALLOC_CONF); the resolver never serves such a name from
 * one (test-export.c, test_bulk_reserved). */
static void test_passthrough_names(void) {
        struct ve_map *map;

        CHECK_ERROR("A = m/a\nMALLOC_CONF = secret/app/t#k\n",
                    SOURCE ":2:1: MALLOC_CONF is an allocator's configuration (every name ending in MALLOC_CONF), "
                    "which vaultenv passes through from the real environment and never serves through a mapping");
        CHECK_ERROR("  _RJEM_MALLOC_CONF = secret/app/t#k\n",
                    SOURCE ":1:3: _RJEM_MALLOC_CONF is an allocator's configuration (every name ending in "
                    "MALLOC_CONF), which vaultenv passes through from the real environment and never serves "
                    "through a mapping");
        CHECK_ERROR("JE_MALLOC_CONF = secret/app/t#k required\n",
                    SOURCE ":1:1: JE_MALLOC_CONF is an allocator's configuration (every name ending in "
                    "MALLOC_CONF), which vaultenv passes through from the real environment and never serves "
                    "through a mapping");
        CHECK_ERROR("A = m/a\nB = m/b\n\tSSLKEYLOGFILE = \"{{ secret/app/t#k }}\"\n",
                    SOURCE ":3:2: SSLKEYLOGFILE is read by the TLS library of vaultenv's own connections, which "
                    "vaultenv passes through from the real environment and never serves through a mapping");
        CU_ASSERT_TRUE(ve_name_reserved("MALLOC_CONF"));
        CU_ASSERT_TRUE(ve_name_reserved("_RJEM_MALLOC_CONF"));
        CU_ASSERT_TRUE(ve_name_reserved("APP_MALLOC_CONF"));
        CU_ASSERT_TRUE(ve_name_reserved("SSLKEYLOGFILE"));
        CU_ASSERT_FALSE(ve_name_reserved("MALLOC_CONF_X"));
        CU_ASSERT_FALSE(ve_name_reserved("MALLOC_ARENA_MAX"));
        CU_ASSERT_FALSE(ve_name_reserved("malloc_conf"));
        CU_ASSERT_FALSE(ve_name_reserved("SSLKEYLOGFILE_X"));
        CU_ASSERT_FALSE(ve_name_reserved("MY_SSLKEYLOGFILE"));
        CU_ASSERT_FALSE(ve_name_reserved("SSL_CERT_FILE"));
        CU_ASSERT_FALSE(ve_name_reserved("ALLOC_CONF"));

        /* Look-alikes and bulk prefixes that cover such names stay
         * mappable. */
        map = PARSE_OK("MALLOC_CONF_X = m/a\nMALLOC_ARENA_MAX = m/b\nmalloc_conf = m/c\nSSLKEYLOGFILE_X = m/d\n"
                       "MY_SSLKEYLOGFILE = m/e\nSSL_* = m/f#*\nMALLOC_* = m/g#*\n"
                       "SSLKEYLOGFILE* = m/i#*\nX_MALLOC_CONF* = m/j#*\n");
        CU_ASSERT_PTR_NOT_NULL_FATAL(map);
        CU_ASSERT_EQUAL(map->n_entries, 5);
        CU_ASSERT_EQUAL(map->n_bulk, 4);
        ve_map_free(map);
        map = PARSE_OK("S* = m/h#*\n");
        CU_ASSERT_PTR_NOT_NULL_FATAL(map);
        CU_ASSERT_EQUAL(map->n_bulk, 1);
        ve_map_free(map);
}

/* The mapping file is checked on the opened descriptor. */
static void test_load_trust(void) {
        static const char text[] = "A = m/a\n";
        struct ve_map *map = POISON;
        char *error = NULL, *path, link[64];

        path = write_temp(text, sizeof text - 1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(path);
        snprintf(link, sizeof link, "%s.link", path);
        CU_ASSERT_EQUAL_FATAL(symlink(path, link), 0);
        CU_ASSERT_EQUAL(chmod(path, 0644), 0);
        CU_ASSERT_EQUAL(ve_map_load(link, &map, &error), 0);
        if (map != POISON)
                ve_map_free(map);
        map = POISON;
        CU_ASSERT_EQUAL(chmod(path, 0664), 0);
        CU_ASSERT_EQUAL(ve_map_load(link, &map, &error), -EPERM);
        CU_ASSERT_PTR_EQUAL(map, POISON);
        CU_ASSERT_PTR_NOT_NULL_FATAL(error);
        CU_ASSERT_PTR_NOT_NULL(strstr(error, "is writable by group or others (mode 0664); refusing the mapping file"));
        CU_ASSERT_EQUAL(strncmp(error, link, strlen(link)), 0);
        free(error);
        unlink(link);
        unlink(path);
        free(path);
}

int main(void) {
        static const struct unit_test tests[] = {
                { "example file", test_example },
                { "empty file", test_empty },
                { "layout: blanks, CRLF, BOM, NUL", test_layout },
                { "comments and '#'", test_comments },
                { "quoting and escapes", test_quoting },
                { "variable names", test_names },
                { "duplicate names", test_duplicates },
                { "prefetch directive", test_prefetch_directive },
                { "many entries", test_many },
                { "options", test_options },
                { "no default value in messages", test_no_default_in_messages },
                { "reference errors in a map", test_ref_errors_in_map },
                { "ve_ref_parse", test_ref_parse },
                { "ve_ref_parse @VERSION", test_ref_version },
                { "ve_map_load", test_load },
                { "templates", test_templates_in_map },
                { "bulk mapping", test_bulk_in_map },
                { "reserved names", test_reserved_names },
                { "names passed through (MALLOC_CONF, SSLKEYLOGFILE)", test_passthrough_names },
                { "ve_map_load trust checks", test_load_trust },
                { NULL, NULL },
        };
        static const struct unit_suite suite = { "mapfile", tests };

        return unit_run(&suite, 1);
}
