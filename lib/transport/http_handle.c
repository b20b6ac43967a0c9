/* SPDX-License-Identifier: MIT */
/* libcurl's side of the HTTP transport: its global init (once, under a
 * lock the fork handlers take), the TLS hygiene of every context, the
 * callbacks that take in an answer (body into the response, wiping
 * libcurl's buffer; Location and Retry-After into the attempt), the
 * configuration of a new easy handle, and the fork handlers. See
 * http-internal.h for the locks.
 *
 * Secrets: response bodies may hold values; the bytes libcurl hands over
 * are wiped in its buffer, and a grown body buffer is wiped before it is
 * freed. Nothing here logs. */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "libc-config.h"
#include "http-internal.h"
#include "util.h"

#define BODY_MAX VE_HTTP_BODY_MAX

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result = CURLE_FAILED_INIT;

/* Never a TLS key log. libcurl's OpenSSL backend logs the keys of every
 * connection when SSLKEYLOGFILE was set at curl_global_init(). The shim
 * hides that variable while it works, but a program that set up libcurl
 * itself may have opened a key log for its own connections, and ours
 * would land there too. So each TLS context of ours loses the key-log
 * callback libcurl gave it (CURLOPT_SSL_CTX_FUNCTION runs after libcurl's
 * own set-up). OpenSSL 3 only, where the context is an SSL_CTX of
 * libssl.so.3: the function is looked up with its symbol version, so it
 * is libssl.so.3's (the library that made the context) even when the
 * program also loaded another OpenSSL. (Not dlopen(RTLD_NOLOAD) of
 * libcurl's own file: that costs glibc a block valgrind calls lost.) */
typedef void (*keylog_cb_fn)(const void *ssl, const char *line);
typedef void (*set_keylog_fn)(void *ssl_ctx, keylog_cb_fn cb);
/* The same way, each context gets SSL_OP_CLEANSE_PLAINTEXT: OpenSSL
 * decrypts a record in its own buffer and keeps the plaintext (a secret, a
 * token) there until the next record overwrites it, and a core dump would
 * carry it; with the option it clears it once libcurl has it. */
typedef uint64_t (*set_options_fn)(void *ssl_ctx, uint64_t op);
#define VE_SSL_OP_CLEANSE_PLAINTEXT ((uint64_t) 1 << 1)        /* OpenSSL 3's ssl.h */
/* Both looked up by ve_http_handle_new() after curl_once, never inside it: dlvsym()
 * takes the dynamic loader's lock, which a thread running a plugin's
 * constructor holds while it waits for curl_once (rel-plugin.sh). Any
 * thread may look them up; they all store the same values. */
static _Atomic(set_keylog_fn) ssl_set_keylog;
static _Atomic(set_options_fn) ssl_set_options;
static atomic_bool ssl_looked_up;

/* OpenSSL 3's function NAME: its OPENSSL_3.0.0 version where libc has
 * versioned lookup (glibc). Where it has none (musl, whose loader ignores
 * versions), the first definition in the global scope: libcurl's OpenSSL
 * unless the program loaded another one first. */
static void *ssl_symbol(const char *name) {
#if VE_HAVE_DLVSYM
        return dlvsym(RTLD_DEFAULT, name, "OPENSSL_3.0.0");
#else
        return dlsym(RTLD_DEFAULT, name);
#endif
}

static void ssl_guard_init(void) {
        const curl_version_info_data *vi = curl_version_info(CURLVERSION_NOW);
        void *sym;

        if (!vi || !vi->ssl_version || strncmp(vi->ssl_version, "OpenSSL/3.", 10) != 0)
                return;
        set_keylog_fn fn;
        set_options_fn opt;

        sym = ssl_symbol("SSL_CTX_set_keylog_callback");
        memcpy(&fn, &sym, sizeof fn);
        atomic_store(&ssl_set_keylog, fn);
        sym = ssl_symbol("SSL_CTX_set_options");
        memcpy(&opt, &sym, sizeof opt);
        atomic_store(&ssl_set_options, opt);
}

static CURLcode ssl_ctx_cb(CURL *curl, void *ssl_ctx, void *userptr) {
        set_keylog_fn fn = atomic_load(&ssl_set_keylog);
        set_options_fn opt = atomic_load(&ssl_set_options);

        if (fn && ssl_ctx)
                fn(ssl_ctx, NULL);
        if (opt && ssl_ctx)
                (void) opt(ssl_ctx, VE_SSL_OP_CLEANSE_PLAINTEXT);
        return CURLE_OK;
}

