/* SPDX-License-Identifier: MIT */
/* The HTTP transport to Vault (libcurl). See http.h.
 *
 * Locking: one mutex per transport, h->lock. It guards the curl handle and
 * the error buffer, and is held for exactly one request, never across two,
 * never taken recursively; nothing under it logs or calls back.
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
#include <strings.h>

#include <curl/curl.h>

#include "http.h"
#include "log.h"
#include "util.h"

#define BODY_MAX (1024 * 1024)

/* Connect (TCP and TLS handshake) timeout cap. The vault CLI dials with a 30 s
 * timeout (hashicorp/go-cleanhttp's pooled transport); we use the same, and
 * never more than the whole request timeout, so an unreachable (blackholed)
 * Vault fails after at most 30 s even with a long VAULT_CLIENT_TIMEOUT. */
#define CONNECT_TIMEOUT_MAX_MS 30000
struct ve_http {
        /* Set by ve_http_new, read-only afterwards. */
        char *addr;             /* VAULT_ADDR without trailing '/', for messages */
        char *base_url;         /* addr, with the host replaced by tls_server_name */
        char *host_header;      /* "Host: realhost[:port]" with tls_server_name, else NULL */
        struct curl_slist *connect_to; /* "servername:port:realhost:port", else NULL */
        char *namespace;
        char *cacert, *capath, *client_cert, *client_key;
        char *proxy;
        bool skip_verify;
        uint64_t timeout_ms;

        pthread_mutex_t lock;

