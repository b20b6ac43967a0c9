/* SPDX-License-Identifier: MIT */
/* Many requests at once on libcurl's multi interface (http.h:
 * ve_http_request_many()). Each request is a small state machine doing
 * what ve_http_request() does in a loop: attempts, same-origin redirects,
 * retries with their waits (here a time before which the request is not
 * started again, holding no slot), the circuit breaker, the same headers
 * and the same messages; http.c gives the parts (http-internal.h).
 *
 * Locking: h->lock only to take the idle multi handle out and to put it
 * back, and around the breaker (ve_http_gate_*); everything else is this
 * thread's. Secrets: as http.c (token lines wiped, bodies wiped). */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "http-internal.h"
#include "log.h"
#include "util.h"

/* The longest one wait in curl_multi_poll(): a bound, not a tick. */
#define POLL_MAX_MS 1000

enum state { IDLE, QUEUED, RUNNING, DONE };

/* One call of the batch between its attempts. */
struct job {
        struct ve_http_call *c;
        enum state state;
        char *url, *token_header, *ns_header;
        struct curl_slist *headers;
        struct attempt a;
        struct ve_http_response resp;
        unsigned retries, hops;
        uint64_t deadline;      /* VAULT_CLIENT_TIMEOUT from the first attempt */
        uint64_t not_before;    /* QUEUED: not started again before (a retry's wait) */
        bool probe;             /* the breaker's probe */
        CURL *eh;               /* RUNNING: its handle */
};

void ve_http_calls_done(struct ve_http_call *calls, size_t n) {
        for (size_t i = 0; calls && i < n; i++) {
                ve_http_response_done(&calls[i].resp);
                free(calls[i].error);
                calls[i].error = NULL;
        }
}

/* Ends j with r (its outcome is in j->a and j->resp when r is 0 and the
 * exchange went through), telling the breaker when it was admitted. */
static void job_end(struct ve_http *h, struct job *j, int r, bool admitted) {
        struct ve_http_call *c = j->c;

        if (r == 0 && j->a.cc != CURLE_OK) {
                r = ve_http_curl_error(h, j->a.cc, j->a.errbuf, &j->resp, c->user_path, j->retries + 1, &c->error);
                ve_debug("%s /v1/%s: %s", c->method, c->api_path, curl_easy_strerror(j->a.cc));
        } else if (r == 0) {
                ve_debug("%s /v1/%s: %ld", c->method, c->api_path, j->resp.status);
                c->resp = j->resp;
                j->resp = (struct ve_http_response) {};
        }
        c->r = r;
        if (admitted)
                ve_http_gate_record(h, j->probe, r, j->a.cc);
        j->state = DONE;
        ve_http_response_done(&j->resp);
        ve_http_slist_erase_free(j->headers);
        j->headers = NULL;
        ve_erase_free(j->token_header);
        j->token_header = NULL;
        free(j->ns_header);
        j->ns_header = NULL;
        free(j->url);
        j->url = NULL;
}

/* The first step of a call, as ve_http_request() begins: the token's
 * check, the breaker, the URL and headers. QUEUED, or DONE with its error. */
static void job_admit(struct ve_http *h, struct job *j) {
        struct ve_http_call *c = j->c;
        int r;

        if (c->token && ve_has_control(c->token)) {
                c->error = strdup("the Vault token contains a control character; not sending it");
                c->r = -EACCES;
                j->state = DONE;
                return;
        }
        r = ve_http_gate_admit(h, &c->error);
        if (r < 0) {
                c->r = r;
                j->state = DONE;
                return;
        }
        j->probe = r == 1;
        j->deadline = ve_now_ms() + h->timeout_ms;
        j->url = ve_http_url_for(h, c->api_path);
        if (!j->url) {
                job_end(h, j, -ENOMEM, true);
                return;
        }
        r = ve_http_build_headers(h, c->token, c->body != NULL, &j->headers, &j->token_header, &j->ns_header);
        if (r < 0) {
                job_end(h, j, r, true);
                return;
        }
        j->state = QUEUED;
        j->not_before = 0;
}

/* After an attempt of j ended (j->a.cc, j->resp): a redirect or a retry
 * queues it again, anything else ends it. As the loop of
 * ve_http_request(). */
