/* SPDX-License-Identifier: MIT */
/* The HTTP transport to Vault (libcurl): Vault Agent addresses, retries
 * with backoff, same-origin redirects, the circuit breaker. See http.h.
 *
 * Locking: two mutexes, never held across network I/O or a retry's wait,
 * never taken recursively; nothing under either logs or calls back.
 *  - h->lock, one per transport, guards the idle handle slot (h->curl,
 *    h->abandoned) and the circuit breaker's state (br_*). A request holds
 *    it only to take the idle handle out and to put it back, and to check
 *    or update the breaker; the exchange runs on a handle no other thread
 *    has, with its error buffer in the request's own struct attempt.
 *  - curl_init_lock, process-wide, is held while curl_global_init() runs,
 *    so that fork() (ve_http_atfork_prepare() takes it, then h->lock)
 *    never happens in the middle of it.
 *
 * Secrets: the token header string and curl_slist's copy of it are wiped
 * before they are freed; libcurl's own copy inside the request is
 * libcurl's. Response bodies may hold values and are wiped before they are
 * freed. Nothing logged or returned here holds a token, a value or a body. */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>

#include <curl/curl.h>

#include "http.h"
#include "log.h"
#include "util.h"

#define BODY_MAX VE_HTTP_BODY_MAX

/* Connect (TCP and TLS handshake) timeout cap. The vault CLI dials with a 30 s
 * timeout (hashicorp/go-cleanhttp's pooled transport); we use the same, and
 * never more than the whole request timeout, so an unreachable (blackholed)
 * Vault fails after at most 30 s even with a long VAULT_CLIENT_TIMEOUT. */
#define CONNECT_TIMEOUT_MAX_MS 30000
/* The longest Location header kept; a longer one is not followed. */
#define LOCATION_MAX 4096

struct ve_http {
        /* Set by ve_http_new, read-only afterwards (but for the retry
         * waits, set by ve_http_set_retry_wait before any request). */
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
        uint64_t breaker_window_ms;     /* 0: no breaker */
        uint64_t (*now_ms)(void);       /* the breaker's clock */

        pthread_mutex_t lock;

        /* Guarded by lock, which is never held across network I/O: a
         * request takes the idle handle out (or makes one when another
         * request has it) and puts it back after, so its connection is
         * kept alive for the next one. */
        CURL *curl;             /* the idle handle, created by the first request */
        CURL *abandoned;        /* the parent's handle, in a forked child: never
                                 * touched, only kept referenced */

        /* The circuit breaker (http.h), under lock. Open: requests fail at
         * once until br_until, then one probe goes out (br_probing) while
         * the others still fail; its answer closes it, its failure opens
         * a new window. br_cc: the failure that opened it. br_told: the
         * line of this window was logged. */
        bool br_open, br_probing, br_told;
        uint64_t br_until;
        CURLcode br_cc;
};

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
/* Both looked up by handle_setup() after curl_once, never inside it: dlvsym()
 * takes the dynamic loader's lock, which a thread running a plugin's
 * constructor holds while it waits for curl_once (rel-plugin.sh). Any
 * thread may look them up; they all store the same values. */
static _Atomic(set_keylog_fn) ssl_set_keylog;
static _Atomic(set_options_fn) ssl_set_options;
static atomic_bool ssl_looked_up;

