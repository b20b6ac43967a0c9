/* SPDX-License-Identifier: MIT */
/* Starts a child through one member of the exec family, as an ordinary
 * program would; it knows nothing of vaultenv:
 *
 *   execprog [--stack KIB] MODE PIDFILE PROGRAM [ARG...]
 *
 * MODE: execve execv execvp execvpe execl execle execlp fexecve execveat
 * (replace this process), vfork (vfork + execve in the child), posix_spawn
 * posix_spawnp (spawn and wait), system popen (PROGRAM is a shell command
 * line, run with system(), or popen(.., "r") and copied to stdout; PIDFILE
 * is not written: the command line may write $$ itself). The explicit-environment variants pass
 * environ. execl* pass at most five ARGs. PIDFILE gets the pid of the
 * process that runs PROGRAM (this one, or the child). Exit status: the
 * child's for vfork and the spawns, 127 when an exec failed.
 * vfork-loop: vfork + execve PROGRAM 8 times, waiting for each; writes
 * "VmSize same" or "VmSize grew" (from the 2nd to the last) to PIDFILE.
 * --stack KIB: MODE runs in a thread created with a stack of KIB KiB
 * (pthread_attr_setstacksize), as a program with many threads has.
 * Built with -DVE_NO_EXECVEAT for a libc without execveat (musl): that mode
 * then fails (127). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const char *pidfile;

static void write_pid(pid_t pid) {
        FILE *f = fopen(pidfile, "w");

        if (!f || fprintf(f, "%d\n", (int) pid) < 0 || fclose(f) != 0) {
                perror(pidfile);
                exit(2);
        }
}

static long vm_size_kib(void) {
        FILE *f = fopen("/proc/self/status", "r");
        char line[256];
        long kib = -1;

        while (f && fgets(line, sizeof line, f))
                if (strncmp(line, "VmSize:", 7) == 0)
                        kib = atol(line + 7);
        if (f)
                fclose(f);
        return kib;
}

/* The child never returns from here: it execs or exits. */
static pid_t vfork_exec(const char *prog, char **args) {
        pid_t pid = vfork();

        if (pid == 0) {
                execve(prog, args, environ);
                _exit(127);
        }
        return pid;
}

static int vfork_loop(const char *prog, char **args) {
        long first = -1;
        FILE *f;

        for (int i = 0; i < 8; i++) {
                int status;
                pid_t pid = vfork_exec(prog, args);

                if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                        return 126;
                if (i == 1)
                        first = vm_size_kib();
        }
        f = fopen(pidfile, "w");
        if (!f || fprintf(f, "VmSize %s\n", vm_size_kib() == first ? "same" : "grew") < 0 || fclose(f) != 0)
                return 2;
        return 0;
}

static int wait_child(pid_t pid) {
        int status;

        write_pid(pid);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return 126;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 126;
}

static int run(int argc, char **argv) {
        const char *mode, *prog;
        char **args;
        char *a[5];
        pid_t pid;
        int r;

        mode = argv[1];
        pidfile = argv[2];
        prog = argv[3];
        args = argv + 3;
        for (int i = 0; i < 5; i++)
                a[i] = argc > 4 + i ? argv[4 + i] : NULL;
        if (strcmp(mode, "system") == 0) {
                r = system(prog);
                return r == -1 ? 126 : WIFEXITED(r) ? WEXITSTATUS(r) : 126;
        }
        if (strcmp(mode, "popen") == 0) {
                FILE *f = popen(prog, "r");
                char buf[256];

                if (!f) {
                        perror("popen");
                        return 127;
                }
                for (size_t n; (n = fread(buf, 1, sizeof buf, f)) > 0; )
                        if (fwrite(buf, 1, n, stdout) != n)
                                return 2;
                r = pclose(f);
                return r == -1 ? 126 : WIFEXITED(r) ? WEXITSTATUS(r) : 126;
        }
        if (strcmp(mode, "vfork-loop") == 0)
                return vfork_loop(prog, args);
        if (strcmp(mode, "vfork") != 0 && strncmp(mode, "posix_spawn", 11) != 0)
                write_pid(getpid());

        if (strcmp(mode, "execve") == 0)
                execve(prog, args, environ);
        else if (strcmp(mode, "execv") == 0)
                execv(prog, args);
        else if (strcmp(mode, "execvp") == 0)
                execvp(prog, args);
        else if (strcmp(mode, "execvpe") == 0)
                execvpe(prog, args, environ);
        else if (strcmp(mode, "execl") == 0)
                execl(prog, prog, a[0], a[1], a[2], a[3], a[4], (char *) NULL);
        else if (strcmp(mode, "execlp") == 0)
                execlp(prog, prog, a[0], a[1], a[2], a[3], a[4], (char *) NULL);
        else if (strcmp(mode, "execle") == 0)
                execle(prog, prog, a[0], a[1], a[2], a[3], a[4], (char *) NULL, environ);
        else if (strcmp(mode, "fexecve") == 0 || strcmp(mode, "execveat") == 0) {
                int fd = open(prog, O_RDONLY | O_CLOEXEC);

                if (fd < 0) {
                        perror(prog);
                        return 127;
                }
                if (mode[0] == 'f')
                        fexecve(fd, args, environ);
#ifndef VE_NO_EXECVEAT
                else
                        execveat(fd, "", args, environ, AT_EMPTY_PATH);
#endif
        } else if (strcmp(mode, "vfork") == 0) {
                pid = vfork_exec(prog, args);
                if (pid < 0)
                        return 126;
                return wait_child(pid);
        } else if (strcmp(mode, "posix_spawn") == 0 || strcmp(mode, "posix_spawnp") == 0) {
                if (strcmp(mode, "posix_spawn") == 0)
                        r = posix_spawn(&pid, prog, NULL, NULL, args, environ);
                else
                        r = posix_spawnp(&pid, prog, NULL, NULL, args, environ);
                if (r != 0) {
                        fprintf(stderr, "execprog: %s: %s\n", mode, strerror(r));
                        return 127;
                }
                return wait_child(pid);
        } else {
                fprintf(stderr, "execprog: unknown mode %s\n", mode);
                return 2;
        }
        fprintf(stderr, "execprog: %s %s: %s\n", mode, prog, strerror(errno));
        return 127;
}

struct run_args {
        int argc;
        char **argv;
        int status;
};

static void *run_thread(void *p) {
        struct run_args *ra = p;

        ra->status = run(ra->argc, ra->argv);
        return NULL;
}

int main(int argc, char **argv) {
        struct run_args ra;
        pthread_attr_t attr;
        pthread_t t;
        long kib = 0;
        int r;

        if (argc > 2 && strcmp(argv[1], "--stack") == 0) {
                kib = atol(argv[2]);
                argc -= 2;
                argv += 2;
        }
        if (argc < 4) {
                fprintf(stderr, "usage: execprog [--stack KIB] MODE PIDFILE PROGRAM [ARG...]\n");
                return 2;
        }
        if (kib <= 0)
                return run(argc, argv);
        ra = (struct run_args) { argc, argv, 2 };
        if ((r = pthread_attr_init(&attr)) != 0 || (r = pthread_attr_setstacksize(&attr, (size_t) kib * 1024)) != 0 ||
            (r = pthread_create(&t, &attr, run_thread, &ra)) != 0) {
                fprintf(stderr, "execprog: a thread with a %ld KiB stack: %s\n", kib, strerror(r));
                return 2;
        }
        pthread_join(t, NULL);
        return ra.status;
}
