/* SPDX-License-Identifier: MIT */
/* Resolution order, the cache, single flight and pointer stability, with a
 * fake Vault source and a fake environment (no network, no preload). */
#include "unit.h"
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mapfile.h"
#include "resolve.h"
#include "settings.h"
#include "util.h"

/* ---- fake Vault: one answer per path ---- */
struct answer {
        const char *path;
        int err;                /* <0: fail with this */
        const char *kv[8];      /* key, value, key, value, ..., NULL */
        unsigned long version;  /* the ref's version this answers (0: latest) */
        const char *lease_id;   /* a leased answer (dynamic secret) */
        uint64_t lease_s;
        bool renewable;
};
static struct answer answers[8];
static atomic_int n_reads;
static int read_delay_us;
/* When set, a read announces itself on in_read and waits for release. */
static bool block_reads;
static sem_t in_read, release;

static int fake_read(void *ud, const struct ve_ref *ref, struct ve_secret **ret, char **ret_error) {
        atomic_fetch_add(&n_reads, 1);
        if (block_reads) {
                sem_post(&in_read);
                sem_wait(&release);
        }
        if (read_delay_us)
                usleep((useconds_t) read_delay_us);
        for (size_t i = 0; i < 8 && answers[i].path; i++) {
                struct ve_secret *s;

                if (strcmp(answers[i].path, ref->path) != 0 || answers[i].version != ref->version)
                        continue;
                if (answers[i].err < 0) {
                        *ret_error = ve_asprintf("%s: fake failure", ref->path);
                        return answers[i].err;
                }
                s = ve_secret_new();
                for (size_t k = 0; answers[i].kv[k]; k += 2)
                        ve_secret_add(s, answers[i].kv[k], answers[i].kv[k + 1]);
                if (answers[i].lease_id) {
                        s->lease.lease_id = strdup(answers[i].lease_id);
                        s->lease.duration_s = answers[i].lease_s;
                        s->lease.renewable = answers[i].renewable;
                }
                *ret = s;
                return 0;
        }
        *ret_error = ve_asprintf("no secret at %s", ref->path);
        return -ENOENT;
}

/* ---- fake lease renewal ---- */
static atomic_int n_renews;
static int renew_err;                   /* <0: the renewal fails */
static uint64_t renew_grant_s;          /* what Vault grants; 0: the increment asked */
static char renew_seen_id[64];
static uint64_t renew_seen_increment;

static int fake_renew(void *ud, const struct ve_ref *ref, const char *lease_id, uint64_t increment_s,
                      struct ve_lease *ret_lease, char **ret_error) {
        atomic_fetch_add(&n_renews, 1);
        snprintf(renew_seen_id, sizeof renew_seen_id, "%s", lease_id);
        renew_seen_increment = increment_s;
        if (renew_err < 0) {
                *ret_error = ve_asprintf("%s: fake renewal failure", ref->path);
                return renew_err;
        }
        *ret_lease = (struct ve_lease) {
                .lease_id = strdup(lease_id),
                .duration_s = renew_grant_s ? renew_grant_s : increment_s,
                .renewable = true,
        };
        return 0;
}

static const struct ve_source source = { .read = fake_read, .renew = fake_renew };

/* ---- fake clock, for the lease tests ---- */
static uint64_t fake_now_ms = 1000000;
static uint64_t fake_clock(void) {
        return fake_now_ms;
}

/* ---- fake environment ---- */
static char *env_vars[16];
static const char *fake_getenv(const char *name) {
        size_t l = strlen(name);

        for (size_t i = 0; i < 16 && env_vars[i]; i++)
                if (strncmp(env_vars[i], name, l) == 0 && env_vars[i][l] == '=')
                        return env_vars[i] + l + 1;
        return NULL;
}

static struct ve_settings settings;
static char secrets_dir[64];

static void reset(void) {
        memset(answers, 0, sizeof answers);
        memset(env_vars, 0, sizeof env_vars);
        atomic_store(&n_reads, 0);
        atomic_store(&n_renews, 0);
        renew_err = 0;
        renew_grant_s = 0;
        renew_seen_id[0] = 0;
        renew_seen_increment = 0;
        read_delay_us = 0;
        settings.on_missing_null = false;
}

static void map_add(struct ve_map *m, const char *name, const char *path, const char *key,
                    bool required, const char *def, uint64_t ttl_ms) {
        struct ve_map_entry *e;

        m->entries = realloc(m->entries, (m->n_entries + 1) * sizeof *m->entries);
        e = &m->entries[m->n_entries++];
        memset(e, 0, sizeof *e);
        e->name = strdup(name);
        e->ref.path = strdup(path);
        e->ref.key = strdup(key);
        e->required = required;
        e->default_value = def ? strdup(def) : NULL;
        e->ttl_ms = ttl_ms;
}

static void map_add_version(struct ve_map *m, const char *name, const char *path, const char *key,
                            unsigned long version) {
        map_add(m, name, path, key, false, NULL, 0);
        m->entries[m->n_entries - 1].ref.version = version;
}

static struct ve_resolver *resolver(struct ve_map *m) {
        struct ve_resolver *r = NULL;

        CU_ASSERT_EQUAL(ve_resolver_new(m, &settings, &source, fake_getenv, &r), 0);
        return r;
}

static const char *get(struct ve_resolver *r, const char *name, enum ve_from *from) {
        const char *v = (const char *) 0x1;
        struct ve_entry *e = ve_resolver_find(r, name);

        CU_ASSERT_PTR_NOT_NULL_FATAL(e);
        CU_ASSERT_EQUAL(ve_resolve(r, e, &v, from, NULL), 0);
        return v;
}

static void write_file(const char *path, const char *data, size_t len) {
        FILE *f = fopen(path, "w");

        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        CU_ASSERT_EQUAL(fwrite(data, 1, len, f), len);
        fclose(f);
}

static void test_vault_first_and_one_read_per_path(void) {
        struct ve_map *m = calloc(1, sizeof *m);
        struct ve_resolver *r;
        enum ve_from from;
        const char *u, *p;

        reset();
        answers[0] = (struct answer) { "secret/app/db", 0, { "user", "fake-user", "password", "fake-pw", NULL } };
        env_vars[0] = "DB_PASSWORD=from-env";
        map_add(m, "DB_USER", "secret/app/db", "user", false, NULL, 0);
        map_add(m, "DB_PASSWORD", "secret/app/db", "password", false, "from-default", 0);
        r = resolver(m);

        CU_ASSERT_PTR_NULL(ve_resolver_find(r, "OTHER"));
        CU_ASSERT_PTR_NULL(ve_resolver_find(r, ""));
        CU_ASSERT_PTR_NULL(ve_resolver_find(r, NULL));
        CU_ASSERT_PTR_NULL(ve_resolver_find(r, "DB_USER="));

        p = get(r, "DB_PASSWORD", &from);
        CU_ASSERT_STRING_EQUAL(p, "fake-pw");
        CU_ASSERT_EQUAL(from, VE_FROM_VAULT);
        u = get(r, "DB_USER", &from);
        CU_ASSERT_STRING_EQUAL(u, "fake-user");
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 1);      /* both keys, one read */
        /* cached: same pointers, no more reads */
        CU_ASSERT_PTR_EQUAL(get(r, "DB_PASSWORD", NULL), p);
        CU_ASSERT_PTR_EQUAL(get(r, "DB_USER", NULL), u);
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 1);
        ve_resolver_free(r);
}

