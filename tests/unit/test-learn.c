/* SPDX-License-Identifier: MIT */
/* lib/tools/learn.c: the record format, the per-process dedup set, the
 * classification of names and the mapping-file skeleton (which must parse
 * once its placeholder is filled in, and must not before). */
#include "unit.h"
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "learn.h"
#include "mapfile.h"

static void test_format(void) {
        char buf[512];
        char long_name[VE_LEARN_NAME_MAX + 2];

        CU_ASSERT_EQUAL(ve_learn_format("DB_PASSWORD", "app", buf, sizeof buf), 16);
        CU_ASSERT_STRING_EQUAL(buf, "DB_PASSWORD\tapp\n");
        CU_ASSERT_EQUAL(ve_learn_format("_x1", NULL, buf, sizeof buf), 6);
        CU_ASSERT_STRING_EQUAL(buf, "_x1\t?\n");
        CU_ASSERT_EQUAL(ve_learn_format("A", "", buf, sizeof buf), 4);
        CU_ASSERT_STRING_EQUAL(buf, "A\t?\n");
        /* a program name cannot break the line format */
        CU_ASSERT_EQUAL(ve_learn_format("A", "my\tprog\nx", buf, sizeof buf), 12);
        CU_ASSERT_STRING_EQUAL(buf, "A\tmy?prog?x\n");

        /* names a mapping cannot hold are not recorded */
        CU_ASSERT_EQUAL(ve_learn_format("", "app", buf, sizeof buf), -EINVAL);
        CU_ASSERT_EQUAL(ve_learn_format(NULL, "app", buf, sizeof buf), -EINVAL);
        CU_ASSERT_EQUAL(ve_learn_format("1ABC", "app", buf, sizeof buf), -EINVAL);
        CU_ASSERT_EQUAL(ve_learn_format("A-B", "app", buf, sizeof buf), -EINVAL);
        CU_ASSERT_EQUAL(ve_learn_format("A=B", "app", buf, sizeof buf), -EINVAL);
        CU_ASSERT_EQUAL(ve_learn_format("A\tB", "app", buf, sizeof buf), -EINVAL);
        memset(long_name, 'A', sizeof long_name - 1);
        long_name[sizeof long_name - 1] = '\0';
        CU_ASSERT_EQUAL(ve_learn_format(long_name, "app", buf, sizeof buf), -EINVAL);
        long_name[VE_LEARN_NAME_MAX] = '\0';
        CU_ASSERT_EQUAL(ve_learn_format(long_name, "app", buf, sizeof buf), VE_LEARN_NAME_MAX + 5);

        /* program names are cut; a small buffer is refused */
        {
                char prog[200];

                memset(prog, 'p', sizeof prog - 1);
                prog[sizeof prog - 1] = '\0';
                CU_ASSERT_EQUAL(ve_learn_format("A", prog, buf, sizeof buf), 1 + 1 + VE_LEARN_PROGRAM_MAX + 1);
        }
        CU_ASSERT_EQUAL(ve_learn_format("ABCDEF", "app", buf, 10), -ENOBUFS);
        CU_ASSERT_EQUAL(ve_learn_format("ABCDEF", "app", buf, 12), 11);
}

static struct ve_learn_seen seen;

static void test_seen(void) {
        static struct ve_learn_seen full;
        char name[32];

        memset(&seen, 0, sizeof seen);
        CU_ASSERT_TRUE(ve_learn_seen_add(&seen, "HOME"));
        CU_ASSERT_FALSE(ve_learn_seen_add(&seen, "HOME"));
        CU_ASSERT_TRUE(ve_learn_seen_add(&seen, "home"));
        CU_ASSERT_TRUE(ve_learn_seen_add(&seen, "PATH"));
        CU_ASSERT_FALSE(ve_learn_seen_add(&seen, "PATH"));
        CU_ASSERT_FALSE(ve_learn_seen_add(&seen, "home"));

        /* full: every name counts as new, nothing breaks */
        for (int i = 0; i < VE_LEARN_SEEN_SLOTS; i++) {
                snprintf(name, sizeof name, "N%d", i);
                CU_ASSERT_TRUE(ve_learn_seen_add(&full, name));
        }
        CU_ASSERT_TRUE(ve_learn_seen_add(&full, "ANOTHER"));
        CU_ASSERT_TRUE(ve_learn_seen_add(&full, "ANOTHER"));
}

#define THREADS 4
#define NAMES 1000
static atomic_int firsts;
static pthread_barrier_t barrier;

static void *adder(void *p) {
        char name[32];

        pthread_barrier_wait(&barrier);
        for (int i = 0; i < NAMES; i++) {
                snprintf(name, sizeof name, "VAR_%d", i);
                if (ve_learn_seen_add(&seen, name))
                        atomic_fetch_add(&firsts, 1);
        }
        return p;
}

