/* SPDX-License-Identifier: MIT */
/* Tests of lib/transport/vault_json.c (with the real response bodies of a Vault 1.8
 * server, in tests/data/vault/, copied byte for byte from
 * recordings-vault-1.8.txt) and of lib/vault/vault.c against an in-test HTTP
 * responder on 127.0.0.1 that answers with those bodies.
 *
 * Every token and value here is fake. Nothing prints a token, a value or a
 * body: assertions compare, and CUnit reports only the assertion's text. */
#include "unit.h"
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "httpd.h"
#include "log.h"
#include "mapfile.h"
#include "secret.h"
#include "settings.h"
#include "util.h"
#include "lease.h"
#include "vault.h"

#define FAKE_TOKEN "s.FAKEtesttoken000000000"
#define FAKE_FILE_TOKEN "hvs.FAKEfromfile"

/* ---- fixtures ---- */

/* VE_TEST_DATA when meson runs the test; else next to this source file
 * (__FILE__ is relative to the build directory with meson, so also try the
 * usual working directories: the source root and the build directory). */
static char *data_dir(void) {
        const char *env = getenv("VE_TEST_DATA");
        char *src, *slash, *cand[3] = {};
        char *found = NULL;

        if (env)
                return strdup(env);
        src = strdup(__FILE__);
        if (!src)
                return NULL;
        slash = strrchr(src, '/');
        if (slash)
                *slash = 0;
        cand[0] = ve_asprintf("%s/../data", slash ? src : ".");
        cand[1] = strdup("tests/data");
        cand[2] = strdup("../tests/data");
        for (size_t i = 0; i < 3; i++) {
                char *probe = cand[i] ? ve_asprintf("%s/vault/kv2-read.json", cand[i]) : NULL;

                if (!found && probe && access(probe, R_OK) == 0) {
                        found = cand[i];
                        cand[i] = NULL;
                }
                free(probe);
                free(cand[i]);
        }
        free(src);
        return found;
}

static char *fixture(const char *name, size_t *ret_len) {
        char *dir, *path, *data = NULL;
        size_t len = 0;

        dir = data_dir();
        CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
        path = ve_asprintf("%s/vault/%s", dir, name);
        free(dir);
        CU_ASSERT_PTR_NOT_NULL_FATAL(path);
        CU_ASSERT_EQUAL_FATAL(ve_read_file(path, 1 << 20, &data, &len), 0);
        free(path);
        if (ret_len)
                *ret_len = len;
        return data;
}

#define BODY_OF(literal) literal, sizeof literal - 1

static int parse_kv_str(int version, const char *body, struct ve_secret **s, char **err) {
        return ve_vault_parse_kv(version, body, strlen(body), s, err);
}

/* ---- vault_json.c ---- */

static void test_kv2_read(void) {
        struct ve_secret *s = NULL;
        char *err = NULL, *body;
        size_t len;

        body = fixture("kv2-read.json", &len);
        CU_ASSERT_EQUAL_FATAL(ve_vault_parse_kv(2, body, len, &s, &err), 0);
        CU_ASSERT_PTR_NULL(err);
        CU_ASSERT_EQUAL(s->n, 2);
        CU_ASSERT_STRING_EQUAL(ve_secret_get(s, "username"), "alice");
        CU_ASSERT_STRING_EQUAL(ve_secret_get(s, "password"), "v2");
        CU_ASSERT_EQUAL(s->version, 2);
        /* the envelope's and the metadata's fields are not keys */
        CU_ASSERT_PTR_NULL(ve_secret_get(s, "created_time"));
        CU_ASSERT_PTR_NULL(ve_secret_get(s, "request_id"));
        ve_secret_free(s);
        free(body);

        body = fixture("kv2-read-v1.json", &len);
        CU_ASSERT_EQUAL_FATAL(ve_vault_parse_kv(2, body, len, &s, &err), 0);
        CU_ASSERT_STRING_EQUAL(ve_secret_get(s, "password"), "s3cr3t");
        CU_ASSERT_EQUAL(s->version, 1);
        ve_secret_free(s);
        free(body);
}

static void test_kv1_read(void) {
        struct ve_secret *s = NULL;
        char *err = NULL, *body, *nl;
        size_t len;

        body = fixture("kv1-read.json", &len);
        CU_ASSERT_EQUAL_FATAL(ve_vault_parse_kv(1, body, len, &s, &err), 0);
        CU_ASSERT_EQUAL(s->n, 3);
        CU_ASSERT_STRING_EQUAL(ve_secret_get(s, "username"), "bob");
        CU_ASSERT_STRING_EQUAL(ve_secret_get(s, "password"), "pw");
        CU_ASSERT_STRING_EQUAL(ve_secret_get(s, "ttl"), "1h");   /* a key like any other */
        CU_ASSERT_EQUAL(s->version, 0);
        ve_secret_free(s);

        /* Go's encoder ends bodies with "\n"; surrounding blanks are fine */
        nl = ve_asprintf(" \r\n%s\n", body);
        CU_ASSERT_EQUAL(parse_kv_str(1, nl, &s, &err), 0);
        ve_secret_free(s);
        free(nl);

        /* a KV v2 body read as v1: data has "data" and "metadata" as keys
         * holding objects, printed as compact JSON */
        free(body);
        body = fixture("kv2-read.json", &len);
        CU_ASSERT_EQUAL_FATAL(ve_vault_parse_kv(1, body, len, &s, &err), 0);
        CU_ASSERT_STRING_EQUAL(ve_secret_get(s, "data"), "{\"password\":\"v2\",\"username\":\"alice\"}");
        ve_secret_free(s);
        free(body);
}

static void test_kv_not_a_body(void) {
        /* a body that is not NUL-terminated: only len bytes are read */
        const char buf[] = "{\"data\":{\"a\":\"b\"}}XXXX";
        struct ve_secret *s = NULL;
        char *err = NULL;

        CU_ASSERT_EQUAL(ve_vault_parse_kv(1, buf, sizeof buf - 5, &s, &err), 0);
        CU_ASSERT_STRING_EQUAL(ve_secret_get(s, "a"), "b");
        ve_secret_free(s);
        s = NULL;
        CU_ASSERT_EQUAL(ve_vault_parse_kv(1, buf, sizeof buf - 1, &s, &err), -EPROTO);
        CU_ASSERT_STRING_EQUAL(err, "malformed JSON from Vault");
        CU_ASSERT_PTR_NULL(s);
        free(err);
        err = NULL;
        CU_ASSERT_EQUAL(ve_vault_parse_kv(1, buf, 5, &s, &err), -EPROTO);
        free(err);
        err = NULL;
        CU_ASSERT_EQUAL(ve_vault_parse_kv(1, buf, 0, &s, &err), -EPROTO);
        free(err);
        err = NULL;
        CU_ASSERT_EQUAL(ve_vault_parse_kv(1, NULL, 0, &s, &err), -EPROTO);
        free(err);
        err = NULL;
        /* ret_error may be NULL */
        CU_ASSERT_EQUAL(ve_vault_parse_kv(1, "x", 1, &s, NULL), -EPROTO);
        CU_ASSERT_EQUAL(ve_vault_parse_kv(3, buf, sizeof buf - 5, &s, NULL), -EINVAL);
}

