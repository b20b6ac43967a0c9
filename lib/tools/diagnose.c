/* SPDX-License-Identifier: MIT */
#include "diagnose.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exe.h"
#include "util.h"

/* Linux reads this much of a file for its "#!" line (BINPRM_BUF_SIZE) and
 * follows at most this many interpreters. */
#define HEAD_SIZE 256
#define MAX_DEPTH 4

const char *ve_run_mode_word(enum ve_run_mode mode) {
        switch (mode) {
        case VE_RUN_EAGER:
                return "--eager";
        case VE_RUN_ENV:
                return "--env";
        default:
                return "lazy";
        }
}

static const struct runtime {
        const char *name;
        enum ve_run_mode mode;
        const char *why;
} runtimes[] = {
        { "python", VE_RUN_EAGER, "Python copies the environment into os.environ at start; os.getenv reads that copy" },
        { "pypy", VE_RUN_EAGER, "Python copies the environment into os.environ at start; os.getenv reads that copy" },
        { "perl", VE_RUN_EAGER, "Perl copies the environment into %ENV at start" },
        { "ruby", VE_RUN_LAZY, "Ruby's ENV asks getenv on each read" },
        { "php", VE_RUN_EAGER, "PHP fills $_ENV and $_SERVER at start (its getenv() alone would be served lazily)" },
        { "node", VE_RUN_LAZY, "Node.js's process.env asks getenv on each read" },
        { "nodejs", VE_RUN_LAZY, "Node.js's process.env asks getenv on each read" },
        { "java", VE_RUN_EAGER, "Java's System.getenv reads a copy made at start" },
        { "sh", VE_RUN_EAGER, "a shell copies the environment into its variables at start" },
        { "ash", VE_RUN_EAGER, "a shell copies the environment into its variables at start" },
        { "dash", VE_RUN_EAGER, "a shell copies the environment into its variables at start" },
        { "bash", VE_RUN_EAGER, "a shell copies the environment into its variables at start" },
        { "ksh", VE_RUN_EAGER, "a shell copies the environment into its variables at start" },
        { "mksh", VE_RUN_EAGER, "a shell copies the environment into its variables at start" },
        { "zsh", VE_RUN_EAGER, "a shell copies the environment into its variables at start" },
        { "busybox", VE_RUN_EAGER, "busybox's sh and awk copy the environment at start" },
        { "awk", VE_RUN_EAGER, "awk fills ENVIRON at start" },
        { "gawk", VE_RUN_EAGER, "awk fills ENVIRON at start" },
        { "mawk", VE_RUN_EAGER, "awk fills ENVIRON at start" },
        { "nawk", VE_RUN_EAGER, "awk fills ENVIRON at start" },
        { "original-awk", VE_RUN_EAGER, "awk fills ENVIRON at start" },
        { "make", VE_RUN_EAGER, "make imports the environment as its variables at start" },
        { "gmake", VE_RUN_EAGER, "make imports the environment as its variables at start" },
};

int ve_runtime_by_name(const char *basename, enum ve_run_mode *ret_mode, const char **ret_why) {
        if (!basename)
                return -ENOENT;
        for (size_t i = 0; i < sizeof runtimes / sizeof runtimes[0]; i++) {
                size_t n = strlen(runtimes[i].name);

                if (strncmp(basename, runtimes[i].name, n) != 0)
                        continue;
                /* a version suffix: python3, python3.11, perl5.36.0 */
                if (basename[n + strspn(basename + n, "0123456789.")] != '\0')
                        continue;
                *ret_mode = runtimes[i].mode;
                *ret_why = runtimes[i].why;
                return 0;
        }
        return -ENOENT;
}

static bool blank(char c) {
        return c == ' ' || c == '\t';
}

