/* SPDX-License-Identifier: MIT */
/* librelmalloc.so, for rel-malloc.sh: a malloc interposer in the manner of
 * jemalloc, which reads its configuration (secure_getenv("MALLOC_CONF"))
 * while it holds its non-recursive init lock: every allocation call takes
 * one process-wide NON-recursive, error-checking mutex, and while holding
 * it, on its first call and every 64th after, calls getenv("MALLOC_CONF").
 * Should getenv() allocate (or re-enter the allocator) on that path, the
 * mutex is locked again by the thread that holds it: instead of hanging,
 * "relmalloc: re-entered" goes to stderr and the process aborts. The
 * memory itself is glibc's (__libc_malloc...). */

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <malloc.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static pthread_mutex_t lock = PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP;
static unsigned long calls;
static volatile const char *conf;

static void enter(void) {
        int r = pthread_mutex_lock(&lock);

        if (r == EDEADLK) {
                static const char msg[] = "relmalloc: re-entered\n";

                if (write(STDERR_FILENO, msg, sizeof msg - 1) < 0) {
                        /* nothing to do */
                }
                abort();
        }
        if (calls++ % 64 == 0)
                conf = getenv("MALLOC_CONF");
}

static void leave(void) {
        pthread_mutex_unlock(&lock);
}

void *malloc(size_t n) {
        void *p;

        enter();
        p = __libc_malloc(n);
        leave();
        return p;
}

void free(void *p) {
        if (!p)
                return;
        enter();
        __libc_free(p);
        leave();
}

void *calloc(size_t n, size_t m) {
        void *p;

        enter();
        p = __libc_calloc(n, m);
        leave();
        return p;
}

void *realloc(void *q, size_t n) {
        void *p;

        enter();
        p = __libc_realloc(q, n);
        leave();
        return p;
}

void *memalign(size_t a, size_t n) {
        void *p;

        enter();
        p = __libc_memalign(a, n);
        leave();
        return p;
}

void *aligned_alloc(size_t a, size_t n) {
        return memalign(a, n);
}

int posix_memalign(void **ret, size_t a, size_t n) {
        void *p;

        if (a % sizeof(void *) != 0 || (a & (a - 1)) != 0)
                return EINVAL;
        p = memalign(a, n);
        if (!p)
                return ENOMEM;
        *ret = p;
        return 0;
}