static void test_kv_values(void) {
        struct ve_secret *s = NULL;
        char *err = NULL;

        CU_ASSERT_EQUAL_FATAL(parse_kv_str(2,
                "{\"data\":{\"data\":{"
                "\"port\":5432,\"ratio\":1.5,\"neg\":-7,\"exp\":1e3,\"big\":12345678901234567890,"
                "\"dec\":1.0,\"on\":true,\"off\":false,\"none\":null,"
                "\"obj\":{ \"a\" : 1, \"b\" : [ true, null, \"x\\ny\" ] },\"arr\":[1, 2.50],"
                "\"empty\":\"\",\"esc\":\"a\\\"b\\\\c\\u00e9\\t\",\"utf8\":\"\xc3\xa9\","
                "\"objnul\":{\"k\":\"a\\u0000b\"}"
                "},\"metadata\":{\"version\":3}}}", &s, &err), 0);
        CU_ASSERT_PTR_NULL(err);
        /* numbers exactly as Vault sent them */
        CU_ASSERT_STRING_EQUAL(ve_secret_get(s, "port"), "5432");
        CU_ASSERT_STRING_EQUAL(ve_secret_get(s, "ratio"), "1.5");
        CU_ASSERT_STRING_EQUAL(ve_secret_get(s, "neg"), "-7");
        CU_ASSERT_STRING_EQUAL(ve_secret_get(s, "exp"), "1e3");
        CU_ASSERT_STRING_EQUAL(ve_secret_get(s, "big"), "12345678901234567890");
        CU_ASSERT_STRING_EQUAL(ve_secret_get(s, "dec"), "1.0");
        CU_ASSERT_STRING_EQUAL(ve_secret_get(s, "on"), "true");
        CU_ASSERT_STRING_EQUAL(ve_secret_get(s, "off"), "false");
        CU_ASSERT_PTR_NULL(ve_secret_get(s, "none"));
        CU_ASSERT_STRING_EQUAL(ve_secret_get(s, "obj"), "{\"a\":1,\"b\":[true,null,\"x\\ny\"]}");
        CU_ASSERT_STRING_EQUAL(ve_secret_get(s, "arr"), "[1,2.50]");
        CU_ASSERT_STRING_EQUAL(ve_secret_get(s, "empty"), "");
        CU_ASSERT_STRING_EQUAL(ve_secret_get(s, "esc"), "a\"b\\c\xc3\xa9\t");
        CU_ASSERT_STRING_EQUAL(ve_secret_get(s, "utf8"), "\xc3\xa9");
        /* a NUL inside an object value stays a valid JSON escape */
        CU_ASSERT_STRING_EQUAL(ve_secret_get(s, "objnul"), "{\"k\":\"a\\u0000b\"}");
        CU_ASSERT_EQUAL(s->n, 14);
        CU_ASSERT_EQUAL(s->version, 3);
        ve_secret_free(s);
        s = NULL;

        /* a string value with an escaped NUL fails the whole parse */
        CU_ASSERT_EQUAL(parse_kv_str(1, "{\"data\":{\"ok\":\"x\",\"pw\":\"ab\\u0000cd\"}}", &s, &err), -EPROTO);
        CU_ASSERT_PTR_NULL(s);
        CU_ASSERT_STRING_EQUAL(err, "value of key pw contains a NUL byte");
        free(err);
        err = NULL;
        /* ... but "\\u0000" is a backslash and "u0000", no NUL */
        CU_ASSERT_EQUAL(parse_kv_str(1, "{\"data\":{\"pw\":\"\\\\u0000\"}}", &s, &err), 0);
        CU_ASSERT_STRING_EQUAL(ve_secret_get(s, "pw"), "\\u0000");
        ve_secret_free(s);
        s = NULL;
        /* a NUL in a key name */
        CU_ASSERT_EQUAL(parse_kv_str(1, "{\"data\":{\"p\\u0000w\":\"x\"}}", &s, &err), -EPROTO);
        CU_ASSERT_PTR_NOT_NULL(err);
        free(err);
        err = NULL;
        /* a raw NUL byte in the body */
        CU_ASSERT_EQUAL(ve_vault_parse_kv(1, "{\"data\":{\"a\":\"x\0y\"}}", 20, &s, &err), -EPROTO);
        CU_ASSERT_STRING_EQUAL(err, "malformed JSON from Vault");
        free(err);
        err = NULL;
        /* a repeated key: Go's decoder takes the last, cJSON the first;
         * refused (test_kv_hostile) */
        CU_ASSERT_EQUAL(parse_kv_str(1, "{\"data\":{\"a\":\"1\",\"a\":\"2\"}}", &s, &err), -EPROTO);
        CU_ASSERT_PTR_NULL(s);
        free(err);
        err = NULL;
        /* an empty secret is a secret with no keys */
        CU_ASSERT_EQUAL(parse_kv_str(2, "{\"data\":{\"data\":{},\"metadata\":{\"version\":1}}}", &s, &err), 0);
        CU_ASSERT_EQUAL(s->n, 0);
        ve_secret_free(s);
}

static void test_kv_malformed(void) {
        static const struct {
                int version;
                const char *body;
                int r;
                const char *msg;
        } cases[] = {
                { 1, "{\"data\":{\"a\":\"b\"}", -EPROTO, "malformed JSON from Vault" },
                { 1, "{\"data\":{\"a\":\"b\"}} x", -EPROTO, "malformed JSON from Vault" },
                { 1, "{\"data\":{\"a\":\"b\"}}{}", -EPROTO, "malformed JSON from Vault" },
                { 1, "<html>Bad Gateway</html>", -EPROTO, "malformed JSON from Vault" },
                { 1, "", -EPROTO, "malformed JSON from Vault" },
                { 1, "{\"data\":{\"a\":\"\\ud800\"}}", -EPROTO, "malformed JSON from Vault" },
                { 1, "[1,2]", -EPROTO, "answer from Vault is not a JSON object" },
                { 1, "{\"data\":\"x\"}", -EPROTO, "\"data\" in the answer from Vault is not an object" },
                { 1, "{\"data\":[1]}", -EPROTO, "\"data\" in the answer from Vault is not an object" },
                { 2, "{\"data\":{\"data\":7}}", -EPROTO, "\"data.data\" in the answer from Vault is not an object" },
                { 2, "{\"data\":{\"data\":\"x\"}}", -EPROTO, "\"data.data\" in the answer from Vault is not an object" },
                { 1, "{\"data\":null}", -ENOENT, "no data in the answer" },
                { 1, "{\"errors\":[]}", -ENOENT, "no data in the answer" },
                { 2, "{\"data\":{\"metadata\":{}}}", -ENOENT, "no data in the answer" },
        };

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                struct ve_secret *s = NULL;
                char *err = NULL;

                CU_ASSERT_EQUAL(parse_kv_str(cases[i].version, cases[i].body, &s, &err), cases[i].r);
                CU_ASSERT_PTR_NULL(s);
                CU_ASSERT_PTR_NOT_NULL(err);
                if (err)
                        CU_ASSERT_STRING_EQUAL(err, cases[i].msg);
                free(err);
        }
}

static void test_kv_deleted(void) {
        struct ve_secret *s = NULL;
        char *err = NULL, *body;
        size_t len;

        body = fixture("kv2-deleted-404.json", &len);
        CU_ASSERT_EQUAL(ve_vault_parse_kv(2, body, len, &s, &err), -ENOENT);
        CU_ASSERT_STRING_EQUAL(err, "version 2 is deleted");
        CU_ASSERT_PTR_NULL(s);
        free(err);
        free(body);

        body = fixture("kv2-destroyed-404.json", &len);
        CU_ASSERT_EQUAL(ve_vault_parse_kv(2, body, len, &s, &err), -ENOENT);
        CU_ASSERT_STRING_EQUAL(err, "version 1 is destroyed");
        free(err);
        free(body);

        body = fixture("kv2-versioned-warning-404.json", &len);
        CU_ASSERT_EQUAL(ve_vault_parse_kv(2, body, len, &s, &err), -ENOENT);
        CU_ASSERT_STRING_EQUAL(err, "no data in the answer");
        free(err);
        free(body);
}

/* The recorded answer of GET database/creds/readonly (Vault 1.8), with the
 * values replaced by fakes. */
#define DB_CREDS_BODY \
        "{\"request_id\":\"5d06a94d-395f-2839-4596-920198bd3f91\"," \
        "\"lease_id\":\"database/creds/readonly/H319yz2dGiDd7kYsnfXZuhtU\",\"renewable\":true," \
        "\"lease_duration\":3600,\"data\":{\"password\":\"fake-db-pw\"," \
        "\"username\":\"fake-v-token-readonly\"},\"wrap_info\":null,\"warnings\":null,\"auth\":null}"
/* PUT sys/leases/renew {"lease_id":...,"increment":1800}, as recorded. */
#define RENEW_BODY \
        "{\"request_id\":\"3987d38b-add3-993e-c44a-b5064017bfd8\"," \
        "\"lease_id\":\"database/creds/readonly/H319yz2dGiDd7kYsnfXZuhtU\",\"renewable\":true," \
        "\"lease_duration\":1800,\"data\":null,\"wrap_info\":null,\"warnings\":null,\"auth\":null}"

static void test_lease_parse(void) {
        struct ve_secret *s = NULL;
        struct ve_lease l = {};
        char *err = NULL, *body;
        size_t len;

        /* a dynamic secret: read as is, with its lease */
        CU_ASSERT_EQUAL_FATAL(parse_kv_str(1, DB_CREDS_BODY, &s, &err), 0);
        CU_ASSERT_STRING_EQUAL(ve_secret_get(s, "username"), "fake-v-token-readonly");
        CU_ASSERT_STRING_EQUAL(ve_secret_get(s, "password"), "fake-db-pw");
        CU_ASSERT_EQUAL(s->n, 2);
        CU_ASSERT_STRING_EQUAL(s->lease.lease_id, "database/creds/readonly/H319yz2dGiDd7kYsnfXZuhtU");
        CU_ASSERT_EQUAL(s->lease.duration_s, 3600);
        CU_ASSERT_TRUE(s->lease.renewable);
        CU_ASSERT_TRUE(ve_secret_leased(s));
        ve_secret_free(s);

        /* KV answers: no lease (a KV v1 "ttl" gives a duration without id) */
        body = fixture("kv1-read.json", &len);
        CU_ASSERT_EQUAL_FATAL(ve_vault_parse_kv(1, body, len, &s, &err), 0);
        CU_ASSERT_FALSE(ve_secret_leased(s));
        CU_ASSERT_PTR_NULL(s->lease.lease_id);
        ve_secret_free(s);
        free(body);
        body = fixture("kv2-read.json", &len);
        CU_ASSERT_EQUAL_FATAL(ve_vault_parse_kv(2, body, len, &s, &err), 0);
        CU_ASSERT_FALSE(ve_secret_leased(s));
        ve_secret_free(s);
        free(body);
        CU_ASSERT_EQUAL_FATAL(parse_kv_str(1, "{\"lease_id\":\"x/y\",\"lease_duration\":0,\"data\":{}}", &s, &err), 0);
        CU_ASSERT_FALSE(ve_secret_leased(s));          /* no duration: never runs out */
        ve_secret_free(s);
        CU_ASSERT_FALSE(ve_secret_leased(NULL));

        /* lease fields of the wrong type */
        s = NULL;
        CU_ASSERT_EQUAL(parse_kv_str(1, "{\"lease_id\":7,\"data\":{}}", &s, &err), -EPROTO);
        CU_ASSERT_STRING_EQUAL(err, "unexpected lease fields in the answer from Vault");
        free(err);
        CU_ASSERT_EQUAL(parse_kv_str(1, "{\"lease_duration\":-1,\"data\":{}}", &s, &err), -EPROTO);
        free(err);
        CU_ASSERT_EQUAL(parse_kv_str(1, "{\"lease_duration\":1.5,\"data\":{}}", &s, &err), -EPROTO);
        free(err);
        CU_ASSERT_EQUAL(parse_kv_str(1, "{\"renewable\":\"yes\",\"data\":{}}", &s, &err), -EPROTO);
        free(err);
        CU_ASSERT_EQUAL(parse_kv_str(1, "{\"lease_id\":\"a\\nb\",\"lease_duration\":5,\"data\":{}}", &s, &err), -EPROTO);
        CU_ASSERT_STRING_EQUAL(err, "unexpected lease_id in the answer from Vault");
        free(err);
        CU_ASSERT_PTR_NULL(s);

        /* the renewal's answer */
        err = NULL;
        CU_ASSERT_EQUAL_FATAL(ve_vault_parse_lease(RENEW_BODY, strlen(RENEW_BODY), &l, &err), 0);
        CU_ASSERT_PTR_NULL(err);
        CU_ASSERT_STRING_EQUAL(l.lease_id, "database/creds/readonly/H319yz2dGiDd7kYsnfXZuhtU");
        CU_ASSERT_EQUAL(l.duration_s, 1800);
        CU_ASSERT_TRUE(l.renewable);
        ve_lease_done(&l);
        CU_ASSERT_PTR_NULL(l.lease_id);
        ve_lease_done(NULL);
        CU_ASSERT_EQUAL(ve_vault_parse_lease("{\"lease_id\":\"\",\"data\":null}", strlen("{\"lease_id\":\"\",\"data\":null}"), &l, &err), -EPROTO);
        CU_ASSERT_STRING_EQUAL(err, "no lease_id in the answer from Vault");
        free(err);
        CU_ASSERT_EQUAL(ve_vault_parse_lease("[]", 2, &l, &err), -EPROTO);
        free(err);
        CU_ASSERT_EQUAL(ve_vault_parse_lease("{", 1, &l, &err), -EPROTO);
        CU_ASSERT_STRING_EQUAL(err, "malformed JSON from Vault");
        free(err);
}

