/* SPDX-License-Identifier: MIT */
/* export.c: sh, dotenv and JSON quoting and the documents they make; and
 * what `vaultenv check`/`export` read from the resolver (the status of an
 * entry's last Vault read, the names a bulk rule gives), with a fake Vault
 * source. The sh round trip through a real shell is in
 * tests/integration/cli/cli-export.sh. Values are fake. */
#include "unit.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "log.h"
#include "mapfile.h"
#include "resolve.h"
#include "settings.h"
#include "util.h"

static void expect_str(char *got, const char *expected, int line) {
        if (!got || strcmp(got, expected) != 0)
                fprintf(stderr, "\n  line %d: got <%s>\n  expected <%s>\n", line, got ? got : "(null)", expected);
        CU_ASSERT_PTR_NOT_NULL(got);
        if (got)
                CU_ASSERT_STRING_EQUAL(got, expected);
        free(got);
}
#define EXPECT(got, expected) expect_str((got), (expected), __LINE__)

static void test_format_parse(void) {
        enum ve_export_format f = VE_EXPORT_JSON;

        CU_ASSERT_EQUAL(ve_export_format_parse("sh", &f), 0);
        CU_ASSERT_EQUAL(f, VE_EXPORT_SH);
        CU_ASSERT_EQUAL(ve_export_format_parse("dotenv", &f), 0);
        CU_ASSERT_EQUAL(f, VE_EXPORT_DOTENV);
        CU_ASSERT_EQUAL(ve_export_format_parse("json", &f), 0);
        CU_ASSERT_EQUAL(f, VE_EXPORT_JSON);
        CU_ASSERT_EQUAL(ve_export_format_parse("yaml", &f), -EINVAL);
        CU_ASSERT_EQUAL(ve_export_format_parse("SH", &f), -EINVAL);
        CU_ASSERT_EQUAL(ve_export_format_parse("", &f), -EINVAL);
        CU_ASSERT_EQUAL(ve_export_format_parse(NULL, &f), -EINVAL);
        CU_ASSERT_EQUAL(f, VE_EXPORT_JSON);     /* untouched on failure */
}

static void test_sh_quote(void) {
        EXPECT(ve_sh_quote(""), "''");
        EXPECT(ve_sh_quote("fake-pw"), "'fake-pw'");
        EXPECT(ve_sh_quote("it's"), "'it'\\''s'");
        EXPECT(ve_sh_quote("'"), "''\\'''");
        EXPECT(ve_sh_quote("''"), "''\\'''\\'''");
        /* nothing else is special inside '...': kept byte for byte */
        EXPECT(ve_sh_quote("$HOME `id` \\n \"x\" !x *"), "'$HOME `id` \\n \"x\" !x *'");
        EXPECT(ve_sh_quote("a\nb\r\x01\x1f\x7f\xff\xc3\xa9"), "'a\nb\r\x01\x1f\x7f\xff\xc3\xa9'");
}

/* The sh form, read back as POSIX sh does inside and between quotes:
 * '...' is literal, \' outside quotes is a quote. */
static char *sh_unquote(const char *q) {
        char *out = malloc(strlen(q) + 1), *w = out;
        bool in = false;

        for (const char *p = q; *p; p++) {
                if (in) {
                        if (*p == '\'')
                                in = false;
                        else
                                *w++ = *p;
                } else if (*p == '\'')
                        in = true;
                else if (*p == '\\' && p[1])
                        *w++ = *++p;
                else {
                        free(out);
                        return NULL;    /* an unquoted byte: not our output */
                }
        }
        if (in) {
                free(out);
                return NULL;
        }
        *w = '\0';
        return out;
}

