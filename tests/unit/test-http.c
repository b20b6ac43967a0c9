/* SPDX-License-Identifier: MIT */
/* Tests of lib/transport/'s HTTP transport: the pure decisions of policy.h
 * (retried statuses and failures, backoff bounds, Retry-After, same-origin
 * redirects, the circuit breaker's states) without sleeping, and the
 * transport against scripted in-test HTTP servers (httpd.c) on 127.0.0.1
 * and on a unix socket: which answers are retried and how often,
 * redirects followed or refused, bodies over the cap, Vault Agent
 * addresses, the breaker at work.
 *
 * Every token here is fake. Nothing prints a token or a body: assertions
 * compare, and CUnit reports only the assertion's text. */
#include "unit.h"
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "http.h"
#include "httpd.h"
#include "log.h"
#include "settings.h"
#include "util.h"

#define FAKE_TOKEN "fake-token-http-0000"
#define FAKE_BODY "{\"secret_id\":\"fake-secret-id-0000\"}"

/* ---- pure functions ---- */

static void test_backoff(void) {
        /* go-retryablehttp's LinearJitterBackoff with Vault's 1000/1500 ms */
        CU_ASSERT_EQUAL(ve_http_backoff_ms(0, 1000, 1500, 0.0), 1000);
        CU_ASSERT_EQUAL(ve_http_backoff_ms(1, 1000, 1500, 0.0), 2000);
        CU_ASSERT_EQUAL(ve_http_backoff_ms(2, 1000, 1500, 0.0), 3000);
        CU_ASSERT_EQUAL(ve_http_backoff_ms(0, 1000, 1500, 0.5), 1250);
        CU_ASSERT_EQUAL(ve_http_backoff_ms(1, 1000, 1500, 0.5), 2500);
        CU_ASSERT_EQUAL(ve_http_backoff_ms(0, 1000, 1500, 0.999999), 1499);
        /* out-of-range randoms are clamped into [min, max) */
        CU_ASSERT_EQUAL(ve_http_backoff_ms(0, 1000, 1500, 1.0), 1499);
        CU_ASSERT_EQUAL(ve_http_backoff_ms(0, 1000, 1500, 7.0), 1499);
        CU_ASSERT_EQUAL(ve_http_backoff_ms(0, 1000, 1500, -1.0), 1000);
        CU_ASSERT_EQUAL(ve_http_backoff_ms(0, 1000, 1500, NAN), 1000);
        /* max <= min: min * attempt number */
        CU_ASSERT_EQUAL(ve_http_backoff_ms(1, 1000, 1000, 0.7), 2000);
        CU_ASSERT_EQUAL(ve_http_backoff_ms(0, 1500, 1000, 0.5), 1500);
        CU_ASSERT_EQUAL(ve_http_backoff_ms(3, 0, 0, 0.5), 0);
        /* bounds for every attempt and random */
        for (unsigned a = 0; a < 10; a++)
                for (double r = 0.0; r < 1.0; r += 0.0625) {
                        uint64_t w = ve_http_backoff_ms(a, 1000, 1500, r);

                        CU_ASSERT(w >= 1000 * (uint64_t) (a + 1));
                        CU_ASSERT(w < 1500 * (uint64_t) (a + 1));
                }
        /* saturates instead of wrapping */
        CU_ASSERT_EQUAL(ve_http_backoff_ms(UINT32_MAX, UINT64_MAX / 2, UINT64_MAX, 0.5), UINT64_MAX);
        CU_ASSERT_EQUAL(ve_http_backoff_ms(1, UINT64_MAX - 1, UINT64_MAX, 0.0), UINT64_MAX);
}

static void test_retry_after(void) {
        time_t now = curl_getdate("Fri, 31 Dec 1999 23:59:00 GMT", NULL);
        uint64_t ms = 12345;

        CU_ASSERT_NOT_EQUAL_FATAL(now, (time_t) -1);
        CU_ASSERT_EQUAL(ve_http_retry_after_ms("3", now, &ms), 0);
        CU_ASSERT_EQUAL(ms, 3000);
        CU_ASSERT_EQUAL(ve_http_retry_after_ms(" 0 \r\n", now, &ms), 0);
        CU_ASSERT_EQUAL(ms, 0);
        CU_ASSERT_EQUAL(ve_http_retry_after_ms("120", now, &ms), 0);
        CU_ASSERT_EQUAL(ms, 120000);
        CU_ASSERT_EQUAL(ve_http_retry_after_ms("Fri, 31 Dec 1999 23:59:59 GMT", now, &ms), 0);
        CU_ASSERT_EQUAL(ms, 59000);
        /* a date in the past: no wait */
        CU_ASSERT_EQUAL(ve_http_retry_after_ms("Fri, 31 Dec 1999 23:00:00 GMT", now, &ms), 0);
        CU_ASSERT_EQUAL(ms, 0);

        ms = 777;
        CU_ASSERT_EQUAL(ve_http_retry_after_ms("", now, &ms), -EINVAL);
        CU_ASSERT_EQUAL(ve_http_retry_after_ms("  ", now, &ms), -EINVAL);
        CU_ASSERT_EQUAL(ve_http_retry_after_ms("-1", now, &ms), -EINVAL);
        CU_ASSERT_EQUAL(ve_http_retry_after_ms("1.5", now, &ms), -EINVAL);
        CU_ASSERT_EQUAL(ve_http_retry_after_ms("soon", now, &ms), -EINVAL);
        CU_ASSERT_EQUAL(ve_http_retry_after_ms("99999999999999999999999", now, &ms), -EINVAL);
        CU_ASSERT_EQUAL(ve_http_retry_after_ms(NULL, now, &ms), -EINVAL);
        CU_ASSERT_EQUAL(ms, 777);       /* untouched on failure */
}

