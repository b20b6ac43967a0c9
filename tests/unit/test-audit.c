/* SPDX-License-Identifier: MIT */
/* lib/resolve/audit.c (record formats, file delivery, the one-error rule) and the
 * resolver's audit hook (once per name and source, again after a refresh
 * that read a new version; never a value), with a fake Vault source. */
#include "unit.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "log.h"
#include "mapfile.h"
#include "resolve.h"
#include "settings.h"
#include "util.h"

static char tmpdir[64];

/* ---- log capture: how many errors were reported ---- */
static int n_errors;
static char last_error[512];

static void capture(void *ud, enum ve_log_level level, const char *msg) {
        if (level == VE_LOG_ERROR) {
                n_errors++;
                snprintf(last_error, sizeof last_error, "%s", msg);
        }
}

static void test_body(void) {
        static const struct ve_audit_ref one = { "secret/app/db", "password", 3 };
        static const struct ve_audit_ref nover = { "kv/app", "token", 0 };
        static const struct ve_audit_ref bulk = { "secret/app/db", NULL, 2 };
        static const struct ve_audit_ref two[] = { { "secret/a", "user", 3 }, { "secret/b", "pw", 0 } };
        char buf[VE_AUDIT_RECORD_MAX];
        struct ve_audit_event ev = { .name = "DB_PASSWORD", .source = VE_AUDIT_VAULT, .refs = &one, .n_refs = 1 };
        int n;

        n = ve_audit_format_body(&ev, 42, "app", buf, sizeof buf);
        CU_ASSERT_STRING_EQUAL(buf, "pid=42 program=app name=DB_PASSWORD source=vault path=secret/app/db key=password version=3");
        CU_ASSERT_EQUAL(n, (int) strlen(buf));

        ev.refs = &nover;
        ve_audit_format_body(&ev, 42, "app", buf, sizeof buf);
        CU_ASSERT_STRING_EQUAL(buf, "pid=42 program=app name=DB_PASSWORD source=vault path=kv/app key=token");
        ev.refs = &bulk;
        ve_audit_format_body(&ev, 42, "app", buf, sizeof buf);
        CU_ASSERT_STRING_EQUAL(buf, "pid=42 program=app name=DB_PASSWORD source=vault path=secret/app/db version=2");

        ev.refs = two;
        ev.n_refs = 2;
        ve_audit_format_body(&ev, 42, "app", buf, sizeof buf);
        CU_ASSERT_STRING_EQUAL(buf, "pid=42 program=app name=DB_PASSWORD source=vault refs=secret/a#user@3,secret/b#pw");

        ev = (struct ve_audit_event) { .name = "X", .source = VE_AUDIT_FILE, .file = "/run/x file" };
        ve_audit_format_body(&ev, 7, "my app", buf, sizeof buf);
        CU_ASSERT_STRING_EQUAL(buf, "pid=7 program=\"my app\" name=X source=file file=\"/run/x file\"");
        ev.source = VE_AUDIT_SECRETS_DIR;
        ev.file = "/run/secrets/x";
        ve_audit_format_body(&ev, 7, "a\"b\\c\nd\xc3", buf, sizeof buf);
        CU_ASSERT_STRING_EQUAL(buf, "pid=7 program=\"a\\\"b\\\\c\\x0ad\\xc3\" name=X source=secrets-dir file=/run/secrets/x");

        ev = (struct ve_audit_event) { .name = "X", .source = VE_AUDIT_ENV };
        ve_audit_format_body(&ev, 7, NULL, buf, sizeof buf);
        CU_ASSERT_STRING_EQUAL(buf, "pid=7 program=? name=X source=env");
        ev.source = VE_AUDIT_DEFAULT;
        ve_audit_format_body(&ev, 7, "p", buf, sizeof buf);
        CU_ASSERT_STRING_EQUAL(buf, "pid=7 program=p name=X source=default");
        ev.source = VE_AUDIT_NONE;
        ve_audit_format_body(&ev, 7, "p", buf, sizeof buf);
        CU_ASSERT_STRING_EQUAL(buf, "pid=7 program=p name=X source=none");

        /* bad events and small buffers */
        ev = (struct ve_audit_event) { .name = "X", .source = VE_AUDIT_VAULT };
        CU_ASSERT_EQUAL(ve_audit_format_body(&ev, 7, "p", buf, sizeof buf), -EINVAL);
        ev = (struct ve_audit_event) { .source = VE_AUDIT_ENV };
        CU_ASSERT_EQUAL(ve_audit_format_body(&ev, 7, "p", buf, sizeof buf), -EINVAL);
        ev.name = "X";
        CU_ASSERT_EQUAL(ve_audit_format_body(&ev, 7, "p", buf, 10), -ENOBUFS);
        CU_ASSERT_EQUAL(strlen(buf), 9);
}