/* curl_global_init() holds libcurl's own lock while it runs: a fork()
 * meanwhile would leave that lock taken in the child, whose pthread_once()
 * runs the init again and spins for ever. So it runs under curl_init_lock,
 * which the fork handlers take (ve_http_atfork_prepare()). */
static pthread_mutex_t curl_init_lock = PTHREAD_MUTEX_INITIALIZER;

static void curl_init_once(void) {
        pthread_mutex_lock(&curl_init_lock);
        curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
        pthread_mutex_unlock(&curl_init_lock);
}

/* ---- taking in an answer ---- */

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata) {
        struct ve_http_response *r = userdata;
        size_t n = size * nmemb;

        if (n > BODY_MAX - r->len) {
                r->too_large = true;
                return 0;       /* makes curl fail with CURLE_WRITE_ERROR */
        }
        if (r->len + n > r->cap) {
                /* No realloc(): it could leave a copy of the body behind. */
                size_t cap = r->cap ? r->cap : 4096;
                char *b;

                while (cap < r->len + n)
                        cap *= 2;
                if (cap > BODY_MAX)
                        cap = BODY_MAX;
                b = malloc(cap);
                if (!b)
                        return 0;
                if (r->len)
                        memcpy(b, r->body, r->len);
                ve_erase_free_n(r->body, r->cap);
                r->body = b;
                r->cap = cap;
        }
        memcpy(r->body + r->len, ptr, n);
        r->len += n;
        /* ptr is libcurl's receive buffer (the body of this answer: a
         * secret, a token), which it frees at the end of the transfer
         * without clearing it; the bytes would stay in freed heap memory
         * and so in a core dump. libcurl does not look at them again once
         * they are delivered (no content decoding, never paused). */
        explicit_bzero(ptr, n);
        return n;
}

/* Copies the value of header NAME from one header line into out. */
static void header_copy(const char *line, size_t n, const char *name, char *out, size_t outsz, bool *too_long) {
        size_t nl = strlen(name), vl;
        const char *v;

        if (n <= nl || ve_ascii_strncasecmp(line, name, nl) != 0 || line[nl] != ':')
                return;
        v = line + nl + 1;
        vl = n - nl - 1;
        while (vl > 0 && (*v == ' ' || *v == '\t')) {
                v++;
                vl--;
        }
        while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' ' || v[vl - 1] == '\t'))
                vl--;
        if (vl >= outsz) {
                out[0] = 0;
                if (too_long)
                        *too_long = true;
                return;
        }
        memcpy(out, v, vl);
        out[vl] = 0;
}

/* Keeps Location and Retry-After of the last response (a new status line,
 * e.g. after a "100 Continue", starts over). Other headers are ignored. */
static size_t header_cb(char *buf, size_t size, size_t nitems, void *userdata) {
        struct attempt *a = userdata;
        size_t n = size * nitems;

        if (!a)
                return n;
        if (n >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
                a->location[0] = 0;
                a->location_too_long = false;
                a->retry_after[0] = 0;
                return n;
        }
        header_copy(buf, n, "Location", a->location, sizeof a->location, &a->location_too_long);
        header_copy(buf, n, "Retry-After", a->retry_after, sizeof a->retry_after, NULL);
        return n;
}

/* ---- a new handle ---- */

int ve_http_handle_new(const struct ve_http *h, CURL **ret_curl, char **ret_error) {
        CURLcode c = CURLE_OK;
        CURL *eh;

        (void) pthread_once(&curl_once, curl_init_once);
        if (curl_init_result != CURLE_OK) {
                ve_set_error(ret_error, ve_asprintf("cannot initialise libcurl: %s", curl_easy_strerror(curl_init_result)));
                return -EIO;
        }
        if (!atomic_load(&ssl_looked_up)) {
                ssl_guard_init();
                atomic_store(&ssl_looked_up, true);
        }
        eh = curl_easy_init();
        if (!eh)
                return -ENOMEM;

#define SET(opt, val) do { if (c == CURLE_OK) c = curl_easy_setopt(eh, opt, val); } while (0)
        SET(CURLOPT_NOSIGNAL, 1L);
        SET(CURLOPT_WRITEFUNCTION, write_cb);
        SET(CURLOPT_HEADERFUNCTION, header_cb);
        /* A Content-Length over the cap fails before the body is read;
         * write_cb catches a chunked body going over it. */
        SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) BODY_MAX);
        /* The timeouts are set per attempt: what remains of the deadline. */
