/* SPDX-License-Identifier: MIT */
/* auth.c and the login methods against a scripted Vault: a loopback HTTP
 * server in this process that answers the login, unwrap, renew-self,
 * lookup-self and revoke-self endpoints with the shapes of the recordings
 * (a real Vault 1.8), issues fake tokens with TTLs, and counts what it was
 * asked. Time is a fake clock, so TTL behaviour needs no sleeping. Tokens
 * and secrets are fake and never printed: the log callback collects
 * messages, and a test asserts none of them holds one. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "auth-internal.h"
#include "auth.h"
#include "http.h"
#include "httpd.h"
#include "log.h"
#include "settings.h"
#include "util.h"
#include "unit.h"

/* ---- the scripted Vault ---- */

#define MAX_TOKENS 64

struct fake_token {
        char id[64];
        bool valid;
        unsigned ttl, max_ttl;
        bool renewable;
};

static struct {
        pthread_mutex_t lock;
        /* scripted behaviour */
        unsigned ttl, max_ttl;          /* of issued tokens; max_ttl 0: none */
        bool renewable;
        unsigned login_delay_ms;
        int secret_id_uses;             /* -1: unlimited */
        bool wrap_used;
        const char *login_answer;       /* not NULL: the 200 body of every login, as is */
        const char *renew_answer;       /* not NULL: the 200 body of every renew-self, as is */
        /* observations */
        unsigned logins, unwraps, renews, lookups, revokes;
        char last_login_body[1024];
        bool login_had_token;
        struct fake_token tokens[MAX_TOKENS];
        unsigned n_tokens;
} srv = { .lock = PTHREAD_MUTEX_INITIALIZER };

static struct fake_token *token_find(const char *id) {
        for (unsigned i = 0; i < srv.n_tokens; i++)
                if (strcmp(srv.tokens[i].id, id) == 0)
                        return &srv.tokens[i];
        return NULL;
}

static char *issue(void) {
        struct fake_token *t = &srv.tokens[srv.n_tokens % MAX_TOKENS];

        if (srv.n_tokens < MAX_TOKENS)
                srv.n_tokens++;
        snprintf(t->id, sizeof t->id, "fake-tok-%u", srv.logins);
        t->valid = true;
        t->ttl = srv.ttl;
        t->max_ttl = srv.max_ttl;
        t->renewable = srv.renewable;
        return ve_asprintf("{\"request_id\":\"x\",\"lease_id\":\"\",\"renewable\":false,\"lease_duration\":0,"
                           "\"data\":null,\"wrap_info\":null,\"warnings\":null,\"auth\":{\"client_token\":\"%s\","
                           "\"accessor\":\"a\",\"policies\":[\"default\"],\"lease_duration\":%u,\"renewable\":%s,"
                           "\"token_type\":\"service\",\"orphan\":true}}",
                           t->id, t->ttl, t->renewable ? "true" : "false");
}

static const char *json_str(cJSON *o, const char *k) {
        cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

        return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool eq(const char *a, const char *b) {
        return a && b && strcmp(a, b) == 0;
}

#define ERR(msg) (*status = 400, strdup("{\"errors\":[\"" msg "\"]}"))
#define DENIED (*status = 403, strdup("{\"errors\":[\"permission denied\"]}"))

/* Called with srv.lock held. */
static char *handle(const char *method, const char *path, const char *token, const char *body, int *status) {
        struct fake_token *t = token ? token_find(token) : NULL;
        cJSON *j = body && *body ? cJSON_Parse(body) : NULL;
        char *out = NULL;

        *status = 200;
        if (strncmp(path, "/v1/auth/", 9) == 0 && strstr(path, "/login")) {
                const char *mount = path + 9;

                srv.logins++;
                snprintf(srv.last_login_body, sizeof srv.last_login_body, "%s", body ? body : "");
                srv.login_had_token = token != NULL;
                if (srv.login_delay_ms) {
                        pthread_mutex_unlock(&srv.lock);
                        usleep(srv.login_delay_ms * 1000);
                        pthread_mutex_lock(&srv.lock);
                }
                if (srv.login_answer)
                        out = strdup(srv.login_answer);
                else if (strncmp(mount, "approle/", 8) == 0 || strncmp(mount, "my-approle/", 11) == 0) {
                        if (!eq(json_str(j, "role_id"), "fake-role-id") ||
                            !eq(json_str(j, "secret_id"), "fake-secret-id") || srv.secret_id_uses == 0)
                                out = ERR("invalid secret id");
                        else {
                                if (srv.secret_id_uses > 0)
                                        srv.secret_id_uses--;
                                out = issue();
                        }
                } else if (strncmp(mount, "kubernetes/", 11) == 0 || strncmp(mount, "jwt/", 4) == 0) {
                        if (!eq(json_str(j, "role"), "fake-role") || !eq(json_str(j, "jwt"), "fake.jwt.value"))
                                out = ERR("error validating token");
                        else
                                out = issue();
                } else if (strncmp(mount, "cert/", 5) == 0)
                        out = issue();
                else
                        out = ERR("missing client token");
        } else if (strcmp(path, "/v1/sys/wrapping/unwrap") == 0) {
                srv.unwraps++;
                if (!eq(token, "fake-wrapping-token") || srv.wrap_used)
                        out = ERR("wrapping token is not valid or does not exist");
                else {
                        srv.wrap_used = true;
                        out = strdup("{\"request_id\":\"x\",\"lease_id\":\"\",\"renewable\":false,\"lease_duration\":0,"
                                     "\"data\":{\"secret_id\":\"fake-secret-id\",\"secret_id_accessor\":\"a\","
                                     "\"secret_id_ttl\":0},\"wrap_info\":null,\"warnings\":null,\"auth\":null}");
                }
        } else if (strcmp(path, "/v1/auth/token/renew-self") == 0) {
                srv.renews++;
                if (!t || !t->valid)
                        out = DENIED;
                else if (srv.renew_answer)
                        out = strdup(srv.renew_answer);
                else {
                        unsigned ttl = t->max_ttl && t->max_ttl < t->ttl ? t->max_ttl : t->ttl;

                        t->max_ttl = t->max_ttl > ttl ? t->max_ttl - ttl : t->max_ttl;
                        out = ve_asprintf("{\"request_id\":\"x\",\"lease_id\":\"\",\"renewable\":false,"
                                          "\"lease_duration\":0,\"data\":null,\"wrap_info\":null,\"warnings\":null,"
                                          "\"auth\":{\"client_token\":\"%s\",\"lease_duration\":%u,\"renewable\":true}}",
                                          t->id, ttl);
                }
        } else if (strcmp(path, "/v1/auth/token/lookup-self") == 0) {
                srv.lookups++;
                if (!t || !t->valid)
                        out = DENIED;
                else
                        out = ve_asprintf("{\"request_id\":\"x\",\"lease_id\":\"\",\"renewable\":false,"
                                          "\"lease_duration\":0,\"data\":{\"id\":\"%s\",\"ttl\":%u,"
                                          "\"creation_ttl\":%u,\"renewable\":%s},\"wrap_info\":null,"
                                          "\"warnings\":null,\"auth\":null}",
                                          t->id, t->ttl, t->ttl, t->renewable ? "true" : "false");
        } else if (strcmp(path, "/v1/auth/token/revoke-self") == 0) {
                srv.revokes++;
                if (!t || !t->valid)
                        out = DENIED;
                else {
                        t->valid = false;
                        *status = 204;
                        out = strdup("");
                }
        } else {
                *status = 404;
                out = strdup("{\"errors\":[]}");
        }
        (void) method;
        cJSON_Delete(j);
        return out;
}

/* Every request of httpd, answered by handle() under srv.lock. */
static char *answer(const struct httpd_request *req, int *status, void *userdata) {
        char *out;

        (void) userdata;
        pthread_mutex_lock(&srv.lock);
        out = handle(req->method, req->target, req->token, req->body, status);
        pthread_mutex_unlock(&srv.lock);
        return out;
}

static struct httpd httpd = { .handler = answer };

static void server_reset(void) {
        pthread_mutex_lock(&srv.lock);
        srv.ttl = 300;
        srv.max_ttl = 0;
        srv.renewable = true;
        srv.login_delay_ms = 0;
        srv.secret_id_uses = -1;
        srv.wrap_used = false;
        srv.login_answer = NULL;
        srv.renew_answer = NULL;
        srv.logins = srv.unwraps = srv.renews = srv.lookups = srv.revokes = 0;
        srv.last_login_body[0] = 0;
        srv.n_tokens = 0;
        pthread_mutex_unlock(&srv.lock);
}

static unsigned count(unsigned *field) {
        unsigned n;

        pthread_mutex_lock(&srv.lock);
        n = *field;
        pthread_mutex_unlock(&srv.lock);
        return n;
}

static void server_revoke_all(void) {
        pthread_mutex_lock(&srv.lock);
        for (unsigned i = 0; i < srv.n_tokens; i++)
                srv.tokens[i].valid = false;
        pthread_mutex_unlock(&srv.lock);
}

/* ---- environment, clock, log ---- */

static const char *env_vars[32];
static char tmpdir[] = "/tmp/vaultenv-test-auth.XXXXXX";
static char addr[64];

static const char *fake_env(const char *name) {
        size_t n = strlen(name);

        if (strcmp(name, "VAULT_ADDR") == 0)
                return addr;
        if (strcmp(name, "HOME") == 0)
                return tmpdir;
        for (size_t i = 0; env_vars[i]; i++)
                if (strncmp(env_vars[i], name, n) == 0 && env_vars[i][n] == '=')
                        return env_vars[i] + n + 1;
        return NULL;
}

static _Atomic uint64_t fake_now = 1000000;
static uint64_t fake_clock(void) {
        return fake_now;
}

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char logbuf[65536];
static size_t loglen;

static void log_collect(void *userdata, enum ve_log_level level, const char *msg) {
        pthread_mutex_lock(&log_lock);
        loglen += (size_t) snprintf(logbuf + loglen, sizeof logbuf - loglen, "%s\n", msg);
        if (loglen >= sizeof logbuf)
                loglen = sizeof logbuf - 1;
        pthread_mutex_unlock(&log_lock);
}

static bool log_has(const char *s) {
        bool r;

        pthread_mutex_lock(&log_lock);
        r = strstr(logbuf, s) != NULL;
        pthread_mutex_unlock(&log_lock);
        return r;
}

static void log_clear(void) {
        pthread_mutex_lock(&log_lock);
        loglen = 0;
        logbuf[0] = 0;
        pthread_mutex_unlock(&log_lock);
}

static char *tpath(const char *name) {
        return ve_asprintf("%s/%s", tmpdir, name);
}

static void write_file(const char *name, const char *content, mode_t mode) {
        char *p = tpath(name);
        FILE *f;

        unlink(p);
        f = fopen(p, "w");
        CU_ASSERT_FATAL(f != NULL);
        fputs(content, f);
        fclose(f);
        chmod(p, mode);
        free(p);
}

/* A client for the env in env_vars: settings, transport, auth. */
struct client {
        struct ve_settings *s;
        struct ve_http *h;
        struct ve_auth *a;
};

static int client_new(struct client *c, char **ret_error) {
        int r;

        *c = (struct client) {};
        CU_ASSERT_FATAL(ve_settings_load(fake_env, &c->s) == 0);
        CU_ASSERT_FATAL(ve_http_new(c->s, &c->h, NULL) == 0);
        r = ve_auth_new(c->s, c->h, &c->a, ret_error);
        if (r == 0)
                ve_auth_set_clock(c->a, fake_clock);
        return r;
}

static void client_free(struct client *c) {
        ve_auth_free(c->a);
        ve_http_free(c->h);
        ve_settings_free(c->s);
}

/* The token now, or NULL; asserts success. */
static char *tok(struct client *c) {
        char *t = NULL, *err = NULL;

        CU_ASSERT_EQUAL(ve_auth_token(c->a, &t, &err), 0);
        CU_ASSERT_PTR_NULL(err);
        free(err);
        return t;
}

#define APPROLE_ENV "VAULT_ROLE_ID=fake-role-id", "VAULT_SECRET_ID=fake-secret-id"
#define SET_ENV(...) do { \
                const char *v_[] = { __VA_ARGS__, NULL }; \
                memcpy(env_vars, v_, sizeof v_); \
                server_reset(); \
                log_clear(); \
        } while (0)

