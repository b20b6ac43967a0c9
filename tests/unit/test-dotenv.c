/* SPDX-License-Identifier: MIT */
#include "unit.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dotenv.h"
#include "export.h"

/* Values here are fake; an assertion failure prints names and error texts
 * only, never a value. */

#define SOURCE "t.env"

static struct ve_dotenv *parse_ok(const char *text, size_t len, int line) {
        struct ve_dotenv *d = NULL;
        char *error = NULL;
        int r;

        r = ve_dotenv_parse(SOURCE, text, len, &d, &error);
        CU_ASSERT_EQUAL(r, 0);
        if (r != 0) {
                fprintf(stderr, "\n  line %d: r=%d error=<%s>\n", line, r, error ? error : "(null)");
                free(error);
                return NULL;
        }
        CU_ASSERT_PTR_NULL(error);
        return d;
}
#define PARSE_OK(lit) parse_ok((lit), sizeof(lit) - 1, __LINE__)

static bool check_error(const char *text, size_t len, const char *expected, int line) {
        struct ve_dotenv *d = (struct ve_dotenv *) 0x1;
        char *error = NULL;
        bool ok;
        int r;

        r = ve_dotenv_parse(SOURCE, text, len, &d, &error);
        ok = r == -EINVAL && d == (struct ve_dotenv *) 0x1 && error && strcmp(error, expected) == 0;
        if (!ok)
                fprintf(stderr, "\n  line %d: r=%d error=<%s>\n  expected <%s>\n", line, r,
                        error ? error : "(null)", expected);
        if (r == 0)
                ve_dotenv_free(d);
        free(error);
        return ok;
}
#define CHECK_ERROR(lit, expected) CU_ASSERT_TRUE(check_error((lit), sizeof(lit) - 1, (expected), __LINE__))

/* entry i has name and value (NULL: no value) */
static bool has(const struct ve_dotenv *d, size_t i, const char *name, const char *value) {
        if (!d || i >= d->n)
                return false;
        if (strcmp(d->entries[i].name, name) != 0)
                return false;
        if (!value || !d->entries[i].value)
                return value == d->entries[i].value;
        return strcmp(d->entries[i].value, value) == 0;
}

static void test_basic(void) {
        struct ve_dotenv *d = PARSE_OK(
                "# a comment\n"
                "\n"
                "A=1\n"
                "  B = two words  \n"
                "export C=x\n"
                "D=\n"
                "E\n"
                "F=v # trailing comment\n"
                "G=v#not-a-comment\n"
                "H=#also-a-value\n"
                "   # indented comment\n"
                "I=last");

        CU_ASSERT_PTR_NOT_NULL_FATAL(d);
        CU_ASSERT_EQUAL(d->n, 9);
        CU_ASSERT_TRUE(has(d, 0, "A", "1"));
        CU_ASSERT_TRUE(has(d, 1, "B", "two words"));
        CU_ASSERT_TRUE(has(d, 2, "C", "x"));
        CU_ASSERT_TRUE(d->entries[2].exported);
        CU_ASSERT_FALSE(d->entries[1].exported);
        CU_ASSERT_TRUE(has(d, 3, "D", ""));
        CU_ASSERT_TRUE(has(d, 4, "E", NULL));
        CU_ASSERT_EQUAL(d->entries[4].quote, VE_DOTENV_BARE);
        CU_ASSERT_TRUE(has(d, 5, "F", "v"));
        CU_ASSERT_TRUE(has(d, 6, "G", "v#not-a-comment"));
        CU_ASSERT_TRUE(has(d, 7, "H", "#also-a-value"));
        CU_ASSERT_TRUE(has(d, 8, "I", "last"));
        CU_ASSERT_EQUAL(d->entries[0].line, 3);
        CU_ASSERT_EQUAL(d->entries[8].line, 12);
        CU_ASSERT_FALSE(d->crlf);
        ve_dotenv_free(d);
}

static void test_crlf(void) {
        struct ve_dotenv *d = PARSE_OK("\xef\xbb\xbf" "A=1\r\nB='q'\r\n# c\r\nC=\"x\r\ny\"\r\nD=trail  \r\n");

        CU_ASSERT_PTR_NOT_NULL_FATAL(d);
        CU_ASSERT_TRUE(d->crlf);
        CU_ASSERT_EQUAL(d->n, 4);
        CU_ASSERT_TRUE(has(d, 0, "A", "1"));
        CU_ASSERT_TRUE(has(d, 1, "B", "q"));
        CU_ASSERT_TRUE(has(d, 2, "C", "x\ny"));
        CU_ASSERT_EQUAL(d->entries[2].line, 4);
        CU_ASSERT_EQUAL(d->entries[2].last_line, 5);
        CU_ASSERT_TRUE(has(d, 3, "D", "trail"));
        ve_dotenv_free(d);
}

