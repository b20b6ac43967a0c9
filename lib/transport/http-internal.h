/* SPDX-License-Identifier: MIT */
#pragma once

/* Shared by the files of the HTTP transport only (http.c, http_config.c,
 * http_handle.c); never included outside lib/transport.
 *
 * Locking: two mutexes, never held across network I/O or a retry's wait,
 * never taken recursively; nothing under either logs or calls back.
 *  - ve_http.lock, one per transport, guards the idle handle slot (curl,
 *    abandoned) and the circuit breaker's state (breaker). A request holds
 *    it only to take the idle handle out and to put it back, and to check
 *    or update the breaker; the exchange runs on a handle no other thread
 *    has, with its error buffer in the request's own struct attempt.
 *  - curl_init_lock (http_handle.c), process-wide, is held while
 *    curl_global_init() runs, so that fork() (ve_http_atfork_prepare()
 *    takes it, then ve_http.lock) never happens in the middle of it. */

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>

#include "http.h"

/* The longest Location header kept; a longer one is not followed. */
#define LOCATION_MAX 4096

struct ve_http {
        /* Set by ve_http_new, read-only afterwards (but for the retry
         * waits and the clock, set by the test hooks before any request). */
        char *addr;             /* VAULT_AGENT_ADDR or VAULT_ADDR without trailing '/', for messages */
        const char *addr_var;   /* "VAULT_AGENT_ADDR" or "VAULT_ADDR", for messages */
        char *base_url;         /* addr, with the host replaced by tls_server_name;
                                 * "http://localhost" for a unix socket */
        char *unix_socket;      /* the socket path of a unix:// address, else NULL */
        char *host_header;      /* "Host: realhost[:port]" with tls_server_name, else NULL */
        struct curl_slist *connect_to; /* "servername:port:realhost:port", else NULL */
        char *namespace;
        char *cacert, *capath, *client_cert, *client_key;
        char *proxy;
        bool skip_verify;
        uint64_t timeout_ms;
        unsigned max_retries;
        uint64_t retry_min_ms, retry_max_ms;
        uint64_t (*now_ms)(void);       /* the breaker's clock */

        pthread_mutex_t lock;

        /* Guarded by lock, which is never held across network I/O: a
         * request takes the idle handle out (or makes one when another
         * request has it) and puts it back after, so its connection is
         * kept alive for the next one. */
        CURL *curl;             /* the idle handle, created by the first request */
        CURL *abandoned;        /* the parent's handle, in a forked child: never
                                 * touched, only kept referenced */
        /* The same for the batches (http_multi.c): the idle multi handle,
         * whose connection cache keeps the connections of the last batch
         * for the next; a batch takes it out (or makes one when another
         * batch has it) and puts it back. */
        CURLM *multi;
        CURLM *multi_abandoned; /* the parent's, in a forked child */

        /* The circuit breaker (policy.h), under lock but for window_ms,
         * which is set by ve_http_new and read-only afterwards. Its cause
         * is the CURLcode of the failure that opened it. */
        struct ve_http_breaker breaker;
};

/* What one attempt brings back besides status and body: filled by the
 * header callback of the handle (http_handle.c) and by the request. */
struct attempt {
        CURLcode cc;
        char errbuf[CURL_ERROR_SIZE];
        char location[LOCATION_MAX];    /* Location header, "" if none */
        bool location_too_long;
        char retry_after[64];           /* Retry-After header, "" if none */
};

/* A new easy handle configured from h (reads only what ve_http_new() set),
 * initialising libcurl on first use. CURLOPT_WRITEDATA takes a struct
 * ve_http_response, CURLOPT_HEADERDATA a struct attempt (or NULL). 0, or
 * -EIO with a message, or -ENOMEM. Takes no lock of h. */
int ve_http_handle_new(const struct ve_http *h, CURL **ret_curl, char **ret_error);

/* ---- what http.c gives http_multi.c: one request's parts ---- */

/* ADDR/v1/API_PATH percent-encoded (http.h); NULL: out of memory. */
char *ve_http_url_for(const struct ve_http *h, const char *api_path);
/* The headers of every attempt, appended to *headers; the token's and the
 * namespace's lines, which the list copies, in *ret_token_header (to be
 * wiped) and *ret_ns_header, for the caller to free also on failure. */
int ve_http_build_headers(const struct ve_http *h, const char *token, bool has_body,
                          struct curl_slist **headers, char **ret_token_header, char **ret_ns_header);
/* Frees a header list, each line wiped first (one holds the token). */
void ve_http_slist_erase_free(struct curl_slist *l);
/* Shapes eh for one attempt (method, URL, body, headers, what remains of
 * the deadline) writing into resp and a; after it ran (a->cc set), finish
 * drops every pointer to the caller's memory and reads the status. */
void ve_http_attempt_setup(CURL *eh, const char *method, const char *url, const char *body,
                           struct curl_slist *headers, uint64_t remaining_ms,
                           struct ve_http_response *resp, struct attempt *a);
void ve_http_attempt_finish(CURL *eh, struct ve_http_response *resp, struct attempt *a);
/* The -errno and message of a failed exchange (cc, errbuf) after attempts. */
int ve_http_curl_error(const struct ve_http *h, CURLcode cc, const char *errbuf,
                       const struct ve_http_response *resp, const char *user_path, unsigned attempts,
                       char **ret_error);
/* The next URL after a redirect answer (hops counts this one), or -EPROTO
 * and the message. */
int ve_http_follow_redirect(const struct ve_http *h, const char *url, const struct attempt *a, long status,
                            const char *user_path, unsigned hops, char **ret_url, char **ret_error);
/* After a retryable outcome of attempt retries + 1: true and the time to
 * retry at (ve_now_ms()) when the wait ends before deadline. Logs at info. */
bool ve_http_retry_planned(const struct ve_http *h, const struct attempt *a, const struct ve_http_response *resp,
                           unsigned retries, uint64_t deadline, const char *user_path, uint64_t *ret_until_ms);
/* The circuit breaker for one request, under h->lock: admit gives 0, 1
 * (the probe) or the -errno and message of a skip; record tells it the
 * outcome r (last code cc) of a request admitted. */
int ve_http_gate_admit(struct ve_http *h, char **ret_error);
void ve_http_gate_record(struct ve_http *h, bool probe, int r, CURLcode cc);
