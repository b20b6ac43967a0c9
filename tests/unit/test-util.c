/* SPDX-License-Identifier: MIT */
#include "unit.h"
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "envscan.h"
#include "log.h"
#include "mapfile.h"
#include "resolve.h"
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

/* ---- trusted files, secure memory, failure policy ---- */

static void test_file_trust(void) {
        struct stat st = { .st_mode = S_IFREG | 0600, .st_uid = geteuid() };
        char dir[] = "/tmp/ve-trust-XXXXXX", path[64], link[64], *why = NULL, *data = NULL;
        size_t len = 0;
        int fd;

        CU_ASSERT_EQUAL(ve_file_trust_check(&st, &why), 0);
        CU_ASSERT_PTR_NULL(why);
        st.st_mode = S_IFREG | 0644;            /* readable by all: the caller's warning, not a refusal */
        CU_ASSERT_EQUAL(ve_file_trust_check(&st, NULL), 0);
        st.st_mode = S_IFREG | 0664;
        CU_ASSERT_EQUAL(ve_file_trust_check(&st, &why), -EPERM);
        CU_ASSERT_PTR_NOT_NULL(why && strstr(why, "writable by group or others (mode 0664)"));
        free(why);
        st.st_mode = S_IFREG | 0602;
        CU_ASSERT_EQUAL(ve_file_trust_check(&st, NULL), -EPERM);
        st.st_mode = S_IFREG | 0600;
        st.st_uid = 0;                          /* root's file: trusted (Kubernetes volumes) */
        CU_ASSERT_EQUAL(ve_file_trust_check(&st, NULL), 0);
        st.st_uid = geteuid() + 4242;           /* a stranger's */
        CU_ASSERT_EQUAL(ve_file_trust_check(&st, &why), -EPERM);
        CU_ASSERT_PTR_NOT_NULL(why && strstr(why, "is owned by uid"));
        free(why);
        st = (struct stat) { .st_mode = S_IFCHR | 0666, .st_uid = 0 };     /* /dev/null */
        CU_ASSERT_EQUAL(ve_file_trust_check(&st, NULL), 0);

        /* On the opened descriptor: a link to a world-writable file is refused. */
        CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
        snprintf(path, sizeof path, "%s/target", dir);
        snprintf(link, sizeof link, "%s/link", dir);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
        CU_ASSERT_FATAL(fd >= 0);
        CU_ASSERT_EQUAL(write(fd, "fake-x", 6), 6);
        close(fd);
        CU_ASSERT_EQUAL_FATAL(symlink("target", link), 0);
        CU_ASSERT_EQUAL(ve_read_trusted_file(link, 100, &data, &len, &why), 0);
        CU_ASSERT_EQUAL(len, 6);
        CU_ASSERT_PTR_NULL(why);
        free(data);
        data = NULL;
        CU_ASSERT_EQUAL(chmod(path, 0666), 0);
        CU_ASSERT_EQUAL(ve_read_trusted_file(link, 100, &data, &len, &why), -EPERM);
        CU_ASSERT_PTR_NULL(data);
        CU_ASSERT_PTR_NOT_NULL(why && strstr(why, "mode 0666"));
        free(why);
        /* ve_read_file() itself does not judge (secret files of the fallback). */
        CU_ASSERT_EQUAL(ve_read_file(link, 100, &data, &len), 0);
        free(data);
        unlink(link);
        unlink(path);
        rmdir(dir);
}

/* The VmFlags of the mapping holding p (/proc/self/smaps), in buf. */
static bool vmflags_of(const void *p, char *buf, size_t size) {
        FILE *f = fopen("/proc/self/smaps", "re");
        char line[512];
        bool in = false, found = false;

        if (!f)
                return false;
        while (fgets(line, sizeof line, f)) {
                unsigned long a, b;

                if (sscanf(line, "%lx-%lx ", &a, &b) == 2 && strchr(line, '-') < strchr(line, ' '))
                        in = (uintptr_t) p >= a && (uintptr_t) p < b;
                else if (in && strncmp(line, "VmFlags:", 8) == 0) {
                        snprintf(buf, size, "%.200s", line + 8);
                        found = true;
                        break;
                }
        }
        fclose(f);
        return found;
}