static void test_fallback_chain(void) {
        struct ve_map *m = calloc(1, sizeof *m);
        struct ve_resolver *r;
        enum ve_from from;
        char path[128], fpath[128], *fvar;
        const char *v;

        reset();
        answers[0] = (struct answer) { "secret/down", -ECONNREFUSED, { NULL } };
        answers[1] = (struct answer) { "secret/app", 0, { "other", "x", NULL } };
        map_add(m, "FROM_ENV", "secret/down", "value", true, "dflt", 0);
        map_add(m, "FROM_FILE", "secret/down", "k", false, "dflt", 0);
        map_add(m, "FROM_RUN", "secret/down", "k2", false, "dflt", 0);
        map_add(m, "FROM_LOWER", "secret/app", "missing", false, "dflt", 0);
        map_add(m, "FROM_DEFAULT", "secret/app", "missing", false, "dflt", 0);
        map_add(m, "NOTHING", "secret/app", "missing", false, NULL, 0);
        map_add(m, "EMPTY_DEFAULT", "secret/app", "missing", false, "", 0);

        env_vars[0] = "FROM_ENV=env-value";
        snprintf(fpath, sizeof fpath, "%s/custom-file", secrets_dir);
        write_file(fpath, "file-value\r\n", 12);
        fvar = ve_asprintf("FROM_FILE_FILE=%s", fpath);
        env_vars[1] = fvar;
        snprintf(path, sizeof path, "%s/FROM_RUN", secrets_dir);
        write_file(path, "run-value\n\n", 11);      /* only one line end goes */
        snprintf(path, sizeof path, "%s/from_lower", secrets_dir);
        write_file(path, "lower-value", 11);
        r = resolver(m);

        v = get(r, "FROM_ENV", &from);
        CU_ASSERT_STRING_EQUAL(v, "env-value");
        CU_ASSERT_EQUAL(from, VE_FROM_ENV);
        v = get(r, "FROM_FILE", &from);
        CU_ASSERT_STRING_EQUAL(v, "file-value");
        CU_ASSERT_EQUAL(from, VE_FROM_FILE);
        v = get(r, "FROM_RUN", &from);
        CU_ASSERT_STRING_EQUAL(v, "run-value\n");
        CU_ASSERT_EQUAL(from, VE_FROM_FILE);
        v = get(r, "FROM_LOWER", &from);
        CU_ASSERT_STRING_EQUAL(v, "lower-value");
        CU_ASSERT_EQUAL(from, VE_FROM_FILE);
        v = get(r, "FROM_DEFAULT", &from);
        CU_ASSERT_STRING_EQUAL(v, "dflt");
        CU_ASSERT_EQUAL(from, VE_FROM_DEFAULT);
        v = get(r, "EMPTY_DEFAULT", &from);
        CU_ASSERT_STRING_EQUAL(v, "");
        CU_ASSERT_EQUAL(from, VE_FROM_DEFAULT);
        v = get(r, "NOTHING", &from);
        CU_ASSERT_PTR_NULL(v);
        CU_ASSERT_EQUAL(from, VE_FROM_NONE);
        /* two paths, each read once, failures cached too */
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 2);
        get(r, "NOTHING", NULL);
        get(r, "FROM_FILE", NULL);
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 2);

        /* the file is read once: a later change is not seen */
        write_file(fpath, "changed", 7);
        CU_ASSERT_STRING_EQUAL(get(r, "FROM_FILE", NULL), "file-value");
        /* the environment is live, as libc's getenv */
        env_vars[0] = "FROM_ENV=env-value-2";
        CU_ASSERT_STRING_EQUAL(get(r, "FROM_ENV", NULL), "env-value-2");
        env_vars[0] = "UNRELATED=1";
        CU_ASSERT_STRING_EQUAL(get(r, "FROM_ENV", &from), "dflt");
        CU_ASSERT_EQUAL(from, VE_FROM_DEFAULT);

        ve_resolver_free(r);
        free(fvar);
}

static void test_required(void) {
        struct ve_map *m = calloc(1, sizeof *m);
        struct ve_resolver *r;
        const char *v = (const char *) 0x1;
        char *reason = NULL;
        struct ve_entry *e;

        reset();
        answers[0] = (struct answer) { "secret/app/db", -EACCES, { NULL } };
        map_add(m, "PGPASSWORD", "secret/app/db", "password", true, NULL, 0);
        r = resolver(m);
        e = ve_resolver_find(r, "PGPASSWORD");
        CU_ASSERT_EQUAL(ve_resolve(r, e, &v, NULL, &reason), -ENOENT);
        CU_ASSERT_PTR_EQUAL(v, (const char *) 0x1);     /* not written on failure */
        CU_ASSERT_PTR_NOT_NULL_FATAL(reason);
        CU_ASSERT_PTR_NOT_NULL(strstr(reason, "secret/app/db: fake failure"));
        CU_ASSERT_PTR_NOT_NULL(strstr(reason, "PGPASSWORD_FILE"));
        CU_ASSERT_PTR_NULL(strchr(reason, '\n'));
        free(reason);

        /* VAULTENV_ON_MISSING=null: NULL instead */
        settings.on_missing_null = true;
        CU_ASSERT_EQUAL(ve_resolve(r, e, &v, NULL, NULL), 0);
        CU_ASSERT_PTR_NULL(v);
        ve_resolver_free(r);
}

static void test_missing_key_then_fallback(void) {
        struct ve_map *m = calloc(1, sizeof *m);
        struct ve_resolver *r;
        struct ve_entry *e;
        char *why;

        reset();
        answers[0] = (struct answer) { "secret/app/db", 0, { "user", "u", NULL } };
        env_vars[0] = "PASS=env";
        map_add(m, "PASS", "secret/app/db", "password", false, NULL, 0);
        r = resolver(m);
        CU_ASSERT_STRING_EQUAL(get(r, "PASS", NULL), "env");
        e = ve_resolver_find(r, "PASS");
        why = ve_entry_vault_reason(r, e);
        CU_ASSERT_PTR_NOT_NULL_FATAL(why);
        CU_ASSERT_STRING_EQUAL(why, "no key \"password\" in secret/app/db");
        free(why);
        ve_resolver_free(r);
}

static void test_ttl_refresh_and_stale(void) {
        struct ve_map *m = calloc(1, sizeof *m);
        struct ve_resolver *r;
        const char *v1, *v2, *once;

        reset();
        answers[0] = (struct answer) { "secret/rot", 0, { "k", "value-1", NULL } };
        map_add(m, "ROT", "secret/rot", "k", false, NULL, 100);
        map_add(m, "ONCE", "secret/rot", "k", false, NULL, 0);
        r = resolver(m);
        v1 = get(r, "ROT", NULL);
        CU_ASSERT_STRING_EQUAL(v1, "value-1");
        once = get(r, "ONCE", NULL);
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 1);

        answers[0].kv[1] = "value-2";
        CU_ASSERT_PTR_EQUAL(get(r, "ROT", NULL), v1);   /* within ttl */
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 1);
        usleep(150 * 1000);
        v2 = get(r, "ROT", NULL);
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 2);
        CU_ASSERT_STRING_EQUAL(v2, "value-2");
        CU_ASSERT_STRING_EQUAL(v1, "value-1");          /* the old pointer still holds */
        /* no ttl: fetched once, even when the path was read again */
        CU_ASSERT_PTR_EQUAL(get(r, "ONCE", NULL), once);
        CU_ASSERT_STRING_EQUAL(once, "value-1");

        /* same value on refresh: the same pointer */
        usleep(150 * 1000);
        CU_ASSERT_PTR_EQUAL(get(r, "ROT", NULL), v2);
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 3);

        /* Vault failing at refresh: the last good value is served */
        answers[0].err = -ECONNREFUSED;
        usleep(150 * 1000);
        CU_ASSERT_PTR_EQUAL(get(r, "ROT", NULL), v2);
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 4);
        ve_resolver_free(r);
}

struct storm {
        struct ve_resolver *r;
        pthread_barrier_t *barrier;
        const char *value;
};

static void *storm_thread(void *p) {
        struct storm *s = p;
        struct ve_entry *e = ve_resolver_find(s->r, "COLD");

        pthread_barrier_wait(s->barrier);
        if (ve_resolve(s->r, e, &s->value, NULL, NULL) < 0)
                s->value = NULL;
        return NULL;
}

static void *refresh_thread(void *p) {
        struct storm *s = p;

        /* No CU_ASSERT here: CUnit is not thread-safe. */
        if (ve_resolve(s->r, ve_resolver_find(s->r, "ROT"), &s->value, NULL, NULL) < 0)
                s->value = NULL;
        return NULL;
}

static void test_stale_while_refreshing(void) {
        struct ve_map *m = calloc(1, sizeof *m);
        struct ve_resolver *r;
        struct storm s;
        const char *v1;
        pthread_t t;

        reset();
        answers[0] = (struct answer) { "secret/rot", 0, { "k", "value-1", NULL } };
        map_add(m, "ROT", "secret/rot", "k", false, NULL, 50);
        r = resolver(m);
        v1 = get(r, "ROT", NULL);
        usleep(100 * 1000);

        /* A refresh starts in another thread and hangs in the read... */
        answers[0].kv[1] = "value-2";
        block_reads = true;
        s = (struct storm) { r, NULL, NULL };
        pthread_create(&t, NULL, refresh_thread, &s);
        sem_wait(&in_read);
        /* ...meanwhile this thread is served the previous value at once
         * (were it to wait for the refresh, this test would hang). */
        CU_ASSERT_PTR_EQUAL(get(r, "ROT", NULL), v1);
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 2);
        block_reads = false;
        sem_post(&release);
        pthread_join(t, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s.value);
        CU_ASSERT_STRING_EQUAL(s.value, "value-2");
        CU_ASSERT_STRING_EQUAL(get(r, "ROT", NULL), "value-2");
        CU_ASSERT_STRING_EQUAL(v1, "value-1");
        ve_resolver_free(r);
}