static void test_redirect_target(void) {
        static const struct {
                const char *request, *location;
                int r;
                const char *expect;     /* the URL (0) or the foreign origin (-EPERM); NULL: not compared */
        } cases[] = {
                { "http://127.0.0.1:8200/v1/secret/data/x", "/v1/secret/data/y", 0, "http://127.0.0.1:8200/v1/secret/data/y" },
                { "http://127.0.0.1:8200/v1/secret/data/x", "y", 0, "http://127.0.0.1:8200/v1/secret/data/y" },
                { "http://127.0.0.1:8200/v1/a", "http://127.0.0.1:8200/v1/b?x=1", 0, "http://127.0.0.1:8200/v1/b?x=1" },
                { "http://127.0.0.1:8200/v1/a", "HTTP://127.0.0.1:8200/v1/b", 0, "http://127.0.0.1:8200/v1/b" },
                { "http://vault.example/v1/a", "http://vault.example:80/v1/b", 0, NULL },
                { "https://vault.example/v1/a", "https://vault.example:443/v1/b", 0, NULL },
                { "https://vault.example:8200/v1/a", "https://VAULT.example:8200/v1/b", 0, NULL },
                { "http://localhost/v1/a", "/v1/b", 0, "http://localhost/v1/b" },
                { "http://[::1]:8200/v1/a", "http://[::1]:8200/v1/b", 0, "http://[::1]:8200/v1/b" },
                /* another port, scheme (both ways) or host */
                { "http://127.0.0.1:8200/v1/a", "http://127.0.0.1:8201/v1/a", -EPERM, "http://127.0.0.1:8201" },
                { "http://127.0.0.1:8200/v1/a", "https://127.0.0.1:8200/v1/a", -EPERM, "https://127.0.0.1:8200" },
                { "https://127.0.0.1:8200/v1/a", "http://127.0.0.1:8200/v1/a", -EPERM, "http://127.0.0.1:8200" },
                { "http://vault.example/v1/a", "http://vault.example:8080/v1/a", -EPERM, "http://vault.example:8080" },
                { "http://127.0.0.1:8200/v1/a", "http://evil.example/v1/a?x=y", -EPERM, "http://evil.example:80" },
                { "http://127.0.0.1:8200/v1/a", "//evil.example/v1/a", -EPERM, "http://evil.example:80" },
                { "http://127.0.0.1:8200/v1/a", "http://127.0.0.1.evil.example:8200/v1/a", -EPERM, "http://127.0.0.1.evil.example:8200" },
                { "http://localhost/v1/a", "http://127.0.0.1/v1/a", -EPERM, "http://127.0.0.1:80" },
                /* user info is never followed, not even to the same host */
                { "http://127.0.0.1:8200/v1/a", "http://user:pw@127.0.0.1:8200/v1/a", -EPERM, "http://127.0.0.1:8200" },
                { "http://127.0.0.1:8200/v1/a", "http://user@127.0.0.1:8200/v1/a", -EPERM, "http://127.0.0.1:8200" },
                /* not usable */
                { "http://127.0.0.1:8200/v1/a", "ftp://127.0.0.1:8200/x", -EINVAL, NULL },
                { "http://127.0.0.1:8200/v1/a", "file:///etc/passwd", -EINVAL, NULL },
                { "http://127.0.0.1:8200/v1/a", "", -EINVAL, NULL },
                { "http://127.0.0.1:8200/v1/a", "/v1/a\r\nX-Evil: 1", -EINVAL, NULL },
                { "not a url", "/v1/b", -EINVAL, NULL },
        };

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                char *url = NULL, *foreign = NULL;
                int r = ve_http_redirect_target(cases[i].request, cases[i].location, &url, &foreign);

                CU_ASSERT_EQUAL(r, cases[i].r);
                if (r != cases[i].r)
                        fprintf(stderr, "case %zu: %d\n", i, r);
                if (r == 0) {
                        CU_ASSERT_PTR_NOT_NULL(url);
                        CU_ASSERT_PTR_NULL(foreign);
                        if (url && cases[i].expect)
                                CU_ASSERT_STRING_EQUAL(url, cases[i].expect);
                } else {
                        CU_ASSERT_PTR_NULL(url);
                        if (r == -EPERM) {
                                CU_ASSERT_PTR_NOT_NULL(foreign);
                                if (foreign && cases[i].expect)
                                        CU_ASSERT_STRING_EQUAL(foreign, cases[i].expect);
                        } else
                                CU_ASSERT_PTR_NULL(foreign);
                }
                free(url);
                free(foreign);
        }
}

static void test_retryable(void) {
        static const long retried[] = { 0, 412, 429, 500, 502, 503, 504, 505, 599 };
        static const long final[] = { 200, 204, 301, 307, 400, 403, 404, 405, 409, 501 };
        static const int again[] = {
                CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY, CURLE_COULDNT_CONNECT,
                CURLE_OPERATION_TIMEDOUT, CURLE_GOT_NOTHING, CURLE_SEND_ERROR, CURLE_RECV_ERROR,
                CURLE_PARTIAL_FILE, CURLE_WEIRD_SERVER_REPLY, CURLE_HTTP2, CURLE_HTTP2_STREAM,
        };
        /* TLS and certificates, an oversized answer, local failures */
        static const int never[] = {
                CURLE_OK, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CONNECT_ERROR, CURLE_SSL_CACERT_BADFILE,
                CURLE_SSL_CERTPROBLEM, CURLE_FILESIZE_EXCEEDED, CURLE_WRITE_ERROR, CURLE_OUT_OF_MEMORY,
                CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL,
        };

        for (size_t i = 0; i < sizeof retried / sizeof retried[0]; i++)
                CU_ASSERT_TRUE(ve_http_status_retryable(retried[i]));
        for (size_t i = 0; i < sizeof final / sizeof final[0]; i++)
                CU_ASSERT_FALSE(ve_http_status_retryable(final[i]));
        for (size_t i = 0; i < sizeof again / sizeof again[0]; i++)
                CU_ASSERT_TRUE(ve_http_curl_retryable(again[i]));
        for (size_t i = 0; i < sizeof never / sizeof never[0]; i++)
                CU_ASSERT_FALSE(ve_http_curl_retryable(never[i]));
}

static void test_retry_wait(void) {
        time_t now = curl_getdate("Fri, 31 Dec 1999 23:59:00 GMT", NULL);
        bool from_header = false;

        /* Retry-After counts on a 429 or a 503 only */
        CU_ASSERT_EQUAL(ve_http_retry_wait_ms(429, "3", now, 0, 1000, 1500, 0.0, &from_header), 3000);
        CU_ASSERT_TRUE(from_header);
        CU_ASSERT_EQUAL(ve_http_retry_wait_ms(503, "0", now, 2, 1000, 1500, 0.0, &from_header), 0);
        CU_ASSERT_TRUE(from_header);
        CU_ASSERT_EQUAL(ve_http_retry_wait_ms(429, "Fri, 31 Dec 1999 23:59:30 GMT", now, 0, 1000, 1500, 0.0,
                                              &from_header), 30000);
        CU_ASSERT_TRUE(from_header);
        /* else, or when it does not parse: the backoff of that retry */
        CU_ASSERT_EQUAL(ve_http_retry_wait_ms(500, "100", now, 0, 1000, 1500, 0.0, &from_header), 1000);
        CU_ASSERT_FALSE(from_header);
        from_header = true;
        CU_ASSERT_EQUAL(ve_http_retry_wait_ms(429, "soon", now, 1, 1000, 1500, 0.5, &from_header), 2500);
        CU_ASSERT_FALSE(from_header);
        from_header = true;
        CU_ASSERT_EQUAL(ve_http_retry_wait_ms(503, "", now, 0, 1000, 1500, 0.0, &from_header), 1000);
        CU_ASSERT_FALSE(from_header);
        from_header = true;
        CU_ASSERT_EQUAL(ve_http_retry_wait_ms(429, NULL, now, 2, 10, 20, 0.0, &from_header), 30);
        CU_ASSERT_FALSE(from_header);
        /* no answer (status 0): a header that came before the failure does not count */
        from_header = true;
        CU_ASSERT_EQUAL(ve_http_retry_wait_ms(0, "100", now, 0, 1000, 1500, 0.0, &from_header), 1000);
        CU_ASSERT_FALSE(from_header);

        /* the jitter stays in [0, 1) */
        for (int i = 0; i < 1000; i++) {
                double r = ve_http_jitter_random();

                CU_ASSERT(r >= 0.0 && r < 1.0);
        }
}

static void test_redirect_statuses(void) {
        static const long followed[] = { 301, 302, 307, 308 };
        static const long answers[] = { 200, 300, 303, 304, 305, 306, 309, 400 };

        for (size_t i = 0; i < sizeof followed / sizeof followed[0]; i++)
                CU_ASSERT_TRUE(ve_http_status_redirect(followed[i]));
        for (size_t i = 0; i < sizeof answers / sizeof answers[0]; i++)
                CU_ASSERT_FALSE(ve_http_status_redirect(answers[i]));
}

/* The breaker's states, with times passed in: closed, open (the first
 * skip of a window is the one to tell), half-open (one probe, the others
 * skipped and not told), a failed probe's new window, closed again. */