static void test_lease_registry(void) {
        struct ve_leases *l = NULL;
        char **ids = NULL, *b;
        size_t n = 99;

        CU_ASSERT_EQUAL_FATAL(ve_leases_new(&l), 0);
        CU_ASSERT_EQUAL(ve_leases_note(l, "db/creds/a/1", 10, 1000), 0);
        CU_ASSERT_EQUAL(ve_leases_note(l, "db/creds/a/2", 1, 1000), 0);
        CU_ASSERT_EQUAL(ve_leases_note(l, "db/creds/a/3", 5, 1000), 0);
        CU_ASSERT_EQUAL(ve_leases_note(l, "", 5, 1000), 0);             /* ignored */
        /* renewal moves the end of a known lease */
        CU_ASSERT_EQUAL(ve_leases_note(l, "db/creds/a/3", 60, 5000), 0);
        /* at 8 s: lease 2 ended (Vault revoked it), 1 and 3 are live */
        CU_ASSERT_EQUAL_FATAL(ve_leases_take_live(l, 8000, &ids, &n), 0);
        CU_ASSERT_EQUAL_FATAL(n, 2);
        CU_ASSERT_STRING_EQUAL(ids[0], "db/creds/a/1");
        CU_ASSERT_STRING_EQUAL(ids[1], "db/creds/a/3");
        ve_leases_ids_free(ids, n);
        /* taken: nothing left */
        CU_ASSERT_EQUAL(ve_leases_take_live(l, 8000, &ids, &n), 0);
        CU_ASSERT_EQUAL(n, 0);
        ve_leases_ids_free(ids, n);
        /* (A forked child forgetting the parent's leases, which leaks on
         * purpose, is tested by
         * tests/integration/secrets/secrets-revoke.sh.) */
        ve_leases_free(l);
        ve_leases_free(NULL);

        b = ve_lease_renew_body("database/creds/ro/x\"y", 3600);
        CU_ASSERT_STRING_EQUAL(b, "{\"lease_id\":\"database/creds/ro/x\\\"y\",\"increment\":3600}");
        free(b);
        b = ve_lease_revoke_body("database/creds/ro/abc");
        CU_ASSERT_STRING_EQUAL(b, "{\"lease_id\":\"database/creds/ro/abc\"}");
        free(b);
}

static void test_errors_text(void) {
        static const struct {
                const char *fixture;
                const char *text;
        } cases[] = {
                { "permission-denied-403.json", "permission denied" },
                { "preflight-403.json", "preflight capability check returned 403, please ensure client's policies grant access to path \"nomount/x/\"" },
                { "errors-empty-404.json", NULL },
                { "multierror-405.json", "unsupported operation" },
                { "sealed-503.json", "error performing token check: Vault is sealed" },
                { "rate-limited-429.json", "request path \"kv1/app/db\": rate limit quota exceeded" },
                { "missing-client-token-400.json", "missing client token" },
                { "missing-request-header-412.json", "missing 'X-Vault-Request' header" },
                { "no-handler-404.json", "no handler for route 'nomount/foo'" },
                { "kv2-read.json", NULL },
                { "kv2-versioned-warning-404.json", NULL },
        };
        static const struct {
                const char *body;
                const char *text;
        } inline_cases[] = {
                { "{\"errors\":[\"1 error occurred:\\n\\t* permission denied\\n\\n\"]}", "permission denied" },
                { "{\"errors\":[\"2 errors occurred:\\n\\t* a\\n\\t* b\\n\\n\"]}", "a; b" },
                { "{\"errors\":[\"first\",\"second\\nline\\ttab\"]}", "first; second line tab" },
                { "{\"errors\":[\"\",7,null,\"x\"]}", "x" },
                { "{\"errors\":\"not a list\"}", NULL },
                { "{\"errors\":[]}", NULL },
                { "{}", NULL },
                { "not json", NULL },
                { "", NULL },
        };
        char *t;

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                size_t len;
                char *body = fixture(cases[i].fixture, &len);

                t = ve_vault_errors_text(body, len);
                if (cases[i].text) {
                        CU_ASSERT_PTR_NOT_NULL(t);
                        if (t)
                                CU_ASSERT_STRING_EQUAL(t, cases[i].text);
                } else
                        CU_ASSERT_PTR_NULL(t);
                free(t);
                free(body);
        }
        for (size_t i = 0; i < sizeof inline_cases / sizeof inline_cases[0]; i++) {
                t = ve_vault_errors_text(inline_cases[i].body, strlen(inline_cases[i].body));
                if (inline_cases[i].text) {
                        CU_ASSERT_PTR_NOT_NULL(t);
                        if (t)
                                CU_ASSERT_STRING_EQUAL(t, inline_cases[i].text);
                } else
                        CU_ASSERT_PTR_NULL(t);
                free(t);
        }
        CU_ASSERT_PTR_NULL(ve_vault_errors_text(NULL, 0));
}

static void test_parse_mount(void) {
        static const struct {
                const char *body;
                int r;
                const char *mount;
                int version;
        } cases[] = {
                { "{\"data\":{\"path\":\"kv/\"}}", 0, "kv/", 1 },
                { "{\"data\":{\"path\":\"kv/\",\"options\":null}}", 0, "kv/", 1 },
                { "{\"data\":{\"path\":\"kv/\",\"options\":{}}}", 0, "kv/", 1 },
                { "{\"data\":{\"path\":\"kv/\",\"options\":{\"version\":null}}}", 0, "kv/", 1 },
                { "{\"data\":{\"path\":\"kv/\",\"options\":{\"version\":\"\"}}}", 0, "kv/", 1 },
                { "{\"data\":{\"path\":\"kv/\",\"options\":{\"version\":\"3\"}}}", 0, "kv/", 1 },
                { "{\"data\":{\"path\":\"team/kv/\",\"options\":{\"version\":\"2\"}}}", 0, "team/kv/", 2 },
                { "{\"data\":{\"path\":\"kv/\",\"options\":{\"version\":2}}}", -EPROTO, NULL, 0 },
                { "{\"data\":{\"path\":\"kv/\",\"options\":\"x\"}}", -EPROTO, NULL, 0 },
                { "{\"data\":{\"path\":\"kv\"}}", -EPROTO, NULL, 0 },
                { "{\"data\":{\"path\":\"\"}}", -EPROTO, NULL, 0 },
                { "{\"data\":{}}", -EPROTO, NULL, 0 },
                { "{\"data\":null}", -EPROTO, NULL, 0 },
                { "{\"errors\":[\"permission denied\"]}", -EPROTO, NULL, 0 },
                { "{\"data\":{\"path\":\"kv/\"}", -EPROTO, NULL, 0 },
        };
        char *mount = NULL, *body;
        int version = 0;
        size_t len;

        body = fixture("mounts-secret.json", &len);
        CU_ASSERT_EQUAL(ve_vault_parse_mount(body, len, &mount, &version), 0);
        CU_ASSERT_STRING_EQUAL(mount, "secret/");
        CU_ASSERT_EQUAL(version, 2);
        free(mount);
        free(body);

        body = fixture("mounts-kv1.json", &len);
        CU_ASSERT_EQUAL(ve_vault_parse_mount(body, len, &mount, &version), 0);
        CU_ASSERT_STRING_EQUAL(mount, "kv1/");
        CU_ASSERT_EQUAL(version, 1);
        free(mount);
        free(body);

        body = fixture("preflight-403.json", &len);
        mount = NULL;
        CU_ASSERT_EQUAL(ve_vault_parse_mount(body, len, &mount, &version), -EPROTO);
        CU_ASSERT_PTR_NULL(mount);
        free(body);

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                mount = NULL;
                version = 0;
                CU_ASSERT_EQUAL(ve_vault_parse_mount(cases[i].body, strlen(cases[i].body), &mount, &version), cases[i].r);
                if (cases[i].mount) {
                        CU_ASSERT_PTR_NOT_NULL(mount);
                        if (mount)
                                CU_ASSERT_STRING_EQUAL(mount, cases[i].mount);
                        CU_ASSERT_EQUAL(version, cases[i].version);
                } else
                        CU_ASSERT_PTR_NULL(mount);
                free(mount);
        }
}

