/* SPDX-License-Identifier: MIT */
/* Exec hygiene: the exec family, posix_spawn, system and popen, interposed
 * so that the values the eager constructor placed in the environment
 * (shim.c) do not reach a child's environment block, where
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
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "eager.h"
#include "exec.h"

#define EXPORT __attribute__((visibility("default")))

extern char **environ;

static const struct ve_eager_var *injected;
static size_t n_injected;

enum real_fn {
        REAL_EXECVE,
        REAL_EXECVPE,
        REAL_FEXECVE,
        REAL_EXECVEAT,
        REAL_POSIX_SPAWN,
        REAL_POSIX_SPAWNP,
        REAL_SYSTEM,
        REAL_POPEN,
        REAL_PCLOSE,
        _REAL_MAX,
};

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
static void *real(enum real_fn f) {
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
        n_injected = n_vars;
        if (n_vars > 0)
                for (int f = 0; f < _REAL_MAX; f++)
                        (void) real(f);
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
        size_t n = n_injected > 0 ? ve_eager_env_count(envp) + 1 : 0;

        if (n > SIZE_MAX - extra || ptrs_get(p, extra + n) < 0)
                return -ENOMEM;
        if (n_injected > 0 && ve_eager_strip(envp, injected, n_injected, p->ptr + extra))
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
        execve_fn fn = (execve_fn) real(f);
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
        fexecve_fn fn = (fexecve_fn) real(REAL_FEXECVE);
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

EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags) {
        execveat_fn fn = (execveat_fn) real(REAL_EXECVEAT);
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

/* The execl variants: argv from the variadic list (arg, then up to the
 * NULL), in the same array as the child's environment; ap is read through
 * a pointer (C11 7.16). execle's envp follows the NULL. */
static int do_execl(enum real_fn f, const char *path, const char *arg, va_list *ap, bool has_envp) {
        execve_fn fn = (execve_fn) real(f);
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

static int do_spawn(enum real_fn f, pid_t *pid, const char *path,
                    const posix_spawn_file_actions_t *actions, const posix_spawnattr_t *attr,
                    char *const argv[], char *const envp[]) {
        spawn_fn fn = (spawn_fn) real(f);
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
        return do_spawn(REAL_POSIX_SPAWN, pid, path, actions, attr, argv, envp);
}

EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *actions,
                        const posix_spawnattr_t *attr, char *const argv[], char *const envp[]) {
        return do_spawn(REAL_POSIX_SPAWNP, pid, file, actions, attr, argv, envp);
}

/* system(): glibc's starts /bin/sh through its internal posix_spawn with
 * environ, which no preloaded object can wrap. So when values were
 * injected, this is glibc's do_system() (2.36) over the posix_spawn wrapper
 * above: SIGINT and SIGQUIT ignored while a child runs (reference-counted
 * across threads, as glibc does), SIGCHLD blocked, the child with the
 * caller's signal mask and those two reset to default, "sh -c -- LINE",
 * status 127 when the shell cannot be started; a cancelled caller kills and
 * reaps its child. Without injected values: libc's own system(). */
static pthread_mutex_t system_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned system_refs;
static struct sigaction system_intr, system_quit;

struct system_cancel {
        pid_t pid;
        sigset_t *omask;
};

static void system_release(void) {
        pthread_mutex_lock(&system_lock);
        if (--system_refs == 0) {
                (void) sigaction(SIGQUIT, &system_quit, NULL);
                (void) sigaction(SIGINT, &system_intr, NULL);
        }
        pthread_mutex_unlock(&system_lock);
}

static void system_cancelled(void *p) {
        struct system_cancel *c = p;
        int status;

        (void) kill(c->pid, SIGKILL);
        while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
                ;
        system_release();
        (void) sigprocmask(SIG_SETMASK, c->omask, NULL);
}

static int do_system(const char *line) {
        struct sigaction ign = { .sa_handler = SIG_IGN };
        sigset_t omask, reset, chld;
        posix_spawnattr_t attr;
        char *argv[] = { (char *) "sh", (char *) "-c", (char *) "--", (char *) line, NULL };
        pid_t pid = 0;
        int r, status;

        sigemptyset(&ign.sa_mask);
        pthread_mutex_lock(&system_lock);
        if (system_refs++ == 0) {
                (void) sigaction(SIGINT, &ign, &system_intr);
                (void) sigaction(SIGQUIT, &ign, &system_quit);
        }
        pthread_mutex_unlock(&system_lock);

        sigemptyset(&chld);
        sigaddset(&chld, SIGCHLD);
        (void) sigprocmask(SIG_BLOCK, &chld, &omask);

        sigemptyset(&reset);
        if (system_intr.sa_handler != SIG_IGN)
                sigaddset(&reset, SIGINT);
        if (system_quit.sa_handler != SIG_IGN)
                sigaddset(&reset, SIGQUIT);
        r = posix_spawnattr_init(&attr);
        if (r == 0) {
                (void) posix_spawnattr_setsigmask(&attr, &omask);
                (void) posix_spawnattr_setsigdefault(&attr, &reset);
                (void) posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
                r = do_spawn(REAL_POSIX_SPAWN, &pid, "/bin/sh", NULL, &attr, argv, environ);
                (void) posix_spawnattr_destroy(&attr);
        }
        if (r == 0) {
                struct system_cancel c = { .pid = pid, .omask = &omask };

                pthread_cleanup_push(system_cancelled, &c);
                while (waitpid(pid, &status, 0) < 0)
                        if (errno != EINTR) {
                                status = -1;
                                break;
                        }
                pthread_cleanup_pop(0);
        } else
                /* POSIX: as if the shell had terminated with _exit(127) */
                status = 127 << 8;

        system_release();
        (void) sigprocmask(SIG_SETMASK, &omask, NULL);
        if (r != 0)
                errno = r;
        return status;
}