static void test_sh_quote_random(void) {
        unsigned seed = 12345;
        char value[64];

        for (int round = 0; round < 2000; round++) {
                size_t n = (size_t) (rand_r(&seed) % 63);
                char *q, *back;

                for (size_t i = 0; i < n; i++) {
                        int b = rand_r(&seed) % 255 + 1;          /* any byte but NUL */

                        /* quotes often, to stress the escape */
                        value[i] = (char) (rand_r(&seed) % 4 == 0 ? '\'' : b);
                }
                value[n] = '\0';
                q = ve_sh_quote(value);
                CU_ASSERT_PTR_NOT_NULL_FATAL(q);
                back = sh_unquote(q);
                CU_ASSERT_PTR_NOT_NULL(back);
                if (back)
                        CU_ASSERT_STRING_EQUAL(back, value);
                free(back);
                free(q);
        }
}

static void test_dotenv_quote(void) {
        EXPECT(ve_dotenv_quote(""), "''");
        EXPECT(ve_dotenv_quote("fake-pw"), "'fake-pw'");
        /* single quotes: literal, $ and backslashes included */
        EXPECT(ve_dotenv_quote("$x \\n \"q\" \t"), "'$x \\n \"q\" \t'");
        EXPECT(ve_dotenv_quote("\x01\xc3\xa9"), "'\x01\xc3\xa9'");
        /* a ', a newline or a CR: double quotes with escapes */
        EXPECT(ve_dotenv_quote("it's"), "\"it's\"");
        EXPECT(ve_dotenv_quote("a\nb"), "\"a\\nb\"");
        EXPECT(ve_dotenv_quote("a\rb"), "\"a\\rb\"");
        EXPECT(ve_dotenv_quote("'\\\"$\t\x01\x1b\x7f\xc3\xa9\n"), "\"'\\\\\\\"\\$\\t\\x01\\x1b\\x7f\xc3\xa9\\n\"");
}

static void test_utf8(void) {
        CU_ASSERT_TRUE(ve_utf8_valid(""));
        CU_ASSERT_TRUE(ve_utf8_valid("plain ascii \x01\x7f"));
        CU_ASSERT_TRUE(ve_utf8_valid("\xc3\xa9"));                 /* é */
        CU_ASSERT_TRUE(ve_utf8_valid("\xe2\x82\xac"));             /* € */
        CU_ASSERT_TRUE(ve_utf8_valid("\xf0\x9f\x94\x91"));         /* U+1F511 */
        CU_ASSERT_TRUE(ve_utf8_valid("\xf4\x8f\xbf\xbf"));         /* U+10FFFF */
        CU_ASSERT_FALSE(ve_utf8_valid("\xff"));
        CU_ASSERT_FALSE(ve_utf8_valid("\x80"));                    /* lone continuation */
        CU_ASSERT_FALSE(ve_utf8_valid("\xc3"));                    /* truncated */
        CU_ASSERT_FALSE(ve_utf8_valid("\xc3x"));
        CU_ASSERT_FALSE(ve_utf8_valid("\xc0\xaf"));                /* overlong '/' */
        CU_ASSERT_FALSE(ve_utf8_valid("\xe0\x80\xaf"));            /* overlong */
        CU_ASSERT_FALSE(ve_utf8_valid("\xed\xa0\x80"));            /* surrogate U+D800 */
        CU_ASSERT_FALSE(ve_utf8_valid("\xf4\x90\x80\x80"));        /* > U+10FFFF */
        CU_ASSERT_FALSE(ve_utf8_valid("\xf5\x80\x80\x80"));
}

static void test_json_quote(void) {
        char *q = (char *) 0x1;

        CU_ASSERT_EQUAL(ve_json_quote("", &q), 0);
        EXPECT(q, "\"\"");
        CU_ASSERT_EQUAL(ve_json_quote("fake \"pw\" \\ /", &q), 0);
        EXPECT(q, "\"fake \\\"pw\\\" \\\\ /\"");
        CU_ASSERT_EQUAL(ve_json_quote("\n\r\t\b\f\x01\x1f\x7f\xc3\xa9", &q), 0);
        EXPECT(q, "\"\\n\\r\\t\\b\\f\\u0001\\u001f\x7f\xc3\xa9\"");
        q = (char *) 0x1;
        CU_ASSERT_EQUAL(ve_json_quote("fake\xff", &q), -EILSEQ);
        CU_ASSERT_PTR_EQUAL(q, (char *) 0x1);   /* untouched on failure */
}