/* ---- an HTTP responder on 127.0.0.1 ---- */

/* Answers by route (the recorded bodies), 404 without one. */
static struct httpd srv = {
        .fake_token = FAKE_TOKEN,
        .file_token = FAKE_FILE_TOKEN,
        .fallback_status = 404,
        .fallback_body = "{\"errors\":[\"no handler for route\"]}",
};

static void route_add(const char *target, int status, const char *fixture_name, const char *inline_body) {
        httpd_route_add(&srv, target, status, fixture_name ? fixture(fixture_name, NULL) :
                                                strdup(inline_body ? inline_body : ""));
}

/* ---- the client ---- */

static char log_lines[4096];

static void capture_log(void *userdata, enum ve_log_level level, const char *msg) {
        (void) userdata;
        (void) level;
        /* a token must never reach the log */
        CU_ASSERT_PTR_NULL(strstr(msg, "FAKE"));
        if (strlen(log_lines) + strlen(msg) + 2 < sizeof log_lines) {
                strcat(log_lines, msg);
                strcat(log_lines, "\n");
        }
}

static struct ve_vault *client(const char *token, const char *ns) {
        struct ve_settings st = { .timeout_ms = 5000 };
        struct ve_vault *v = NULL;
        char *addr = ve_asprintf("http://127.0.0.1:%d/", srv.port), *err = NULL;

        st.addr = addr;
        st.token = (char *) token;
        st.token_file = "/nonexistent/.vault-token";
        st.namespace = (char *) ns;
        CU_ASSERT_EQUAL(ve_vault_new(&st, &v, &err), 0);
        CU_ASSERT_PTR_NULL(err);
        free(addr);
        return v;
}

static int read_ref(struct ve_vault *v, enum ve_kv_version kv, const char *path,
                    struct ve_secret **s, char **err) {
        struct ve_ref ref = { .kv = kv, .path = (char *) path, .key = "value" };

        *s = NULL;
        *err = NULL;
        return ve_vault_read(v, &ref, s, err);
}

static void expect_error(struct ve_vault *v, enum ve_kv_version kv, const char *path, int r, const char *msg) {
        struct ve_secret *s;
        char *err;

        CU_ASSERT_EQUAL(read_ref(v, kv, path, &s, &err), r);
        CU_ASSERT_PTR_NULL(s);
        CU_ASSERT_PTR_NOT_NULL(err);
        if (err && msg)
                CU_ASSERT_STRING_EQUAL(err, msg);
        if (err)
                CU_ASSERT_PTR_NULL(strchr(err, '\n'));
        ve_secret_free(s);
        free(err);
}

static void test_client_auto_v2(void) {
        struct ve_vault *v = client(FAKE_TOKEN, "team1");
        struct ve_secret *s;
        char *err;

        httpd_reset(&srv);
        route_add("/v1/sys/internal/ui/mounts/secret/app/db", 200, "mounts-secret.json", NULL);
        route_add("/v1/sys/internal/ui/mounts/secret/app/other", 200, "mounts-secret.json", NULL);
        route_add("/v1/secret/data/app/db", 200, "kv2-read.json", NULL);
        route_add("/v1/secret/data/app/gone", 404, "kv2-deleted-404.json", NULL);
        route_add("/v1/secret/data/app/burnt", 404, "kv2-destroyed-404.json", NULL);
        route_add("/v1/secret/data/app/none", 404, "errors-empty-404.json", NULL);

        CU_ASSERT_EQUAL_FATAL(read_ref(v, VE_KV_AUTO, "secret/app/db", &s, &err), 0);
        CU_ASSERT_STRING_EQUAL(ve_secret_get(s, "username"), "alice");
        CU_ASSERT_STRING_EQUAL(ve_secret_get(s, "password"), "v2");
        CU_ASSERT_EQUAL(s->version, 2);
        ve_secret_free(s);
        CU_ASSERT_EQUAL(httpd_n_seen(&srv), 2);   /* detection, then the read */

        /* same mount: no new detection */
        CU_ASSERT_EQUAL(read_ref(v, VE_KV_AUTO, "secret/app/db", &s, &err), 0);
        ve_secret_free(s);
        CU_ASSERT_EQUAL(httpd_n_seen(&srv), 3);
        expect_error(v, VE_KV_AUTO, "secret/app/gone", -ENOENT, "secret/app/gone: version 2 is deleted");
        expect_error(v, VE_KV_AUTO, "secret/app/burnt", -ENOENT, "secret/app/burnt: version 1 is destroyed");
        expect_error(v, VE_KV_AUTO, "secret/app/none", -ENOENT, "no secret at secret/app/none");
        CU_ASSERT_EQUAL(httpd_n_seen(&srv), 6);

        pthread_mutex_lock(&srv.lock);
        CU_ASSERT_STRING_EQUAL(srv.seen[0].target, "/v1/sys/internal/ui/mounts/secret/app/db");
        CU_ASSERT_STRING_EQUAL(srv.seen[1].target, "/v1/secret/data/app/db");
        CU_ASSERT_STRING_EQUAL(srv.seen[3].target, "/v1/secret/data/app/gone");
        for (size_t i = 0; i < srv.n_seen; i++) {
                CU_ASSERT_TRUE(srv.seen[i].token_fake);
                CU_ASSERT_TRUE(srv.seen[i].request_header);
                CU_ASSERT_STRING_EQUAL(srv.seen[i].ns, "team1");
        }
        /* keep-alive: one connection for all of them */
        CU_ASSERT_EQUAL(srv.n_conns, 1);
        pthread_mutex_unlock(&srv.lock);
        ve_vault_free(v);
}

static void test_client_auto_v1(void) {
        struct ve_vault *v = client(FAKE_TOKEN, NULL);
        struct ve_secret *s;
        char *err;

        httpd_reset(&srv);
        route_add("/v1/sys/internal/ui/mounts/kv1/app/db", 200, "mounts-kv1.json", NULL);
        route_add("/v1/kv1/app/db", 200, "kv1-read.json", NULL);
        route_add("/v1/kv1/app/none", 404, "errors-empty-404.json", NULL);
        CU_ASSERT_EQUAL_FATAL(read_ref(v, VE_KV_AUTO, "kv1/app/db", &s, &err), 0);
        CU_ASSERT_STRING_EQUAL(ve_secret_get(s, "ttl"), "1h");
        CU_ASSERT_EQUAL(s->version, 0);
        ve_secret_free(s);
        expect_error(v, VE_KV_AUTO, "kv1/app/none", -ENOENT, "no secret at kv1/app/none");
        CU_ASSERT_EQUAL(httpd_n_seen(&srv), 3);
        pthread_mutex_lock(&srv.lock);
        CU_ASSERT_STRING_EQUAL(srv.seen[2].target, "/v1/kv1/app/none");
        CU_ASSERT_STRING_EQUAL(srv.seen[0].ns, "");
        pthread_mutex_unlock(&srv.lock);
        ve_vault_free(v);

        /* a Vault without the endpoint (404): KV v1, as the vault CLI */
        v = client(FAKE_TOKEN, NULL);
        httpd_reset(&srv);
        route_add("/v1/old/app/db", 200, "kv1-read.json", NULL);
        CU_ASSERT_EQUAL(read_ref(v, VE_KV_AUTO, "old/app/db", &s, &err), 0);
        ve_secret_free(s);
        CU_ASSERT_EQUAL(read_ref(v, VE_KV_AUTO, "old/app/db", &s, &err), 0);
        ve_secret_free(s);
        CU_ASSERT_EQUAL(httpd_n_seen(&srv), 3);
        ve_vault_free(v);
}