        /* Guarded by lock. */
        CURL *curl;             /* created by the first request */
        CURL *abandoned;        /* the parent's handle, in a forked child: never
                                 * touched, only kept referenced */
        char errbuf[CURL_ERROR_SIZE];
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result = CURLE_FAILED_INIT;

static void curl_init_once(void) {
        curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

void ve_http_response_done(struct ve_http_response *r) {
        ve_erase_free_n(r->body, r->cap);
        *r = (struct ve_http_response) {};
}

static int dup_opt(const char *s, char **ret) {
        *ret = NULL;
        if (!s || !*s)
                return 0;
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

/* With VAULT_TLS_SERVER_NAME, the vault CLI (Go's tls.Config.ServerName)
 * connects to VAULT_ADDR's host but sends the server name in SNI and checks
 * the certificate against it, while the Host header stays VAULT_ADDR's.
 * libcurl checks against the URL's host, so: the URL names the server name,
 * CURLOPT_CONNECT_TO sends the connection to the real host and port, and an
 * explicit Host header keeps what Go sends. Only for https. */
static int setup_server_name(struct ve_http *h, const char *server_name, char **ret_error) {
        CURLU *u = NULL;
        char *scheme = NULL, *host = NULL, *port = NULL, *eport = NULL, *url = NULL, *ct = NULL;
        size_t n;
        int r;

        u = curl_url();
        if (!u)
                return -ENOMEM;
        if (curl_url_set(u, CURLUPART_URL, h->addr, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
                r = -EINVAL;
                ve_set_error(ret_error, ve_asprintf("VAULT_ADDR: not a valid URL: %s", h->addr));
                goto out;
        }
        if (strcasecmp(scheme, "https") != 0) {
                ve_debug("VAULT_TLS_SERVER_NAME ignored: %s is not https", h->addr);
                r = 0;
                goto out;
        }
        /* The explicit port, if any, for the Host header. */
        (void) curl_url_get(u, CURLUPART_PORT, &eport, 0);
        if (curl_url_set(u, CURLUPART_HOST, server_name, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK) {
                r = -EINVAL;
                ve_set_error(ret_error, ve_asprintf("VAULT_TLS_SERVER_NAME: not a valid host name: %s", server_name));
                goto out;
        }
        n = strlen(url);
        while (n > 0 && url[n - 1] == '/')
                url[--n] = 0;
        r = -ENOMEM;
        free(h->base_url);
        h->base_url = strdup(url);
        if (!h->base_url)
                goto out;
        h->host_header = eport ? ve_asprintf("Host: %s:%s", host, eport) : ve_asprintf("Host: %s", host);
        if (!h->host_header)
                goto out;
        ct = ve_asprintf("%s:%s:%s:%s", server_name, port, host, port);
        if (!ct)
                goto out;
        h->connect_to = curl_slist_append(NULL, ct);
        if (!h->connect_to)
                goto out;
        r = 0;
out:
        free(ct);
        curl_free(scheme);
        curl_free(host);
        curl_free(port);
        curl_free(eport);
        curl_free(url);
        curl_url_cleanup(u);
        return r;
}


int ve_http_new(const struct ve_settings *settings, struct ve_http **ret_http, char **ret_error) {
        struct ve_http *h;
        CURLU *u;
        CURLUcode uc;
        size_t n;
        int r;

        if (!settings || !settings->addr || !*settings->addr) {
                ve_set_error(ret_error, strdup("VAULT_ADDR is empty"));
                return -EINVAL;
        }
        h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        r = pthread_mutex_init(&h->lock, NULL);
        if (r) {
                free(h);
                return -r;
        }
        if ((r = dup_opt(settings->addr, &h->addr)) < 0 ||
            (r = dup_opt(settings->namespace, &h->namespace)) < 0 ||
            (r = dup_opt(settings->cacert, &h->cacert)) < 0 ||
            (r = dup_opt(settings->capath, &h->capath)) < 0 ||
            (r = dup_opt(settings->client_cert, &h->client_cert)) < 0 ||
            (r = dup_opt(settings->client_key, &h->client_key)) < 0 ||
            (r = dup_opt(settings->proxy, &h->proxy)) < 0)
                goto fail;
        h->skip_verify = settings->skip_verify;
        h->timeout_ms = settings->timeout_ms ? settings->timeout_ms : VE_DEFAULT_TIMEOUT_MS;

        n = strlen(h->addr);
        while (n > 0 && h->addr[n - 1] == '/')
                h->addr[--n] = 0;

        /* Check the address now (string parsing, no I/O), so a bad
         * VAULT_ADDR is reported as such rather than as a failed request. */
        u = curl_url();
        if (!u) {
                r = -ENOMEM;
                goto fail;
        }
        uc = curl_url_set(u, CURLUPART_URL, h->addr, 0);
        curl_url_cleanup(u);
        if (uc != CURLUE_OK || (strncasecmp(h->addr, "http://", 7) != 0 && strncasecmp(h->addr, "https://", 8) != 0)) {
                r = -EINVAL;
                ve_set_error(ret_error, ve_asprintf("VAULT_ADDR: not an http:// or https:// URL: %s", h->addr));
                goto fail;
        }
        h->base_url = strdup(h->addr);
        if (!h->base_url) {
                r = -ENOMEM;
                goto fail;
        }
        if (h->namespace && ve_has_control(h->namespace)) {
                r = -EINVAL;
                ve_set_error(ret_error, strdup("VAULT_NAMESPACE contains a control character"));
                goto fail;
        }
        if (settings->tls_server_name && *settings->tls_server_name) {
                r = setup_server_name(h, settings->tls_server_name, ret_error);
                if (r < 0)
                        goto fail;
        }
        *ret_http = h;
        return 0;
fail:
        ve_http_free(h);
        return r;
}

void ve_http_free(struct ve_http *h) {
        if (!h)
                return;
        if (h->curl)
                curl_easy_cleanup(h->curl);
        curl_slist_free_all(h->connect_to);
        free(h->addr);
        free(h->base_url);
        free(h->host_header);
        free(h->namespace);
        free(h->cacert);
        free(h->capath);
        free(h->client_cert);
        free(h->client_key);
        free(h->proxy);
        pthread_mutex_destroy(&h->lock);
        free(h);
}

void ve_http_atfork_child(struct ve_http *h) {
        /* The child has one thread; the lock may have been held by another
         * thread of the parent at fork time, so it is made anew. The handle
         * and its connection stay the parent's: cleaning them up here would
         * send a TLS close_notify on the parent's connection. The handle's
         * memory is deliberately leaked (kept referenced in h->abandoned, so
         * leak checkers see it as reachable); the next request makes a new
         * handle. */
        if (!h)
                return;
        pthread_mutex_init(&h->lock, NULL);
        if (h->curl)
                h->abandoned = h->curl;
        h->curl = NULL;
}


/* ---- one request ---- */

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
        return n;
}

/* Creates and configures the handle. Called with lock held. */
static int handle_setup(struct ve_http *h, char **ret_error) {
        long timeout, connect_timeout;
        CURLcode c = CURLE_OK;
        CURL *eh;

        (void) pthread_once(&curl_once, curl_init_once);
        if (curl_init_result != CURLE_OK) {
                ve_set_error(ret_error, ve_asprintf("cannot initialise libcurl: %s", curl_easy_strerror(curl_init_result)));
                return -EIO;
        }
        eh = curl_easy_init();
        if (!eh)
                return -ENOMEM;

        timeout = h->timeout_ms > LONG_MAX ? LONG_MAX : (long) h->timeout_ms;
        connect_timeout = timeout < CONNECT_TIMEOUT_MAX_MS ? timeout : CONNECT_TIMEOUT_MAX_MS;

#define SET(opt, val) do { if (c == CURLE_OK) c = curl_easy_setopt(eh, opt, val); } while (0)
        SET(CURLOPT_NOSIGNAL, 1L);
        SET(CURLOPT_ERRORBUFFER, h->errbuf);
        SET(CURLOPT_WRITEFUNCTION, write_cb);
        SET(CURLOPT_TIMEOUT_MS, timeout);
        SET(CURLOPT_CONNECTTIMEOUT_MS, connect_timeout);
#if CURL_AT_LEAST_VERSION(7, 85, 0)
        SET(CURLOPT_PROTOCOLS_STR, "http,https");
#else
        SET(CURLOPT_PROTOCOLS, (long) (CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
        /* Redirects are not followed (yet): a 307 from a standby is an
         * "unexpected HTTP status". */
        SET(CURLOPT_FOLLOWLOCATION, 0L);
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
        if (c != CURLE_OK) {
                ve_set_error(ret_error, ve_asprintf("cannot configure libcurl: %s", curl_easy_strerror(c)));
                curl_easy_cleanup(eh);
                return -EIO;
        }
        h->curl = eh;
        return 0;
}

static void slist_erase_free(struct curl_slist *l) {
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
 * other byte becomes %XX. */
static char *url_for(const struct ve_http *h, const char *api_path) {
        static const char hex[] = "0123456789ABCDEF";
        size_t bl = strlen(h->base_url), n = strlen(api_path);
        char *url, *o;

        url = malloc(bl + 4 + 3 * n + 1);
        if (!url)
                return NULL;
        memcpy(url, h->base_url, bl);
        o = url + bl;
        memcpy(o, "/v1/", 4);
        o += 4;
        for (const char *p = api_path; *p; p++) {
                unsigned char c = (unsigned char) *p;

                if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_' || c == '~' || c == '/')
                        *o++ = (char) c;
                else {
                        *o++ = '%';
                        *o++ = hex[c >> 4];
                        *o++ = hex[c & 15];
                }
        }
        *o = 0;
        return url;
}

static char *duration_text(uint64_t ms) {
        if (ms % 1000 == 0)
                return ve_asprintf("%llus", (unsigned long long) (ms / 1000));
        return ve_asprintf("%llums", (unsigned long long) ms);
}

/* Maps a failed curl_easy_perform. errbuf is CURLOPT_ERRORBUFFER's text. */
static int curl_error(const struct ve_http *h, CURLcode cc, const char *errbuf,
                      const struct ve_http_response *resp, const char *user_path, char **ret_error) {
        const char *why = errbuf && *errbuf ? errbuf : curl_easy_strerror(cc);
        char *d;

        switch (cc) {
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
        case CURLE_COULDNT_CONNECT:
                ve_set_error(ret_error, ve_asprintf("cannot reach Vault at %s: %s", h->addr, why));
                return -ECONNREFUSED;
        case CURLE_OPERATION_TIMEDOUT:
                d = duration_text(h->timeout_ms);
                ve_set_error(ret_error, ve_asprintf("no answer from Vault at %s within %s (VAULT_CLIENT_TIMEOUT): %s",
                                                 h->addr, d ? d : "the timeout", why));
                free(d);
                return -ETIMEDOUT;
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
                ve_set_error(ret_error, ve_asprintf("TLS error talking to %s: %s", h->addr, why));
                return -EPROTO;
        case CURLE_WRITE_ERROR:
                if (resp->too_large) {
                        ve_set_error(ret_error, ve_asprintf("answer from Vault for %s is larger than 1 MiB", user_path));
                        return -EPROTO;
                }
                return -ENOMEM;
        case CURLE_OUT_OF_MEMORY:
                return -ENOMEM;
        default:
                ve_set_error(ret_error, ve_asprintf("request to Vault at %s failed: %s", h->addr, why));
                return -EIO;
        }
}

/* The lock is held for this one request only. */
int ve_http_request(struct ve_http *h, const char *method, const char *api_path, const char *body,
                    const char *token, const char *user_path,
                    struct ve_http_response *ret, char **ret_error) {
        struct ve_http_response resp = {};
        struct curl_slist *headers = NULL;
        char *url = NULL, *token_header = NULL, *ns_header = NULL;
        char errbuf[CURL_ERROR_SIZE];
        CURLcode cc = CURLE_OK;
        int r;

        if (token && ve_has_control(token)) {
                ve_set_error(ret_error, strdup("the Vault token contains a control character; not sending it"));
                return -EACCES;
        }

        url = url_for(h, api_path);
        if (!url)
                return -ENOMEM;

        pthread_mutex_lock(&h->lock);
        if (!h->curl) {
                r = handle_setup(h, ret_error);
                if (r < 0)
                        goto unlock;
        }

        r = slist_add(&headers, "X-Vault-Request: true");
        if (r < 0)
                goto unlock;
        if (token) {
                token_header = ve_asprintf("X-Vault-Token: %s", token);
                if (!token_header) {
                        r = -ENOMEM;
                        goto unlock;
                }
                r = slist_add(&headers, token_header);
                if (r < 0)
                        goto unlock;
        }
        if (body) {
                r = slist_add(&headers, "Content-Type: application/json");
                if (r < 0)
                        goto unlock;
        }
        if (h->namespace) {
                ns_header = ve_asprintf("X-Vault-Namespace: %s", h->namespace);
                if (!ns_header) {
                        r = -ENOMEM;
                        goto unlock;
                }
                r = slist_add(&headers, ns_header);
                if (r < 0)
                        goto unlock;
        }
        if (h->host_header) {
                r = slist_add(&headers, h->host_header);
                if (r < 0)
                        goto unlock;
        }

        h->errbuf[0] = 0;
        curl_easy_setopt(h->curl, CURLOPT_URL, url);
        /* Reset to a GET, then shape the method: POST with a body (copied
         * by curl: POSTFIELDS points at the caller's buffer for the
         * request's duration only), or a custom verb (LIST, PUT, DELETE). */
        curl_easy_setopt(h->curl, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(h->curl, CURLOPT_CUSTOMREQUEST, NULL);
        if (body) {
                curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body);
                curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE, (long) strlen(body));
        }
        if (strcmp(method, "GET") != 0 && !(body && strcmp(method, "POST") == 0))
                curl_easy_setopt(h->curl, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, &resp);
        cc = curl_easy_perform(h->curl);
        /* The handle must not keep pointers to what we free below. */
        curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, NULL);
        curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, NULL);
        curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, NULL);
        curl_easy_setopt(h->curl, CURLOPT_CUSTOMREQUEST, NULL);
        if (cc == CURLE_OK)
                curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &resp.status);
        memcpy(errbuf, h->errbuf, sizeof errbuf);
        errbuf[sizeof errbuf - 1] = 0;
        r = 0;
unlock:
        pthread_mutex_unlock(&h->lock);

        slist_erase_free(headers);
        ve_erase_free(token_header);
        free(ns_header);
        free(url);
        if (r < 0) {
                ve_http_response_done(&resp);
                return r;
        }
        if (cc != CURLE_OK) {
                /* Strip the newline some backends end the text with. */
                size_t n = strlen(errbuf);
                while (n > 0 && (errbuf[n - 1] == '\n' || errbuf[n - 1] == '\r'))
                        errbuf[--n] = 0;
                r = curl_error(h, cc, errbuf, &resp, user_path, ret_error);
                ve_debug("%s /v1/%s: %s", method, api_path, curl_easy_strerror(cc));
                ve_http_response_done(&resp);
                return r;
        }
        ve_debug("%s /v1/%s: %ld", method, api_path, resp.status);
        *ret = resp;
        return 0;
}

const char *ve_http_addr(const struct ve_http *h) {
        return h->addr;
}