static void test_secure_memory(void) {
        char flags[256] = "", *v, *w;
        struct ve_secret *s;
        size_t n;

        v = ve_secure_strdup("fake-secure-value");
        CU_ASSERT_PTR_NOT_NULL_FATAL(v);
        CU_ASSERT_STRING_EQUAL(v, "fake-secure-value");
        CU_ASSERT_TRUE(ve_secure_owns(v));
        /* "dd": MADV_DONTDUMP, the mapping is left out of a core dump */
        if (!getenv("VE_TEST_EMULATED")) {
                CU_ASSERT_TRUE(vmflags_of(v, flags, sizeof flags));
                CU_ASSERT_PTR_NOT_NULL(strstr(flags, " dd"));
        }
        n = strlen(v);
        ve_secure_free(v);
        /* wiped, not just given back (the arena stays mapped) */
        for (size_t i = 0; i < n; i++)
                CU_ASSERT_EQUAL(v[i], 0);
        w = ve_secure_strdup("x");
        CU_ASSERT_PTR_NOT_NULL(w);
        ve_secure_free(w);

        /* Values of a Vault answer live there. */
        s = ve_secret_new();
        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        CU_ASSERT_EQUAL(ve_secret_add(s, "password", "fake-pw"), 0);
        CU_ASSERT_TRUE(ve_secure_owns(ve_secret_get(s, "password")));
        CU_ASSERT_FALSE(ve_secure_owns(s));
        ve_secret_free(s);
}

static void test_fallback_parse(void) {
        unsigned b = 99;

        CU_ASSERT_EQUAL(ve_fallback_parse("all", &b), 0);
        CU_ASSERT_EQUAL(b, VE_FALLBACK_ALL);
        CU_ASSERT_EQUAL(ve_fallback_parse("none", &b), 0);
        CU_ASSERT_EQUAL(b, 0);
        CU_ASSERT_EQUAL(ve_fallback_parse("env,default", &b), 0);
        CU_ASSERT_EQUAL(b, VE_FALLBACK_ENV | VE_FALLBACK_DEFAULT);
        CU_ASSERT_EQUAL(ve_fallback_parse("file", &b), 0);
        CU_ASSERT_EQUAL(b, VE_FALLBACK_FILE);
        CU_ASSERT_EQUAL(ve_fallback_parse("env,", &b), -EINVAL);
        CU_ASSERT_EQUAL(ve_fallback_parse("nnoe", &b), -EINVAL);
        CU_ASSERT_EQUAL(ve_fallback_parse("", &b), -EINVAL);
        CU_ASSERT_EQUAL(ve_fallback_parse("env,files", &b), -EINVAL);
}

/* The ASCII case helpers: only 'A'..'Z' and 'a'..'z' fold, whatever the
 * locale; other bytes (ISO-8859-9's dotless and dotted i) compare as they
 * are, as strcasecmp() does in the C locale. */
static void test_ascii_case(void) {
        CU_ASSERT_EQUAL(ve_ascii_tolower('I'), 'i');
        CU_ASSERT_EQUAL(ve_ascii_tolower('i'), 'i');
        CU_ASSERT_EQUAL(ve_ascii_tolower('_'), '_');
        CU_ASSERT_EQUAL(ve_ascii_tolower('@'), '@');
        CU_ASSERT_EQUAL(ve_ascii_tolower('['), '[');
        CU_ASSERT_EQUAL(ve_ascii_tolower('\xdd'), '\xdd');
        CU_ASSERT_EQUAL(ve_ascii_strcasecmp("INFO", "info"), 0);
        CU_ASSERT_EQUAL(ve_ascii_strcasecmp("HttpS", "https"), 0);
        CU_ASSERT_NOT_EQUAL(ve_ascii_strcasecmp("\xdd", "\xfd"), 0);
        CU_ASSERT(ve_ascii_strcasecmp("a", "B") < 0);
        CU_ASSERT(ve_ascii_strcasecmp("info", "INF") > 0);
        CU_ASSERT(ve_ascii_strcasecmp("", "x") < 0);
        CU_ASSERT_EQUAL(ve_ascii_strncasecmp("UNIX://x", "unix://y", 7), 0);
        CU_ASSERT_NOT_EQUAL(ve_ascii_strncasecmp("UNIX://x", "unix://y", 8), 0);
        CU_ASSERT_EQUAL(ve_ascii_strncasecmp("ab", "AB", 10), 0);
        CU_ASSERT_EQUAL(ve_ascii_strncasecmp("x", "y", 0), 0);
}

/* Odd names: a name containing '=', an empty name and NULL never
 * match a mapping (neither an entry nor a bulk prefix they start with), and
 * read the environment as glibc's getenv() does where the shim's
 * pass-through agrees with it (see the comments on the differences). */