static void test_breaker_states(void) {
        struct ve_http_breaker b = { .window_ms = 30000 };
        uint64_t left = 777;
        bool tell = true;
        int cause = 777;

        /* closed: passes, and the outputs are left alone */
        CU_ASSERT_EQUAL(ve_http_breaker_admit(&b, 1000, &tell, &left, &cause), VE_HTTP_BREAKER_PASS);
        CU_ASSERT_TRUE(tell);
        CU_ASSERT_EQUAL(left, 777);
        CU_ASSERT_EQUAL(cause, 777);
        /* an answer, a dropped connection, TLS, a local failure: still closed */
        ve_http_breaker_record(&b, 1000, false, 0, 0);
        ve_http_breaker_record(&b, 1000, false, -EIO, 56);
        ve_http_breaker_record(&b, 1000, false, -EPROTO, 35);
        ve_http_breaker_record(&b, 1000, false, -ENOMEM, 27);
        CU_ASSERT_EQUAL(ve_http_breaker_admit(&b, 1000, &tell, &left, &cause), VE_HTTP_BREAKER_PASS);

        /* no answer opens a window; told once */
        ve_http_breaker_record(&b, 1000, false, -ETIMEDOUT, 28);
        CU_ASSERT_EQUAL(ve_http_breaker_admit(&b, 1000, &tell, &left, &cause), VE_HTTP_BREAKER_SKIP);
        CU_ASSERT_TRUE(tell);
        CU_ASSERT_EQUAL(left, 30000);
        CU_ASSERT_EQUAL(cause, 28);
        CU_ASSERT_EQUAL(ve_http_breaker_admit(&b, 30999, &tell, &left, &cause), VE_HTTP_BREAKER_SKIP);
        CU_ASSERT_FALSE(tell);
        CU_ASSERT_EQUAL(left, 1);
        /* a local failure leaves it open */
        ve_http_breaker_record(&b, 2000, false, -ENOMEM, 27);
        CU_ASSERT_EQUAL(ve_http_breaker_admit(&b, 2000, &tell, &left, &cause), VE_HTTP_BREAKER_SKIP);
        CU_ASSERT_EQUAL(cause, 28);

        /* the window passed: one probe, the others skipped without a word */
        CU_ASSERT_EQUAL(ve_http_breaker_admit(&b, 31000, &tell, &left, &cause), VE_HTTP_BREAKER_PROBE);
        tell = true;
        CU_ASSERT_EQUAL(ve_http_breaker_admit(&b, 31000, &tell, &left, &cause), VE_HTTP_BREAKER_SKIP);
        CU_ASSERT_FALSE(tell);
        CU_ASSERT_EQUAL(left, 0);
        /* a forked child may send its own probe */
        ve_http_breaker_forked(&b);
        CU_ASSERT_EQUAL(ve_http_breaker_admit(&b, 31000, &tell, &left, &cause), VE_HTTP_BREAKER_PROBE);
        /* the probe fails: a new window from then, told again, its cause */
        ve_http_breaker_record(&b, 32000, true, -ECONNREFUSED, 7);
        CU_ASSERT_EQUAL(ve_http_breaker_admit(&b, 40000, &tell, &left, &cause), VE_HTTP_BREAKER_SKIP);
        CU_ASSERT_TRUE(tell);
        CU_ASSERT_EQUAL(left, 22000);
        CU_ASSERT_EQUAL(cause, 7);
        /* the next probe gets an answer: closed */
        CU_ASSERT_EQUAL(ve_http_breaker_admit(&b, 62000, &tell, &left, &cause), VE_HTTP_BREAKER_PROBE);
        ve_http_breaker_record(&b, 62500, true, 0, 0);
        CU_ASSERT_EQUAL(ve_http_breaker_admit(&b, 62500, &tell, &left, &cause), VE_HTTP_BREAKER_PASS);
        CU_ASSERT_EQUAL(ve_http_breaker_admit(&b, 62500, &tell, &left, &cause), VE_HTTP_BREAKER_PASS);

        /* window 0: off, never opens */
        b = (struct ve_http_breaker) { .window_ms = 0 };
        ve_http_breaker_record(&b, 1000, false, -ETIMEDOUT, 28);
        CU_ASSERT_EQUAL(ve_http_breaker_admit(&b, 1000, &tell, &left, &cause), VE_HTTP_BREAKER_PASS);
}

/* ---- scripted HTTP servers ---- */

/* srv is Vault; trap stands for another host or a proxy, where nothing
 * must go unless told; usrv is a Vault Agent on a unix socket. */
static struct httpd srv, trap, usrv;

static void step_redirect(struct httpd *s, int status, const char *location) {
        char h[512];

        snprintf(h, sizeof h, "Location: %s\r\n", location);
        httpd_step_status(s, status, h, "");
}

/* ---- the client ---- */

static char log_lines[8192];

static void capture_log(void *userdata, enum ve_log_level level, const char *msg) {
        (void) userdata;
        (void) level;
        /* neither a token nor a body may reach the log */
        CU_ASSERT_PTR_NULL(strstr(msg, "fake-"));
        CU_ASSERT_PTR_NULL(strchr(msg, '\n'));
        if (strlen(log_lines) + strlen(msg) + 2 < sizeof log_lines) {
                strcat(log_lines, msg);
                strcat(log_lines, "\n");
        }
}

static bool logged(const char *s) {
        return strstr(log_lines, s) != NULL;
}

/* A transport to srv with short retry waits (10-20 ms). */
static struct ve_http *client_opts(const char *addr, const char *agent_addr, unsigned max_retries, uint64_t timeout_ms) {
        struct ve_settings st = { .timeout_ms = timeout_ms, .max_retries = max_retries };
        struct ve_http *h = NULL;
        char *err = NULL;

        st.addr = (char *) addr;
        st.agent_addr = (char *) agent_addr;
        CU_ASSERT_EQUAL(ve_http_new(&st, &h, &err), 0);
        CU_ASSERT_PTR_NULL(err);
        free(err);
        if (h)
                ve_http_set_retry_wait(h, 10, 20);
        log_lines[0] = 0;
        return h;
}

static char *srv_addr(struct httpd *s) {
        return ve_asprintf("http://127.0.0.1:%d", s->port);
}

static struct ve_http *client(unsigned max_retries) {
        char *addr = srv_addr(&srv);
        struct ve_http *h = client_opts(addr, NULL, max_retries, 10000);

        free(addr);
        return h;
}

/* A GET of secret/x with the fake token: the status, or -errno. */
static long get(struct ve_http *h, const char *path, char **ret_error) {
        struct ve_http_response resp = {};
        char *err = NULL;
        long status;
        int r;

        r = ve_http_request(h, "GET", path, NULL, FAKE_TOKEN, path, &resp, &err);
        if (r < 0) {
                CU_ASSERT_PTR_NOT_NULL(err);
                if (err)
                        CU_ASSERT_PTR_NULL(strchr(err, '\n'));
                if (ret_error)
                        *ret_error = err;
                else
                        free(err);
                return r;
        }
        CU_ASSERT_PTR_NULL(err);
        status = resp.status;
        ve_http_response_done(&resp);
        return status;
}