static void test_single_flight(void) {
        enum { N = 32 };
        struct ve_map *m = calloc(1, sizeof *m);
        struct ve_resolver *r;
        pthread_t t[N];
        struct storm s[N];
        pthread_barrier_t barrier;

        reset();
        read_delay_us = 50 * 1000;
        answers[0] = (struct answer) { "secret/cold", 0, { "value", "fake-cold", NULL } };
        map_add(m, "COLD", "secret/cold", "value", false, NULL, 0);
        r = resolver(m);
        pthread_barrier_init(&barrier, NULL, N);
        for (int i = 0; i < N; i++) {
                s[i] = (struct storm) { r, &barrier, NULL };
                pthread_create(&t[i], NULL, storm_thread, &s[i]);
        }
        for (int i = 0; i < N; i++)
                pthread_join(t[i], NULL);
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 1);
        for (int i = 0; i < N; i++) {
                CU_ASSERT_PTR_NOT_NULL_FATAL(s[i].value);
                CU_ASSERT_PTR_EQUAL(s[i].value, s[0].value);
        }
        CU_ASSERT_STRING_EQUAL(s[0].value, "fake-cold");
        pthread_barrier_destroy(&barrier);
        ve_resolver_free(r);
}

static void test_no_source(void) {
        struct ve_map *m = calloc(1, sizeof *m);
        struct ve_resolver *r = NULL;
        static const struct ve_source none = { NULL, NULL };

        reset();
        map_add(m, "X", "secret/x", "value", false, "d", 0);
        CU_ASSERT_EQUAL_FATAL(ve_resolver_new(m, &settings, &none, fake_getenv, &r), 0);
        CU_ASSERT_STRING_EQUAL(get(r, "X", NULL), "d");
        ve_resolver_free(r);
}

/* ---- versions ---- */

static void test_versions_are_paths(void) {
        struct ve_map *m = calloc(1, sizeof *m);
        struct ve_resolver *r;

        reset();
        answers[0] = (struct answer) { "secret/app/db", 0, { "password", "fake-v3", NULL }, 0 };
        answers[1] = (struct answer) { "secret/app/db", 0, { "password", "fake-v1", "user", "fake-u1", NULL }, 1 };
        answers[2] = (struct answer) { "secret/app/db", 0, { "password", "fake-v2", NULL }, 2 };
        map_add_version(m, "V1", "secret/app/db", "password", 1);
        map_add_version(m, "U1", "secret/app/db", "user", 1);
        map_add_version(m, "V2", "secret/app/db", "password", 2);
        map_add_version(m, "LATEST", "secret/app/db", "password", 0);
        r = resolver(m);
        CU_ASSERT_STRING_EQUAL(get(r, "V1", NULL), "fake-v1");
        CU_ASSERT_STRING_EQUAL(get(r, "U1", NULL), "fake-u1");
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 1);      /* same path and version: one read */
        CU_ASSERT_STRING_EQUAL(get(r, "V2", NULL), "fake-v2");
        CU_ASSERT_STRING_EQUAL(get(r, "LATEST", NULL), "fake-v3");
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 3);      /* each version its own read */
        ve_resolver_free(r);
}

/* ---- leases ---- */

static struct ve_resolver *lease_resolver(bool renewable, uint64_t ttl_ms) {
        struct ve_map *m = calloc(1, sizeof *m);
        struct ve_resolver *r;

        answers[0] = (struct answer) { "database/creds/ro", 0, { "username", "fake-user-1", "password", "fake-pw-1", NULL },
                                       0, "database/creds/ro/fake-lease-1", 30, renewable };
        map_add(m, "DB_USER", "database/creds/ro", "username", false, NULL, ttl_ms);
        map_add(m, "DB_PASS", "database/creds/ro", "password", false, NULL, 0);
        r = resolver(m);
        ve_resolver_set_clock(r, fake_clock);
        return r;
}

static void test_lease_renew(void) {
        struct ve_resolver *r;
        const char *u, *p;

        reset();
        r = lease_resolver(true, 0);
        u = get(r, "DB_USER", NULL);
        p = get(r, "DB_PASS", NULL);
        CU_ASSERT_STRING_EQUAL(u, "fake-user-1");
        CU_ASSERT_STRING_EQUAL(p, "fake-pw-1");
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 1);      /* one read, one lease: a matching pair */

        /* fresh until 2/3 of the 30 s lease */
        fake_now_ms += 19999;
        CU_ASSERT_PTR_EQUAL(get(r, "DB_USER", NULL), u);
        CU_ASSERT_EQUAL(atomic_load(&n_renews), 0);
        fake_now_ms += 1;
        CU_ASSERT_PTR_EQUAL(get(r, "DB_PASS", NULL), p);
        CU_ASSERT_EQUAL(atomic_load(&n_renews), 1);
        CU_ASSERT_STRING_EQUAL(renew_seen_id, "database/creds/ro/fake-lease-1");
        CU_ASSERT_EQUAL(renew_seen_increment, 30);      /* the first read's lease_duration */
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 1);
        /* the renewal covers the other name of the path too */
        CU_ASSERT_PTR_EQUAL(get(r, "DB_USER", NULL), u);
        CU_ASSERT_EQUAL(atomic_load(&n_renews), 1);

        /* renewed for 30 s: fresh for another 20 */
        fake_now_ms += 19999;
        get(r, "DB_USER", NULL);
        CU_ASSERT_EQUAL(atomic_load(&n_renews), 1);
        fake_now_ms += 1;
        CU_ASSERT_PTR_EQUAL(get(r, "DB_USER", NULL), u);
        CU_ASSERT_EQUAL(atomic_load(&n_renews), 2);
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 1);
        ve_resolver_free(r);
}

/* A re-read: both names switch to the new pair at once; the old pointers
 * still hold the old pair. */
static void expect_reread(struct ve_resolver *r, const char *u, const char *p) {
        const char *u2, *p2;
        int reads = atomic_load(&n_reads);

        answers[0].kv[1] = "fake-user-2";
        answers[0].kv[3] = "fake-pw-2";
        answers[0].lease_id = "database/creds/ro/fake-lease-2";
        p2 = get(r, "DB_PASS", NULL);
        CU_ASSERT_EQUAL(atomic_load(&n_reads), reads + 1);
        u2 = get(r, "DB_USER", NULL);
        CU_ASSERT_EQUAL(atomic_load(&n_reads), reads + 1);
        CU_ASSERT_STRING_EQUAL(u2, "fake-user-2");
        CU_ASSERT_STRING_EQUAL(p2, "fake-pw-2");
        CU_ASSERT_PTR_NOT_EQUAL(u2, u);
        CU_ASSERT_PTR_NOT_EQUAL(p2, p);
        CU_ASSERT_STRING_EQUAL(u, "fake-user-1");
        CU_ASSERT_STRING_EQUAL(p, "fake-pw-1");
}

static void test_lease_not_renewable(void) {
        struct ve_resolver *r;
        const char *u, *p;

        reset();
        r = lease_resolver(false, 0);
        u = get(r, "DB_USER", NULL);
        p = get(r, "DB_PASS", NULL);
        fake_now_ms += 19999;
        CU_ASSERT_PTR_EQUAL(get(r, "DB_PASS", NULL), p);
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 1);
        fake_now_ms += 1;
        expect_reread(r, u, p);
        CU_ASSERT_EQUAL(atomic_load(&n_renews), 0);
        /* the new lease is what counts now (renewable: the next is renewed) */
        answers[0].renewable = true;
        fake_now_ms += 19999;
        get(r, "DB_USER", NULL);
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 2);
        ve_resolver_free(r);
}

static void test_lease_renew_fails(void) {
        struct ve_resolver *r;
        const char *u, *p;

        reset();
        r = lease_resolver(true, 0);
        u = get(r, "DB_USER", NULL);
        p = get(r, "DB_PASS", NULL);
        renew_err = -EACCES;
        fake_now_ms += 20000;
        expect_reread(r, u, p);
        CU_ASSERT_EQUAL(atomic_load(&n_renews), 1);
        /* the new lease is renewed again when due */
        renew_err = 0;
        fake_now_ms += 20000;
        get(r, "DB_USER", NULL);
        CU_ASSERT_EQUAL(atomic_load(&n_renews), 2);
        CU_ASSERT_STRING_EQUAL(renew_seen_id, "database/creds/ro/fake-lease-2");
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 2);
        ve_resolver_free(r);
}

static void test_lease_short_renewal(void) {
        struct ve_resolver *r;
        const char *u, *p;

        reset();
        r = lease_resolver(true, 0);
        u = get(r, "DB_USER", NULL);
        p = get(r, "DB_PASS", NULL);
        renew_grant_s = 29;     /* the max TTL is near: less than asked */
        fake_now_ms += 20000;
        expect_reread(r, u, p);
        CU_ASSERT_EQUAL(atomic_load(&n_renews), 1);
        ve_resolver_free(r);
}

static void test_lease_reread_fails(void) {
        struct ve_resolver *r;
        const char *u, *p;

        reset();
        r = lease_resolver(false, 0);
        u = get(r, "DB_USER", NULL);
        p = get(r, "DB_PASS", NULL);
        answers[0].err = -ECONNREFUSED;
        fake_now_ms += 20000;
        /* Vault fails: the old pair is still served */
        CU_ASSERT_PTR_EQUAL(get(r, "DB_USER", NULL), u);
        CU_ASSERT_PTR_EQUAL(get(r, "DB_PASS", NULL), p);
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 2);
        /* next attempt after 1/6 of the lease (5 s), not at every lookup */
        fake_now_ms += 4999;
        get(r, "DB_USER", NULL);
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 2);
        fake_now_ms += 1;
        answers[0].err = 0;
        expect_reread(r, u, p);
        ve_resolver_free(r);
}

