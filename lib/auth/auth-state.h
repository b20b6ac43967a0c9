/* SPDX-License-Identifier: MIT */
#pragma once
/* The token and its life (auth.c, token.c, renew.c, sink.c). See auth.h;
 * the login methods are in auth_*.c.
 *
 * Where the token comes from (ve_auth_detect, doc/authentication.md):
 * VAULT_TOKEN or a token file, which are used as given, or a login
 * (approle, kubernetes, jwt, cert), whose token has a TTL that is tracked:
 * once 2/3 of it has passed, the next ve_auth_token() renews it
 * (auth/token/renew-self), or logs in again when it is not renewable, the
 * renewal failed or the max TTL capped the renewal. Before every login the
 * token sink (VAULTENV_TOKEN_SINK) is tried: a token another shim of this
 * user wrote there is used when lookup-self accepts it; after a login of
 * its own, the shim writes its token there. So a child (or a later
 * process) needs no login of its own, which matters for single-use secret
 * ids. The token never goes into a child's environment. An AppRole child
 * whose parent kept VAULT_SECRET_ID from it (VAULTENV_SCRUB) has nothing
 * to log in with: with a sink it is set up all the same and uses the
 * sink's token, or fails with one line naming the sink and what is wrong
 * with it (ve_auth_missing_credential(), a->no_credential).
 *
 * Locking: a->lock guards the fields marked "guarded". A refresh (renewal,
 * sink, login: HTTP requests) is single-flight: the thread that finds a
 * refresh due sets a->busy and makes the requests with no lock held; other
 * threads keep using the current token while it is still valid, or wait on
 * a->cond for the outcome. The login-side state (a->cfg, and the sink file)
 * is only touched by the thread that set busy. The token file of the token
 * method is read under the lock: local I/O, no network. Across processes,
 * "adopt the sink's token or log in and write it" is single-flight too: an
 * flock() on SINK.lock (ve_sink_flight_lock()), taken with no mutex held. */

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "auth-internal.h"

enum source {
        SRC_NONE,
        SRC_GIVEN,      /* VAULT_TOKEN */
        SRC_FILE,       /* the token file */
        SRC_LOGIN,      /* this process logged in (see owner) */
        SRC_SINK,       /* adopted from VAULTENV_TOKEN_SINK */
        SRC_RENEWED,    /* only as the outcome of a refresh: the same token, renewed */
};

struct ve_auth {
        struct ve_http *http;           /* borrowed */
        struct ve_auth_config cfg;      /* login side (see above) */
        char *token_file;               /* token method */
        bool token_file_explicit;
        bool agent;                     /* VAULT_AGENT_ADDR is set */
        char *sink;                     /* VAULTENV_TOKEN_SINK */
        uint64_t flight_wait_ms;        /* how long to wait for another process's login */
        /* The sink's lock file while this process holds it (else -1): only
         * the refreshing thread sets it; a forked child closes its copy. */
        atomic_int flight_fd;
        const char *no_credential;      /* missing_credential(): no login, only the sink's token */
        uint64_t (*now)(void);

        pthread_mutex_t lock;
        pthread_cond_t cond;
        /* guarded: */
        char *token;                    /* NULL: none (yet) */
        enum source source;
        bool file_loaded;
        bool source_said;               /* the token method's source was logged */
        char *file_refused;             /* the token file failed the trust checks: why (no request is made) */
        bool busy;                      /* a refresh is in flight */
        uint64_t refresh_at;            /* ms; 0: never */
        uint64_t expires_at;            /* ms; 0: never */
        uint64_t full_ttl_s;            /* what a renewal should give back */
        bool renewable;
        bool relogin;                   /* a renewal was capped by the max TTL: log in next time */
        pid_t owner;                    /* SRC_LOGIN: the process that logged in */
        char *rejected;                 /* the last token Vault refused: never adopted again */
        int fail_r;                     /* the last refresh failed: its error, until fail_until */
        char *fail_msg;
        uint64_t fail_until;
};

static inline bool streq_opt(const char *x, const char *y) {
        return x && y && strcmp(x, y) == 0;
}

/* sink.c. The sink's token: 0, or -errno and in *ret_why what is wrong
 * with it, worded to follow its name ("is a symbolic link"; -ENODATA: "is
 * empty"). */
int ve_sink_read(const char *path, char **ret_token, char **ret_why);
/* Writes token to the sink atomically (a 0600 file renamed over it);
 * flight: this process holds the sink's lock. Failures are warned. */
void ve_sink_write(const char *path, const char *token, bool flight);
/* Removes the sink when it still holds token. */
void ve_sink_remove_if(const char *path, const char *token);
/* The cross-process single flight on SINK.lock: the locked descriptor, or
 * -1 when the flight goes on without it (logged). */
int ve_sink_flight_lock(struct ve_auth *a);
void ve_sink_flight_unlock(struct ve_auth *a, int fd);

/* renew.c: lookup-self and renew-self with token, and adopting the sink's
 * token. See there. */
int ve_auth_lookup_self(struct ve_auth *a, const char *token, struct ve_auth_grant *ret, char **ret_error);
int ve_auth_renew_self(struct ve_auth *a, const char *token, struct ve_auth_grant *ret, char **ret_error);
int ve_auth_sink_adopt(struct ve_auth *a, const char *skip1, const char *skip2, bool login_follows,
                       char **io_dead, struct ve_auth_grant *ret, char **ret_why);