/* ---- detection and configuration ---- */

static enum ve_auth_method detect_ok(void) {
        struct ve_settings *s = NULL;
        enum ve_auth_method m = 99;
        char *err = NULL;

        CU_ASSERT_FATAL(ve_settings_load(fake_env, &s) == 0);
        CU_ASSERT_EQUAL(ve_auth_detect(s, &m, &err), 0);
        CU_ASSERT_PTR_NULL(err);
        free(err);
        ve_settings_free(s);
        return m;
}

static bool detect_fails(const char *needle) {
        struct ve_settings *s = NULL;
        enum ve_auth_method m;
        char *err = NULL;
        bool ok;

        CU_ASSERT_FATAL(ve_settings_load(fake_env, &s) == 0);
        ok = ve_auth_detect(s, &m, &err) == -EINVAL && err && strstr(err, needle) && !strchr(err, '\n');
        free(err);
        ve_settings_free(s);
        return ok;
}

static void test_detect(void) {
        char *k8s = tpath("k8s-token");

        write_file("k8s-token", "fake.jwt.value", 0600);
        SET_ENV("VAULT_K8S_TOKEN_FILE=/nonexistent/token");
        CU_ASSERT_EQUAL(detect_ok(), VE_AUTH_TOKEN);
        SET_ENV("VAULT_TOKEN=fake-t", APPROLE_ENV);
        CU_ASSERT_EQUAL(detect_ok(), VE_AUTH_TOKEN);
        SET_ENV(APPROLE_ENV);
        CU_ASSERT_EQUAL(detect_ok(), VE_AUTH_APPROLE);
        SET_ENV("VAULT_ROLE_ID_FILE=/x", "VAULT_SECRET_ID_FILE=/y");
        CU_ASSERT_EQUAL(detect_ok(), VE_AUTH_APPROLE);
        SET_ENV("VAULT_AUTH_ROLE=r", "VAULT_JWT_FILE=/x");
        CU_ASSERT_EQUAL(detect_ok(), VE_AUTH_JWT);
        {
                char *e = ve_asprintf("VAULT_K8S_TOKEN_FILE=%s", k8s);

                SET_ENV("VAULT_AUTH_ROLE=r", e);
                CU_ASSERT_EQUAL(detect_ok(), VE_AUTH_KUBERNETES);
                /* an explicit method wins over detection */
                SET_ENV("VAULT_AUTH_METHOD=token", "VAULT_AUTH_ROLE=r", e);
                CU_ASSERT_EQUAL(detect_ok(), VE_AUTH_TOKEN);
                SET_ENV("VAULT_AUTH_METHOD=approle", "VAULT_TOKEN=fake-t", APPROLE_ENV);
                CU_ASSERT_EQUAL(detect_ok(), VE_AUTH_APPROLE);
                free(e);
        }
        SET_ENV("VAULT_AUTH_METHOD=cert", "VAULT_CLIENT_CERT=/c", "VAULT_CLIENT_KEY=/k");
        CU_ASSERT_EQUAL(detect_ok(), VE_AUTH_CERT);
        /* AppRole without a secret id (a VAULTENV_SCRUB parent kept it from
         * its child) but with the token sink: the sink's token may serve */
        SET_ENV("VAULT_ROLE_ID=fake-role-id", "VAULTENV_TOKEN_SINK=/nonexistent/sink");
        CU_ASSERT_EQUAL(detect_ok(), VE_AUTH_APPROLE);
        SET_ENV("VAULT_ROLE_ID_FILE=/x", "VAULTENV_TOKEN_SINK=/nonexistent/sink");
        CU_ASSERT_EQUAL(detect_ok(), VE_AUTH_APPROLE);
        SET_ENV("VAULT_AUTH_METHOD=approle", "VAULT_ROLE_ID=fake-role-id", "VAULTENV_TOKEN_SINK=/nonexistent/sink");
        CU_ASSERT_EQUAL(detect_ok(), VE_AUTH_APPROLE);

        /* what is missing is named */
        SET_ENV("VAULT_AUTH_ROLE=r", "VAULT_K8S_TOKEN_FILE=/nonexistent/token");
        CU_ASSERT_TRUE(detect_fails("no Kubernetes token at /nonexistent/token"));
        SET_ENV("VAULT_JWT_FILE=/x");
        CU_ASSERT_TRUE(detect_fails("VAULT_AUTH_ROLE"));
        SET_ENV("VAULT_SECRET_ID=fake-s");
        CU_ASSERT_TRUE(detect_fails("VAULT_ROLE_ID"));
        SET_ENV("VAULT_AUTH_METHOD=approle", "VAULT_ROLE_ID=fake-role-id");
        CU_ASSERT_TRUE(detect_fails("VAULT_SECRET_ID or VAULT_SECRET_ID_FILE"));
        SET_ENV("VAULT_AUTH_METHOD=approle");
        CU_ASSERT_TRUE(detect_fails("VAULT_ROLE_ID or VAULT_ROLE_ID_FILE"));
        /* the sink stands in for the secret id, never for the role id */
        SET_ENV("VAULT_AUTH_METHOD=approle", "VAULTENV_TOKEN_SINK=/nonexistent/sink");
        CU_ASSERT_TRUE(detect_fails("VAULT_ROLE_ID or VAULT_ROLE_ID_FILE"));
        SET_ENV("VAULT_SECRET_ID=fake-s", "VAULTENV_TOKEN_SINK=/nonexistent/sink");
        CU_ASSERT_TRUE(detect_fails("VAULT_ROLE_ID"));
        /* nor for another method's inputs */
        SET_ENV("VAULT_AUTH_METHOD=jwt", "VAULT_AUTH_ROLE=r", "VAULTENV_TOKEN_SINK=/nonexistent/sink");
        CU_ASSERT_TRUE(detect_fails("jwt login needs VAULT_JWT_FILE"));
        SET_ENV("VAULT_AUTH_METHOD=kubernetes");
        CU_ASSERT_TRUE(detect_fails("kubernetes login needs VAULT_AUTH_ROLE"));
        SET_ENV("VAULT_AUTH_METHOD=jwt", "VAULT_AUTH_ROLE=r");
        CU_ASSERT_TRUE(detect_fails("jwt login needs VAULT_JWT_FILE"));
        SET_ENV("VAULT_AUTH_METHOD=cert", "VAULT_CLIENT_CERT=/c");
        CU_ASSERT_TRUE(detect_fails("cert login needs VAULT_CLIENT_KEY"));
        free(k8s);
}

