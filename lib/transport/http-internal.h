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
