/* SPDX-License-Identifier: MIT */
/* The token and its life. See auth.h.
 *
 * Locking: a->lock guards the token; ve_auth_token() holds it while it reads
 * the token file (local I/O), never across an HTTP request. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "log.h"
#include "util.h"

#define TOKEN_FILE_MAX (64 * 1024)

struct ve_auth {
        struct ve_http *http;           /* borrowed: for logins */
        char *token_file;

        pthread_mutex_t lock;
        char *token;                    /* guarded; NULL: none */
        bool token_loaded;              /* guarded */
};

int ve_auth_new(const struct ve_settings *settings, struct ve_http *http,
                struct ve_auth **ret_auth, char **ret_error) {
        struct ve_auth *a;

        a = calloc(1, sizeof *a);
        if (!a)
                return -ENOMEM;
        pthread_mutex_init(&a->lock, NULL);
        a->http = http;
        if ((settings->token && !(a->token = strdup(settings->token))) ||
            (settings->token_file && !(a->token_file = strdup(settings->token_file)))) {
                ve_auth_free(a);
                return -ENOMEM;
        }
        /* VAULT_TOKEN wins; the token file is read by the first request. */
        a->token_loaded = a->token != NULL;
        *ret_auth = a;
        return 0;
}

void ve_auth_free(struct ve_auth *a) {
        if (!a)
                return;
        ve_erase_free(a->token);
        free(a->token_file);
        pthread_mutex_destroy(&a->lock);
        free(a);
}

/* Reads the token file on first use. Called with lock held. A missing file
 * means no token (a Vault Agent may authenticate for us); another failure is
 * logged and also means no token. Surrounding whitespace is trimmed, as the
 * vault CLI's token helper does. */
static void token_load(struct ve_auth *a) {
        char *data = NULL;
        size_t len = 0, s = 0, e;
        int r;

        if (a->token_loaded)
                return;
        a->token_loaded = true;
        if (!a->token_file)
                return;
        r = ve_read_file(a->token_file, TOKEN_FILE_MAX, &data, &len);
        if (r == -ENOENT) {
                ve_debug("no token file at %s; sending no token", a->token_file);
                return;
        }
        if (r < 0) {
                ve_warn("cannot read token file %s: %s; sending no token", a->token_file, strerror(-r));
                return;
        }
        e = len;
        while (s < e && (data[s] == ' ' || data[s] == '\t' || data[s] == '\n' || data[s] == '\r'))
                s++;
        while (e > s && (data[e - 1] == ' ' || data[e - 1] == '\t' || data[e - 1] == '\n' || data[e - 1] == '\r'))
                e--;
        if (e > s) {
                a->token = strndup(data + s, e - s);
                if (!a->token)
                        ve_warn("out of memory reading token file %s", a->token_file);
        }
        ve_erase_free_n(data, len);
}

int ve_auth_token(struct ve_auth *a, char **ret_token, char **ret_error) {
        char *t = NULL;

        pthread_mutex_lock(&a->lock);
        token_load(a);
        if (a->token && !(t = strdup(a->token))) {
                pthread_mutex_unlock(&a->lock);
                return -ENOMEM;
        }
        pthread_mutex_unlock(&a->lock);
        *ret_token = t;
        return 0;
}

bool ve_auth_rejected(struct ve_auth *a, const char *token) {
        /* A static token cannot be renewed by logging in again. */
        return false;
}

void ve_auth_atfork_child(struct ve_auth *a) {
        if (a)
                pthread_mutex_init(&a->lock, NULL);
}

int ve_auth_revoke(struct ve_auth *a) {
        /* A token this process was given is not its to revoke. */
        return 0;
}
