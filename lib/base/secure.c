/* SPDX-License-Identifier: MIT */
/* The secure-memory arena (util.h). Process-wide state: this file is
 * linked into exactly one object of a process (lib_state, lib/meson.build);
 * the core module reaches it through the shim (shim/core/core_host.c). */
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util.h"

/* The secure arena: chunks of pages excluded from core dumps and locked in
 * memory where the limit allows; blocks carry their size in a header and
 * go, wiped, to a first-fit free list. Secret values are few and small. */
#define SECURE_CHUNK (64 * 1024)
#define SECURE_ALIGN 16

struct secure_chunk {
        struct secure_chunk *next;
        size_t size, used;
};

struct secure_block {
        size_t cap;                     /* usable bytes after the header */
        struct secure_block *next_free; /* when on the free list */
};

static pthread_mutex_t secure_lock = PTHREAD_MUTEX_INITIALIZER;
static struct secure_chunk *secure_chunks;
static struct secure_block *secure_free_list;

static size_t round_up(size_t n, size_t to) {
        return (n + to - 1) / to * to;
}

static struct secure_chunk *secure_chunk_new(size_t need) {
        size_t page = (size_t) sysconf(_SC_PAGESIZE);
        size_t size = round_up(need + round_up(sizeof(struct secure_chunk), SECURE_ALIGN), page);
        struct secure_chunk *c;
        void *p;

        if (size < SECURE_CHUNK)
                size = SECURE_CHUNK;
        p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
                return NULL;
        (void) madvise(p, size, MADV_DONTDUMP);
        (void) mlock(p, size);          /* best effort: RLIMIT_MEMLOCK */
        c = p;
        c->size = size;
        c->used = round_up(sizeof *c, SECURE_ALIGN);
        c->next = secure_chunks;
        secure_chunks = c;
        return c;
}

char *ve_secure_strdup(const char *s) {
        size_t len = strlen(s), hdr = round_up(sizeof(struct secure_block), SECURE_ALIGN);
        size_t cap = round_up(len + 1, SECURE_ALIGN);
        struct secure_block *b = NULL, **pp;
        struct secure_chunk *c;
        char *d;

        pthread_mutex_lock(&secure_lock);
        for (pp = &secure_free_list; *pp; pp = &(*pp)->next_free)
                if ((*pp)->cap >= cap && (*pp)->cap <= 4 * cap + 64) {
                        b = *pp;
                        *pp = b->next_free;
                        break;
                }
        if (!b) {
                c = secure_chunks;
                if (!c || c->size - c->used < hdr + cap)
                        c = secure_chunk_new(hdr + cap);
                if (!c) {
                        pthread_mutex_unlock(&secure_lock);
                        return NULL;
                }
                b = (struct secure_block *) ((char *) c + c->used);
                b->cap = cap;
                c->used += hdr + cap;
        }
        b->next_free = NULL;
        pthread_mutex_unlock(&secure_lock);
        d = (char *) b + hdr;
        memcpy(d, s, len + 1);
        return d;
}

void ve_secure_free(char *s) {
        size_t hdr = round_up(sizeof(struct secure_block), SECURE_ALIGN);
        struct secure_block *b;

        if (!s)
                return;
        b = (struct secure_block *) (s - hdr);
        explicit_bzero(s, b->cap);
        pthread_mutex_lock(&secure_lock);
        b->next_free = secure_free_list;
        secure_free_list = b;
        pthread_mutex_unlock(&secure_lock);
}

void ve_secure_atfork_prepare(void) {
        pthread_mutex_lock(&secure_lock);
}

void ve_secure_atfork_parent(void) {
        pthread_mutex_unlock(&secure_lock);
}

void ve_secure_atfork_child(void) {
        pthread_mutex_unlock(&secure_lock);
}

bool ve_secure_owns(const void *p) {
        bool found = false;

        pthread_mutex_lock(&secure_lock);
        for (struct secure_chunk *c = secure_chunks; c && !found; c = c->next)
                found = (const char *) p >= (const char *) c && (const char *) p < (const char *) c + c->size;
        pthread_mutex_unlock(&secure_lock);
        return found;
}
