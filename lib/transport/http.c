/* SPDX-License-Identifier: MIT */
/* The HTTP transport's requests: one request to Vault as attempts on a
 * libcurl handle, with the retries, same-origin redirects and circuit
 * breaker that policy.h decides, the headers, the URL, and what a failure
 * is called. See http.h; http-internal.h for the locks, which a request
 * takes only around the idle handle slot and the breaker.
 *
 * Secrets: the token header string and curl_slist's copy of it are wiped
 * before they are freed; libcurl's own copy inside the request is
 * libcurl's. Response bodies may hold values and are wiped before they are
 * freed. Nothing logged or returned here holds a token, a value or a body. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "http-internal.h"
#include "log.h"
#include "util.h"

/* Connect (TCP and TLS handshake) timeout cap. The vault CLI dials with a 30 s
 * timeout (hashicorp/go-cleanhttp's pooled transport); we use the same, and
 * never more than the whole request timeout, so an unreachable (blackholed)
 * Vault fails after at most 30 s even with a long VAULT_CLIENT_TIMEOUT. */
#define CONNECT_TIMEOUT_MAX_MS 30000

/* ---- what goes out ---- */

void ve_http_response_done(struct ve_http_response *r) {
        ve_erase_free_n(r->body, r->cap);
        *r = (struct ve_http_response) {};
}

void ve_http_slist_erase_free(struct curl_slist *l) {
        for (struct curl_slist *i = l; i; i = i->next)
                if (i->data)
                        explicit_bzero(i->data, strlen(i->data));
        curl_slist_free_all(l);
}

static int slist_add(struct curl_slist **l, const char *s) {
        struct curl_slist *n = curl_slist_append(*l, s);

        if (!n)
                return -ENOMEM;
        *l = n;
        return 0;
}

/* RFC 3986 unreserved characters stay, '/' between segments stays, every
 * other byte becomes %XX. The first '?' starts the query (mapfile.c allows
 * none in a path; vault.c adds "?version=N"), where '=' and '&' stay too
 * (but not '/', nor another '?'). */
char *ve_http_url_for(const struct ve_http *h, const char *api_path) {
        size_t bl = strlen(h->base_url), n = strlen(api_path);
        const char *q = strchr(api_path, '?');
        char *url, *o;

        url = malloc(bl + 4 + 3 * n + 1);
        if (!url)
                return NULL;
        memcpy(url, h->base_url, bl);
        o = url + bl;
        memcpy(o, "/v1/", 4);
        o += 4;
        o = ve_percent_encode(o, api_path, q ? (size_t) (q - api_path) : n, "/");
        if (q) {
                *o++ = '?';
                o = ve_percent_encode(o, q + 1, strlen(q + 1), "=&");
        }
        *o = 0;
        return url;
}

/* The headers of every attempt, appended to *headers; the token's and the
 * namespace's lines, which the list copies, in *ret_token_header (to be
 * wiped) and *ret_ns_header, for the caller to free also on failure. */
