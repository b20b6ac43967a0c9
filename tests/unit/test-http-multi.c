/* SPDX-License-Identifier: MIT */
/* Tests of the batches: lib/transport's ve_http_request_many() and
 * lib/vault's ve_vault_read_many() against an in-test server (httpd.c)
 * whose handler plays Vault and counts, per request, how many were being
 * answered at once (each answer is held a while, so that concurrent
 * requests must overlap): the paths are fetched concurrently, never more
 * than VE_HTTP_PARALLEL_MAX at once, one request per path; a denied path,
 * a dropped connection or a path that needs retries leaves the others
 * alone; retries still apply; the mount of many paths is detected once,
 * kv1:/kv2: references skip detection.
 *
 * Every token and value here is fake. Nothing prints a token or a body. */
#include "unit.h"
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "http.h"
#include "httpd.h"
#include "log.h"
#include "secret.h"
#include "settings.h"
#include "util.h"
#include "vault.h"

#define FAKE_TOKEN "fake-token-multi-0000"
#define HOLD_MS 150

static struct httpd srv;

/* What the handler saw (under counts_lock). */
static pthread_mutex_t counts_lock = PTHREAD_MUTEX_INITIALIZER;
static int in_flight, max_in_flight;
static struct {
        char target[256];
        int n;
} counts[128];
static size_t n_counts;

static void counts_reset(void) {
        pthread_mutex_lock(&counts_lock);
        in_flight = max_in_flight = 0;
        n_counts = 0;
        pthread_mutex_unlock(&counts_lock);
}

/* How many requests came for target (path and query). */
static int count_of(const char *target) {
        int n = 0;

        pthread_mutex_lock(&counts_lock);
        for (size_t i = 0; i < n_counts; i++)
                if (strcmp(counts[i].target, target) == 0)
                        n = counts[i].n;
        pthread_mutex_unlock(&counts_lock);
        return n;
}

static int total(void) {
        int n = 0;

        pthread_mutex_lock(&counts_lock);
        for (size_t i = 0; i < n_counts; i++)
                n += counts[i].n;
        pthread_mutex_unlock(&counts_lock);
        return n;
}

/* Counts the request; the number of this target's requests so far. */
static int count(const char *target) {
        int n = 0;

        pthread_mutex_lock(&counts_lock);
        for (size_t i = 0; i < n_counts && !n; i++)
                if (strcmp(counts[i].target, target) == 0)
                        n = ++counts[i].n;
        if (!n && n_counts < sizeof counts / sizeof counts[0]) {
                snprintf(counts[n_counts].target, sizeof counts[n_counts].target, "%s", target);
                n = counts[n_counts++].n = 1;
        }
        if (++in_flight > max_in_flight)
                max_in_flight = in_flight;
        pthread_mutex_unlock(&counts_lock);
        return n;
}

static void sleep_ms(long ms) {
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

        while (nanosleep(&ts, &ts) < 0)
                ;
}

/* Vault 1.8 as recorded (shared/vault-api): secret/ is KV v2, kv1/ KV v1;
 * .../denied is refused, .../drop gets no answer, .../flaky a 503 first,
 * .../sealed always a 503. Each answer is held HOLD_MS. */