static void test_lease_ignores_ttl(void) {
        struct ve_resolver *r;
        const char *u;

        reset();
        r = lease_resolver(true, 1000);         /* DB_USER has ttl=1s */
        u = get(r, "DB_USER", NULL);
        fake_now_ms += 5000;
        CU_ASSERT_PTR_EQUAL(get(r, "DB_USER", NULL), u);
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 1);
        CU_ASSERT_EQUAL(atomic_load(&n_renews), 0);
        ve_resolver_free(r);
}

static void test_lease_without_renew_op(void) {
        static const struct ve_source read_only = { .read = fake_read };
        struct ve_map *m = calloc(1, sizeof *m);
        struct ve_resolver *r = NULL;

        reset();
        answers[0] = (struct answer) { "aws/creds/ro", 0, { "access_key", "fake-ak", NULL }, 0, "aws/creds/ro/fake-l", 30, true };
        map_add(m, "AK", "aws/creds/ro", "access_key", false, NULL, 0);
        CU_ASSERT_EQUAL_FATAL(ve_resolver_new(m, &settings, &read_only, fake_getenv, &r), 0);
        ve_resolver_set_clock(r, fake_clock);
        get(r, "AK", NULL);
        fake_now_ms += 20000;
        get(r, "AK", NULL);
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 2);
        ve_resolver_free(r);
}

/* ---- stale bound, references, templates, bulk ---- */

static struct ve_resolver *resolver_text(const char *text) {
        struct ve_map *m = NULL;
        char *err = NULL;

        CU_ASSERT_EQUAL_FATAL(ve_map_parse("t.map", text, strlen(text), &m, &err), 0);
        CU_ASSERT_PTR_NULL(err);
        return resolver(m);
}

static void test_stale_max(void) {
        struct ve_map *m = calloc(1, sizeof *m);
        struct ve_resolver *r;
        const char *v;

        reset();
        settings.stale_max_ms = 10000;
        answers[0] = (struct answer) { "secret/rot", 0, { "k", "fake-1", NULL } };
        map_add(m, "ROT", "secret/rot", "k", false, "fake-default", 1000);
        r = resolver(m);
        ve_resolver_set_clock(r, fake_clock);
        v = get(r, "ROT", NULL);
        CU_ASSERT_STRING_EQUAL(v, "fake-1");

        /* freshness ends at +1 s; Vault down from then on */
        answers[0].err = -ECONNREFUSED;
        fake_now_ms += 1000;
        CU_ASSERT_PTR_EQUAL(get(r, "ROT", NULL), v);            /* stale for 0 s */
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 2);
        fake_now_ms += 5000;
        CU_ASSERT_PTR_EQUAL(get(r, "ROT", NULL), v);            /* stale for 5 s */
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 3);
        /* stale for 9.999 s: still served (one attempt per ttl) */
        fake_now_ms += 4999;
        CU_ASSERT_PTR_EQUAL(get(r, "ROT", NULL), v);
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 4);
        /* the next attempt is due at the bound, not a ttl later */
        fake_now_ms += 1;
        {
                enum ve_from from;
                const char *d = get(r, "ROT", &from);

                CU_ASSERT_STRING_EQUAL(d, "fake-default");
                CU_ASSERT_EQUAL(from, VE_FROM_DEFAULT);
        }
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 5);
        CU_ASSERT_STRING_EQUAL(v, "fake-1");    /* the old pointer still holds */

        /* Vault back: a fresh value, and the staleness is forgotten */
        answers[0].err = 0;
        answers[0].kv[1] = "fake-2";
        fake_now_ms += 1000;
        v = get(r, "ROT", NULL);
        CU_ASSERT_STRING_EQUAL(v, "fake-2");
        answers[0].err = -ECONNREFUSED;
        fake_now_ms += 1000;
        CU_ASSERT_PTR_EQUAL(get(r, "ROT", NULL), v);
        settings.stale_max_ms = VE_DEFAULT_STALE_MAX_MS;
        ve_resolver_free(r);
}

static const char *ref(struct ve_resolver *r, const char *name, const char *value) {
        const char *v = (const char *) 0x1;

        CU_ASSERT_EQUAL(ve_resolve_reference(r, name, value, &v, NULL), 0);
        return v;
}

static void test_references(void) {
        struct ve_resolver *r;
        const char *a, *b;

        reset();
        answers[0] = (struct answer) { "secret/app/db", 0, { "password", "fake-pw", "user", "fake-user", NULL } };
        answers[1] = (struct answer) { "secret/app/db", 0, { "password", "fake-pw-v3", NULL }, 3 };
        CU_ASSERT_TRUE(ve_value_is_reference("vault:x"));
        CU_ASSERT_FALSE(ve_value_is_reference("Vault:x"));
        CU_ASSERT_FALSE(ve_value_is_reference(NULL));
        CU_ASSERT_FALSE(ve_value_is_reference("xvault:"));

        /* an empty map: a resolver for references only */
        r = resolver(calloc(1, sizeof(struct ve_map)));
        CU_ASSERT_PTR_NULL(ve_resolver_find(r, "DB_PASSWORD"));
        env_vars[0] = "DB_PASSWORD=vault:secret/app/db#password";
        a = ref(r, "DB_PASSWORD", "vault:secret/app/db#password");
        CU_ASSERT_STRING_EQUAL(a, "fake-pw");
        CU_ASSERT_PTR_EQUAL(ref(r, "DB_PASSWORD", "vault:secret/app/db#password"), a);
        /* another key of the same path: no new read */
        CU_ASSERT_STRING_EQUAL(ref(r, "DB_USER", "vault:secret/app/db#user"), "fake-user");
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 1);
        /* the KV v2 API form (forced kv2: another path for the cache) */
        b = ref(r, "X", "vault:secret/data/app/db#password");
        CU_ASSERT_STRING_EQUAL(b, "fake-pw");
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 2);
        /* a version */
        CU_ASSERT_STRING_EQUAL(ref(r, "Y", "vault:secret/data/app/db#password@3"), "fake-pw-v3");
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 3);
        /* escaped literals */
        CU_ASSERT_STRING_EQUAL(ref(r, "L", "vault::not/a#ref"), "vault:not/a#ref");
        CU_ASSERT_STRING_EQUAL(ref(r, "L", "vault:::x"), "vault::x");
        /* malformed, missing key, missing path: NULL, never the text */
        CU_ASSERT_PTR_NULL(ref(r, "BAD", "vault:nonsense"));
        CU_ASSERT_PTR_NULL(ref(r, "BAD", "vault:"));
        CU_ASSERT_PTR_NULL(ref(r, "NOKEY", "vault:secret/app/db#nokey"));
        CU_ASSERT_PTR_NULL(ref(r, "NOPATH", "vault:secret/nothing#k"));
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 4);
        CU_ASSERT_PTR_NULL(ref(r, "NOPATH", "vault:secret/nothing#k"));
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 4);
        /* pointers handed out stay valid */
        CU_ASSERT_STRING_EQUAL(a, "fake-pw");
        ve_resolver_free(r);
}

static void test_reference_shares_mapped_read(void) {
        struct ve_map *m = calloc(1, sizeof *m);
        struct ve_resolver *r;
        char path[128];

        reset();
        answers[0] = (struct answer) { "secret/app/db", 0, { "password", "fake-pw", "user", "fake-user", NULL } };
        map_add(m, "DB_USER", "secret/app/db", "user", false, NULL, 0);
        r = resolver(m);
        CU_ASSERT_STRING_EQUAL(get(r, "DB_USER", NULL), "fake-user");
        /* joins the mapped name's path: its values, no new read */
        CU_ASSERT_STRING_EQUAL(ref(r, "PW", "vault:secret/app/db#password"), "fake-pw");
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 1);

        /* a mapped name whose Vault key is missing, and whose environment
         * value is a reference: what the reference resolves to */
        env_vars[0] = "DB_USER=vault:secret/app/db#password";
        {
                struct ve_map *m2 = calloc(1, sizeof *m2);
                struct ve_resolver *r2;
                enum ve_from from;

                map_add(m2, "DB_USER", "secret/app/db", "nokey", false, NULL, 0);
                r2 = resolver(m2);
                CU_ASSERT_STRING_EQUAL(get(r2, "DB_USER", &from), "fake-pw");
                CU_ASSERT_EQUAL(from, VE_FROM_ENV);
                CU_ASSERT_EQUAL(atomic_load(&n_reads), 2);      /* one read for both */
                ve_resolver_free(r2);
        }
        env_vars[0] = NULL;

        /* no Vault answer: the files fallback, not the reference text */
        snprintf(path, sizeof path, "%s/REFFILE", secrets_dir);
        write_file(path, "fake-file\n", 10);
        CU_ASSERT_STRING_EQUAL(ref(r, "REFFILE", "vault:secret/none#k"), "fake-file");
        unlink(path);
        ve_resolver_free(r);
}