typedef int (*system_fn)(const char *);

EXPORT int system(const char *line) {
        system_fn fn;

        if (n_injected > 0)
                return line ? do_system(line) : do_system("exit 0") == 0;
        fn = (system_fn) real(REAL_SYSTEM);
        if (!fn) {
                errno = ENOSYS;
                return -1;
        }
        return fn(line);
}

/* popen() and pclose(): glibc's popen starts its shell like system(), so
 * when values were injected popen is done here: a pipe, "sh -c -- COMMAND"
 * through the posix_spawn wrapper with the pipe's end as its stdin or
 * stdout, and in the child the streams of earlier popen() calls closed (as
 * POSIX asks). Mode "r" or "w", plus "e" for a close-on-exec stream, as
 * glibc takes it. pclose() knows these streams (a list under a lock) and
 * waits for their shell; any other stream goes to libc's pclose(). */
struct popen_child {
        struct popen_child *next;
        FILE *f;
        pid_t pid;
};

static pthread_mutex_t popen_lock = PTHREAD_MUTEX_INITIALIZER;
static struct popen_child *popen_children;

typedef FILE *(*popen_fn)(const char *, const char *);
typedef int (*pclose_fn)(FILE *);

static FILE *do_popen(const char *command, const char *mode) {
        bool rd = false, wr = false, cloexec = false, bad = false;
        posix_spawn_file_actions_t fa;
        struct popen_child *c;
        char *argv[] = { (char *) "sh", (char *) "-c", (char *) "--", (char *) command, NULL };
        int fds[2], mine, theirs, r;
        FILE *f = NULL;

        for (const char *m = mode; *m; m++) {
                if (*m == 'r')
                        rd = true;
                else if (*m == 'w')
                        wr = true;
                else if (*m == 'e')
                        cloexec = true;
                else
                        bad = true;
        }
        if (bad || rd == wr) {
                errno = EINVAL;
                return NULL;
        }
        c = calloc(1, sizeof *c);
        if (!c)
                return NULL;
        /* pipe2() and fcntl() through syscall(): each would add a libc
         * symbol version (GLIBC_2.9, GLIBC_2.28) that the dynamic loader
         * checks at the start of every process that preloads the shim. */
        if (syscall(SYS_pipe2, fds, O_CLOEXEC) < 0) {
                free(c);
                return NULL;
        }
        mine = rd ? fds[0] : fds[1];
        theirs = rd ? fds[1] : fds[0];

        pthread_mutex_lock(&popen_lock);
        r = posix_spawn_file_actions_init(&fa);
        if (r == 0) {
                for (struct popen_child *o = popen_children; o && r == 0; o = o->next)
                        r = posix_spawn_file_actions_addclose(&fa, fileno(o->f));
                /* dup2 onto itself clears close-on-exec (glibc >= 2.29) */
                if (r == 0)
                        r = posix_spawn_file_actions_adddup2(&fa, theirs, rd ? STDOUT_FILENO : STDIN_FILENO);
                if (r == 0)
                        r = do_spawn(REAL_POSIX_SPAWN, &c->pid, "/bin/sh", &fa, NULL, argv, environ);
                (void) posix_spawn_file_actions_destroy(&fa);
        }
        (void) close(theirs);
        if (r == 0 && !cloexec && syscall(SYS_fcntl, mine, F_SETFD, 0) < 0)
                r = errno;
        if (r == 0) {
                f = fdopen(mine, rd ? "r" : "w");
                if (!f)
                        r = errno;
        }
        if (r != 0) {
                pthread_mutex_unlock(&popen_lock);
                if (c->pid > 0)
                        while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
                                ;
                (void) close(mine);
                free(c);
                errno = r;
                return NULL;
        }
        c->f = f;
        c->next = popen_children;
        popen_children = c;
        pthread_mutex_unlock(&popen_lock);
        return f;
}

EXPORT FILE *popen(const char *command, const char *mode) {
        popen_fn fn;

        if (n_injected > 0)
                return do_popen(command, mode);
        fn = (popen_fn) real(REAL_POPEN);
        if (!fn) {
                errno = ENOSYS;
                return NULL;
        }
        return fn(command, mode);
}

EXPORT int pclose(FILE *f) {
        struct popen_child **p, *c = NULL;
        pclose_fn fn;
        int status;

        pthread_mutex_lock(&popen_lock);
        for (p = &popen_children; *p; p = &(*p)->next)
                if ((*p)->f == f) {
                        c = *p;
                        *p = c->next;
                        break;
                }
        pthread_mutex_unlock(&popen_lock);
        if (!c) {
                fn = (pclose_fn) real(REAL_PCLOSE);
                if (!fn) {
                        errno = ENOSYS;
                        return -1;
                }
                return fn(f);
        }
        (void) fclose(f);
        while (waitpid(c->pid, &status, 0) < 0)
                if (errno != EINTR) {
                        status = -1;
                        break;
                }
        free(c);
        return status;
}

void ve_exec_atfork_prepare(void) {
        pthread_mutex_lock(&system_lock);
        pthread_mutex_lock(&popen_lock);
}

void ve_exec_atfork_parent(void) {
        pthread_mutex_unlock(&popen_lock);
        pthread_mutex_unlock(&system_lock);
}

void ve_exec_atfork_child(void) {
        pthread_mutex_unlock(&popen_lock);
        pthread_mutex_unlock(&system_lock);
}
