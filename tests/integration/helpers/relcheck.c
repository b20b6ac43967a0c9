/* SPDX-License-Identifier: MIT */
/* librelcheck.so, for rel-concurrency.sh: preloaded BEFORE the shim, it
 * turns the mutexes that vaultenv's code (libvaultenv.so and its core)
 * locks into error-checking ones, and watches that no such mutex is held
 * across network I/O:
 *   - pthread_mutex_lock/trylock/unlock called from code in an object whose
 *     path contains "libvaultenv" are tracked per thread;
 *   - locking one again on the thread that holds it (which would hang with
 *     a default mutex) writes "relock" and aborts the process;
 *   - connect/send/recv/sendto/recvfrom/sendmsg/recvmsg/poll/ppoll/select,
 *     and read/write on a socket, while such a mutex is held write
 *     "io-under-lock FUNCTION".
 * Lines go to the file REL_CHECK_OUT (appended); at exit "locks N" says how
 * many vaultenv locks were seen (so a test knows the check was active). */

#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_HELD 32

static __thread pthread_mutex_t *held[MAX_HELD] __attribute__((tls_model("initial-exec")));
static __thread const void *held_by[MAX_HELD] __attribute__((tls_model("initial-exec")));
static __thread int n_held __attribute__((tls_model("initial-exec")));
static atomic_ulong n_locks;
static char out_path[4096];

static int (*real_lock)(pthread_mutex_t *);
static int (*real_trylock)(pthread_mutex_t *);
static int (*real_unlock)(pthread_mutex_t *);

#define REAL(f) ({ \
        static __typeof__(&f) real_; \
        if (!real_) \
                real_ = (__typeof__(&f)) dlsym(RTLD_NEXT, #f); \
        real_; })

static void report(const char *what, const char *fn) {
        char line[256];
        int fd, n;

        n = snprintf(line, sizeof line, "%s %s\n", what, fn);
        if (!out_path[0] || n <= 0)
                return;
        fd = open(out_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
                return;
        if (write(fd, line, (size_t) n) < 0) {
                /* nothing to do */
        }
        close(fd);
}

static void resolve(void) {
        if (!real_lock) {
                real_trylock = REAL(pthread_mutex_trylock);
                real_unlock = REAL(pthread_mutex_unlock);
                real_lock = REAL(pthread_mutex_lock);
        }
}

__attribute__((constructor))
static void relcheck_start(void) {
        /* read before the shim is involved: environ directly */
        extern char **environ;

        resolve();
        for (char **e = environ; e && *e; e++)
                if (strncmp(*e, "REL_CHECK_OUT=", 14) == 0 && strlen(*e + 14) < sizeof out_path)
                        strcpy(out_path, *e + 14);
}

__attribute__((destructor))
static void relcheck_end(void) {
        char n[64];

        snprintf(n, sizeof n, "%lu", atomic_load(&n_locks));
        report("locks", n);
}

static bool from_vaultenv(const void *caller) {
        Dl_info info;

        return dladdr(caller, &info) && info.dli_fname && strstr(info.dli_fname, "libvaultenv");
}

static bool is_held(pthread_mutex_t *m) {
        for (int i = 0; i < n_held; i++)
                if (held[i] == m)
                        return true;
        return false;
}

static void note_locked(pthread_mutex_t *m, const void *caller) {
        atomic_fetch_add(&n_locks, 1);
        if (n_held < MAX_HELD) {
                held_by[n_held] = caller;
                held[n_held++] = m;
        }
}

int pthread_mutex_lock(pthread_mutex_t *m) {
        bool ours = from_vaultenv(__builtin_return_address(0));
        int r;

        resolve();
        if (ours && is_held(m)) {
                report("relock", "pthread_mutex_lock");
                abort();
        }
        r = real_lock(m);
        if (r == 0 && ours)
                note_locked(m, __builtin_return_address(0));
        return r;
}

int pthread_mutex_trylock(pthread_mutex_t *m) {
        bool ours = from_vaultenv(__builtin_return_address(0));
        int r;

        resolve();
        r = real_trylock(m);
        if (r == 0 && ours)
                note_locked(m, __builtin_return_address(0));
        return r;
}

int pthread_mutex_unlock(pthread_mutex_t *m) {
        resolve();
        for (int i = n_held - 1; i >= 0; i--)
                if (held[i] == m) {
                        held_by[i] = held_by[n_held - 1];
                        held[i] = held[--n_held];
                        break;
                }
        return real_unlock(m);
}

/* Says where the innermost held mutex was locked (object+offset, for
 * addr2line), for whoever reads the test log. */
static void check_io(const char *fn) {
        char what[256];
        Dl_info info;

        if (n_held == 0)
                return;
        if (dladdr(held_by[n_held - 1], &info) && info.dli_fname)
                snprintf(what, sizeof what, "%s (locked at %s+%#lx%s%s)", fn, info.dli_fname,
                         (unsigned long) ((const char *) held_by[n_held - 1] - (const char *) info.dli_fbase),
                         info.dli_sname ? ", in " : "", info.dli_sname ? info.dli_sname : "");
        else
                snprintf(what, sizeof what, "%s", fn);
        report("io-under-lock", what);
}

static bool is_socket(int fd) {
        struct stat st;

        return n_held > 0 && fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

int connect(int fd, const struct sockaddr *a, socklen_t l) {
        check_io("connect");
        return REAL(connect)(fd, a, l);
}
ssize_t send(int fd, const void *b, size_t n, int f) {
        check_io("send");
        return REAL(send)(fd, b, n, f);
}
ssize_t recv(int fd, void *b, size_t n, int f) {
        check_io("recv");
        return REAL(recv)(fd, b, n, f);
}
ssize_t sendto(int fd, const void *b, size_t n, int f, const struct sockaddr *a, socklen_t l) {
        check_io("sendto");
        return REAL(sendto)(fd, b, n, f, a, l);
}
ssize_t recvfrom(int fd, void *b, size_t n, int f, struct sockaddr *a, socklen_t *l) {
        check_io("recvfrom");
        return REAL(recvfrom)(fd, b, n, f, a, l);
}
ssize_t sendmsg(int fd, const struct msghdr *m, int f) {
        check_io("sendmsg");
        return REAL(sendmsg)(fd, m, f);
}
ssize_t recvmsg(int fd, struct msghdr *m, int f) {
        check_io("recvmsg");
        return REAL(recvmsg)(fd, m, f);
}
int poll(struct pollfd *p, nfds_t n, int t) {
        check_io("poll");
        return REAL(poll)(p, n, t);
}
int ppoll(struct pollfd *p, nfds_t n, const struct timespec *t, const sigset_t *s) {
        check_io("ppoll");
        return REAL(ppoll)(p, n, t, s);
}
int select(int n, fd_set *r, fd_set *w, fd_set *e, struct timeval *t) {
        check_io("select");
        return REAL(select)(n, r, w, e, t);
}
ssize_t read(int fd, void *b, size_t n) {
        if (is_socket(fd))
                check_io("read");
        return REAL(read)(fd, b, n);
}
ssize_t write(int fd, const void *b, size_t n) {
        if (is_socket(fd))
                check_io("write");
        return REAL(write)(fd, b, n);
}