static void test_json_object(void) {
        char *s;

        s = ve_auth_json_object(2, (const char *const[]) { "role_id", "a\"b\\c\n\x01", "secret_id", "é" });
        CU_ASSERT_STRING_EQUAL(s, "{\"role_id\":\"a\\\"b\\\\c\\n\\u0001\",\"secret_id\":\"é\"}");
        free(s);
        s = ve_auth_json_object(1, (const char *const[]) { "name", NULL });
        CU_ASSERT_STRING_EQUAL(s, "{}");
        free(s);
}

static void test_parse_grant(void) {
        /* bodies as recorded from Vault 1.8 (tokens replaced) */
        static const char login[] =
                "{\"request_id\":\"767a\",\"lease_id\":\"\",\"renewable\":false,\"lease_duration\":0,\"data\":null,"
                "\"wrap_info\":null,\"warnings\":null,\"auth\":{\"client_token\":\"fake-s.1\",\"accessor\":\"E\","
                "\"policies\":[\"app-read\",\"default\"],\"token_policies\":[\"app-read\",\"default\"],"
                "\"metadata\":{\"role_name\":\"web\"},\"lease_duration\":3600,\"renewable\":true,"
                "\"entity_id\":\"d\",\"token_type\":\"service\",\"orphan\":true}}";
        static const char lookup[] =
                "{\"request_id\":\"0f72\",\"lease_id\":\"\",\"renewable\":false,\"lease_duration\":0,\"data\":{"
                "\"accessor\":\"E\",\"creation_time\":1795346139,\"creation_ttl\":3600,\"display_name\":\"approle\","
                "\"expire_time\":\"2026-11-22T12:15:39.607513438Z\",\"explicit_max_ttl\":0,\"id\":\"fake-s.1\","
                "\"num_uses\":0,\"orphan\":true,\"path\":\"auth/approle/login\",\"renewable\":true,\"ttl\":3596,"
                "\"type\":\"service\"},\"wrap_info\":null,\"warnings\":null,\"auth\":null}";
        struct ve_auth_grant g = {};
        char *v = NULL;

        CU_ASSERT_EQUAL(ve_auth_parse_grant(login, sizeof login - 1, false, &g, NULL), 0);
        CU_ASSERT_STRING_EQUAL(g.token, "fake-s.1");
        CU_ASSERT_EQUAL(g.ttl_s, 3600);
        CU_ASSERT_TRUE(g.renewable);
        ve_auth_grant_done(&g);
        CU_ASSERT_EQUAL(ve_auth_parse_grant(lookup, sizeof lookup - 1, true, &g, NULL), 0);
        CU_ASSERT_STRING_EQUAL(g.token, "fake-s.1");
        CU_ASSERT_EQUAL(g.ttl_s, 3596);
        CU_ASSERT_EQUAL(g.full_ttl_s, 3600);
        CU_ASSERT_TRUE(g.renewable);
        ve_auth_grant_done(&g);
        CU_ASSERT_EQUAL(ve_auth_parse_grant("{\"auth\":null}", 13, false, &g, NULL), -EPROTO);
        CU_ASSERT_EQUAL(ve_auth_parse_grant("{bad", 4, false, &g, NULL), -EPROTO);
        CU_ASSERT_EQUAL(ve_auth_parse_data_string("{\"data\":{\"secret_id\":\"fake-x\"}}", 31, "secret_id", &v,
                                                  NULL), 0);
        CU_ASSERT_STRING_EQUAL(v, "fake-x");
        ve_erase_free(v);
        CU_ASSERT_EQUAL(ve_auth_parse_data_string("{\"data\":{\"keys\":[]}}", 20, "secret_id", &v, NULL), -ENOENT);
}

/* Login, renew-self and lookup-self answers the checked parser (or the
 * token checks) refuse: -EPROTO, the reason, and no token, never a
 * shortened one. */
struct bad_answer {
        const char *body;
        const char *why;
};

#define AUTH(inner) "{\"request_id\":\"x\",\"lease_id\":\"\",\"renewable\":false,\"lease_duration\":0," \
        "\"data\":null,\"wrap_info\":null,\"warnings\":null,\"auth\":" inner "}"

static const struct bad_answer bad_logins[] = {
        /* (a) cJSON alone would cut the token at the NUL: "fake-tok-nul" */
        { AUTH("{\"client_token\":\"fake-tok-nul\\u0000evil\",\"lease_duration\":60,\"renewable\":true}"),
          "auth.client_token in the answer from Vault contains a NUL byte" },
        /* (b) cJSON alone would take the first, Go's decoder the last */
        { AUTH("{\"client_token\":\"fake-tok-first\",\"client_token\":\"fake-tok-last\",\"lease_duration\":60}"),
          "key \"client_token\" appears twice in one object of the answer from Vault" },
        /* (c) cJSON alone stops after the first value */
        { AUTH("{\"client_token\":\"fake-tok-trail\",\"lease_duration\":60}") " trailing",
          "malformed JSON from Vault" },
        { AUTH("{\"client_token\":\"fake-tok-trail\"}") "{}", "malformed JSON from Vault" },
        /* (d) */
        { AUTH("null"), "the answer from Vault holds no auth block" },
        { "[]", "the answer from Vault holds no auth block" },
        /* (e) */
        { AUTH("{\"client_token\":12345,\"lease_duration\":60}"),
          "auth.client_token in the answer from Vault is not a string" },
        { AUTH("{\"client_token\":[\"fake-tok-arr\"]}"),
          "auth.client_token in the answer from Vault is not a string" },
        /* more of the same kind */
        { AUTH("{\"client_token\":\"fake-tok-ctl\\nX-Evil: 1\"}"),
          "auth.client_token in the answer from Vault contains a control character" },
        { AUTH("{\"client_token\":\"fake-tok-ttl\",\"lease_duration\":\"60\"}"),
          "auth.lease_duration in the answer from Vault is not a number" },
        { AUTH("{\"client_token\":\"fake-tok-ren\",\"renewable\":\"yes\"}"),
          "auth.renewable in the answer from Vault is not a boolean" },
        { AUTH("{\"client_token\":\"fake-tok-deep\",\"metadata\":"
               "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}"),
          "JSON from Vault nests deeper than 32 levels" },
        { AUTH("{\"client_token\":\"\"}"), "the answer holds no auth.client_token" },
        { AUTH("{\"client_token\":null}"), "the answer holds no auth.client_token" },
        { AUTH("{}"), "the answer holds no auth.client_token" },
        { NULL, NULL },
};

/* NULL-safe: a missing message is a failed assertion, not a crash. */
static bool streq_null(const char *a, const char *b) {
        return a && b && strcmp(a, b) == 0;
}

#define BODY(literal) literal, sizeof literal - 1

