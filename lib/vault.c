/* SPDX-License-Identifier: MIT */
/* The Vault HTTP client (libcurl).
 *
 * Locking: one mutex per client, v->lock. It guards the curl handle, the
 * error buffer, the lazily loaded token and the mount cache. It is held for
 * exactly one HTTP request (fetch()), or for one look-up or update of the
 * mount cache, never across two requests; it is never taken recursively.
 * Under it, only token_load() logs (a token file it cannot read), so a log
 * callback must not call back into this client. So two threads reading secrets of
 * a mount not yet detected may both detect it: that costs one request and is
 * harmless (the cache keeps one entry per mount).
 *
 * Secrets: the token lives in v->token (wiped on free) and, per request, in a
 * header string and in the curl_slist copy of it, both wiped before they are
 * freed; libcurl's own copy inside the request is libcurl's. Response bodies
 * may hold values and are wiped before they are freed. Nothing logged or
 * returned here holds a token, a value or a body; Vault's "errors" strings
 * may appear in messages. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "log.h"
#include "secret.h"
#include "settings.h"
#include "util.h"
#include "vault.h"

/* Largest answer we take: a KV secret is small, and Vault's own default
 * max_request_size is 32 MiB for writes only. */
#define BODY_MAX (1024 * 1024)

/* Connect (TCP and TLS handshake) timeout cap. The vault CLI dials with a 30 s
 * timeout (hashicorp/go-cleanhttp's pooled transport); we use the same, and
 * never more than the whole request timeout, so an unreachable (blackholed)
 * Vault fails after at most 30 s even with a long VAULT_CLIENT_TIMEOUT. */
#define CONNECT_TIMEOUT_MAX_MS 30000

#define TOKEN_FILE_MAX (64 * 1024)

#define NO_TOKEN_HINT "set VAULT_TOKEN or write ~/.vault-token"

#define VERSIONED_KV_WARNING "Invalid path for a versioned K/V secrets engine"

struct mount {
        char *prefix;           /* "secret/", as the ref paths start */
        int version;            /* 1 or 2 */
};

struct ve_vault {
        /* Set by ve_vault_new, read-only afterwards. */
        char *addr;             /* VAULT_ADDR without trailing '/', for messages */
        char *base_url;         /* addr, with the host replaced by tls_server_name */
        char *host_header;      /* "Host: realhost[:port]" with tls_server_name, else NULL */
        struct curl_slist *connect_to; /* "servername:port:realhost:port", else NULL */
        char *token_file;
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
        char *token;            /* NULL: none (send no header) */
        bool token_loaded;
        struct mount *mounts;
        size_t n_mounts;
};

