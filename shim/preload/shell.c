/* SPDX-License-Identifier: MIT */
/* The shell starters, system() and popen()/pclose(), interposed for the
 * same reason as the exec family (exec.c): when the eager constructor
 * placed values in the environment, the shell they start must not see
 * them. They start it through the posix_spawn wrapper. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec.h"
#include "libc-config.h"

#define EXPORT __attribute__((visibility("default")))

extern char **environ;

/* The shell's argv for LINE as this libc's system() and popen() build it,
 * and the status system() returns when the shell cannot be started
 * (libc-config.h: VE_SHELL_GLIBC). */
#if VE_SHELL_GLIBC
#define SHELL_ARGV(line) { (char *) "sh", (char *) "-c", (char *) "--", (char *) (line), NULL }
#define SYSTEM_NO_SHELL (127 << 8)
#else
#define SHELL_ARGV(line) { (char *) "sh", (char *) "-c", (char *) (line), NULL }
#define SYSTEM_NO_SHELL (-1)
#endif

/* system(): glibc's and musl's start /bin/sh through their internal
 * posix_spawn with environ, which no preloaded object can wrap. So when
 * values were injected, this is glibc's do_system() (2.36) over the
 * posix_spawn wrapper above: SIGINT and SIGQUIT ignored while a child runs
 * (reference-counted across threads, as glibc does), SIGCHLD blocked, the
 * child with the caller's signal mask and those two reset to default, the
 * shell's argv and the status when it cannot be started as libc's
 * (SHELL_ARGV); a cancelled caller kills and reaps its child. Without
 * injected values: libc's own system(). */
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
        char *argv[] = SHELL_ARGV(line);
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
                r = ve_exec_spawn(REAL_POSIX_SPAWN, &pid, "/bin/sh", NULL, &attr, argv, environ);
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
                /* as libc's: glibc's as if the shell had terminated with
                 * _exit(127), musl's -1 */
                status = SYSTEM_NO_SHELL;

        system_release();
        (void) sigprocmask(SIG_SETMASK, &omask, NULL);
        if (r != 0)
                errno = r;
        return status;
}

typedef int (*system_fn)(const char *);

EXPORT int system(const char *line) {
        system_fn fn;

        if (ve_exec_n_injected > 0)
                return line ? do_system(line) : !VE_SHELL_GLIBC || do_system("exit 0") == 0;
        fn = (system_fn) ve_exec_real(REAL_SYSTEM);
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
 * glibc and musl take it. pclose() knows these streams (a list under a
 * lock) and waits for their shell; any other stream goes to libc's. */
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
        char *argv[] = SHELL_ARGV(command);
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
        if (pipe2(fds, O_CLOEXEC) < 0) {
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
                /* dup2 onto itself clears close-on-exec (glibc >= 2.29,
                 * musl 1.2.3) */
                if (r == 0)
                        r = posix_spawn_file_actions_adddup2(&fa, theirs, rd ? STDOUT_FILENO : STDIN_FILENO);
                if (r == 0)
                        r = ve_exec_spawn(REAL_POSIX_SPAWN, &c->pid, "/bin/sh", &fa, NULL, argv, environ);
                (void) posix_spawn_file_actions_destroy(&fa);
        }
        (void) close(theirs);
        if (r == 0 && !cloexec && fcntl(mine, F_SETFD, 0) < 0)
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

        if (ve_exec_n_injected > 0)
                return do_popen(command, mode);
        fn = (popen_fn) ve_exec_real(REAL_POPEN);
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
                fn = (pclose_fn) ve_exec_real(REAL_PCLOSE);
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

void ve_shell_atfork_prepare(void) {
        pthread_mutex_lock(&system_lock);
        pthread_mutex_lock(&popen_lock);
}

void ve_shell_atfork_parent(void) {
        pthread_mutex_unlock(&popen_lock);
        pthread_mutex_unlock(&system_lock);
}

void ve_shell_atfork_child(void) {
        pthread_mutex_unlock(&popen_lock);
        pthread_mutex_unlock(&system_lock);
}