static void test_quotes(void) {
        struct ve_dotenv *d = PARSE_OK(
                "S='lit \\n $HOME \"x\" # no comment'\n"
                "M='multi\nline'\n"
                "Q=\"a\\nb\\tc\\\\d\\\"e\\$f\\rg\\x41\\x7e\\'h\\qi\"  # c\n"
                "DQ=\"two\nlines\"\n"
                "E=\"\"\n"
                "ES=''\n"
                "X=\"${OTHER}\"\n"
                "Y=$OTHER\n"
                "Z=\"\\${NOT}\"\n"
                "W='${LIT}'\n"
                "P=a$\n");

        CU_ASSERT_PTR_NOT_NULL_FATAL(d);
        CU_ASSERT_EQUAL_FATAL(d->n, 11);
        CU_ASSERT_TRUE(has(d, 0, "S", "lit \\n $HOME \"x\" # no comment"));
        CU_ASSERT_EQUAL(d->entries[0].quote, VE_DOTENV_SINGLE);
        CU_ASSERT_FALSE(d->entries[0].expands);
        CU_ASSERT_TRUE(has(d, 1, "M", "multi\nline"));
        CU_ASSERT_TRUE(has(d, 2, "Q", "a\nb\tc\\d\"e$f\rgA~'h\\qi"));
        CU_ASSERT_EQUAL(d->entries[2].quote, VE_DOTENV_DOUBLE);
        CU_ASSERT_FALSE(d->entries[2].expands);
        CU_ASSERT_TRUE(has(d, 3, "DQ", "two\nlines"));
        CU_ASSERT_EQUAL(d->entries[4].line, 7);
        CU_ASSERT_TRUE(has(d, 4, "E", ""));
        CU_ASSERT_TRUE(has(d, 5, "ES", ""));
        CU_ASSERT_TRUE(has(d, 6, "X", "${OTHER}"));
        CU_ASSERT_TRUE(d->entries[6].expands);
        CU_ASSERT_TRUE(d->entries[7].expands);
        CU_ASSERT_TRUE(has(d, 8, "Z", "${NOT}"));
        CU_ASSERT_FALSE(d->entries[8].expands);
        CU_ASSERT_FALSE(d->entries[9].expands);
        CU_ASSERT_FALSE(d->entries[10].expands);
        ve_dotenv_free(d);
}

static void test_errors(void) {
        CHECK_ERROR("A=1\n=2\n", "t.env:2:1: expected a variable name");
        CHECK_ERROR("1A=2\n", "t.env:1:1: expected a variable name");
        CHECK_ERROR("A-B=2\n", "t.env:1:2: invalid character in variable name");
        CHECK_ERROR("A B=2\n", "t.env:1:3: expected '=' after A");
        CHECK_ERROR("OK=1\nA='fake-secret\n", "t.env:2:3: unterminated single-quoted value");
        CHECK_ERROR("A=\"fake-secret\nmore\n", "t.env:1:3: unterminated double-quoted value");
        CHECK_ERROR("A=\"fake-secret\" junk\n", "t.env:1:17: unexpected character after the closing quote");
        CHECK_ERROR("A='fake'x\n", "t.env:1:9: unexpected character after the closing quote");
        CHECK_ERROR("A=\"fa\\xZZke\"\n", "t.env:1:6: \\x must be followed by two hex digits");
        CHECK_ERROR("A=\"fa\\x00ke\"\n", "t.env:1:6: \\x00: a value cannot hold a NUL byte");
        CHECK_ERROR("A=1\nB=fa\0ke\n", "t.env:2:5: NUL byte in the file");
        CHECK_ERROR("A=\"fake\\", "t.env:1:3: unterminated double-quoted value");
        {
                char longname[300];

                memset(longname, 'N', 256);
                memcpy(longname + 256, "=1\n", 4);
                CU_ASSERT_TRUE(check_error(longname, strlen(longname), "t.env:1:1: variable name longer than 255 bytes", __LINE__));
                longname[255] = '=';
                longname[256] = '1';
                longname[257] = '\0';
                {
                        struct ve_dotenv *d = parse_ok(longname, strlen(longname), __LINE__);

                        CU_ASSERT_EQUAL(d ? d->n : 0, 1);
                        ve_dotenv_free(d);
                }
        }
        /* A multi-line value: the error after it is on its last line. */
        CHECK_ERROR("A=\"x\ny\"z\n", "t.env:2:3: unexpected character after the closing quote");
}

