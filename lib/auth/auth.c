/* SPDX-License-Identifier: MIT */
/* The token and its life. See auth.h; the methods are in auth_*.c.
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
 * with it (missing_credential(), a->no_credential).
 *
 * Locking: a->lock guards the fields marked "guarded". A refresh (renewal,
 * sink, login: HTTP requests) is single-flight: the thread that finds a
 * refresh due sets a->busy and makes the requests with no lock held; other
 * threads keep using the current token while it is still valid, or wait on
 * a->cond for the outcome. The login-side state (a->cfg, and the sink file)
 * is only touched by the thread that set busy. The token file of the token
 * method is read under the lock: local I/O, no network. Across processes,
 * "adopt the sink's token or log in and write it" is single-flight too: an
 * flock() on SINK.lock (flight_lock()), taken with no mutex held. */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth-internal.h"
#include "auth.h"
#include "log.h"
#include "util.h"
#include "vault_json.h"

#define CREDENTIAL_FILE_MAX (64 * 1024)
/* After a failed login, callers get the same error for this long instead
 * of each trying again (and e.g. each using up a single-use credential). */
#define FAIL_HOLD_MS (5 * 1000)

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

/* ---- small helpers shared with the methods ---- */

char *ve_auth_secret_dup(const char *s) {
        static atomic_flag warned = ATOMIC_FLAG_INIT;
        char *d;

        if (!s)
                return NULL;
        d = ve_secure_strdup(s);
        if (d)
                return d;
        /* The arena cannot grow (mmap() failed): the heap will do, wiped
         * when freed (ve_auth_secret_free()). Said once. */
        d = strdup(s);
        if (d && !atomic_flag_test_and_set(&warned))
                ve_warn("cannot get memory excluded from core dumps; keeping Vault credentials on the heap");
        return d;
}

void ve_auth_secret_free(char *s) {
        if (!s)
                return;
        if (ve_secure_owns(s))
                ve_secure_free(s);
        else
                ve_erase_free(s);
}

const char *ve_auth_method_name(enum ve_auth_method m) {
        switch (m) {
        case VE_AUTH_TOKEN:
                return "token";
        case VE_AUTH_APPROLE:
                return "approle";
        case VE_AUTH_KUBERNETES:
                return "kubernetes";
        case VE_AUTH_JWT:
                return "jwt";
        case VE_AUTH_CERT:
                return "cert";
        }
        return "?";
}

void ve_auth_grant_done(struct ve_auth_grant *g) {
        if (!g)
                return;
        ve_auth_secret_free(g->token);
        *g = (struct ve_auth_grant) {};
}

static size_t json_escaped_len(const char *s) {
        size_t n = 0;

        for (; *s; s++) {
                unsigned char c = (unsigned char) *s;

                if (c == '"' || c == '\\')
                        n += 2;
                else if (c < 0x20)
                        n += 6;
                else
                        n++;
        }
        return n;
}

static char *json_escape_to(char *o, const char *s) {
        static const char hex[] = "0123456789abcdef";

        *o++ = '"';
        for (; *s; s++) {
                unsigned char c = (unsigned char) *s;

                if (c == '"' || c == '\\') {
                        *o++ = '\\';
                        *o++ = (char) c;
                } else if (c < 0x20) {
                        memcpy(o, "\\u00", 4);
                        o[4] = hex[c >> 4];
                        o[5] = hex[c & 15];
                        o += 6;
                } else
                        *o++ = (char) c;
        }
        *o++ = '"';
        return o;
}

char *ve_auth_json_object(size_t n, const char *const *kv) {
        size_t size = 3;        /* { } NUL */
        char *buf, *o;
        bool first = true;

        for (size_t i = 0; i < n; i++)
                if (kv[2 * i + 1])
                        size += json_escaped_len(kv[2 * i]) + json_escaped_len(kv[2 * i + 1]) + 6;
        buf = malloc(size);
        if (!buf)
                return NULL;
        o = buf;
        *o++ = '{';
        for (size_t i = 0; i < n; i++) {
                if (!kv[2 * i + 1])
                        continue;
                if (!first)
                        *o++ = ',';
                first = false;
                o = json_escape_to(o, kv[2 * i]);
                *o++ = ':';
                o = json_escape_to(o, kv[2 * i + 1]);
        }
        *o++ = '}';
        *o = 0;
        return buf;
}

/* A number of seconds in block (absent or null: 0). -EPROTO with a reason
 * when it is of another type. */
static int json_seconds(const cJSON *block, const char *name, const char *key, uint64_t *ret, char **ret_why) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(block, key);

        if (!n || cJSON_IsNull(n)) {
                *ret = 0;
                return 0;
        }
        if (!cJSON_IsNumber(n)) {
                ve_set_error(ret_why, ve_asprintf("%s.%s in the answer from Vault is not a number", name, key));
                return -EPROTO;
        }
        if (n->valuedouble <= 0)
                *ret = 0;
        else if (n->valuedouble > 1e12)
                *ret = (uint64_t) 1e12;
        else
                *ret = (uint64_t) n->valuedouble;
        return 0;
}

int ve_auth_parse_grant(const char *body, size_t len, bool lookup, struct ve_auth_grant *ret, char **ret_why) {
        const char *name = lookup ? "data" : "auth", *token = NULL;
        struct ve_auth_grant g = {};
        const cJSON *block, *renewable;
        cJSON *root = NULL;
        char *field = NULL;
        int r;

        if (!body) {
                ve_set_error(ret_why, strdup("no answer from Vault"));
                return -EPROTO;
        }
        r = ve_vault_parse_json(body, len, &root, ret_why);
        if (r < 0)
                return r;
        block = cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, name) : NULL;
        if (!cJSON_IsObject(block)) {
                ve_set_error(ret_why, ve_asprintf("the answer from Vault holds no %s block", name));
                r = -EPROTO;
                goto out;
        }
        field = ve_asprintf("%s.%s", name, lookup ? "id" : "client_token");
        if (!field) {
                r = -ENOMEM;
                goto out;
        }
        /* A token with an escaped NUL, or of another type, is refused:
         * never a shortened token. */
        r = ve_vault_json_string(block, lookup ? "id" : "client_token", field, &token, ret_why);
        if (r < 0)
                goto out;
        if (token && ve_has_control(token)) {
                /* It goes into an HTTP header. */
                ve_set_error(ret_why, ve_asprintf("%s in the answer from Vault contains a control character", field));
                r = -EPROTO;
                goto out;
        }
        r = json_seconds(block, name, lookup ? "ttl" : "lease_duration", &g.ttl_s, ret_why);
        if (r < 0)
                goto out;
        if (lookup) {
                r = json_seconds(block, name, "creation_ttl", &g.full_ttl_s, ret_why);
                if (r < 0)
                        goto out;
        } else
                g.full_ttl_s = g.ttl_s;
        if (g.full_ttl_s < g.ttl_s)
                g.full_ttl_s = g.ttl_s;
        renewable = cJSON_GetObjectItemCaseSensitive(block, "renewable");
        if (renewable && !cJSON_IsNull(renewable) && !cJSON_IsBool(renewable)) {
                ve_set_error(ret_why, ve_asprintf("%s.renewable in the answer from Vault is not a boolean", name));
                r = -EPROTO;
                goto out;
        }
        g.renewable = cJSON_IsTrue(renewable);
        if (token && token[0] && !(g.token = ve_auth_secret_dup(token))) {
                r = -ENOMEM;
                goto out;
        }
        *ret = g;
        r = 0;
