/* SPDX-License-Identifier: MIT */
#pragma once

/* A scripted HTTP/1.1 server inside a unit test's process, on 127.0.0.1
 * (an ephemeral port) or on a unix socket: an acceptor thread and one
 * thread per connection, keep-alive, requests with a Content-Length body.
 * It answers each request from, in this order:
 *  - handler, when set: the test computes every answer (a fake Vault);
 *  - else the next scripted step: a whole response, a dropped connection,
 *    or a large body (then, the steps used up, the fallback answer);
 *  - else the route whose target is the request's (else the fallback).
 * It records what each request carried (struct httpd_seen) and counts
 * connections and TLS ClientHellos (answered in plain HTTP, then closed).
 *
 * Locking: the fields under "under lock" are read and written with lock
 * held, by the server threads and by the test (which may also take it to
 * look at seen[] or change a step or route in place). A handler runs
 * without it. Tokens and bodies of requests are wiped once answered. */

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#define HTTPD_MAX_STEPS 16
#define HTTPD_MAX_ROUTES 16
#define HTTPD_MAX_SEEN 64

enum httpd_step_kind {
        HTTPD_RAW,              /* send raw (a whole response) */
        HTTPD_DROP,             /* close without an answer */
        HTTPD_BIG,              /* 200 with size bytes, Content-Length */
        HTTPD_BIG_CHUNKED,      /* 200 with size bytes, chunked */
};

struct httpd_step {
        enum httpd_step_kind kind;
        char raw[1024];
        size_t size;
        int delay_ms;           /* before answering */
};

struct httpd_route {
        char target[256];       /* "/v1/secret/data/app/db" */
        int status;
        char *body;             /* owned; a JSON text */
        int delay_ms;           /* before answering (then the route is looked up again) */
};

/* What one request carried. */
struct httpd_seen {
        char method[16];
        char target[256];
        char host[128];         /* Host */
        char ns[64];            /* X-Vault-Namespace, "" if none */
        bool request_header;    /* X-Vault-Request: true */
        bool token_header;      /* any X-Vault-Token header */
        bool token_fake;        /* X-Vault-Token: the server's fake_token */
        bool token_file;        /* X-Vault-Token: the server's file_token */
        bool body_fake;         /* the body was the server's fake_body */
};

/* A request, for a handler. */
struct httpd_request {
        const char *method;
        const char *target;
        const char *token;      /* X-Vault-Token's value, NULL without one */
        const char *body;       /* NUL-terminated; "" without one */
        size_t body_len;
};

/* Answers one request: *ret_status and a heap body (a JSON text; the server
 * frees it), or NULL to close the connection without an answer. */
typedef char *(*httpd_handler_fn)(const struct httpd_request *req, int *ret_status, void *userdata);

struct httpd {
        /* Set (or left zero) before httpd_start(). */
        char sock_path[108];    /* a unix socket to listen on; "": 127.0.0.1 */
        const char *fake_token, *file_token, *fake_body; /* what seen[] compares with; NULL: never */
        httpd_handler_fn handler;
        void *userdata;
        int fallback_status;    /* without a step or route; 0: 200 */
        const char *fallback_body; /* NULL: {"data":{}} */

        /* Set by httpd_start(). */
        int lfd, port;
        pthread_t acceptor;
        pthread_mutex_t lock;
        atomic_bool stop;

        /* Under lock. */
        struct httpd_step steps[HTTPD_MAX_STEPS];
        size_t n_steps, next_step;
        struct httpd_route routes[HTTPD_MAX_ROUTES];
        size_t n_routes;
        struct httpd_seen seen[HTTPD_MAX_SEEN];
        size_t n_seen;
        size_t n_conns;         /* accepted since the start (httpd_reset() keeps it) */
        unsigned n_tls_hellos;
        struct httpd_conn *conns; /* the connection threads not yet joined */
};

/* Listens and starts the acceptor. 0, or -1 (nothing to stop then). */
int httpd_start(struct httpd *s);
/* Stops every thread, closes, removes the socket file, frees the routes. */
void httpd_stop(struct httpd *s);

/* Forgets the steps, routes, seen requests and TLS ClientHellos. */
void httpd_reset(struct httpd *s);
size_t httpd_n_seen(struct httpd *s);
size_t httpd_n_conns(struct httpd *s);

/* A new step at the end of the script (a CUnit fatal failure beyond
 * HTTPD_MAX_STEPS), for the caller to fill in. */
struct httpd_step *httpd_step_add(struct httpd *s, enum httpd_step_kind kind);
/* A step answering status, with extra header lines ("Name: value\r\n"...,
 * or NULL) and a JSON body. */
void httpd_step_status(struct httpd *s, int status, const char *headers, const char *body);

/* A route for target answering status and body (heap, taken; NULL: ""). */
void httpd_route_add(struct httpd *s, const char *target, int status, char *body);
