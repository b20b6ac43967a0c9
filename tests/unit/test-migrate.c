/* SPDX-License-Identifier: MIT */
#include "unit.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dotenv.h"
#include "mapfile.h"
#include "migrate.h"

static void test_url(void) {
        CU_ASSERT_TRUE(ve_url_has_password("postgres://user:fake-pw@db:5432/app"));
        CU_ASSERT_TRUE(ve_url_has_password("redis://:fake-pw@cache"));
        CU_ASSERT_TRUE(ve_url_has_password("amqp+ssl://u:fake-p@ss@host/vhost"));
        CU_ASSERT_FALSE(ve_url_has_password("postgres://user@db/app"));
        CU_ASSERT_FALSE(ve_url_has_password("postgres://user:@db/app"));
        CU_ASSERT_FALSE(ve_url_has_password("https://example.com/a:b@c"));
        CU_ASSERT_FALSE(ve_url_has_password("https://example.com/?q=a:b@c"));
        CU_ASSERT_FALSE(ve_url_has_password("user:pw@host"));
        CU_ASSERT_FALSE(ve_url_has_password("1http://u:p@h"));
        CU_ASSERT_FALSE(ve_url_has_password(""));
        CU_ASSERT_FALSE(ve_url_has_password(NULL));
}

static void test_classify(void) {
        char *pats[] = { "STRIPE_*", "*_DSN" };
        const char *detail = NULL;

        CU_ASSERT_EQUAL(ve_migrate_classify("DB_PASSWORD", "x", NULL, 0, &detail), VE_MIGRATE_SUFFIX);
        CU_ASSERT_STRING_EQUAL(detail, "PASSWORD");
        CU_ASSERT_EQUAL(ve_migrate_classify("api_key", "x", NULL, 0, &detail), VE_MIGRATE_SUFFIX);
        CU_ASSERT_STRING_EQUAL(detail, "KEY");
        static const char *const yes[] = { "AWS_SECRET", "GH_TOKEN", "SMTP_PASS", "DB_PWD", "X_PASSWD",
                                           "GCP_CREDENTIALS", "A_CREDENTIAL", "PASSWORD", "TOKEN", "SECRET", "KEY" };
        for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
                CU_ASSERT_EQUAL(ve_migrate_classify(yes[i], "x", NULL, 0, NULL), VE_MIGRATE_SUFFIX);
        static const char *const no[] = { "PWD", "PASS", "MONKEY", "KEYS", "TOKENIZER", "PASSWORD_MIN_LENGTH",
                                          "_KEY", "HOST", "SECRETARY" };
        for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
                CU_ASSERT_EQUAL(ve_migrate_classify(no[i], "x", NULL, 0, NULL), VE_MIGRATE_NOT_SENSITIVE);

        CU_ASSERT_EQUAL(ve_migrate_classify("DATABASE_URL", "postgres://u:fake@h/d", NULL, 0, &detail),
                        VE_MIGRATE_URL_PASSWORD);
        CU_ASSERT_EQUAL(ve_migrate_classify("DATABASE_URL", "postgres://h/d", NULL, 0, NULL),
                        VE_MIGRATE_NOT_SENSITIVE);
        CU_ASSERT_EQUAL(ve_migrate_classify("STRIPE_ACCOUNT", "x", pats, 2, &detail), VE_MIGRATE_PATTERN);
        CU_ASSERT_STRING_EQUAL(detail, "STRIPE_*");
        CU_ASSERT_EQUAL(ve_migrate_classify("SENTRY_DSN", "x", pats, 2, &detail), VE_MIGRATE_PATTERN);
        CU_ASSERT_STRING_EQUAL(detail, "*_DSN");
        CU_ASSERT_EQUAL(ve_migrate_classify("stripe_account", "x", pats, 2, NULL), VE_MIGRATE_NOT_SENSITIVE);
}

static const char ENV[] =
        "# app settings\n"
        "HOST=localhost\n"
        "export DB_PASSWORD='fake-pw-1'\n"
        "DATABASE_URL=postgres://app:fake-pw-2@db/app # main db\n"
        "API_KEY=\n"
        "GH_TOKEN=\"${OTHER}\"\n"
        "SENTRY_DSN=fake-dsn\n"
        "DB_PASSWORD=fake-pw-3\n"
        "PORT=8080\n";

static struct ve_migrate_plan *plan_of(const char *text, char **pats, size_t n_pats) {
        struct ve_dotenv *d = NULL;
        struct ve_migrate_plan *p = NULL;
        struct ve_migrate_options o = {
                .mount = "secret", .prefix = "app", .patterns = pats, .n_patterns = n_pats,
                .source = ".env", .map_name = "vaultenv.map",
        };
        char *err = NULL;