static void test_file_and_syslog_format(void) {
        static const struct ve_audit_ref one = { "secret/app/db", "password", 3 };
        const struct ve_audit_event ev = { .name = "DB_PASSWORD", .source = VE_AUDIT_VAULT, .refs = &one, .n_refs = 1 };
        /* 2026-11-27T10:57:30.123Z */
        const struct timespec t = { .tv_sec = 1795777050, .tv_nsec = 123456789 };
        char buf[VE_AUDIT_RECORD_MAX];
        char *old_tz = getenv("TZ") ? strdup(getenv("TZ")) : NULL;

        CU_ASSERT_TRUE(ve_audit_format_file(&ev, &t, 42, "app", buf, sizeof buf) > 0);
        CU_ASSERT_STRING_EQUAL(buf, "2026-11-27T10:57:30.123Z vaultenv pid=42 program=app name=DB_PASSWORD "
                                    "source=vault path=secret/app/db key=password version=3\n");

        setenv("TZ", "UTC", 1);
        tzset();
        CU_ASSERT_TRUE(ve_audit_format_syslog(&ev, &t, 42, "app", buf, sizeof buf) > 0);
        /* authpriv.info = 10 * 8 + 6; the RFC 3164 header glibc sends */
        CU_ASSERT_STRING_EQUAL(buf, "<86>Nov 27 10:57:30 vaultenv[42]: pid=42 program=app name=DB_PASSWORD "
                                    "source=vault path=secret/app/db key=password version=3");
        {
                const struct timespec t2 = { .tv_sec = 1795777050 - 26 * 86400, .tv_nsec = 0 };   /* Nov 1 */

                ve_audit_format_syslog(&ev, &t2, 42, "app", buf, sizeof buf);
                CU_ASSERT_EQUAL(strncmp(buf, "<86>Nov  1 10:57:30 vaultenv[42]: ", 34), 0);
        }
        if (old_tz)
                setenv("TZ", old_tz, 1);
        else
                unsetenv("TZ");
        tzset();
        free(old_tz);
}

static void test_new(void) {
        struct ve_audit *a = (struct ve_audit *) 0x1;

        CU_ASSERT_EQUAL(ve_audit_new("relative/file", &a), -EINVAL);
        CU_ASSERT_EQUAL(ve_audit_new("", &a), -EINVAL);
        CU_ASSERT_EQUAL(ve_audit_new(NULL, &a), -EINVAL);
        CU_ASSERT_PTR_EQUAL(a, (struct ve_audit *) 0x1);
        CU_ASSERT_EQUAL(ve_audit_new("syslog", &a), 0);
        ve_audit_free(a);
        ve_audit_free(NULL);
}

static char *slurp(const char *path) {
        char *data = NULL;
        size_t len;

        if (ve_read_file(path, 1 << 20, &data, &len) < 0)
                return NULL;
        return data;
}