out:
        free(field);
        ve_vault_json_free(root);
        return r;
}

int ve_auth_parse_data_string(const char *body, size_t len, const char *key, char **ret_value, char **ret_why) {
        const char *v = NULL;
        cJSON *root = NULL;
        char *name, *s;
        int r;

        if (!body) {
                ve_set_error(ret_why, strdup("no answer from Vault"));
                return -EPROTO;
        }
        r = ve_vault_parse_json(body, len, &root, ret_why);
        if (r < 0)
                return r;
        name = ve_asprintf("data.%s", key);
        if (!name) {
                r = -ENOMEM;
                goto out;
        }
        r = ve_vault_json_string(cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "data") : NULL,
                                 key, name, &v, ret_why);
        if (r < 0)
                goto out;
        if (!v || !v[0]) {
                ve_set_error(ret_why, ve_asprintf("the answer from Vault holds no %s", name));
                r = -ENOENT;
                goto out;
        }
        s = strdup(v);
        if (!s) {
                r = -ENOMEM;
                goto out;
        }
        *ret_value = s;
        r = 0;
out:
        free(name);
        ve_vault_json_free(root);
        return r;
}

/* Reads an open file whole (at most CREDENTIAL_FILE_MAX) and trims
 * surrounding whitespace. -ENODATA when nothing is left. */
static int read_fd_trimmed(int fd, char **ret_value) {
        char *buf, *v;
        size_t len = 0, s = 0, e;
        int r = 0;

        buf = malloc(CREDENTIAL_FILE_MAX + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n = read(fd, buf + len, CREDENTIAL_FILE_MAX + 1 - len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        r = -errno;
                        goto out;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
                if (len > CREDENTIAL_FILE_MAX) {
                        r = -EFBIG;
                        goto out;
                }
        }
        e = len;
        while (s < e && (buf[s] == ' ' || buf[s] == '\t' || buf[s] == '\n' || buf[s] == '\r'))
                s++;
        while (e > s && (buf[e - 1] == ' ' || buf[e - 1] == '\t' || buf[e - 1] == '\n' || buf[e - 1] == '\r'))
                e--;
        if (e == s) {
                r = -ENODATA;
                goto out;
        }
        buf[e] = 0;
        v = ve_auth_secret_dup(buf + s);
        if (!v) {
                r = -ENOMEM;
                goto out;
        }
        *ret_value = v;
out:
        ve_erase_free_n(buf, CREDENTIAL_FILE_MAX + 1);
        return r;
}

static void warn_mode(const char *path, const char *var, const struct stat *st) {
        if (S_ISREG(st->st_mode) && (st->st_mode & (S_IRGRP | S_IROTH)))
                ve_warn("%s (%s) is readable by group or others (mode %04o); it holds a credential",
                        path, var, (unsigned) (st->st_mode & 07777));
}

/* A refused credential file is an error the user must see (not only the
 * warning a fallback gives): logged once, until the refusal changes. */
static pthread_mutex_t refusal_lock = PTHREAD_MUTEX_INITIALIZER;

static void refusal_log(const char *msg) {
        static char last[512];
        bool again;

        if (!msg)
                return;
        pthread_mutex_lock(&refusal_lock);
        again = strncmp(last, msg, sizeof last - 1) == 0;
        if (!again)
                snprintf(last, sizeof last, "%s", msg);
        pthread_mutex_unlock(&refusal_lock);
        if (!again)
                ve_error("%s", msg);
}

int ve_auth_read_credential(const char *path, const char *var, char **ret_value, char **ret_error) {
        struct stat st;
        int fd, r;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                r = -errno;
                ve_set_error(ret_error, ve_asprintf("cannot read %s (%s): %s", path, var, strerror(-r)));
                return r;
        }
        r = fstat(fd, &st) < 0 ? -errno : S_ISDIR(st.st_mode) ? -EISDIR : 0;
        if (r < 0) {
                ve_set_error(ret_error, ve_asprintf("cannot read %s (%s): %s", path, var, strerror(-r)));
                close(fd);
                return r;
        }
        {
                /* Checked on the opened descriptor: a symbolic link's
                 * target, and no window between check and read. */
                char *why = NULL;

                r = ve_file_trust_check(&st, &why);
                if (r < 0) {
                        char *m = why ? ve_asprintf("%s (%s) %s; refusing to use it", path, var, why) : NULL;

                        refusal_log(m);
                        ve_set_error(ret_error, m);
                        free(why);
                        close(fd);
                        return r;
                }
        }
        warn_mode(path, var, &st);
        r = read_fd_trimmed(fd, ret_value);
        close(fd);
        if (r == -ENODATA)
                ve_set_error(ret_error, ve_asprintf("%s (%s) is empty", path, var));
        else if (r == -EFBIG)
                ve_set_error(ret_error, ve_asprintf("%s (%s) is larger than 64 KiB", path, var));
        else if (r < 0 && r != -ENOMEM)
                ve_set_error(ret_error, ve_asprintf("cannot read %s (%s): %s", path, var, strerror(-r)));
        return r;
}

static int status_errno(long status) {
        switch (status) {
        case 400:
        case 401:
        case 403:
                return -EACCES;
        case 429:
        case 503:
                return -EAGAIN;
        default:
                return -EIO;
        }
}

char *ve_auth_refusal(const char *what, const struct ve_http_response *resp) {
        char *text, *m;

        text = ve_vault_errors_text(resp->body, resp->len);
        if (text && resp->status == 400 && strcmp(text, "missing client token") == 0)
                /* What Vault says to a login at a path where nothing is mounted. */
                m = ve_asprintf("%s failed: missing client token (is the auth method mounted there? "
                                "VAULT_AUTH_PATH names its path)", what);
        else if (text)
                m = ve_asprintf("%s failed: %s", what, text);
        else
                m = ve_asprintf("%s failed: HTTP status %ld", what, resp->status);
        free(text);
        return m;
}

int ve_auth_login_post(const struct ve_auth_config *c, struct ve_http *http, const char *body,
                       struct ve_auth_grant *ret, char **ret_error) {
        struct ve_http_response resp = {};
        struct ve_auth_grant g = {};
        char *path, *what, *why = NULL;
        int r;

        path = ve_asprintf("auth/%s/login", c->mount);
        what = ve_asprintf("%s login at auth/%s/login", ve_auth_method_name(c->method), c->mount);
        if (!path || !what) {
                r = -ENOMEM;
                goto out;
        }
        r = ve_http_request(http, "POST", path, body, NULL, path, &resp, ret_error);
        if (r < 0)
                goto out;
        if (resp.status != 200) {
                ve_set_error(ret_error, ve_auth_refusal(what, &resp));
                r = status_errno(resp.status);
                goto out;
        }
        r = ve_auth_parse_grant(resp.body, resp.len, false, &g, &why);
        if (r == 0 && !g.token) {
                ve_auth_grant_done(&g);
                why = strdup("the answer holds no auth.client_token");
                r = -EPROTO;
        }
        if (r < 0) {
                /* No token at all rather than a doubtful one. */
                if (r != -ENOMEM)
                        ve_set_error(ret_error, ve_asprintf("%s: %s", what, why ? why : "unexpected answer"));
                goto out;
        }
        *ret = g;
out:
        ve_http_response_done(&resp);
        free(path);
        free(what);
        free(why);
        return r;
}

