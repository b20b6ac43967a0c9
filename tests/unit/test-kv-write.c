/* SPDX-License-Identifier: MIT */
#include "unit.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "kv_write.h"
#include "secret.h"

/* The pure parts of the KV writer: what is written for each answer of the
 * read, and what each answer of the write means. Bodies are Vault's own
 * shapes (see /work/shared/vault-api/recordings-vault-1.8.txt). */

static struct ve_http_response resp(long status, const char *body) {
        return (struct ve_http_response) { .status = status, .body = (char *) body, .len = body ? strlen(body) : 0 };
}

static struct ve_secret *one(const char *k, const char *v) {
        struct ve_secret *s = ve_secret_new();

        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        CU_ASSERT_EQUAL(ve_secret_add(s, k, v), 0);
        return s;
}

#define V2_READ(data, version) \
        "{\"request_id\":\"x\",\"lease_id\":\"\",\"renewable\":false,\"lease_duration\":0," \
        "\"data\":{\"data\":" data ",\"metadata\":{\"created_time\":\"2026-11-22T11:15:10Z\"," \
        "\"deletion_time\":\"\",\"destroyed\":false,\"version\":" version "}},\"wrap_info\":null," \
        "\"warnings\":null,\"auth\":null}\n"

static void test_data_path(void) {
        char *s;

        s = ve_kv_data_path("secret/app/db", 7, 2);
        CU_ASSERT_STRING_EQUAL(s, "secret/data/app/db");
        free(s);
        s = ve_kv_data_path("team/kv/app", 8, 2);
        CU_ASSERT_STRING_EQUAL(s, "team/kv/data/app");
        free(s);
        s = ve_kv_data_path("kv1/app", 4, 1);
        CU_ASSERT_STRING_EQUAL(s, "kv1/app");
        free(s);
}

static void check_body(const char *body, const char *expected_json) {
        cJSON *a = cJSON_Parse(body), *b = cJSON_Parse(expected_json);

        CU_ASSERT_PTR_NOT_NULL(a);
        CU_ASSERT_PTR_NOT_NULL(b);
        CU_ASSERT_TRUE(cJSON_Compare(a, b, true));
        if (!cJSON_Compare(a, b, true))
                fprintf(stderr, "\n  body differs from the expected shape\n");
        cJSON_Delete(a);
        cJSON_Delete(b);
}

static void test_build_v2(void) {
        struct ve_http_response cur = resp(200, V2_READ("{\"user\":\"fake-u\",\"port\":5432,\"pw\":\"fake-old\"}", "7"));
        struct ve_secret *v = one("pw", "fake-new");
        char *body = NULL, *err = NULL;
        long cas = -5;

        /* rotate: keeps other keys and their types, cas = version read */
        CU_ASSERT_EQUAL(ve_kv_build_write("secret/app", 2, &cur, v, VE_KV_PUT_REPLACE, &body, &cas, &err), 0);
        CU_ASSERT_EQUAL(cas, 7);
        check_body(body, "{\"data\":{\"user\":\"fake-u\",\"port\":5432,\"pw\":\"fake-new\"},\"options\":{\"cas\":7}}");
        free(body);
        body = NULL;

        /* merge: new keys appended */
        ve_secret_add(v, "extra", "fake-x");
        CU_ASSERT_EQUAL(ve_kv_build_write("secret/app", 2, &cur, v, VE_KV_PUT_MERGE, &body, &cas, &err), 0);
        check_body(body, "{\"data\":{\"user\":\"fake-u\",\"port\":5432,\"pw\":\"fake-new\",\"extra\":\"fake-x\"},"
                         "\"options\":{\"cas\":7}}");
        free(body);
        body = NULL;

        /* replace: a missing key is refused, naming it */
        CU_ASSERT_EQUAL(ve_kv_build_write("secret/app", 2, &cur, v, VE_KV_PUT_REPLACE, &body, &cas, &err), -ENOENT);
        CU_ASSERT_STRING_EQUAL(err, "secret/app has no key extra");
        CU_ASSERT_PTR_NULL(body);
        free(err);
        err = NULL;

        /* create: an existing secret is refused, no value in the message */
        CU_ASSERT_EQUAL(ve_kv_build_write("secret/app", 2, &cur, v, VE_KV_PUT_CREATE, &body, &cas, &err), -EEXIST);
        CU_ASSERT_STRING_EQUAL(err, "secret/app already holds a secret (3 key(s))");
        free(err);
        err = NULL;
        ve_secret_free(v);
}

