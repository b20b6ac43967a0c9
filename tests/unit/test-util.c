/* SPDX-License-Identifier: MIT */
#include "unit.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "envscan.h"
#include "log.h"
#include "secret.h"
#include "settings.h"
#include "util.h"

static void test_envscan(void) {
        char *env[] = { "A=1", "AB=2", "EMPTY=", "X=y=z", "A=shadowed", NULL };

        CU_ASSERT_STRING_EQUAL(ve_envscan(env, "A"), "1");       /* first match wins, as libc */
        CU_ASSERT_STRING_EQUAL(ve_envscan(env, "AB"), "2");
        CU_ASSERT_STRING_EQUAL(ve_envscan(env, "EMPTY"), "");
        CU_ASSERT_STRING_EQUAL(ve_envscan(env, "X"), "y=z");
        CU_ASSERT_PTR_NULL(ve_envscan(env, "ABC"));
        CU_ASSERT_PTR_NULL(ve_envscan(env, "a"));
        /* musl semantics: empty name, a name with '=', NULL name: NULL */
        CU_ASSERT_PTR_NULL(ve_envscan(env, ""));
        CU_ASSERT_PTR_NULL(ve_envscan(env, "X=y"));
        CU_ASSERT_PTR_NULL(ve_envscan(env, "="));
        CU_ASSERT_PTR_NULL(ve_envscan(env, NULL));
        CU_ASSERT_PTR_NULL(ve_envscan(NULL, "A"));
}

static void test_duration(void) {
        uint64_t ms = 0;

        CU_ASSERT_EQUAL(ve_duration_parse("30s", &ms), 0);
        CU_ASSERT_EQUAL(ms, 30000);
        CU_ASSERT_EQUAL(ve_duration_parse("5m", &ms), 0);
        CU_ASSERT_EQUAL(ms, 300000);
        CU_ASSERT_EQUAL(ve_duration_parse("1h", &ms), 0);
        CU_ASSERT_EQUAL(ms, 3600000);
        CU_ASSERT_EQUAL(ve_duration_parse("1h30m", &ms), 0);
        CU_ASSERT_EQUAL(ms, 5400000);
        CU_ASSERT_EQUAL(ve_duration_parse("2d", &ms), 0);
        CU_ASSERT_EQUAL(ms, 172800000);
        CU_ASSERT_EQUAL(ve_duration_parse("250ms", &ms), 0);
        CU_ASSERT_EQUAL(ms, 250);
        CU_ASSERT_EQUAL(ve_duration_parse("1.5s", &ms), 0);
        CU_ASSERT_EQUAL(ms, 1500);
        CU_ASSERT_EQUAL(ve_duration_parse("90", &ms), 0);
        CU_ASSERT_EQUAL(ms, 90000);
        ms = 7;
        CU_ASSERT_EQUAL(ve_duration_parse("", &ms), -EINVAL);
        CU_ASSERT_EQUAL(ve_duration_parse("5", &ms), 0);
        CU_ASSERT_EQUAL(ve_duration_parse("5x", &ms), -EINVAL);
        CU_ASSERT_EQUAL(ve_duration_parse("m", &ms), -EINVAL);
        CU_ASSERT_EQUAL(ve_duration_parse("-5s", &ms), -EINVAL);
        CU_ASSERT_EQUAL(ve_duration_parse("5s ", &ms), -EINVAL);
        CU_ASSERT_EQUAL(ve_duration_parse("99999999999999999999999h", &ms), -EINVAL);
        CU_ASSERT_EQUAL(ve_duration_parse(NULL, &ms), -EINVAL);
        CU_ASSERT_EQUAL(ms, 5000);      /* untouched by the failures */
}

static void test_bool(void) {
        bool b = false;

        CU_ASSERT_EQUAL(ve_bool_parse("1", &b), 0);
        CU_ASSERT_TRUE(b);
        CU_ASSERT_EQUAL(ve_bool_parse("False", &b), 0);
        CU_ASSERT_FALSE(b);
        CU_ASSERT_EQUAL(ve_bool_parse("TRUE", &b), 0);
        CU_ASSERT_TRUE(b);
        CU_ASSERT_EQUAL(ve_bool_parse("yes", &b), -EINVAL);
        CU_ASSERT_EQUAL(ve_bool_parse("", &b), -EINVAL);
        CU_ASSERT_TRUE(b);
}

static void test_read_file(void) {
        char path[] = "/tmp/ve-test-XXXXXX", *data = NULL;
        size_t len = 0;
        int fd = mkstemp(path);

        CU_ASSERT_FATAL(fd >= 0);
        CU_ASSERT_EQUAL(write(fd, "abc\0def", 7), 7);
        close(fd);
        CU_ASSERT_EQUAL(ve_read_file(path, 100, &data, &len), 0);
        CU_ASSERT_EQUAL(len, 7);
        CU_ASSERT_EQUAL(memcmp(data, "abc\0def", 8), 0);
        free(data);
        data = NULL;
        CU_ASSERT_EQUAL(ve_read_file(path, 6, &data, &len), -EFBIG);
        CU_ASSERT_PTR_NULL(data);
        unlink(path);
        CU_ASSERT_EQUAL(ve_read_file(path, 100, &data, &len), -ENOENT);
        CU_ASSERT_EQUAL(ve_read_file("/tmp", 100, &data, &len), -EISDIR);
}