/* ---- choosing the method ---- */

static bool method_parse(const char *s, enum ve_auth_method *ret) {
        static const enum ve_auth_method all[] = {
                VE_AUTH_TOKEN, VE_AUTH_APPROLE, VE_AUTH_KUBERNETES, VE_AUTH_JWT, VE_AUTH_CERT,
        };

        if (!s)
                return false;
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
                if (strcmp(s, ve_auth_method_name(all[i])) == 0) {
                        *ret = all[i];
                        return true;
                }
        return false;
}

static int need(char **ret_error, const char *msg) {
        ve_set_error(ret_error, strdup(msg));
        return -EINVAL;
}

/* What a login method lacks when the credential that proves its identity
 * is given by no variable at all, or NULL. Only AppRole's secret id is
 * passed by value in the environment (VAULTENV_SCRUB takes it out, so a
 * child never sees it); the other methods name files, which a child
 * inherits and which are read at each login, after the sink was tried. */
static const char *missing_credential(const struct ve_settings *s, enum ve_auth_method m) {
        if (m == VE_AUTH_APPROLE && !s->secret_id && !s->secret_id_file)
                return "approle login needs VAULT_SECRET_ID or VAULT_SECRET_ID_FILE";
        return NULL;
}

int ve_auth_detect(const struct ve_settings *s, enum ve_auth_method *ret_method, char **ret_error) {
        enum ve_auth_method m;

        /* An unknown VAULT_AUTH_METHOD was already reported by settings.c,
         * which says its default (detection) is used. */
        if (!method_parse(s->auth_method, &m)) {
                if (s->token)
                        m = VE_AUTH_TOKEN;
                else if (s->role_id || s->role_id_file)
                        m = VE_AUTH_APPROLE;
                else if (s->jwt_file && s->auth_role)
                        m = VE_AUTH_JWT;
                else if (s->jwt_file)
                        return need(ret_error, "VAULT_JWT_FILE is set but VAULT_AUTH_ROLE is not: "
                                               "JWT login needs the role");
                else if (s->auth_role && s->k8s_token_file && access(s->k8s_token_file, F_OK) == 0)
                        m = VE_AUTH_KUBERNETES;
                else if (s->auth_role) {
                        ve_set_error(ret_error, ve_asprintf(
                                "VAULT_AUTH_ROLE is set but no login method fits: no VAULT_JWT_FILE and no "
                                "Kubernetes token at %s (set VAULT_AUTH_METHOD)",
                                s->k8s_token_file ? s->k8s_token_file : VE_DEFAULT_K8S_TOKEN_FILE));
                        return -EINVAL;
                } else if (s->secret_id || s->secret_id_file)
                        return need(ret_error, "VAULT_SECRET_ID is set but VAULT_ROLE_ID (or VAULT_ROLE_ID_FILE) "
                                               "is not: AppRole login needs both");
                else
                        m = VE_AUTH_TOKEN;
        }

        switch (m) {
        case VE_AUTH_TOKEN:
                break;
        case VE_AUTH_APPROLE:
                if (!s->role_id && !s->role_id_file)
                        return need(ret_error, "approle login needs VAULT_ROLE_ID or VAULT_ROLE_ID_FILE");
                /* Without a secret id the token in VAULTENV_TOKEN_SINK
                 * may still serve: a parent that logged in wrote it there
                 * (and, with VAULTENV_SCRUB, kept the secret id from its
                 * children). Whether it does is known at the first
                 * lookup. */
                if (missing_credential(s, m) && !s->token_sink)
                        return need(ret_error, missing_credential(s, m));
                break;
        case VE_AUTH_KUBERNETES:
                if (!s->auth_role)
                        return need(ret_error, "kubernetes login needs VAULT_AUTH_ROLE");
                if (!s->k8s_token_file)
                        return need(ret_error, "kubernetes login needs VAULT_K8S_TOKEN_FILE");
                break;
        case VE_AUTH_JWT:
                if (!s->auth_role)
                        return need(ret_error, "jwt login needs VAULT_AUTH_ROLE");
                if (!s->jwt_file)
                        return need(ret_error, "jwt login needs VAULT_JWT_FILE");
                break;
        case VE_AUTH_CERT:
                if (!s->client_cert)
                        return need(ret_error, "cert login needs VAULT_CLIENT_CERT");
                if (!s->client_key)
                        return need(ret_error, "cert login needs VAULT_CLIENT_KEY");
                break;
        }
        *ret_method = m;
        return 0;
}

/* ---- life ---- */

static int dup_opt(const char *s, char **ret) {
        *ret = NULL;
        if (s && !(*ret = strdup(s)))
                return -ENOMEM;
        return 0;
}

/* dup_opt() for a secret: into the secure arena (ve_auth_secret_dup()).
 * False on allocation failure. */
static bool secret_dup_opt(const char *s, char **ret) {
        *ret = ve_auth_secret_dup(s);
        return !s || *ret;
}

int ve_auth_new(const struct ve_settings *settings, struct ve_http *http,
                struct ve_auth **ret_auth, char **ret_error) {
        enum ve_auth_method m;
        struct ve_auth *a;
        int r;

        r = ve_auth_detect(settings, &m, ret_error);
        if (r < 0)
                return r;
        a = calloc(1, sizeof *a);
        if (!a)
                return -ENOMEM;
        pthread_mutex_init(&a->lock, NULL);
        pthread_cond_init(&a->cond, NULL);
        a->http = http;
        a->now = ve_now_ms;
        atomic_init(&a->flight_fd, -1);
        /* A login is at most an unwrap and a login request. */
        a->flight_wait_ms = 2 * settings->timeout_ms + 1000;
        a->cfg.method = m;
        a->cfg.secret_id_wrapped = settings->secret_id_wrapped;
        a->cfg.has_sink = settings->token_sink != NULL;
        a->token_file_explicit = settings->token_file_explicit;
        a->agent = settings->agent_addr != NULL;
        if (dup_opt(settings->auth_path ? settings->auth_path : ve_auth_method_name(m), &a->cfg.mount) < 0 ||
            dup_opt(settings->auth_role, &a->cfg.role) < 0 ||
            dup_opt(settings->role_id, &a->cfg.role_id) < 0 ||
            dup_opt(settings->role_id_file, &a->cfg.role_id_file) < 0 ||
            !secret_dup_opt(settings->secret_id, &a->cfg.secret_id) ||
            dup_opt(settings->secret_id_file, &a->cfg.secret_id_file) < 0 ||
            dup_opt(settings->k8s_token_file, &a->cfg.k8s_token_file) < 0 ||
            dup_opt(settings->jwt_file, &a->cfg.jwt_file) < 0 ||
            dup_opt(settings->token_sink, &a->sink) < 0) {
                ve_auth_free(a);
                return -ENOMEM;
        }
        /* A mount path is written as the vault CLI's -path: no slashes
         * around it. */
        while (*a->cfg.mount == '/')
                memmove(a->cfg.mount, a->cfg.mount + 1, strlen(a->cfg.mount));
        for (size_t n = strlen(a->cfg.mount); n > 0 && a->cfg.mount[n - 1] == '/'; n--)
                a->cfg.mount[n - 1] = 0;

        if (m == VE_AUTH_TOKEN) {
                if (settings->token) {
                        if (!secret_dup_opt(settings->token, &a->token)) {
                                ve_auth_free(a);
                                return -ENOMEM;
                        }
                        a->source = SRC_GIVEN;
                        a->file_loaded = true;
                } else if (dup_opt(settings->token_file, &a->token_file) < 0) {
                        ve_auth_free(a);
                        return -ENOMEM;
                }
        } else {
                if (settings->token)
                        ve_debug("VAULT_TOKEN is not used: VAULT_AUTH_METHOD=%s", ve_auth_method_name(m));
                a->no_credential = missing_credential(settings, m);
                if (a->no_credential)
                        /* ve_auth_detect() let it pass for the sink. */
                        ve_debug("%s: only the token in VAULTENV_TOKEN_SINK %s is used", a->no_credential, a->sink);
                else
                        ve_debug("Vault login: %s at auth/%s/login", ve_auth_method_name(m), a->cfg.mount);
        }
        *ret_auth = a;
        return 0;
}

