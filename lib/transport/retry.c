/* SPDX-License-Identifier: MIT */
/* Which answers and failures of the transport are retried, and the wait
 * before each retry: go-retryablehttp's policy and backoff, as the Go
 * client (hashicorp/vault/api) uses them. See policy.h. libcurl appears
 * here only for its failure codes and its HTTP-date parser; no request. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "policy.h"

uint64_t ve_http_backoff_ms(unsigned attempt, uint64_t min_ms, uint64_t max_ms, double random) {
        uint64_t base, mult = (uint64_t) attempt + 1;

        if (max_ms <= min_ms)
                base = min_ms;
        else {
                uint64_t span = max_ms - min_ms, jitter;

                /* random is in [0, 1); anything else (NaN too) is clamped */
                if (!(random > 0.0))
                        random = 0.0;
                jitter = random >= 1.0 ? span : (uint64_t) (random * (double) span);
                if (jitter >= span)
                        jitter = span - 1;
                base = min_ms + jitter;
        }
        if (base != 0 && mult > UINT64_MAX / base)
                return UINT64_MAX;
        return base * mult;
}

int ve_http_retry_after_ms(const char *value, time_t now, uint64_t *ret_ms) {
        char buf[64];
        size_t n;
        time_t t;

        if (!value)
                return -EINVAL;
        while (*value == ' ' || *value == '\t')
                value++;
        n = strlen(value);
        while (n > 0 && strchr(" \t\r\n", value[n - 1]))
                n--;
        if (n == 0 || n >= sizeof buf)
                return -EINVAL;
        memcpy(buf, value, n);
        buf[n] = 0;

        /* delay-seconds: digits only (go-retryablehttp: ParseInt, >= 0) */
        if (strspn(buf, "0123456789") == n) {
                uint64_t sec = 0;

                for (const char *p = buf; *p; p++) {
                        if (sec > (UINT64_MAX / 1000 - 9) / 10)
                                return -EINVAL;
                        sec = sec * 10 + (uint64_t) (*p - '0');
                }
                *ret_ms = sec * 1000;
                return 0;
        }
        /* an HTTP-date: "Fri, 31 Dec 1999 23:59:59 GMT" */
        if (!strchr(buf, ','))
                return -EINVAL;
        t = curl_getdate(buf, NULL);
        if (t == (time_t) -1)
                return -EINVAL;
        *ret_ms = t > now ? (uint64_t) (t - now) * 1000 : 0;
        return 0;
}

/* 412 is Vault's answer when an X-Vault-Index is not yet satisfied, and
 * an agent's when the request header is missing; 501 means a server that
 * cannot do it at all, which another attempt does not change. */
bool ve_http_status_retryable(long status) {
        return status == 412 || status == 429 || status == 0 || (status >= 500 && status != 501);
}

bool ve_http_curl_retryable(int curl_code) {
        switch ((CURLcode) curl_code) {
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
        case CURLE_COULDNT_CONNECT:
        case CURLE_OPERATION_TIMEDOUT:
        case CURLE_GOT_NOTHING:
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_PARTIAL_FILE:
        case CURLE_WEIRD_SERVER_REPLY:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
                return true;
        default:
                return false;
        }
}

/* go-retryablehttp honours Retry-After on 429 and 503 only. */
uint64_t ve_http_retry_wait_ms(long status, const char *retry_after, time_t now, unsigned retries,
                               uint64_t min_ms, uint64_t max_ms, double random, bool *ret_from_header) {
        uint64_t wait;

        if ((status == 429 || status == 503) && retry_after && retry_after[0] &&
            ve_http_retry_after_ms(retry_after, now, &wait) == 0) {
                *ret_from_header = true;
                return wait;
        }
        *ret_from_header = false;
        return ve_http_backoff_ms(retries, min_ms, max_ms, random);
}

double ve_http_jitter_random(void) {
        struct timespec ts;
        uint64_t x;

        clock_gettime(CLOCK_REALTIME, &ts);
        x = (uint64_t) ts.tv_nsec ^ ((uint64_t) ts.tv_sec << 32) ^ (uint64_t) (uintptr_t) &ts;
        x += 0x9e3779b97f4a7c15ULL;
        x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
        x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
        x ^= x >> 31;
        return (double) (x >> 11) * 0x1.0p-53;
}