static void test_render(void) {
        const char *names[] = { "A_PW", "B_URL", "C" };
        const char *values[] = { "it's", "x\ny", "" };
        const char *bad[] = { "ok", "fake\xc3", "ok" };
        char *text = (char *) 0x1;
        size_t at = 99;

        CU_ASSERT_EQUAL(ve_export_render(VE_EXPORT_SH, names, values, 3, &text, NULL), 0);
        EXPECT(text, "export A_PW='it'\\''s'\nexport B_URL='x\ny'\nexport C=''\n");
        CU_ASSERT_EQUAL(ve_export_render(VE_EXPORT_DOTENV, names, values, 3, &text, NULL), 0);
        EXPECT(text, "A_PW=\"it's\"\nB_URL=\"x\\ny\"\nC=''\n");
        CU_ASSERT_EQUAL(ve_export_render(VE_EXPORT_JSON, names, values, 3, &text, NULL), 0);
        EXPECT(text, "{\n  \"A_PW\": \"it's\",\n  \"B_URL\": \"x\\ny\",\n  \"C\": \"\"\n}\n");
        CU_ASSERT_EQUAL(ve_export_render(VE_EXPORT_JSON, names, values, 1, &text, NULL), 0);
        EXPECT(text, "{\n  \"A_PW\": \"it's\"\n}\n");

        /* nothing to export */
        CU_ASSERT_EQUAL(ve_export_render(VE_EXPORT_JSON, names, values, 0, &text, NULL), 0);
        EXPECT(text, "{}\n");
        CU_ASSERT_EQUAL(ve_export_render(VE_EXPORT_SH, names, values, 0, &text, NULL), 0);
        EXPECT(text, "");

        /* JSON cannot carry bytes that are not UTF-8: the index is named */
        text = (char *) 0x1;
        CU_ASSERT_EQUAL(ve_export_render(VE_EXPORT_JSON, names, bad, 3, &text, &at), -EILSEQ);
        CU_ASSERT_EQUAL(at, 1);
        CU_ASSERT_PTR_EQUAL(text, (char *) 0x1);
        /* sh and dotenv can */
        CU_ASSERT_EQUAL(ve_export_render(VE_EXPORT_SH, names, bad, 3, &text, NULL), 0);
        EXPECT(text, "export A_PW='ok'\nexport B_URL='fake\xc3'\nexport C='ok'\n");
        CU_ASSERT_EQUAL(ve_export_render((enum ve_export_format) 7, names, values, 3, &text, NULL), -EINVAL);
}

/* ---- the resolver, as check and export use it ---- */

struct answer {
        const char *path;
        int err;
        const char *kv[10];
        long version;
};
static const struct answer *answers;
static int n_reads;

static int fake_read(void *ud, const struct ve_ref *ref, struct ve_secret **ret, char **ret_error) {
        (void) ud;
        n_reads++;
        for (const struct answer *a = answers; a->path; a++) {
                struct ve_secret *s;

                if (strcmp(a->path, ref->path) != 0)
                        continue;
                if (a->err < 0) {
                        *ret_error = ve_asprintf("%s: fake failure", ref->path);
                        return a->err;
                }
                s = ve_secret_new();
                for (size_t k = 0; a->kv[k]; k += 2)
                        ve_secret_add(s, a->kv[k], a->kv[k + 1]);
                s->version = a->version;
                *ret = s;
                return 0;
        }
        *ret_error = ve_asprintf("no secret at %s", ref->path);
        return -ENOENT;
}

static const struct ve_source source = { .read = fake_read };

static const char *no_env(const char *name) {
        (void) name;
        return NULL;
}

