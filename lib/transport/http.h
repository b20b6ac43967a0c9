/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "policy.h"
#include "settings.h"

/* The HTTP transport to Vault: libcurl easy handles configured from the
 * VAULT_* settings (TLS, timeouts, proxy, namespace). One idle handle is
 * kept between requests (keep-alive); a request that finds another using
 * it makes its own. Any thread may call in: the transport's mutex is held
 * only to take or return the idle handle and to check or update the
 * circuit breaker, never across network I/O or a retry's wait. Knows
 * nothing of tokens beyond sending the one it is given, nor of what the
 * paths mean. The decisions below (retries, waits, redirects, the
 * breaker's state) are pure functions in policy.h, included here.
 *
 * As the official Go client (hashicorp/vault/api with go-retryablehttp):
 *  - VAULT_AGENT_ADDR, when set, replaces VAULT_ADDR; "unix:///path" talks
 *    HTTP over that unix socket (the URL is then http://localhost/v1/...).
 *  - Retries (VAULT_MAX_RETRIES, default 2): connection failures (not TLS
 *    ones), 412, 429 and every 5xx but 501; waits (1000 ms + jitter up to
 *    500 ms) * attempt number, or Retry-After on a 429 or 503. All attempts
 *    and waits together stay within VAULT_CLIENT_TIMEOUT.
 *  - Redirects 301, 302, 307 and 308 are followed (method and body kept, at
 *    most VE_HTTP_MAX_REDIRECTS hops), but only to the same scheme, host and
 *    port; anything else is refused and nothing is sent there.
 * Beyond the Go client, a circuit breaker (VAULTENV_BREAKER_WINDOW, default
 * 30 s; 0: off): a request that got no answer at all (-ETIMEDOUT or
 * -ECONNREFUSED, after its retries) opens it, and for the window every
 * request fails at once with that same -errno and "not asked (circuit
 * breaker): Vault at ADDR did not answer (timeout after 2s)", one warning
 * per window saying for how long. So an unreachable Vault holds a process
 * for about one VAULT_CLIENT_TIMEOUT, not one per path. After the window
 * one request goes out as a probe (the others keep failing at once); an
 * answer, whatever its status, or a failure on Vault's end (dropped
 * connection, TLS) closes the breaker, no answer opens a new window. Per
 * transport, so per process; a forked child starts from its parent's state
 * (a probe in flight stays the parent's).
 * Hygiene: the proxy variables of the environment (http_proxy,
 * HTTPS_PROXY, ALL_PROXY, NO_PROXY...) are ignored; only VAULT_PROXY_ADDR
 * (or VAULT_HTTP_PROXY) names a proxy, used for every request. TLS 1.2 at
 * least, peer and host verified unless VAULT_SKIP_VERIFY; TLS failures are
 * never retried. No TLS key log: libcurl's key-log callback is removed
 * from every TLS context (OpenSSL backend), so SSLKEYLOGFILE, even when
 * libcurl opened it, receives nothing from here. No .netrc. */

#define VE_HTTP_BODY_MAX (1024 * 1024)

struct ve_http;

struct ve_http_response {
        long status;
        char *body;             /* not NUL-terminated; wiped by ve_http_response_done() */
        size_t len, cap;
        bool too_large;
};

/* Copies what it needs from settings; checks VAULT_AGENT_ADDR or VAULT_ADDR
 * and friends. No I/O. -EINVAL with a message (naming the variable) for a
 * bad address, socket path, server name or namespace. */
int ve_http_new(const struct ve_settings *settings, struct ve_http **ret_http, char **ret_error);
void ve_http_free(struct ve_http *h);

/* fork() handlers: prepare takes the lock of libcurl's global init, then
 * h's (neither is held across network I/O, so neither waits long); parent
 * releases them; child abandons (never cleans up) the parent's idle easy
 * and multi handles and their connections, and releases them. h may be
 * NULL. */
void ve_http_atfork_prepare(struct ve_http *h);
void ve_http_atfork_parent(struct ve_http *h);
void ve_http_atfork_child(struct ve_http *h);

/* One request to ADDR/v1/API_PATH, with the retries and same-origin
 * redirects above. API_PATH is percent-encoded here, '/' kept; its first
 * '?' starts a query ("secret/data/x?version=2"), where '=' and '&' are
 * kept as well. method: "GET", "POST", "PUT", "DELETE", "LIST". body: a
 * JSON text or NULL (it may hold a secret: the caller wipes it; the
 * transport keeps no copy). token: sent as X-Vault-Token when not NULL.
 * user_path names the thing in messages. Returns 0 and the last answer
 * (whatever its status, also a retryable one when the retries ran out) in
 * *ret, or -errno and a one-line message when no usable answer came:
 *   -ECONNREFUSED cannot connect (refused, DNS); -ETIMEDOUT
 *   VAULT_CLIENT_TIMEOUT passed; -EPROTO a TLS failure, a body over 1 MiB, a
 *   redirect to another host or too many redirects; -EIO any other failure
 *   (connection dropped...); -EACCES a token with a control character.
 * Sleeps between retries (without the lock). */
int ve_http_request(struct ve_http *h, const char *method, const char *api_path, const char *body,
                    const char *token, const char *user_path,
                    struct ve_http_response *ret, char **ret_error);
void ve_http_response_done(struct ve_http_response *r);

/* ---- many requests at once (http_multi.c) ---- */

/* At most this many requests of a batch are in flight at once. */
#define VE_HTTP_PARALLEL_MAX 8

/* One request of a batch: what ve_http_request() takes, and its outcome
 * (r and resp, or r and error), as ve_http_request() would give it. */
struct ve_http_call {
        const char *method, *api_path, *body, *token, *user_path;
        int r;
        struct ve_http_response resp;   /* r == 0: the answer (ve_http_response_done()) */
        char *error;                    /* r < 0: the one-line message (heap), or NULL */
};

/* Runs calls[0..n) concurrently on libcurl's multi interface, at most
 * VE_HTTP_PARALLEL_MAX in flight, on this calling thread: each with the
 * policy of ve_http_request() (its own deadline from when it starts, its
 * retries waited out without holding a slot, same-origin redirects, the
 * circuit breaker per request, the headers) and one failing never fails
 * another. Connections are kept in a multi handle the transport keeps
 * between batches (a batch running in another thread has its own); over
 * TLS, requests wait for the first connection and are multiplexed on it
 * when the server speaks HTTP/2. No lock is held across I/O. When the
 * multi interface cannot be set up, the calls run one after another. Every
 * call's r is set; returns 0, or -EINVAL (nothing run). */
int ve_http_request_many(struct ve_http *h, struct ve_http_call *calls, size_t n);
/* Frees what a batch's outcomes hold (answers wiped). */
void ve_http_calls_done(struct ve_http_call *calls, size_t n);

/* VAULT_AGENT_ADDR or VAULT_ADDR as given (no trailing '/'), for messages. */
const char *ve_http_addr(const struct ve_http *h);

/* The waits between retries, VE_HTTP_RETRY_MIN_MS and _MAX_MS by default
 * (Go's MinRetryWait and MaxRetryWait); for tests. Call before requests. */
void ve_http_set_retry_wait(struct ve_http *h, uint64_t min_ms, uint64_t max_ms);

/* The circuit breaker's clock, ve_now_ms() by default; for tests. Call
 * before requests. (Request deadlines keep the real clock.) */
void ve_http_set_clock(struct ve_http *h, uint64_t (*now_ms)(void));