void ve_auth_free(struct ve_auth *a) {
        if (!a)
                return;
        ve_auth_secret_free(a->token);
        ve_auth_secret_free(a->rejected);
        free(a->fail_msg);
        free(a->token_file);
        free(a->sink);
        free(a->cfg.mount);
        free(a->cfg.role);
        ve_erase_free(a->cfg.role_id);
        free(a->cfg.role_id_file);
        ve_auth_secret_free(a->cfg.secret_id);
        free(a->cfg.secret_id_file);
        free(a->cfg.k8s_token_file);
        free(a->cfg.jwt_file);
        free(a->file_refused);
        ve_auth_secret_free(a->cfg.unwrapped_from);
        ve_auth_secret_free(a->cfg.unwrapped_secret_id);
        pthread_cond_destroy(&a->cond);
        pthread_mutex_destroy(&a->lock);
        free(a);
}

void ve_auth_set_clock(struct ve_auth *a, uint64_t (*now_ms)(void)) {
        a->now = now_ms;
}

const char *ve_auth_peek_token(struct ve_auth *a) {
        return a->token;
}

const char *ve_auth_peek_rejected(struct ve_auth *a) {
        return a->rejected;
}

const struct ve_auth_config *ve_auth_peek_config(struct ve_auth *a) {
        return &a->cfg;
}

/* Token method: reads the token file. Called with the lock held. Returns
 * the token read, or NULL (missing, empty, unreadable: logged). */
static char *token_file_read(struct ve_auth *a) {
        const char *var = a->token_file_explicit ? "VAULT_TOKEN_FILE" : "~/.vault-token";
        char *t = NULL, *err = NULL;
        int r;

        if (!a->token_file)
                return NULL;
        r = ve_auth_read_credential(a->token_file, var, &t, &err);
        if (r == -EPERM && err) {
                /* Refused (writable by others, a stranger's file): no
                 * request at all, rather than one without a token. */
                free(a->file_refused);
                a->file_refused = err;
                return NULL;
        }
        free(a->file_refused);
        a->file_refused = NULL;
        if (r == -ENOENT && !a->token_file_explicit)
                ve_debug("no token file at %s; sending no token", a->token_file);
        else if (r == -ENODATA)
                ve_debug("%s; sending no token", err ? err : "the token file is empty");
        else if (r < 0)
                ve_warn("%s; sending no token", err ? err : "cannot read the token file");
        free(err);
        return r < 0 ? NULL : t;
}

static bool streq_opt(const char *x, const char *y) {
        return x && y && strcmp(x, y) == 0;
}

/* ---- the token sink ---- */

/* Opens the sink for reading, refusing what another user could have put
 * there or changed: a symbolic link, not a regular file, not owned by our
 * euid, writable by group or others (ve_file_trust_check()). -errno and in
 * *ret_why what is wrong with it, worded to follow the sink's name
 * ("is a symbolic link"). */
static int sink_open(const char *path, char **ret_why) {
        struct stat st;
        char *why = NULL;
        int fd, r;

        /* O_NONBLOCK: a FIFO put there must not hang the open(). */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                r = -errno;
                if (r == -ELOOP)
                        ve_set_error(ret_why, strdup("is a symbolic link"));
                else if (r == -ENOENT)
                        ve_set_error(ret_why, strdup("does not exist"));
                else
                        ve_set_error(ret_why, ve_asprintf("cannot be read: %s", strerror(-r)));
                return r;
        }
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
                ve_set_error(ret_why, strdup("is not a regular file owned by this user"));
                close(fd);
                return -EPERM;
        }
        r = ve_file_trust_check(&st, &why);
        if (r < 0) {
                ve_set_error(ret_why, why);
                close(fd);
                return r;
        }
        warn_mode(path, "VAULTENV_TOKEN_SINK", &st);
        return fd;
}

/* The sink's token: 0, or -errno and in *ret_why what is wrong (see
 * sink_open(); -ENODATA: empty). */
static int sink_read(const char *path, char **ret_token, char **ret_why) {
        int fd, r;

        fd = sink_open(path, ret_why);
        if (fd < 0)
                return fd;
        r = read_fd_trimmed(fd, ret_token);
        close(fd);
        if (r == -ENODATA)
                ve_set_error(ret_why, strdup("is empty"));
        else if (r == -EFBIG)
                ve_set_error(ret_why, strdup("is larger than 64 KiB"));
        else if (r < 0 && r != -ENOMEM)
                ve_set_error(ret_why, ve_asprintf("cannot be read: %s", strerror(-r)));
        return r;
}

/* The temporary files of the sink (".BASE.XXXXXX" in its directory) that
 * a writer killed before its rename() left: regular files of this user.
 * Removed only by the holder of the sink's lock (flight_lock()), when no
 * other writer can be between its link and its rename. */
static void sink_sweep(const char *dir, const char *base) {
        size_t blen = strlen(base);
        struct dirent *d;
        DIR *dp;

        dp = opendir(dir);
        if (!dp)
                return;
        while ((d = readdir(dp))) {
                const char *n = d->d_name;
                struct stat st;
                bool ours = strlen(n) == blen + 8 && n[0] == '.' && memcmp(n + 1, base, blen) == 0 &&
                            n[blen + 1] == '.';

                for (size_t i = blen + 2; ours && n[i]; i++)
                        ours = isalnum((unsigned char) n[i]);
                if (!ours || fstatat(dirfd(dp), n, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
                    !S_ISREG(st.st_mode) || st.st_uid != geteuid())
                        continue;
                if (unlinkat(dirfd(dp), n, 0) == 0)
                        ve_debug("removed %s/%s, a temporary file of VAULTENV_TOKEN_SINK its writer left", dir, n);
        }
        closedir(dp);
}

static int write_all(int fd, const char *s, size_t len) {
        size_t off = 0;

        while (off < len) {
                ssize_t n = write(fd, s + off, len - off);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                off += (size_t) n;
        }
        return 0;
}

/* The token in an unnamed 0600 file of dir (O_TMPFILE), then linked as tmp
 * (a fresh ".BASE.XXXXXX"): a writer killed while writing leaves nothing.
 * -EOPNOTSUPP when the file system or /proc cannot do it. */
static int sink_write_unnamed(const char *dir, char *tmp, const char *token) {
        static const char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        char proc[64];
        size_t n = strlen(tmp);
        int fd, r;

        fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
        if (fd < 0)
                return errno == EISDIR || errno == EINVAL || errno == EOPNOTSUPP ? -EOPNOTSUPP : -errno;
        r = fchmod(fd, 0600) < 0 ? -errno : write_all(fd, token, strlen(token));
        if (r < 0)
                goto out;
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
        for (int tries = 0;; tries++) {
                unsigned char rnd[6];

                if (getrandom(rnd, sizeof rnd, 0) != (ssize_t) sizeof rnd) {
                        r = -EOPNOTSUPP;
                        goto out;
                }
                for (size_t i = 0; i < 6; i++)
                        tmp[n - 6 + i] = chars[rnd[i] % (sizeof chars - 1)];
                if (linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) == 0)
                        break;
                r = -errno;
                if (r != -EEXIST || tries >= 16) {
                        /* No /proc (or it does not let us link): the
                         * named way. */
                        if (r == -ENOENT || r == -EPERM || r == -EXDEV)
                                r = -EOPNOTSUPP;
                        goto out;
                }
        }
        r = 0;
out:
        close(fd);
        return r;
}