static void test_retry_statuses(void) {
        static const int retried[] = { 500, 502, 503, 504, 505, 412, 429 };
        static const int final[] = { 400, 403, 404, 405, 409, 501 };
        struct ve_http *h;

        ve_log_set(capture_log, NULL, VE_LOG_DEBUG);
        h = client(2);
        for (size_t i = 0; i < sizeof retried / sizeof retried[0]; i++) {
                httpd_reset(&srv);
                httpd_step_status(&srv, retried[i], NULL, "{\"errors\":[\"x\"]}");
                httpd_step_status(&srv, retried[i], NULL, "{\"errors\":[\"x\"]}");
                CU_ASSERT_EQUAL(get(h, "secret/x", NULL), 200);
                CU_ASSERT_EQUAL(httpd_n_seen(&srv), 3);
        }
        CU_ASSERT(logged("secret/x: HTTP status 429 from Vault at http://127.0.0.1:"));
        CU_ASSERT(logged("; retry 2 of 2 in "));
        for (size_t i = 0; i < sizeof final / sizeof final[0]; i++) {
                httpd_reset(&srv);
                httpd_step_status(&srv, final[i], NULL, "{\"errors\":[\"x\"]}");
                CU_ASSERT_EQUAL(get(h, "secret/x", NULL), final[i]);
                CU_ASSERT_EQUAL(httpd_n_seen(&srv), 1);
        }

        /* retries run out: the last answer is the result */
        httpd_reset(&srv);
        for (int i = 0; i < 3; i++)
                httpd_step_status(&srv, 503, NULL, "{\"errors\":[\"Vault is sealed\"]}");
        CU_ASSERT_EQUAL(get(h, "secret/x", NULL), 503);
        CU_ASSERT_EQUAL(httpd_n_seen(&srv), 3);
        /* the next request starts afresh */
        CU_ASSERT_EQUAL(get(h, "secret/x", NULL), 200);
        CU_ASSERT_EQUAL(httpd_n_seen(&srv), 4);
        /* every attempt carries the token and the request header, keep-alive */
        pthread_mutex_lock(&srv.lock);
        for (size_t i = 0; i < srv.n_seen; i++) {
                CU_ASSERT_TRUE(srv.seen[i].token_fake);
                CU_ASSERT_TRUE(srv.seen[i].request_header);
                CU_ASSERT_STRING_EQUAL(srv.seen[i].target, "/v1/secret/x");
        }
        pthread_mutex_unlock(&srv.lock);
        ve_http_free(h);

        /* VAULT_MAX_RETRIES=0: one attempt */
        h = client(0);
        httpd_reset(&srv);
        httpd_step_status(&srv, 503, NULL, "{\"errors\":[]}");
        CU_ASSERT_EQUAL(get(h, "secret/x", NULL), 503);
        CU_ASSERT_EQUAL(httpd_n_seen(&srv), 1);
        CU_ASSERT_FALSE(logged("retry"));
        ve_http_free(h);

        /* more retries allowed */
        h = client(5);
        httpd_reset(&srv);
        for (int i = 0; i < 5; i++)
                httpd_step_status(&srv, 502, NULL, "<html>bad gateway</html>");
        CU_ASSERT_EQUAL(get(h, "secret/x", NULL), 200);
        CU_ASSERT_EQUAL(httpd_n_seen(&srv), 6);
        ve_http_free(h);

        /* a POST body goes out again on every attempt */
        h = client(2);
        httpd_reset(&srv);
        httpd_step_status(&srv, 500, NULL, "{\"errors\":[]}");
        {
                struct ve_http_response resp = {};
                char *err = NULL;

                CU_ASSERT_EQUAL(ve_http_request(h, "POST", "auth/approle/login", FAKE_BODY, NULL,
                                                "auth/approle/login", &resp, &err), 0);
                CU_ASSERT_EQUAL(resp.status, 200);
                ve_http_response_done(&resp);
                free(err);
        }
        pthread_mutex_lock(&srv.lock);
        CU_ASSERT_EQUAL(srv.n_seen, 2);
        for (size_t i = 0; i < srv.n_seen; i++) {
                CU_ASSERT_STRING_EQUAL(srv.seen[i].method, "POST");
                CU_ASSERT_TRUE(srv.seen[i].body_fake);
                CU_ASSERT_FALSE(srv.seen[i].token_header);
        }
        pthread_mutex_unlock(&srv.lock);
        ve_http_free(h);
        ve_log_set(NULL, NULL, VE_LOG_ERROR);
}

static void test_retry_after_header(void) {
        struct ve_http *h;

        ve_log_set(capture_log, NULL, VE_LOG_DEBUG);
        h = client(2);
        /* Retry-After: 0 on a 429: retried at once */
        httpd_reset(&srv);
        httpd_step_status(&srv, 429, "Retry-After: 0\r\n", "{\"errors\":[\"rate limit quota exceeded\"]}");
        CU_ASSERT_EQUAL(get(h, "kv1/app/db", NULL), 200);
        CU_ASSERT_EQUAL(httpd_n_seen(&srv), 2);
        CU_ASSERT(logged("(Retry-After)"));

        /* a Retry-After beyond VAULT_CLIENT_TIMEOUT (10 s): the 429 is the
         * answer, not retried (the 10-20 ms backoff would have retried) */
        httpd_reset(&srv);
        log_lines[0] = 0;
        httpd_step_status(&srv, 429, "Retry-After: 100\r\n", "{\"errors\":[\"rate limit quota exceeded\"]}");
        CU_ASSERT_EQUAL(get(h, "kv1/app/db", NULL), 429);
        CU_ASSERT_EQUAL(httpd_n_seen(&srv), 1);
        CU_ASSERT(logged("not retrying: waiting 100s (Retry-After) would pass VAULT_CLIENT_TIMEOUT"));
        /* the same for a 503 */
        httpd_reset(&srv);
        httpd_step_status(&srv, 503, "Retry-After: 100\r\n", "{\"errors\":[]}");
        CU_ASSERT_EQUAL(get(h, "kv1/app/db", NULL), 503);
        CU_ASSERT_EQUAL(httpd_n_seen(&srv), 1);
        /* an HTTP-date far in the future */
        httpd_reset(&srv);
        httpd_step_status(&srv, 429, "Retry-After: Fri, 31 Dec 2100 23:59:59 GMT\r\n", "{\"errors\":[]}");
        CU_ASSERT_EQUAL(get(h, "kv1/app/db", NULL), 429);
        CU_ASSERT_EQUAL(httpd_n_seen(&srv), 1);
        /* other statuses ignore it (go-retryablehttp: 429 and 503 only) */
        httpd_reset(&srv);
        httpd_step_status(&srv, 500, "Retry-After: 100\r\n", "{\"errors\":[]}");
        CU_ASSERT_EQUAL(get(h, "kv1/app/db", NULL), 200);
        CU_ASSERT_EQUAL(httpd_n_seen(&srv), 2);
        /* an unparsable one: the backoff */
        httpd_reset(&srv);
        httpd_step_status(&srv, 429, "Retry-After: soon\r\n", "{\"errors\":[]}");
        CU_ASSERT_EQUAL(get(h, "kv1/app/db", NULL), 200);
        CU_ASSERT_EQUAL(httpd_n_seen(&srv), 2);
        ve_http_free(h);
        ve_log_set(NULL, NULL, VE_LOG_ERROR);
}