static void ssl_guard_init(void) {
        const curl_version_info_data *vi = curl_version_info(CURLVERSION_NOW);
        void *sym;

        if (!vi || !vi->ssl_version || strncmp(vi->ssl_version, "OpenSSL/3.", 10) != 0)
                return;
        set_keylog_fn fn;
        set_options_fn opt;

        sym = dlvsym(RTLD_DEFAULT, "SSL_CTX_set_keylog_callback", "OPENSSL_3.0.0");
        memcpy(&fn, &sym, sizeof fn);
        atomic_store(&ssl_set_keylog, fn);
        sym = dlvsym(RTLD_DEFAULT, "SSL_CTX_set_options", "OPENSSL_3.0.0");
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
                ve_set_error(ret_error, ve_asprintf("%s: not a valid URL: %s", h->addr_var, h->addr));
                goto out;
        }
        if (ve_ascii_strcasecmp(scheme, "https") != 0) {
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


/* unix:///path/to/agent.sock: as the Go client, everything after "unix://"
 * is the socket path, and requests go to http://localhost over it. */
static int setup_unix_socket(struct ve_http *h, char **ret_error) {
        const char *path = h->addr + strlen("unix://");

        if (!*path) {
                ve_set_error(ret_error, ve_asprintf("%s: no socket path in %s", h->addr_var, h->addr));
                return -EINVAL;
        }
        if (strlen(path) >= sizeof(((struct sockaddr_un *) NULL)->sun_path)) {
                ve_set_error(ret_error, ve_asprintf("%s: socket path longer than %zu bytes: %s", h->addr_var,
                                                    sizeof(((struct sockaddr_un *) NULL)->sun_path) - 1, path));
                return -EINVAL;
        }
        if (ve_has_control(path)) {
                ve_set_error(ret_error, ve_asprintf("%s: socket path contains a control character", h->addr_var));
                return -EINVAL;
        }
        h->unix_socket = strdup(path);
        h->base_url = strdup("http://localhost");
        if (!h->unix_socket || !h->base_url)
                return -ENOMEM;
        return 0;
}

int ve_http_new(const struct ve_settings *settings, struct ve_http **ret_http, char **ret_error) {
        struct ve_http *h;
        const char *addr;
        bool agent;
        CURLU *u;
        CURLUcode uc;
        size_t n;
        int r;

        agent = settings && settings->agent_addr && *settings->agent_addr;
        if (!settings || (!agent && (!settings->addr || !*settings->addr))) {
                ve_set_error(ret_error, strdup("VAULT_ADDR is empty"));
                return -EINVAL;
        }
        /* As the Go client: VAULT_AGENT_ADDR, when set, is the address. */
        addr = agent ? settings->agent_addr : settings->addr;
        h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        r = pthread_mutex_init(&h->lock, NULL);
        if (r) {
                free(h);
                return -r;
        }
        h->addr_var = agent ? "VAULT_AGENT_ADDR" : "VAULT_ADDR";
        if ((r = dup_opt(addr, &h->addr)) < 0 ||
            (r = dup_opt(settings->namespace, &h->namespace)) < 0 ||
            (r = dup_opt(settings->cacert, &h->cacert)) < 0 ||
            (r = dup_opt(settings->capath, &h->capath)) < 0 ||
            (r = dup_opt(settings->client_cert, &h->client_cert)) < 0 ||
            (r = dup_opt(settings->client_key, &h->client_key)) < 0 ||
            (r = dup_opt(settings->proxy, &h->proxy)) < 0)
                goto fail;
        h->skip_verify = settings->skip_verify;
        h->timeout_ms = settings->timeout_ms ? settings->timeout_ms : VE_DEFAULT_TIMEOUT_MS;
        h->max_retries = settings->max_retries;
        h->retry_min_ms = VE_HTTP_RETRY_MIN_MS;
        h->retry_max_ms = VE_HTTP_RETRY_MAX_MS;
        h->breaker_window_ms = settings->breaker_window_ms;
        h->now_ms = ve_now_ms;

        /* "http://host:8200/" names the same server as "http://host:8200";
         * a unix:// address is a path, kept as given. */
        if (ve_ascii_strncasecmp(h->addr, "unix://", 7) != 0) {
                n = strlen(h->addr);
                while (n > 0 && h->addr[n - 1] == '/')
                        h->addr[--n] = 0;
        }

        if (h->namespace && ve_has_control(h->namespace)) {
                r = -EINVAL;
                ve_set_error(ret_error, strdup("VAULT_NAMESPACE contains a control character"));
                goto fail;
        }

        /* A unix socket only for the agent address: VAULT_ADDR stays
         * http(s) (the Go client would take unix:// there too). */
        if (agent && ve_ascii_strncasecmp(h->addr, "unix://", 7) == 0) {
                r = setup_unix_socket(h, ret_error);
                if (r < 0)
                        goto fail;
                *ret_http = h;
                return 0;
        }

        /* Check the address now (string parsing, no I/O), so a bad
         * address is reported as such rather than as a failed request. */
        u = curl_url();
        if (!u) {
                r = -ENOMEM;
                goto fail;
        }
        uc = curl_url_set(u, CURLUPART_URL, h->addr, 0);
        curl_url_cleanup(u);
        if (uc != CURLUE_OK || (ve_ascii_strncasecmp(h->addr, "http://", 7) != 0 && ve_ascii_strncasecmp(h->addr, "https://", 8) != 0)) {
                r = -EINVAL;
                ve_set_error(ret_error, agent ?
                             ve_asprintf("VAULT_AGENT_ADDR: not an http://, https:// or unix:// URL: %s", h->addr) :
                             ve_asprintf("VAULT_ADDR: not an http:// or https:// URL: %s", h->addr));
                goto fail;
        }
        h->base_url = strdup(h->addr);
        if (!h->base_url) {
                r = -ENOMEM;
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
        free(h->unix_socket);
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
        /* The breaker's state stays (same Vault, same monotonic clock), but
         * a probe in flight is the parent's: the child may send its own. */
        h->br_probing = false;
        pthread_mutex_unlock(&h->lock);
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
        /* ptr is libcurl's receive buffer (the body of this answer: a
         * secret, a token), which it frees at the end of the transfer
         * without clearing it; the bytes would stay in freed heap memory
         * and so in a core dump. libcurl does not look at them again once
         * they are delivered (no content decoding, never paused). */
        explicit_bzero(ptr, n);
        return n;
}

/* What one attempt brings back besides status and body. */
struct attempt {
        CURLcode cc;
        char errbuf[CURL_ERROR_SIZE];
        char location[LOCATION_MAX];    /* Location header, "" if none */
        bool location_too_long;
        char retry_after[64];           /* Retry-After header, "" if none */
};

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

/* Creates and configures a handle (reads only what ve_http_new() set). */
static int handle_setup(struct ve_http *h, CURL **ret_curl, char **ret_error) {
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
         * does, to the same origin only (see follow_redirect()). */
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
 * other byte becomes %XX. The first '?' starts the query (mapfile.c allows
 * none in a path; vault.c adds "?version=N"), where '=' and '&' stay too. */
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
        for (const char *p = api_path, *q = strchr(api_path, '?'); *p; p++) {
                unsigned char c = (unsigned char) *p;

                if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_' || c == '~' || (c == '/' && (!q || p < q)) ||
                    p == q || (q && p > q && (c == '=' || c == '&')))
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


/* Maps a failed curl_easy_perform. errbuf is CURLOPT_ERRORBUFFER's text;
 * attempts > 1 is said in the message. */
static int curl_error(const struct ve_http *h, CURLcode cc, const char *errbuf,
                      const struct ve_http_response *resp, const char *user_path, unsigned attempts,
                      char **ret_error) {
        const char *why = errbuf && *errbuf ? errbuf : curl_easy_strerror(cc);
        char *msg = NULL, *d;
        int r;

        switch (cc) {
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
        case CURLE_COULDNT_CONNECT:
                msg = ve_asprintf("cannot reach Vault at %s: %s", h->addr, why);
                r = -ECONNREFUSED;
                break;
        case CURLE_OPERATION_TIMEDOUT:
                d = duration_text(h->timeout_ms);
                msg = ve_asprintf("no answer from Vault at %s within %s (VAULT_CLIENT_TIMEOUT): %s",
                                  h->addr, d ? d : "the timeout", why);
                free(d);
                r = -ETIMEDOUT;
                break;
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
                msg = ve_asprintf("TLS error talking to %s: %s", h->addr, why);
                r = -EPROTO;
                break;
        case CURLE_FILESIZE_EXCEEDED:
                msg = ve_asprintf("answer from Vault for %s is larger than 1 MiB", user_path);
                r = -EPROTO;
                break;
        case CURLE_WRITE_ERROR:
                if (!resp->too_large)
                        return -ENOMEM;
                msg = ve_asprintf("answer from Vault for %s is larger than 1 MiB", user_path);
                r = -EPROTO;
                break;
        case CURLE_OUT_OF_MEMORY:
                return -ENOMEM;
        default:
                msg = ve_asprintf("request to Vault at %s failed: %s", h->addr, why);
                r = -EIO;
                break;
        }
        if (msg && attempts > 1) {
                char *m = ve_asprintf("%s (%u attempts)", msg, attempts);

                if (m) {
                        free(msg);
                        msg = m;
                }
        }
        ve_set_error(ret_error, msg);
        return r;
}

/* ---- retries and redirects: the decisions ---- */

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

static bool is_http_scheme(const char *s) {
        return ve_ascii_strcasecmp(s, "http") == 0 || ve_ascii_strcasecmp(s, "https") == 0;
}

int ve_http_redirect_target(const char *request_url, const char *location,
                            char **ret_url, char **ret_foreign) {
        char *bs = NULL, *bh = NULL, *bp = NULL, *ds = NULL, *dh = NULL, *dp = NULL;
        char *user = NULL, *password = NULL, *url = NULL;
        CURLU *base = NULL, *dest = NULL;
        int r = -EINVAL;

        if (!request_url || !location || !*location || ve_has_control(location))
                return -EINVAL;
        base = curl_url();
        if (!base)
                return -ENOMEM;
        if (curl_url_set(base, CURLUPART_URL, request_url, 0) != CURLUE_OK)
                goto out;
        dest = curl_url_dup(base);
        if (!dest) {
                r = -ENOMEM;
                goto out;
        }
        /* A relative Location is resolved against the request's URL. */
        if (curl_url_set(dest, CURLUPART_URL, location, 0) != CURLUE_OK)
                goto out;
        if (curl_url_get(base, CURLUPART_SCHEME, &bs, 0) != CURLUE_OK ||
            curl_url_get(base, CURLUPART_HOST, &bh, 0) != CURLUE_OK ||
            curl_url_get(base, CURLUPART_PORT, &bp, CURLU_DEFAULT_PORT) != CURLUE_OK ||
            curl_url_get(dest, CURLUPART_SCHEME, &ds, 0) != CURLUE_OK ||
            curl_url_get(dest, CURLUPART_HOST, &dh, 0) != CURLUE_OK ||
            curl_url_get(dest, CURLUPART_PORT, &dp, CURLU_DEFAULT_PORT) != CURLUE_OK)
                goto out;
        if (!is_http_scheme(ds))
                goto out;
        (void) curl_url_get(dest, CURLUPART_USER, &user, 0);
        (void) curl_url_get(dest, CURLUPART_PASSWORD, &password, 0);
        if (ve_ascii_strcasecmp(bs, ds) != 0 || ve_ascii_strcasecmp(bh, dh) != 0 || strcmp(bp, dp) != 0 || user || password) {
                /* Scheme, host and port only: never a path, a query or user info. */
                r = -EPERM;
                if (ret_foreign) {
                        *ret_foreign = ve_asprintf("%s://%s:%s", ds, dh, dp);
                        if (!*ret_foreign)
                                r = -ENOMEM;
                }
                goto out;
        }
        if (curl_url_get(dest, CURLUPART_URL, &url, 0) != CURLUE_OK)
                goto out;
        *ret_url = strdup(url);
        r = *ret_url ? 0 : -ENOMEM;
out:
        curl_free(bs);
        curl_free(bh);
        curl_free(bp);
        curl_free(ds);
        curl_free(dh);
        curl_free(dp);
        curl_free(user);
        curl_free(password);
        curl_free(url);
        curl_url_cleanup(base);
        curl_url_cleanup(dest);
        return r;
}

/* As the Go client's DefaultRetryPolicy: 412 (Vault's answer when an
 * X-Vault-Index is not yet satisfied, and an agent's when the request
 * header is missing), 429, and 5xx except 501 (go-retryablehttp). */
static bool status_retryable(long status) {
        return status == 412 || status == 429 || status == 0 || (status >= 500 && status != 501);
}

/* Failures where no answer came and another attempt may get one: not TLS
 * or certificate failures, not an oversized answer, not local errors. */
static bool curl_retryable(CURLcode cc) {
        switch (cc) {
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

static bool status_redirect(long status) {
        return status == 301 || status == 302 || status == 307 || status == 308;
}

/* Go seeds its jitter from the clock too; this only spreads retries. */
static double jitter_random(void) {
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

/* Sleeps until the CLOCK_MONOTONIC time until_ms (as ve_now_ms()). */
static void sleep_until(uint64_t until_ms) {
        struct timespec ts = {
                .tv_sec = (time_t) (until_ms / 1000),
                .tv_nsec = (long) (until_ms % 1000) * 1000000L,
        };

        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
                ;
}

/* The next URL after a redirect answer, or -EPROTO and the message. */
static int follow_redirect(const struct ve_http *h, const char *url, const struct attempt *a, long status,
                           const char *user_path, unsigned hops, char **ret_url, char **ret_error) {
        char *target = NULL, *foreign = NULL;
        int r;

        if (hops > VE_HTTP_MAX_REDIRECTS) {
                ve_set_error(ret_error, ve_asprintf("too many redirects (more than %d) from Vault at %s for %s",
                                                    VE_HTTP_MAX_REDIRECTS, h->addr, user_path));
                return -EPROTO;
        }
        if (a->location_too_long) {
                ve_set_error(ret_error, ve_asprintf("Vault at %s redirected the request for %s (%ld) to a location longer than %d bytes; not following it",
                                                    h->addr, user_path, status, LOCATION_MAX - 1));
                return -EPROTO;
        }
        r = ve_http_redirect_target(url, a->location, &target, &foreign);
        if (r == -EPERM) {
                ve_set_error(ret_error, ve_asprintf("Vault at %s redirected the request for %s to another host (%s); not following it",
                                                    h->addr, user_path, foreign ? foreign : "?"));
                free(foreign);
                return -EPROTO;
        }
        if (r == -EINVAL) {
                ve_set_error(ret_error, ve_asprintf("Vault at %s redirected the request for %s (%ld) to an unusable location",
                                                    h->addr, user_path, status));
                return -EPROTO;
        }
        if (r < 0)
                return r;
        ve_info("%s: Vault at %s redirected the request (%ld) to the same host; following it", user_path, h->addr, status);
        *ret_url = target;
        return 0;
}

/* ---- one request ---- */

/* One HTTP exchange on a handle of its own: the lock is held only to take
 * the idle handle and to put it back, never across the exchange (another
 * thread's request, or a fork, must not wait for this one's network I/O).
 * remaining_ms bounds it (>= 1). 0 with the outcome in *a (a->cc) and, on
 * CURLE_OK, the answer in *resp; -errno only for local failures (setup,
 * memory). */
static int perform_once(struct ve_http *h, const char *method, const char *url, const char *body,
                        struct curl_slist *headers, uint64_t remaining_ms,
                        struct ve_http_response *resp, struct attempt *a, char **ret_error) {
        long timeout, connect_timeout;
        CURL *eh;
        int r = 0;

        pthread_mutex_lock(&h->lock);
        eh = h->curl;
        h->curl = NULL;
        pthread_mutex_unlock(&h->lock);
        if (!eh) {
                r = handle_setup(h, &eh, ret_error);
                if (r < 0)
                        return r;
        }
        timeout = remaining_ms > LONG_MAX ? LONG_MAX : (long) remaining_ms;
        if (timeout < 1)
                timeout = 1;
        connect_timeout = timeout < CONNECT_TIMEOUT_MAX_MS ? timeout : CONNECT_TIMEOUT_MAX_MS;

        a->errbuf[0] = 0;
        curl_easy_setopt(eh, CURLOPT_ERRORBUFFER, a->errbuf);
        curl_easy_setopt(eh, CURLOPT_URL, url);
        curl_easy_setopt(eh, CURLOPT_TIMEOUT_MS, timeout);
        curl_easy_setopt(eh, CURLOPT_CONNECTTIMEOUT_MS, connect_timeout);
        /* Reset to a GET, then shape the method: POST with a body (copied
         * by curl: POSTFIELDS points at the caller's buffer for the
         * request's duration only), or a custom verb (LIST, PUT, DELETE). */
        curl_easy_setopt(eh, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(eh, CURLOPT_CUSTOMREQUEST, NULL);
        if (body) {
                curl_easy_setopt(eh, CURLOPT_POSTFIELDS, body);
                curl_easy_setopt(eh, CURLOPT_POSTFIELDSIZE, (long) strlen(body));
        }
        if (strcmp(method, "GET") != 0 && !(body && strcmp(method, "POST") == 0))
                curl_easy_setopt(eh, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(eh, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(eh, CURLOPT_WRITEDATA, resp);
        curl_easy_setopt(eh, CURLOPT_HEADERDATA, a);
        a->cc = curl_easy_perform(eh);
        /* The handle must not keep pointers to what the caller frees. */
        curl_easy_setopt(eh, CURLOPT_HTTPHEADER, NULL);
        curl_easy_setopt(eh, CURLOPT_WRITEDATA, NULL);
        curl_easy_setopt(eh, CURLOPT_HEADERDATA, NULL);
        curl_easy_setopt(eh, CURLOPT_POSTFIELDS, NULL);
        curl_easy_setopt(eh, CURLOPT_CUSTOMREQUEST, NULL);
        curl_easy_setopt(eh, CURLOPT_ERRORBUFFER, NULL);
        if (a->cc == CURLE_OK)
                curl_easy_getinfo(eh, CURLINFO_RESPONSE_CODE, &resp->status);
        a->errbuf[sizeof a->errbuf - 1] = 0;
        /* Strip the newline some backends end the text with. */
        for (size_t n = strlen(a->errbuf); n > 0 && (a->errbuf[n - 1] == '\n' || a->errbuf[n - 1] == '\r'); )
                a->errbuf[--n] = 0;
        /* Back as the idle handle, unless another request's is there. */
        pthread_mutex_lock(&h->lock);
        if (!h->curl) {
                h->curl = eh;
                eh = NULL;
        }
        pthread_mutex_unlock(&h->lock);
        if (eh)
                curl_easy_cleanup(eh);
        return r;
}

static int build_headers(const struct ve_http *h, const char *token, bool has_body,
                         struct curl_slist **headers, char **ret_token_header, char **ret_ns_header) {
        int r;

        r = slist_add(headers, "X-Vault-Request: true");
        if (r < 0)
                return r;
        if (token) {
                /* Exactly sized, not ve_asprintf(): vasprintf() formats
                 * into a larger block and reallocs it to fit, leaving a
                 * copy of the token in freed memory that nobody wipes. */
                static const char name[] = "X-Vault-Token: ";
                size_t n = strlen(token);

                *ret_token_header = malloc(sizeof name + n);
                if (!*ret_token_header)
                        return -ENOMEM;
                memcpy(*ret_token_header, name, sizeof name - 1);
                memcpy(*ret_token_header + sizeof name - 1, token, n + 1);
                r = slist_add(headers, *ret_token_header);
                if (r < 0)
                        return r;
        }
        if (has_body) {
                r = slist_add(headers, "Content-Type: application/json");
                if (r < 0)
                        return r;
        }
        if (h->namespace) {
                *ret_ns_header = ve_asprintf("X-Vault-Namespace: %s", h->namespace);
                if (!*ret_ns_header)
                        return -ENOMEM;
                r = slist_add(headers, *ret_ns_header);
                if (r < 0)
                        return r;
        }
        if (h->host_header) {
                r = slist_add(headers, h->host_header);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- the circuit breaker ---- */

/* What the failure cc that opened the breaker says of Vault (heap). */
static char *breaker_why(const struct ve_http *h, CURLcode cc) {
        char *d, *s;

        if (cc != CURLE_OPERATION_TIMEDOUT)
                return ve_asprintf("cannot be reached (%s)", curl_easy_strerror(cc));
        d = duration_text(h->timeout_ms);
        s = ve_asprintf("did not answer (timeout after %s)", d ? d : "VAULT_CLIENT_TIMEOUT");
        free(d);
        return s;
}

/* Whether a request may go out: 0, 1 for the probe of a half-open
 * breaker, or the -errno of the failure that opened it (-ETIMEDOUT,
 * -ECONNREFUSED) and a one-line reason: skipped. The first skip of a window
 * logs the one line that says so. */
static int breaker_admit(struct ve_http *h, char **ret_error) {
        uint64_t now, left = 0;
        bool skip = false, tell = false;
        int verdict = 0;
        CURLcode cc;
        char *why;

        if (!h->breaker_window_ms)
                return 0;
        now = h->now_ms();
        pthread_mutex_lock(&h->lock);
        if (h->br_open) {
                if (!h->br_probing && now >= h->br_until) {
                        h->br_probing = true;
                        verdict = 1;
                } else {
                        skip = true;
                        tell = !h->br_told && !h->br_probing;
                        h->br_told = true;
                        left = h->br_until > now ? h->br_until - now : 0;
                }
        }
        cc = h->br_cc;
        pthread_mutex_unlock(&h->lock);
        if (!skip)
                return verdict;

        why = breaker_why(h, cc);
        if (tell)
                ve_warn("Vault at %s %s; not asking again for %llus", h->addr, why ? why : "failed",
                        (unsigned long long) ((left + 999) / 1000));
        ve_set_error(ret_error, ve_asprintf("not asked (circuit breaker): Vault at %s %s", h->addr,
                                            why ? why : "failed"));
        free(why);
        return cc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -ECONNREFUSED;
}

/* The outcome r of a request that went out (probe: the one of a half-open
 * breaker): no answer (-ETIMEDOUT, -ECONNREFUSED) opens a window; anything
 * Vault's end did (an answer, a dropped connection, TLS) closes it; a local
 * failure (-ENOMEM) leaves it as it is. */
static void breaker_record(struct ve_http *h, bool probe, int r, CURLcode cc) {
        uint64_t now;

        if (!h->breaker_window_ms)
                return;
        now = h->now_ms();
        pthread_mutex_lock(&h->lock);
        if (r == -ETIMEDOUT || r == -ECONNREFUSED) {
                if (!h->br_open || probe)
                        h->br_told = false;     /* a new window */
                h->br_open = true;
                h->br_until = now + h->breaker_window_ms;
                h->br_cc = cc;
        } else if (r == 0 || r == -EIO || r == -EPROTO)
                h->br_open = false;
        if (probe)
                h->br_probing = false;
        pthread_mutex_unlock(&h->lock);
}

/* The attempts (retries, redirects) of one request. The lock is taken per
 * attempt by perform_once(); the waits between attempts hold nothing. */
int ve_http_request(struct ve_http *h, const char *method, const char *api_path, const char *body,
                    const char *token, const char *user_path,
                    struct ve_http_response *ret, char **ret_error) {
        struct ve_http_response resp = {};
        struct curl_slist *headers = NULL;
        char *url = NULL, *token_header = NULL, *ns_header = NULL;
        struct attempt *a = NULL;
        unsigned retries = 0, hops = 0;
        uint64_t deadline;
        bool probe;
        int r;

        if (token && ve_has_control(token)) {
                ve_set_error(ret_error, strdup("the Vault token contains a control character; not sending it"));
                return -EACCES;
        }
        r = breaker_admit(h, ret_error);
        if (r < 0)
                return r;
        probe = r == 1;
        /* One deadline for every attempt and wait: VAULT_CLIENT_TIMEOUT. */
        deadline = ve_now_ms() + h->timeout_ms;

        url = url_for(h, api_path);
        a = calloc(1, sizeof *a);
        if (!url || !a) {
                r = -ENOMEM;
                goto out;
        }
        r = build_headers(h, token, body != NULL, &headers, &token_header, &ns_header);
        if (r < 0)
                goto out;

        for (;;) {
                uint64_t now = ve_now_ms(), wait = 0;
                bool retryable, from_header = false;
                char *reason, *d;

                ve_http_response_done(&resp);
                a->cc = CURLE_OK;
                a->errbuf[0] = a->location[0] = a->retry_after[0] = 0;
                a->location_too_long = false;
                r = perform_once(h, method, url, body, headers, deadline > now ? deadline - now : 1,
                                 &resp, a, ret_error);
                if (r < 0)
                        goto out;

                if (a->cc == CURLE_OK && status_redirect(resp.status) && (a->location[0] || a->location_too_long)) {
                        char *next = NULL;

                        r = follow_redirect(h, url, a, resp.status, user_path, ++hops, &next, ret_error);
                        if (r < 0)
                                goto out;
                        free(url);
                        url = next;
                        continue;
                }

                retryable = a->cc == CURLE_OK ? status_retryable(resp.status) : curl_retryable(a->cc);
                if (!retryable || retries >= h->max_retries)
                        break;

                if (a->cc == CURLE_OK && (resp.status == 429 || resp.status == 503) && a->retry_after[0] &&
                    ve_http_retry_after_ms(a->retry_after, time(NULL), &wait) == 0)
                        from_header = true;
                else
                        wait = ve_http_backoff_ms(retries, h->retry_min_ms, h->retry_max_ms, jitter_random());

                /* Said at info, naming the reason: a status or libcurl's
                 * text, never a body. */
                reason = a->cc == CURLE_OK ? ve_asprintf("HTTP status %ld", resp.status) :
                         strdup(a->errbuf[0] ? a->errbuf : curl_easy_strerror(a->cc));
                d = duration_text(wait);
                now = ve_now_ms();
                if (wait >= deadline - (now < deadline ? now : deadline)) {
                        ve_info("%s: %s from Vault at %s; not retrying: waiting %s%s would pass VAULT_CLIENT_TIMEOUT",
                                user_path, reason ? reason : "failure", h->addr, d ? d : "longer",
                                from_header ? " (Retry-After)" : "");
                        free(reason);
                        free(d);
                        break;
                }
                ve_info("%s: %s from Vault at %s; retry %u of %u in %s%s",
                        user_path, reason ? reason : "failure", h->addr, retries + 1, h->max_retries,
                        d ? d : "a moment", from_header ? " (Retry-After)" : "");
                free(reason);
                free(d);
                ve_http_response_done(&resp);
                sleep_until(now + wait);
                retries++;
        }

        if (a->cc != CURLE_OK) {
                r = curl_error(h, a->cc, a->errbuf, &resp, user_path, retries + 1, ret_error);
                ve_debug("%s /v1/%s: %s", method, api_path, curl_easy_strerror(a->cc));
                goto out;
        }
        ve_debug("%s /v1/%s: %ld", method, api_path, resp.status);
        *ret = resp;
        resp = (struct ve_http_response) {};
        r = 0;
out:
        breaker_record(h, probe, r, a ? a->cc : CURLE_OK);
        ve_http_response_done(&resp);
        slist_erase_free(headers);
        ve_erase_free(token_header);
        free(ns_header);
        free(url);
        free(a);
        return r;
}

const char *ve_http_addr(const struct ve_http *h) {
        return h->addr;
}

void ve_http_set_clock(struct ve_http *h, uint64_t (*now_ms)(void)) {
        if (h && now_ms)
                h->now_ms = now_ms;
}

void ve_http_set_retry_wait(struct ve_http *h, uint64_t min_ms, uint64_t max_ms) {
        h->retry_min_ms = min_ms;
        h->retry_max_ms = max_ms;
}