#if CURL_AT_LEAST_VERSION(7, 85, 0)
        SET(CURLOPT_PROTOCOLS_STR, "http,https");
#else
        SET(CURLOPT_PROTOCOLS, (long) (CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
        /* libcurl never follows a redirect by itself: ve_http_request
         * does, to the same origin only (follow_redirect() in http.c). */
        SET(CURLOPT_FOLLOWLOCATION, 0L);
        if (h->unix_socket)
                SET(CURLOPT_UNIX_SOCKET_PATH, h->unix_socket);
        /* "" disables the proxy environment variables; VAULT_PROXY_ADDR /
         * VAULT_HTTP_PROXY is used for every host, as Go's http.ProxyURL
         * does, so NO_PROXY does not apply either. */
        SET(CURLOPT_PROXY, h->proxy ? h->proxy : "");
        if (h->proxy)
                SET(CURLOPT_NOPROXY, "");
        SET(CURLOPT_NETRC, (long) CURL_NETRC_IGNORED);
        SET(CURLOPT_SSLVERSION, (long) CURL_SSLVERSION_TLSv1_2);
        SET(CURLOPT_SSL_VERIFYPEER, h->skip_verify ? 0L : 1L);
        SET(CURLOPT_SSL_VERIFYHOST, h->skip_verify ? 0L : 2L);
        /* As the vault CLI: VAULT_CACERT / VAULT_CAPATH replace the system
         * roots rather than add to them. libcurl has both a default bundle
         * and (Debian) a default directory; drop the one not given. */
        if (h->cacert || h->capath) {
                SET(CURLOPT_CAINFO, h->cacert);
                SET(CURLOPT_CAPATH, h->capath);
        }
        if (h->client_cert)
                SET(CURLOPT_SSLCERT, h->client_cert);
        if (h->client_key)
                SET(CURLOPT_SSLKEY, h->client_key);
        if (h->connect_to)
                SET(CURLOPT_CONNECT_TO, h->connect_to);
#undef SET
        /* Not fatal: a backend without it has no SSL_CTX to clean. */
        if (c == CURLE_OK && (ssl_set_keylog || ssl_set_options))
                (void) curl_easy_setopt(eh, CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_cb);
        if (c != CURLE_OK) {
                ve_set_error(ret_error, ve_asprintf("cannot configure libcurl: %s", curl_easy_strerror(c)));
                curl_easy_cleanup(eh);
                return -EIO;
        }
        *ret_curl = eh;
        return 0;
}

/* ---- fork() ---- */

void ve_http_atfork_prepare(struct ve_http *h) {
        pthread_mutex_lock(&curl_init_lock);
        if (h)
                pthread_mutex_lock(&h->lock);
}

void ve_http_atfork_parent(struct ve_http *h) {
        if (h)
                pthread_mutex_unlock(&h->lock);
        pthread_mutex_unlock(&curl_init_lock);
}

void ve_http_atfork_child(struct ve_http *h) {
        /* The lock was taken by ve_http_atfork_prepare(), so no request is
         * half-way through taking or returning the handle. The handle
         * and its connection stay the parent's: cleaning them up here would
         * send a TLS close_notify on the parent's connection. The handle's
         * memory is deliberately leaked (kept referenced in h->abandoned, so
         * leak checkers see it as reachable); the next request makes a new
         * handle. */
        pthread_mutex_unlock(&curl_init_lock);
        if (!h)
                return;
        if (h->curl)
                h->abandoned = h->curl;
        h->curl = NULL;
        /* Likewise the idle multi handle of the batches (http_multi.c) and
         * its connections; one a batch had out at fork() is that thread's,
         * which does not exist here. */
        if (h->multi)
                h->multi_abandoned = h->multi;
        h->multi = NULL;
        /* The breaker's state stays, but not a probe of the parent's. */
        ve_http_breaker_forked(&h->breaker);
        pthread_mutex_unlock(&h->lock);
}