        CU_ASSERT_EQUAL_FATAL(ve_dotenv_parse(".env", text, strlen(text), &d, &err), 0);
        CU_ASSERT_EQUAL(ve_migrate_plan(d, &o, &p, &err), 0);
        if (err)
                fprintf(stderr, "\n  %s\n", err);
        free(err);
        ve_dotenv_free(d);
        return p;
}

static void test_plan(void) {
        char *pats[] = { "*_DSN" };
        struct ve_migrate_plan *p = plan_of(ENV, pats, 1);
        struct ve_map *map = NULL;
        char *err = NULL;

        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        CU_ASSERT_STRING_EQUAL(p->path, "secret/app");
        CU_ASSERT_EQUAL(p->n, 5);
        CU_ASSERT_EQUAL(p->n_moved, 3);
        CU_ASSERT_STRING_EQUAL(p->items[0].name, "DB_PASSWORD");
        CU_ASSERT_EQUAL(p->items[0].action, VE_MIGRATE_MOVE);
        CU_ASSERT_EQUAL(p->items[1].reason, VE_MIGRATE_URL_PASSWORD);
        CU_ASSERT_EQUAL(p->items[2].action, VE_MIGRATE_KEEP_EMPTY);
        CU_ASSERT_EQUAL(p->items[3].action, VE_MIGRATE_KEEP_EXPANDS);
        CU_ASSERT_EQUAL(p->items[4].reason, VE_MIGRATE_PATTERN);

        /* the last value of a repeated name */
        CU_ASSERT_STRING_EQUAL(ve_secret_get(p->values, "DB_PASSWORD"), "fake-pw-3");
        CU_ASSERT_STRING_EQUAL(ve_secret_get(p->values, "DATABASE_URL"), "postgres://app:fake-pw-2@db/app");
        CU_ASSERT_STRING_EQUAL(ve_secret_get(p->values, "SENTRY_DSN"), "fake-dsn");
        CU_ASSERT_PTR_NULL(ve_secret_get(p->values, "API_KEY"));

        CU_ASSERT_STRING_EQUAL(p->env_text,
                "# app settings\n"
                "HOST=localhost\n"
                "# DATABASE_URL moved to Vault: secret/app#DATABASE_URL (served through vaultenv.map)\n"
                "API_KEY=\n"
                "GH_TOKEN=\"${OTHER}\"\n"
                "# SENTRY_DSN moved to Vault: secret/app#SENTRY_DSN (served through vaultenv.map)\n"
                "# DB_PASSWORD moved to Vault: secret/app#DB_PASSWORD (served through vaultenv.map)\n"
                "PORT=8080\n");
        CU_ASSERT_PTR_NULL(strstr(p->env_text, "fake"));

        CU_ASSERT_PTR_NOT_NULL(strstr(p->map_text, "\nDB_PASSWORD  = secret/app#DB_PASSWORD  required\n"));
        CU_ASSERT_PTR_NOT_NULL(strstr(p->map_text, "\nDATABASE_URL = secret/app#DATABASE_URL  required\n"));
        CU_ASSERT_PTR_NOT_NULL(strstr(p->map_text, "\nSENTRY_DSN   = secret/app#SENTRY_DSN  required\n"));
        CU_ASSERT_PTR_NULL(strstr(p->map_text, "API_KEY"));
        CU_ASSERT_PTR_NULL(strstr(p->map_text, "fake"));
        CU_ASSERT_EQUAL(ve_map_parse("vaultenv.map", p->map_text, strlen(p->map_text), &map, &err), 0);
        ve_map_free(map);
        free(err);
        ve_migrate_plan_free(p);
}