/* Threads racing on the same names: each is new exactly once. */
static void test_seen_threads(void) {
        pthread_t t[THREADS];

        memset(&seen, 0, sizeof seen);
        atomic_store(&firsts, 0);
        pthread_barrier_init(&barrier, NULL, THREADS);
        for (int i = 0; i < THREADS; i++)
                CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, adder, NULL), 0);
        for (int i = 0; i < THREADS; i++)
                pthread_join(t[i], NULL);
        pthread_barrier_destroy(&barrier);
        CU_ASSERT_EQUAL(atomic_load(&firsts), NAMES);
}

static void test_classify(void) {
        static const char *const secret[] = {
                "DB_PASSWORD", "PGPASSWORD", "API_TOKEN", "GITHUB_TOKEN", "APP_SECRET", "STRIPE_KEY",
                "AWS_SECRET_ACCESS_KEY", "DATABASE_URL", "redis_url", "SENTRY_DSN", "MONGO_URI",
                "SMTP_PASS", "client_secret", "MY_API_KEY_ID", "TLS_PRIVATE_KEY_PEM", "Secret",
        };
        static const char *const system[] = {
                "HOME", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "PATH", "TERM", "TZ", "USER", "SHELL",
                "PWD", "TMPDIR", "LD_LIBRARY_PATH", "LD_PRELOAD", "MALLOC_ARENA_MAX", "GLIBC_TUNABLES",
                "VAULT_ADDR", "VAULT_TOKEN", "VAULTENV_MAP", "http_proxy", "HTTPS_PROXY", "no_proxy",
                "SSL_CERT_FILE", "OPENSSL_CONF", "CURL_CA_BUNDLE", "XDG_RUNTIME_DIR", "home", "TERMINFO_DIRS",
        };
        static const char *const other[] = {
                "APP_MODE", "PORT", "LOG_LEVEL", "DEBUG", "WORKERS", "KEYBOARD", "PATHS", "MY_HOME",
        };

        for (size_t i = 0; i < sizeof secret / sizeof secret[0]; i++)
                if (ve_learn_classify(secret[i]) != VE_LEARN_SECRET) {
                        fprintf(stderr, "\n  %s: not a secret\n", secret[i]);
                        CU_FAIL("secret name");
                }
        for (size_t i = 0; i < sizeof system / sizeof system[0]; i++)
                if (ve_learn_classify(system[i]) != VE_LEARN_SYSTEM) {
                        fprintf(stderr, "\n  %s: not a system name\n", system[i]);
                        CU_FAIL("system name");
                }
        for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
                if (ve_learn_classify(other[i]) != VE_LEARN_OTHER) {
                        fprintf(stderr, "\n  %s: not an ordinary name\n", other[i]);
                        CU_FAIL("other name");
                }
        CU_ASSERT_EQUAL(ve_learn_classify(""), VE_LEARN_OTHER);
        CU_ASSERT_EQUAL(ve_learn_classify(NULL), VE_LEARN_OTHER);
}

/* How often needle occurs in hay. */
static int count(const char *hay, const char *needle) {
        int n = 0;

        for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
                n++;
        return n;
}

/* Replaces every "= TODO#" by "= secret/app#", as the header tells. */
static char *fill_in(const char *text) {
        char *out = malloc(strlen(text) * 2 + 1), *o = out;

        for (const char *p = text; *p;)
                if (strncmp(p, "= TODO#", 7) == 0) {
                        o = stpcpy(o, "= secret/app#");
                        p += 7;
                } else
                        *o++ = *p++;
        *o = '\0';
        return out;
}

static const char RECORDS[] =
        "HOME\tapp\n"
        "DB_PASSWORD\tapp\n"
        "APP_MODE\tworker\n"
        "DB_PASSWORD\tworker\n"
        "DB_PASSWORD\tapp\n"            /* duplicate */
        "API_TOKEN\tworker\n"
        "LANG\tsh\n"
        "LC_ALL\tsh\n"
        "PORT\tapp\n"
        "bad-name\tapp\n"               /* skipped */
        "no tab here\n"                 /* skipped */
        "\n"
        "DATABASE_URL\tapp";            /* last line without its end */