struct response {
        long status;
        char *body;             /* not NUL-terminated; wiped on free */
        size_t len, cap;
        bool too_large;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result = CURLE_FAILED_INIT;

static void curl_init_once(void) {
        curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void response_done(struct response *r) {
        ve_erase_free_n(r->body, r->cap);
        *r = (struct response) {};
}

static void set_error(char **ret_error, char *msg) {
        if (ret_error)
                *ret_error = msg;
        else
                free(msg);
}

static bool has_control(const char *s) {
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f)
                        return true;
        return false;
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
static int setup_server_name(struct ve_vault *v, const char *server_name, char **ret_error) {
        CURLU *u = NULL;
        char *scheme = NULL, *host = NULL, *port = NULL, *eport = NULL, *url = NULL, *ct = NULL;
        size_t n;
        int r;

        u = curl_url();
        if (!u)
                return -ENOMEM;
        if (curl_url_set(u, CURLUPART_URL, v->addr, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
                r = -EINVAL;
                set_error(ret_error, ve_asprintf("VAULT_ADDR: not a valid URL: %s", v->addr));
                goto out;
        }
        if (strcasecmp(scheme, "https") != 0) {
                ve_debug("VAULT_TLS_SERVER_NAME ignored: %s is not https", v->addr);
                r = 0;
                goto out;
        }
        /* The explicit port, if any, for the Host header. */
        (void) curl_url_get(u, CURLUPART_PORT, &eport, 0);
        if (curl_url_set(u, CURLUPART_HOST, server_name, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK) {
                r = -EINVAL;
                set_error(ret_error, ve_asprintf("VAULT_TLS_SERVER_NAME: not a valid host name: %s", server_name));
                goto out;
        }
        n = strlen(url);
        while (n > 0 && url[n - 1] == '/')
                url[--n] = 0;
        r = -ENOMEM;
        free(v->base_url);
        v->base_url = strdup(url);
        if (!v->base_url)
                goto out;
        v->host_header = eport ? ve_asprintf("Host: %s:%s", host, eport) : ve_asprintf("Host: %s", host);
        if (!v->host_header)
                goto out;
        ct = ve_asprintf("%s:%s:%s:%s", server_name, port, host, port);
        if (!ct)
                goto out;
        v->connect_to = curl_slist_append(NULL, ct);
        if (!v->connect_to)
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

int ve_vault_new(const struct ve_settings *settings, struct ve_vault **ret_vault, char **ret_error) {
        struct ve_vault *v;
        CURLU *u;
        CURLUcode uc;
        size_t n;
        int r;

        if (!settings || !settings->addr || !*settings->addr) {
                set_error(ret_error, strdup("VAULT_ADDR is empty"));
                return -EINVAL;
        }
        v = calloc(1, sizeof(*v));
        if (!v)
                return -ENOMEM;
        r = pthread_mutex_init(&v->lock, NULL);
        if (r) {
                free(v);
                return -r;
        }
        if ((r = dup_opt(settings->addr, &v->addr)) < 0 ||
            (r = dup_opt(settings->token, &v->token)) < 0 ||
            (r = dup_opt(settings->token_file, &v->token_file)) < 0 ||
            (r = dup_opt(settings->namespace, &v->namespace)) < 0 ||
            (r = dup_opt(settings->cacert, &v->cacert)) < 0 ||
            (r = dup_opt(settings->capath, &v->capath)) < 0 ||
            (r = dup_opt(settings->client_cert, &v->client_cert)) < 0 ||
            (r = dup_opt(settings->client_key, &v->client_key)) < 0 ||
            (r = dup_opt(settings->proxy, &v->proxy)) < 0)
                goto fail;
        /* VAULT_TOKEN wins; the token file is read by the first request. */
        v->token_loaded = v->token != NULL;
        v->skip_verify = settings->skip_verify;
        v->timeout_ms = settings->timeout_ms ? settings->timeout_ms : VE_DEFAULT_TIMEOUT_MS;

        n = strlen(v->addr);
        while (n > 0 && v->addr[n - 1] == '/')
                v->addr[--n] = 0;

        /* Check the address now (string parsing, no I/O), so a bad
         * VAULT_ADDR is reported as such rather than as a failed request. */
        u = curl_url();
        if (!u) {
                r = -ENOMEM;
                goto fail;
        }
        uc = curl_url_set(u, CURLUPART_URL, v->addr, 0);
        curl_url_cleanup(u);
        if (uc != CURLUE_OK || (strncasecmp(v->addr, "http://", 7) != 0 && strncasecmp(v->addr, "https://", 8) != 0)) {
                r = -EINVAL;
                set_error(ret_error, ve_asprintf("VAULT_ADDR: not an http:// or https:// URL: %s", v->addr));
                goto fail;
        }
        v->base_url = strdup(v->addr);
        if (!v->base_url) {
                r = -ENOMEM;
                goto fail;
        }
        if (v->namespace && has_control(v->namespace)) {
                r = -EINVAL;
                set_error(ret_error, strdup("VAULT_NAMESPACE contains a control character"));
                goto fail;
        }
        if (settings->tls_server_name && *settings->tls_server_name) {
                r = setup_server_name(v, settings->tls_server_name, ret_error);
                if (r < 0)
                        goto fail;
        }
        *ret_vault = v;
        return 0;
fail:
        ve_vault_free(v);
        return r;
}

void ve_vault_free(struct ve_vault *v) {
        if (!v)
                return;
        if (v->curl)
                curl_easy_cleanup(v->curl);
        curl_slist_free_all(v->connect_to);
        for (size_t i = 0; i < v->n_mounts; i++)
                free(v->mounts[i].prefix);
        free(v->mounts);
        ve_erase_free(v->token);
        free(v->addr);
        free(v->base_url);
        free(v->host_header);
        free(v->token_file);
        free(v->namespace);
        free(v->cacert);
        free(v->capath);
        free(v->client_cert);
        free(v->client_key);
        free(v->proxy);
        pthread_mutex_destroy(&v->lock);
        free(v);
}

void ve_vault_atfork_child(struct ve_vault *v) {
        /* The child has one thread; the lock may have been held by another
         * thread of the parent at fork time, so it is made anew. The handle
         * and its connection stay the parent's: cleaning them up here would
         * send a TLS close_notify on the parent's connection. The handle's
         * memory is deliberately leaked (kept referenced in v->abandoned, so
         * leak checkers see it as reachable); the next request makes a new
         * handle. */
        if (!v)
                return;
        pthread_mutex_init(&v->lock, NULL);
        if (v->curl)
                v->abandoned = v->curl;
        v->curl = NULL;
}

/* ---- one request ---- */

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata) {
        struct response *r = userdata;
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
static int handle_setup(struct ve_vault *v, char **ret_error) {
        long timeout, connect_timeout;
        CURLcode c = CURLE_OK;
        CURL *h;

        (void) pthread_once(&curl_once, curl_init_once);
        if (curl_init_result != CURLE_OK) {
                set_error(ret_error, ve_asprintf("cannot initialise libcurl: %s", curl_easy_strerror(curl_init_result)));
                return -EIO;
        }
        h = curl_easy_init();
        if (!h)
                return -ENOMEM;

        timeout = v->timeout_ms > LONG_MAX ? LONG_MAX : (long) v->timeout_ms;
        connect_timeout = timeout < CONNECT_TIMEOUT_MAX_MS ? timeout : CONNECT_TIMEOUT_MAX_MS;

#define SET(opt, val) do { if (c == CURLE_OK) c = curl_easy_setopt(h, opt, val); } while (0)
        SET(CURLOPT_NOSIGNAL, 1L);
        SET(CURLOPT_ERRORBUFFER, v->errbuf);
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
        SET(CURLOPT_PROXY, v->proxy ? v->proxy : "");
        if (v->proxy)
                SET(CURLOPT_NOPROXY, "");
        SET(CURLOPT_NETRC, (long) CURL_NETRC_IGNORED);
        SET(CURLOPT_SSLVERSION, (long) CURL_SSLVERSION_TLSv1_2);
        SET(CURLOPT_SSL_VERIFYPEER, v->skip_verify ? 0L : 1L);
        SET(CURLOPT_SSL_VERIFYHOST, v->skip_verify ? 0L : 2L);
        /* As the vault CLI: VAULT_CACERT / VAULT_CAPATH replace the system
         * roots rather than add to them. libcurl has both a default bundle
         * and (Debian) a default directory; drop the one not given. */
        if (v->cacert || v->capath) {
                SET(CURLOPT_CAINFO, v->cacert);
                SET(CURLOPT_CAPATH, v->capath);
        }
        if (v->client_cert)
                SET(CURLOPT_SSLCERT, v->client_cert);
        if (v->client_key)
                SET(CURLOPT_SSLKEY, v->client_key);
        if (v->connect_to)
                SET(CURLOPT_CONNECT_TO, v->connect_to);
#undef SET
        if (c != CURLE_OK) {
                set_error(ret_error, ve_asprintf("cannot configure libcurl: %s", curl_easy_strerror(c)));
                curl_easy_cleanup(h);
                return -EIO;
        }
        v->curl = h;
        return 0;
}

/* Reads the token file on first use. Called with lock held. A missing file
 * means no token (a Vault Agent may authenticate for us); another failure is
 * logged and also means no token. Surrounding whitespace is trimmed, as the
 * vault CLI's token helper does. */
static void token_load(struct ve_vault *v) {
        char *data = NULL;
        size_t len = 0, a = 0, b;
        int r;

        if (v->token_loaded)
                return;
        v->token_loaded = true;
        if (!v->token_file)
                return;
        r = ve_read_file(v->token_file, TOKEN_FILE_MAX, &data, &len);
        if (r == -ENOENT) {
                ve_debug("no token file at %s; sending no token", v->token_file);
                return;
        }
        if (r < 0) {
                ve_warn("cannot read token file %s: %s; sending no token", v->token_file, strerror(-r));
                return;
        }
        b = len;
        while (a < b && (data[a] == ' ' || data[a] == '\t' || data[a] == '\n' || data[a] == '\r'))
                a++;
        while (b > a && (data[b - 1] == ' ' || data[b - 1] == '\t' || data[b - 1] == '\n' || data[b - 1] == '\r'))
                b--;
        if (b > a) {
                v->token = strndup(data + a, b - a);
                if (!v->token)
                        ve_warn("out of memory reading token file %s", v->token_file);
        }
        ve_erase_free_n(data, len);
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
static char *url_for(const struct ve_vault *v, const char *api_path) {
        static const char hex[] = "0123456789ABCDEF";
        size_t bl = strlen(v->base_url), n = strlen(api_path);
        char *url, *o;

        url = malloc(bl + 4 + 3 * n + 1);
        if (!url)
                return NULL;
        memcpy(url, v->base_url, bl);
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
static int curl_error(const struct ve_vault *v, CURLcode cc, const char *errbuf,
                      const struct response *resp, const char *user_path, char **ret_error) {
        const char *why = errbuf && *errbuf ? errbuf : curl_easy_strerror(cc);
        char *d;

        switch (cc) {
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
        case CURLE_COULDNT_CONNECT:
                set_error(ret_error, ve_asprintf("cannot reach Vault at %s: %s", v->addr, why));
                return -ECONNREFUSED;
        case CURLE_OPERATION_TIMEDOUT:
                d = duration_text(v->timeout_ms);
                set_error(ret_error, ve_asprintf("no answer from Vault at %s within %s (VAULT_CLIENT_TIMEOUT): %s",
                                                 v->addr, d ? d : "the timeout", why));
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
                set_error(ret_error, ve_asprintf("TLS error talking to %s: %s", v->addr, why));
                return -EPROTO;
        case CURLE_WRITE_ERROR:
                if (resp->too_large) {
                        set_error(ret_error, ve_asprintf("answer from Vault for %s is larger than 1 MiB", user_path));
                        return -EPROTO;
                }
                return -ENOMEM;
        case CURLE_OUT_OF_MEMORY:
                return -ENOMEM;
        default:
                set_error(ret_error, ve_asprintf("request to Vault at %s failed: %s", v->addr, why));
                return -EIO;
        }
}

/* GET ADDR/v1/API_PATH. 0 with the status and body in *ret (any status), or
 * -errno with a message for a failure to get an answer at all. The lock is
 * held for this one request only. */
static int fetch(struct ve_vault *v, const char *api_path, const char *user_path,
                 struct response *ret, bool *ret_sent_token, char **ret_error) {
        struct response resp = {};
        struct curl_slist *headers = NULL;
        char *url = NULL, *token_header = NULL, *ns_header = NULL;
        char errbuf[CURL_ERROR_SIZE];
        bool sent_token = false;
        CURLcode cc = CURLE_OK;
        int r;

        url = url_for(v, api_path);
        if (!url)
                return -ENOMEM;

        pthread_mutex_lock(&v->lock);
        if (!v->curl) {
                r = handle_setup(v, ret_error);
                if (r < 0)
                        goto unlock;
        }
        token_load(v);

        r = slist_add(&headers, "X-Vault-Request: true");
        if (r < 0)
                goto unlock;
        if (v->token) {
                if (has_control(v->token)) {
                        r = -EACCES;
                        set_error(ret_error, strdup("the Vault token contains a control character; not sending it"));
                        goto unlock;
                }
                token_header = ve_asprintf("X-Vault-Token: %s", v->token);
                if (!token_header) {
                        r = -ENOMEM;
                        goto unlock;
                }
                r = slist_add(&headers, token_header);
                if (r < 0)
                        goto unlock;
                sent_token = true;
        }
        if (v->namespace) {
                ns_header = ve_asprintf("X-Vault-Namespace: %s", v->namespace);
                if (!ns_header) {
                        r = -ENOMEM;
                        goto unlock;
                }
                r = slist_add(&headers, ns_header);
                if (r < 0)
                        goto unlock;
        }
        if (v->host_header) {
                r = slist_add(&headers, v->host_header);
                if (r < 0)
                        goto unlock;
        }

        v->errbuf[0] = 0;
        curl_easy_setopt(v->curl, CURLOPT_URL, url);
        curl_easy_setopt(v->curl, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(v->curl, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(v->curl, CURLOPT_WRITEDATA, &resp);
        cc = curl_easy_perform(v->curl);
        /* The handle must not keep pointers to what we free below. */
        curl_easy_setopt(v->curl, CURLOPT_HTTPHEADER, NULL);
        curl_easy_setopt(v->curl, CURLOPT_WRITEDATA, NULL);
        if (cc == CURLE_OK)
                curl_easy_getinfo(v->curl, CURLINFO_RESPONSE_CODE, &resp.status);
        memcpy(errbuf, v->errbuf, sizeof errbuf);
        errbuf[sizeof errbuf - 1] = 0;
        r = 0;
unlock:
        pthread_mutex_unlock(&v->lock);

        slist_erase_free(headers);
        ve_erase_free(token_header);
        free(ns_header);
        free(url);
        if (r < 0) {
                response_done(&resp);
                return r;
        }
        if (cc != CURLE_OK) {
                /* Strip the newline some backends end the text with. */
                size_t n = strlen(errbuf);
                while (n > 0 && (errbuf[n - 1] == '\n' || errbuf[n - 1] == '\r'))
                        errbuf[--n] = 0;
                r = curl_error(v, cc, errbuf, &resp, user_path, ret_error);
                ve_debug("GET /v1/%s: %s", api_path, curl_easy_strerror(cc));
                response_done(&resp);
                return r;
        }
        ve_debug("GET /v1/%s: %ld", api_path, resp.status);
        *ret = resp;
        if (ret_sent_token)
                *ret_sent_token = sent_token;
        return 0;
}

/* ---- the mount cache ---- */

/* Longest cached mount that path starts with. */
static bool mount_lookup(struct ve_vault *v, const char *path, size_t *ret_len, int *ret_version) {
        size_t best = 0;
        int version = 0;

        pthread_mutex_lock(&v->lock);
        for (size_t i = 0; i < v->n_mounts; i++) {
                size_t n = strlen(v->mounts[i].prefix);

                if (n > best && strncmp(path, v->mounts[i].prefix, n) == 0) {
                        best = n;
                        version = v->mounts[i].version;
                }
        }
        pthread_mutex_unlock(&v->lock);
        if (!best)
                return false;
        *ret_len = best;
        *ret_version = version;
        return true;
}

/* Remembers that the mount made of the first len bytes of path (with its
 * trailing '/') is KV version. Out of memory only loses the caching. */
static void mount_remember(struct ve_vault *v, const char *path, size_t len, int version) {
        struct mount *m;
        char *prefix;

        prefix = strndup(path, len);
        if (!prefix)
                return;
        pthread_mutex_lock(&v->lock);
        for (size_t i = 0; i < v->n_mounts; i++)
                if (strcmp(v->mounts[i].prefix, prefix) == 0) {
                        v->mounts[i].version = version;
                        goto unlock;
                }
        m = realloc(v->mounts, (v->n_mounts + 1) * sizeof(*m));
        if (!m)
                goto unlock;
        v->mounts = m;
        v->mounts[v->n_mounts++] = (struct mount) { .prefix = prefix, .version = version };
        prefix = NULL;
unlock:
        pthread_mutex_unlock(&v->lock);
        free(prefix);
}

/* Length of "MOUNT/" when the mount is the first segment. */
static size_t first_segment_len(const char *path) {
        const char *s = strchr(path, '/');

        return s ? (size_t) (s - path) + 1 : strlen(path);
}

/* Where the mount that Vault named ends in path. Like the vault CLI's
 * addPrefixToKVPath: with a namespace, Vault may name the mount with the
 * namespace in front ("ns1/secret/") while the path has no namespace; leading
 * segments of the mount are dropped until it is a prefix of path. 0 when it
 * never is. */
static size_t mount_len_in_path(const char *path, const char *mount) {
        while (*mount) {
                size_t n = strlen(mount);
                const char *s;

                if (strncmp(path, mount, n) == 0)
                        return n;
                s = strchr(mount, '/');
                if (!s)
                        break;
                mount = s + 1;
        }
        return 0;
}

/* ---- reading ---- */

static char *kv_api_path(const char *path, size_t mount_len, int version) {
        const char *rest;

        if (version == 1)
                return strdup(path);
        rest = path + mount_len;
        if (!*rest)
                return ve_asprintf("%.*sdata", (int) mount_len, path);
        return ve_asprintf("%.*sdata/%s", (int) mount_len, path, rest);
}

static char *with_text(const char *fmt_prefix, const char *text) {
        return text ? ve_asprintf("%s: %s", fmt_prefix, text) : strdup(fmt_prefix);
}

/* Turns an answer to a KV read into the result: the secret on 200, else the
 * errno and message of the status. */
static int kv_result(const char *path, int version, const struct response *resp, bool sent_token,
                     struct ve_secret **ret_secret, char **ret_error) {
        char *text = NULL, *msg = NULL, *head = NULL;
        int r;

        if (resp->status == 200 || (resp->status == 404 && version == 2)) {
                struct ve_secret *s = NULL;

                r = ve_vault_parse_kv(version, resp->body, resp->len, &s, &msg);
                if (r == 0 && resp->status == 200) {
                        *ret_secret = s;
                        return 0;
                }
                ve_secret_free(s);
                if (r == -ENOENT && msg && strncmp(msg, "version ", 8) == 0) {
                        set_error(ret_error, ve_asprintf("%s: %s", path, msg));
                        free(msg);
                        return -ENOENT;
                }
                if (resp->status == 200) {
                        if (r == -ENOENT)
                                set_error(ret_error, ve_asprintf("no secret at %s", path));
                        else if (r != -ENOMEM)
                                set_error(ret_error, ve_asprintf("unexpected answer from Vault for %s: %s",
                                                                 path, msg ? msg : "cannot parse it"));
                        free(msg);
                        return r;
                }
                free(msg);
        }

        text = ve_vault_errors_text(resp->body, resp->len);
        switch (resp->status) {
        case 404:
                r = -ENOENT;
                msg = ve_asprintf("no secret at %s", path);
                break;
        case 403:
                r = -EACCES;
                head = ve_asprintf("permission denied on %s", path);
                if (head)
                        msg = with_text(head, text && strcmp(text, "permission denied") != 0 ? text : NULL);
                if (msg && !sent_token) {
                        /* Vault 1.10+ answers a request without a token so. */
                        free(head);
                        head = msg;
                        msg = ve_asprintf("%s (no Vault token: " NO_TOKEN_HINT ")", head);
                }
                break;
        case 400:
                if (text && strstr(text, "missing client token")) {
                        r = -EACCES;
                        msg = strdup("no Vault token (" NO_TOKEN_HINT ")");
                        break;
                }
                r = -EIO;
                head = ve_asprintf("unexpected HTTP status 400 for %s", path);
                if (head)
                        msg = with_text(head, text);
                break;
        case 503:
                r = -EAGAIN;
                head = ve_asprintf("Vault is sealed or unavailable (503) at %s", path);
                if (head)
                        msg = with_text(head, text);
                break;
        case 429:
                r = -EAGAIN;
                head = ve_asprintf("rate limited by Vault (429) at %s", path);
                if (head)
                        msg = with_text(head, text);
                break;
        case 412:
                /* A Vault Agent or Proxy with require_request_header. */
                r = -EIO;
                head = ve_asprintf("Vault refused the request for %s (412)", path);
                if (head)
                        msg = with_text(head, text);
                break;
        default:
                r = -EIO;
                head = ve_asprintf("unexpected HTTP status %ld for %s", resp->status, path);
                if (head)
                        msg = with_text(head, text);
                break;
        }
        free(head);
        free(text);
        if (!msg)
                return -ENOMEM;
        set_error(ret_error, msg);
        return r;
}

static int read_version(struct ve_vault *v, const char *path, size_t mount_len, int version,
                        struct ve_secret **ret_secret, char **ret_error) {
        struct response resp = {};
        char *api;
        bool sent_token = false;
        int r;

        api = kv_api_path(path, mount_len, version);
        if (!api)
                return -ENOMEM;
        r = fetch(v, api, path, &resp, &sent_token, ret_error);
        free(api);
        if (r < 0)
                return r;
        r = kv_result(path, version, &resp, sent_token, ret_secret, ret_error);
        response_done(&resp);
        return r;
}

/* What a 404 body tells about the mount's KV version. */
struct body_shape {
        bool v2_metadata;       /* data.metadata is an object: a KV v2 answer */
        bool versioned_warning; /* the warning a KV v2 mount gives to a v1-style read */
        bool plain;             /* {"errors":[]}: nothing but an empty list */
};

static struct body_shape shape_of(const struct response *resp) {
        struct body_shape s = {};
        const cJSON *data, *md, *warnings, *w, *errors;
        cJSON *root;

        if (!resp->body)
                return s;
        root = cJSON_ParseWithLength(resp->body, resp->len);
        if (!cJSON_IsObject(root))
                goto out;
        data = cJSON_GetObjectItemCaseSensitive(root, "data");
        md = cJSON_IsObject(data) ? cJSON_GetObjectItemCaseSensitive(data, "metadata") : NULL;
        s.v2_metadata = cJSON_IsObject(md);
        warnings = cJSON_GetObjectItemCaseSensitive(root, "warnings");
        cJSON_ArrayForEach(w, warnings)
                if (cJSON_IsString(w) && strstr(w->valuestring, VERSIONED_KV_WARNING))
                        s.versioned_warning = true;
        errors = cJSON_GetObjectItemCaseSensitive(root, "errors");
        s.plain = cJSON_IsArray(errors) && cJSON_GetArraySize(errors) == 0 && cJSON_GetArraySize(root) == 1;
out:
        /* Only 404 bodies come here: nothing secret in them. */
        cJSON_Delete(root);
        return s;
}

/* Mount detection failed (denied, or an answer we cannot use): find out from
 * the reads themselves, with the first segment as the mount. KV v2 first
 * (the default for new mounts), then KV v1 when v2 says 404 or 403:
 *   v2 200                         → v2
 *   v2 404 with data.metadata      → v2 (that version is deleted/destroyed)
 *   v2 other than 403/404          → that answer (sealed, no token, ...)
 *   v1 200                         → v1
 *   v1 404 with the versioned-KV warning → v2; the v2 answer is the result
 *   v1 404 {"errors":[]}           → v1; no secret (a v2 mount would have
 *                                    answered with the warning)
 *   anything else                  → the v2 answer is the result, nothing
 *                                    is cached.
 * Network errors are returned and nothing is cached. */
static int read_fallback(struct ve_vault *v, const char *path, const char *reason,
                         struct ve_secret **ret_secret, char **ret_error) {
        struct response r2 = {}, r1 = {};
        size_t ml = first_segment_len(path);
        bool sent2 = false, sent1 = false;
        struct body_shape shape;
        char *api;
        int r;

        ve_info("%s: cannot detect the KV version of its mount (%s); trying a KV v2 read, then KV v1",
                path, reason);

        api = kv_api_path(path, ml, 2);
        if (!api)
                return -ENOMEM;
        r = fetch(v, api, path, &r2, &sent2, ret_error);
        free(api);
        if (r < 0)
                return r;
        if (r2.status == 200 || (r2.status == 404 && shape_of(&r2).v2_metadata)) {
                mount_remember(v, path, ml, 2);
                r = kv_result(path, 2, &r2, sent2, ret_secret, ret_error);
                goto out;
        }
        if (r2.status != 404 && r2.status != 403) {
                r = kv_result(path, 2, &r2, sent2, ret_secret, ret_error);
                goto out;
        }

        r = fetch(v, path, path, &r1, &sent1, ret_error);
        if (r < 0)
                goto out;
        if (r1.status == 200) {
                mount_remember(v, path, ml, 1);
                ve_info("%s: mount %.*s is KV v1", path, (int) ml, path);
                r = kv_result(path, 1, &r1, sent1, ret_secret, ret_error);
                goto out;
        }
        shape = r1.status == 404 ? shape_of(&r1) : (struct body_shape) {};
        if (shape.versioned_warning) {
                mount_remember(v, path, ml, 2);
                ve_info("%s: mount %.*s is KV v2", path, (int) ml, path);
        } else if (shape.plain) {
                mount_remember(v, path, ml, 1);
                ve_info("%s: mount %.*s is KV v1", path, (int) ml, path);
                r = kv_result(path, 1, &r1, sent1, ret_secret, ret_error);
                goto out;
        }
        r = kv_result(path, 2, &r2, sent2, ret_secret, ret_error);
out:
        response_done(&r2);
        response_done(&r1);
        return r;
}

/* GET sys/internal/ui/mounts/PATH, as the vault CLI does (1.8; newer CLIs
 * ask sys/mounts-all/PATH, which Vault 1.8 does not have). */
static int read_auto(struct ve_vault *v, const char *path, struct ve_secret **ret_secret, char **ret_error) {
        struct response resp = {};
        char *api, *mount = NULL, *reason = NULL;
        size_t ml;
        int version, r;

        if (mount_lookup(v, path, &ml, &version))
                return read_version(v, path, ml, version, ret_secret, ret_error);

        api = ve_asprintf("sys/internal/ui/mounts/%s", path);
        if (!api)
                return -ENOMEM;
        r = fetch(v, api, path, &resp, NULL, ret_error);
        free(api);
        if (r < 0)
                return r;       /* not cached: the next read asks again */

        switch (resp.status) {
        case 200:
                r = ve_vault_parse_mount(resp.body, resp.len, &mount, &version);
                if (r == -ENOMEM)
                        goto out;
                if (r < 0) {
                        reason = strdup("unexpected answer from sys/internal/ui/mounts");
                        break;
                }
                ml = mount_len_in_path(path, mount);
                if (ml == 0) {
                        reason = ve_asprintf("Vault named mount %s", mount);
                        break;
                }
                mount_remember(v, path, ml, version);
                ve_debug("%s: mount %.*s is KV v%d", path, (int) ml, path, version);
                break;
        case 404:
                /* A Vault without the endpoint: KV v1, as the vault CLI. */
                ml = first_segment_len(path);
                version = 1;
                mount_remember(v, path, ml, version);
                ve_debug("%s: no mount detection (404); taking %.*s as KV v1", path, (int) ml, path);
                break;
        default:
                reason = ve_asprintf("sys/internal/ui/mounts answered %ld", resp.status);
                break;
        }
        response_done(&resp);
        if (reason || r < 0) {
                r = read_fallback(v, path, reason ? reason : "out of memory", ret_secret, ret_error);
                goto out;
        }
        r = read_version(v, path, ml, version, ret_secret, ret_error);
out:
        response_done(&resp);
        free(mount);
        free(reason);
        return r;
}

int ve_vault_read(struct ve_vault *v, const struct ve_ref *ref,
                  struct ve_secret **ret_secret, char **ret_error) {
        if (!v || !ref || !ref->path || !*ref->path)
                return -EINVAL;

        switch (ref->kv) {
        case VE_KV_1:
                return read_version(v, ref->path, 0, 1, ret_secret, ret_error);
        case VE_KV_2:
                return read_version(v, ref->path, first_segment_len(ref->path), 2, ret_secret, ret_error);
        case VE_KV_AUTO:
        default:
                return read_auto(v, ref->path, ret_secret, ret_error);
        }
}
