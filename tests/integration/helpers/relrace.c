/* SPDX-License-Identifier: MIT */
/* For rel-sanitizers.sh, which builds it together with lib/'s base sources
 * under -fsanitize=thread and under -fsanitize=address,undefined: the
 * shim's getenv() logic (name filter, lock-free cache, resolver, envscan
 * over environ; as shim/preload/getenv.c's hot and slow paths) on 8 threads, which
 * meanwhile setenv() other names, 1,000,000 lookups in all. The Vault
 * source is a fake answering at once; one path has a ttl and a clock that
 * ticks on every reading, so refreshes race the lock-free reads too.
 * Prints nothing but a summary line; exit status 0 when every lookup gave
 * the expected value (and a value handed out earlier still holds it). The setenv() calls overwrite names that exist before
 * the threads start: growing environ while another thread walks it is a
 * use-after-free inside glibc (< 2.40) itself, with or without vaultenv. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envscan.h"
#include "mapfile.h"
#include "resolve.h"
#include "secret.h"
#include "settings.h"

#define THREADS 8
#define ITERATIONS (1000000 / THREADS)

extern char **environ;

static struct ve_resolver *resolver;
static const struct ve_name_filter *filter;
static atomic_uint_fast64_t tick;
static atomic_int bad;

static uint64_t fake_clock(void) {
        return atomic_fetch_add(&tick, 1);
}

/* secret/ttl changes on every read ("fake-ttl-N"): each refresh replaces
 * the value that readers may still hold. */
static atomic_uint n_reads;

static int fake_read(void *ud, const struct ve_ref *ref, struct ve_secret **ret, char **ret_error) {
        struct ve_secret *s = ve_secret_new();
        char ttl_value[32];

        (void) ud;
        (void) ret_error;
        if (!s)
                return -12;
        snprintf(ttl_value, sizeof ttl_value, "fake-ttl-%u", atomic_fetch_add(&n_reads, 1));
        ve_secret_add(s, "value", strcmp(ref->path, "secret/ttl") == 0 ? ttl_value : "fake-still");
        ve_secret_add(s, "other", "fake-other");
        *ret = s;
        return 0;
}

static const struct ve_source source = { .read = fake_read };

static const char *passthrough(const char *name) {
        return ve_envscan(environ, name);
}

/* As shim_getenv(): filter, cache, else the resolver; unmapped: environ. */
static const char *lookup(const char *name) {
        if (ve_name_filter_may_match(filter, name)) {
                struct ve_cached c = ve_resolver_cached(resolver, name);
                struct ve_entry *e;

                if (c.k > 0)
                        return c.value;
                if (c.k < 0 && (e = ve_resolver_find(resolver, name))) {
                        const char *v = NULL;
                        char *reason = NULL;

                        if (ve_resolve(resolver, e, &v, NULL, &reason) < 0)
                                v = NULL;
                        free(reason);
                        return v;
                }
        }
        return passthrough(name);
}

/* got is want, or for want "...-" starts with it */
static void expect(const char *name, const char *got, const char *want) {
        size_t n = strlen(want);

        if (!got || (want[n - 1] == '-' ? strncmp(got, want, n) : strcmp(got, want)) != 0) {
                if (atomic_fetch_add(&bad, 1) == 0)
                        fprintf(stderr, "relrace: %s: unexpected value\n", name);
        }
}

static void *worker(void *arg) {
        int t = (int) (long) arg;
        char mine[32], value[32];
        const char *kept = NULL;

        snprintf(mine, sizeof mine, "REL_OTHER_%d", t);
        for (int i = 0; i < ITERATIONS; i++) {
                switch (i % 6) {
                case 0:
                        snprintf(value, sizeof value, "v%d", i & 7);
                        setenv(mine, value, 1);
                        break;
                case 1:
                        expect("STILL_KEY", lookup("STILL_KEY"), "fake-still");
                        break;
                case 2:
                        /* a value handed out stays valid after refreshes */
                        if (kept)
                                expect("TTL_KEY (kept)", kept, "fake-ttl-");
                        kept = lookup("TTL_KEY");
                        expect("TTL_KEY", kept, "fake-ttl-");
                        break;
                case 3:
                        expect("PLAIN_VAR", lookup("PLAIN_VAR"), "plain-value");
                        break;
                case 4:
                        expect("OTHER_KEY", lookup("OTHER_KEY"), "fake-other");
                        break;
                default:
                        (void) lookup(i & 1 ? "REL_OTHER_0" : "NOT_SET");
                }
        }
        return NULL;
}

int main(void) {
        static const char text[] =
                "STILL_KEY = secret/still\n"
                "OTHER_KEY = secret/still#other\n"
                "TTL_KEY   = secret/ttl  ttl=1s\n";
        static struct ve_settings settings;
        struct ve_map *map = NULL;
        char *err = NULL;
        pthread_t th[THREADS];

        setenv("PLAIN_VAR", "plain-value", 1);
        for (int t = 0; t < THREADS; t++) {
                char n[32];

                snprintf(n, sizeof n, "REL_OTHER_%d", t);
                setenv(n, "v0", 1);
        }
        if (ve_map_parse("relrace.map", text, strlen(text), &map, &err) < 0 ||
            ve_resolver_new(map, &settings, &source, passthrough, &resolver) < 0) {
                fprintf(stderr, "relrace: set-up failed: %s\n", err ? err : "?");
                return 2;
        }
        ve_resolver_set_clock(resolver, fake_clock);
        filter = ve_resolver_filter(resolver);
        for (long t = 0; t < THREADS; t++)
                pthread_create(&th[t], NULL, worker, (void *) t);
        for (int t = 0; t < THREADS; t++)
                pthread_join(th[t], NULL);
        printf("relrace: %d lookups and setenv calls on %d threads, %u reads, %d unexpected\n",
               ITERATIONS * THREADS, THREADS, atomic_load(&n_reads), atomic_load(&bad));
        ve_resolver_free(resolver);
        return atomic_load(&bad) == 0 ? 0 : 1;
}