static void test_build_absent(void) {
        struct ve_http_response none = resp(404, "{\"errors\":[]}\n");
        /* the latest version deleted: Vault still shows its metadata */
        struct ve_http_response deleted = resp(404,
                "{\"request_id\":\"x\",\"lease_id\":\"\",\"renewable\":false,\"lease_duration\":0,"
                "\"data\":{\"data\":null,\"metadata\":{\"created_time\":\"2026-11-22T11:15:10Z\","
                "\"deletion_time\":\"2026-11-22T11:16:10Z\",\"destroyed\":false,\"version\":4}},"
                "\"wrap_info\":null,\"warnings\":null,\"auth\":null}\n");
        struct ve_secret *v = one("A_KEY", "fake-a");
        char *body = NULL, *err = NULL;
        long cas = -5;

        CU_ASSERT_EQUAL(ve_kv_build_write("secret/app", 2, &none, v, VE_KV_PUT_CREATE, &body, &cas, &err), 0);
        CU_ASSERT_EQUAL(cas, 0);
        check_body(body, "{\"data\":{\"A_KEY\":\"fake-a\"},\"options\":{\"cas\":0}}");
        free(body);
        body = NULL;

        CU_ASSERT_EQUAL(ve_kv_build_write("secret/app", 2, &deleted, v, VE_KV_PUT_CREATE, &body, &cas, &err), 0);
        CU_ASSERT_EQUAL(cas, 4);
        check_body(body, "{\"data\":{\"A_KEY\":\"fake-a\"},\"options\":{\"cas\":4}}");
        free(body);
        body = NULL;

        CU_ASSERT_EQUAL(ve_kv_build_write("secret/app", 2, &none, v, VE_KV_PUT_REPLACE, &body, &cas, &err), -ENOENT);
        CU_ASSERT_STRING_EQUAL(err, "no secret at secret/app");
        free(err);
        err = NULL;

        /* KV v1: no options, no cas */
        CU_ASSERT_EQUAL(ve_kv_build_write("kv1/app", 1, &none, v, VE_KV_PUT_CREATE, &body, &cas, &err), 0);
        CU_ASSERT_EQUAL(cas, -1);
        check_body(body, "{\"A_KEY\":\"fake-a\"}");
        free(body);
        body = NULL;
        ve_secret_free(v);
}

static void test_build_v1_merge(void) {
        struct ve_http_response cur = resp(200,
                "{\"request_id\":\"x\",\"lease_id\":\"\",\"renewable\":false,\"lease_duration\":2764800,"
                "\"data\":{\"keep\":\"fake-k\",\"flag\":true},\"wrap_info\":null,\"warnings\":null,\"auth\":null}\n");
        struct ve_secret *v = one("new", "fake-n");
        char *body = NULL, *err = NULL;
        long cas = 0;

        CU_ASSERT_EQUAL(ve_kv_build_write("kv1/app", 1, &cur, v, VE_KV_PUT_MERGE, &body, &cas, &err), 0);
        check_body(body, "{\"keep\":\"fake-k\",\"flag\":true,\"new\":\"fake-n\"}");
        free(body);
        ve_secret_free(v);
}

static void test_build_malformed(void) {
        struct ve_http_response cur = resp(200, "{\"data\":{\"data\":\"fake-not-an-object\"");
        struct ve_secret *v = one("k", "fake-v");
        char *body = NULL, *err = NULL;
        long cas = 0;

        CU_ASSERT_EQUAL(ve_kv_build_write("secret/app", 2, &cur, v, VE_KV_PUT_MERGE, &body, &cas, &err), -EPROTO);
        CU_ASSERT_PTR_NOT_NULL_FATAL(err);
        CU_ASSERT_PTR_NULL(strstr(err, "fake"));
        CU_ASSERT_PTR_NULL(body);
        free(err);
        ve_secret_free(v);
}