static void test_template(void) {
        struct ve_resolver *r;
        const char *u, *u2;
        enum ve_from from;

        reset();
        settings.stale_max_ms = VE_DEFAULT_STALE_MAX_MS;
        answers[0] = (struct answer) { "secret/app/db", 0, { "user", "fake-user", "password", "p@s:s/w%rd \xc3\xa9", NULL } };
        answers[1] = (struct answer) { "secret/app/host", 0, { "name", "db.example", NULL } };
        r = resolver_text("URL = \"postgresql://{{secret/app/db#user}}:{{ secret/app/db#password | urlencode }}@{{secret/app/host#name}}:5432/app\" ttl=1s\n"
                          "RAW = x{{secret/app/db#password}}y\n"
                          "MISS = \"{{secret/app/db#user}}{{secret/app/db#nokey}}\" default=fake-def\n"
                          "LIT = '{{\"{{\"}}{{secret/app/db#user}}}}'\n");
        ve_resolver_set_clock(r, fake_clock);
        u = get(r, "URL", &from);
        CU_ASSERT_STRING_EQUAL(u, "postgresql://fake-user:p%40s%3As%2Fw%25rd%20%C3%A9@db.example:5432/app");
        CU_ASSERT_EQUAL(from, VE_FROM_VAULT);
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 2);      /* one read per path */
        CU_ASSERT_STRING_EQUAL(get(r, "RAW", NULL), "xp@s:s/w%rd \xc3\xa9y");
        CU_ASSERT_STRING_EQUAL(get(r, "LIT", NULL), "{{fake-user}}");
        CU_ASSERT_STRING_EQUAL(get(r, "MISS", &from), "fake-def");
        CU_ASSERT_EQUAL(from, VE_FROM_DEFAULT);
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 2);
        CU_ASSERT_PTR_EQUAL(get(r, "URL", NULL), u);

        /* ttl: re-read, re-rendered only when a value changed */
        fake_now_ms += 1000;
        CU_ASSERT_PTR_EQUAL(get(r, "URL", NULL), u);
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 4);
        answers[1].kv[1] = "db2.example";
        fake_now_ms += 1000;
        u2 = get(r, "URL", NULL);
        CU_ASSERT_PTR_NOT_EQUAL(u2, u);
        CU_ASSERT_STRING_EQUAL(u2, "postgresql://fake-user:p%40s%3As%2Fw%25rd%20%C3%A9@db2.example:5432/app");
        CU_ASSERT_STRING_EQUAL(u, "postgresql://fake-user:p%40s%3As%2Fw%25rd%20%C3%A9@db.example:5432/app");
        ve_resolver_free(r);
}

static void test_template_required(void) {
        struct ve_resolver *r;
        struct ve_entry *e;
        const char *v = NULL;
        char *reason = NULL;

        reset();
        r = resolver_text("T = \"a{{secret/none#k}}\" required\n");
        e = ve_resolver_find(r, "T");
        CU_ASSERT_EQUAL(ve_resolve(r, e, &v, NULL, &reason), -ENOENT);
        CU_ASSERT_PTR_NOT_NULL(reason);
        free(reason);
        env_vars[0] = "T=from-env";
        CU_ASSERT_STRING_EQUAL(get(r, "T", NULL), "from-env");
        ve_resolver_free(r);
}

static void test_bulk(void) {
        struct ve_resolver *r;
        const char *pw;
        enum ve_from from;

        reset();
        answers[0] = (struct answer) { "secret/app/db", 0, { "password", "fake-pw", "host-name", "fake-host",
                                                            "PORT", "5432", NULL } };
        env_vars[0] = "DB_OTHER=from-env";
        r = resolver_text("DB_* = secret/app/db#* ttl=1h\n"
                          "DB_PORT = secret/app/db#password\n");
        CU_ASSERT_PTR_NULL(ve_resolver_find(r, "DB_"));
        CU_ASSERT_PTR_NULL(ve_resolver_find(r, "OTHER"));
        CU_ASSERT_PTR_NULL(ve_resolver_find(r, "DB_a=b"));
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 0);      /* finding reads nothing */
        pw = get(r, "DB_PASSWORD", &from);
        CU_ASSERT_STRING_EQUAL(pw, "fake-pw");
        CU_ASSERT_EQUAL(from, VE_FROM_VAULT);
        CU_ASSERT_STRING_EQUAL(get(r, "DB_HOST_NAME", NULL), "fake-host");
        /* explicit wins */
        CU_ASSERT_STRING_EQUAL(get(r, "DB_PORT", NULL), "fake-pw");
        /* a miss falls through to the environment, then nothing */
        CU_ASSERT_STRING_EQUAL(get(r, "DB_OTHER", &from), "from-env");
        CU_ASSERT_EQUAL(from, VE_FROM_ENV);
        CU_ASSERT_PTR_NULL(get(r, "DB_NONE", NULL));
        CU_ASSERT_PTR_NULL(get(r, "DB_password", NULL));        /* the rule upper-cases */
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 1);
        CU_ASSERT_PTR_EQUAL(get(r, "DB_PASSWORD", NULL), pw);
        CU_ASSERT_PTR_EQUAL(ve_resolver_find(r, "DB_PASSWORD"), ve_resolver_find(r, "DB_PASSWORD"));
        ve_resolver_free(r);
}

struct ref_storm {
        struct ve_resolver *r;
        pthread_barrier_t *barrier;
        const char *value;
};

static void *ref_storm_thread(void *p) {
        struct ref_storm *s = p;

        pthread_barrier_wait(s->barrier);
        if (ve_resolve_reference(s->r, "PW", "vault:secret/app/db#password", &s->value, NULL) < 0)
                s->value = NULL;
        return NULL;
}

static void test_reference_threads(void) {
        struct ve_resolver *r;
        pthread_barrier_t barrier;
        pthread_t t[16];
        struct ref_storm st[16];

        reset();
        read_delay_us = 20000;
        answers[0] = (struct answer) { "secret/app/db", 0, { "password", "fake-pw", NULL } };
        r = resolver(calloc(1, sizeof(struct ve_map)));
        pthread_barrier_init(&barrier, NULL, 16);
        for (int i = 0; i < 16; i++) {
                st[i] = (struct ref_storm) { r, &barrier, NULL };
                pthread_create(&t[i], NULL, ref_storm_thread, &st[i]);
        }
        for (int i = 0; i < 16; i++)
                pthread_join(t[i], NULL);
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 1);
        for (int i = 0; i < 16; i++) {
                CU_ASSERT_PTR_NOT_NULL_FATAL(st[i].value);
                CU_ASSERT_PTR_EQUAL(st[i].value, st[0].value);
        }
        CU_ASSERT_STRING_EQUAL(st[0].value, "fake-pw");
        pthread_barrier_destroy(&barrier);
        ve_resolver_free(r);
}

/* The name table and the hot path: every mapped name is found, whatever
 * its length (the table compares two words, and the middle of names over
 * 16 bytes); near misses are not; the filter never rejects a mapped name;
 * ve_resolver_cached() says "not mapped" exactly when ve_resolver_find()
 * finds nothing, and gives ve_resolve()'s pointer for a value cached for
 * good. */
