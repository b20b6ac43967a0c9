/* SPDX-License-Identifier: MIT */
/* fork() while another thread is inside a locked section, for
 * fork-locks.sh. It knows nothing of vaultenv; it runs with libforkhold.so
 * preloaded (after the shim), which holds a call made in that section:
 *
 *   forkprog OUTFILE FUNC N FIRST NAME ACTION
 *
 * Reads FIRST (getenv), arms libforkhold on FUNC (each call sleeps 500 ms),
 * then a thread does ACTION: "getenv" (reads NAME), "popen" or "system"
 * (a shell that exits 0). Once N calls of FUNC were entered (or after 20 s
 * without), the main thread forks. The child, its calls no longer held,
 * reads NAME, runs popen() and system(), and writes to OUTFILE (never to
 * stdout/stderr, never the value) "getenv set" (or "getenv unset"),
 * "popen ok", "system ok" (or "... failed"); an alarm ends it after 20 s.
 * The parent then adds "entered" (or "not entered": the fork happened
 * outside the section) and "child exited 0", or "child hung" when the
 * alarm ended it. */
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef int (*arm_fn)(const char *, int);
typedef int (*entered_fn)(void);

static const char *name, *action;

static void *worker(void *unused) {
        FILE *f;

        if (strcmp(action, "getenv") == 0)
                (void) getenv(name);
        else if (strcmp(action, "popen") == 0) {
                f = popen("exit 0", "r");
                if (f)
                        (void) pclose(f);
        } else
                (void) system("exit 0");
        return NULL;
}

static void say(int fd, const char *line) {
        size_t n = strlen(line);

        if (write(fd, line, n) != (ssize_t) n || write(fd, "\n", 1) != 1)
                _exit(3);
}

static void child(int fd, arm_fn arm) {
        char buf[64];
        FILE *f;
        int status;

        alarm(20);
        arm("", 0);
        say(fd, getenv(name) ? "getenv set" : "getenv unset");
        f = popen("echo popen-ok", "r");
        say(fd, f && fgets(buf, sizeof buf, f) && strcmp(buf, "popen-ok\n") == 0 ? "popen ok" : "popen failed");
        if (f)
                (void) pclose(f);
        status = system("exit 3");
        say(fd, WIFEXITED(status) && WEXITSTATUS(status) == 3 ? "system ok" : "system failed");
        _exit(0);
}

int main(int argc, char **argv) {
        struct timespec tick = { .tv_nsec = 1000000 };
        arm_fn arm = (arm_fn) dlsym(RTLD_DEFAULT, "forkhold_arm");
        entered_fn entered = (entered_fn) dlsym(RTLD_DEFAULT, "forkhold_entered");
        pthread_t t;
        int fd, n, status, got = 0;
        pid_t pid;

        if (argc != 7 || !arm || !entered) {
                fprintf(stderr, "usage: forkprog OUTFILE FUNC N FIRST NAME ACTION (with libforkhold.so)\n");
                return 2;
        }
        n = atoi(argv[3]);
        name = argv[5];
        action = argv[6];
        fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
        if (fd < 0)
                return 2;
        (void) getenv(argv[4]);
        if (arm(argv[2], 500) < 0 || pthread_create(&t, NULL, worker, NULL) != 0)
                return 2;
        for (int i = 0; i < 20000 && !(got = entered() >= n); i++)
                nanosleep(&tick, NULL);
        pid = fork();
        if (pid < 0)
                return 2;
        if (pid == 0)
                child(fd, arm);
        while (waitpid(pid, &status, 0) < 0)
                ;
        arm("", 0);
        pthread_join(t, NULL);
        say(fd, got ? "entered" : "not entered");
        say(fd, WIFEXITED(status) ? (WEXITSTATUS(status) == 0 ? "child exited 0" : "child failed") :
                WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM ? "child hung" : "child killed");
        close(fd);
        return 0;
}