static void test_client_fallback(void) {
        struct ve_vault *v;
        struct ve_secret *s;
        char *err;

        ve_log_set(capture_log, NULL, VE_LOG_DEBUG);
        log_lines[0] = 0;

        /* detection denied; the v2 read denied; the v1 read shows a v2 mount */
        v = client(FAKE_TOKEN, NULL);
        httpd_reset(&srv);
        route_add("/v1/sys/internal/ui/mounts/secret/app/db", 403, "permission-denied-403.json", NULL);
        route_add("/v1/secret/data/app/db", 403, "permission-denied-403.json", NULL);
        route_add("/v1/secret/app/db", 404, "kv2-versioned-warning-404.json", NULL);
        expect_error(v, VE_KV_AUTO, "secret/app/db", -EACCES, "permission denied on secret/app/db");
        CU_ASSERT_EQUAL(httpd_n_seen(&srv), 3);
        CU_ASSERT_PTR_NOT_NULL(strstr(log_lines, "cannot detect the KV version"));
        /* cached as v2: one request now */
        expect_error(v, VE_KV_AUTO, "secret/app/db", -EACCES, "permission denied on secret/app/db");
        CU_ASSERT_EQUAL(httpd_n_seen(&srv), 4);
        pthread_mutex_lock(&srv.lock);
        CU_ASSERT_STRING_EQUAL(srv.seen[1].target, "/v1/secret/data/app/db");
        CU_ASSERT_STRING_EQUAL(srv.seen[2].target, "/v1/secret/app/db");
        CU_ASSERT_STRING_EQUAL(srv.seen[3].target, "/v1/secret/data/app/db");
        pthread_mutex_unlock(&srv.lock);
        ve_vault_free(v);

        /* v2 404, v1 warning: a v2 mount, the secret is missing */
        v = client(FAKE_TOKEN, NULL);
        httpd_reset(&srv);
        route_add("/v1/sys/internal/ui/mounts/secret/app/db", 403, "preflight-403.json", NULL);
        route_add("/v1/secret/data/app/db", 404, "errors-empty-404.json", NULL);
        route_add("/v1/secret/app/db", 404, "kv2-versioned-warning-404.json", NULL);
        expect_error(v, VE_KV_AUTO, "secret/app/db", -ENOENT, "no secret at secret/app/db");
        CU_ASSERT_EQUAL(httpd_n_seen(&srv), 3);
        ve_vault_free(v);

        /* detection denied, the v2 read answers: v2, 2 requests, then 1 */
        v = client(FAKE_TOKEN, NULL);
        httpd_reset(&srv);
        route_add("/v1/sys/internal/ui/mounts/secret/app/db", 403, "preflight-403.json", NULL);
        route_add("/v1/secret/data/app/db", 200, "kv2-read.json", NULL);
        CU_ASSERT_EQUAL(read_ref(v, VE_KV_AUTO, "secret/app/db", &s, &err), 0);
        CU_ASSERT_EQUAL(s->version, 2);
        ve_secret_free(s);
        CU_ASSERT_EQUAL(httpd_n_seen(&srv), 2);
        CU_ASSERT_EQUAL(read_ref(v, VE_KV_AUTO, "secret/app/db", &s, &err), 0);
        ve_secret_free(s);
        CU_ASSERT_EQUAL(httpd_n_seen(&srv), 3);
        ve_vault_free(v);

        /* detection denied, v2 404, v1 200: a v1 mount, then 1 request */
        v = client(FAKE_TOKEN, NULL);
        httpd_reset(&srv);
        route_add("/v1/sys/internal/ui/mounts/kv1/app/db", 403, "preflight-403.json", NULL);
        route_add("/v1/kv1/data/app/db", 404, "errors-empty-404.json", NULL);
        route_add("/v1/kv1/app/db", 200, "kv1-read.json", NULL);
        CU_ASSERT_EQUAL(read_ref(v, VE_KV_AUTO, "kv1/app/db", &s, &err), 0);
        CU_ASSERT_STRING_EQUAL(ve_secret_get(s, "username"), "bob");
        ve_secret_free(s);
        CU_ASSERT_EQUAL(httpd_n_seen(&srv), 3);
        CU_ASSERT_EQUAL(read_ref(v, VE_KV_AUTO, "kv1/app/db", &s, &err), 0);
        ve_secret_free(s);
        CU_ASSERT_EQUAL(httpd_n_seen(&srv), 4);
        ve_vault_free(v);

        /* sealed during detection and the v2 read: the v2 answer, no v1 read */
        v = client(FAKE_TOKEN, NULL);
        httpd_reset(&srv);
        route_add("/v1/sys/internal/ui/mounts/secret/app/db", 503, "sealed-503.json", NULL);
        route_add("/v1/secret/data/app/db", 503, "sealed-503.json", NULL);
        expect_error(v, VE_KV_AUTO, "secret/app/db", -EAGAIN,
                     "Vault is sealed or unavailable (503) at secret/app/db: error performing token check: Vault is sealed");
        CU_ASSERT_EQUAL(httpd_n_seen(&srv), 2);
        ve_vault_free(v);

        ve_log_set(NULL, NULL, VE_LOG_ERROR);
}

/* Mount detection by the answers themselves (vault.c's shape_of()): a 404
 * body the checked parser refuses tells nothing about the KV version, is
 * logged with the reason, and nothing is cached from it. */
static void test_client_fallback_refused(void) {
        struct ve_vault *v;

        ve_log_set(capture_log, NULL, VE_LOG_DEBUG);

        /* the v2 read's 404 has "data" twice; cJSON alone would see
         * data.metadata and take the mount for KV v2 with no v1 read */
        log_lines[0] = 0;
        v = client(FAKE_TOKEN, NULL);
        httpd_reset(&srv);
        route_add("/v1/sys/internal/ui/mounts/secret/app/db", 403, "preflight-403.json", NULL);
        route_add("/v1/secret/data/app/db", 404, NULL,
                  "{\"data\":{\"data\":null,\"metadata\":{\"version\":3,\"destroyed\":false}},\"data\":null}");
        route_add("/v1/secret/app/db", 404, "kv2-versioned-warning-404.json", NULL);
        expect_error(v, VE_KV_AUTO, "secret/app/db", -ENOENT, "no secret at secret/app/db");
        CU_ASSERT_EQUAL(httpd_n_seen(&srv), 3);
        CU_ASSERT_PTR_NOT_NULL(strstr(log_lines, "secret/app/db: the answer from Vault (HTTP 404) tells nothing about "
                                                 "the KV version: key \"data\" appears twice in one object of the "
                                                 "answer from Vault"));
        ve_vault_free(v);

        /* the v1 read's 404 is {"errors":[]} with text after it; cJSON
         * alone would take it for a KV v1 mount's and cache that */
        log_lines[0] = 0;
        v = client(FAKE_TOKEN, NULL);
        httpd_reset(&srv);
        route_add("/v1/sys/internal/ui/mounts/kv/app/db", 403, "preflight-403.json", NULL);
        route_add("/v1/kv/data/app/db", 404, "errors-empty-404.json", NULL);
        route_add("/v1/kv/app/db", 404, NULL, "{\"errors\":[]} x");
        expect_error(v, VE_KV_AUTO, "kv/app/db", -ENOENT, "no secret at kv/app/db");
        CU_ASSERT_EQUAL(httpd_n_seen(&srv), 3);
        CU_ASSERT_PTR_NOT_NULL(strstr(log_lines, "kv/app/db: the answer from Vault (HTTP 404) tells nothing about "
                                                 "the KV version: malformed JSON from Vault"));
        /* not cached: the next read detects again (3 requests, not 1) */
        expect_error(v, VE_KV_AUTO, "kv/app/db", -ENOENT, "no secret at kv/app/db");
        CU_ASSERT_EQUAL(httpd_n_seen(&srv), 6);
        ve_vault_free(v);

        ve_log_set(NULL, NULL, VE_LOG_ERROR);
}

static void test_client_status(void) {
        struct ve_vault *v = client(FAKE_TOKEN, NULL);
        struct ve_secret *s;
        char *err;

        httpd_reset(&srv);
        route_add("/v1/kv1/sealed", 503, "sealed-503.json", NULL);
        route_add("/v1/kv1/limited", 429, "rate-limited-429.json", NULL);
        route_add("/v1/kv1/agent", 412, "missing-request-header-412.json", NULL);
        route_add("/v1/kv1/notoken", 400, "missing-client-token-400.json", NULL);
        route_add("/v1/kv1/multi", 405, "multierror-405.json", NULL);
        route_add("/v1/kv1/denied", 403, "permission-denied-403.json", NULL);
        route_add("/v1/kv1/denied2", 403, "preflight-403.json", NULL);
        route_add("/v1/kv1/denied3", 403, NULL, "{\"errors\":[\"1 error occurred:\\n\\t* permission denied\\n\\n\"]}");
        route_add("/v1/kv1/bad", 200, NULL, "{\"data\":{\"a\":\"b\"} trailing");
        route_add("/v1/kv1/html", 502, NULL, "<html>bad gateway</html>");
        route_add("/v1/kv1/nodata", 200, NULL, "{\"data\":null}");
        route_add("/v1/kv1/nul", 200, NULL, "{\"data\":{\"k\":\"a\\u0000\"}}");
        route_add("/v1/kv1/a%20b/%C3%BC%2B~x", 200, "kv1-read.json", NULL);
        route_add("/v1/kv2/data/app/db", 200, "kv2-read.json", NULL);
        route_add("/v1/kv2/data/app/gone", 404, "kv2-deleted-404.json", NULL);

        expect_error(v, VE_KV_1, "kv1/sealed", -EAGAIN,
                     "Vault is sealed or unavailable (503) at kv1/sealed: error performing token check: Vault is sealed");
        expect_error(v, VE_KV_1, "kv1/limited", -EAGAIN,
                     "rate limited by Vault (429) at kv1/limited: request path \"kv1/app/db\": rate limit quota exceeded");
        expect_error(v, VE_KV_1, "kv1/agent", -EIO,
                     "Vault refused the request for kv1/agent (412): missing 'X-Vault-Request' header");
        expect_error(v, VE_KV_1, "kv1/notoken", -EACCES, "no Vault token (set VAULT_TOKEN or write ~/.vault-token)");
        expect_error(v, VE_KV_1, "kv1/multi", -EIO, "unexpected HTTP status 405 for kv1/multi: unsupported operation");
        expect_error(v, VE_KV_1, "kv1/denied", -EACCES, "permission denied on kv1/denied");
        expect_error(v, VE_KV_1, "kv1/denied2", -EACCES,
                     "permission denied on kv1/denied2: preflight capability check returned 403, please ensure client's policies grant access to path \"nomount/x/\"");
        expect_error(v, VE_KV_1, "kv1/denied3", -EACCES, "permission denied on kv1/denied3");
        expect_error(v, VE_KV_1, "kv1/missing", -ENOENT, "no secret at kv1/missing");
        expect_error(v, VE_KV_1, "kv1/bad", -EPROTO, "unexpected answer from Vault for kv1/bad: malformed JSON from Vault");
        expect_error(v, VE_KV_1, "kv1/html", -EIO, "unexpected HTTP status 502 for kv1/html");
        expect_error(v, VE_KV_1, "kv1/nodata", -ENOENT, "no secret at kv1/nodata");
        expect_error(v, VE_KV_1, "kv1/nul", -EPROTO,
                     "unexpected answer from Vault for kv1/nul: value of key k contains a NUL byte");
        expect_error(v, VE_KV_2, "kv2/app/gone", -ENOENT, "kv2/app/gone: version 2 is deleted");

        /* forced versions: no detection */
        CU_ASSERT_EQUAL(read_ref(v, VE_KV_2, "kv2/app/db", &s, &err), 0);
        CU_ASSERT_STRING_EQUAL(ve_secret_get(s, "password"), "v2");
        ve_secret_free(s);
        /* percent-encoding of segments, '/' kept */
        CU_ASSERT_EQUAL(read_ref(v, VE_KV_1, "kv1/a b/\xc3\xbc+~x", &s, &err), 0);
        ve_secret_free(s);
        pthread_mutex_lock(&srv.lock);
        CU_ASSERT_EQUAL(srv.n_seen, 16);
        for (size_t i = 0; i < srv.n_seen; i++)
                CU_ASSERT_PTR_NULL(strstr(srv.seen[i].target, "sys/internal"));
        pthread_mutex_unlock(&srv.lock);
        ve_vault_free(v);
}