static const char lookup_nul[] = "{\"data\":{\"id\":\"fake-tok-nul\\u0000evil\",\"ttl\":60}}";
static const char lookup_dup[] = "{\"data\":{\"id\":\"fake-tok-a\",\"ttl\":60,\"ttl\":99999}}";
static const char unwrap_nul[] = "{\"data\":{\"secret_id\":\"fake-sid\\u0000evil\"}}";
static const char unwrap_dup[] = "{\"data\":{\"secret_id\":\"fake-a\",\"secret_id\":\"fake-b\"}}";
static const char unwrap_trailing[] = "{\"data\":{\"secret_id\":\"fake-a\"}} x";
static const char unwrap_number[] = "{\"data\":{\"secret_id\":7}}";

static void test_parse_grant_refused(void) {
        struct ve_auth_grant g = {};
        char *why, *v;

        for (size_t i = 0; bad_logins[i].body; i++) {
                const struct bad_answer *b = &bad_logins[i];
                bool no_token = strstr(b->why, "holds no auth.client_token") != NULL;
                int r;

                why = NULL;
                g = (struct ve_auth_grant) {};
                r = ve_auth_parse_grant(b->body, strlen(b->body), false, &g, &why);
                if (no_token) {
                        /* parsed; no token (the login turns it into the error) */
                        CU_ASSERT_EQUAL(r, 0);
                        CU_ASSERT_PTR_NULL(g.token);
                        CU_ASSERT_PTR_NULL(why);
                } else {
                        if (r != -EPROTO || g.token || !streq_null(why, b->why))
                                fprintf(stderr, "\n  login answer case %zu: not refused as expected\n", i);
                        CU_ASSERT_EQUAL(r, -EPROTO);
                        CU_ASSERT_PTR_NULL(g.token);
                        CU_ASSERT_TRUE(streq_null(why, b->why));
                }
                ve_auth_grant_done(&g);
                free(why);
        }

        /* lookup-self: data.id the same way */
        why = NULL;
        g = (struct ve_auth_grant) {};
        CU_ASSERT_EQUAL(ve_auth_parse_grant(BODY(lookup_nul), true, &g, &why), -EPROTO);
        CU_ASSERT_PTR_NULL(g.token);
        CU_ASSERT_TRUE(streq_null(why, "data.id in the answer from Vault contains a NUL byte"));
        ve_auth_grant_done(&g);
        free(why);
        why = NULL;
        CU_ASSERT_EQUAL(ve_auth_parse_grant(BODY(lookup_dup), true, &g, &why), -EPROTO);
        CU_ASSERT_TRUE(streq_null(why, "key \"ttl\" appears twice in one object of the answer from Vault"));
        ve_auth_grant_done(&g);
        free(why);

        /* the wrapped secret id (sys/wrapping/unwrap) */
        why = v = NULL;
        CU_ASSERT_EQUAL(ve_auth_parse_data_string(BODY(unwrap_nul), "secret_id", &v, &why), -EPROTO);
        CU_ASSERT_PTR_NULL(v);
        CU_ASSERT_TRUE(streq_null(why, "data.secret_id in the answer from Vault contains a NUL byte"));
        ve_erase_free(v);
        free(why);
        why = v = NULL;
        CU_ASSERT_EQUAL(ve_auth_parse_data_string(BODY(unwrap_dup), "secret_id", &v, &why), -EPROTO);
        CU_ASSERT_PTR_NULL(v);
        CU_ASSERT_TRUE(streq_null(why, "key \"secret_id\" appears twice in one object of the answer from Vault"));
        ve_erase_free(v);
        free(why);
        why = v = NULL;
        CU_ASSERT_EQUAL(ve_auth_parse_data_string(BODY(unwrap_trailing), "secret_id", &v, &why), -EPROTO);
        CU_ASSERT_PTR_NULL(v);
        CU_ASSERT_TRUE(streq_null(why, "malformed JSON from Vault"));
        ve_erase_free(v);
        free(why);
        why = v = NULL;
        CU_ASSERT_EQUAL(ve_auth_parse_data_string(BODY(unwrap_number), "secret_id", &v, &why), -EPROTO);
        CU_ASSERT_TRUE(streq_null(why, "data.secret_id in the answer from Vault is not a string"));
        ve_erase_free(v);
        free(why);
}

/* ---- logins ---- */

static void test_approle_login_once(void) {
        struct client c;
        char *t1, *t2;

        SET_ENV(APPROLE_ENV);
        CU_ASSERT_FATAL(client_new(&c, NULL) == 0);
        CU_ASSERT_EQUAL(count(&srv.logins), 0);         /* lazy: nothing at creation */
        t1 = tok(&c);
        t2 = tok(&c);
        CU_ASSERT_PTR_NOT_NULL(t1);
        CU_ASSERT_TRUE(eq(t1, t2));
        CU_ASSERT_EQUAL(count(&srv.logins), 1);
        CU_ASSERT_FALSE(srv.login_had_token);
        CU_ASSERT_STRING_EQUAL(srv.last_login_body, "{\"role_id\":\"fake-role-id\",\"secret_id\":\"fake-secret-id\"}");
        ve_erase_free(t1);
        ve_erase_free(t2);
        client_free(&c);
}

static void test_approle_files_and_mount(void) {
        struct client c;
        char *rid = tpath("role-id"), *sid = tpath("secret-id");
        char *e1 = ve_asprintf("VAULT_ROLE_ID_FILE=%s", rid), *e2 = ve_asprintf("VAULT_SECRET_ID_FILE=%s", sid);
        char *t;

        write_file("role-id", "fake-role-id\n", 0600);
        write_file("secret-id", "  fake-secret-id\r\n", 0644);
        SET_ENV(e1, e2, "VAULT_AUTH_PATH=/my-approle/");
        CU_ASSERT_FATAL(client_new(&c, NULL) == 0);
        t = tok(&c);
        CU_ASSERT_PTR_NOT_NULL(t);
        CU_ASSERT_EQUAL(count(&srv.logins), 1);
        /* 0644 secret id file: a warning naming it; the 0600 one: none */
        CU_ASSERT_TRUE(log_has(sid));
        CU_ASSERT_TRUE(log_has("readable by group or others"));
        CU_ASSERT_FALSE(log_has(rid));
        ve_erase_free(t);
        client_free(&c);
        free(rid);
        free(sid);
        free(e1);
        free(e2);
}

static void test_approle_refused(void) {
        struct client c;
        char *t = NULL, *err = NULL;

        SET_ENV("VAULT_ROLE_ID=fake-role-id", "VAULT_SECRET_ID=fake-wrong");
        CU_ASSERT_FATAL(client_new(&c, NULL) == 0);
        CU_ASSERT_EQUAL(ve_auth_token(c.a, &t, &err), -EACCES);
        CU_ASSERT_PTR_NOT_NULL_FATAL(err);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "approle login at auth/approle/login failed: invalid secret id"));
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "VAULTENV_TOKEN_SINK"));     /* the hint */
        CU_ASSERT_PTR_NULL(strchr(err, '\n'));
        free(err);
        err = NULL;
        /* the failure is remembered for a moment: no second login */
        CU_ASSERT_EQUAL(ve_auth_token(c.a, &t, &err), -EACCES);
        CU_ASSERT_EQUAL(count(&srv.logins), 1);
        free(err);
        err = NULL;
        fake_now += 60 * 1000;
        CU_ASSERT_EQUAL(ve_auth_token(c.a, &t, &err), -EACCES);
        CU_ASSERT_EQUAL(count(&srv.logins), 2);
        free(err);
        client_free(&c);
}

static void test_wrapped_secret_id(void) {
        struct client c;
        char *t;

        SET_ENV("VAULT_ROLE_ID=fake-role-id", "VAULT_SECRET_ID=fake-wrapping-token", "VAULT_SECRET_ID_WRAPPED=true");
        CU_ASSERT_FATAL(client_new(&c, NULL) == 0);
        t = tok(&c);
        CU_ASSERT_PTR_NOT_NULL(t);
        CU_ASSERT_EQUAL(count(&srv.unwraps), 1);
        CU_ASSERT_EQUAL(count(&srv.logins), 1);
        ve_erase_free(t);
        /* a re-login does not unwrap the single-use wrapping token again */
        server_revoke_all();
        CU_ASSERT_TRUE(ve_auth_rejected(c.a, "fake-tok-1"));
        t = tok(&c);
        CU_ASSERT_PTR_NOT_NULL(t);
        CU_ASSERT_EQUAL(count(&srv.unwraps), 1);
        CU_ASSERT_EQUAL(count(&srv.logins), 2);
        ve_erase_free(t);
        client_free(&c);
}

