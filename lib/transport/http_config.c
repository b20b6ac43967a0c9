/* SPDX-License-Identifier: MIT */
/* A transport's configuration: ve_http_new() takes the address (VAULT_ADDR
 * or VAULT_AGENT_ADDR, a unix socket, VAULT_TLS_SERVER_NAME), the TLS files,
 * the proxy, the namespace, the timeout, the retries and the breaker's
 * window from the settings and checks them, with no I/O; the test hooks and
 * ve_http_free(). See http.h, and http-internal.h for the locks. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include <curl/curl.h>

#include "http-internal.h"
#include "log.h"
#include "util.h"

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

/* An http:// or https:// address: checked now (string parsing, no I/O),
 * so that a bad address is reported as such rather than as a failed
 * request; then VAULT_TLS_SERVER_NAME (server_name), if given. */
static int setup_http_addr(struct ve_http *h, bool agent, const char *server_name, char **ret_error) {
        CURLUcode uc;
        CURLU *u;

        u = curl_url();
        if (!u)
                return -ENOMEM;
        uc = curl_url_set(u, CURLUPART_URL, h->addr, 0);
        curl_url_cleanup(u);
        if (uc != CURLUE_OK || (ve_ascii_strncasecmp(h->addr, "http://", 7) != 0 && ve_ascii_strncasecmp(h->addr, "https://", 8) != 0)) {
                ve_set_error(ret_error, agent ?
                             ve_asprintf("VAULT_AGENT_ADDR: not an http://, https:// or unix:// URL: %s", h->addr) :
                             ve_asprintf("VAULT_ADDR: not an http:// or https:// URL: %s", h->addr));
                return -EINVAL;
        }
        h->base_url = strdup(h->addr);
        if (!h->base_url)
                return -ENOMEM;
        if (server_name && *server_name)
                return setup_server_name(h, server_name, ret_error);
        return 0;
}

int ve_http_new(const struct ve_settings *settings, struct ve_http **ret_http, char **ret_error) {
        struct ve_http *h;
        const char *addr;
        bool agent;
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
        h->breaker.window_ms = settings->breaker_window_ms;
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
        if (agent && ve_ascii_strncasecmp(h->addr, "unix://", 7) == 0)
                r = setup_unix_socket(h, ret_error);
        else
                r = setup_http_addr(h, agent, settings->tls_server_name, ret_error);
        if (r < 0)
                goto fail;
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
        if (h->multi)
                curl_multi_cleanup(h->multi);
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