static int count_lines(const char *s) {
        int n = 0;

        for (; s && *s; s++)
                n += *s == '\n';
        return n;
}

static void test_file_delivery(void) {
        const struct ve_audit_event ev = { .name = "A", .source = VE_AUDIT_DEFAULT };
        struct ve_audit *a = NULL;
        char path[128], *data;
        struct stat st;

        snprintf(path, sizeof path, "%s/audit.log", tmpdir);
        unlink(path);
        umask(022);
        CU_ASSERT_EQUAL_FATAL(ve_audit_new(path, &a), 0);
        CU_ASSERT_EQUAL(ve_audit_record(a, &ev), 0);
        CU_ASSERT_EQUAL(ve_audit_record(a, &ev), 0);
        CU_ASSERT_EQUAL(stat(path, &st), 0);
        CU_ASSERT_EQUAL(st.st_mode & 07777, 0600);
        data = slurp(path);
        CU_ASSERT_EQUAL(count_lines(data), 2);
        CU_ASSERT_PTR_NOT_NULL(data && strstr(data, " vaultenv pid="));
        CU_ASSERT_PTR_NOT_NULL(data && strstr(data, " program=test-audit name=A source=default\n"));
        free(data);
        ve_audit_free(a);

        /* unwritable: one error naming the file, then silence */
        n_errors = 0;
        snprintf(path, sizeof path, "%s/no-such-dir/audit.log", tmpdir);
        CU_ASSERT_EQUAL_FATAL(ve_audit_new(path, &a), 0);
        CU_ASSERT_EQUAL(ve_audit_record(a, &ev), -EIO);
        CU_ASSERT_EQUAL(ve_audit_record(a, &ev), -EIO);
        CU_ASSERT_EQUAL(n_errors, 1);
        CU_ASSERT_PTR_NOT_NULL(strstr(last_error, path));
        CU_ASSERT_PTR_NOT_NULL(strstr(last_error, "No such file or directory"));
        ve_audit_free(a);
}

/* ---- the resolver hook, with a fake Vault ---- */
static unsigned long vault_version = 1;
static int vault_reads;

static int fake_read(void *ud, const struct ve_ref *ref, struct ve_secret **ret, char **ret_error) {
        struct ve_secret *s;
        char v[64];

        vault_reads++;
        if (strcmp(ref->path, "secret/app/db") != 0 && strcmp(ref->path, "secret/app/other") != 0) {
                *ret_error = strdup("no such secret");
                return -ENOENT;
        }
        s = ve_secret_new();
        snprintf(v, sizeof v, "fake-value-%lu", vault_version);
        ve_secret_add(s, "password", v);
        ve_secret_add(s, "user", "fake-user");
        s->version = (long) vault_version;
        *ret = s;
        return 0;
}

static const struct ve_source source = { .read = fake_read };

static uint64_t now_ms = 1000000;
static uint64_t fake_clock(void) {
        return now_ms;
}

static char file_env[160];
static const char *fake_getenv(const char *name) {
        if (strcmp(name, "FROM_FILE_FILE") == 0)
                return file_env;
        if (strcmp(name, "FROM_ENV") == 0)
                return "fake-env-value";
        return NULL;
}

static const char MAP[] =
        "DB_PASSWORD = secret/app/db#password ttl=10s\n"
        "DB_USER = secret/app/db#user\n"
        "DSN = \"pg://{{secret/app/db#user}}:{{secret/app/other#password}}@h\"\n"
        "FROM_FILE = secret/app/nothing\n"
        "FROM_DIR = secret/app/nothing\n"
        "FROM_ENV = secret/app/nothing\n"
        "FROM_DEFAULT = secret/app/nothing default=fake-default-value\n"
        "NOTHING = secret/app/nothing\n"
        "MUST = secret/app/nothing required\n";

