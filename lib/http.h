/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "settings.h"

/* The HTTP transport to Vault: one libcurl easy handle (keep-alive),
 * created by the first request, configured from the VAULT_* settings (TLS,
 * timeouts, proxy, namespace). Any thread may call in: a mutex is held for
 * exactly one request. Knows nothing of tokens beyond sending the one it
 * is given, nor of what the paths mean. */

struct ve_http;

struct ve_http_response {
        long status;
        char *body;             /* not NUL-terminated; wiped by ve_http_response_done() */
        size_t len, cap;
        bool too_large;
};

/* Copies what it needs from settings; checks VAULT_ADDR and friends. No I/O.
 * -EINVAL with a message for a bad address, server name or namespace. */
int ve_http_new(const struct ve_settings *settings, struct ve_http **ret_http, char **ret_error);
void ve_http_free(struct ve_http *h);

/* In a forked child: abandon (never clean up) the parent's handle and
 * connection, and make the lock anew. */
void ve_http_atfork_child(struct ve_http *h);

/* One request to ADDR/v1/API_PATH. method: "GET", "POST", "PUT", "DELETE",
 * "LIST". body: a JSON text or NULL (it may hold a secret: the caller wipes
 * it; the transport keeps no copy). token: sent as X-Vault-Token when not
 * NULL. user_path names the thing in messages. Returns 0 and the answer
 * (whatever its status) in *ret, or -errno and a one-line message when no
 * answer came (see vault.h for the errno values of network and TLS
 * failures). */
int ve_http_request(struct ve_http *h, const char *method, const char *api_path, const char *body,
                    const char *token, const char *user_path,
                    struct ve_http_response *ret, char **ret_error);
void ve_http_response_done(struct ve_http_response *r);

/* VAULT_ADDR as given (no trailing '/'), for messages. */
const char *ve_http_addr(const struct ve_http *h);