/* Writes token to the sink atomically: a 0600 file in the same directory,
 * unnamed while it is written where the file system allows (O_TMPFILE;
 * else mkostemp(), O_EXCL: never through a link), then rename(), which
 * replaces the name (a link there included) and never follows it.
 * flight: this process holds the sink's lock, and sweeps what killed
 * writers left (sink_sweep()). */
static void sink_write(const char *path, const char *token, bool flight) {
        char *copy = NULL, *tmp = NULL, *base;
        const char *dir;
        int fd = -1, r = 0;

        copy = strdup(path);
        if (!copy)
                goto oom;
        base = strrchr(copy, '/');
        if (base) {
                *base++ = 0;
                dir = base - 1 == copy ? "/" : copy;
        } else {
                dir = ".";
                base = copy;
        }
        tmp = ve_asprintf("%s%s.%s.XXXXXX", dir, strcmp(dir, "/") == 0 ? "" : "/", base);
        if (!tmp)
                goto oom;
        if (flight)
                sink_sweep(dir, base);
        r = sink_write_unnamed(dir, tmp, token);
        if (r == -EOPNOTSUPP) {
                memcpy(tmp + strlen(tmp) - 6, "XXXXXX", 6);
                fd = mkostemp(tmp, O_CLOEXEC | O_NOFOLLOW);
                if (fd < 0) {
                        r = -errno;
                        goto fail;
                }
                r = fchmod(fd, 0600) < 0 ? -errno : write_all(fd, token, strlen(token));
                if (r < 0)
                        goto fail;
                r = close(fd) < 0 ? -errno : 0;
                fd = -1;
        } else if (r < 0) {
                /* Nothing was linked. */
                free(tmp);
                tmp = NULL;
                goto fail;
        }
        if (r < 0 || rename(tmp, path) < 0) {
                r = r < 0 ? r : -errno;
                goto fail;
        }
        ve_debug("wrote the Vault token to VAULTENV_TOKEN_SINK %s", path);
        free(tmp);
        free(copy);
        return;
fail:
        ve_warn("cannot write VAULTENV_TOKEN_SINK %s: %s", path, strerror(-r));
        if (fd >= 0)
                close(fd);
        if (tmp)
                unlink(tmp);
        free(tmp);
        free(copy);
        return;
oom:
        ve_warn("cannot write VAULTENV_TOKEN_SINK %s: out of memory", path);
        free(copy);
}

/* Removes the sink when it still holds token (a revoked token must not be
 * offered to anyone). */
static void sink_remove_if(const char *path, const char *token) {
        char *t = NULL, *why = NULL;
        int r;

        r = sink_read(path, &t, &why);
        if (r < 0) {
                if (r != -ENOENT && r != -ENODATA && why)
                        ve_warn("VAULTENV_TOKEN_SINK %s %s; not removing it", path, why);
                free(why);
                return;
        }
        if (streq_opt(t, token) && unlink(path) < 0)
                ve_warn("cannot remove VAULTENV_TOKEN_SINK %s: %s", path, strerror(errno));
        ve_auth_secret_free(t);
}

/* The single flight across processes: "adopt the sink's token, or log in
 * and write it" runs under an exclusive flock() on SINK.lock, a file beside
 * the sink that holds nothing (so siblings started together make one login
 * between them). The lock file gets the sink's checks (no symbolic link, a
 * regular file of this user that others may not write). Taken by polling,
 * at most a->flight_wait_ms: a holder that hangs (stopped, or a login that
 * never ends) delays the others, it does not block them for ever. Returns
 * the locked descriptor, or -1 when the flight goes on without the lock
 * (logged). No mutex is held meanwhile: only a->busy. */
static int flight_lock(struct ve_auth *a) {
        char *path, *why = NULL;
        uint64_t deadline;
        struct stat st;
        int fd, r;

        path = ve_asprintf("%s.lock", a->sink);
        if (!path)
                return -1;
        fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK, 0600);
        if (fd < 0) {
                ve_warn("cannot open %s (the lock of VAULTENV_TOKEN_SINK): %s; logging in without it", path,
                        errno == ELOOP ? "it is a symbolic link" : strerror(errno));
                free(path);
                return -1;
        }
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid())
                why = strdup("is not a regular file owned by this user");
        else if (ve_file_trust_check(&st, &why) < 0 && !why)
                why = strdup("is not trusted");
        if (why) {
                ve_warn("%s (the lock of VAULTENV_TOKEN_SINK) %s; logging in without it", path, why);
                goto fail;
        }
        deadline = ve_now_ms() + a->flight_wait_ms;
        for (bool said = false;; said = true) {
                r = flock(fd, LOCK_EX | LOCK_NB);
                if (r == 0)
                        break;
                if (errno != EWOULDBLOCK && errno != EINTR) {
                        ve_warn("cannot lock %s (the lock of VAULTENV_TOKEN_SINK): %s; logging in without it",
                                path, strerror(errno));
                        goto fail;
                }
                if (ve_now_ms() >= deadline) {
                        ve_warn("another process has held %s (the lock of VAULTENV_TOKEN_SINK) for %llus; "
                                "logging in without waiting for it", path,
                                (unsigned long long) (a->flight_wait_ms / 1000));
                        goto fail;
                }
                if (!said)
                        ve_debug("another process is logging in (%s is locked); waiting for its token", path);
                usleep(20 * 1000);
        }
        free(path);
        atomic_store(&a->flight_fd, fd);
        return fd;
fail:
        free(why);
        free(path);
        close(fd);
        return -1;
}

/* Ends the flight: unlocks before closing, because a child forked meanwhile
 * shares the locked open file and would otherwise keep it locked. */
static void flight_unlock(struct ve_auth *a, int fd) {
        if (fd < 0)
                return;
        atomic_store(&a->flight_fd, -1);
        (void) flock(fd, LOCK_UN);
        close(fd);
}

/* GET auth/token/lookup-self with token: 0 and its TTL when Vault accepts
 * it; -EACCES when it does not; or the transport's error, or -EIO, -EAGAIN,
 * -EPROTO, with a one-line reason in *ret_error (may be NULL). */