static void test_retry_connection(void) {
        struct ve_http *h;
        char *err = NULL, *addr;
        long r;

        ve_log_set(capture_log, NULL, VE_LOG_DEBUG);
        /* A dropped connection, then an answer. (A fresh transport: on a
         * reused keep-alive connection that closes before answering,
         * libcurl itself re-sends the request once on a new connection, so
         * the server would count one more.) */
        h = client(2);
        httpd_reset(&srv);
        httpd_step_add(&srv, HTTPD_DROP);
        CU_ASSERT_EQUAL(get(h, "secret/x", NULL), 200);
        CU_ASSERT_EQUAL(httpd_n_seen(&srv), 2);
        CU_ASSERT(logged("retry 1 of 2"));
        ve_http_free(h);

        /* dropped every time: an error naming the number of attempts */
        h = client(2);
        httpd_reset(&srv);
        for (int i = 0; i < 3; i++)
                httpd_step_add(&srv, HTTPD_DROP);
        r = get(h, "secret/x", &err);
        CU_ASSERT_EQUAL(r, -EIO);
        CU_ASSERT_EQUAL(httpd_n_seen(&srv), 3);
        if (err) {
                addr = ve_asprintf("request to Vault at http://127.0.0.1:%d failed: ", srv.port);
                CU_ASSERT_EQUAL(strncmp(err, addr, strlen(addr)), 0);
                CU_ASSERT_PTR_NOT_NULL(strstr(err, " (3 attempts)"));
                free(addr);
        }
        free(err);
        err = NULL;
        ve_http_free(h);

        /* nothing listens: retried, then "cannot reach" */
        h = client_opts("http://127.0.0.1:1", NULL, 2, 10000);
        log_lines[0] = 0;
        r = get(h, "secret/x", &err);
        CU_ASSERT_EQUAL(r, -ECONNREFUSED);
        if (err) {
                CU_ASSERT_EQUAL(strncmp(err, "cannot reach Vault at http://127.0.0.1:1: ", 42), 0);
                CU_ASSERT_PTR_NOT_NULL(strstr(err, " (3 attempts)"));
        }
        CU_ASSERT(logged("retry 2 of 2"));
        free(err);
        err = NULL;
        ve_http_free(h);

        /* a TLS failure is never retried: one ClientHello */
        httpd_reset(&srv);
        addr = ve_asprintf("https://127.0.0.1:%d", srv.port);
        h = client_opts(addr, NULL, 2, 10000);
        r = get(h, "secret/x", &err);
        CU_ASSERT_EQUAL(r, -EPROTO);
        if (err)
                CU_ASSERT_PTR_NULL(strstr(err, "attempts"));
        pthread_mutex_lock(&srv.lock);
        CU_ASSERT_EQUAL(srv.n_tls_hellos, 1);
        pthread_mutex_unlock(&srv.lock);
        CU_ASSERT_FALSE(logged("retry"));
        free(err);
        err = NULL;
        free(addr);
        ve_http_free(h);
        ve_log_set(NULL, NULL, VE_LOG_ERROR);
}

static void test_deadline(void) {
        struct ve_http *h;
        char *addr = srv_addr(&srv), *err = NULL;
        long r;

        ve_log_set(capture_log, NULL, VE_LOG_DEBUG);
        /* the default waits (1-1.5 s) do not fit in 300 ms: one attempt */
        h = client_opts(addr, NULL, 2, 300);
        ve_http_set_retry_wait(h, VE_HTTP_RETRY_MIN_MS, VE_HTTP_RETRY_MAX_MS);
        httpd_reset(&srv);
        httpd_step_status(&srv, 503, NULL, "{\"errors\":[]}");
        CU_ASSERT_EQUAL(get(h, "secret/x", NULL), 503);
        CU_ASSERT_EQUAL(httpd_n_seen(&srv), 1);
        CU_ASSERT(logged("would pass VAULT_CLIENT_TIMEOUT"));
        ve_http_free(h);

        /* an attempt that uses up the whole timeout is not retried */
        h = client_opts(addr, NULL, 2, 400);
        httpd_reset(&srv);
        httpd_step_status(&srv, 200, NULL, "{}");
        pthread_mutex_lock(&srv.lock);
        srv.steps[0].delay_ms = 1500;
        pthread_mutex_unlock(&srv.lock);
        r = get(h, "secret/x", &err);
        CU_ASSERT_EQUAL(r, -ETIMEDOUT);
        if (err)
                CU_ASSERT_PTR_NOT_NULL(strstr(err, "within 400ms (VAULT_CLIENT_TIMEOUT)"));
        CU_ASSERT_EQUAL(httpd_n_seen(&srv), 1);
        free(err);
        ve_http_free(h);
        free(addr);
        ve_log_set(NULL, NULL, VE_LOG_ERROR);
}

static void test_redirects(void) {
        struct ve_http_response resp = {};
        struct ve_http *h;
        char *err = NULL, *loc, *expect;
        long r;

        ve_log_set(capture_log, NULL, VE_LOG_DEBUG);
        h = client(2);

        /* 307 to a path on the same server, relative */
        httpd_reset(&srv);
        step_redirect(&srv, 307, "/v1/secret/moved");
        CU_ASSERT_EQUAL(get(h, "secret/x", NULL), 200);
        pthread_mutex_lock(&srv.lock);
        CU_ASSERT_EQUAL(srv.n_seen, 2);
        CU_ASSERT_STRING_EQUAL(srv.seen[0].target, "/v1/secret/x");
        CU_ASSERT_STRING_EQUAL(srv.seen[1].target, "/v1/secret/moved");
        CU_ASSERT_TRUE(srv.seen[1].token_fake);
        pthread_mutex_unlock(&srv.lock);
        CU_ASSERT(logged("redirected the request (307) to the same host; following it"));

        /* 301, 302, 308 absolute to the same origin; a POST stays a POST with its body */
        for (int status = 301; status <= 308; status++) {
                if (status != 301 && status != 302 && status != 308)
                        continue;
                httpd_reset(&srv);
                loc = ve_asprintf("http://127.0.0.1:%d/v1/auth/approle/login", srv.port);
                step_redirect(&srv, status, loc);
                free(loc);
                CU_ASSERT_EQUAL(ve_http_request(h, "POST", "auth/x/login", FAKE_BODY, NULL, "auth/x/login",
                                                &resp, &err), 0);
                CU_ASSERT_EQUAL(resp.status, 200);
                ve_http_response_done(&resp);
                pthread_mutex_lock(&srv.lock);
                CU_ASSERT_EQUAL(srv.n_seen, 2);
                CU_ASSERT_STRING_EQUAL(srv.seen[1].method, "POST");
                CU_ASSERT_STRING_EQUAL(srv.seen[1].target, "/v1/auth/approle/login");
                CU_ASSERT_TRUE(srv.seen[1].body_fake);
                pthread_mutex_unlock(&srv.lock);
        }

        /* 303 (not followed by the Go client either) and a 307 without
         * Location are answers */
        httpd_reset(&srv);
        step_redirect(&srv, 303, "/v1/secret/moved");
        CU_ASSERT_EQUAL(get(h, "secret/x", NULL), 303);
        CU_ASSERT_EQUAL(httpd_n_seen(&srv), 1);
        httpd_reset(&srv);
        httpd_step_status(&srv, 307, NULL, "");
        CU_ASSERT_EQUAL(get(h, "secret/x", NULL), 307);
        CU_ASSERT_EQUAL(httpd_n_seen(&srv), 1);

        /* the trap: another port on the same address. Nothing goes there. */
        httpd_reset(&srv);
        httpd_reset(&trap);
        loc = ve_asprintf("http://127.0.0.1:%d/v1/secret/x", trap.port);
        step_redirect(&srv, 307, loc);
        free(loc);
        r = get(h, "secret/x", &err);
        CU_ASSERT_EQUAL(r, -EPROTO);
        expect = ve_asprintf("Vault at http://127.0.0.1:%d redirected the request for secret/x to another host "
                             "(http://127.0.0.1:%d); not following it", srv.port, trap.port);
        if (err)
                CU_ASSERT_STRING_EQUAL(err, expect);
        free(expect);
        free(err);
        err = NULL;
        CU_ASSERT_EQUAL(httpd_n_seen(&srv), 1);
        CU_ASSERT_EQUAL(httpd_n_seen(&trap), 0);
        CU_ASSERT_EQUAL(httpd_n_conns(&trap), 0);

        /* a foreign host name; a scheme change */
        httpd_reset(&srv);
        step_redirect(&srv, 307, "http://vault-active.example:8200/v1/secret/x");
        CU_ASSERT_EQUAL(get(h, "secret/x", &err), -EPROTO);
        if (err)
                CU_ASSERT_PTR_NOT_NULL(strstr(err, "another host (http://vault-active.example:8200)"));
        free(err);
        err = NULL;
        httpd_reset(&srv);
        loc = ve_asprintf("https://127.0.0.1:%d/v1/secret/x", srv.port);
        step_redirect(&srv, 307, loc);
        free(loc);
        CU_ASSERT_EQUAL(get(h, "secret/x", &err), -EPROTO);
        CU_ASSERT_EQUAL(httpd_n_seen(&srv), 1);
        free(err);
        err = NULL;

        /* a loop: at most VE_HTTP_MAX_REDIRECTS hops */
        httpd_reset(&srv);
        for (int i = 0; i <= VE_HTTP_MAX_REDIRECTS + 1; i++)
                step_redirect(&srv, 307, "/v1/secret/x");
        CU_ASSERT_EQUAL(get(h, "secret/x", &err), -EPROTO);
        if (err)
                CU_ASSERT_PTR_NOT_NULL(strstr(err, "too many redirects (more than 3)"));
        CU_ASSERT_EQUAL(httpd_n_seen(&srv), VE_HTTP_MAX_REDIRECTS + 1);
        free(err);
        err = NULL;

        /* an unusable Location */
        httpd_reset(&srv);
        step_redirect(&srv, 307, "ftp://127.0.0.1/x");
        CU_ASSERT_EQUAL(get(h, "secret/x", &err), -EPROTO);
        if (err)
                CU_ASSERT_PTR_NOT_NULL(strstr(err, "to an unusable location"));
        free(err);
        err = NULL;

        /* a redirect, then a retried 503, then the answer */
        httpd_reset(&srv);
        step_redirect(&srv, 307, "/v1/secret/y");
        httpd_step_status(&srv, 503, NULL, "{\"errors\":[]}");
        CU_ASSERT_EQUAL(get(h, "secret/x", NULL), 200);
        pthread_mutex_lock(&srv.lock);
        CU_ASSERT_EQUAL(srv.n_seen, 3);
        CU_ASSERT_STRING_EQUAL(srv.seen[2].target, "/v1/secret/y");
        pthread_mutex_unlock(&srv.lock);
        ve_http_free(h);
        ve_log_set(NULL, NULL, VE_LOG_ERROR);
}