static void test_name_table_and_cached(void) {
        static const char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789";
        struct ve_map *m = calloc(1, sizeof *m);
        unsigned long long seed = 42;
        struct ve_resolver *r;
        struct ve_cached c;
        char names[300][48];
        size_t n = 0;

        reset();
        for (size_t i = 0; i < 300; i++) {
                size_t len;

                seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
                switch (i % 4) {
                case 0: /* a shared prefix */
                        snprintf(names[i], sizeof names[i], "SECRET_%zu", i);
                        break;
                case 1: /* a shared suffix, over 16 bytes */
                        snprintf(names[i], sizeof names[i], "N%zu_THE_SAME_LONG_SUFFIX_X", i);
                        break;
                case 2: /* shared ends, over 16 bytes: only the middle differs */
                        snprintf(names[i], sizeof names[i], "MIDDLE_%03zu_DIFFERS_END", i);
                        break;
                default: /* random, 1..40 bytes */
                        len = 1 + (size_t) ((seed >> 33) % 40);
                        names[i][0] = chars[(seed >> 20) % 26];
                        for (size_t k = 1; k < len; k++) {
                                seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
                                names[i][k] = chars[(seed >> 33) % (sizeof chars - 1)];
                        }
                        names[i][len] = '\0';
                        break;
                }
                if (ve_map_find(m, names[i]))
                        continue;       /* a random duplicate */
                map_add(m, names[i], "secret/many", "k", false, NULL, i % 5 == 0 ? 60000 : 0);
                n++;
        }
        answers[0] = (struct answer) { "secret/many", 0, { "k", "fake-v", NULL } };
        r = resolver(m);
        CU_ASSERT_EQUAL_FATAL(ve_resolver_count(r), n);
        for (size_t i = 0; i < n; i++) {
                const char *name = ve_entry_map(ve_resolver_entry(r, i))->name;
                char probe[64];
                size_t len = strlen(name);
                struct ve_entry *e = ve_resolver_find(r, name);

                CU_ASSERT_PTR_EQUAL(e, ve_resolver_entry(r, i));
                CU_ASSERT_TRUE(ve_name_filter_may_match(ve_resolver_filter(r), name));
                /* not fetched yet: not cached */
                CU_ASSERT_EQUAL(ve_resolver_cached(r, name).k, -1);
                /* near misses: one byte changed, one more, one fewer */
                for (size_t k = 0; k < len; k++) {
                        memcpy(probe, name, len + 1);
                        probe[k] = probe[k] == 'Q' ? 'R' : 'Q';
                        e = ve_resolver_find(r, probe);
                        CU_ASSERT(e == NULL || strcmp(ve_entry_map(e)->name, probe) == 0);
                        c = ve_resolver_cached(r, probe);
                        CU_ASSERT_EQUAL(c.k == 0, e == NULL);
                }
                snprintf(probe, sizeof probe, "%sQ", name);
                e = ve_resolver_find(r, probe);
                CU_ASSERT(e == NULL || strcmp(ve_entry_map(e)->name, probe) == 0);
                memcpy(probe, name, len - 1);
                probe[len - 1] = '\0';
                e = ve_resolver_find(r, probe);
                CU_ASSERT(e == NULL || strcmp(ve_entry_map(e)->name, probe) == 0);
        }
        CU_ASSERT_EQUAL(ve_resolver_cached(r, "NOT_MAPPED_AT_ALL").k, 0);
        CU_ASSERT_EQUAL(ve_resolver_cached(r, "").k, 0);
        /* resolved: cached for good without ttl, never with one */
        for (size_t i = 0; i < n; i++) {
                struct ve_entry *e = ve_resolver_entry(r, i);
                const char *v = get(r, ve_entry_map(e)->name, NULL);

                CU_ASSERT_STRING_EQUAL(v, "fake-v");
                c = ve_resolver_cached(r, ve_entry_map(e)->name);
                if (ve_entry_map(e)->ttl_ms) {
                        CU_ASSERT_EQUAL(c.k, -1);
                } else {
                        CU_ASSERT_EQUAL(c.k, 1);
                        CU_ASSERT_PTR_EQUAL(c.value, v);
                }
        }
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 1);
        ve_resolver_free(r);
}

/* Not answered by the hot path: templates, bulk names, a failed read,
 * the audit trail; names a bulk rule cannot map are "not mapped". */
static void test_cached_declines(void) {
        struct ve_resolver *r;
        char audit[128];

        reset();
        answers[0] = (struct answer) { "secret/app/db", 0, { "password", "fake-pw", "user", "fake-user", NULL } };
        r = resolver_text("DB_* = secret/app/db#*\n"
                          "URL = \"x://{{ secret/app/db#user }}:{{ secret/app/db#password }}@h\"\n"
                          "PLAIN = secret/app/db#user\n"
                          "BROKEN = secret/app/none#x\n");
        CU_ASSERT_STRING_EQUAL(get(r, "URL", NULL), "x://fake-user:fake-pw@h");
        CU_ASSERT_STRING_EQUAL(get(r, "DB_PASSWORD", NULL), "fake-pw");
        CU_ASSERT_STRING_EQUAL(get(r, "PLAIN", NULL), "fake-user");
        CU_ASSERT_PTR_NULL(get(r, "BROKEN", NULL));
        CU_ASSERT_EQUAL(ve_resolver_cached(r, "URL").k, -1);
        CU_ASSERT_EQUAL(ve_resolver_cached(r, "DB_PASSWORD").k, -1);
        CU_ASSERT_EQUAL(ve_resolver_cached(r, "DB_ANYTHING").k, -1);
        CU_ASSERT_EQUAL(ve_resolver_cached(r, "BROKEN").k, -1);
        CU_ASSERT_EQUAL(ve_resolver_cached(r, "PLAIN").k, 1);
        CU_ASSERT_EQUAL(ve_resolver_cached(r, "DB_").k, 0);     /* the prefix alone maps nothing */
        CU_ASSERT_PTR_NULL(ve_resolver_find(r, "DB_"));
        CU_ASSERT_EQUAL(ve_resolver_cached(r, "DA_X").k, 0);
        CU_ASSERT_TRUE(ve_name_filter_may_match(ve_resolver_filter(r), "DB_ANYTHING"));
        ve_resolver_free(r);

        /* with the audit trail, every lookup goes through ve_resolve() */
        snprintf(audit, sizeof audit, "%s/audit.log", secrets_dir);
        settings.audit = audit;
        r = resolver_text("PLAIN = secret/app/db#user\n");
        CU_ASSERT_STRING_EQUAL(get(r, "PLAIN", NULL), "fake-user");
        CU_ASSERT_EQUAL(ve_resolver_cached(r, "PLAIN").k, -1);
        ve_resolver_free(r);
        settings.audit = NULL;
        unlink(audit);
}

/* VAULTENV_FALLBACK takes steps out of the chain. */
static void test_fallback_policy(void) {
        static const struct {
                unsigned off;
                const char *env, *file, *dflt;  /* what FROM_ENV, FROM_FILE, FROM_DEFAULT then read */
        } cases[] = {
                { 0, "fake-env", "fake-file", "fake-dflt" },
                { VE_FALLBACK_ALL, NULL, NULL, NULL },                          /* none: fail closed */
                { VE_FALLBACK_FILE | VE_FALLBACK_DEFAULT, "fake-env", NULL, NULL },  /* env */
                { VE_FALLBACK_ENV, "fake-dflt", "fake-file", "fake-dflt" },     /* file,default */
                { VE_FALLBACK_ENV | VE_FALLBACK_FILE, "fake-dflt", "fake-dflt", "fake-dflt" }, /* default */
        };
        char fpath[128], *fvar;

        snprintf(fpath, sizeof fpath, "%s/policy-file", secrets_dir);
        write_file(fpath, "fake-file\n", 10);
        fvar = ve_asprintf("FROM_FILE_FILE=%s", fpath);
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                struct ve_map *m = calloc(1, sizeof *m);
                struct ve_resolver *r;
                struct ve_entry *e;
                const char *v;
                char *reason = NULL;
                int k;

                reset();
                settings.fallback_off = cases[i].off;
                answers[0] = (struct answer) { "secret/down", -ECONNREFUSED, { NULL } };
                map_add(m, "FROM_ENV", "secret/down", "a", false, "fake-dflt", 0);
                map_add(m, "FROM_FILE", "secret/down", "b", false, "fake-dflt", 0);
                map_add(m, "FROM_DEFAULT", "secret/down", "c", false, "fake-dflt", 0);
                map_add(m, "MUST", "secret/down", "d", true, "fake-dflt", 0);
                env_vars[0] = "FROM_ENV=fake-env";
                env_vars[1] = fvar;
                env_vars[2] = "MUST=fake-env";
                r = resolver(m);
                v = get(r, "FROM_ENV", NULL);
                CU_ASSERT_TRUE(cases[i].env ? v && strcmp(v, cases[i].env) == 0 : !v);
                v = get(r, "FROM_FILE", NULL);
                CU_ASSERT_TRUE(cases[i].file ? v && strcmp(v, cases[i].file) == 0 : !v);
                v = get(r, "FROM_DEFAULT", NULL);
                CU_ASSERT_TRUE(cases[i].dflt ? v && strcmp(v, cases[i].dflt) == 0 : !v);
                /* none: a required name is an error, whatever the environment holds */
                e = ve_resolver_find(r, "MUST");
                k = ve_resolve(r, e, &v, NULL, &reason);
                CU_ASSERT_EQUAL(k, cases[i].off == VE_FALLBACK_ALL ? -ENOENT : 0);
                free(reason);
                ve_resolver_free(r);
        }
        settings.fallback_off = 0;
        free(fvar);
        unlink(fpath);
}

/* After a success, the cached value up to the stale bound, then the
 * same policy; Vault values live in memory kept out of core dumps. */
static void test_stale_then_policy(void) {
        struct ve_map *m = calloc(1, sizeof *m);
        struct ve_resolver *r;
        enum ve_from from;
        const char *v;

        reset();
        settings.stale_max_ms = 10000;
        settings.fallback_off = VE_FALLBACK_ALL;
        answers[0] = (struct answer) { "secret/rot", 0, { "k", "fake-1", NULL } };
        env_vars[0] = "ROT=fake-env";
        map_add(m, "ROT", "secret/rot", "k", false, "fake-default", 1000);
        r = resolver(m);
        ve_resolver_set_clock(r, fake_clock);
        v = get(r, "ROT", NULL);
        CU_ASSERT_STRING_EQUAL(v, "fake-1");
        CU_ASSERT_TRUE(ve_secure_owns(v));
        answers[0].err = -ECONNREFUSED;
        fake_now_ms += 5000;
        CU_ASSERT_PTR_EQUAL(get(r, "ROT", NULL), v);            /* stale, within the bound */
        fake_now_ms += 6000;
        CU_ASSERT_PTR_NULL(get(r, "ROT", &from));               /* past it: the policy, none */
        CU_ASSERT_EQUAL(from, VE_FROM_NONE);
        settings.fallback_off = 0;
        settings.stale_max_ms = VE_DEFAULT_STALE_MAX_MS;
        ve_resolver_free(r);
}