static int lookup_self(struct ve_auth *a, const char *token, struct ve_auth_grant *ret, char **ret_error) {
        struct ve_http_response resp = {};
        struct ve_auth_grant g = {};
        char *err = NULL;
        int r;

        r = ve_http_request(a->http, "GET", "auth/token/lookup-self", NULL, token,
                            "auth/token/lookup-self", &resp, &err);
        if (r < 0) {
                ve_debug("lookup-self: %s", err ? err : strerror(-r));
                ve_set_error(ret_error, err);
                return r;
        }
        if (resp.status != 200) {
                r = status_errno(resp.status);
                if (r != -EACCES)
                        ve_set_error(ret_error, ve_asprintf("HTTP status %ld", resp.status));
                goto out;
        }
        r = ve_auth_parse_grant(resp.body, resp.len, true, &g, &err);
        if (r < 0) {
                ve_debug("lookup-self: %s", err ? err : strerror(-r));
                ve_set_error(ret_error, err);
                goto out;
        }
        /* Keep our copy; data.id may be absent (e.g. behind an agent). */
        ve_auth_secret_free(g.token);
        g.token = ve_auth_secret_dup(token);
        if (!g.token) {
                r = -ENOMEM;
                goto out;
        }
        *ret = g;
out:
        ve_http_response_done(&resp);
        return r;
}

static int renew_self(struct ve_auth *a, const char *token, struct ve_auth_grant *ret, char **ret_error);

/* A token adopted from the sink with less than half of its TTL (lookup-self's
 * creation_ttl) left is renewed at once. A process may well end before its
 * own renewal point (2/3 of what remained when it adopted the token), so
 * without this the shared token would die token_ttl after the login even
 * while processes keep coming; with it, one process starting in each half
 * TTL keeps it alive up to its max TTL. A failed renewal is no failure: the
 * token serves while it lasts. */
static void renew_at_adoption(struct ve_auth *a, struct ve_auth_grant *g) {
        struct ve_auth_grant rg = {};
        char *err = NULL;

        if (!g->renewable || g->ttl_s == 0 || g->ttl_s >= g->full_ttl_s / 2)
                return;
        if (renew_self(a, g->token, &rg, &err) == 0) {
                ve_debug("renewed the Vault token from VAULTENV_TOKEN_SINK %s: %llus of %llus were left, now %llus",
                         a->sink, (unsigned long long) g->ttl_s, (unsigned long long) g->full_ttl_s,
                         (unsigned long long) rg.ttl_s);
                g->ttl_s = rg.ttl_s;
                g->renewable = rg.renewable;
        } else
                ve_info("%s; using the token from VAULTENV_TOKEN_SINK %s while it lasts",
                        err ? err : "cannot renew the Vault token", a->sink);
        ve_auth_grant_done(&rg);
        free(err);
}

/* The sink's token, when it is not one we know to be dead (skip1, skip2,
 * *io_dead) and Vault accepts it. Else -errno and in *ret_why what is wrong
 * with the sink (worded to follow its name); a token Vault refused is kept
 * in *io_dead (may be NULL), so that reading the sink again asks Vault only
 * about a new token. login_follows: a login is tried next, and a sink that
 * someone else may have tampered with is worth a warning; without a login
 * the caller's error says it all. */
static int sink_adopt(struct ve_auth *a, const char *skip1, const char *skip2, bool login_follows,
                      char **io_dead, struct ve_auth_grant *ret, char **ret_why) {
        char *t = NULL, *why = NULL, *err = NULL;
        bool local = false;
        int r;

        r = sink_read(a->sink, &t, &why);
        if (r < 0)
                local = true;
        else if (streq_opt(t, skip2)) {
                why = strdup("holds only the token Vault refused");
                r = -ESTALE;
        } else if (streq_opt(t, skip1)) {
                why = strdup("holds only the token being replaced");
                r = -ESTALE;
        } else if (io_dead && streq_opt(t, *io_dead)) {
                why = strdup("holds a token Vault refuses (expired or revoked)");
                r = -EACCES;
        } else {
                r = lookup_self(a, t, ret, &err);
                if (r == 0)
                        renew_at_adoption(a, ret);
                if (r == -EACCES) {
                        why = strdup("holds a token Vault refuses (expired or revoked)");
                        if (io_dead) {
                                ve_auth_secret_free(*io_dead);
                                *io_dead = t;
                                t = NULL;
                        }
                } else if (r < 0 && r != -ENOMEM)
                        why = ve_asprintf("holds a token that could not be checked (auth/token/lookup-self): %s",
                                          err ? err : strerror(-r));
                free(err);
        }
        ve_auth_secret_free(t);
        if (r == 0) {
                ve_info("using the Vault token from VAULTENV_TOKEN_SINK %s", a->sink);
                return 0;
        }
        if (login_follows) {
                if (local && r != -ENOENT && r != -ENODATA)
                        ve_warn("VAULTENV_TOKEN_SINK %s %s; not using it", a->sink, why ? why : strerror(-r));
                else
                        ve_debug("VAULTENV_TOKEN_SINK %s %s; logging in", a->sink, why ? why : strerror(-r));
        }
        ve_set_error(ret_why, why);
        return r;
}

/* ---- refreshing ---- */

static int renew_self(struct ve_auth *a, const char *token, struct ve_auth_grant *ret, char **ret_error) {
        struct ve_http_response resp = {};
        struct ve_auth_grant g = {};
        char *why = NULL;
        int r;

        r = ve_http_request(a->http, "POST", "auth/token/renew-self", "{}", token,
                            "auth/token/renew-self", &resp, ret_error);
        if (r < 0)
                return r;
        if (resp.status != 200) {
                ve_set_error(ret_error, ve_auth_refusal("renewing the token (auth/token/renew-self)", &resp));
                r = status_errno(resp.status);
                goto out;
        }
        r = ve_auth_parse_grant(resp.body, resp.len, false, &g, &why);
        if (r < 0) {
                if (r != -ENOMEM)
                        ve_set_error(ret_error, ve_asprintf("renewing the token: %s",
                                                            why ? why : "unexpected answer"));
                free(why);
                goto out;
        }
        ve_auth_secret_free(g.token);
        g.token = ve_auth_secret_dup(token);
        if (!g.token) {
                r = -ENOMEM;
                goto out;
        }
        *ret = g;
out:
        ve_http_response_done(&resp);
        return r;
}

static int login(struct ve_auth *a, struct ve_auth_grant *ret, char **ret_error) {
        switch (a->cfg.method) {
        case VE_AUTH_APPROLE:
                return ve_auth_approle_login(&a->cfg, a->http, ret, ret_error);
        case VE_AUTH_KUBERNETES:
                return ve_auth_kubernetes_login(&a->cfg, a->http, ret, ret_error);
        case VE_AUTH_JWT:
                return ve_auth_jwt_login(&a->cfg, a->http, ret, ret_error);
        case VE_AUTH_CERT:
                return ve_auth_cert_login(&a->cfg, a->http, ret, ret_error);
        case VE_AUTH_TOKEN:
                break;
        }
        return -EINVAL;
}

/* Runs with no lock held, by the one thread that set busy. old: the token
 * in use (may be NULL); renew: try renew-self with it first; rejected: a
 * token Vault refused. *ret_refused: set when Vault refused the login. */