static char *vault(const struct httpd_request *req, int *ret_status, void *userdata) {
        const char *t = req->target;
        int n = count(t);
        char *body;

        (void) userdata;
        sleep_ms(HOLD_MS);
        pthread_mutex_lock(&counts_lock);
        in_flight--;
        pthread_mutex_unlock(&counts_lock);

        if (!req->token || strcmp(req->token, FAKE_TOKEN) != 0) {
                *ret_status = 403;
                return strdup("{\"errors\":[\"permission denied\"]}");
        }
        if (strstr(t, "/drop"))
                return NULL;
        if (strstr(t, "/denied")) {
                *ret_status = 403;
                return strdup("{\"errors\":[\"permission denied\"]}");
        }
        if (strstr(t, "/sealed") || (strstr(t, "/flaky") && n == 1)) {
                *ret_status = 503;
                return strdup("{\"errors\":[\"Vault is sealed\"]}");
        }
        if (strncmp(t, "/v1/sys/internal/ui/mounts/", 27) == 0) {
                const char *p = t + 27;
                bool v1 = strncmp(p, "kv1/", 4) == 0;

                *ret_status = 200;
                return ve_asprintf("{\"request_id\":\"r\",\"lease_id\":\"\",\"renewable\":false,\"lease_duration\":0,"
                                   "\"data\":{\"accessor\":\"kv_1\",\"options\":{\"version\":\"%s\"},\"path\":\"%s\","
                                   "\"type\":\"kv\"},\"wrap_info\":null,\"warnings\":null,\"auth\":null}",
                                   v1 ? "1" : "2", v1 ? "kv1/" : "secret/");
        }
        *ret_status = 200;
        if (strncmp(t, "/v1/secret/data/", 16) == 0)
                body = ve_asprintf("{\"request_id\":\"r\",\"lease_id\":\"\",\"renewable\":false,\"lease_duration\":0,"
                                   "\"data\":{\"data\":{\"k\":\"fake-%s\"},\"metadata\":{\"created_time\":\"x\","
                                   "\"deletion_time\":\"\",\"destroyed\":false,\"version\":1}},"
                                   "\"wrap_info\":null,\"warnings\":null,\"auth\":null}", t + 16);
        else
                body = ve_asprintf("{\"request_id\":\"r\",\"lease_id\":\"\",\"renewable\":false,\"lease_duration\":0,"
                                   "\"data\":{\"k\":\"fake-%s\"},\"wrap_info\":null,\"warnings\":null,\"auth\":null}",
                                   t + 4);
        return body;
}

static void quiet_log(void *userdata, enum ve_log_level level, const char *msg) {
        (void) userdata;
        (void) level;
        /* neither a token nor a value may reach the log */
        CU_ASSERT_PTR_NULL(strstr(msg, "fake-"));
}

static struct ve_settings *settings_for(unsigned max_retries) {
        static struct ve_settings st;
        static char addr[64];

        snprintf(addr, sizeof addr, "http://127.0.0.1:%d", srv.port);
        st = (struct ve_settings) { .addr = addr, .timeout_ms = 10000, .max_retries = max_retries };
        return &st;
}

static struct ve_http *client(unsigned max_retries) {
        struct ve_http *h = NULL;
        char *err = NULL;

        CU_ASSERT_EQUAL(ve_http_new(settings_for(max_retries), &h, &err), 0);
        free(err);
        if (h)
                ve_http_set_retry_wait(h, 10, 20);
        return h;
}

/* ---- ve_http_request_many() ---- */

static void test_concurrent(void) {
        enum { N = 20 };
        struct ve_http_call calls[N];
        char paths[N][32];
        struct ve_http *h = client(2);
        uint64_t t0, took;

        CU_ASSERT_PTR_NOT_NULL_FATAL(h);
        counts_reset();
        for (int i = 0; i < N; i++) {
                snprintf(paths[i], sizeof paths[i], "kv1/app/p%d", i % 100);
                calls[i] = (struct ve_http_call) { .method = "GET", .api_path = paths[i], .token = FAKE_TOKEN,
                                                   .user_path = paths[i] };
        }
        t0 = ve_now_ms();
        CU_ASSERT_EQUAL(ve_http_request_many(h, calls, N), 0);
        took = ve_now_ms() - t0;
        for (int i = 0; i < N; i++) {
                char want[96], target[96];

                CU_ASSERT_EQUAL(calls[i].r, 0);
                CU_ASSERT_EQUAL(calls[i].resp.status, 200);
                snprintf(want, sizeof want, "fake-%.31s\"", paths[i]);
                CU_ASSERT(calls[i].resp.body && calls[i].resp.len > 0 &&
                          memmem(calls[i].resp.body, calls[i].resp.len, want, strlen(want)));
                snprintf(target, sizeof target, "/v1/%.31s", paths[i]);
                CU_ASSERT_EQUAL(count_of(target), 1);    /* one request per path */
        }
        CU_ASSERT_EQUAL(total(), N);
        /* overlapping, never more than 8 at once: 20 held answers in about
         * 3 rounds, not 20 */
        CU_ASSERT(max_in_flight >= 2);
        CU_ASSERT(max_in_flight <= VE_HTTP_PARALLEL_MAX);
        CU_ASSERT(took < (uint64_t) N * HOLD_MS / 2);
        /* every request carries the token and the request header */
        pthread_mutex_lock(&srv.lock);
        for (size_t i = 0; i < srv.n_seen; i++) {
                CU_ASSERT_TRUE(srv.seen[i].token_fake);
                CU_ASSERT_TRUE(srv.seen[i].request_header);
        }
        pthread_mutex_unlock(&srv.lock);
        ve_http_calls_done(calls, N);

        /* a second batch reuses the connections the first one kept */
        httpd_reset(&srv);
        {
                size_t conns = httpd_n_conns(&srv);

                counts_reset();
                for (int i = 0; i < 4; i++)
                        calls[i] = (struct ve_http_call) { .method = "GET", .api_path = paths[i],
                                                           .token = FAKE_TOKEN, .user_path = paths[i] };
                CU_ASSERT_EQUAL(ve_http_request_many(h, calls, 4), 0);
                for (int i = 0; i < 4; i++)
                        CU_ASSERT_EQUAL(calls[i].r, 0);
                CU_ASSERT_EQUAL(httpd_n_conns(&srv), conns);
                ve_http_calls_done(calls, 4);
        }
        /* nothing to do, and bad arguments */
        CU_ASSERT_EQUAL(ve_http_request_many(h, NULL, 0), 0);
        CU_ASSERT_EQUAL(ve_http_request_many(h, NULL, 1), -EINVAL);
        CU_ASSERT_EQUAL(ve_http_request_many(NULL, calls, 1), -EINVAL);
        ve_http_free(h);
}