/* Answers the checked parser refuses (ve_vault_parse_json()): read with
 * cJSON alone, each would give a write (or a version) all the same. */
static void test_build_refused(void) {
        static const struct {
                long status;
                const char *body;
                const char *msg;
        } cases[] = {
                /* a deleted latest version whose metadata has "version"
                 * twice: cJSON alone takes the first for cas */
                { 404, "{\"data\":{\"data\":null,\"metadata\":{\"deletion_time\":\"2026-11-22T11:16:10Z\","
                       "\"destroyed\":false,\"version\":4,\"version\":9}}}",
                  "unexpected answer from Vault for secret/app: key \"version\" appears twice in one object of "
                  "the answer from Vault" },
                /* text after the answer: cJSON alone stops before it */
                { 404, "{\"errors\":[]} x", "unexpected answer from Vault for secret/app: malformed JSON from Vault" },
                { 404, "{\"data\":{\"data\":null,\"metadata\":{\"version\":4}}}{\"data\":null}",
                  "unexpected answer from Vault for secret/app: malformed JSON from Vault" },
                { 200, V2_READ("{\"pw\":\"fake-old\"}", "7") "trailing",
                  "unexpected answer from Vault for secret/app: malformed JSON from Vault" },
                { 404, "<html>Not Found</html>", "unexpected answer from Vault for secret/app: malformed JSON from Vault" },
        };

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                struct ve_http_response cur = resp(cases[i].status, cases[i].body);
                struct ve_secret *v = one("pw", "fake-new");
                char *body = NULL, *err = NULL;
                long cas = -5;

                CU_ASSERT_EQUAL(ve_kv_build_write("secret/app", 2, &cur, v, VE_KV_PUT_MERGE, &body, &cas, &err), -EPROTO);
                CU_ASSERT_PTR_NULL(body);
                CU_ASSERT_EQUAL(cas, -5);
                CU_ASSERT_PTR_NOT_NULL(err);
                if (err && strcmp(err, cases[i].msg) != 0) {
                        fprintf(stderr, "case %zu: got \"%s\"\n", i, err);
                        CU_FAIL("message differs");
                }
                free(body);
                free(err);
                ve_secret_free(v);
        }
}

static void test_write_result_refused(void) {
        static const struct {
                const char *body;
                const char *msg;
        } cases[] = {
                { "{\"data\":{\"version\":2,\"version\":3}}",
                  "unexpected answer from Vault writing secret/app: key \"version\" appears twice in one object of "
                  "the answer from Vault" },
                { "{\"data\":{\"version\":2}} x", "unexpected answer from Vault writing secret/app: malformed JSON from Vault" },
                { "{\"data\":{\"version\":2}}{\"data\":{\"version\":3}}",
                  "unexpected answer from Vault writing secret/app: malformed JSON from Vault" },
                { "{\"data\":{\"version\":\"2\"}}", "unexpected answer from Vault writing secret/app: no data.version" },
                { "{\"data\":null}", "unexpected answer from Vault writing secret/app: no data.version" },
        };

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                struct ve_http_response r = resp(200, cases[i].body);
                char *err = NULL;
                long version = -5;

                CU_ASSERT_EQUAL(ve_kv_write_result("secret/app", 2, 1, &r, true, &version, &err), -EPROTO);
                CU_ASSERT_EQUAL(version, -5);
                CU_ASSERT_PTR_NOT_NULL(err);
                if (err && strcmp(err, cases[i].msg) != 0) {
                        fprintf(stderr, "case %zu: got \"%s\"\n", i, err);
                        CU_FAIL("message differs");
                }
                free(err);
        }
}