/* Construction is linear in the mapping: finding the path a name reads
 * costs a bounded number of compares, however many paths there are. 40,000
 * names on distinct paths, a name on every fourth path again, and KV
 * version forms of some: each distinct (form, path, version) is one path. */
static void test_many_paths(void) {
        enum { N = 40000 };
        size_t cap = (size_t) N * 48, len = 0, names = 0;
        char *text = malloc(cap);
        struct ve_resolver *r;

        reset();
        CU_ASSERT_PTR_NOT_NULL_FATAL(text);
        for (unsigned i = 0; i < N; i++) {
                len += (size_t) snprintf(text + len, cap - len, "N%u=s/p%u#k\n", i, i);
                names++;
                if (i % 4 == 0) {
                        len += (size_t) snprintf(text + len, cap - len, "S%u=s/p%u#k2\n", i, i);
                        names++;
                }
                if (i % 1000 == 8) {
                        len += (size_t) snprintf(text + len, cap - len, "V%u=s/p%u#k@2\nW%u=kv1:s/p%u#k\n",
                                                 i, i, i, i);
                        names += 2;
                }
        }
        answers[0] = (struct answer) { "s/p4008", 0, { "k", "fake-a", "k2", "fake-b", NULL } };
        answers[1] = (struct answer) { "s/p4008", 0, { "k", "fake-v2", NULL }, 2 };
        r = resolver_text(text);
        free(text);
        CU_ASSERT_PTR_NOT_NULL_FATAL(r);
        CU_ASSERT_EQUAL(ve_resolver_count(r), names);
        CU_ASSERT(ve_resolver_path_compares(r) <= 4 * names);

        CU_ASSERT_STRING_EQUAL(get(r, "N4008", NULL), "fake-a");
        CU_ASSERT_STRING_EQUAL(get(r, "S4008", NULL), "fake-b");
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 1);      /* one path, one read */
        CU_ASSERT_STRING_EQUAL(get(r, "V4008", NULL), "fake-v2");
        CU_ASSERT_STRING_EQUAL(get(r, "W4008", NULL), "fake-a");
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 3);      /* a version, a KV form: paths of their own */
        ve_resolver_free(r);
}

/* ---- ve_resolver_prefetch(): many paths in one batch ---- */

static atomic_int n_batches, batch_paths;

static int fake_read_many(void *ud, struct ve_read_call *calls, size_t n) {
        atomic_fetch_add(&n_batches, 1);
        atomic_fetch_add(&batch_paths, (int) n);
        for (size_t i = 0; i < n; i++) {
                calls[i].secret = NULL;
                calls[i].error = NULL;
                calls[i].r = fake_read(ud, calls[i].ref, &calls[i].secret, &calls[i].error);
        }
        return 0;
}

static const struct ve_source batch_source = { .read = fake_read, .renew = fake_renew,
                                               .read_many = fake_read_many };

static struct ve_resolver *batch_resolver(struct ve_map *m) {
        struct ve_resolver *r = NULL;

        atomic_store(&n_batches, 0);
        atomic_store(&batch_paths, 0);
        CU_ASSERT_EQUAL(ve_resolver_new(m, &settings, &batch_source, fake_getenv, &r), 0);
        return r;
}

/* A, B on one path; C on another; D denied; E with a ttl. */
static struct ve_map *batch_map(void) {
        struct ve_map *m = calloc(1, sizeof *m);

        answers[0] = (struct answer) { "secret/a", 0, { "x", "fake-a-x", "y", "fake-a-y", NULL } };
        answers[1] = (struct answer) { "secret/b", 0, { "x", "fake-b-x", NULL } };
        answers[2] = (struct answer) { "secret/denied", -EACCES, { NULL } };
        answers[3] = (struct answer) { "secret/c", 0, { "x", "fake-c-x", NULL } };
        map_add(m, "A", "secret/a", "x", false, NULL, 0);
        map_add(m, "B", "secret/a", "y", false, NULL, 0);
        map_add(m, "C", "secret/b", "x", false, NULL, 0);
        map_add(m, "D", "secret/denied", "x", false, "fake-default-d", 0);
        map_add(m, "E", "secret/c", "x", false, NULL, 5000);
        return m;
}

static void test_prefetch(void) {
        const char *names[] = { "C", "NOT_MAPPED", "C" };
        struct ve_resolver *r;
        enum ve_from from;

        reset();
        r = batch_resolver(batch_map());
        ve_resolver_set_clock(r, fake_clock);
        CU_ASSERT_EQUAL(ve_resolver_prefetch(r, NULL, 0), 0);
        /* one batch, each distinct path once */
        CU_ASSERT_EQUAL(atomic_load(&n_batches), 1);
        CU_ASSERT_EQUAL(atomic_load(&batch_paths), 4);
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 4);
        /* the lookups find the cache filled as their own reads would */
        CU_ASSERT_STRING_EQUAL(get(r, "A", &from), "fake-a-x");
        CU_ASSERT_EQUAL(from, VE_FROM_VAULT);
        CU_ASSERT_STRING_EQUAL(get(r, "B", NULL), "fake-a-y");
        CU_ASSERT_STRING_EQUAL(get(r, "C", NULL), "fake-b-x");
        CU_ASSERT_STRING_EQUAL(get(r, "E", NULL), "fake-c-x");
        CU_ASSERT_STRING_EQUAL(get(r, "D", &from), "fake-default-d");
        CU_ASSERT_EQUAL(from, VE_FROM_DEFAULT);
        CU_ASSERT_EQUAL(ve_entry_vault_status(r, ve_resolver_find(r, "D"), NULL), -EACCES);
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 4);
        /* fresh, or failed for good: nothing to do */
        CU_ASSERT_EQUAL(ve_resolver_prefetch(r, NULL, 0), 0);
        CU_ASSERT_EQUAL(atomic_load(&n_batches), 1);
        /* E's ttl passed: only its path again */
        fake_now_ms += 5000;
        CU_ASSERT_EQUAL(ve_resolver_prefetch(r, NULL, 0), 0);
        CU_ASSERT_EQUAL(atomic_load(&n_batches), 2);
        CU_ASSERT_EQUAL(atomic_load(&batch_paths), 5);
        ve_resolver_free(r);

        /* some names: their paths only; a name not mapped is ignored, a
         * repeated one read once */
        reset();
        r = batch_resolver(batch_map());
        CU_ASSERT_EQUAL(ve_resolver_prefetch(r, names, 3), 0);
        CU_ASSERT_EQUAL(atomic_load(&batch_paths), 1);
        CU_ASSERT_STRING_EQUAL(get(r, "C", NULL), "fake-b-x");
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 1);
        CU_ASSERT_STRING_EQUAL(get(r, "A", NULL), "fake-a-x");  /* a lookup's own read */
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 2);
        CU_ASSERT_EQUAL(atomic_load(&n_batches), 1);
        ve_resolver_free(r);

        /* a source without read_many: the paths one by one, same result */
        reset();
        r = resolver(batch_map());
        CU_ASSERT_EQUAL(ve_resolver_prefetch(r, NULL, 0), 0);
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 4);
        CU_ASSERT_STRING_EQUAL(get(r, "B", NULL), "fake-a-y");
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 4);
        ve_resolver_free(r);
}

static void test_prefetch_first_lookup(void) {
        struct ve_resolver *r;
        struct ve_map *m;

        /* VAULTENV_PREFETCH: the first lookup reads every path at once */
        reset();
        settings.prefetch = true;
        r = batch_resolver(batch_map());
        CU_ASSERT_STRING_EQUAL(get(r, "C", NULL), "fake-b-x");
        CU_ASSERT_EQUAL(atomic_load(&n_batches), 1);
        CU_ASSERT_EQUAL(atomic_load(&batch_paths), 4);
        CU_ASSERT_STRING_EQUAL(get(r, "A", NULL), "fake-a-x");
        CU_ASSERT_STRING_EQUAL(get(r, "E", NULL), "fake-c-x");
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 4);
        CU_ASSERT_EQUAL(atomic_load(&n_batches), 1);
        settings.prefetch = false;
        ve_resolver_free(r);

        /* the mapping's directive does the same */
        reset();
        m = batch_map();
        m->prefetch = true;
        r = batch_resolver(m);
        CU_ASSERT_STRING_EQUAL(get(r, "B", NULL), "fake-a-y");
        CU_ASSERT_EQUAL(atomic_load(&batch_paths), 4);
        ve_resolver_free(r);

        /* neither: a lookup reads its own path only */
        reset();
        r = batch_resolver(batch_map());
        CU_ASSERT_STRING_EQUAL(get(r, "B", NULL), "fake-a-y");
        CU_ASSERT_EQUAL(atomic_load(&n_batches), 0);
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 1);
        ve_resolver_free(r);
}

