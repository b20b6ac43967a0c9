/* SPDX-License-Identifier: MIT */
/* libforkhold.so, for fork-locks.sh: preloaded after the shim, it widens a
 * locked section of the shim or the core so that a test can fork() while
 * another thread is inside it. It wraps mlock() (the secure-memory arena
 * calls it under its lock when it grows), posix_spawn() (popen() under its
 * lock), sigaction() for SIGINT (system() under its lock) and open64() of
 * a path that contains "forkhold" (a NAME_FILE fallback, read under the
 * entry's fallback lock). Until
 * forkhold_arm(FUNC, MS) nothing changes; then each call of FUNC counts
 * itself (forkhold_entered()) and sleeps MS milliseconds before doing its
 * work. forkprog looks these two up with dlsym(). */
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static char held[32];
static atomic_int hold_ms;
static atomic_int entered;

int forkhold_arm(const char *fn, int ms);
int forkhold_entered(void);

int forkhold_arm(const char *fn, int ms) {
        if (strlen(fn) >= sizeof held)
                return -1;
        strcpy(held, fn);
        atomic_store(&entered, 0);
        atomic_store(&hold_ms, ms);
        return 0;
}

int forkhold_entered(void) {
        return atomic_load(&entered);
}

static void hold(const char *fn) {
        int ms = atomic_load(&hold_ms);
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000L };

        if (ms <= 0 || strcmp(fn, held) != 0)
                return;
        atomic_fetch_add(&entered, 1);
        while (nanosleep(&ts, &ts) < 0)
                ;
}

int mlock(const void *addr, size_t len) {
        hold("mlock");
        return (int) syscall(SYS_mlock, addr, len);
}

typedef int (*spawn_fn)(pid_t *, const char *, const posix_spawn_file_actions_t *, const posix_spawnattr_t *,
                        char *const[], char *const[]);

int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *attr,
                char *const argv[], char *const envp[]) {
        spawn_fn real = (spawn_fn) dlsym(RTLD_NEXT, "posix_spawn");

        hold("posix_spawn");
        return real(pid, path, fa, attr, argv, envp);
}

typedef int (*sigaction_fn)(int, const struct sigaction *, struct sigaction *);

int sigaction(int sig, const struct sigaction *act, struct sigaction *old) {
        sigaction_fn real = (sigaction_fn) dlsym(RTLD_NEXT, "sigaction");

        if (sig == SIGINT)
                hold("sigaction");
        return real(sig, act, old);
}

int open64(const char *path, int flags, ...) {
        mode_t mode = 0;
        va_list ap;

        if (flags & (O_CREAT | __O_TMPFILE)) {
                va_start(ap, flags);
                mode = (mode_t) va_arg(ap, int);
                va_end(ap);
        }
        if (strstr(path, "forkhold"))
                hold("open64");
        return (int) syscall(SYS_openat, AT_FDCWD, path, flags | O_LARGEFILE, mode);
}