static void test_secret(void) {
        struct ve_secret *s = ve_secret_new();

        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        CU_ASSERT_EQUAL(ve_secret_add(s, "user", "fake-user"), 0);
        CU_ASSERT_EQUAL(ve_secret_add(s, "password", "fake-pw-1"), 0);
        CU_ASSERT_EQUAL(ve_secret_add(s, "password", "fake-pw-2"), 0);
        CU_ASSERT_EQUAL(s->n, 2);
        CU_ASSERT_STRING_EQUAL(ve_secret_get(s, "password"), "fake-pw-2");
        CU_ASSERT_STRING_EQUAL(ve_secret_get(s, "user"), "fake-user");
        CU_ASSERT_PTR_NULL(ve_secret_get(s, "nope"));
        CU_ASSERT_PTR_NULL(ve_secret_get(NULL, "user"));
        ve_secret_free(s);
        ve_secret_free(NULL);
}

/* A fake environment for settings. */
static const char *const *fake_env;
static const char *fake_getenv(const char *name) {
        size_t l = strlen(name);

        for (const char *const *e = fake_env; *e; e++)
                if (strncmp(*e, name, l) == 0 && (*e)[l] == '=')
                        return *e + l + 1;
        return NULL;
}

static int n_errors;
static char last_error[1024];
static void count_log(void *ud, enum ve_log_level level, const char *msg) {
        if (level == VE_LOG_ERROR) {
                n_errors++;
                snprintf(last_error, sizeof last_error, "%s", msg);
        }
}

static void test_settings(void) {
        static const char *const env1[] = { "HOME=/home/x", NULL };
        static const char *const env2[] = {
                "VAULT_ADDR=https://vault.example:8200", "VAULT_TOKEN=fake-token",
                "VAULT_NAMESPACE=team1", "VAULT_SKIP_VERIFY=true", "VAULT_CLIENT_TIMEOUT=5s",
                "VAULTENV_MAP=/x/y.map", "VAULTENV_LOG=debug", "VAULTENV_ON_MISSING=null",
                "VAULTENV_SECRETS_DIR=/s", "VAULT_CACERT=/ca.pem", "VAULT_TLS_SERVER_NAME=vault.internal",
                NULL };
        static const char *const env3[] = { "VAULT_SKIP_VERIFY=maybe", "VAULT_CLIENT_TIMEOUT=soon",
                                            "VAULTENV_LOG=loud", "VAULT_ADDR=", NULL };
        struct ve_settings *s;

        ve_log_set(count_log, NULL, VE_LOG_DEBUG);
        fake_env = env1;
        CU_ASSERT_EQUAL_FATAL(ve_settings_load(fake_getenv, &s), 0);
        CU_ASSERT_STRING_EQUAL(s->addr, "https://127.0.0.1:8200");
        CU_ASSERT_STRING_EQUAL(s->map_path, "/etc/vaultenv/vaultenv.map");
        CU_ASSERT_FALSE(s->map_explicit);
        CU_ASSERT_PTR_NULL(s->token);
        CU_ASSERT_STRING_EQUAL(s->token_file, "/home/x/.vault-token");
        CU_ASSERT_STRING_EQUAL(s->secrets_dir, "/run/secrets");
        CU_ASSERT_EQUAL(s->timeout_ms, 60000);
        CU_ASSERT_EQUAL(s->log_level, VE_LOG_ERROR);
        CU_ASSERT_FALSE(s->skip_verify);
        ve_settings_free(s);

        fake_env = env2;
        CU_ASSERT_EQUAL_FATAL(ve_settings_load(fake_getenv, &s), 0);
        CU_ASSERT_STRING_EQUAL(s->addr, "https://vault.example:8200");
        CU_ASSERT_STRING_EQUAL(s->token, "fake-token");
        CU_ASSERT_PTR_NULL(s->token_file);
        CU_ASSERT_STRING_EQUAL(s->namespace, "team1");
        CU_ASSERT_TRUE(s->skip_verify);
        CU_ASSERT_EQUAL(s->timeout_ms, 5000);
        CU_ASSERT_STRING_EQUAL(s->map_path, "/x/y.map");
        CU_ASSERT_TRUE(s->map_explicit);
        CU_ASSERT_EQUAL(s->log_level, VE_LOG_DEBUG);
        CU_ASSERT_TRUE(s->on_missing_null);
        CU_ASSERT_STRING_EQUAL(s->secrets_dir, "/s");
        CU_ASSERT_STRING_EQUAL(s->cacert, "/ca.pem");
        CU_ASSERT_STRING_EQUAL(s->tls_server_name, "vault.internal");
        ve_settings_free(s);

        /* bad values: one error each, naming the variable; defaults kept */
        fake_env = env3;
        n_errors = 0;
        CU_ASSERT_EQUAL_FATAL(ve_settings_load(fake_getenv, &s), 0);
        CU_ASSERT_EQUAL(n_errors, 3);
        CU_ASSERT_PTR_NOT_NULL(strstr(last_error, "VAULT_CLIENT_TIMEOUT"));
        CU_ASSERT_FALSE(s->skip_verify);
        CU_ASSERT_EQUAL(s->timeout_ms, 60000);
        CU_ASSERT_EQUAL(s->log_level, VE_LOG_ERROR);
        CU_ASSERT_STRING_EQUAL(s->addr, "https://127.0.0.1:8200");
        ve_settings_free(s);
        ve_log_set(NULL, NULL, VE_LOG_ERROR);
}

int main(void) {
        static const struct unit_test tests[] = {
                { "envscan", test_envscan },
                { "duration", test_duration },
                { "bool", test_bool },
                { "read_file", test_read_file },
                { "secret", test_secret },
                { "settings", test_settings },
                { NULL, NULL },
        };
        static const struct unit_suite suite = { "util", tests };

        return unit_run(&suite, 1);
}