static void test_prefetch_lease(void) {
        struct ve_resolver *r;
        struct ve_map *m = calloc(1, sizeof *m);
        const char *u;

        reset();
        answers[0] = (struct answer) { "database/creds/ro", 0, { "username", "fake-user-1", "password", "fake-pw-1", NULL },
                                       0, "database/creds/ro/fake-lease-1", 30, true };
        map_add(m, "DB_USER", "database/creds/ro", "username", false, NULL, 0);
        map_add(m, "DB_PASS", "database/creds/ro", "password", false, NULL, 0);
        r = batch_resolver(m);
        ve_resolver_set_clock(r, fake_clock);
        CU_ASSERT_EQUAL(ve_resolver_prefetch(r, NULL, 0), 0);
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 1);      /* one read, one lease */
        u = get(r, "DB_USER", NULL);
        CU_ASSERT_STRING_EQUAL(u, "fake-user-1");
        CU_ASSERT_STRING_EQUAL(get(r, "DB_PASS", NULL), "fake-pw-1");
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 1);
        /* past 2/3 of the lease: a prefetch leaves the renewal to the
         * lookup, which renews (not reads) it */
        fake_now_ms += 20000;
        CU_ASSERT_EQUAL(ve_resolver_prefetch(r, NULL, 0), 0);
        CU_ASSERT_EQUAL(atomic_load(&n_batches), 1);
        CU_ASSERT_PTR_EQUAL(get(r, "DB_USER", NULL), u);
        CU_ASSERT_EQUAL(atomic_load(&n_renews), 1);
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 1);
        ve_resolver_free(r);
}

static void *gen_thread(void *p) {
        struct storm *s = p;

        if (ve_resolve(s->r, ve_resolver_find(s->r, "DB_PASS"), &s->value, NULL, NULL) < 0)
                s->value = NULL;
        return NULL;
}

/* A generation followed: nothing happens until it moves; then each path
 * without a lease is read once more at its next lookup and every name of
 * it, cached for good before, takes the new value; the old pointers keep
 * the old values; a leased path is neither read nor renewed. A change told
 * while a read is in flight leaves the read's values stale. */
static void test_generation(void) {
        struct ve_map *m = calloc(1, sizeof *m);
        static _Atomic(uint64_t) gen = 7;
        struct ve_resolver *r;
        const char *u, *p, *o, *d;
        struct ve_cached c;
        struct storm s;
        pthread_t t;

        reset();
        answers[0] = (struct answer) { "secret/app/db", 0, { "user", "fake-user-1", "password", "fake-pw-1", NULL } };
        answers[1] = (struct answer) { "secret/app/other", 0, { "token", "fake-other", NULL } };
        answers[2] = (struct answer) { "database/creds/ro", 0, { "username", "fake-dyn-1", NULL }, 0,
                                       "database/creds/ro/fake-lease-1", 3600, true };
        map_add(m, "DB_USER", "secret/app/db", "user", false, NULL, 0);
        map_add(m, "DB_PASS", "secret/app/db", "password", false, NULL, 0);
        map_add(m, "OTHER", "secret/app/other", "token", false, NULL, 0);
        map_add(m, "DYN", "database/creds/ro", "username", false, NULL, 0);
        r = resolver(m);
        ve_resolver_set_clock(r, fake_clock);
        ve_resolver_follow_generation(r, &gen);
        u = get(r, "DB_USER", NULL);
        p = get(r, "DB_PASS", NULL);
        o = get(r, "OTHER", NULL);
        d = get(r, "DYN", NULL);
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 3);

        /* changed in Vault, not told: the cache stands */
        answers[0].kv[1] = "fake-user-2";
        answers[0].kv[3] = "fake-pw-2";
        CU_ASSERT_PTR_EQUAL(get(r, "DB_PASS", NULL), p);
        c = ve_resolver_cached(r, "DB_USER");
        CU_ASSERT(c.k > 0 && c.value == u);
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 3);

        /* told: the hot path declines, the slow path reads each KV path once */
        atomic_fetch_add(&gen, 1);
        CU_ASSERT(ve_resolver_cached(r, "DB_USER").k < 0);
        CU_ASSERT_STRING_EQUAL(get(r, "DB_PASS", NULL), "fake-pw-2");
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 4);
        CU_ASSERT_STRING_EQUAL(get(r, "DB_USER", NULL), "fake-user-2");
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 4);
        CU_ASSERT_PTR_EQUAL(get(r, "OTHER", NULL), o);  /* read again, the same value */
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 5);
        CU_ASSERT_PTR_EQUAL(get(r, "DYN", NULL), d);
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 5);
        CU_ASSERT_EQUAL(atomic_load(&n_renews), 0);
        CU_ASSERT_STRING_EQUAL(u, "fake-user-1");
        CU_ASSERT_STRING_EQUAL(p, "fake-pw-1");
        c = ve_resolver_cached(r, "DB_USER");
        CU_ASSERT(c.k > 0 && c.value && strcmp(c.value, "fake-user-2") == 0);

        /* told again while the read it caused is in flight, and the news
         * taken by another lookup meanwhile: the next lookup reads again */
        atomic_fetch_add(&gen, 1);
        answers[0].kv[3] = "fake-pw-3";
        block_reads = true;
        s = (struct storm) { r, NULL, NULL };
        pthread_create(&t, NULL, gen_thread, &s);
        sem_wait(&in_read);
        atomic_fetch_add(&gen, 1);
        answers[0].kv[3] = "fake-pw-4";
        block_reads = false;
        /* another lookup takes the news while the read is in flight */
        CU_ASSERT_PTR_EQUAL(get(r, "OTHER", NULL), o);
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 7);
        sem_post(&release);
        pthread_join(t, NULL);
        CU_ASSERT_PTR_NOT_NULL(s.value);
        /* the read began before the news: read again */
        CU_ASSERT_STRING_EQUAL(get(r, "DB_PASS", NULL), "fake-pw-4");
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 8);
        CU_ASSERT_STRING_EQUAL(get(r, "DB_PASS", NULL), "fake-pw-4");
        CU_ASSERT_EQUAL(atomic_load(&n_reads), 8);
        ve_resolver_free(r);
}

int main(void) {
        static const struct unit_test tests[] = {
                { "prefetch: one batch, the cache filled", test_prefetch },
                { "prefetch on the first lookup", test_prefetch_first_lookup },
                { "prefetch: leases renewed by the lookup", test_prefetch_lease },
                { "vault first, one read per path", test_vault_first_and_one_read_per_path },
                { "fallback chain", test_fallback_chain },
                { "required", test_required },
                { "missing key", test_missing_key_then_fallback },
                { "ttl refresh and stale-if-error", test_ttl_refresh_and_stale },
                { "single flight", test_single_flight },
                { "stale value while refreshing", test_stale_while_refreshing },
                { "no source", test_no_source },
                { "versions are separate reads", test_versions_are_paths },
                { "lease: renewed at 2/3", test_lease_renew },
                { "lease: not renewable, read again", test_lease_not_renewable },
                { "lease: renewal fails, read again", test_lease_renew_fails },
                { "lease: shorter renewal, read again", test_lease_short_renewal },
                { "lease: read fails, old pair kept", test_lease_reread_fails },
                { "lease: ttl= does not apply", test_lease_ignores_ttl },
                { "lease: source without renew", test_lease_without_renew_op },
                { "VAULTENV_STALE_MAX bounds stale-if-error", test_stale_max },
                { "references in the environment", test_references },
                { "a reference shares a mapped name's read", test_reference_shares_mapped_read },
                { "references under threads: one read", test_reference_threads },
                { "templates", test_template },
                { "templates: required and fallback", test_template_required },
                { "bulk mapping", test_bulk },
                { "name table and the cached hot path", test_name_table_and_cached },
                { "hot path declines what it cannot answer", test_cached_declines },
                { "VAULTENV_FALLBACK restricts the chain", test_fallback_policy },
                { "stale bound, then the same policy", test_stale_then_policy },
                { "construction is linear in the paths", test_many_paths },
                { "a followed generation re-reads changed paths", test_generation },
                { NULL, NULL },
        };
        static const struct unit_suite suite = { "resolve", tests };
        char tmpl[] = "/tmp/ve-secrets-XXXXXX", cmd[128];
        int status;

        if (!mkdtemp(tmpl) || sem_init(&in_read, 0, 0) < 0 || sem_init(&release, 0, 0) < 0)
                return 2;
        snprintf(secrets_dir, sizeof secrets_dir, "%s", tmpl);
        settings.secrets_dir = secrets_dir;
        settings.stale_max_ms = VE_DEFAULT_STALE_MAX_MS;
        status = unit_run(&suite, 1);
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", secrets_dir);
        if (system(cmd) != 0 && status == 0)
                status = 2;
        return status;
}