static void test_kubernetes_jwt_cert(void) {
        char *jwt = tpath("jwt"), *e = ve_asprintf("VAULT_K8S_TOKEN_FILE=%s", jwt);
        char *j = ve_asprintf("VAULT_JWT_FILE=%s", jwt);
        struct client c;
        char *t;

        write_file("jwt", "fake.jwt.value\n", 0600);
        SET_ENV("VAULT_AUTH_ROLE=fake-role", e);
        CU_ASSERT_FATAL(client_new(&c, NULL) == 0);
        t = tok(&c);
        CU_ASSERT_PTR_NOT_NULL(t);
        CU_ASSERT_STRING_EQUAL(srv.last_login_body, "{\"role\":\"fake-role\",\"jwt\":\"fake.jwt.value\"}");
        ve_erase_free(t);
        client_free(&c);

        SET_ENV("VAULT_AUTH_ROLE=fake-role", j);
        CU_ASSERT_FATAL(client_new(&c, NULL) == 0);
        t = tok(&c);
        CU_ASSERT_PTR_NOT_NULL(t);
        CU_ASSERT_EQUAL(count(&srv.logins), 1);
        ve_erase_free(t);
        client_free(&c);

        /* cert: no secret in the body; name only with a role */
        SET_ENV("VAULT_AUTH_METHOD=cert", "VAULT_CLIENT_CERT=/c", "VAULT_CLIENT_KEY=/k");
        CU_ASSERT_EQUAL(ve_settings_load(fake_env, &c.s), 0);
        {
                struct ve_auth_config cfg = { .method = VE_AUTH_CERT, .mount = "cert", .role = "web" };
                struct ve_auth_grant g = {};
                struct ve_http *h = NULL;

                CU_ASSERT_FATAL(ve_http_new(c.s, &h, NULL) == 0);
                CU_ASSERT_EQUAL(ve_auth_cert_login(&cfg, h, &g, NULL), 0);
                CU_ASSERT_STRING_EQUAL(srv.last_login_body, "{\"name\":\"web\"}");
                ve_auth_grant_done(&g);
                ve_http_free(h);
        }
        ve_settings_free(c.s);

        /* a missing JWT file is named */
        unlink(jwt);
        SET_ENV("VAULT_AUTH_ROLE=fake-role", j);
        CU_ASSERT_FATAL(client_new(&c, NULL) == 0);
        {
                char *err = NULL;

                t = NULL;
                CU_ASSERT_EQUAL(ve_auth_token(c.a, &t, &err), -ENOENT);
                CU_ASSERT_PTR_NOT_NULL(err && strstr(err, jwt) && strstr(err, "VAULT_JWT_FILE"));
                free(err);
        }
        CU_ASSERT_EQUAL(count(&srv.logins), 0);
        client_free(&c);
        free(jwt);
        free(e);
        free(j);
}

/* Each refused login answer: the login fails with the reason, no token is
 * handed out, none is used for a request, and none is logged. */
static void test_login_refused_answer(void) {
        for (size_t i = 0; bad_logins[i].body; i++) {
                const struct bad_answer *b = &bad_logins[i];
                struct client c;
                char *t = (char *) 0x1, *err = NULL, *want;
                int r;

                SET_ENV(APPROLE_ENV);
                srv.login_answer = b->body;
                CU_ASSERT_FATAL(client_new(&c, NULL) == 0);
                r = ve_auth_token(c.a, &t, &err);
                want = ve_asprintf("approle login at auth/approle/login: %s", b->why);
                if (r != -EPROTO || !streq_null(err, want))
                        fprintf(stderr, "\n  login answer case %zu: not refused as expected\n", i);
                CU_ASSERT_EQUAL(r, -EPROTO);
                CU_ASSERT_PTR_EQUAL(t, (char *) 0x1);   /* not written */
                CU_ASSERT_TRUE(streq_null(err, want));
                CU_ASSERT_PTR_NULL(err ? strstr(err, "fake-tok") : NULL);
                CU_ASSERT_PTR_NULL(err ? strstr(err, "evil") : NULL);
                if (t != (char *) 0x1)
                        ve_erase_free(t);
                t = (char *) 0x1;
                free(want);
                free(err);
                err = NULL;
                /* within the hold: the same error, no second login */
                CU_ASSERT_EQUAL(ve_auth_token(c.a, &t, &err), r);
                if (t != (char *) 0x1)
                        ve_erase_free(t);
                free(err);
                CU_ASSERT_EQUAL(count(&srv.logins), 1);
                CU_ASSERT_EQUAL(count(&srv.lookups), 0);
                CU_ASSERT_EQUAL(ve_auth_revoke(c.a), 0);  /* no token: nothing to revoke */
                CU_ASSERT_EQUAL(count(&srv.revokes), 0);
                CU_ASSERT_FALSE(log_has("fake-tok"));
                CU_ASSERT_FALSE(log_has("evil"));
                client_free(&c);
        }
}

/* A renewal whose answer is refused: not taken; a new login instead. */
static void test_renew_refused_answer(void) {
        struct client c;
        char *t1, *t2;

        SET_ENV(APPROLE_ENV);
        srv.ttl = 30;
        srv.renew_answer = AUTH("{\"client_token\":\"fake-tok-r\",\"lease_duration\":30,\"lease_duration\":9999,"
                                "\"renewable\":true}");
        CU_ASSERT_FATAL(client_new(&c, NULL) == 0);
        t1 = tok(&c);
        fake_now += 21 * 1000;
        t2 = tok(&c);
        CU_ASSERT_EQUAL(count(&srv.renews), 1);
        CU_ASSERT_EQUAL(count(&srv.logins), 2);
        CU_ASSERT_FALSE(eq(t1, t2));
        CU_ASSERT_TRUE(log_has("renewing the token: key \"lease_duration\" appears twice in one object of the "
                               "answer from Vault; logging in again"));
        ve_erase_free(t1);
        ve_erase_free(t2);
        client_free(&c);
}

struct flight {
        struct client *c;
        pthread_barrier_t *b;
        char *t;
        int r;
};

static void *flight_main(void *p) {
        struct flight *f = p;

        char *err = NULL;

        /* no CU_ASSERT here: CUnit is not thread-safe */
        pthread_barrier_wait(f->b);
        f->r = ve_auth_token(f->c->a, &f->t, &err);
        if (f->r < 0)
                f->t = NULL;
        free(err);
        return NULL;
}

static void test_single_flight(void) {
        enum { N = 16 };
        struct flight f[N];
        pthread_t th[N];
        pthread_barrier_t b;
        struct client c;

        SET_ENV(APPROLE_ENV);
        srv.login_delay_ms = 200;
        CU_ASSERT_FATAL(client_new(&c, NULL) == 0);
        pthread_barrier_init(&b, NULL, N);
        for (int i = 0; i < N; i++) {
                f[i] = (struct flight) { .c = &c, .b = &b };
                pthread_create(&th[i], NULL, flight_main, &f[i]);
        }
        for (int i = 0; i < N; i++)
                pthread_join(th[i], NULL);
        CU_ASSERT_EQUAL(count(&srv.logins), 1);
        CU_ASSERT_PTR_NOT_NULL(f[0].t);
        for (int i = 0; i < N; i++) {
                CU_ASSERT_EQUAL(f[i].r, 0);
                CU_ASSERT_TRUE(eq(f[i].t, f[0].t));
        }
        for (int i = 0; i < N; i++)
                ve_erase_free(f[i].t);
        pthread_barrier_destroy(&b);
        client_free(&c);
}

/* ---- the token's life ---- */

static void test_renew_and_relogin(void) {
        struct client c;
        char *t1, *t2, *t3;

        SET_ENV(APPROLE_ENV);
        srv.ttl = 30;
        CU_ASSERT_FATAL(client_new(&c, NULL) == 0);
        t1 = tok(&c);
        fake_now += 19 * 1000;          /* before 2/3 of 30 s: nothing */
        ve_erase_free(tok(&c));
        CU_ASSERT_EQUAL(count(&srv.renews), 0);
        fake_now += 2 * 1000;           /* past 2/3: renewed, same token */
        t2 = tok(&c);
        CU_ASSERT_EQUAL(count(&srv.renews), 1);
        CU_ASSERT_EQUAL(count(&srv.logins), 1);
        CU_ASSERT_TRUE(eq(t1, t2));
        /* the renewal restarted the clock */
        fake_now += 10 * 1000;
        ve_erase_free(tok(&c));
        CU_ASSERT_EQUAL(count(&srv.renews), 1);
        /* renewal refused (token revoked behind our back): log in again */
        server_revoke_all();
        fake_now += 15 * 1000;
        t3 = tok(&c);
        CU_ASSERT_EQUAL(count(&srv.renews), 2);
        CU_ASSERT_EQUAL(count(&srv.logins), 2);
        CU_ASSERT_FALSE(eq(t3, t1));
        ve_erase_free(t1);
        ve_erase_free(t2);
        ve_erase_free(t3);
        client_free(&c);
}