static struct ve_resolver *resolver_of(const char *text, struct ve_settings *settings) {
        struct ve_resolver *r = NULL;
        struct ve_map *map = NULL;
        char *err = NULL;

        *settings = (struct ve_settings) { .secrets_dir = (char *) "/nonexistent", .stale_max_ms = 1000 };
        n_reads = 0;
        CU_ASSERT_EQUAL_FATAL(ve_map_parse("t.map", text, strlen(text), &map, &err), 0);
        CU_ASSERT_EQUAL_FATAL(ve_resolver_new(map, settings, &source, no_env, &r), 0);
        return r;
}

static int status_of(struct ve_resolver *r, const char *name, unsigned long *ret_version) {
        struct ve_entry *e = ve_resolver_find(r, name);
        const char *v = NULL;
        char *reason = NULL;

        CU_ASSERT_PTR_NOT_NULL_FATAL(e);
        (void) ve_resolve(r, e, &v, NULL, &reason);
        free(reason);
        return ve_entry_vault_status(r, e, ret_version);
}

static void test_vault_status(void) {
        static const struct answer a[] = {
                { "secret/app/db", 0, { "password", "fake-pw", "user", "fake-user" }, 7 },
                { "secret/denied", -EACCES, {}, 0 },
                { "secret/down", -ECONNREFUSED, {}, 0 },
                { "secret/sealed", -EAGAIN, {}, 0 },
                { "kv/v1", 0, { "value", "fake-v1" }, 0 },
                {},
        };
        struct ve_settings settings;
        struct ve_resolver *r;
        unsigned long version = 99;
        char *why;

        answers = a;
        r = resolver_of("PW = secret/app/db#password\n"
                        "NOKEY = secret/app/db#nokey\n"
                        "GONE = secret/app/gone\n"
                        "DENIED = secret/denied\n"
                        "DOWN = secret/down\n"
                        "SEALED = secret/sealed\n"
                        "V1 = kv/v1\n"
                        "UNASKED = secret/app/db#user\n"
                        "T = \"x{{secret/app/db#user}}{{secret/denied#k}}\"\n"
                        "T_OK = \"x{{secret/app/db#user}}\"\n", &settings);
        CU_ASSERT_EQUAL(ve_entry_vault_status(r, ve_resolver_find(r, "UNASKED"), &version), -ESRCH);
        CU_ASSERT_EQUAL(status_of(r, "PW", &version), 0);
        CU_ASSERT_EQUAL(version, 7);
        CU_ASSERT_EQUAL(status_of(r, "NOKEY", NULL), -ENODATA);
        why = ve_entry_vault_reason(r, ve_resolver_find(r, "NOKEY"));
        CU_ASSERT_PTR_NOT_NULL(why);
        if (why)
                CU_ASSERT_STRING_EQUAL(why, "no key \"nokey\" in secret/app/db");
        free(why);
        CU_ASSERT_EQUAL(status_of(r, "GONE", NULL), -ENOENT);
        CU_ASSERT_EQUAL(status_of(r, "DENIED", NULL), -EACCES);
        CU_ASSERT_EQUAL(status_of(r, "DOWN", NULL), -ECONNREFUSED);
        CU_ASSERT_EQUAL(status_of(r, "SEALED", NULL), -EAGAIN);
        version = 99;
        CU_ASSERT_EQUAL(status_of(r, "V1", &version), 0);
        CU_ASSERT_EQUAL(version, 0);
        /* a template: its first failing reference */
        CU_ASSERT_EQUAL(status_of(r, "T", NULL), -EACCES);
        CU_ASSERT_EQUAL(ve_entry_n_parts(ve_resolver_find(r, "T")), 2);
        CU_ASSERT_EQUAL(ve_entry_vault_status(r, ve_entry_part(ve_resolver_find(r, "T"), 0), NULL), 0);
        CU_ASSERT_STRING_EQUAL(ve_entry_map(ve_entry_part(ve_resolver_find(r, "T"), 1))->ref.path, "secret/denied");
        CU_ASSERT_PTR_NULL(ve_entry_part(ve_resolver_find(r, "T"), 2));
        CU_ASSERT_PTR_NULL(ve_entry_part(ve_resolver_find(r, "PW"), 0));
        CU_ASSERT_EQUAL(ve_entry_n_parts(ve_resolver_find(r, "PW")), 0);
        CU_ASSERT_EQUAL(status_of(r, "T_OK", NULL), 0);
        ve_resolver_free(r);
}