int ve_http_build_headers(const struct ve_http *h, const char *token, bool has_body,
                         struct curl_slist **headers, char **ret_token_header, char **ret_ns_header) {
        int r;

        r = slist_add(headers, "X-Vault-Request: true");
        if (r < 0)
                return r;
        if (token) {
                /* Exactly sized, not ve_asprintf(): vasprintf() formats
                 * into a larger block and reallocs it to fit, leaving a
                 * copy of the token in freed memory that nobody wipes. */
                static const char name[] = "X-Vault-Token: ";
                size_t n = strlen(token);

                *ret_token_header = malloc(sizeof name + n);
                if (!*ret_token_header)
                        return -ENOMEM;
                memcpy(*ret_token_header, name, sizeof name - 1);
                memcpy(*ret_token_header + sizeof name - 1, token, n + 1);
                r = slist_add(headers, *ret_token_header);
                if (r < 0)
                        return r;
        }
        if (has_body) {
                r = slist_add(headers, "Content-Type: application/json");
                if (r < 0)
                        return r;
        }
        if (h->namespace) {
                *ret_ns_header = ve_asprintf("X-Vault-Namespace: %s", h->namespace);
                if (!*ret_ns_header)
                        return -ENOMEM;
                r = slist_add(headers, *ret_ns_header);
                if (r < 0)
                        return r;
        }
        if (h->host_header) {
                r = slist_add(headers, h->host_header);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- one exchange, and what its failure is called ---- */

void ve_http_attempt_setup(CURL *eh, const char *method, const char *url, const char *body,
                           struct curl_slist *headers, uint64_t remaining_ms,
                           struct ve_http_response *resp, struct attempt *a) {
        long timeout, connect_timeout;

        timeout = remaining_ms > LONG_MAX ? LONG_MAX : (long) remaining_ms;
        if (timeout < 1)
                timeout = 1;
        connect_timeout = timeout < CONNECT_TIMEOUT_MAX_MS ? timeout : CONNECT_TIMEOUT_MAX_MS;

        a->errbuf[0] = 0;
        curl_easy_setopt(eh, CURLOPT_ERRORBUFFER, a->errbuf);
        curl_easy_setopt(eh, CURLOPT_URL, url);
        curl_easy_setopt(eh, CURLOPT_TIMEOUT_MS, timeout);
        curl_easy_setopt(eh, CURLOPT_CONNECTTIMEOUT_MS, connect_timeout);
        /* Reset to a GET, then shape the method: POST with a body (copied
         * by curl: POSTFIELDS points at the caller's buffer for the
         * request's duration only), or a custom verb (LIST, PUT, DELETE). */
        curl_easy_setopt(eh, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(eh, CURLOPT_CUSTOMREQUEST, NULL);
        if (body) {
                curl_easy_setopt(eh, CURLOPT_POSTFIELDS, body);
                curl_easy_setopt(eh, CURLOPT_POSTFIELDSIZE, (long) strlen(body));
        }
        if (strcmp(method, "GET") != 0 && !(body && strcmp(method, "POST") == 0))
                curl_easy_setopt(eh, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(eh, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(eh, CURLOPT_WRITEDATA, resp);
        curl_easy_setopt(eh, CURLOPT_HEADERDATA, a);
}

void ve_http_attempt_finish(CURL *eh, struct ve_http_response *resp, struct attempt *a) {
        /* The handle must not keep pointers to what the caller frees. */
        curl_easy_setopt(eh, CURLOPT_HTTPHEADER, NULL);
        curl_easy_setopt(eh, CURLOPT_WRITEDATA, NULL);
        curl_easy_setopt(eh, CURLOPT_HEADERDATA, NULL);
        curl_easy_setopt(eh, CURLOPT_POSTFIELDS, NULL);
        curl_easy_setopt(eh, CURLOPT_CUSTOMREQUEST, NULL);
        curl_easy_setopt(eh, CURLOPT_ERRORBUFFER, NULL);
        if (a->cc == CURLE_OK)
                curl_easy_getinfo(eh, CURLINFO_RESPONSE_CODE, &resp->status);
        a->errbuf[sizeof a->errbuf - 1] = 0;
        /* Strip the newline some backends end the text with. */
        for (size_t n = strlen(a->errbuf); n > 0 && (a->errbuf[n - 1] == '\n' || a->errbuf[n - 1] == '\r'); )
                a->errbuf[--n] = 0;
}

/* One HTTP exchange on a handle of its own: the lock is held only to take
 * the idle handle and to put it back, never across the exchange (another
 * thread's request, or a fork, must not wait for this one's network I/O).
 * remaining_ms bounds it (>= 1). 0 with the outcome in *a (a->cc) and, on
 * CURLE_OK, the answer in *resp; -errno only for local failures (setup,
 * memory). */
static int perform_once(struct ve_http *h, const char *method, const char *url, const char *body,
                        struct curl_slist *headers, uint64_t remaining_ms,
                        struct ve_http_response *resp, struct attempt *a, char **ret_error) {
        CURL *eh;
        int r = 0;

        pthread_mutex_lock(&h->lock);
        eh = h->curl;
        h->curl = NULL;
        pthread_mutex_unlock(&h->lock);
        if (!eh) {
                r = ve_http_handle_new(h, &eh, ret_error);
                if (r < 0)
                        return r;
        }
        ve_http_attempt_setup(eh, method, url, body, headers, remaining_ms, resp, a);
        a->cc = curl_easy_perform(eh);
        ve_http_attempt_finish(eh, resp, a);
        /* Back as the idle handle, unless another request's is there. */
        pthread_mutex_lock(&h->lock);
        if (!h->curl) {
                h->curl = eh;
                eh = NULL;
        }
        pthread_mutex_unlock(&h->lock);
        if (eh)
                curl_easy_cleanup(eh);
        return r;
}

static char *duration_text(uint64_t ms) {
        if (ms % 1000 == 0)
                return ve_asprintf("%llus", (unsigned long long) (ms / 1000));
        return ve_asprintf("%llums", (unsigned long long) ms);
}

/* Maps a failed curl_easy_perform. errbuf is CURLOPT_ERRORBUFFER's text;
 * attempts > 1 is said in the message. */
int ve_http_curl_error(const struct ve_http *h, CURLcode cc, const char *errbuf,
                      const struct ve_http_response *resp, const char *user_path, unsigned attempts,
                      char **ret_error) {
        const char *why = errbuf && *errbuf ? errbuf : curl_easy_strerror(cc);
        char *msg = NULL, *d;
        int r;

        switch (cc) {
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
        case CURLE_COULDNT_CONNECT:
                msg = ve_asprintf("cannot reach Vault at %s: %s", h->addr, why);
                r = -ECONNREFUSED;
                break;
        case CURLE_OPERATION_TIMEDOUT:
                d = duration_text(h->timeout_ms);
                msg = ve_asprintf("no answer from Vault at %s within %s (VAULT_CLIENT_TIMEOUT): %s",
                                  h->addr, d ? d : "the timeout", why);
                free(d);
                r = -ETIMEDOUT;
                break;
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CIPHER:
        case CURLE_SSL_ENGINE_NOTFOUND:
        case CURLE_SSL_ENGINE_SETFAILED:
        case CURLE_SSL_ENGINE_INITFAILED:
        case CURLE_SSL_CRL_BADFILE:
        case CURLE_SSL_ISSUER_ERROR:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        case CURLE_SSL_INVALIDCERTSTATUS:
        case CURLE_SSL_SHUTDOWN_FAILED:
        case CURLE_USE_SSL_FAILED:
#if CURL_AT_LEAST_VERSION(7, 77, 0)
        case CURLE_SSL_CLIENTCERT:
#endif
                msg = ve_asprintf("TLS error talking to %s: %s", h->addr, why);
                r = -EPROTO;
                break;
        case CURLE_FILESIZE_EXCEEDED:
                msg = ve_asprintf("answer from Vault for %s is larger than 1 MiB", user_path);
                r = -EPROTO;
                break;
        case CURLE_WRITE_ERROR:
                if (!resp->too_large)
                        return -ENOMEM;
                msg = ve_asprintf("answer from Vault for %s is larger than 1 MiB", user_path);
                r = -EPROTO;
                break;
        case CURLE_OUT_OF_MEMORY:
                return -ENOMEM;
        default:
                msg = ve_asprintf("request to Vault at %s failed: %s", h->addr, why);
                r = -EIO;
                break;
        }
        if (msg && attempts > 1) {
                char *m = ve_asprintf("%s (%u attempts)", msg, attempts);

                if (m) {
                        free(msg);
                        msg = m;
                }
        }
        ve_set_error(ret_error, msg);
        return r;
}

/* ---- redirects and retries, as policy.h decides ---- */

/* The next URL after a redirect answer, or -EPROTO and the message. */
int ve_http_follow_redirect(const struct ve_http *h, const char *url, const struct attempt *a, long status,
                           const char *user_path, unsigned hops, char **ret_url, char **ret_error) {
        char *target = NULL, *foreign = NULL;
        int r;

        if (hops > VE_HTTP_MAX_REDIRECTS) {
                ve_set_error(ret_error, ve_asprintf("too many redirects (more than %d) from Vault at %s for %s",
                                                    VE_HTTP_MAX_REDIRECTS, h->addr, user_path));
                return -EPROTO;
        }
        if (a->location_too_long) {
                ve_set_error(ret_error, ve_asprintf("Vault at %s redirected the request for %s (%ld) to a location longer than %d bytes; not following it",
                                                    h->addr, user_path, status, LOCATION_MAX - 1));
                return -EPROTO;
        }
        r = ve_http_redirect_target(url, a->location, &target, &foreign);
        if (r == -EPERM) {
                ve_set_error(ret_error, ve_asprintf("Vault at %s redirected the request for %s to another host (%s); not following it",
                                                    h->addr, user_path, foreign ? foreign : "?"));
                free(foreign);
                return -EPROTO;
        }
        if (r == -EINVAL) {
                ve_set_error(ret_error, ve_asprintf("Vault at %s redirected the request for %s (%ld) to an unusable location",
                                                    h->addr, user_path, status));
                return -EPROTO;
        }
        if (r < 0)
                return r;
        ve_info("%s: Vault at %s redirected the request (%ld) to the same host; following it", user_path, h->addr, status);
        *ret_url = target;
        return 0;
}

/* After a retryable outcome of attempt number retries + 1 (a, resp), the
 * wait policy.h gives, if it ends before deadline: true and the time to
 * sleep until in *ret_until_ms. Said at info either way, naming the
 * reason: a status or libcurl's text, never a body. */
bool ve_http_retry_planned(const struct ve_http *h, const struct attempt *a, const struct ve_http_response *resp,
                          unsigned retries, uint64_t deadline, const char *user_path, uint64_t *ret_until_ms) {
        bool from_header;
        uint64_t wait, now;
        char *reason, *d;

        wait = ve_http_retry_wait_ms(a->cc == CURLE_OK ? resp->status : 0, a->retry_after, time(NULL), retries,
                                     h->retry_min_ms, h->retry_max_ms, ve_http_jitter_random(), &from_header);
        reason = a->cc == CURLE_OK ? ve_asprintf("HTTP status %ld", resp->status) :
                 strdup(a->errbuf[0] ? a->errbuf : curl_easy_strerror(a->cc));
        d = duration_text(wait);
        now = ve_now_ms();
        if (wait >= deadline - (now < deadline ? now : deadline)) {
                ve_info("%s: %s from Vault at %s; not retrying: waiting %s%s would pass VAULT_CLIENT_TIMEOUT",
                        user_path, reason ? reason : "failure", h->addr, d ? d : "longer",
                        from_header ? " (Retry-After)" : "");
                free(reason);
                free(d);
                return false;
        }
        ve_info("%s: %s from Vault at %s; retry %u of %u in %s%s",
                user_path, reason ? reason : "failure", h->addr, retries + 1, h->max_retries,
                d ? d : "a moment", from_header ? " (Retry-After)" : "");
        free(reason);
        free(d);
        *ret_until_ms = now + wait;
        return true;
}

/* Sleeps until the CLOCK_MONOTONIC time until_ms (as ve_now_ms()). */
static void sleep_until(uint64_t until_ms) {
        struct timespec ts = {
                .tv_sec = (time_t) (until_ms / 1000),
                .tv_nsec = (long) (until_ms % 1000) * 1000000L,
        };

        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
                ;
}

/* ---- the circuit breaker (policy.h), under the lock ---- */

/* What the failure cc that opened the breaker says of Vault (heap). */
static char *breaker_why(const struct ve_http *h, CURLcode cc) {
        char *d, *s;

        if (cc != CURLE_OPERATION_TIMEDOUT)
                return ve_asprintf("cannot be reached (%s)", curl_easy_strerror(cc));
        d = duration_text(h->timeout_ms);
        s = ve_asprintf("did not answer (timeout after %s)", d ? d : "VAULT_CLIENT_TIMEOUT");
        free(d);
        return s;
}

/* Whether a request may go out: 0, 1 for the probe of a half-open
 * breaker, or the -errno of the failure that opened it (-ETIMEDOUT,
 * -ECONNREFUSED) and a one-line reason: skipped. The first skip of a window
 * logs the one line that says so (after the lock is released). */
int ve_http_gate_admit(struct ve_http *h, char **ret_error) {
        enum ve_http_breaker_verdict verdict;
        uint64_t now, left = 0;
        bool tell = false;
        int cause = CURLE_OK;
        char *why;

        /* Off: neither the clock nor the lock. */
        if (!h->breaker.window_ms)
                return 0;
        now = h->now_ms();
        pthread_mutex_lock(&h->lock);
        verdict = ve_http_breaker_admit(&h->breaker, now, &tell, &left, &cause);
        pthread_mutex_unlock(&h->lock);
        if (verdict != VE_HTTP_BREAKER_SKIP)
                return verdict == VE_HTTP_BREAKER_PROBE ? 1 : 0;

        why = breaker_why(h, (CURLcode) cause);
        if (tell)
                ve_warn("Vault at %s %s; not asking again for %llus", h->addr, why ? why : "failed",
                        (unsigned long long) ((left + 999) / 1000));
        ve_set_error(ret_error, ve_asprintf("not asked (circuit breaker): Vault at %s %s", h->addr,
                                            why ? why : "failed"));
        free(why);
        return cause == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -ECONNREFUSED;
}

/* The outcome r of a request that went out, cc its last libcurl code
 * (probe: the one of a half-open breaker), told to the breaker under the
 * lock; ve_http_breaker_record() says what it does. */
void ve_http_gate_record(struct ve_http *h, bool probe, int r, CURLcode cc) {
        uint64_t now;

        if (!h->breaker.window_ms)
                return;
        now = h->now_ms();
        pthread_mutex_lock(&h->lock);
        ve_http_breaker_record(&h->breaker, now, probe, r, (int) cc);
        pthread_mutex_unlock(&h->lock);
}

/* ---- one request ---- */

/* The attempts (retries, redirects) of one request. The lock is taken per
 * attempt by perform_once(); the waits between attempts hold nothing. */
int ve_http_request(struct ve_http *h, const char *method, const char *api_path, const char *body,
                    const char *token, const char *user_path,
                    struct ve_http_response *ret, char **ret_error) {
        struct ve_http_response resp = {};
        struct curl_slist *headers = NULL;
        char *url = NULL, *token_header = NULL, *ns_header = NULL;
        struct attempt *a = NULL;
        unsigned retries = 0, hops = 0;
        uint64_t deadline;
        bool probe;
        int r;

        if (token && ve_has_control(token)) {
                ve_set_error(ret_error, strdup("the Vault token contains a control character; not sending it"));
                return -EACCES;
        }
        r = ve_http_gate_admit(h, ret_error);
        if (r < 0)
                return r;
        probe = r == 1;
        /* One deadline for every attempt and wait: VAULT_CLIENT_TIMEOUT. */
        deadline = ve_now_ms() + h->timeout_ms;

        url = ve_http_url_for(h, api_path);
        a = calloc(1, sizeof *a);
        if (!url || !a) {
                r = -ENOMEM;
                goto out;
        }
        r = ve_http_build_headers(h, token, body != NULL, &headers, &token_header, &ns_header);
        if (r < 0)
                goto out;

        for (;;) {
                uint64_t now = ve_now_ms(), until;

                ve_http_response_done(&resp);
                a->cc = CURLE_OK;
                a->errbuf[0] = a->location[0] = a->retry_after[0] = 0;
                a->location_too_long = false;
                r = perform_once(h, method, url, body, headers, deadline > now ? deadline - now : 1,
                                 &resp, a, ret_error);
                if (r < 0)
                        goto out;

                if (a->cc == CURLE_OK && ve_http_status_redirect(resp.status) &&
                    (a->location[0] || a->location_too_long)) {
                        char *next = NULL;

                        r = ve_http_follow_redirect(h, url, a, resp.status, user_path, ++hops, &next, ret_error);
                        if (r < 0)
                                goto out;
                        free(url);
                        url = next;
                        continue;
                }

                if (!(a->cc == CURLE_OK ? ve_http_status_retryable(resp.status) : ve_http_curl_retryable(a->cc)) ||
                    retries >= h->max_retries ||
                    !ve_http_retry_planned(h, a, &resp, retries, deadline, user_path, &until))
                        break;
                ve_http_response_done(&resp);
                sleep_until(until);
                retries++;
        }

        if (a->cc != CURLE_OK) {
                r = ve_http_curl_error(h, a->cc, a->errbuf, &resp, user_path, retries + 1, ret_error);
                ve_debug("%s /v1/%s: %s", method, api_path, curl_easy_strerror(a->cc));
                goto out;
        }
        ve_debug("%s /v1/%s: %ld", method, api_path, resp.status);
        *ret = resp;
        resp = (struct ve_http_response) {};
        r = 0;
out:
        ve_http_gate_record(h, probe, r, a ? a->cc : CURLE_OK);
        ve_http_response_done(&resp);
        ve_http_slist_erase_free(headers);
        ve_erase_free(token_header);
        free(ns_header);
        free(url);
        free(a);
        return r;
}
