/* SPDX-License-Identifier: MIT */
/* Exec hygiene: the exec family and posix_spawn (system and popen: shell.c),
 * interposed so that the values the eager constructor placed in the
 * environment (place.c) do not reach a child's environment block, where
 * /proc/PID/environ would show them. The child keeps LD_PRELOAD and the
 * mapping and resolves for itself; names marked inherit are passed on
 * (lib/resolve/eager.h).
 *
 * A process without injected values pays one dlsym() per function on its
 * first use, then nothing: the call goes straight to libc.
 *
 * Async-signal safety: after vfork() the child shares the parent's memory,
 * so an exec wrapper never calls malloc (system and popen, not
 * async-signal-safe in libc either, may). The arrays it builds (the
 * stripped environment, the execl variants' argv) are never on the stack
 * beyond a fixed size: see struct ptrs. The real functions are looked up
 * when the eager constructor records what it injected (before main), so
 * then the wrappers do not call into the loader in a vfork() child;
 * otherwise they are looked up on first use, without a lock (a race only
 * repeats an idempotent dlsym()).
 * The injected list is written once before main and only read afterwards. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "eager.h"
#include "exec.h"
#include "libc-config.h"

#define EXPORT __attribute__((visibility("default")))

extern char **environ;

static const struct ve_eager_var *injected;
size_t ve_exec_n_injected;

static const char *const real_name[_REAL_MAX] = {
        [REAL_EXECVE] = "execve",
        [REAL_EXECVPE] = "execvpe",
        [REAL_FEXECVE] = "fexecve",
        [REAL_EXECVEAT] = "execveat",
        [REAL_POSIX_SPAWN] = "posix_spawn",
        [REAL_POSIX_SPAWNP] = "posix_spawnp",
        [REAL_SYSTEM] = "system",
        [REAL_POPEN] = "popen",
        [REAL_PCLOSE] = "pclose",
};

static _Atomic(void *) real_fn[_REAL_MAX];

/* The next definition after this object's (libc's). NULL (errno ENOSYS at
 * the caller) when there is none. Never this object's own: RTLD_NEXT. */
void *ve_exec_real(enum real_fn f) {
        void *p = atomic_load_explicit(&real_fn[f], memory_order_acquire);

        if (!p) {
                p = dlsym(RTLD_NEXT, real_name[f]);
                if (p)
                        atomic_store_explicit(&real_fn[f], p, memory_order_release);
        }
        return p;
}

void ve_exec_set_injected(const struct ve_eager_var *vars, size_t n_vars) {
        injected = vars;
        ve_exec_n_injected = n_vars;
        if (n_vars > 0)
                for (int f = 0; f < _REAL_MAX; f++)
                        (void) ve_exec_real(f);
}

/* An array of pointers a wrapper builds. Up to PTRS_SMALL entries it is
 * in the wrapper's frame (a fixed size: the caller chose the stack, maybe
 * 64 KiB, and the environment, maybe 20,000 entries); beyond, in an
 * anonymous mapping: mmap() is a system call, async-signal-safe and
 * lock-free, so usable after vfork() and in the child of a multithreaded
 * fork(), where malloc() is not. The mapping is kept per thread (a pthread
 * key; unmapped when the thread exits) and reused: an exec that succeeds in
 * a vfork() child cannot unmap it, and the parent's thread, which shares
 * the memory, then finds it marked with that gone child's pid. */
#define PTRS_SMALL 128

struct ptrs_map {
        size_t size;            /* bytes mapped, this header included */
        pid_t user;             /* the process using it now, 0: free */
};

struct ptrs {
        char **ptr;
        struct ptrs_map *map;   /* the mapping ptr lies in, NULL: small */
        bool temporary;         /* not the thread's: unmapped by ptrs_done() */
        char *small[PTRS_SMALL];
};

static pthread_once_t ptrs_once = PTHREAD_ONCE_INIT;
static pthread_key_t ptrs_key;
static bool ptrs_key_ok;

static void ptrs_map_free(void *p) {
        struct ptrs_map *m = p;

        (void) munmap(m, m->size);
}