static void test_oversize(void) {
        struct ve_http_response resp = {};
        struct ve_http *h = client(2);
        char *err = NULL;
        struct httpd_step *st;

        for (int chunked = 0; chunked <= 1; chunked++) {
                enum httpd_step_kind kind = chunked ? HTTPD_BIG_CHUNKED : HTTPD_BIG;

                /* over the cap: an error, not retried */
                httpd_reset(&srv);
                st = httpd_step_add(&srv, kind);
                st->size = 2 * 1024 * 1024;
                CU_ASSERT_EQUAL(get(h, "secret/big", &err), -EPROTO);
                if (err)
                        CU_ASSERT_STRING_EQUAL(err, "answer from Vault for secret/big is larger than 1 MiB");
                free(err);
                err = NULL;
                CU_ASSERT_EQUAL(httpd_n_seen(&srv), 1);
                /* one byte over */
                httpd_reset(&srv);
                st = httpd_step_add(&srv, kind);
                st->size = VE_HTTP_BODY_MAX + 1;
                CU_ASSERT_EQUAL(get(h, "secret/big", &err), -EPROTO);
                free(err);
                err = NULL;
                /* exactly the cap */
                httpd_reset(&srv);
                st = httpd_step_add(&srv, kind);
                st->size = VE_HTTP_BODY_MAX;
                CU_ASSERT_EQUAL(ve_http_request(h, "GET", "secret/big", NULL, NULL, "secret/big", &resp, &err), 0);
                CU_ASSERT_EQUAL(resp.status, 200);
                CU_ASSERT_EQUAL(resp.len, VE_HTTP_BODY_MAX);
                ve_http_response_done(&resp);
                free(err);
                err = NULL;
        }
        /* the transport still works afterwards */
        httpd_reset(&srv);
        CU_ASSERT_EQUAL(get(h, "secret/x", NULL), 200);
        ve_http_free(h);
}

static void test_url(void) {
        struct ve_http *h = client(0);

        /* percent-encoding of the path, '/' kept; the first '?' starts the query */
        httpd_reset(&srv);
        CU_ASSERT_EQUAL(get(h, "secret/data/a b/\xc3\xbc+~x", NULL), 200);
        CU_ASSERT_EQUAL(get(h, "secret/data/app/db?version=2", NULL), 200);
        CU_ASSERT_EQUAL(get(h, "secret/data/x?a=1&b=2 3?#", NULL), 200);
        pthread_mutex_lock(&srv.lock);
        CU_ASSERT_EQUAL(srv.n_seen, 3);
        CU_ASSERT_STRING_EQUAL(srv.seen[0].target, "/v1/secret/data/a%20b/%C3%BC%2B~x");
        CU_ASSERT_STRING_EQUAL(srv.seen[1].target, "/v1/secret/data/app/db?version=2");
        CU_ASSERT_STRING_EQUAL(srv.seen[2].target, "/v1/secret/data/x?a=1&b=2%203%3F%23");
        pthread_mutex_unlock(&srv.lock);
        ve_http_free(h);
}

/* The proxy variables of the environment (libcurl's http_proxy,
 * HTTPS_PROXY, ALL_PROXY...) are never used: only VAULT_PROXY_ADDR /
 * VAULT_HTTP_PROXY (settings->proxy) sends requests to a proxy, and then
 * every request, whatever NO_PROXY says. The trap stands in for the proxy. */
static void test_proxy(void) {
        static const char *const vars[] = {
                "http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
        };
        struct ve_settings st = { .timeout_ms = 10000 };
        char *addr = srv_addr(&srv), *proxy = srv_addr(&trap), *err = NULL, *target;
        struct ve_http *h = NULL;

        for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
                CU_ASSERT_EQUAL(setenv(vars[i], proxy, 1), 0);
        unsetenv("no_proxy");
        unsetenv("NO_PROXY");
        h = client(0);
        httpd_reset(&srv);
        httpd_reset(&trap);
        CU_ASSERT_EQUAL(get(h, "secret/x", NULL), 200);
        CU_ASSERT_EQUAL(httpd_n_seen(&srv), 1);
        CU_ASSERT_EQUAL(httpd_n_seen(&trap), 0);
        ve_http_free(h);

        /* told to use one: the proxy gets the request, NO_PROXY or not */
        CU_ASSERT_EQUAL(setenv("no_proxy", "127.0.0.1", 1), 0);
        st.addr = addr;
        st.proxy = proxy;
        h = NULL;
        CU_ASSERT_EQUAL(ve_http_new(&st, &h, &err), 0);
        CU_ASSERT_PTR_NULL(err);
        free(err);
        httpd_reset(&srv);
        httpd_reset(&trap);
        if (h)
                CU_ASSERT_EQUAL(get(h, "secret/x", NULL), 200);
        CU_ASSERT_EQUAL(httpd_n_seen(&srv), 0);
        CU_ASSERT_EQUAL(httpd_n_seen(&trap), 1);
        target = ve_asprintf("%s/v1/secret/x", addr);
        pthread_mutex_lock(&trap.lock);
        if (trap.n_seen == 1 && target)
                CU_ASSERT_STRING_EQUAL(trap.seen[0].target, target);
        pthread_mutex_unlock(&trap.lock);
        free(target);
        ve_http_free(h);

        for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
                unsetenv(vars[i]);
        unsetenv("no_proxy");
        free(addr);
        free(proxy);
}