static const char *resolve(struct ve_resolver *r, const char *name, int expect) {
        struct ve_entry *e = ve_resolver_find(r, name);
        const char *v = NULL;
        char *reason = NULL;

        CU_ASSERT_PTR_NOT_NULL_FATAL(e);
        CU_ASSERT_EQUAL(ve_resolve(r, e, &v, NULL, &reason), expect);
        free(reason);
        return v;
}

/* The line of the audit file that has name=NAME source=..., and how many. */
static int records_of(const char *data, const char *name, char *ret_line, size_t size) {
        char needle[64];
        int n = 0;

        snprintf(needle, sizeof needle, " name=%s ", name);
        for (const char *l = data; l && *l;) {
                const char *nl = strchr(l, '\n');
                size_t len = nl ? (size_t) (nl - l) : strlen(l);

                if (memmem(l, len, needle, strlen(needle))) {
                        n++;
                        if (ret_line)
                                snprintf(ret_line, size, "%.*s", (int) len, l);
                }
                l = nl ? nl + 1 : NULL;
        }
        return n;
}

static void test_resolver_hook(void) {
        struct ve_settings settings = {};
        struct ve_resolver *r = NULL;
        struct ve_map *map = NULL;
        char path[128], dir[128], f[160], line[VE_AUDIT_RECORD_MAX], *data;
        FILE *fp;

        snprintf(path, sizeof path, "%s/hook.log", tmpdir);
        snprintf(dir, sizeof dir, "%s/secrets", tmpdir);
        snprintf(file_env, sizeof file_env, "%s/from-file", tmpdir);
        unlink(path);
        mkdir(dir, 0700);
        fp = fopen(file_env, "w");
        CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
        fputs("fake-file-value\n", fp);
        fclose(fp);
        snprintf(f, sizeof f, "%s/FROM_DIR", dir);
        fp = fopen(f, "w");
        CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
        fputs("fake-dir-value", fp);
        fclose(fp);

        settings.secrets_dir = dir;
        settings.audit = path;
        settings.stale_max_ms = VE_DEFAULT_STALE_MAX_MS;
        CU_ASSERT_EQUAL_FATAL(ve_map_parse("t.map", MAP, sizeof MAP - 1, &map, NULL), 0);
        CU_ASSERT_EQUAL_FATAL(ve_resolver_new(map, &settings, &source, fake_getenv, &r), 0);
        ve_resolver_set_clock(r, fake_clock);
        vault_version = 1;

        /* each name twice: one record each */
        for (int i = 0; i < 2; i++) {
                resolve(r, "DB_PASSWORD", 0);
                resolve(r, "DB_USER", 0);
                resolve(r, "DSN", 0);
                resolve(r, "FROM_FILE", 0);
                resolve(r, "FROM_DIR", 0);
                resolve(r, "FROM_ENV", 0);
                resolve(r, "FROM_DEFAULT", 0);
                resolve(r, "NOTHING", 0);
                resolve(r, "MUST", -ENOENT);
        }
        data = slurp(path);
        CU_ASSERT_PTR_NOT_NULL_FATAL(data);
        CU_ASSERT_EQUAL(count_lines(data), 9);

        CU_ASSERT_EQUAL(records_of(data, "DB_PASSWORD", line, sizeof line), 1);
        CU_ASSERT_PTR_NOT_NULL(strstr(line, " program=test-audit name=DB_PASSWORD source=vault path=secret/app/db "
                                            "key=password version=1"));
        {
                char pid[32];

                snprintf(pid, sizeof pid, " vaultenv pid=%ld ", (long) getpid());
                CU_ASSERT_PTR_NOT_NULL(strstr(line, pid));
        }
        CU_ASSERT_EQUAL(records_of(data, "DSN", line, sizeof line), 1);
        CU_ASSERT_PTR_NOT_NULL(strstr(line, " source=vault refs=secret/app/db#user@1,secret/app/other#password@1"));
        CU_ASSERT_EQUAL(records_of(data, "FROM_FILE", line, sizeof line), 1);
        CU_ASSERT_PTR_NOT_NULL(strstr(line, " source=file file="));
        CU_ASSERT_PTR_NOT_NULL(strstr(line, file_env));
        CU_ASSERT_EQUAL(records_of(data, "FROM_DIR", line, sizeof line), 1);
        CU_ASSERT_PTR_NOT_NULL(strstr(line, " source=secrets-dir file="));
        CU_ASSERT_PTR_NOT_NULL(strstr(line, f));
        CU_ASSERT_EQUAL(records_of(data, "FROM_ENV", line, sizeof line), 1);
        CU_ASSERT_PTR_NOT_NULL(strstr(line, " source=env"));
        CU_ASSERT_EQUAL(records_of(data, "FROM_DEFAULT", line, sizeof line), 1);
        CU_ASSERT_PTR_NOT_NULL(strstr(line, " source=default"));
        CU_ASSERT_EQUAL(records_of(data, "NOTHING", line, sizeof line), 1);
        CU_ASSERT_PTR_NOT_NULL(strstr(line, " source=none"));
        CU_ASSERT_EQUAL(records_of(data, "MUST", line, sizeof line), 1);
        CU_ASSERT_PTR_NOT_NULL(strstr(line, " source=none"));
        free(data);

        /* a ttl refresh that reads a new version records again; one that
         * reads the same version does not */
        now_ms += 11000;
        resolve(r, "DB_PASSWORD", 0);
        vault_version = 2;
        now_ms += 11000;
        resolve(r, "DB_PASSWORD", 0);
        resolve(r, "DB_PASSWORD", 0);
        resolve(r, "DB_USER", 0);       /* no ttl: still version 1's value, no record */
        data = slurp(path);
        CU_ASSERT_PTR_NOT_NULL_FATAL(data);
        CU_ASSERT_EQUAL(records_of(data, "DB_PASSWORD", line, sizeof line), 2);
        CU_ASSERT_PTR_NOT_NULL(strstr(line, " key=password version=2"));
        CU_ASSERT_EQUAL(records_of(data, "DB_USER", NULL, 0), 1);
        /* no value in any record */
        CU_ASSERT_PTR_NULL(strstr(data, "fake-"));
        free(data);

        ve_resolver_free(r);
}