static void ptrs_key_init(void) {
        ptrs_key_ok = pthread_key_create(&ptrs_key, ptrs_map_free) == 0;
}

/* Room for n pointers in p->ptr: 0, or -ENOMEM (p is then still safe to
 * pass to ptrs_done()). */
static int ptrs_get(struct ptrs *p, size_t n) {
        struct ptrs_map *m, *kept = NULL;
        size_t size;
        pid_t self;

        p->ptr = NULL;
        p->map = NULL;
        p->temporary = false;
        if (n <= PTRS_SMALL) {
                p->ptr = p->small;
                return 0;
        }
        if (n > (SIZE_MAX - sizeof *m) / sizeof(char *))
                return -ENOMEM;
        size = sizeof *m + n * sizeof(char *);
        self = getpid();
        (void) pthread_once(&ptrs_once, ptrs_key_init);
        if (ptrs_key_ok)
                kept = pthread_getspecific(ptrs_key);
        if (kept && kept->user != self && kept->size >= size)
                m = kept;
        else {
                m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                if (m == MAP_FAILED)
                        return -ENOMEM;
                m->size = size;
                /* A kept mapping in use by this process on this thread: a
                 * signal handler interrupted a wrapper; leave it alone. */
                if (kept && kept->user == self)
                        p->temporary = true;
                else if (ptrs_key_ok && pthread_setspecific(ptrs_key, m) == 0) {
                        if (kept)
                                (void) munmap(kept, kept->size);
                } else
                        p->temporary = true;
        }
        m->user = self;
        p->map = m;
        p->ptr = (char **) (m + 1);
        return 0;
}

/* Only reached when the exec failed (or a spawn returned): errno kept. */
static void ptrs_done(struct ptrs *p) {
        int saved = errno;

        if (p->temporary)
                (void) munmap(p->map, p->map->size);
        else if (p->map)
                p->map->user = 0;
        errno = saved;
}

/* Room for extra pointers (the execl variants' argv) in p, and in
 * *ret_env the environment the child gets: envp, or its stripped copy
 * after them in p. -ENOMEM when there is no room: the exec is refused
 * rather than leaking the values. */
static int child_env(char *const *envp, struct ptrs *p, size_t extra, char *const **ret_env) {
        size_t n = ve_exec_n_injected > 0 ? ve_eager_env_count(envp) + 1 : 0;

        if (n > SIZE_MAX - extra || ptrs_get(p, extra + n) < 0)
                return -ENOMEM;
        if (ve_exec_n_injected > 0 && ve_eager_strip(envp, injected, ve_exec_n_injected, p->ptr + extra))
                *ret_env = p->ptr + extra;
        else
                *ret_env = envp;
        return 0;
}

typedef int (*execve_fn)(const char *, char *const[], char *const[]);
typedef int (*fexecve_fn)(int, char *const[], char *const[]);
typedef int (*execveat_fn)(int, const char *, char *const[], char *const[], int);
typedef int (*spawn_fn)(pid_t *, const char *, const posix_spawn_file_actions_t *,
                        const posix_spawnattr_t *, char *const[], char *const[]);

static int do_execve(enum real_fn f, const char *path, char *const argv[], char *const envp[]) {
        execve_fn fn = (execve_fn) ve_exec_real(f);
        char *const *env;
        struct ptrs p;

        if (!fn) {
                errno = ENOSYS;
                return -1;
        }
        if (child_env(envp, &p, 0, &env) < 0) {
                errno = ENOMEM;
                return -1;
        }
        (void) fn(path, argv, env);
        ptrs_done(&p);
        return -1;
}

EXPORT int execve(const char *path, char *const argv[], char *const envp[]) {
        return do_execve(REAL_EXECVE, path, argv, envp);
}

EXPORT int execv(const char *path, char *const argv[]) {
        return do_execve(REAL_EXECVE, path, argv, environ);
}

EXPORT int execvpe(const char *file, char *const argv[], char *const envp[]) {
        return do_execve(REAL_EXECVPE, file, argv, envp);
}

EXPORT int execvp(const char *file, char *const argv[]) {
        return do_execve(REAL_EXECVPE, file, argv, environ);
}