int ve_shebang_parse(const char *buf, size_t len, char **ret_interp, char **ret_arg) {
        const char *end, *p, *q;
        char *interp, *arg = NULL;

        if (len < 2 || buf[0] != '#' || buf[1] != '!')
                return -ENOEXEC;
        /* the line ends at a newline, or at a NUL as a C string would */
        end = memchr(buf, '\n', len);
        if (!end)
                end = buf + len;
        if ((p = memchr(buf, '\0', end - buf)))
                end = p;
        for (p = buf + 2; p < end && blank(*p); p++)
                ;
        for (q = p; q < end && !blank(*q); q++)
                ;
        if (q == p)
                return -ENOEXEC;
        interp = strndup(p, q - p);
        if (!interp)
                return -ENOMEM;
        for (p = q; p < end && blank(*p); p++)
                ;
        for (q = end; q > p && (blank(q[-1]) || q[-1] == '\r'); q--)
                ;
        if (q > p && !(arg = strndup(p, q - p))) {
                free(interp);
                return -ENOMEM;
        }
        *ret_interp = interp;
        *ret_arg = arg;
        return 0;
}

/* The program env(1) runs for its arguments words (NULL-ended): the first
 * word that is no option, option argument or NAME=VALUE, up to a blank
 * (-S splits its string at blanks). */
static int env_program_words(char *const *words, char **ret_program) {
        bool skip_next = false;

        for (; *words; words++) {
                const char *w = *words;
                size_t n;

                if (skip_next) {
                        skip_next = false;
                        continue;
                }
                /* -S's string is the command line itself, split at blanks */
                if (strncmp(w, "-S", 2) == 0 && w[2])
                        w += 2;
                else if (strncmp(w, "--split-string=", 15) == 0)
                        w += 15;
                w += strspn(w, " \t");
                if (w[0] == '-') {
                        /* the options that take the next word */
                        skip_next = strcmp(w, "-u") == 0 || strcmp(w, "-C") == 0 || strcmp(w, "--unset") == 0 ||
                                    strcmp(w, "--chdir") == 0;
                        continue;
                }
                n = strcspn(w, " \t");
                if (n == 0 || memchr(w, '=', n))
                        continue;       /* nothing, or NAME=VALUE */
                *ret_program = strndup(w, n);
                return *ret_program ? 0 : -ENOMEM;
        }
        return -ENOENT;
}

int ve_env_program(const char *arg, char **ret_program) {
        char *copy, **words, *save = NULL;
        size_t n = 0;
        int k;

        if (!arg)
                return -ENOENT;
        copy = strdup(arg);
        words = calloc(strlen(arg) / 2 + 2, sizeof *words);
        if (!copy || !words) {
                free(copy);
                free(words);
                return -ENOMEM;
        }
        for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save))
                words[n++] = w;
        k = env_program_words(words, ret_program);
        free(words);
        free(copy);
        return k;
}

static const char *base_name(const char *path) {
        const char *slash = strrchr(path, '/');

        return slash ? slash + 1 : path;
}

/* The first bytes of path (at most HEAD_SIZE): 0 and *ret_len; -errno. */
static int read_head(const char *path, char *buf, size_t *ret_len) {
        ssize_t n;
        int fd;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        do
                n = read(fd, buf, HEAD_SIZE);
        while (n < 0 && errno == EINTR);
        if (n < 0) {
                n = -errno;
                close(fd);
                return (int) n;
        }
        close(fd);
        *ret_len = (size_t) n;
        return 0;
}

/* An ELF program at path (real: its resolved name): its mode and why. */
static int diagnose_elf(const char *path, const char *real, enum ve_run_mode *ret_mode, const char **ret_why) {
        struct ve_exe_info info;
        int k;

        if ((k = ve_exe_inspect(path, &info)) < 0)
                return k;
        if (info.go) {
                *ret_mode = VE_RUN_ENV;
                *ret_why = "a Go program reads the environment it started with, never getenv, also with cgo "
                           "(or mark the names inherit)";
        } else if (!info.dynamic) {
                *ret_mode = VE_RUN_ENV;
                *ret_why = "statically linked: no dynamic loader, so the shim is never loaded "
                           "(or mark the names inherit)";
        } else if (ve_runtime_by_name(base_name(real), ret_mode, ret_why) < 0 &&
                   ve_runtime_by_name(base_name(path), ret_mode, ret_why) < 0) {
                *ret_mode = VE_RUN_LAZY;
                *ret_why = "dynamically linked: the shim answers its getenv calls";
        }
        return 0;
}

