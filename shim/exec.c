/* SPDX-License-Identifier: MIT */
/* Exec hygiene: the exec family, posix_spawn, system and popen, interposed
 * so that the values the eager constructor placed in the environment
 * (shim.c) do not reach a child's environment block, where
 * /proc/PID/environ would show them. The child keeps LD_PRELOAD and the
 * mapping and resolves for itself; names marked inherit are passed on
 * (lib/eager.h).
 *
 * A process without injected values pays one dlsym() per function on its
 * first use, then nothing: the call goes straight to libc.
 *
 * Async-signal safety: after vfork() the child shares the parent's memory,
 * so an exec wrapper allocates nothing (system and popen, not
 * async-signal-safe in libc either, may): the stripped environment (and
 * the argv of the execl variants) is built on the stack (alloca, as
 * glibc's execl does), or, beyond STACK_ENV_MAX entries, in an anonymous
 * mapping. The real functions are looked up when the eager constructor
 * records what it injected (before main), so then the wrappers do not call
 * into the loader in a vfork() child; otherwise they are looked up on
 * first use, without a lock (a race only repeats an idempotent dlsym()).
 * The injected list is written once before main and only read afterwards. */
#include <alloca.h>
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
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "eager.h"
#include "exec.h"

#define EXPORT __attribute__((visibility("default")))

/* Beyond this many entries the stripped copy goes to an mmap()ed buffer
 * rather than the stack (512 KiB of pointers). */
#define STACK_ENV_MAX 65536

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

/* A buffer for the stripped environment, in the caller's frame. */
struct env_buf {
        char **ptr;
        size_t mapped;          /* bytes mmap()ed, 0: on the stack or none */
};

#define ENV_BUF_SIZE(n) (((n) + 1) * sizeof(char *))

/* Declares `struct env_buf NAME` for envp: on the stack when there is
 * anything to strip and it fits, else in an anonymous mapping (see
 * env_buf_big). A macro because alloca() belongs to the caller's frame. */
#define ENV_BUF(name, envp)                                                     \
        struct env_buf name = { NULL, 0 };                                      \
        do {                                                                    \
                size_t n_ = n_injected > 0 ? ve_eager_env_count(envp) : 0;      \
                if (n_injected > 0 && n_ < STACK_ENV_MAX)                       \
                        name.ptr = alloca(ENV_BUF_SIZE(n_));                    \
                else if (n_injected > 0)                                        \
                        env_buf_big(&name, n_);                                 \
        } while (0)

static void env_buf_big(struct env_buf *b, size_t n) {
        void *p = mmap(NULL, ENV_BUF_SIZE(n), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

        if (p == MAP_FAILED)
                return;
        b->ptr = p;
        b->mapped = ENV_BUF_SIZE(n);
}

/* Only reached when the exec failed (or a spawn returned): errno kept. */
static void env_buf_done(struct env_buf *b) {
        int saved = errno;

        if (b->mapped)
                (void) munmap(b->ptr, b->mapped);
        errno = saved;
}

/* The environment the child gets; NULL with errno ENOMEM when there is
 * something to strip and no buffer for it (the exec is refused rather
 * than leaking the values). */
static char *const *child_env(char *const *envp, struct env_buf *b) {
        if (n_injected == 0)
                return envp;
        if (!b->ptr) {
                errno = ENOMEM;
                return NULL;
        }
        return ve_eager_strip(envp, injected, n_injected, b->ptr) ? b->ptr : envp;
}

typedef int (*execve_fn)(const char *, char *const[], char *const[]);
typedef int (*fexecve_fn)(int, char *const[], char *const[]);
typedef int (*execveat_fn)(int, const char *, char *const[], char *const[], int);
typedef int (*spawn_fn)(pid_t *, const char *, const posix_spawn_file_actions_t *,
                        const posix_spawnattr_t *, char *const[], char *const[]);

static int do_execve(enum real_fn f, const char *path, char *const argv[], char *const envp[]) {
        execve_fn fn = (execve_fn) real(f);
        char *const *env;
        ENV_BUF(b, envp);

        if (!fn) {
                errno = ENOSYS;
                return -1;
        }
        env = child_env(envp, &b);
        if (n_injected > 0 && !env)
                return -1;
        (void) fn(path, argv, (char *const *) env);
        env_buf_done(&b);
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
        ENV_BUF(b, envp);

        if (!fn) {
                errno = ENOSYS;
                return -1;
        }
        env = child_env(envp, &b);
        if (n_injected > 0 && !env)
                return -1;
        (void) fn(fd, argv, env);
        env_buf_done(&b);
        return -1;
}

EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags) {
        execveat_fn fn = (execveat_fn) real(REAL_EXECVEAT);
        char *const *env;
        ENV_BUF(b, envp);

        if (!fn) {
                errno = ENOSYS;
                return -1;
        }
        env = child_env(envp, &b);
        if (n_injected > 0 && !env)
                return -1;
        (void) fn(dirfd, path, argv, env, flags);
        env_buf_done(&b);
        return -1;
}

/* The execl variants: argv from the variadic list, on the stack, as glibc
 * builds it. ARGV_FROM_VA leaves the va_list after the terminating NULL
 * (execle's envp follows it). */
#define ARGV_FROM_VA(argv, arg, count_ap, fill_ap)                              \
        do {                                                                    \
                size_t argc_ = 1;                                               \
                while (va_arg(count_ap, char *) && argc_ < INT_MAX)            \
                        argc_++;                                                \
                va_end(count_ap);                                               \
                if (argc_ >= INT_MAX) {                                         \
                        va_end(fill_ap);                                        \
                        errno = E2BIG;                                          \
                        return -1;                                              \
                }                                                               \
                argv = alloca((argc_ + 1) * sizeof(char *));                    \
                argv[0] = (char *) (arg);                                       \
                for (size_t i_ = 1; i_ <= argc_; i_++)                          \
                        argv[i_] = va_arg(fill_ap, char *);                     \
        } while (0)

EXPORT int execl(const char *path, const char *arg, ...) {
        va_list ap, count;
        char **argv;

        va_start(ap, arg);
        va_copy(count, ap);
        ARGV_FROM_VA(argv, arg, count, ap);
        va_end(ap);
        return do_execve(REAL_EXECVE, path, argv, environ);
}

EXPORT int execlp(const char *file, const char *arg, ...) {
        va_list ap, count;
        char **argv;

        va_start(ap, arg);
        va_copy(count, ap);
        ARGV_FROM_VA(argv, arg, count, ap);
        va_end(ap);
        return do_execve(REAL_EXECVPE, file, argv, environ);
}

EXPORT int execle(const char *path, const char *arg, ...) {
        va_list ap, count;
        char **argv, **envp;

        va_start(ap, arg);
        va_copy(count, ap);
        ARGV_FROM_VA(argv, arg, count, ap);
        envp = va_arg(ap, char **);
        va_end(ap);
        return do_execve(REAL_EXECVE, path, argv, envp);
}

static int do_spawn(enum real_fn f, pid_t *pid, const char *path,
                    const posix_spawn_file_actions_t *actions, const posix_spawnattr_t *attr,
                    char *const argv[], char *const envp[]) {
        spawn_fn fn = (spawn_fn) real(f);
        char *const *env;
        int r;
        ENV_BUF(b, envp);

        if (!fn)
                return ENOSYS;
        env = child_env(envp, &b);
        if (n_injected > 0 && !env)
                return ENOMEM;
        r = fn(pid, path, actions, attr, argv, env);
        env_buf_done(&b);
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
