/* SPDX-License-Identifier: MIT */
/* The circuit breaker's state and transitions (http.h says what it is for,
 * policy.h what each call does). Pure: the caller holds whatever lock
 * guards the breaker, reads the clock, and says and logs the outcome. */
#include <errno.h>

#include "policy.h"

enum ve_http_breaker_verdict ve_http_breaker_admit(struct ve_http_breaker *b, uint64_t now_ms,
                                                   bool *ret_tell, uint64_t *ret_left_ms, int *ret_cause) {
        bool tell;

        if (!b->open)
                return VE_HTTP_BREAKER_PASS;
        if (!b->probing && now_ms >= b->until_ms) {
                b->probing = true;
                return VE_HTTP_BREAKER_PROBE;
        }
        /* Said once per window, and not while a probe is out: its failure
         * opens a new window, which is said then. */
        tell = !b->told && !b->probing;
        b->told = true;
        *ret_tell = tell;
        *ret_left_ms = b->until_ms > now_ms ? b->until_ms - now_ms : 0;
        *ret_cause = b->cause;
        return VE_HTTP_BREAKER_SKIP;
}

void ve_http_breaker_record(struct ve_http_breaker *b, uint64_t now_ms, bool probe, int r, int cause) {
        if (!b->window_ms)
                return;
        if (r == -ETIMEDOUT || r == -ECONNREFUSED) {
                if (!b->open || probe)
                        b->told = false;        /* a new window */
                b->open = true;
                b->until_ms = now_ms + b->window_ms;
                b->cause = cause;
        } else if (r == 0 || r == -EIO || r == -EPROTO)
                b->open = false;
        if (probe)
                b->probing = false;
}

void ve_http_breaker_forked(struct ve_http_breaker *b) {
        b->probing = false;
}