static int refresh(struct ve_auth *a, const char *old, bool renew, const char *rejected,
                   struct ve_auth_grant *ret, enum source *ret_source, bool *ret_refused, char **ret_error) {
        char *err = NULL, *sink_why = NULL, *dead = NULL;
        int r = 0, fd = -1;

        if (renew) {
                r = renew_self(a, old, ret, &err);
                if (r == 0) {
                        ve_debug("renewed the Vault token (TTL %llus)", (unsigned long long) ret->ttl_s);
                        *ret_source = SRC_RENEWED;
                        return 0;
                }
                ve_info("%s; logging in again", err ? err : "cannot renew the Vault token");
                free(err);
                err = NULL;
        }
        if (a->sink) {
                r = sink_adopt(a, old, rejected, !a->no_credential, &dead, ret, &sink_why);
                if (r == 0) {
                        *ret_source = SRC_SINK;
                        goto out;
                }
                /* Another process may be logging in: wait for it, and
                 * take its token. */
                fd = flight_lock(a);
                if (fd >= 0) {
                        free(sink_why);
                        sink_why = NULL;
                        r = sink_adopt(a, old, rejected, false, &dead, ret, &sink_why);
                        if (r == 0) {
                                *ret_source = SRC_SINK;
                                goto out;
                        }
                }
        }
        if (a->no_credential) {
                /* Nothing to log in with: the sink was the only way. One
                 * line naming both, an error the user sees (as the
                 * missing secret id was without a sink), once until it
                 * changes. */
                char *m = ve_asprintf("VAULTENV_TOKEN_SINK %s %s, and %s", a->sink,
                                      sink_why ? sink_why : "holds no usable token", a->no_credential);

                refusal_log(m);
                ve_set_error(ret_error, m);
                /* Not -ENOENT ("no such secret" to the callers): the token
                 * is what is missing. A transport error stays one. */
                r = r == -ENOENT || r == -ENODATA || r == -ESTALE || r == -EPERM || r == -ELOOP ? -EACCES : r;
                goto out;
        }
        r = login(a, ret, ret_error);
        if (r == -EACCES && a->sink) {
                /* A process outside the flight (no lock) may have used up
                 * a single-use credential and written its token. */
                char *why = NULL;

                if (sink_adopt(a, old, rejected, false, &dead, ret, &why) == 0) {
                        ve_info("%s; using the token another process wrote to VAULTENV_TOKEN_SINK %s",
                                ret_error && *ret_error ? *ret_error : "the login was refused", a->sink);
                        if (ret_error) {
                                free(*ret_error);
                                *ret_error = NULL;
                        }
                        *ret_source = SRC_SINK;
                        r = 0;
                        free(why);
                        goto out;
                }
                free(why);
        }
        if (r < 0) {
                *ret_refused = r == -EACCES;
                if (r == -ENOENT && sink_why && ret_error && *ret_error) {
                        /* The credential file is gone, and the sink did
                         * not serve either: say why. */
                        char *m = ve_asprintf("%s (and VAULTENV_TOKEN_SINK %s %s)", *ret_error, a->sink, sink_why);

                        if (m) {
                                free(*ret_error);
                                *ret_error = m;
                        }
                }
                goto out;
        }
        ve_info("logged in to Vault with %s at auth/%s/login (token TTL %llus%s)",
                ve_auth_method_name(a->cfg.method), a->cfg.mount, (unsigned long long) ret->ttl_s,
                ret->renewable ? ", renewable" : "");
        if (a->sink)
                sink_write(a->sink, ret->token, fd >= 0);
        *ret_source = SRC_LOGIN;
out:
        flight_unlock(a, fd);
        free(sink_why);
        ve_auth_secret_free(dead);
        return r;
}

/* Takes over g (its token). Called with the lock held. */
static void install(struct ve_auth *a, struct ve_auth_grant *g, enum source src, uint64_t start) {
        if (src == SRC_RENEWED)
                /* A renewal that gives back less than the token's full TTL
                 * was capped by its max TTL: the next refresh logs in. */
                a->relogin = g->ttl_s < a->full_ttl_s;
        else {
                a->source = src;
                a->full_ttl_s = g->full_ttl_s;
                a->relogin = false;
                a->owner = src == SRC_LOGIN ? getpid() : 0;
        }
        ve_auth_secret_free(a->token);
        a->token = g->token;
        g->token = NULL;
        a->renewable = g->renewable;
        a->expires_at = g->ttl_s ? start + g->ttl_s * 1000 : 0;
        a->refresh_at = g->ttl_s ? start + g->ttl_s * 1000 * 2 / 3 : 0;
        a->fail_r = 0;
        a->fail_until = 0;
        free(a->fail_msg);
        a->fail_msg = NULL;
}

static bool token_valid_locked(struct ve_auth *a, uint64_t now) {
        return a->token && (a->expires_at == 0 || now < a->expires_at);
}

static int copy_out(const char *token, char **ret_token) {
        char *t = NULL;

        if (token && !(t = strdup(token)))
                return -ENOMEM;
        *ret_token = t;
        return 0;
}

/* Token method: says once (info) where the token comes from. A
 * ~/.vault-token that `vault login` left goes to a Vault Agent as it does
 * from the vault CLI, and the agent then uses it instead of its auto-auth
 * token (use_auto_auth_token=true yields to a request's token): a surprise
 * said at the default level. Called with the lock held. */
static void say_token_source(struct ve_auth *a) {
        if (a->source_said)
                return;
        a->source_said = true;
        if (a->source == SRC_GIVEN)
                ve_info("using the Vault token from VAULT_TOKEN");
        else if (a->source == SRC_FILE && a->token_file_explicit)
                ve_info("using the Vault token from VAULT_TOKEN_FILE %s", a->token_file);
        else if (a->source == SRC_FILE) {
                ve_info("using the Vault token from ~/.vault-token (%s)", a->token_file);
                if (a->agent)
                        ve_error("~/.vault-token (%s) is sent to the Vault Agent at VAULT_AGENT_ADDR, which then "
                                 "uses it instead of its auto-auth token; remove the file, or name the token "
                                 "to use with VAULT_TOKEN_FILE", a->token_file);
        } else if (!a->file_refused)
                ve_info("no Vault token (no VAULT_TOKEN, %s (%s)): sending none%s",
                        a->token_file_explicit ? "none in VAULT_TOKEN_FILE" : "no ~/.vault-token",
                        a->token_file ? a->token_file : "no home directory",
                        a->agent ? "; the Vault Agent at VAULT_AGENT_ADDR adds its auto-auth token" : "");
}