static void test_bulk_names(void) {
        static const struct answer a[] = {
                { "secret/app/db", 0, { "password", "fake-pw", "host-name", "fake-h", "host_name", "fake-h2",
                                        "", "fake-empty" }, 3 },
                { "secret/denied", -EACCES, {}, 0 },
                {},
        };
        struct ve_settings settings;
        struct ve_resolver *r;
        char **names = (char **) 0x1, *reason = NULL;
        const char *v = NULL;
        unsigned long version = 0;

        answers = a;
        r = resolver_of("DB_* = secret/app/db#*\nNO_* = secret/denied#*\nX = secret/app/db#password\n", &settings);
        CU_ASSERT_EQUAL_FATAL(ve_resolver_bulk_names(r, 0, &names, NULL), 0);
        CU_ASSERT_EQUAL(n_reads, 1);
        /* sorted, the empty key left out, "host-name" and "host_name" once */
        CU_ASSERT_PTR_NOT_NULL_FATAL(names[0]);
        CU_ASSERT_STRING_EQUAL(names[0], "DB_HOST_NAME");
        CU_ASSERT_PTR_NOT_NULL_FATAL(names[1]);
        CU_ASSERT_STRING_EQUAL(names[1], "DB_PASSWORD");
        CU_ASSERT_PTR_NULL(names[2]);
        /* the names take their values from that one read */
        CU_ASSERT_EQUAL(ve_resolve(r, ve_resolver_find(r, "DB_PASSWORD"), &v, NULL, NULL), 0);
        CU_ASSERT_PTR_NOT_NULL(v);
        if (v)
                CU_ASSERT_STRING_EQUAL(v, "fake-pw");
        CU_ASSERT_EQUAL(ve_entry_vault_status(r, ve_resolver_find(r, "DB_PASSWORD"), &version), 0);
        CU_ASSERT_EQUAL(version, 3);
        /* two keys give DB_HOST_NAME: no value, and the status says why */
        CU_ASSERT_EQUAL(status_of(r, "DB_HOST_NAME", NULL), -ENODATA);
        CU_ASSERT_EQUAL(n_reads, 1);
        ve_names_free(names);

        names = (char **) 0x1;
        CU_ASSERT_EQUAL(ve_resolver_bulk_names(r, 1, &names, &reason), -EACCES);
        CU_ASSERT_PTR_EQUAL(names, (char **) 0x1);
        CU_ASSERT_PTR_NOT_NULL(reason);
        if (reason)
                CU_ASSERT_STRING_EQUAL(reason, "secret/denied: fake failure");
        free(reason);
        CU_ASSERT_EQUAL(ve_resolver_bulk_names(r, 2, &names, NULL), -EINVAL);
        CU_ASSERT_EQUAL(ve_resolver_map(r)->n_bulk, 2);
        ve_names_free(NULL);
        ve_resolver_free(r);
}

static char warned[1024];

static void collect_log(void *userdata, enum ve_log_level level, const char *msg) {
        (void) userdata;
        (void) level;
        if (strlen(warned) + strlen(msg) + 2 < sizeof warned) {
                strcat(warned, msg);
                strcat(warned, "\n");
        }
}

/* A bulk rule never serves a name the shim passes through to the real
 * environment (an allocator's MALLOC_CONF, SSLKEYLOGFILE; mapfile.c,
 * ve_name_reserved()): not listed, not found, a warning naming it. */