static void test_client_token(void) {
        struct ve_settings st = { .timeout_ms = 5000 };
        char tf[] = "/tmp/test-vault-json-XXXXXX";
        struct ve_vault *v = NULL;
        char *err = NULL;
        int fd;

        httpd_reset(&srv);
        route_add("/v1/kv1/denied", 403, "permission-denied-403.json", NULL);

        /* no token at all: no header; the 403 hints at the token */
        st.addr = ve_asprintf("http://127.0.0.1:%d", srv.port);
        st.token_file = "/nonexistent/.vault-token";
        CU_ASSERT_EQUAL_FATAL(ve_vault_new(&st, &v, &err), 0);
        expect_error(v, VE_KV_1, "kv1/denied", -EACCES,
                     "permission denied on kv1/denied (no Vault token: set VAULT_TOKEN or write ~/.vault-token)");
        ve_vault_free(v);
        pthread_mutex_lock(&srv.lock);
        CU_ASSERT_FALSE(srv.seen[0].token_header);
        CU_ASSERT_TRUE(srv.seen[0].request_header);
        pthread_mutex_unlock(&srv.lock);

        /* the token file, trimmed */
        fd = mkstemp(tf);
        CU_ASSERT_FATAL(fd >= 0);
        CU_ASSERT_EQUAL(write(fd, " \n" FAKE_FILE_TOKEN "\r\n\n", 4 + strlen(FAKE_FILE_TOKEN) + 1), (ssize_t) (4 + strlen(FAKE_FILE_TOKEN) + 1));
        close(fd);
        st.token_file = tf;
        CU_ASSERT_EQUAL_FATAL(ve_vault_new(&st, &v, &err), 0);
        expect_error(v, VE_KV_1, "kv1/denied", -EACCES, "permission denied on kv1/denied");
        ve_vault_free(v);
        pthread_mutex_lock(&srv.lock);
        CU_ASSERT_TRUE(srv.seen[1].token_file);
        pthread_mutex_unlock(&srv.lock);

        /* VAULT_TOKEN wins over the file */
        st.token = FAKE_TOKEN;
        CU_ASSERT_EQUAL_FATAL(ve_vault_new(&st, &v, &err), 0);
        expect_error(v, VE_KV_1, "kv1/denied", -EACCES, "permission denied on kv1/denied");
        ve_vault_free(v);
        pthread_mutex_lock(&srv.lock);
        CU_ASSERT_TRUE(srv.seen[2].token_fake);
        pthread_mutex_unlock(&srv.lock);
        unlink(tf);

        /* a token that would inject a header is not sent */
        st.token = "abc\r\nX-Evil: 1";
        CU_ASSERT_EQUAL_FATAL(ve_vault_new(&st, &v, &err), 0);
        expect_error(v, VE_KV_1, "kv1/denied", -EACCES, NULL);
        ve_vault_free(v);
        CU_ASSERT_EQUAL(httpd_n_seen(&srv), 3);
        free(st.addr);
}

static void test_client_new(void) {
        struct ve_settings st = { .timeout_ms = 1000 };
        struct ve_vault *v = NULL;
        char *err = NULL;

        st.addr = "unix:///run/vault.sock";
        CU_ASSERT_EQUAL(ve_vault_new(&st, &v, &err), -EINVAL);
        CU_ASSERT_PTR_NULL(v);
        CU_ASSERT_STRING_EQUAL(err, "VAULT_ADDR: not an http:// or https:// URL: unix:///run/vault.sock");
        free(err);
        err = NULL;
        st.addr = "";
        CU_ASSERT_EQUAL(ve_vault_new(&st, &v, &err), -EINVAL);
        free(err);
        err = NULL;
        st.addr = "http://127.0.0.1:8200";
        st.namespace = "a\nb";
        CU_ASSERT_EQUAL(ve_vault_new(&st, &v, &err), -EINVAL);
        CU_ASSERT_STRING_EQUAL(err, "VAULT_NAMESPACE contains a control character");
        free(err);
        err = NULL;
        st.namespace = NULL;
        /* every option set, for the handle setup; nothing is contacted */
        st.cacert = "/nonexistent/ca.pem";
        st.capath = "/nonexistent";
        st.client_cert = "/nonexistent/c.pem";
        st.client_key = "/nonexistent/k.pem";
        st.proxy = "http://127.0.0.1:1";
        st.tls_server_name = "vault.example";
        st.skip_verify = true;
        CU_ASSERT_EQUAL(ve_vault_new(&st, &v, &err), 0);
        CU_ASSERT_PTR_NULL(err);
        ve_vault_free(v);
        ve_vault_free(NULL);
}

static void test_client_network(void) {
        struct ve_settings st = { .timeout_ms = 5000 };
        struct ve_vault *v = NULL;
        struct ve_secret *s;
        char *err = NULL, *expect;
        int r;

        /* nothing listens on port 1 */
        st.addr = "http://127.0.0.1:1/";
        st.token = FAKE_TOKEN;
        CU_ASSERT_EQUAL_FATAL(ve_vault_new(&st, &v, &err), 0);
        r = read_ref(v, VE_KV_AUTO, "secret/app/db", &s, &err);
        CU_ASSERT_EQUAL(r, -ECONNREFUSED);
        CU_ASSERT_PTR_NOT_NULL(err);
        if (err) {
                CU_ASSERT_EQUAL(strncmp(err, "cannot reach Vault at http://127.0.0.1:1: ", 42), 0);
                CU_ASSERT_PTR_NULL(strchr(err, '\n'));
        }
        free(err);
        /* not cached: asked again, same answer */
        CU_ASSERT_EQUAL(read_ref(v, VE_KV_AUTO, "secret/app/db", &s, &err), -ECONNREFUSED);
        free(err);
        ve_vault_free(v);

        /* https with VAULT_TLS_SERVER_NAME: the connection goes to the
         * address (CONNECT_TO), which speaks plain HTTP: a TLS error */
        httpd_reset(&srv);
        st.addr = expect = ve_asprintf("https://127.0.0.1:%d", srv.port);
        st.tls_server_name = "vault.example";
        CU_ASSERT_EQUAL_FATAL(ve_vault_new(&st, &v, &err), 0);
        r = read_ref(v, VE_KV_1, "kv1/app/db", &s, &err);
        CU_ASSERT_EQUAL(r, -EPROTO);
        CU_ASSERT_PTR_NOT_NULL(err);
        if (err) {
                char *head = ve_asprintf("TLS error talking to %s: ", expect);
                CU_ASSERT_EQUAL(strncmp(err, head, strlen(head)), 0);
                free(head);
        }
        free(err);
        ve_vault_free(v);
        pthread_mutex_lock(&srv.lock);
        CU_ASSERT_EQUAL(srv.n_tls_hellos, 1);
        pthread_mutex_unlock(&srv.lock);
        free(expect);
        st.tls_server_name = NULL;

        /* too large, and too slow */
        httpd_reset(&srv);
        route_add("/v1/kv1/big", 200, NULL, NULL);
        route_add("/v1/kv1/slow", 200, "kv1-read.json", NULL);
        pthread_mutex_lock(&srv.lock);
        free(srv.routes[0].body);
        srv.routes[0].body = malloc(2 * 1024 * 1024 + 1);
        memset(srv.routes[0].body, ' ', 2 * 1024 * 1024);
        srv.routes[0].body[2 * 1024 * 1024] = 0;
        srv.routes[1].delay_ms = 1500;
        pthread_mutex_unlock(&srv.lock);
        st.addr = expect = ve_asprintf("http://127.0.0.1:%d", srv.port);
        st.timeout_ms = 500;
        CU_ASSERT_EQUAL_FATAL(ve_vault_new(&st, &v, &err), 0);
        expect_error(v, VE_KV_1, "kv1/big", -EPROTO, "answer from Vault for kv1/big is larger than 1 MiB");
        r = read_ref(v, VE_KV_1, "kv1/slow", &s, &err);
        CU_ASSERT_EQUAL(r, -ETIMEDOUT);
        if (err) {
                char *head = ve_asprintf("no answer from Vault at %s within 500ms (VAULT_CLIENT_TIMEOUT): ", expect);
                CU_ASSERT_EQUAL(strncmp(err, head, strlen(head)), 0);
                free(head);
        }
        free(err);
        ve_vault_free(v);
        free(expect);
}