static void test_skeleton(void) {
        struct ve_map *map = NULL;
        char *text = NULL, *filled, *err = NULL;
        const char *secrets, *others, *system;

        CU_ASSERT_EQUAL_FATAL(ve_learn_skeleton(RECORDS, sizeof RECORDS - 1, "app --serve\n", &text), 0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(text);

        /* header: the command (control bytes shown as '?') */
        CU_ASSERT_PTR_NOT_NULL(strstr(text, "#   app --serve?\n"));

        /* the three parts, in order: secrets, others, well-known */
        secrets = strstr(text, "\n# Names that look like secrets");
        others = strstr(text, "\n# Other names read");
        system = strstr(text, "\n# Also read, left out");
        CU_ASSERT_PTR_NOT_NULL_FATAL(secrets);
        CU_ASSERT_PTR_NOT_NULL_FATAL(others);
        CU_ASSERT_PTR_NOT_NULL_FATAL(system);
        CU_ASSERT_TRUE(secrets < others && others < system);

        /* sorted, aligned, each name once, programs deduplicated and sorted */
        CU_ASSERT_PTR_NOT_NULL(strstr(secrets,
                "API_TOKEN    = TODO#api_token    # read by: worker\n"
                "DATABASE_URL = TODO#database_url    # read by: app\n"
                "DB_PASSWORD  = TODO#db_password    # read by: app, worker\n"));
        CU_ASSERT_PTR_NOT_NULL(strstr(others,
                "# APP_MODE = TODO#app_mode    # read by: worker\n"
                "# PORT = TODO#port    # read by: app\n"));
        CU_ASSERT_PTR_NOT_NULL(strstr(system, "#   HOME LANG LC_ALL\n"));
        CU_ASSERT_EQUAL(count(text, "DB_PASSWORD"), 1);
        CU_ASSERT_EQUAL(count(text, "bad-name"), 0);
        CU_ASSERT_EQUAL(count(text, "no tab"), 0);

        /* as drafted, the file is refused: TODO is not a MOUNT/PATH */
        CU_ASSERT_EQUAL(ve_map_parse("draft.map", text, strlen(text), &map, &err), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(err);
        if (err)
                CU_ASSERT_PTR_NOT_NULL(strstr(err, "reference needs MOUNT/PATH"));
        free(err);
        err = NULL;

        /* once filled in, it parses: the secret-looking names are mapped,
         * the others stay comments */
        filled = fill_in(text);
        CU_ASSERT_EQUAL(ve_map_parse("draft.map", filled, strlen(filled), &map, &err), 0);
        if (err)
                fprintf(stderr, "\n  %s\n", err);
        CU_ASSERT_PTR_NOT_NULL_FATAL(map);
        CU_ASSERT_EQUAL(map->n_entries, 3);
        for (size_t i = 0; i < map->n_entries; i++)
                CU_ASSERT_STRING_EQUAL(map->entries[i].ref.path, "secret/app");
        CU_ASSERT_STRING_EQUAL(map->entries[0].name, "API_TOKEN");
        CU_ASSERT_STRING_EQUAL(map->entries[0].ref.key, "api_token");
        CU_ASSERT_STRING_EQUAL(map->entries[2].name, "DB_PASSWORD");
        CU_ASSERT_STRING_EQUAL(map->entries[2].ref.key, "db_password");
        ve_map_free(map);
        free(filled);
        free(err);
        free(text);
}

static void test_skeleton_empty(void) {
        struct ve_map *map = NULL;
        char *text = NULL;

        CU_ASSERT_EQUAL_FATAL(ve_learn_skeleton("", 0, "true", &text), 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(text, "asked for no variable"));
        CU_ASSERT_PTR_NULL(strstr(text, "# Names that look like secrets"));
        /* still a valid (empty) mapping file */
        CU_ASSERT_EQUAL(ve_map_parse("e.map", text, strlen(text), &map, NULL), 0);
        if (map)
                CU_ASSERT_EQUAL(map->n_entries, 0);
        ve_map_free(map);
        free(text);

        /* only well-known names: nothing to map, and said so */
        CU_ASSERT_EQUAL_FATAL(ve_learn_skeleton("PATH\tsh\nHOME\tsh\n", 16, NULL, &text), 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(text, "#   HOME PATH\n"));
        CU_ASSERT_PTR_NULL(strstr(text, "TODO#home"));
        CU_ASSERT_PTR_NULL(strstr(text, "TODO#path"));
        CU_ASSERT_PTR_NULL(strstr(text, "# Names that look like secrets"));
        CU_ASSERT_PTR_NULL(strstr(text, "# Other names read"));
        free(text);

        /* an embedded NUL ends the records */
        CU_ASSERT_EQUAL_FATAL(ve_learn_skeleton("A_KEY\tx\n\0B_KEY\tx\n", 17, "x", &text), 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(text, "A_KEY = TODO#a_key"));
        CU_ASSERT_PTR_NULL(strstr(text, "B_KEY"));
        free(text);
}

/* Many names: the "well-known" list wraps; every name is listed. */
static void test_skeleton_many(void) {
        char records[64 * 40], *text = NULL;
        size_t len = 0;

        for (int i = 0; i < 40; i++)
                len += (size_t) snprintf(records + len, sizeof records - len, "LC_NAME_%02d\tp\n", i);
        CU_ASSERT_EQUAL_FATAL(ve_learn_skeleton(records, len, "p", &text), 0);
        for (int i = 0; i < 40; i++) {
                char name[32];

                snprintf(name, sizeof name, " LC_NAME_%02d", i);
                CU_ASSERT_EQUAL(count(text, name), 1);
        }
        for (const char *l = strstr(text, "# Also read"); l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
                CU_ASSERT_TRUE(strcspn(l, "\n") <= 80);
        free(text);
}

int main(void) {
        static const struct unit_test tests[] = {
                { "record format", test_format },
                { "dedup set", test_seen },
                { "dedup set, threads", test_seen_threads },
                { "classify names", test_classify },
                { "skeleton", test_skeleton },
                { "skeleton: empty and odd input", test_skeleton_empty },
                { "skeleton: many names", test_skeleton_many },
                { NULL, NULL },
        };
        static const struct unit_suite suite = { "learn", tests };

        return unit_run(&suite, 1);
}