/* The file execve() would start for the "#!" line's interpreter. */
static int interpreter_path(const char *interp, const char *arg, const char *search_path, char **ret_path) {
        char real[PATH_MAX], *program = NULL;
        const char *name;
        int k;

        name = base_name(realpath(interp, real) ? real : interp);
        if (strcmp(name, "env") != 0 || !arg) {
                *ret_path = strdup(interp);
                return *ret_path ? 0 : -ENOMEM;
        }
        if ((k = ve_env_program(arg, &program)) < 0)
                return k;
        k = ve_exe_lookup(program, search_path, ret_path);
        free(program);
        return k;
}

/* The file's own bytes go into a line for a terminal: no control
 * characters. */
static void printable(char *s) {
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f)
                        *s = '?';
}

/* shown: the command as given (NULL once an interpreter is followed: its
 * path is always named); chain: the way here, prefixed to the reason. */
static int diagnose_file(const char *shown, const char *path, const char *search_path, int depth,
                         const char *chain, struct ve_diagnosis *ret) {
        char head[HEAD_SIZE], real[PATH_MAX], *interp = NULL, *arg = NULL, *next = NULL, *via = NULL;
        enum ve_run_mode mode;
        const char *why;
        struct stat st;
        size_t len = 0;
        int k;

        if (stat(path, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode) || access(path, X_OK) < 0)
                return -EACCES;
        if (!realpath(path, real))
                snprintf(real, sizeof real, "%s", path);
        if ((k = read_head(path, head, &len)) < 0)
                return k;

        if (len >= SELFMAG && memcmp(head, ELFMAG, SELFMAG) == 0) {
                if ((k = diagnose_elf(path, real, &mode, &why)) < 0)
                        return k;
                ret->mode = mode;
                ret->path = strdup(real);
                /* named unless it is the command as given, by its name */
                ret->reason = shown && strchr(shown, '/') && strcmp(base_name(shown), base_name(real)) == 0 ?
                              ve_asprintf("%s%s", chain, why) : ve_asprintf("%s%s: %s", chain, real, why);
                if (!ret->path || !ret->reason) {
                        ve_diagnosis_done(ret);
                        return -ENOMEM;
                }
                return 0;
        }
        if (depth >= MAX_DEPTH)
                return -ELOOP;

        k = ve_shebang_parse(head, len, &interp, &arg);
        if (k == -ENOEXEC && depth == 0) {
                /* execvp() gives such a file to /bin/sh */
                k = 0;
                next = strdup("/bin/sh");
                via = ve_asprintf("%sno #! line, so /bin/sh runs it -> ", chain);
        } else if (k == 0) {
                k = interpreter_path(interp, arg, search_path, &next);
                if (k == 0 && (via = ve_asprintf("%s#!%s%s%s -> ", chain, interp, arg ? " " : "", arg ? arg : "")))
                        printable(via);
        }
        if (k == 0 && (!next || !via))
                k = -ENOMEM;
        if (k == 0)
                k = diagnose_file(NULL, next, search_path, depth + 1, via, ret);
        free(interp);
        free(arg);
        free(next);
        free(via);
        return k;
}

int ve_diagnose(char *const *argv, const char *search_path, struct ve_diagnosis *ret) {
        struct ve_diagnosis d = {};
        char real[PATH_MAX], *path = NULL, *program = NULL, *via = NULL;
        int k;

        if (!argv || !argv[0])
                return -ENOENT;
        if ((k = ve_exe_lookup(argv[0], search_path, &path)) < 0)
                return k;
        /* env(1) as the command: what matters is the program it runs */
        if (realpath(path, real) && strcmp(base_name(real), "env") == 0 &&
            env_program_words(argv + 1, &program) == 0) {
                free(path);
                path = NULL;
                k = ve_exe_lookup(program, search_path, &path);
                if (k == 0 && !(via = ve_asprintf("env %s -> ", program)))
                        k = -ENOMEM;
                if (k == 0)
                        k = diagnose_file(NULL, path, search_path, 1, via, &d);
        } else
                k = diagnose_file(argv[0], path, search_path, 0, "", &d);
        free(program);
        free(via);
        free(path);
        if (k < 0)
                return k;
        *ret = d;
        return 0;
}

void ve_diagnosis_done(struct ve_diagnosis *d) {
        free(d->path);
        free(d->reason);
        d->path = d->reason = NULL;
}