static void test_bulk_reserved(void) {
        static const struct answer a[] = {
                { "secret/app/s", 0, { "slkeylogfile", "fake-path", "alloc_conf", "fake-conf", "ok", "fake-ok" }, 1 },
                { "secret/app/m", 0, { "malloc_conf", "fake-conf", "MALLOC-CONF", "fake-conf2", "pw", "fake-pw" }, 1 },
                {},
        };
        struct ve_settings settings;
        struct ve_resolver *r;
        char **names = NULL;
        const char *v = NULL;

        answers = a;
        warned[0] = 0;
        ve_log_set(collect_log, NULL, VE_LOG_WARN);
        r = resolver_of("S* = secret/app/s#*\nAPP_* = secret/app/m#*\n", &settings);
        CU_ASSERT_EQUAL_FATAL(ve_resolver_bulk_names(r, 0, &names, NULL), 0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(names[0]);
        CU_ASSERT_STRING_EQUAL(names[0], "SALLOC_CONF");        /* not a *MALLOC_CONF */
        CU_ASSERT_PTR_NOT_NULL_FATAL(names[1]);
        CU_ASSERT_STRING_EQUAL(names[1], "SOK");
        CU_ASSERT_PTR_NULL(names[2]);
        ve_names_free(names);
        CU_ASSERT_PTR_NOT_NULL(strstr(warned, "SSLKEYLOGFILE (a key at secret/app/s, bulk mapping S* on line 1) is a "
                                              "name vaultenv never serves; left to the environment"));
        CU_ASSERT_EQUAL_FATAL(ve_resolver_bulk_names(r, 1, &names, NULL), 0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(names[0]);
        CU_ASSERT_STRING_EQUAL(names[0], "APP_PW");
        CU_ASSERT_PTR_NULL(names[1]);
        ve_names_free(names);
        CU_ASSERT_PTR_NOT_NULL(strstr(warned, "APP_MALLOC_CONF (a key at secret/app/m, bulk mapping APP_* on line 2) "
                                              "is a name vaultenv never serves; left to the environment"));
        /* "malloc_conf" and "MALLOC-CONF" give one name: warned once */
        {
                const char *first = strstr(warned, "APP_MALLOC_CONF");

                CU_ASSERT_TRUE(first && !strstr(first + 1, "APP_MALLOC_CONF"));
        }
        /* the look-up the shim makes: nothing, so the environment answers */
        CU_ASSERT_PTR_NULL(ve_resolver_find(r, "SSLKEYLOGFILE"));
        CU_ASSERT_PTR_NULL(ve_resolver_find(r, "APP_MALLOC_CONF"));
        CU_ASSERT_PTR_NOT_NULL_FATAL(ve_resolver_find(r, "APP_PW"));
        CU_ASSERT_EQUAL(ve_resolve(r, ve_resolver_find(r, "APP_PW"), &v, NULL, NULL), 0);
        CU_ASSERT_TRUE(v && strcmp(v, "fake-pw") == 0);
        CU_ASSERT_PTR_NULL(strstr(warned, "fake-"));
        ve_log_set(NULL, NULL, VE_LOG_ERROR);
        ve_resolver_free(r);
}

int main(void) {
        static const struct unit_test quoting[] = {
                { "format names", test_format_parse },
                { "sh quoting", test_sh_quote },
                { "sh quoting of random bytes reads back", test_sh_quote_random },
                { "dotenv quoting", test_dotenv_quote },
                { "UTF-8 validation", test_utf8 },
                { "JSON quoting", test_json_quote },
                { "documents", test_render },
                { NULL, NULL },
        };
        static const struct unit_test resolver[] = {
                { "status of the last Vault read", test_vault_status },
                { "names of a bulk rule", test_bulk_names },
                { "a bulk rule never serves a reserved name", test_bulk_reserved },
                { NULL, NULL },
        };
        static const struct unit_suite suites[] = {
                { "export quoting", quoting },
                { "resolver for check and export", resolver },
        };

        return unit_run(suites, sizeof suites / sizeof suites[0]);
}
