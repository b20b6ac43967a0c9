/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* The transport's decisions, apart from the transport (http.h says what
 * they add up to): which answers and failures are retried and after what
 * wait (retry.c), which redirects are followed and where to (redirect.c),
 * and the circuit breaker's state (breaker.c). No I/O, no lock, no log:
 * http.c asks, then acts, logs and locks. Included by http.h, whose users
 * see these as part of its API (the tests call them directly). */

#define VE_HTTP_MAX_REDIRECTS 3
#define VE_HTTP_RETRY_MIN_MS 1000
#define VE_HTTP_RETRY_MAX_MS 1500

/* ---- retries (retry.c) ---- */

/* go-retryablehttp's LinearJitterBackoff: the wait before retry number
 * attempt + 1 (attempt counts from 0): (min + random * (max - min)) *
 * (attempt + 1), random in [0, 1); min * (attempt + 1) when max <= min.
 * Saturates at UINT64_MAX instead of overflowing. */
uint64_t ve_http_backoff_ms(unsigned attempt, uint64_t min_ms, uint64_t max_ms, double random);

/* A Retry-After header value: delay-seconds ("120") or an HTTP-date
 * relative to now (the past gives 0). 0 and the wait, or -EINVAL. */
int ve_http_retry_after_ms(const char *value, time_t now, uint64_t *ret_ms);

/* Whether an answer with this status is retried, as the Go client's
 * DefaultRetryPolicy: 412, 429 and every 5xx but 501 (and 0, a status
 * line libcurl could not read). */
bool ve_http_status_retryable(long status);

/* Whether a failed exchange (a CURLcode; here an int, so that this header
 * needs no libcurl) is retried: those where no answer came and another
 * attempt may get one; never TLS, an oversized answer or a local error. */
bool ve_http_curl_retryable(int curl_code);

/* The wait before retry number retries + 1, after an answer with status
 * (0: none came) and its Retry-After header (NULL or "": none): on a 429
 * or a 503 the header's wait when it parses (*ret_from_header true), else
 * ve_http_backoff_ms() with random. */
uint64_t ve_http_retry_wait_ms(long status, const char *retry_after, time_t now, unsigned retries,
                               uint64_t min_ms, uint64_t max_ms, double random, bool *ret_from_header);

/* A number in [0, 1) for the jitter, from the clock (Go seeds its jitter
 * from the clock too): it only spreads retries, it guards nothing. */
double ve_http_jitter_random(void);

/* ---- redirects (redirect.c) ---- */

/* Whether this status is a redirect that is followed: 301, 302, 307 and
 * 308 (method and body kept). 303 is an answer, as for the Go client. */
bool ve_http_status_redirect(long status);

/* Resolves a Location header against the URL of the request that got it.
 * 0 and the absolute URL when it has the same scheme, host and port (the
 * default port counts as given) and no user info; -EPERM and the foreign
 * "host[:port]" (or "scheme://host[:port]" when only the scheme differs)
 * in *ret_foreign otherwise; -EINVAL when it is not a usable http(s) URL. */
int ve_http_redirect_target(const char *request_url, const char *location,
                            char **ret_url, char **ret_foreign);

/* ---- the circuit breaker (breaker.c) ----
 * Its state and transitions only. Not thread-safe: the caller serialises
 * every call on one breaker (http.c holds its transport's lock around each)
 * and passes the time, so that a test can pass any. */

struct ve_http_breaker {
        uint64_t window_ms;     /* 0: off (never opens) */
        bool open;              /* requests fail at once until until_ms... */
        bool probing;           /* ...then one probe goes out, the others still fail */
        bool told;              /* the line of this window was logged */
        uint64_t until_ms;
        int cause;              /* the caller's code of the failure that opened it */
};

enum ve_http_breaker_verdict {
        VE_HTTP_BREAKER_PASS,   /* closed (or off): the request goes out */
        VE_HTTP_BREAKER_PROBE,  /* the window passed: this request is the probe */
        VE_HTTP_BREAKER_SKIP,   /* open: fail at once, not asked */
};

/* Whether a request may go out at now_ms. A PROBE is now in flight until
 * ve_http_breaker_record() hears of it. On SKIP: *ret_tell is true for
 * the first skip of a window (the one to say so; not while a probe is
 * out), *ret_left_ms is what remains of the window, *ret_cause the code
 * the breaker was opened with; untouched otherwise. */
enum ve_http_breaker_verdict ve_http_breaker_admit(struct ve_http_breaker *b, uint64_t now_ms,
                                                   bool *ret_tell, uint64_t *ret_left_ms, int *ret_cause);

/* The outcome r of a request that went out (probe: the one admitted as
 * PROBE): no answer (-ETIMEDOUT, -ECONNREFUSED) opens a window from now_ms
 * with cause; anything Vault's end did (0, -EIO, -EPROTO: an answer, a
 * dropped connection, TLS) closes the breaker; a local failure (-ENOMEM)
 * leaves it as it is. Off: nothing. */
void ve_http_breaker_record(struct ve_http_breaker *b, uint64_t now_ms, bool probe, int r, int cause);

/* In a forked child: the state stays (same Vault, same monotonic clock),
 * but a probe in flight is the parent's, so the child may send its own. */
void ve_http_breaker_forked(struct ve_http_breaker *b);