/* No byte of a value ever appears in a message. */
static void test_no_value_in_errors(void) {
        static const char *const bad[] = {
                "A='fake-secret-1",
                "A=\"fake-secret-1",
                "A=\"fake-secret-1\" fake-secret-1",
                "A=\"fake-secret-1\\x0",
        };

        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                struct ve_dotenv *d = NULL;
                char *error = NULL;

                CU_ASSERT_EQUAL(ve_dotenv_parse(SOURCE, bad[i], strlen(bad[i]), &d, &error), -EINVAL);
                CU_ASSERT_PTR_NOT_NULL_FATAL(error);
                CU_ASSERT_PTR_NULL(strstr(error, "fake"));
                free(error);
        }
}

static void test_find_and_duplicates(void) {
        struct ve_dotenv *d = PARSE_OK("A=first\nB=x\nA=second\nA\n");

        CU_ASSERT_PTR_NOT_NULL_FATAL(d);
        CU_ASSERT_EQUAL(d->n, 4);
        CU_ASSERT_PTR_EQUAL(ve_dotenv_find(d, "A"), &d->entries[2]);
        CU_ASSERT_PTR_NULL(ve_dotenv_find(d, "C"));
        ve_dotenv_free(d);
}

static void test_rewrite(void) {
        static const char text[] = "# head\r\nA=1\r\nB=\"x\r\ny\"\r\n\r\nC=3 # c\r\nD=4";
        struct ve_dotenv *d = PARSE_OK(text);
        const char *rep[4] = {};
        char *out = NULL;

        CU_ASSERT_PTR_NOT_NULL_FATAL(d);
        CU_ASSERT_EQUAL_FATAL(d->n, 4);
        CU_ASSERT_EQUAL(ve_dotenv_rewrite(d, rep, &out), 0);
        CU_ASSERT_STRING_EQUAL(out, text);
        free(out);

        rep[1] = "# B moved";
        rep[2] = "";
        CU_ASSERT_EQUAL(ve_dotenv_rewrite(d, rep, &out), 0);
        CU_ASSERT_STRING_EQUAL(out, "# head\r\nA=1\r\n# B moved\r\n\r\nD=4");
        free(out);

        rep[1] = NULL;
        rep[2] = NULL;
        rep[3] = "";
        CU_ASSERT_EQUAL(ve_dotenv_rewrite(d, rep, &out), 0);
        CU_ASSERT_STRING_EQUAL(out, "# head\r\nA=1\r\nB=\"x\r\ny\"\r\n\r\nC=3 # c\r\n");
        free(out);
        ve_dotenv_free(d);
}

/* What `vaultenv export --format dotenv` writes (export.c) reads back. */
static void test_export_round_trip(void) {
        static const char *const values[] = {
                "", "fake-simple", "fake'quote", "fake\nline\r\n", "fake $X ${Y} \\ \" \t \x01 \x1f \x7f \xc3\xa9",
                "  spaced  ", "#hash", "fake\\x41", "fake with spaces # and hash", "fake\nmulti\r\nline",
                "fake\xc3\xa9", "\"", "'", "\\", "$",
        };

        for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
                struct ve_dotenv *d = NULL;
                char *q = ve_dotenv_quote(values[i]), *line = NULL, *error = NULL;

                CU_ASSERT_PTR_NOT_NULL_FATAL(q);
                CU_ASSERT_TRUE(asprintf(&line, "export N=%s\n", q) > 0);
                CU_ASSERT_EQUAL(ve_dotenv_parse(SOURCE, line, strlen(line), &d, &error), 0);
                CU_ASSERT_TRUE(d && d->n == 1 && strcmp(d->entries[0].value, values[i]) == 0);
                CU_ASSERT_TRUE(d && !d->entries[0].expands);
                if (!(d && d->n == 1 && strcmp(d->entries[0].value, values[i]) == 0))
                        fprintf(stderr, "\n  export's dotenv form of value %zu does not read back\n", i);
                ve_dotenv_free(d);
                free(error);
                free(line);
                free(q);
        }
}

int main(void) {
        static const struct unit_test tests[] = {
                { "basic lines, comments, export, bare names", test_basic },
                { "CRLF and BOM", test_crlf },
                { "quotes, escapes, expansion flag", test_quotes },
                { "errors: FILE:LINE:COL", test_errors },
                { "no value in messages", test_no_value_in_errors },
                { "duplicates and find", test_find_and_duplicates },
                { "rewrite keeps everything else", test_rewrite },
                { "export --format dotenv reads back", test_export_round_trip },
                { NULL, NULL },
        };
        static const struct unit_suite suite = { "dotenv", tests };

        return unit_run(&suite, 1);
}