static void job_attempted(struct ve_http *h, struct job *j) {
        struct ve_http_call *c = j->c;
        uint64_t until;
        int r;

        if (j->a.cc == CURLE_OK && ve_http_status_redirect(j->resp.status) &&
            (j->a.location[0] || j->a.location_too_long)) {
                char *next = NULL;

                r = ve_http_follow_redirect(h, j->url, &j->a, j->resp.status, c->user_path, ++j->hops,
                                            &next, &c->error);
                if (r < 0) {
                        job_end(h, j, r, true);
                        return;
                }
                free(j->url);
                j->url = next;
                j->state = QUEUED;
                j->not_before = 0;
                return;
        }
        if (!(j->a.cc == CURLE_OK ? ve_http_status_retryable(j->resp.status) : ve_http_curl_retryable(j->a.cc)) ||
            j->retries >= h->max_retries ||
            !ve_http_retry_planned(h, &j->a, &j->resp, j->retries, j->deadline, c->user_path, &until)) {
                job_end(h, j, 0, true);
                return;
        }
        j->retries++;
        j->state = QUEUED;
        j->not_before = until;
}

/* A handle for the next attempt: one the batch used before, or a new one
 * (with CURLOPT_PIPEWAIT over TLS: wait for the first connection, to be
 * multiplexed on it when the server speaks HTTP/2). */
static int handle_get(const struct ve_http *h, CURL **pool, size_t *n_pool, CURL **ret_eh, char **ret_error) {
        CURL *eh;
        int r;

        if (*n_pool > 0) {
                *ret_eh = pool[--*n_pool];
                return 0;
        }
        r = ve_http_handle_new(h, &eh, ret_error);
        if (r < 0)
                return r;
        if (strncmp(h->base_url, "https:", 6) == 0)
                (void) curl_easy_setopt(eh, CURLOPT_PIPEWAIT, 1L);
        *ret_eh = eh;
        return 0;
}

/* Starts j's next attempt on multi. On a local failure j ends with it. */
static void job_start(struct ve_http *h, CURLM *multi, struct job *j, CURL **pool, size_t *n_pool) {
        uint64_t now = ve_now_ms();
        CURL *eh = NULL;
        int r;

        r = handle_get(h, pool, n_pool, &eh, &j->c->error);
        if (r < 0) {
                job_end(h, j, r, true);
                return;
        }
        ve_http_response_done(&j->resp);
        j->a.cc = CURLE_OK;
        j->a.errbuf[0] = j->a.location[0] = j->a.retry_after[0] = 0;
        j->a.location_too_long = false;
        ve_http_attempt_setup(eh, j->c->method, j->url, j->c->body, j->headers,
                              j->deadline > now ? j->deadline - now : 1, &j->resp, &j->a);
        curl_easy_setopt(eh, CURLOPT_PRIVATE, j);
        if (curl_multi_add_handle(multi, eh) != CURLM_OK) {
                ve_http_attempt_finish(eh, &j->resp, &j->a);
                curl_easy_cleanup(eh);
                job_end(h, j, -ENOMEM, true);
                return;
        }
        j->eh = eh;
        j->state = RUNNING;
}

/* The idle multi handle of h, or a new one; NULL when none can be made. */
static CURLM *multi_take(struct ve_http *h) {
        CURLM *m;

        pthread_mutex_lock(&h->lock);
        m = h->multi;
        h->multi = NULL;
        pthread_mutex_unlock(&h->lock);
        if (m)
                return m;
        m = curl_multi_init();
        if (!m)
                return NULL;
        /* HTTP/2 multiplexing is libcurl's default since 7.62; said anyway.
         * No more connections to Vault than requests in flight. */
        (void) curl_multi_setopt(m, CURLMOPT_PIPELINING, (long) CURLPIPE_MULTIPLEX);
        (void) curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, (long) VE_HTTP_PARALLEL_MAX);
        return m;
}

/* Back as the idle multi handle (its connections kept), unless another
 * batch's is there. */
static void multi_put(struct ve_http *h, CURLM *m) {
        pthread_mutex_lock(&h->lock);
        if (!h->multi) {
                h->multi = m;
                m = NULL;
        }
        pthread_mutex_unlock(&h->lock);
        if (m)
                curl_multi_cleanup(m);
}

/* The calls one after another, when the multi interface cannot be had. */
static void run_serially(struct ve_http *h, struct ve_http_call *calls, size_t n) {
        for (size_t i = 0; i < n; i++) {
                struct ve_http_call *c = &calls[i];

                c->r = ve_http_request(h, c->method, c->api_path, c->body, c->token, c->user_path,
                                       &c->resp, &c->error);
        }
}