static void test_plan_text(void) {
        struct ve_migrate_plan *p = plan_of(ENV, NULL, 0);
        char *t;

        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        t = ve_migrate_plan_text(p, "app/.env", "app/vaultenv.map");
        CU_ASSERT_PTR_NOT_NULL_FATAL(t);
        CU_ASSERT_STRING_EQUAL(t,
                "Plan for app/.env (values are never shown):\n"
                "  move  DB_PASSWORD  -> secret/app#DB_PASSWORD  (name ends in PASSWORD)\n"
                "  move  DATABASE_URL -> secret/app#DATABASE_URL  (a URL with a password)\n"
                "  keep  API_KEY         (name ends in KEY, but its value is empty)\n"
                "  keep  GH_TOKEN        (name ends in TOKEN, but its value uses $ expansion, which Vault would not do)\n"
                "Vault: 2 key(s) to write to secret/app (one KV secret)\n"
                "Mapping file to write: app/vaultenv.map (2 entries)\n"
                "app/.env: each moved entry to be replaced by a comment; everything else kept\n");
        CU_ASSERT_PTR_NULL(strstr(t, "fake"));
        free(t);
        ve_migrate_plan_free(p);

        p = plan_of("HOST=x\n", NULL, 0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        CU_ASSERT_EQUAL(p->n_moved, 0);
        t = ve_migrate_plan_text(p, ".env", "vaultenv.map");
        CU_ASSERT_STRING_EQUAL(t, "Plan for .env (values are never shown):\n  nothing to move\n");
        free(t);
        ve_migrate_plan_free(p);
}

static void test_bad_prefix(void) {
        static const char *const bad[] = { "", "a//b", "../x", "a#b", "a b", "x@3" };
        struct ve_dotenv *d = NULL;
        char *err = NULL;

        CU_ASSERT_EQUAL_FATAL(ve_dotenv_parse(".env", "A_KEY=fake\n", 11, &d, &err), 0);
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                struct ve_migrate_options o = { .mount = "secret", .prefix = bad[i] };
                struct ve_migrate_plan *p = NULL;

                CU_ASSERT_EQUAL(ve_migrate_plan(d, &o, &p, &err), -EINVAL);
                CU_ASSERT_PTR_NULL(p);
                CU_ASSERT_PTR_NOT_NULL(err);
                CU_ASSERT_PTR_NOT_NULL(err ? strstr(err, "is not a usable Vault path") : NULL);
                if (!err || !strstr(err, "is not a usable Vault path"))
                        fprintf(stderr, "\n  <%s>: %s\n", bad[i], err ? err : "(null)");
                free(err);
                err = NULL;
        }
        {
                struct ve_migrate_options o = { .mount = "team/kv", .prefix = "svc/app" };
                struct ve_migrate_plan *p = NULL;

                CU_ASSERT_EQUAL(ve_migrate_plan(d, &o, &p, &err), 0);
                CU_ASSERT_STRING_EQUAL(p ? p->path : "", "team/kv/svc/app");
                ve_migrate_plan_free(p);
        }
        ve_dotenv_free(d);
}

static void test_atomic_write(void) {
        char dir[] = "/tmp/test-migrate-XXXXXX", *path, *err = NULL, buf[64] = {};
        struct stat st;
        int fd;

        CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
        path = NULL;
        CU_ASSERT_TRUE(asprintf(&path, "%s/f", dir) > 0);
        CU_ASSERT_EQUAL(ve_write_file_atomic(path, "one\n", 4, 0640, false, &err), 0);
        CU_ASSERT_EQUAL(stat(path, &st), 0);
        CU_ASSERT_EQUAL(st.st_mode & 07777, 0640);
        CU_ASSERT_EQUAL(ve_write_file_atomic(path, "two\n", 4, 0600, false, &err), -EEXIST);
        CU_ASSERT_PTR_NOT_NULL(err ? strstr(err, "exists already") : NULL);
        free(err);
        err = NULL;
        CU_ASSERT_EQUAL(ve_write_file_atomic(path, "two\n", 4, 0600, true, &err), 0);
        fd = open(path, O_RDONLY);
        CU_ASSERT_EQUAL(read(fd, buf, sizeof buf - 1), 4);
        close(fd);
        CU_ASSERT_STRING_EQUAL(buf, "two\n");
        CU_ASSERT_EQUAL(stat(path, &st), 0);
        CU_ASSERT_EQUAL(st.st_mode & 07777, 0600);
        unlink(path);
        CU_ASSERT_EQUAL(rmdir(dir), 0);        /* no temporary file left behind */
        free(path);

        CU_ASSERT_EQUAL(ve_write_file_atomic("/nonexistent/dir/f", "x", 1, 0600, true, &err), -ENOENT);
        CU_ASSERT_PTR_NOT_NULL(err);
        free(err);
}

int main(void) {
        static const struct unit_test tests[] = {
                { "URLs with a password", test_url },
                { "classification", test_classify },
                { "plan: values, mapping file, scrubbed .env", test_plan },
                { "plan text: masked", test_plan_text },
                { "bad --mount/--prefix", test_bad_prefix },
                { "atomic file writes", test_atomic_write },
                { NULL, NULL },
        };
        static const struct unit_suite suite = { "migrate", tests };

        return unit_run(&suite, 1);
}