static int read_in_child(void *p) {
        struct ve_vault *v = p;
        struct ve_secret *s = NULL;
        char *err = NULL;
        int r;

        /* a fresh handle and connection; the parent's stays open. v is not
         * freed: that would clean up the parent's handle, which the child
         * must never do */
        ve_vault_atfork_child(v);
        r = read_ref(v, VE_KV_1, "kv1/app/db", &s, &err);
        ve_secret_free(s);
        free(err);
        return r == 0 ? 0 : 1;
}

static void test_client_fork(void) {
        struct ve_vault *v = client(FAKE_TOKEN, NULL);
        struct ve_secret *s;
        char *err;

        httpd_reset(&srv);
        route_add("/v1/kv1/app/db", 200, "kv1-read.json", NULL);
        CU_ASSERT_EQUAL(read_ref(v, VE_KV_1, "kv1/app/db", &s, &err), 0);
        ve_secret_free(s);

        /* as the shim's fork handlers do: prepare before fork(), child in
         * the child, parent in the parent */
        ve_vault_atfork_prepare(v);
        CU_ASSERT_EQUAL(unit_in_child(read_in_child, v), 0);
        ve_vault_atfork_parent(v);
        /* the parent's connection still works */
        CU_ASSERT_EQUAL(read_ref(v, VE_KV_1, "kv1/app/db", &s, &err), 0);
        ve_secret_free(s);
        CU_ASSERT_EQUAL(httpd_n_seen(&srv), 3);
        ve_vault_free(v);
}

static void test_client_versions(void) {
        struct ve_vault *v = client(FAKE_TOKEN, NULL);
        struct ve_ref ref = { .kv = VE_KV_AUTO, .path = "secret/app/db", .key = "password", .version = 1 };
        struct ve_secret *s = NULL;
        char *err = NULL;

        httpd_reset(&srv);
        route_add("/v1/sys/internal/ui/mounts/secret/app/db", 200, "mounts-secret.json", NULL);
        route_add("/v1/sys/internal/ui/mounts/kv1/app/db", 200, "mounts-kv1.json", NULL);
        route_add("/v1/secret/data/app/db?version=1", 200, "kv2-read-v1.json", NULL);
        route_add("/v1/secret/data/app/db?version=2", 404, "kv2-deleted-404.json", NULL);
        route_add("/v1/secret/data/app/db?version=9", 404, "errors-empty-404.json", NULL);

        CU_ASSERT_EQUAL(ve_vault_read(v, &ref, &s, &err), 0);
        CU_ASSERT_PTR_NULL(err);
        if (s) {
                CU_ASSERT_STRING_EQUAL(ve_secret_get(s, "password"), "s3cr3t");
                CU_ASSERT_EQUAL(s->version, 1);
        }
        ve_secret_free(s);
        free(err);
        pthread_mutex_lock(&srv.lock);
        CU_ASSERT_STRING_EQUAL(srv.seen[1].target, "/v1/secret/data/app/db?version=1");
        pthread_mutex_unlock(&srv.lock);

        s = NULL;
        err = NULL;
        ref.version = 2;
        CU_ASSERT_EQUAL(ve_vault_read(v, &ref, &s, &err), -ENOENT);
        CU_ASSERT_PTR_NULL(s);
        CU_ASSERT_STRING_EQUAL(err, "secret/app/db: version 2 is deleted");
        free(err);
        err = NULL;
        ref.version = 9;
        CU_ASSERT_EQUAL(ve_vault_read(v, &ref, &s, &err), -ENOENT);
        CU_ASSERT_STRING_EQUAL(err, "secret/app/db: no version 9");
        free(err);

        /* a KV v1 mount has no versions: an error naming the reference */
        err = NULL;
        ref.path = "kv1/app/db";
        ref.version = 3;
        CU_ASSERT_EQUAL(ve_vault_read(v, &ref, &s, &err), -EINVAL);
        CU_ASSERT_STRING_EQUAL(err, "kv1/app/db@3: a version needs a KV v2 mount, and kv1/ is not one");
        free(err);
        CU_ASSERT_EQUAL(httpd_n_seen(&srv), 5);   /* detection, not the read */
        /* kv1: forced: no request at all */
        err = NULL;
        ref.kv = VE_KV_1;
        CU_ASSERT_EQUAL(ve_vault_read(v, &ref, &s, &err), -EINVAL);
        CU_ASSERT_STRING_EQUAL(err, "kv1/app/db@3: a version needs a KV v2 mount, and kv1/ is not one");
        free(err);
        CU_ASSERT_EQUAL(httpd_n_seen(&srv), 5);
        ve_vault_free(v);
}

/* Bad input: bodies no real Vault sends. Each gives no value and a
 * clear message, never a truncated or partial secret, never a crash. */
static char *nested(size_t depth, const char *inner) {
        /* {"data":{"k": [[...[ inner ]...]] }} with depth-2 brackets */
        size_t n = depth - 2, o = 0, len = strlen(inner);
        char *b = malloc(2 * n + len + 32);

        if (!b)
                abort();
        o += (size_t) sprintf(b, "{\"data\":{\"k\":");
        memset(b + o, '[', n);
        o += n;
        memcpy(b + o, inner, len);
        o += len;
        memset(b + o, ']', n);
        o += n;
        strcpy(b + o, "}}");
        return b;
}

static void test_kv_hostile(void) {
        static const struct {
                int version;
                const char *body;
                int r;
                const char *msg;
        } cases[] = {
                /* \u0000 inside a value: never "ab" */
                { 2, "{\"data\":{\"data\":{\"pw\":\"ab\\u0000cd\"}}}", -EPROTO,
                  "value of key pw contains a NUL byte" },
                { 1, "{\"data\":{\"pw\":\"\\u0000\"}}", -EPROTO, "value of key pw contains a NUL byte" },
                /* a key that cannot be named on one line (found by the fuzzer) */
                { 2, "{\"data\":{\"data\":{\"p\n\t* w\":\"ab\\u0000cd\"}}}", -EPROTO,
                  "the value of a key contains a NUL byte" },
                /* duplicate keys, at every level: which one Vault meant is
                 * not knowable (Go takes the last, cJSON the first) */
                { 1, "{\"data\":{\"pw\":\"fake-1\",\"pw\":\"fake-2\"}}", -EPROTO,
                  "key \"pw\" appears twice in one object of the answer from Vault" },
                { 1, "{\"data\":{\"pw\":\"fake-1\"},\"data\":{\"pw\":\"fake-2\"}}", -EPROTO,
                  "key \"data\" appears twice in one object of the answer from Vault" },
                { 2, "{\"data\":{\"data\":{\"pw\":\"fake-1\"},\"data\":{}}}", -EPROTO,
                  "key \"data\" appears twice in one object of the answer from Vault" },
                { 1, "{\"data\":{\"o\":{\"x\":1,\"y\":2,\"x\":3}}}", -EPROTO,
                  "key \"x\" appears twice in one object of the answer from Vault" },
                { 1, "{\"data\":{\"a\\nb\":\"1\",\"a\\nb\":\"2\"}}", -EPROTO,
                  "a key appears twice in one object of the answer from Vault" },
                /* non-string where an object or a string is needed */
                { 1, "{\"data\":5}", -EPROTO, "\"data\" in the answer from Vault is not an object" },
                { 1, "{\"data\":true}", -EPROTO, "\"data\" in the answer from Vault is not an object" },
                { 2, "{\"data\":{\"data\":[\"x\"]}}", -EPROTO,
                  "\"data.data\" in the answer from Vault is not an object" },
                { 1, "{\"lease_id\":5,\"data\":{\"pw\":\"x\"}}", -EPROTO,
                  "unexpected lease fields in the answer from Vault" },
                { 1, "{\"lease_duration\":\"1h\",\"data\":{\"pw\":\"x\"}}", -EPROTO,
                  "unexpected lease fields in the answer from Vault" },
                { 1, "\"data\"", -EPROTO, "answer from Vault is not a JSON object" },
                { 1, "null", -EPROTO, "answer from Vault is not a JSON object" },
                /* data: null */
                { 1, "{\"data\":null}", -ENOENT, "no data in the answer" },
                { 2, "{\"data\":{\"data\":null,\"metadata\":null}}", -ENOENT, "no data in the answer" },
                /* trailing garbage */
                { 1, "{\"data\":{\"pw\":\"x\"}}}", -EPROTO, "malformed JSON from Vault" },
                { 1, "{\"data\":{\"pw\":\"x\"}}\n\"y\"", -EPROTO, "malformed JSON from Vault" },
                { 1, "{\"data\":{\"pw\":\"x\"}},", -EPROTO, "malformed JSON from Vault" },
                { 1, "{\"data\":{\"pw\":\"x\"}}\\u0000", -EPROTO, "malformed JSON from Vault" },
        };

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                struct ve_secret *s = NULL;
                char *err = NULL;

                CU_ASSERT_EQUAL(parse_kv_str(cases[i].version, cases[i].body, &s, &err), cases[i].r);
                CU_ASSERT_PTR_NULL(s);
                CU_ASSERT_PTR_NOT_NULL(err);
                if (err && strcmp(err, cases[i].msg) != 0) {
                        fprintf(stderr, "case %zu: got \"%s\"\n", i, err);
                        CU_FAIL("message differs");
                }
                free(err);
        }
}