/* Takes in the attempts that ended; returns how many did. */
static size_t reap(struct ve_http *h, CURLM *multi, CURL **pool, size_t *n_pool) {
        struct CURLMsg *msg;
        size_t ended = 0;
        int left;

        while ((msg = curl_multi_info_read(multi, &left))) {
                CURL *eh = msg->easy_handle;
                CURLcode cc = msg->data.result;
                struct job *j = NULL;
                char *priv = NULL;

                if (msg->msg != CURLMSG_DONE)
                        continue;
                /* msg is libcurl's, gone once the handle is removed. */
                curl_easy_getinfo(eh, CURLINFO_PRIVATE, &priv);
                j = (struct job *) (void *) priv;
                curl_multi_remove_handle(multi, eh);
                j->a.cc = cc;
                ve_http_attempt_finish(eh, &j->resp, &j->a);
                pool[(*n_pool)++] = eh;
                j->eh = NULL;
                ended++;
                job_attempted(h, j);
        }
        return ended;
}

int ve_http_request_many(struct ve_http *h, struct ve_http_call *calls, size_t n) {
        CURL *pool[VE_HTTP_PARALLEL_MAX];
        size_t n_pool = 0, running = 0, next = 0, done = 0;
        struct job *jobs = NULL;
        CURLM *multi = NULL;
        CURL *probe = NULL;

        if (!h || (!calls && n > 0))
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                calls[i].r = 0;
                calls[i].resp = (struct ve_http_response) {};
                calls[i].error = NULL;
        }
        if (n == 0)
                return 0;
        /* libcurl initialised (ve_http_handle_new() does it) before its
         * multi handle; the handle is the batch's first. */
        jobs = calloc(n, sizeof *jobs);
        if (!jobs || ve_http_handle_new(h, &probe, NULL) < 0 || !(multi = multi_take(h))) {
                if (probe)
                        curl_easy_cleanup(probe);
                free(jobs);
                run_serially(h, calls, n);
                return 0;
        }
        if (strncmp(h->base_url, "https:", 6) == 0)
                (void) curl_easy_setopt(probe, CURLOPT_PIPEWAIT, 1L);
        pool[n_pool++] = probe;
        for (size_t i = 0; i < n; i++)
                jobs[i].c = &calls[i];

        while (done < n) {
                uint64_t now = ve_now_ms(), wake = UINT64_MAX;
                int still = 0;
                long poll_ms;

                /* Queued retries and redirects first, then new calls. */
                for (size_t i = 0; i < next && running < VE_HTTP_PARALLEL_MAX; i++)
                        if (jobs[i].state == QUEUED && jobs[i].not_before <= now) {
                                job_start(h, multi, &jobs[i], pool, &n_pool);
                                running += jobs[i].state == RUNNING;
                        }
                while (next < n && running < VE_HTTP_PARALLEL_MAX) {
                        struct job *j = &jobs[next++];

                        job_admit(h, j);
                        if (j->state == QUEUED)
                                job_start(h, multi, j, pool, &n_pool);
                        running += j->state == RUNNING;
                }

                curl_multi_perform(multi, &still);
                running -= reap(h, multi, pool, &n_pool);

                done = 0;
                for (size_t i = 0; i < n; i++) {
                        if (jobs[i].state == DONE)
                                done++;
                        else if (jobs[i].state == QUEUED && jobs[i].not_before < wake)
                                wake = jobs[i].not_before;
                }
                if (done == n)
                        break;
                /* A queued job that may start now, with a slot for it:
                 * no wait. Else until libcurl has something, or until the
                 * earliest retry is due. */
                now = ve_now_ms();
                if (wake <= now && running < VE_HTTP_PARALLEL_MAX)
                        continue;
                if (next < n && running < VE_HTTP_PARALLEL_MAX)
                        continue;
                poll_ms = POLL_MAX_MS;
                if (wake != UINT64_MAX && wake > now && wake - now < (uint64_t) poll_ms)
                        poll_ms = (long) (wake - now);
                if (running > 0 || poll_ms > 0)
                        curl_multi_poll(multi, NULL, 0, (int) poll_ms, NULL);
        }

        for (size_t i = 0; i < n_pool; i++)
                curl_easy_cleanup(pool[i]);
        multi_put(h, multi);
        free(jobs);
        return 0;
}