/* Without VAULTENV_AUDIT nothing is written anywhere. */
static void test_resolver_off(void) {
        struct ve_settings settings = { .secrets_dir = (char *) "/nonexistent", .stale_max_ms = 1000 };
        struct ve_resolver *r = NULL;
        struct ve_map *map = NULL;

        CU_ASSERT_EQUAL_FATAL(ve_map_parse("t.map", MAP, sizeof MAP - 1, &map, NULL), 0);
        CU_ASSERT_EQUAL_FATAL(ve_resolver_new(map, &settings, &source, fake_getenv, &r), 0);
        n_errors = 0;
        CU_ASSERT_PTR_NOT_NULL(resolve(r, "DB_PASSWORD", 0));
        CU_ASSERT_EQUAL(n_errors, 0);
        ve_resolver_free(r);
}

int main(void) {
        static const struct unit_test tests[] = {
                { "record body", test_body },
                { "file and syslog records", test_file_and_syslog_format },
                { "targets", test_new },
                { "file delivery and the one-error rule", test_file_delivery },
                { "resolver hook", test_resolver_hook },
                { "resolver without audit", test_resolver_off },
                { NULL, NULL },
        };
        static const struct unit_suite suite = { "audit", tests };
        char cmd[96];
        int k;

        snprintf(tmpdir, sizeof tmpdir, "/tmp/test-audit.XXXXXX");
        if (!mkdtemp(tmpdir))
                return 2;
        ve_log_set(capture, NULL, VE_LOG_DEBUG);
        k = unit_run(&suite, 1);
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
                k = k ? k : 2;
        return k;
}