static void test_isolated_failures(void) {
        static const char *const paths[] = {
                "kv1/app/a", "kv1/app/denied", "kv1/app/b", "kv1/app/drop", "kv1/app/flaky", "kv1/app/sealed",
                "kv1/app/c",
        };
        enum { N = sizeof paths / sizeof paths[0] };
        struct ve_http_call calls[N];
        struct ve_http *h = client(2);

        CU_ASSERT_PTR_NOT_NULL_FATAL(h);
        counts_reset();
        for (size_t i = 0; i < N; i++)
                calls[i] = (struct ve_http_call) { .method = "GET", .api_path = paths[i], .token = FAKE_TOKEN,
                                                   .user_path = paths[i] };
        CU_ASSERT_EQUAL(ve_http_request_many(h, calls, N), 0);
        /* the good ones, each asked once */
        CU_ASSERT(calls[0].r == 0 && calls[0].resp.status == 200);
        CU_ASSERT(calls[2].r == 0 && calls[2].resp.status == 200);
        CU_ASSERT(calls[6].r == 0 && calls[6].resp.status == 200);
        CU_ASSERT_EQUAL(count_of("/v1/kv1/app/a"), 1);
        CU_ASSERT_EQUAL(count_of("/v1/kv1/app/c"), 1);
        /* a 403 is an answer, not retried */
        CU_ASSERT(calls[1].r == 0 && calls[1].resp.status == 403);
        CU_ASSERT_EQUAL(count_of("/v1/kv1/app/denied"), 1);
        /* no answer: retried, then the failure with its message */
        CU_ASSERT_EQUAL(calls[3].r, -EIO);
        CU_ASSERT(calls[3].error && strstr(calls[3].error, "(3 attempts)"));
        /* 3 attempts; on a reused keep-alive connection that closes
         * without an answer, libcurl re-sends by itself on another one
         * (test-http.c), at most 5 times an attempt, and a batch keeps up
         * to 8 connections to reuse */
        CU_ASSERT(count_of("/v1/kv1/app/drop") >= 3 && count_of("/v1/kv1/app/drop") <= 18);
        /* a 503 then a 200: the retry's answer */
        CU_ASSERT(calls[4].r == 0 && calls[4].resp.status == 200);
        CU_ASSERT_EQUAL(count_of("/v1/kv1/app/flaky"), 2);
        /* always 503: the retries run out, the last answer is the result */
        CU_ASSERT(calls[5].r == 0 && calls[5].resp.status == 503);
        CU_ASSERT_EQUAL(count_of("/v1/kv1/app/sealed"), 3);
        ve_http_calls_done(calls, N);

        /* a token with a control character: that call only, not sent */
        counts_reset();
        calls[0] = (struct ve_http_call) { .method = "GET", .api_path = "kv1/app/a", .token = "fake\ntoken",
                                           .user_path = "kv1/app/a" };
        calls[1] = (struct ve_http_call) { .method = "GET", .api_path = "kv1/app/b", .token = FAKE_TOKEN,
                                           .user_path = "kv1/app/b" };
        CU_ASSERT_EQUAL(ve_http_request_many(h, calls, 2), 0);
        CU_ASSERT_EQUAL(calls[0].r, -EACCES);
        CU_ASSERT(calls[1].r == 0 && calls[1].resp.status == 200);
        CU_ASSERT_EQUAL(total(), 1);
        ve_http_calls_done(calls, 2);
        ve_http_free(h);
}