static void test_write_result(void) {
        struct ve_http_response r;
        char *err = NULL;
        long version = -1;

        /* recorded: the answer of a KV v2 write */
        r = resp(200, "{\"request_id\":\"x\",\"lease_id\":\"\",\"renewable\":false,\"lease_duration\":0,"
                      "\"data\":{\"created_time\":\"2026-11-22T11:15:10Z\",\"deletion_time\":\"\","
                      "\"destroyed\":false,\"version\":2},\"wrap_info\":null,\"warnings\":null,\"auth\":null}\n");
        CU_ASSERT_EQUAL(ve_kv_write_result("secret/app", 2, 1, &r, true, &version, &err), 0);
        CU_ASSERT_EQUAL(version, 2);

        /* recorded: the check-and-set mismatch */
        r = resp(400, "{\"errors\":[\"check-and-set parameter did not match the current version\"]}\n");
        CU_ASSERT_EQUAL(ve_kv_write_result("secret/app", 2, 1, &r, true, &version, &err), -ESTALE);
        CU_ASSERT_STRING_EQUAL(err, "secret/app changed after it was read (check-and-set against version 1 "
                                    "failed); nothing was written");
        free(err);
        err = NULL;

        /* another 400 is not a conflict */
        r = resp(400, "{\"errors\":[\"no data provided\"]}\n");
        CU_ASSERT_EQUAL(ve_kv_write_result("secret/app", 2, 1, &r, true, &version, &err), -EIO);
        CU_ASSERT_STRING_EQUAL(err, "unexpected HTTP status 400 for secret/app: no data provided");
        free(err);
        err = NULL;

        r = resp(403, "{\"errors\":[\"1 error occurred:\\n\\t* permission denied\\n\\n\"]}\n");
        CU_ASSERT_EQUAL(ve_kv_write_result("secret/app", 2, 1, &r, true, &version, &err), -EACCES);
        CU_ASSERT_PTR_NOT_NULL(err);
        CU_ASSERT_PTR_NOT_NULL(err ? strstr(err, "permission denied on secret/app") : NULL);
        free(err);
        err = NULL;

        r = resp(204, NULL);
        version = -1;
        CU_ASSERT_EQUAL(ve_kv_write_result("kv1/app", 1, -1, &r, true, &version, &err), 0);
        CU_ASSERT_EQUAL(version, 0);

        /* a 200 without a version is not a success */
        r = resp(200, "{\"data\":{}}");
        CU_ASSERT_EQUAL(ve_kv_write_result("secret/app", 2, 1, &r, true, &version, &err), -EPROTO);
        free(err);
}

static void test_readback(void) {
        struct ve_http_response same = resp(200, V2_READ("{\"a\":\"fake-1\",\"b\":\"fake-2\"}", "3"));
        struct ve_http_response other = resp(200, V2_READ("{\"a\":\"fake-X\",\"b\":\"fake-2\"}", "3"));
        struct ve_secret *want = one("a", "fake-1");
        char *err = NULL;

        CU_ASSERT_EQUAL(ve_kv_check_readback("secret/app", 2, &same, want, &err), 0);
        CU_ASSERT_PTR_NULL(err);
        CU_ASSERT_EQUAL(ve_kv_check_readback("secret/app", 2, &other, want, &err), -EIO);
        CU_ASSERT_STRING_EQUAL(err, "secret/app: a read back differs from what was written");
        free(err);
        ve_secret_free(want);
}

int main(void) {
        static const struct unit_test tests[] = {
                { "API paths", test_data_path },
                { "KV v2 bodies: replace, merge, create", test_build_v2 },
                { "absent and deleted secrets", test_build_absent },
                { "KV v1 merge keeps types", test_build_v1_merge },
                { "malformed read answer", test_build_malformed },
                { "refused read answers (checked parser)", test_build_refused },
                { "write answers: version, CAS conflict, errors", test_write_result },
                { "refused write answers (checked parser)", test_write_result_refused },
                { "read back", test_readback },
                { NULL, NULL },
        };
        static const struct unit_suite suite = { "kv-write", tests };

        return unit_run(&suite, 1);
}