/* The checked entry point the other readers of Vault's answers use
 * (auth.c, kv_write.c, vault.c). */
/* NULL-safe: a missing message is a failed assertion, not a crash. */
static bool streq_null(const char *a, const char *b) {
        return a && b && strcmp(a, b) == 0;
}

static void test_parse_json(void) {
        static const struct {
                const char *body;
                const char *why;
        } refused[] = {
                { "{\"a\":1,\"a\":2}", "key \"a\" appears twice in one object of the answer from Vault" },
                { "{\"o\":{\"k\":\"fake-1\",\"k\":\"fake-2\"}}",
                  "key \"k\" appears twice in one object of the answer from Vault" },
                { "{\"a\":1} x", "malformed JSON from Vault" },
                { "{\"a\":1}{}", "malformed JSON from Vault" },
                { "{\"a\":1", "malformed JSON from Vault" },
                { "", "malformed JSON from Vault" },
                { "<html>Bad Gateway</html>", "malformed JSON from Vault" },
                { "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
                  "JSON from Vault nests deeper than 32 levels" },
        };
        static const char nul_body[] = "{\"a\":\"fake\\u0000evil\"} \0";
        cJSON *root = NULL;
        const char *v;
        char *why;

        for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
                why = NULL;
                root = (cJSON *) 0x1;
                CU_ASSERT_EQUAL(ve_vault_parse_json(refused[i].body, strlen(refused[i].body), &root, &why), -EPROTO);
                CU_ASSERT_PTR_EQUAL(root, (cJSON *) 0x1);      /* not written */
                CU_ASSERT_PTR_NOT_NULL(why);
                if (why && strcmp(why, refused[i].why) != 0) {
                        fprintf(stderr, "case %zu: got \"%s\"\n", i, why);
                        CU_FAIL("reason differs");
                }
                free(why);
        }
        /* a raw NUL byte in the body */
        CU_ASSERT_EQUAL(ve_vault_parse_json(nul_body, sizeof nul_body - 1, &root, NULL), -EPROTO);
        CU_ASSERT_EQUAL(ve_vault_parse_json(NULL, 0, &root, NULL), -EPROTO);

        /* accepted: numbers stay numbers; "\u0000" is kept, not cut, and
         * the string getter refuses it */
        root = NULL;
        why = NULL;
        CU_ASSERT_EQUAL_FATAL(ve_vault_parse_json(BODY_OF("{\"n\":1800,\"s\":\"fake-x\",\"z\":\"fake\\u0000evil\","
                                                          "\"t\":true,\"nil\":null} \n"), &root, &why), 0);
        CU_ASSERT_PTR_NULL(why);
        CU_ASSERT_TRUE(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(root, "n")));
        CU_ASSERT_EQUAL(cJSON_GetObjectItemCaseSensitive(root, "n")->valuedouble, 1800);
        v = NULL;
        CU_ASSERT_EQUAL(ve_vault_json_string(root, "s", "s", &v, NULL), 0);
        CU_ASSERT_PTR_NOT_NULL(v);
        if (v)
                CU_ASSERT_STRING_EQUAL(v, "fake-x");
        v = "x";
        CU_ASSERT_EQUAL(ve_vault_json_string(root, "absent", "absent", &v, NULL), 0);
        CU_ASSERT_PTR_NULL(v);
        v = "x";
        CU_ASSERT_EQUAL(ve_vault_json_string(root, "nil", "nil", &v, NULL), 0);
        CU_ASSERT_PTR_NULL(v);
        v = "x";
        CU_ASSERT_EQUAL(ve_vault_json_string(NULL, "s", "s", &v, NULL), 0);
        CU_ASSERT_PTR_NULL(v);
        v = NULL;
        CU_ASSERT_EQUAL(ve_vault_json_string(root, "z", "data.z", &v, &why), -EPROTO);
        CU_ASSERT_PTR_NULL(v);
        CU_ASSERT_TRUE(streq_null(why, "data.z in the answer from Vault contains a NUL byte"));
        free(why);
        why = NULL;
        CU_ASSERT_EQUAL(ve_vault_json_string(root, "n", "data.n", &v, &why), -EPROTO);
        CU_ASSERT_TRUE(streq_null(why, "data.n in the answer from Vault is not a string"));
        free(why);
        why = NULL;
        CU_ASSERT_EQUAL(ve_vault_json_string(root, "t", "data.t", &v, NULL), -EPROTO);
        ve_vault_json_free(root);
        ve_vault_json_free(NULL);
}

static void test_kv_depth(void) {
        struct ve_secret *s = NULL;
        char *err = NULL, *b, *expect;

        /* 32 levels (the limit) parse; the value is the inner JSON */
        b = nested(32, "1");
        CU_ASSERT_EQUAL(parse_kv_str(1, b, &s, &err), 0);
        CU_ASSERT_PTR_NULL(err);
        expect = nested(32, "1");
        /* the value of k: the 30 brackets around 1 */
        expect[strlen(expect) - 2] = 0;
        CU_ASSERT_STRING_EQUAL(ve_secret_get(s, "k"), expect + strlen("{\"data\":{\"k\":"));
        free(expect);
        ve_secret_free(s);
        s = NULL;
        free(b);

        /* 33: no value, a clear error */
        b = nested(33, "1");
        CU_ASSERT_EQUAL(parse_kv_str(1, b, &s, &err), -EPROTO);
        CU_ASSERT_PTR_NULL(s);
        CU_ASSERT_PTR_NOT_NULL_FATAL(err);
        CU_ASSERT_STRING_EQUAL(err, "JSON from Vault nests deeper than 32 levels");
        free(err);
        err = NULL;
        free(b);

        /* far deeper (cJSON alone would take 1000 levels), objects too */
        b = nested(100000, "{\"a\":1}");
        CU_ASSERT_EQUAL(parse_kv_str(1, b, &s, &err), -EPROTO);
        CU_ASSERT_PTR_NULL(s);
        CU_ASSERT_PTR_NOT_NULL_FATAL(err);
        CU_ASSERT_STRING_EQUAL(err, "JSON from Vault nests deeper than 32 levels");
        free(err);
        err = NULL;
        free(b);

        /* brackets inside strings do not count */
        b = malloc(200);
        if (!b)
                abort();
        strcpy(b, "{\"data\":{\"k\":\"");
        memset(b + 14, '[', 100);
        strcpy(b + 14 + 100, "\"}}");
        CU_ASSERT_EQUAL(parse_kv_str(1, b, &s, &err), 0);
        CU_ASSERT_EQUAL(strlen(ve_secret_get(s, "k")), 100);
        ve_secret_free(s);
        s = NULL;
        free(b);

        /* the other parsers say no as well */
        b = nested(40, "1");
        CU_ASSERT_PTR_NULL(ve_vault_errors_text(b, strlen(b)));
        free(b);
        {
                struct ve_lease l = {};

                CU_ASSERT_EQUAL(ve_vault_parse_lease("{\"lease_id\":\"a\",\"lease_id\":\"b\"}", 31, &l, &err), -EPROTO);
                CU_ASSERT_PTR_NOT_NULL_FATAL(err);
                CU_ASSERT_STRING_EQUAL(err, "key \"lease_id\" appears twice in one object of the answer from Vault");
                CU_ASSERT_PTR_NULL(l.lease_id);
                free(err);
                err = NULL;
        }
}

int main(void) {
        static const struct unit_test json_tests[] = {
                { "kv2_read", test_kv2_read },
                { "kv1_read", test_kv1_read },
                { "kv_not_a_body", test_kv_not_a_body },
                { "kv_values", test_kv_values },
                { "kv_malformed", test_kv_malformed },
                { "kv_deleted", test_kv_deleted },
                { "errors_text", test_errors_text },
                { "parse_mount", test_parse_mount },
                { "lease_parse", test_lease_parse },
                { "lease_registry", test_lease_registry },
                { "kv_hostile", test_kv_hostile },
                { "kv_depth", test_kv_depth },
                { "parse_json (the checked entry point)", test_parse_json },
                { NULL, NULL },
        };
        /* The client tests need the in-test server: no server, a failure. */
        static const struct unit_test client_tests[] = {
                { "new", test_client_new },
                { "auto_v2", test_client_auto_v2 },
                { "auto_v1", test_client_auto_v1 },
                { "fallback", test_client_fallback },
                { "fallback: refused 404 bodies", test_client_fallback_refused },
                { "status", test_client_status },
                { "token", test_client_token },
                { "network", test_client_network },
                { "fork", test_client_fork },
                { "versions", test_client_versions },
                { NULL, NULL },
        };
        static const struct unit_suite suites[] = {
                { "vault-json", json_tests },
                { "vault-client", client_tests },
        };
        int status;

        if (httpd_start(&srv) < 0) {
                fprintf(stderr, "cannot listen on 127.0.0.1: the client tests cannot run\n");
                return 1;
        }
        status = unit_run(suites, 2);
        httpd_stop(&srv);
        curl_global_cleanup();
        return status;
}