/* In a forked child (unit_in_child()): a batch after the child handler. */
static int batch_in_child(void *p) {
        static const char *const paths[] = { "kv1/app/a", "kv1/app/b" };
        struct ve_http_call calls[2];
        struct ve_http *h = p;
        bool ok;

        /* h is not freed here: that would clean up the parent's handles */
        ve_http_atfork_child(h);
        for (size_t i = 0; i < 2; i++)
                calls[i] = (struct ve_http_call) { .method = "GET", .api_path = paths[i], .token = FAKE_TOKEN,
                                                   .user_path = paths[i] };
        ok = ve_http_request_many(h, calls, 2) == 0 && calls[0].r == 0 && calls[0].resp.status == 200 &&
             calls[1].r == 0 && calls[1].resp.status == 200;
        ve_http_calls_done(calls, 2);
        return ok ? 0 : 1;
}

/* A forked child must not use the parent's kept multi handle nor its
 * connections (ve_http_atfork_child()): its batch opens connections of its
 * own, and the parent's next batch still has its own. */
static void test_fork(void) {
        static const char *const paths[] = { "kv1/app/a", "kv1/app/b" };
        struct ve_http_call calls[2];
        struct ve_http *h = client(0);
        size_t conns;

        CU_ASSERT_PTR_NOT_NULL_FATAL(h);
        for (size_t i = 0; i < 2; i++)
                calls[i] = (struct ve_http_call) { .method = "GET", .api_path = paths[i], .token = FAKE_TOKEN,
                                                   .user_path = paths[i] };
        CU_ASSERT_EQUAL(ve_http_request_many(h, calls, 2), 0);
        CU_ASSERT(calls[0].r == 0 && calls[1].r == 0);
        ve_http_calls_done(calls, 2);
        conns = httpd_n_conns(&srv);

        /* as the shim's fork handlers do */
        ve_http_atfork_prepare(h);
        CU_ASSERT_EQUAL(unit_in_child(batch_in_child, h), 0);
        ve_http_atfork_parent(h);
        /* the child connected anew */
        CU_ASSERT(httpd_n_conns(&srv) > conns);
        conns = httpd_n_conns(&srv);
        /* the parent's connections are still its own, and alive */
        CU_ASSERT_EQUAL(ve_http_request_many(h, calls, 2), 0);
        CU_ASSERT(calls[0].r == 0 && calls[1].r == 0);
        CU_ASSERT_EQUAL(httpd_n_conns(&srv), conns);
        ve_http_calls_done(calls, 2);
        ve_http_free(h);
}

/* ---- ve_vault_read_many() ---- */