static void test_not_renewable(void) {
        struct client c;
        char *t1, *t2;

        SET_ENV(APPROLE_ENV);
        srv.ttl = 30;
        srv.renewable = false;
        CU_ASSERT_FATAL(client_new(&c, NULL) == 0);
        t1 = tok(&c);
        fake_now += 21 * 1000;
        t2 = tok(&c);
        CU_ASSERT_EQUAL(count(&srv.renews), 0);
        CU_ASSERT_EQUAL(count(&srv.logins), 2);
        CU_ASSERT_FALSE(eq(t1, t2));
        ve_erase_free(t1);
        ve_erase_free(t2);
        client_free(&c);
}

static void test_max_ttl(void) {
        struct client c;

        SET_ENV(APPROLE_ENV);
        srv.ttl = 30;
        srv.max_ttl = 40;       /* the first renewal gets 30 s, the second only 10 s */
        CU_ASSERT_FATAL(client_new(&c, NULL) == 0);
        ve_erase_free(tok(&c));
        fake_now += 21 * 1000;
        ve_erase_free(tok(&c));
        CU_ASSERT_EQUAL(count(&srv.renews), 1);
        fake_now += 21 * 1000;
        ve_erase_free(tok(&c));         /* capped: 10 s instead of 30 */
        CU_ASSERT_EQUAL(count(&srv.renews), 2);
        CU_ASSERT_EQUAL(count(&srv.logins), 1);
        fake_now += 7 * 1000;
        ve_erase_free(tok(&c));         /* the max TTL is near: log in, do not renew */
        CU_ASSERT_EQUAL(count(&srv.renews), 2);
        CU_ASSERT_EQUAL(count(&srv.logins), 2);
        client_free(&c);
}

static void test_rejected(void) {
        struct client c;
        char *t1, *t2;

        SET_ENV(APPROLE_ENV);
        CU_ASSERT_FATAL(client_new(&c, NULL) == 0);
        t1 = tok(&c);
        /* a 403 of the policy: lookup-self accepts the token; no login */
        CU_ASSERT_FALSE(ve_auth_rejected(c.a, t1));
        CU_ASSERT_EQUAL(count(&srv.lookups), 1);
        CU_ASSERT_EQUAL(count(&srv.logins), 1);
        /* the token is gone at the server: dropped, one new login */
        server_revoke_all();
        CU_ASSERT_TRUE(ve_auth_rejected(c.a, t1));
        t2 = tok(&c);
        CU_ASSERT_EQUAL(count(&srv.logins), 2);
        CU_ASSERT_FALSE(eq(t1, t2));
        /* a stale refusal of the old token, after the new one came */
        CU_ASSERT_TRUE(ve_auth_rejected(c.a, t1));
        CU_ASSERT_EQUAL(count(&srv.logins), 2);
        ve_erase_free(t1);
        ve_erase_free(t2);
        client_free(&c);
}

static void test_token_method(void) {
        struct client c;
        char *t, *f = tpath("tokfile"), *e = ve_asprintf("VAULT_TOKEN_FILE=%s", f);

        /* VAULT_TOKEN: as given, never replaced */
        SET_ENV("VAULT_TOKEN=fake-given");
        CU_ASSERT_FATAL(client_new(&c, NULL) == 0);
        t = tok(&c);
        CU_ASSERT_STRING_EQUAL(t, "fake-given");
        CU_ASSERT_FALSE(ve_auth_rejected(c.a, t));
        CU_ASSERT_EQUAL(ve_auth_revoke(c.a), 0);
        CU_ASSERT_EQUAL(count(&srv.revokes), 0);
        ve_erase_free(t);
        client_free(&c);

        /* a token file (an agent sink): re-read when Vault refuses */
        write_file("tokfile", "fake-file-1\n", 0600);
        SET_ENV(e);
        CU_ASSERT_FATAL(client_new(&c, NULL) == 0);
        t = tok(&c);
        CU_ASSERT_STRING_EQUAL(t, "fake-file-1");
        CU_ASSERT_FALSE(ve_auth_rejected(c.a, t));      /* unchanged: no retry */
        ve_erase_free(t);
        write_file("tokfile", "fake-file-2", 0640);
        CU_ASSERT_TRUE(ve_auth_rejected(c.a, "fake-file-1"));
        t = tok(&c);
        CU_ASSERT_STRING_EQUAL(t, "fake-file-2");
        CU_ASSERT_TRUE(log_has(f));     /* 0640: warned, naming the file */
        CU_ASSERT_EQUAL(count(&srv.logins), 0);
        ve_erase_free(t);
        client_free(&c);

        /* no token at all: none sent */
        SET_ENV("VAULT_TOKEN_FILE=/nonexistent/tok");
        CU_ASSERT_FATAL(client_new(&c, NULL) == 0);
        t = tok(&c);
        CU_ASSERT_PTR_NULL(t);
        client_free(&c);
        free(f);
        free(e);
}

static int revoke_in_child(void *a) {
        ve_auth_atfork_child(a);
        return ve_auth_revoke(a) == 0 ? 0 : 1;
}

static void test_revoke(void) {
        struct client c;
        char *t;

        SET_ENV(APPROLE_ENV);
        CU_ASSERT_FATAL(client_new(&c, NULL) == 0);
        CU_ASSERT_EQUAL(ve_auth_revoke(c.a), 0);        /* nothing yet */
        CU_ASSERT_EQUAL(count(&srv.revokes), 0);
        t = tok(&c);
        /* a forked child does not revoke its parent's token */
        ve_auth_atfork_prepare(c.a);   /* as the shim's fork handlers do */
        CU_ASSERT_EQUAL(unit_in_child(revoke_in_child, c.a), 0);
        ve_auth_atfork_parent(c.a);
        CU_ASSERT_EQUAL(count(&srv.revokes), 0);
        /* the process that logged in does */
        CU_ASSERT_EQUAL(ve_auth_revoke(c.a), 0);
        CU_ASSERT_EQUAL(count(&srv.revokes), 1);
        pthread_mutex_lock(&srv.lock);
        CU_ASSERT_FALSE(token_find(t)->valid);
        pthread_mutex_unlock(&srv.lock);
        CU_ASSERT_EQUAL(ve_auth_revoke(c.a), 0);        /* once */
        CU_ASSERT_EQUAL(count(&srv.revokes), 1);
        ve_erase_free(t);
        client_free(&c);
}

static void test_sink(void) {
        char *sink = tpath("sink"), *e = ve_asprintf("VAULTENV_TOKEN_SINK=%s", sink);
        struct client c1, c2, c3;
        char *t1, *t2, *t3, *data = NULL;
        struct stat st;
        size_t len;

        unlink(sink);
        SET_ENV(APPROLE_ENV, e);
        srv.secret_id_uses = 1;         /* single-use */
        CU_ASSERT_FATAL(client_new(&c1, NULL) == 0);
        t1 = tok(&c1);
        CU_ASSERT_EQUAL(count(&srv.logins), 1);
        /* the sink: 0600, ours, holds the token */
        CU_ASSERT_EQUAL_FATAL(lstat(sink, &st), 0);
        CU_ASSERT_TRUE(S_ISREG(st.st_mode));
        CU_ASSERT_EQUAL(st.st_mode & 07777, 0600);
        CU_ASSERT_EQUAL(st.st_uid, geteuid());
        CU_ASSERT_EQUAL(ve_read_file(sink, 4096, &data, &len), 0);
        CU_ASSERT_TRUE(eq(data, t1));
        ve_erase_free(data);

        /* a second process (same settings): adopts it, no login */
        CU_ASSERT_FATAL(client_new(&c2, NULL) == 0);
        t2 = tok(&c2);
        CU_ASSERT_TRUE(eq(t1, t2));
        CU_ASSERT_EQUAL(count(&srv.logins), 1);
        CU_ASSERT_EQUAL(count(&srv.lookups), 1);
        /* it is not its token to revoke */
        CU_ASSERT_EQUAL(ve_auth_revoke(c2.a), 0);
        CU_ASSERT_EQUAL(count(&srv.revokes), 0);

        /* a symbolic link at the sink is not followed */
        {
                char *target = tpath("sink-target");

                write_file("sink-target", t1, 0600);
                unlink(sink);
                CU_ASSERT_EQUAL(symlink(target, sink), 0);
                CU_ASSERT_FATAL(client_new(&c3, NULL) == 0);
                t3 = NULL;
                {
                        char *err = NULL;

                        /* no adoption; the single-use secret id is spent */
                        CU_ASSERT_EQUAL(ve_auth_token(c3.a, &t3, &err), -EACCES);
                        free(err);
                }
                CU_ASSERT_TRUE(log_has("is a symbolic link"));
                CU_ASSERT_EQUAL(count(&srv.lookups), 1);
                client_free(&c3);
                unlink(sink);
                free(target);
        }

        /* the owner revokes and removes the sink it wrote */
        write_file("sink", t1, 0600);
        CU_ASSERT_EQUAL(ve_auth_revoke(c1.a), 0);
        CU_ASSERT_EQUAL(count(&srv.revokes), 1);
        CU_ASSERT_NOT_EQUAL(access(sink, F_OK), 0);
        ve_erase_free(t1);
        ve_erase_free(t2);
        client_free(&c1);
        client_free(&c2);
        free(sink);
        free(e);
}