static void test_agent(void) {
        struct ve_settings st = { .timeout_ms = 5000 };
        struct ve_http_response resp = {};
        struct ve_http *h;
        char *agent, *err = NULL, *addr;
        long r;

        /* unix socket: VAULT_AGENT_ADDR wins over VAULT_ADDR (nothing on port 1) */
        agent = ve_asprintf("unix://%s", usrv.sock_path);
        h = client_opts("http://127.0.0.1:1", agent, 2, 5000);
        CU_ASSERT_STRING_EQUAL(ve_http_addr(h), agent);
        httpd_reset(&usrv);
        httpd_step_status(&usrv, 503, NULL, "{\"errors\":[]}");
        CU_ASSERT_EQUAL(ve_http_request(h, "GET", "kv1/app/db", NULL, NULL, "kv1/app/db", &resp, &err), 0);
        CU_ASSERT_EQUAL(resp.status, 200);
        ve_http_response_done(&resp);
        /* a relative redirect stays on the socket */
        step_redirect(&usrv, 307, "/v1/kv1/app/moved");
        CU_ASSERT_EQUAL(get(h, "kv1/app/db", NULL), 200);
        pthread_mutex_lock(&usrv.lock);
        CU_ASSERT_EQUAL(usrv.n_seen, 4);
        CU_ASSERT_STRING_EQUAL(usrv.seen[0].target, "/v1/kv1/app/db");
        CU_ASSERT_STRING_EQUAL(usrv.seen[0].host, "localhost");
        CU_ASSERT_TRUE(usrv.seen[0].request_header);
        CU_ASSERT_FALSE(usrv.seen[0].token_header);     /* auto-auth: none was given */
        CU_ASSERT_TRUE(usrv.seen[2].token_fake);
        CU_ASSERT_STRING_EQUAL(usrv.seen[3].target, "/v1/kv1/app/moved");
        pthread_mutex_unlock(&usrv.lock);
        ve_http_free(h);
        free(agent);

        /* a TCP agent address wins too */
        httpd_reset(&srv);
        addr = srv_addr(&srv);
        h = client_opts("http://127.0.0.1:1", addr, 0, 5000);
        CU_ASSERT_EQUAL(get(h, "secret/x", NULL), 200);
        CU_ASSERT_EQUAL(httpd_n_seen(&srv), 1);
        ve_http_free(h);
        free(addr);

        /* a socket nobody listens on: named in the message */
        h = client_opts(NULL, "unix:///nonexistent/agent.sock", 0, 5000);
        r = get(h, "secret/x", &err);
        CU_ASSERT_EQUAL(r, -ECONNREFUSED);
        if (err)
                CU_ASSERT_EQUAL(strncmp(err, "cannot reach Vault at unix:///nonexistent/agent.sock: ", 54), 0);
        free(err);
        err = NULL;
        ve_http_free(h);

        /* bad agent addresses, named */
        st.addr = "http://127.0.0.1:8200";
        st.agent_addr = "unix://";
        h = NULL;
        CU_ASSERT_EQUAL(ve_http_new(&st, &h, &err), -EINVAL);
        CU_ASSERT_PTR_NULL(h);
        if (err)
                CU_ASSERT_STRING_EQUAL(err, "VAULT_AGENT_ADDR: no socket path in unix://");
        free(err);
        err = NULL;
        st.agent_addr = "ftp://127.0.0.1:8200";
        CU_ASSERT_EQUAL(ve_http_new(&st, &h, &err), -EINVAL);
        if (err)
                CU_ASSERT_STRING_EQUAL(err, "VAULT_AGENT_ADDR: not an http://, https:// or unix:// URL: ftp://127.0.0.1:8200");
        free(err);
        err = NULL;
        st.agent_addr = "unix:///tmp/0123456789012345678901234567890123456789012345678901234567890123456789"
                        "0123456789012345678901234567890123456789/agent.sock";
        CU_ASSERT_EQUAL(ve_http_new(&st, &h, &err), -EINVAL);
        if (err)
                CU_ASSERT_EQUAL(strncmp(err, "VAULT_AGENT_ADDR: socket path longer than 107 bytes: ", 53), 0);
        free(err);
        err = NULL;
        /* VAULT_ADDR itself stays http(s) only */
        st.agent_addr = NULL;
        st.addr = "unix:///run/vault.sock";
        CU_ASSERT_EQUAL(ve_http_new(&st, &h, &err), -EINVAL);
        if (err)
                CU_ASSERT_STRING_EQUAL(err, "VAULT_ADDR: not an http:// or https:// URL: unix:///run/vault.sock");
        free(err);
        err = NULL;
        /* an agent address needs no VAULT_ADDR */
        st.addr = NULL;
        st.agent_addr = "http://127.0.0.1:8100/";
        CU_ASSERT_EQUAL(ve_http_new(&st, &h, &err), 0);
        if (h)
                CU_ASSERT_STRING_EQUAL(ve_http_addr(h), "http://127.0.0.1:8100");
        ve_http_free(h);
        ve_http_free(NULL);
}

/* ---- the circuit breaker ---- */

static uint64_t fake_now_ms = 5000000;
static uint64_t fake_clock(void) {
        return fake_now_ms;
}

/* A transport to addr with the breaker on (window_ms) and its fake clock. */
static struct ve_http *client_breaker(const char *addr, unsigned max_retries, uint64_t timeout_ms,
                                      uint64_t window_ms) {
        struct ve_settings st = { .timeout_ms = timeout_ms, .max_retries = max_retries,
                                  .breaker_window_ms = window_ms };
        struct ve_http *h = NULL;
        char *err = NULL;

        st.addr = (char *) addr;
        CU_ASSERT_EQUAL(ve_http_new(&st, &h, &err), 0);
        CU_ASSERT_PTR_NULL(err);
        free(err);
        if (h) {
                ve_http_set_retry_wait(h, 10, 20);
                ve_http_set_clock(h, fake_clock);
        }
        log_lines[0] = 0;
        return h;
}

/* The next answer of srv comes after delay_ms. */
static void step_late(struct httpd *s, int delay_ms) {
        httpd_step_status(s, 200, NULL, "{}");
        pthread_mutex_lock(&s->lock);
        s->steps[s->n_steps - 1].delay_ms = delay_ms;
        pthread_mutex_unlock(&s->lock);
}

static size_t log_count(const char *s) {
        size_t n = 0;

        for (const char *p = log_lines; (p = strstr(p, s)); p += strlen(s))
                n++;
        return n;
}

/* A request that times out opens the breaker: further requests fail at
 * once with the same class, without reaching the server, and one line
 * says so per window; after the window one probe goes out, and its
 * success closes the breaker. A failed probe opens a new window. */
