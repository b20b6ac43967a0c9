/* SPDX-License-Identifier: MIT */
#include "unit.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rotate.h"

static void test_length(void) {
        size_t n = 0;
        char *err = NULL;

        CU_ASSERT_EQUAL(ve_rotate_parse_length("32", &n, &err), 0);
        CU_ASSERT_EQUAL(n, 32);
        CU_ASSERT_EQUAL(ve_rotate_parse_length("8", &n, &err), 0);
        CU_ASSERT_EQUAL(ve_rotate_parse_length("4096", &n, &err), 0);
        CU_ASSERT_EQUAL(n, 4096);
        n = 99;
        CU_ASSERT_EQUAL(ve_rotate_parse_length("7", &n, &err), -EINVAL);
        CU_ASSERT_EQUAL(n, 99);
        CU_ASSERT_STRING_EQUAL(err, "--length \"7\": expected a number from 8 to 4096");
        free(err);
        err = NULL;
        static const char *const bad[] = { "", "4097", "-1", "12a", " 12", "99999999999999999999999", "0x10" };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                CU_ASSERT_EQUAL(ve_rotate_parse_length(bad[i], &n, &err), -EINVAL);
                CU_ASSERT_PTR_NOT_NULL(err);
                free(err);
                err = NULL;
        }
}

/* Rejection sampling: with 62 characters, bytes 248..255 are dropped and
 * every other byte b gives alphabet[b % 62]. */
static void test_map(void) {
        uint8_t bytes[] = { 0, 61, 62, 247, 248, 255, 1 };
        char out[8] = {};
        size_t used = 0, n;

        n = ve_random_map(bytes, sizeof bytes, VE_ROTATE_ALPHABET, out, 8, &used);
        CU_ASSERT_EQUAL(n, 5);
        CU_ASSERT_EQUAL(used, 7);
        CU_ASSERT_NSTRING_EQUAL(out, "A9A9B", 5);   /* 0, 61, 62%62=0, 247%62=61, 1 */

        n = ve_random_map(bytes, sizeof bytes, VE_ROTATE_ALPHABET, out, 2, &used);
        CU_ASSERT_EQUAL(n, 2);
        CU_ASSERT_EQUAL(used, 2);

        /* 2 divides 256: no byte is dropped */
        n = ve_random_map(bytes, sizeof bytes, "ab", out, 8, &used);
        CU_ASSERT_EQUAL(n, 7);
        CU_ASSERT_NSTRING_EQUAL(out, "abababb", 7);
        /* 255 characters: only byte 255 is dropped */
        {
                char alpha[256];

                for (int i = 0; i < 255; i++)
                        alpha[i] = (char) (i + 1);
                alpha[255] = '\0';
                CU_ASSERT_EQUAL(ve_random_map(bytes, sizeof bytes, alpha, out, 8, &used), 6);
        }
        CU_ASSERT_EQUAL(ve_random_map(bytes, sizeof bytes, "", out, 8, &used), 0);
}

static void test_random_string(void) {
        enum { K = 62, N = 62 * 2000 };
        unsigned counts[256] = {};
        char *s = NULL, *t = NULL;

        CU_ASSERT_EQUAL(ve_random_string(VE_ROTATE_ALPHABET, 32, &s), 0);
        CU_ASSERT_EQUAL(strlen(s), 32);
        CU_ASSERT_EQUAL(strspn(s, VE_ROTATE_ALPHABET), 32);
        CU_ASSERT_EQUAL(ve_random_string(VE_ROTATE_ALPHABET, 32, &t), 0);
        CU_ASSERT_STRING_NOT_EQUAL(s, t);
        free(s);
        free(t);

        CU_ASSERT_EQUAL(ve_random_string(VE_ROTATE_ALPHABET, 0, &s), -EINVAL);
        CU_ASSERT_EQUAL(ve_random_string("", 8, &s), -EINVAL);

        /* Uniformity sanity: each character's count within 2000 +- 300
         * (about 6.8 standard deviations: a false alarm is out of reach). */
        CU_ASSERT_EQUAL_FATAL(ve_random_string(VE_ROTATE_ALPHABET, N, &s), 0);
        CU_ASSERT_EQUAL(strlen(s), N);
        for (size_t i = 0; i < N; i++)
                counts[(unsigned char) s[i]]++;
        for (size_t i = 0; i < K; i++) {
                unsigned c = counts[(unsigned char) VE_ROTATE_ALPHABET[i]];
                CU_ASSERT_TRUE(c > 1700 && c < 2300);
        }
        free(s);
}

static char *write_temp(const char *content, size_t len) {
        char tmpl[] = "/tmp/test-rotate-XXXXXX";
        int fd = mkstemp(tmpl);

        CU_ASSERT_TRUE_FATAL(fd >= 0);
        CU_ASSERT_EQUAL(write(fd, content, len), (ssize_t) len);
        close(fd);
        return strdup(tmpl);
}

static void check_value_file(const char *content, size_t len, int expected_r, const char *expected) {
        char *path = write_temp(content, len), *value = NULL, *err = NULL;
        int r = ve_rotate_read_value(path, &value, &err);

        CU_ASSERT_EQUAL(r, expected_r);
        if (expected_r == 0 && value)
                CU_ASSERT_STRING_EQUAL(value, expected);
        if (expected_r != 0) {
                CU_ASSERT_PTR_NULL(value);
                CU_ASSERT_PTR_NOT_NULL(err);
                CU_ASSERT_PTR_NOT_NULL(err ? strstr(err, path) : NULL);
                CU_ASSERT_PTR_NULL(err ? strstr(err, "fake") : NULL);
        }
        unlink(path);
        free(path);
        free(value);
        free(err);
}

static void test_value_file(void) {
        char *value = NULL, *err = NULL;

        check_value_file("fake-v\n", 7, 0, "fake-v");
        check_value_file("fake-v\r\n", 8, 0, "fake-v");
        check_value_file("fake-v", 6, 0, "fake-v");
        check_value_file("fake-v\n\n", 8, 0, "fake-v\n");       /* one newline only */
        check_value_file("fake\nmulti", 10, 0, "fake\nmulti");
        check_value_file("\n", 1, -EINVAL, NULL);
        check_value_file("", 0, -EINVAL, NULL);
        check_value_file("fake\0v", 6, -EINVAL, NULL);

        CU_ASSERT_EQUAL(ve_rotate_read_value("/nonexistent/x", &value, &err), -ENOENT);
        CU_ASSERT_STRING_EQUAL(err, "--value-file /nonexistent/x: No such file or directory");
        free(err);
}

int main(void) {
        static const struct unit_test tests[] = {
                { "--length bounds", test_length },
                { "rejection sampling", test_map },
                { "random strings: alphabet, length, uniformity", test_random_string },
                { "--value-file", test_value_file },
                { NULL, NULL },
        };
        static const struct unit_suite suite = { "rotate", tests };

        return unit_run(&suite, 1);
}