static void test_vault_read_many(void) {
        static const char *const refs_text[] = {
                "secret/app/a#k", "secret/app/b#k", "secret/app/c#k", "secret/app/denied#k",
                "kv1/app/d#k", "kv2:secret/app/e#k", "kv1:kv1/app/f#k", "secret/app/a#k@2",
        };
        enum { N = sizeof refs_text / sizeof refs_text[0] };
        struct ve_settings *st = settings_for(2);
        struct ve_read_call calls[N];
        struct ve_ref refs[N];
        struct ve_vault *v = NULL;
        char *err = NULL;

        st->token = (char *) FAKE_TOKEN;
        CU_ASSERT_EQUAL_FATAL(ve_vault_new(st, &v, &err), 0);
        free(err);
        for (size_t i = 0; i < N; i++) {
                CU_ASSERT_EQUAL_FATAL(ve_ref_parse(refs_text[i], &refs[i], NULL), 0);
                calls[i] = (struct ve_read_call) { .ref = &refs[i] };
        }
        counts_reset();
        CU_ASSERT_EQUAL(ve_vault_read_many(v, calls, N), 0);
        /* KV v2, detected: the values */
        for (size_t i = 0; i < 3; i++) {
                char want[64];

                CU_ASSERT_EQUAL(calls[i].r, 0);
                snprintf(want, sizeof want, "fake-%s", refs[i].path + strlen("secret/"));
                CU_ASSERT(calls[i].secret && ve_secret_get(calls[i].secret, "k") &&
                          strcmp(ve_secret_get(calls[i].secret, "k"), want) == 0);
        }
        /* denied: as a single read says it; the others unharmed */
        CU_ASSERT_EQUAL(calls[3].r, -EACCES);
        CU_ASSERT(calls[3].error && strstr(calls[3].error, "permission denied on secret/app/denied"));
        CU_ASSERT_PTR_NULL(calls[3].secret);
        /* KV v1 detected, kv2: and kv1: forced */
        CU_ASSERT(calls[4].r == 0 && calls[4].secret && strcmp(ve_secret_get(calls[4].secret, "k"), "fake-kv1/app/d") == 0);
        CU_ASSERT(calls[5].r == 0 && calls[5].secret && strcmp(ve_secret_get(calls[5].secret, "k"), "fake-app/e") == 0);
        CU_ASSERT(calls[6].r == 0 && calls[6].secret && strcmp(ve_secret_get(calls[6].secret, "k"), "fake-kv1/app/f") == 0);
        /* a version: ?version=2 */
        CU_ASSERT_EQUAL(calls[7].r, 0);
        CU_ASSERT_EQUAL(count_of("/v1/secret/data/app/a?version=2"), 1);
        /* one detection per mount (secret/, kv1/), none for kv1:/kv2: */
        CU_ASSERT_EQUAL(count_of("/v1/sys/internal/ui/mounts/secret/app/a"), 1);
        CU_ASSERT_EQUAL(count_of("/v1/sys/internal/ui/mounts/kv1/app/d"), 1);
        CU_ASSERT_EQUAL(count_of("/v1/sys/internal/ui/mounts/secret/app/e"), 0);
        CU_ASSERT_EQUAL(count_of("/v1/sys/internal/ui/mounts/kv1/app/f"), 0);
        /* one read per path: 2 detections and 8 reads, overlapping */
        CU_ASSERT_EQUAL(count_of("/v1/secret/data/app/a"), 1);
        CU_ASSERT_EQUAL(count_of("/v1/kv1/app/d"), 1);
        CU_ASSERT_EQUAL(total(), 2 + N);
        CU_ASSERT(max_in_flight >= 2 && max_in_flight <= VE_HTTP_PARALLEL_MAX);
        ve_vault_read_calls_done(calls, N);

        /* the mounts are cached now: the reads alone */
        counts_reset();
        CU_ASSERT_EQUAL(ve_vault_read_many(v, calls, 3), 0);
        CU_ASSERT_EQUAL(total(), 3);
        ve_vault_read_calls_done(calls, 3);

        for (size_t i = 0; i < N; i++)
                ve_ref_done(&refs[i]);
        ve_vault_free(v);
}

int main(void) {
        static const struct unit_test tests[] = {
                { "concurrent", test_concurrent },
                { "isolated_failures", test_isolated_failures },
                { "fork", test_fork },
                { "vault_read_many", test_vault_read_many },
                { NULL, NULL },
        };
        static const struct unit_suite suites[] = {
                { "http-multi", tests },
        };
        int status;

        ve_log_set(quiet_log, NULL, VE_LOG_DEBUG);
        srv.fake_token = FAKE_TOKEN;
        srv.handler = vault;
        if (httpd_start(&srv) < 0) {
                fprintf(stderr, "cannot listen on 127.0.0.1: the batch tests cannot run\n");
                return 1;
        }
        status = unit_run(suites, 1);
        httpd_stop(&srv);
        curl_global_cleanup();
        return status;
}