EXPORT int fexecve(int fd, char *const argv[], char *const envp[]) {
        fexecve_fn fn = (fexecve_fn) ve_exec_real(REAL_FEXECVE);
        char *const *env;
        struct ptrs p;

        if (!fn) {
                errno = ENOSYS;
                return -1;
        }
        if (child_env(envp, &p, 0, &env) < 0) {
                errno = ENOMEM;
                return -1;
        }
        (void) fn(fd, argv, env);
        ptrs_done(&p);
        return -1;
}

/* Only where libc has execveat (glibc >= 2.34; musl has none), so that
 * the shim never exports a function the C library lacks. */
#if VE_HAVE_EXECVEAT
EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags) {
        execveat_fn fn = (execveat_fn) ve_exec_real(REAL_EXECVEAT);
        char *const *env;
        struct ptrs p;

        if (!fn) {
                errno = ENOSYS;
                return -1;
        }
        if (child_env(envp, &p, 0, &env) < 0) {
                errno = ENOMEM;
                return -1;
        }
        (void) fn(dirfd, path, argv, env, flags);
        ptrs_done(&p);
        return -1;
}
#endif

/* The execl variants: argv from the variadic list (arg, then up to the
 * NULL), in the same array as the child's environment; ap is read through
 * a pointer (C11 7.16). execle's envp follows the NULL. */
static int do_execl(enum real_fn f, const char *path, const char *arg, va_list *ap, bool has_envp) {
        execve_fn fn = (execve_fn) ve_exec_real(f);
        char *const *envp = environ, *const *env;
        struct ptrs p;
        size_t argc = 1;
        va_list count;

        va_copy(count, *ap);
        while (va_arg(count, char *) && argc < INT_MAX)
                argc++;
        if (has_envp && argc < INT_MAX)
                envp = va_arg(count, char **);
        va_end(count);
        if (argc >= INT_MAX) {
                errno = E2BIG;
                return -1;
        }
        if (!fn) {
                errno = ENOSYS;
                return -1;
        }
        if (child_env(envp, &p, argc + 1, &env) < 0) {
                errno = ENOMEM;
                return -1;
        }
        p.ptr[0] = (char *) arg;
        for (size_t i = 1; i <= argc; i++)
                p.ptr[i] = va_arg(*ap, char *);
        (void) fn(path, p.ptr, env);
        ptrs_done(&p);
        return -1;
}

EXPORT int execl(const char *path, const char *arg, ...) {
        va_list ap;
        int r;

        va_start(ap, arg);
        r = do_execl(REAL_EXECVE, path, arg, &ap, false);
        va_end(ap);
        return r;
}

EXPORT int execlp(const char *file, const char *arg, ...) {
        va_list ap;
        int r;

        va_start(ap, arg);
        r = do_execl(REAL_EXECVPE, file, arg, &ap, false);
        va_end(ap);
        return r;
}

EXPORT int execle(const char *path, const char *arg, ...) {
        va_list ap;
        int r;

        va_start(ap, arg);
        r = do_execl(REAL_EXECVE, path, arg, &ap, true);
        va_end(ap);
        return r;
}

int ve_exec_spawn(enum real_fn f, pid_t *pid, const char *path,
                  const posix_spawn_file_actions_t *actions, const posix_spawnattr_t *attr,
                  char *const argv[], char *const envp[]) {
        spawn_fn fn = (spawn_fn) ve_exec_real(f);
        char *const *env;
        struct ptrs p;
        int r;

        if (!fn)
                return ENOSYS;
        if (child_env(envp, &p, 0, &env) < 0)
                return ENOMEM;
        r = fn(pid, path, actions, attr, argv, env);
        ptrs_done(&p);
        return r;
}

EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *actions,
                       const posix_spawnattr_t *attr, char *const argv[], char *const envp[]) {
        return ve_exec_spawn(REAL_POSIX_SPAWN, pid, path, actions, attr, argv, envp);
}

EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *actions,
                        const posix_spawnattr_t *attr, char *const argv[], char *const envp[]) {
        return ve_exec_spawn(REAL_POSIX_SPAWNP, pid, file, actions, attr, argv, envp);
}