/* ve_auth_token() fails, with one line that names the sink, what is wrong
 * with it, and the missing secret id; no login is tried. */
static bool sink_only_fails(struct client *c, const char *sink, const char *why) {
        char *t = NULL, *err = NULL, *want = ve_asprintf("VAULTENV_TOKEN_SINK %s %s, and approle login needs "
                                                         "VAULT_SECRET_ID or VAULT_SECRET_ID_FILE", sink, why);
        unsigned logins = count(&srv.logins);
        int r = ve_auth_token(c->a, &t, &err);
        bool ok = r == -EACCES && !t && err && want && strcmp(err, want) == 0 && count(&srv.logins) == logins;

        free(want);
        free(err);
        ve_erase_free(t);
        return ok;
}

/* A child of a VAULTENV_SCRUB parent: VAULT_ROLE_ID, no secret id, the
 * sink. It uses the sink's token, and never tries a login. */
static void test_sink_only(void) {
        char *sink = tpath("sink"), *e = ve_asprintf("VAULTENV_TOKEN_SINK=%s", sink);
        char *target = tpath("sink-target"), *jf = ve_asprintf("VAULT_JWT_FILE=%s/nonexistent-jwt", tmpdir);
        struct client parent, child, c;
        char *t1, *t2, *t3, *err = NULL, *t = NULL;

        unlink(sink);
        SET_ENV(APPROLE_ENV, e);
        srv.secret_id_uses = 1;
        CU_ASSERT_FATAL(client_new(&parent, NULL) == 0);
        t1 = tok(&parent);
        CU_ASSERT_EQUAL(count(&srv.logins), 1);

        {
                /* the child's environment; the server keeps its state */
                const char *v[] = { "VAULT_ROLE_ID=fake-role-id", e, NULL };

                memcpy(env_vars, v, sizeof v);
        }
        CU_ASSERT_FATAL(client_new(&child, NULL) == 0);
        t2 = tok(&child);
        CU_ASSERT_TRUE(eq(t1, t2));
        CU_ASSERT_EQUAL(count(&srv.logins), 1);
        CU_ASSERT_EQUAL(count(&srv.lookups), 1);
        CU_ASSERT_TRUE(log_has("using the Vault token from VAULTENV_TOKEN_SINK"));
        /* adopted, not its own: not revoked */
        CU_ASSERT_EQUAL(ve_auth_revoke(child.a), 0);
        CU_ASSERT_EQUAL(count(&srv.revokes), 0);

        /* what is wrong with the sink is named; nothing is asked of Vault
         * for a sink that is not trusted */
        write_file("sink", t1, 0620);
        CU_ASSERT_FATAL(client_new(&c, NULL) == 0);
        CU_ASSERT_TRUE(sink_only_fails(&c, sink, "is writable by group or others (mode 0620)"));
        CU_ASSERT_EQUAL(count(&srv.lookups), 1);
        client_free(&c);
        unlink(sink);
        write_file("sink-target", t1, 0600);
        CU_ASSERT_EQUAL(symlink(target, sink), 0);
        CU_ASSERT_FATAL(client_new(&c, NULL) == 0);
        CU_ASSERT_TRUE(sink_only_fails(&c, sink, "is a symbolic link"));
        CU_ASSERT_FALSE(log_has("not using it"));       /* the error says it: no second line */
        client_free(&c);
        unlink(sink);
        CU_ASSERT_FATAL(client_new(&c, NULL) == 0);
        CU_ASSERT_TRUE(sink_only_fails(&c, sink, "does not exist"));
        CU_ASSERT_EQUAL(count(&srv.lookups), 1);
        /* remembered for a moment: no new attempt */
        CU_ASSERT_TRUE(sink_only_fails(&c, sink, "does not exist"));
        client_free(&c);
        write_file("sink", "\n", 0600);
        CU_ASSERT_FATAL(client_new(&c, NULL) == 0);
        CU_ASSERT_TRUE(sink_only_fails(&c, sink, "is empty"));
        client_free(&c);

        /* a token Vault no longer accepts */
        write_file("sink", t1, 0600);
        server_revoke_all();
        CU_ASSERT_FATAL(client_new(&c, NULL) == 0);
        CU_ASSERT_TRUE(sink_only_fails(&c, sink, "holds a token Vault refuses (expired or revoked)"));
        CU_ASSERT_EQUAL(count(&srv.lookups), 2);
        client_free(&c);
        /* the child that adopted it: dropped on the 403, and the sink
         * holding only that token is no way out */
        CU_ASSERT_TRUE(ve_auth_rejected(child.a, t2));
        CU_ASSERT_TRUE(sink_only_fails(&child, sink, "holds only the token Vault refused"));
        /* the parent logs in again and writes the sink: after the hold,
         * the child takes the new token */
        srv.secret_id_uses = 1;
        CU_ASSERT_TRUE(ve_auth_rejected(parent.a, t1));
        t3 = tok(&parent);
        CU_ASSERT_EQUAL(count(&srv.logins), 2);
        CU_ASSERT_FALSE(eq(t1, t3));
        fake_now += 6 * 1000;
        ve_erase_free(t2);
        t2 = tok(&child);
        CU_ASSERT_TRUE(eq(t2, t3));
        CU_ASSERT_EQUAL(count(&srv.logins), 2);

        /* another method whose credential file is gone: the sink still
         * comes first, and when it fails too the error says why */
        SET_ENV("VAULT_AUTH_ROLE=fake-role", jf, e);    /* the server forgot every token */
        CU_ASSERT_FATAL(client_new(&c, NULL) == 0);
        CU_ASSERT_EQUAL(ve_auth_token(c.a, &t, &err), -ENOENT);
        CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "nonexistent-jwt (VAULT_JWT_FILE)"));
        CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "(and VAULTENV_TOKEN_SINK "));
        CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "holds a token Vault refuses (expired or revoked))"));
        CU_ASSERT_PTR_NULL(err ? strchr(err, '\n') : NULL);
        CU_ASSERT_EQUAL(count(&srv.logins), 0);
        free(err);
        client_free(&c);

        ve_erase_free(t1);
        ve_erase_free(t2);
        ve_erase_free(t3);
        client_free(&child);
        client_free(&parent);
        unlink(sink);
        unlink(target);
        free(target);
        free(jf);
        free(sink);
        free(e);
}

static void test_config_error_from_new(void) {
        struct client c;
        char *err = NULL;

        SET_ENV("VAULT_AUTH_METHOD=jwt", "VAULT_JWT_FILE=/x");
        CU_ASSERT_EQUAL(client_new(&c, &err), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "VAULT_AUTH_ROLE"));
        free(err);
        ve_http_free(c.h);
        ve_settings_free(c.s);
}

/* Runs last: nothing any test logged holds a fake secret or token. */
static void test_no_secret_logged(void) {
        CU_ASSERT_FALSE(log_has("fake-secret-id"));
        CU_ASSERT_FALSE(log_has("fake-tok-"));
        CU_ASSERT_FALSE(log_has("fake.jwt.value"));
        CU_ASSERT_FALSE(log_has("fake-wrapping-token"));
        CU_ASSERT_FALSE(log_has("fake-file-"));
        CU_ASSERT_FALSE(log_has("fake-given"));
}