extern char **environ;
static char **odd_env;
static int odd_reads;

static const char *odd_getenv(const char *name) {
        return ve_envscan(odd_env, name);
}

static int odd_read(void *ud, const struct ve_ref *ref, struct ve_secret **ret, char **ret_error) {
        (void) ud;
        (void) ref;
        (void) ret;
        odd_reads++;
        *ret_error = strdup("fake: no read expected");
        return -EIO;
}

static void test_odd_names(void) {
        static const char text[] =
                "DB_PASSWORD = secret/app#password\n"
                "A = secret/app#a\n"
                "APP_* = secret/app#*\n";
        static const char *const odd[] = {
                "", "=", "==", "DB_PASSWORD=", "DB_PASSWORD=x", "=DB_PASSWORD", "A=", "A=B",
                "APP_X=Y", "APP_=", "APP_X=", "APP_==", "DB_PASSWORD\n=",
        };
        char *env[] = { "DB_PASSWORD=x=fake-env-1", "A=B=fake-env-2", "APP_X=Y=fake-env-3", "==fake-env-4",
                        "DB_PASSWORD=fake-env-5", "APP_X=fake-env-6", NULL };
        static const struct ve_source source = { .read = odd_read };
        static struct ve_settings settings;
        struct ve_resolver *r = NULL;
        struct ve_map *m = NULL;
        char *err = NULL, **saved = environ;

        odd_env = env;
        CU_ASSERT_EQUAL_FATAL(ve_map_parse("odd.map", text, strlen(text), &m, &err), 0);
        CU_ASSERT_EQUAL_FATAL(ve_resolver_new(m, &settings, &source, odd_getenv, &r), 0);
        /* the mapping matches the plain names ... */
        CU_ASSERT_PTR_NOT_NULL(ve_resolver_find(r, "DB_PASSWORD"));
        CU_ASSERT_PTR_NOT_NULL(ve_resolver_find(r, "A"));
        CU_ASSERT_PTR_NOT_NULL(ve_resolver_find(r, "APP_X"));
        /* ... and none of the odd ones, nor NULL */
        CU_ASSERT_PTR_NULL(ve_resolver_find(r, NULL));
        for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
                struct ve_cached c = ve_resolver_cached(r, odd[i]);

                CU_ASSERT_FALSE(ve_name_valid(odd[i]));
                CU_ASSERT_PTR_NULL(ve_resolver_find(r, odd[i]));
                /* the shim's hot path: never a cached Vault value */
                CU_ASSERT(c.k <= 0);
                /* asked twice (a bulk name is remembered after its first
                 * lookup): still nothing */
                CU_ASSERT_PTR_NULL(ve_resolver_find(r, odd[i]));
        }
        CU_ASSERT_EQUAL(odd_reads, 0);

        /* The pass-through against glibc's getenv() over the same block.
         * Empty name: NULL in both. NULL: the pass-through gives NULL
         * (glibc's getenv(NULL) crashes). A name with '=': glibc compares
         * it as a prefix of the entry ("A=B" finds "A=B=fake-env-2" and
         * gives "fake-env-2"; "=" finds "==fake-env-4"); the pass-through
         * gives NULL (musl's rule, envscan.h): never another name's value,
         * never a mapped value. */
        environ = env;
        CU_ASSERT_PTR_NULL(getenv(""));
        CU_ASSERT_PTR_NULL(ve_envscan(env, ""));
        CU_ASSERT_PTR_NULL(ve_envscan(env, NULL));
        CU_ASSERT_STRING_EQUAL(getenv("DB_PASSWORD"), "x=fake-env-1");
        CU_ASSERT_STRING_EQUAL(ve_envscan(env, "DB_PASSWORD"), "x=fake-env-1");
        CU_ASSERT_STRING_EQUAL(getenv("A"), "B=fake-env-2");
        CU_ASSERT_STRING_EQUAL(ve_envscan(env, "A"), "B=fake-env-2");
        CU_ASSERT_STRING_EQUAL(getenv("A=B"), "fake-env-2");
        CU_ASSERT_STRING_EQUAL(getenv("="), "fake-env-4");
        environ = saved;
        for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++)
                CU_ASSERT_PTR_NULL(ve_envscan(env, odd[i]));
        ve_resolver_free(r);
        odd_env = NULL;
}