int ve_auth_token(struct ve_auth *a, char **ret_token, char **ret_error) {
        struct ve_auth_grant g = {};
        enum source src = SRC_NONE;
        char *old = NULL, *rejected = NULL, *err = NULL;
        uint64_t start;
        bool renew, refused = false;
        int r;

        pthread_mutex_lock(&a->lock);
        if (a->cfg.method == VE_AUTH_TOKEN) {
                if (!a->file_loaded) {
                        a->file_loaded = true;
                        a->token = token_file_read(a);
                        a->source = a->token ? SRC_FILE : SRC_NONE;
                }
                say_token_source(a);
                if (a->file_refused) {
                        ve_set_error(ret_error, strdup(a->file_refused));
                        pthread_mutex_unlock(&a->lock);
                        return -EPERM;
                }
                r = copy_out(a->token, ret_token);
                pthread_mutex_unlock(&a->lock);
                return r;
        }

        for (;;) {
                uint64_t now = a->now();

                if (a->token && (a->refresh_at == 0 || now < a->refresh_at)) {
                        r = copy_out(a->token, ret_token);
                        pthread_mutex_unlock(&a->lock);
                        return r;
                }
                if (a->busy) {
                        /* Another thread refreshes: the current token
                         * serves until it expires. */
                        if (token_valid_locked(a, now)) {
                                r = copy_out(a->token, ret_token);
                                pthread_mutex_unlock(&a->lock);
                                return r;
                        }
                        pthread_cond_wait(&a->cond, &a->lock);
                        continue;
                }
                if (a->fail_until && now < a->fail_until) {
                        /* A refresh failed a moment ago: do not hammer. */
                        if (token_valid_locked(a, now)) {
                                r = copy_out(a->token, ret_token);
                                pthread_mutex_unlock(&a->lock);
                                return r;
                        }
                        ve_set_error(ret_error, a->fail_msg ? strdup(a->fail_msg) : NULL);
                        r = a->fail_r;
                        pthread_mutex_unlock(&a->lock);
                        return r;
                }
                break;
        }

        /* This thread refreshes. */
        start = a->now();
        renew = a->token && a->renewable && !a->relogin && token_valid_locked(a, start);
        if ((a->token && !(old = ve_auth_secret_dup(a->token))) ||
            (a->rejected && !(rejected = ve_auth_secret_dup(a->rejected)))) {
                ve_auth_secret_free(old);
                pthread_mutex_unlock(&a->lock);
                return -ENOMEM;
        }
        a->busy = true;
        pthread_mutex_unlock(&a->lock);

        r = refresh(a, old, renew, rejected, &g, &src, &refused, &err);

        pthread_mutex_lock(&a->lock);
        a->busy = false;
        pthread_cond_broadcast(&a->cond);
        if (r == 0)
                install(a, &g, src, start);
        else {
                a->fail_r = r;
                free(a->fail_msg);
                a->fail_msg = err ? strdup(err) : NULL;
                a->fail_until = a->now() + FAIL_HOLD_MS;
                if (token_valid_locked(a, a->now())) {
                        ve_warn("%s; using the current Vault token while it lasts",
                                err ? err : "cannot refresh the Vault token");
                        r = 0;
                } else {
                        ve_auth_secret_free(a->token);
                        a->token = NULL;
                        a->source = SRC_NONE;
                        /* One line per refused login, at the default
                         * level: the names it leaves empty say it too. */
                        if (refused)
                                ve_error("%s", err ? err : "Vault refused the login");
                }
        }
        if (r == 0)
                r = copy_out(a->token, ret_token);
        else
                ve_set_error(ret_error, err ? strdup(err) : NULL);
        pthread_mutex_unlock(&a->lock);

        ve_auth_grant_done(&g);
        ve_auth_secret_free(old);
        ve_auth_secret_free(rejected);
        free(err);
        return r;
}

bool ve_auth_rejected(struct ve_auth *a, const char *token) {
        struct ve_auth_grant g = {};
        bool expired, changed;
        char *t;
        int r;

        pthread_mutex_lock(&a->lock);
        if (a->cfg.method == VE_AUTH_TOKEN) {
                /* VAULT_TOKEN cannot change. A token file can: a Vault Agent
                 * sink rotates it; a new token there is worth one retry. */
                changed = false;
                if (a->source != SRC_GIVEN && a->token_file) {
                        t = token_file_read(a);
                        changed = t && !streq_opt(t, a->token);
                        if (changed) {
                                ve_info("the token file %s holds a new token", a->token_file);
                                ve_auth_secret_free(a->token);
                                a->token = t;
                                a->source = SRC_FILE;
                        } else
                                ve_auth_secret_free(t);
                }
                pthread_mutex_unlock(&a->lock);
                return changed;
        }
        if (!streq_opt(a->token, token)) {
                /* Already replaced (or dropped) by another thread. */
                pthread_mutex_unlock(&a->lock);
                return true;
        }
        expired = a->expires_at && a->now() >= a->expires_at;
        pthread_mutex_unlock(&a->lock);

        /* A 403 also means "your policy does not allow this path": only a
         * token Vault no longer knows is worth a new login. */
        if (!expired) {
                r = lookup_self(a, token, &g, NULL);
                ve_auth_grant_done(&g);
                if (r == 0 || r != -EACCES)
                        return false;
        }

        pthread_mutex_lock(&a->lock);
        if (streq_opt(a->token, token)) {
                ve_info("Vault no longer accepts the token; logging in again");
                ve_auth_secret_free(a->rejected);
                a->rejected = a->token;
                a->token = NULL;
                a->source = SRC_NONE;
                a->fail_until = 0;
        }
        pthread_mutex_unlock(&a->lock);
        return true;
}

void ve_auth_atfork_prepare(struct ve_auth *a) {
        if (a)
                pthread_mutex_lock(&a->lock);
        pthread_mutex_lock(&refusal_lock);
}

void ve_auth_atfork_parent(struct ve_auth *a) {
        pthread_mutex_unlock(&refusal_lock);
        if (a)
                pthread_mutex_unlock(&a->lock);
}

void ve_auth_atfork_child(struct ve_auth *a) {
        pthread_mutex_unlock(&refusal_lock);
        if (!a)
                return;
        /* The refreshing thread, if any, and the waiters are not in the
         * child. */
        pthread_cond_init(&a->cond, NULL);
        a->busy = false;
        /* Its copy of the lock file the refreshing thread held, if any:
         * that thread is not in the child, and the parent unlocks it. */
        {
                int fd = atomic_exchange(&a->flight_fd, -1);

                if (fd >= 0)
                        close(fd);
        }
        pthread_mutex_unlock(&a->lock);
}

int ve_auth_revoke(struct ve_auth *a) {
        struct ve_http_response resp = {};
        char *t = NULL, *err = NULL, *text;
        int r;

        pthread_mutex_lock(&a->lock);
        /* Only a token this very process logged in for: not VAULT_TOKEN,
         * not a token file's, not one adopted from the sink, and not the
         * parent's token that a forked child inherited. */
        if (!a->token || a->source != SRC_LOGIN || a->owner != getpid()) {
                pthread_mutex_unlock(&a->lock);
                return 0;
        }
        t = a->token;
        a->token = NULL;
        a->source = SRC_NONE;
        pthread_mutex_unlock(&a->lock);

        r = ve_http_request(a->http, "POST", "auth/token/revoke-self", NULL, t,
                            "auth/token/revoke-self", &resp, &err);
        if (r < 0) {
                ve_warn("cannot revoke the Vault token: %s", err ? err : strerror(-r));
                goto out;
        }
        if (resp.status != 204 && resp.status != 200) {
                text = ve_vault_errors_text(resp.body, resp.len);
                ve_warn("cannot revoke the Vault token: %s", text ? text : "refused");
                free(text);
                r = status_errno(resp.status);
                goto out;
        }
        ve_debug("revoked the Vault token this process logged in for");
        if (a->sink)
                sink_remove_if(a->sink, t);
        r = 0;
out:
        ve_http_response_done(&resp);
        ve_auth_secret_free(t);
        free(err);
        return r;
}