static void test_breaker_window(void) {
        char *addr = srv_addr(&srv), *err = NULL, *line, *why;
        struct ve_http *h;

        ve_log_set(capture_log, NULL, VE_LOG_DEBUG);
        line = ve_asprintf("Vault at %s did not answer (timeout after 1s); not asking again for 30s", addr);
        why = ve_asprintf("not asked (circuit breaker): Vault at %s did not answer (timeout after 1s)", addr);
        h = client_breaker(addr, 2, 1000, 30000);
        httpd_reset(&srv);
        step_late(&srv, 2500);
        CU_ASSERT_EQUAL(get(h, "secret/a", NULL), -ETIMEDOUT);
        CU_ASSERT_EQUAL(httpd_n_seen(&srv), 1);
        for (int i = 0; i < 3; i++) {
                CU_ASSERT_EQUAL(get(h, "secret/b", &err), -ETIMEDOUT);
                if (err)
                        CU_ASSERT_STRING_EQUAL(err, why);
                free(err);
                err = NULL;
        }
        CU_ASSERT_EQUAL(httpd_n_seen(&srv), 1);
        CU_ASSERT_EQUAL(log_count(line), 1);

        /* just before the window ends: still skipped */
        fake_now_ms += 29999;
        CU_ASSERT_EQUAL(get(h, "secret/b", NULL), -ETIMEDOUT);
        CU_ASSERT_EQUAL(httpd_n_seen(&srv), 1);
        /* the window passed: one probe, it fails: a new window, a new line */
        fake_now_ms += 1;
        step_late(&srv, 2500);
        CU_ASSERT_EQUAL(get(h, "secret/c", NULL), -ETIMEDOUT);
        CU_ASSERT_EQUAL(httpd_n_seen(&srv), 2);
        CU_ASSERT_EQUAL(get(h, "secret/c", NULL), -ETIMEDOUT);
        CU_ASSERT_EQUAL(httpd_n_seen(&srv), 2);
        CU_ASSERT_EQUAL(log_count(line), 2);
        /* the next probe gets an answer: closed, every request goes out */
        fake_now_ms += 30000;
        CU_ASSERT_EQUAL(get(h, "secret/d", NULL), 200);
        CU_ASSERT_EQUAL(get(h, "secret/d", NULL), 200);
        CU_ASSERT_EQUAL(httpd_n_seen(&srv), 4);
        CU_ASSERT_EQUAL(log_count(line), 2);
        ve_http_free(h);

        /* window 0: no breaker, each request waits its own timeout */
        h = client_breaker(addr, 2, 1000, 0);
        httpd_reset(&srv);
        step_late(&srv, 2500);
        step_late(&srv, 2500);
        CU_ASSERT_EQUAL(get(h, "secret/a", NULL), -ETIMEDOUT);
        CU_ASSERT_EQUAL(get(h, "secret/b", NULL), -ETIMEDOUT);
        CU_ASSERT_EQUAL(httpd_n_seen(&srv), 2);
        CU_ASSERT_FALSE(logged("not asking again"));
        ve_http_free(h);
        free(line);
        free(why);
        free(addr);
        ve_log_set(NULL, NULL, VE_LOG_ERROR);
}

/* Retries of one request stay within its own timeout; the requests after
 * it are not retried, nor sent: they fail at once. */
static void test_breaker_retries(void) {
        struct ve_http *h;
        char *err = NULL;

        ve_log_set(capture_log, NULL, VE_LOG_DEBUG);
        h = client_breaker("http://127.0.0.1:1", 2, 10000, 30000);
        CU_ASSERT_EQUAL(get(h, "secret/a", &err), -ECONNREFUSED);
        if (err)
                CU_ASSERT_PTR_NOT_NULL(strstr(err, " (3 attempts)"));
        free(err);
        err = NULL;
        CU_ASSERT(logged("retry 2 of 2"));
        log_lines[0] = 0;
        CU_ASSERT_EQUAL(get(h, "secret/b", &err), -ECONNREFUSED);
        if (err)
                CU_ASSERT_EQUAL(strncmp(err, "not asked (circuit breaker): Vault at http://127.0.0.1:1 cannot be reached (",
                                        76), 0);
        free(err);
        CU_ASSERT_FALSE(logged("retry"));
        CU_ASSERT(logged("Vault at http://127.0.0.1:1 cannot be reached ("));
        CU_ASSERT(logged("); not asking again for 30s"));
        ve_http_free(h);
        ve_log_set(NULL, NULL, VE_LOG_ERROR);
}

struct probe_arg {
        struct ve_http *h;
        long status;
};

static void *probe_thread(void *p) {
        struct probe_arg *a = p;

        a->status = get(a->h, "secret/probe", NULL);
        return NULL;
}

static int breaker_child(void *userdata) {
        struct ve_http *h = userdata;

        ve_http_atfork_child(h);
        /* the parent's open breaker holds here too */
        return get(h, "secret/child", NULL) == -ETIMEDOUT && httpd_n_seen(&srv) == 1 ? 0 : 1;
}

/* Half-open: while the probe is out, other requests do not wait for it
 * nor go out themselves. A forked child keeps its parent's state. */
static void test_breaker_half_open(void) {
        char *addr = srv_addr(&srv);
        struct probe_arg a = {};
        struct ve_http *h;
        pthread_t t;

        h = client_breaker(addr, 0, 2000, 30000);
        httpd_reset(&srv);
        step_late(&srv, 3500);
        CU_ASSERT_EQUAL(get(h, "secret/a", NULL), -ETIMEDOUT);
        CU_ASSERT_EQUAL(httpd_n_seen(&srv), 1);
        CU_ASSERT_EQUAL(unit_in_child(breaker_child, h), 0);

        fake_now_ms += 30000;
        step_late(&srv, 600);
        a.h = h;
        CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, probe_thread, &a), 0);
        for (int i = 0; i < 400 && httpd_n_seen(&srv) < 2; i++)
                usleep(5000);
        CU_ASSERT_EQUAL(httpd_n_seen(&srv), 2);       /* the probe is at the server */
        CU_ASSERT_EQUAL(get(h, "secret/b", NULL), -ETIMEDOUT);
        CU_ASSERT_EQUAL(httpd_n_seen(&srv), 2);
        pthread_join(t, NULL);
        CU_ASSERT_EQUAL(a.status, 200);
        CU_ASSERT_EQUAL(get(h, "secret/b", NULL), 200);
        CU_ASSERT_EQUAL(httpd_n_seen(&srv), 3);
        ve_http_free(h);
        free(addr);
}

int main(void) {
        static const struct unit_test pure_tests[] = {
                { "backoff", test_backoff },
                { "retry_after", test_retry_after },
                { "redirect_target", test_redirect_target },
                { "retryable", test_retryable },
                { "retry_wait", test_retry_wait },
                { "redirect_statuses", test_redirect_statuses },
                { "breaker_states", test_breaker_states },
                { NULL, NULL },
        };
        static const struct unit_test transport_tests[] = {
                { "retry_statuses", test_retry_statuses },
                { "retry_after_header", test_retry_after_header },
                { "retry_connection", test_retry_connection },
                { "deadline", test_deadline },
                { "redirects", test_redirects },
                { "oversize", test_oversize },
                { "url", test_url },
                { "agent", test_agent },
                { "proxy", test_proxy },
                { "breaker_window", test_breaker_window },
                { "breaker_retries", test_breaker_retries },
                { "breaker_half_open", test_breaker_half_open },
                { NULL, NULL },
        };
        static const struct unit_suite suites[] = {
                { "http-decisions", pure_tests },
                { "http-transport", transport_tests },
        };
        char dir[] = "/tmp/test-http-XXXXXX";
        int status;

        if (!mkdtemp(dir)) {
                fprintf(stderr, "cannot make a temporary directory\n");
                return 1;
        }
        snprintf(usrv.sock_path, sizeof usrv.sock_path, "%s/agent.sock", dir);
        srv.fake_token = trap.fake_token = usrv.fake_token = FAKE_TOKEN;
        srv.fake_body = trap.fake_body = usrv.fake_body = FAKE_BODY;
        if (httpd_start(&srv) < 0 || httpd_start(&trap) < 0 || httpd_start(&usrv) < 0) {
                fprintf(stderr, "cannot listen on 127.0.0.1 or a unix socket: the transport tests cannot run\n");
                return 1;
        }
        status = unit_run(suites, 2);
        httpd_stop(&srv);
        httpd_stop(&trap);
        httpd_stop(&usrv);
        rmdir(dir);
        curl_global_cleanup();
        return status;
}