/* /proc/self/environ holds a line starting with prefix. */
static bool proc_environ_has(const char *prefix) {
        char buf[65536];
        size_t n, l = strlen(prefix);
        FILE *f = fopen("/proc/self/environ", "re");
        bool found = false;

        if (!f)
                return false;
        n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        for (size_t i = 0; i < n; i += strlen(buf + i) + 1)
                if (strncmp(buf + i, prefix, l) == 0)
                        found = true;
        return found;
}

static void test_env_scrub(void) {
        /* qemu-user's /proc/self/stat has no env_start for the guest. */
        if (getenv("VE_TEST_EMULATED"))
                return;
        /* A string setenv() made: out of the environment, nothing to wipe. */
        CU_ASSERT_EQUAL(setenv("VE_FAKE_SCRUB", "fake-scrub", 1), 0);
        CU_ASSERT_EQUAL(ve_env_scrub("VE_FAKE_SCRUB"), 0);
        CU_ASSERT_PTR_NULL(getenv("VE_FAKE_SCRUB"));
        CU_ASSERT_EQUAL(ve_env_scrub("VE_FAKE_NOT_THERE"), 0);
        /* A variable of the original block (meson's test runner sets
         * MALLOC_PERTURB_; PATH otherwise): gone from /proc/self/environ.
         * Not under valgrind: /proc/self/stat then describes valgrind's
         * own block, not the one the program was given. */
        if (getenv("LD_PRELOAD") && strstr(getenv("LD_PRELOAD"), "vgpreload"))
                return;
        for (int i = 0; i < 2; i++) {
                const char *name = i ? "PATH" : "MALLOC_PERTURB_";
                char prefix[32];

                snprintf(prefix, sizeof prefix, "%s=", name);
                if (!getenv(name) || !proc_environ_has(prefix))
                        continue;
                CU_ASSERT_EQUAL(ve_env_scrub(name), 1);
                CU_ASSERT_PTR_NULL(getenv(name));
                CU_ASSERT_FALSE(proc_environ_has(prefix));
                return;
        }
}

static void test_encoders(void) {
        char buf[128], *e;
        static const char raw[] = "a b/c?d=é\x01\"\\\n";
        _cleanup_erase_ char *held = strdup("fake-token-value");

        CU_ASSERT_PTR_NOT_NULL(held);
        e = ve_percent_encode(buf, raw, strlen(raw), "/");
        *e = '\0';
        CU_ASSERT_STRING_EQUAL(buf, "a%20b/c%3Fd%3D%C3%A9%01%22%5C%0A");
        e = ve_percent_encode(buf, "k=v&x", 5, NULL);
        *e = '\0';
        CU_ASSERT_STRING_EQUAL(buf, "k%3Dv%26x");

        CU_ASSERT_EQUAL(ve_json_quoted_len(raw), strlen("\"a b/c?d=é\\u0001\\\"\\\\\\n\""));
        e = ve_json_quote_to(buf, raw);
        *e = '\0';
        CU_ASSERT_STRING_EQUAL(buf, "\"a b/c?d=é\\u0001\\\"\\\\\\n\"");
        CU_ASSERT_EQUAL((size_t) (e - buf), ve_json_quoted_len(raw));
        e = ve_json_quote_to(buf, "\x1f\t\b\f\x7f");
        *e = '\0';
        CU_ASSERT_STRING_EQUAL(buf, "\"\\u001f\\t\\b\\f\x7f\"");

        CU_ASSERT_TRUE(ve_is_control(0x00));
        CU_ASSERT_TRUE(ve_is_control(0x1f));
        CU_ASSERT_TRUE(ve_is_control(0x7f));
        CU_ASSERT_FALSE(ve_is_control(' '));
        CU_ASSERT_FALSE(ve_is_control(0x80));
}

int main(void) {
        static const struct unit_test tests[] = {
                { "envscan", test_envscan },
                { "duration", test_duration },
                { "bool", test_bool },
                { "read_file", test_read_file },
                { "secret", test_secret },
                { "settings", test_settings },
                { "file_trust", test_file_trust },
                { "secure_memory", test_secure_memory },
                { "fallback_parse", test_fallback_parse },
                { "ascii_case", test_ascii_case },
                { "env_scrub", test_env_scrub },
                { "odd_names", test_odd_names },
                { "encoders", test_encoders },
                { NULL, NULL },
        };
        static const struct unit_suite suite = { "util", tests };

        return unit_run(&suite, 1);
}