static void test_no_secret_logged_wrap(void) {
        /* the tests above clear the log as they start; replay the busiest
         * ones with the log kept */
        static const CU_TestFunc again[] = {
                test_approle_refused, test_wrapped_secret_id, test_renew_and_relogin, test_rejected,
                test_sink, test_sink_only, test_token_method, test_kubernetes_jwt_cert, test_login_refused_answer,
                test_renew_refused_answer,
        };
        char keep[sizeof logbuf];

        keep[0] = 0;
        for (size_t i = 0; i < sizeof again / sizeof again[0]; i++) {
                again[i]();
                pthread_mutex_lock(&log_lock);
                strncat(keep, logbuf, sizeof keep - strlen(keep) - 1);
                pthread_mutex_unlock(&log_lock);
        }
        pthread_mutex_lock(&log_lock);
        memcpy(logbuf, keep, sizeof keep);
        pthread_mutex_unlock(&log_lock);
        CU_ASSERT_TRUE(log_has("logged in to Vault with approle"));     /* the log did run */
        test_no_secret_logged();
}

/* Every credential auth keeps past a call lives in the secure arena (util.h:
 * out of core dumps, locked, wiped): the given token, a token file's, a
 * login's, a renewed one, the sink's, the refused one, the secret id and
 * the unwrap cache; and a parsed grant's token. */
static void test_secure_arena(void) {
        char *f = tpath("tokfile-arena"), *ef = ve_asprintf("VAULT_TOKEN_FILE=%s", f);
        char *sink = tpath("sink-arena"), *es = ve_asprintf("VAULTENV_TOKEN_SINK=%s", sink);
        const struct ve_auth_config *cfg;
        struct ve_auth_grant g = {};
        struct client c, c2;
        char *t;

        /* VAULT_TOKEN: from ve_auth_new() on */
        SET_ENV("VAULT_TOKEN=fake-given");
        CU_ASSERT_FATAL(client_new(&c, NULL) == 0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(ve_auth_peek_token(c.a));
        CU_ASSERT_TRUE(ve_secure_owns(ve_auth_peek_token(c.a)));
        t = tok(&c);
        CU_ASSERT_FALSE(ve_secure_owns(t));             /* the caller's copy: heap, wiped by the caller */
        ve_erase_free(t);
        client_free(&c);

        /* a token file, read and re-read */
        write_file("tokfile-arena", "fake-file-1\n", 0600);
        SET_ENV(ef);
        CU_ASSERT_FATAL(client_new(&c, NULL) == 0);
        ve_erase_free(tok(&c));
        CU_ASSERT_TRUE(ve_secure_owns(ve_auth_peek_token(c.a)));
        write_file("tokfile-arena", "fake-file-2\n", 0600);
        CU_ASSERT_TRUE(ve_auth_rejected(c.a, "fake-file-1"));
        CU_ASSERT_TRUE(ve_secure_owns(ve_auth_peek_token(c.a)));
        client_free(&c);

        /* approle: the secret id, the login's token, the renewed token,
         * the refused token, the next login's token */
        SET_ENV(APPROLE_ENV);
        srv.ttl = 30;
        CU_ASSERT_FATAL(client_new(&c, NULL) == 0);
        cfg = ve_auth_peek_config(c.a);
        CU_ASSERT_PTR_NOT_NULL_FATAL(cfg->secret_id);
        CU_ASSERT_TRUE(ve_secure_owns(cfg->secret_id));
        CU_ASSERT_PTR_NULL(ve_auth_peek_token(c.a));
        t = tok(&c);
        CU_ASSERT_EQUAL(count(&srv.logins), 1);
        CU_ASSERT_TRUE(ve_secure_owns(ve_auth_peek_token(c.a)));
        fake_now += 21 * 1000;
        ve_erase_free(tok(&c));
        CU_ASSERT_EQUAL(count(&srv.renews), 1);
        CU_ASSERT_TRUE(ve_secure_owns(ve_auth_peek_token(c.a)));
        server_revoke_all();
        CU_ASSERT_TRUE(ve_auth_rejected(c.a, t));
        CU_ASSERT_PTR_NOT_NULL_FATAL(ve_auth_peek_rejected(c.a));
        CU_ASSERT_TRUE(ve_secure_owns(ve_auth_peek_rejected(c.a)));
        ve_erase_free(tok(&c));
        CU_ASSERT_EQUAL(count(&srv.logins), 2);
        CU_ASSERT_TRUE(ve_secure_owns(ve_auth_peek_token(c.a)));
        ve_erase_free(t);
        client_free(&c);

        /* a wrapped secret id: the unwrap cache */
        SET_ENV("VAULT_ROLE_ID=fake-role-id", "VAULT_SECRET_ID=fake-wrapping-token", "VAULT_SECRET_ID_WRAPPED=true");
        CU_ASSERT_FATAL(client_new(&c, NULL) == 0);
        ve_erase_free(tok(&c));
        cfg = ve_auth_peek_config(c.a);
        CU_ASSERT_PTR_NOT_NULL_FATAL(cfg->unwrapped_from);
        CU_ASSERT_PTR_NOT_NULL_FATAL(cfg->unwrapped_secret_id);
        CU_ASSERT_TRUE(ve_secure_owns(cfg->secret_id));
        CU_ASSERT_TRUE(ve_secure_owns(cfg->unwrapped_from));
        CU_ASSERT_TRUE(ve_secure_owns(cfg->unwrapped_secret_id));
        CU_ASSERT_TRUE(ve_secure_owns(ve_auth_peek_token(c.a)));
        client_free(&c);

        /* the sink's token, adopted by a second client */
        unlink(sink);
        SET_ENV(APPROLE_ENV, es);
        CU_ASSERT_FATAL(client_new(&c, NULL) == 0);
        ve_erase_free(tok(&c));
        CU_ASSERT_FATAL(client_new(&c2, NULL) == 0);
        ve_erase_free(tok(&c2));
        CU_ASSERT_EQUAL(count(&srv.logins), 1);
        CU_ASSERT_EQUAL(count(&srv.lookups), 1);
        CU_ASSERT_TRUE(ve_secure_owns(ve_auth_peek_token(c2.a)));
        client_free(&c2);
        client_free(&c);
        unlink(sink);

        /* a parsed grant */
        CU_ASSERT_EQUAL(ve_auth_parse_grant("{\"auth\":{\"client_token\":\"fake-g\"}}", 34, false, &g, NULL), 0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(g.token);
        CU_ASSERT_TRUE(ve_secure_owns(g.token));
        ve_auth_grant_done(&g);

        /* the heap fallback is freed (wiped) as well */
        ve_auth_secret_free(strdup("fake-heap"));
        ve_auth_secret_free(NULL);
        free(f);
        free(ef);
        free(sink);
        free(es);
}

int main(void) {
        static const struct unit_test t_cfg[] = {
                { "detect", test_detect },
                { "json object", test_json_object },
                { "parse grant", test_parse_grant },
                { "parse grant: refused answers", test_parse_grant_refused },
                { "config error from new", test_config_error_from_new },
                { NULL, NULL },
        };
        static const struct unit_test t_login[] = {
                { "approle once, lazily", test_approle_login_once },
                { "approle files, mount, modes", test_approle_files_and_mount },
                { "approle refused", test_approle_refused },
                { "wrapped secret id", test_wrapped_secret_id },
                { "kubernetes, jwt, cert", test_kubernetes_jwt_cert },
                { "single flight", test_single_flight },
                { "refused login answers", test_login_refused_answer },
                { NULL, NULL },
        };
        static const struct unit_test t_life[] = {
                { "renew, then relogin", test_renew_and_relogin },
                { "not renewable", test_not_renewable },
                { "max ttl", test_max_ttl },
                { "rejected", test_rejected },
                { "refused renewal answer", test_renew_refused_answer },
                { "token method", test_token_method },
                { "revoke", test_revoke },
                { "sink", test_sink },
                { "sink only: approle without a secret id", test_sink_only },
                { "credentials in the secure arena", test_secure_arena },
                { "no secret logged", test_no_secret_logged_wrap },
                { NULL, NULL },
        };
        static const struct unit_suite suites[] = {
                { "auth config", t_cfg },
                { "auth login", t_login },
                { "auth life", t_life },
        };
        int r;

        if (!mkdtemp(tmpdir))
                return 2;
        if (httpd_start(&httpd) < 0)
                return 2;
        snprintf(addr, sizeof addr, "http://127.0.0.1:%d", httpd.port);
        ve_log_set(log_collect, NULL, VE_LOG_DEBUG);
        r = unit_run(suites, sizeof suites / sizeof suites[0]);
        httpd_stop(&httpd);
        {
                char *cmd = ve_asprintf("rm -rf '%s'", tmpdir);

                if (cmd && system(cmd) != 0)
                        r = r ? r : 1;
                free(cmd);
        }
        return r;
}
