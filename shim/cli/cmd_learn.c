/* SPDX-License-Identifier: MIT */
/* vaultenv learn [-o MAPFILE] [--force] [-q] [--] COMMAND [ARGS...]
 *
 * Runs COMMAND with the shim preloaded in learning mode (VAULTENV_LEARN:
 * a private file, mode 0600, in $TMPDIR or /tmp, removed afterwards),
 * waits for it, and writes a mapping-file skeleton of every variable name
 * COMMAND and its children asked getenv() for (lib/tools/learn.h). Names only:
 * the shim records no value and resolves nothing. Exit status: COMMAND's
 * (128 + N when a signal N ended it), or 1 when the skeleton could not be
 * written. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "learn.h"
#include "util.h"

#define LEARN_RECORDS_MAX (16 * 1024 * 1024)

static int help(void) {
        printf("Usage: %s learn [-o MAPFILE] [--force] [-q] [--] COMMAND [ARGS...]\n"
               "\n"
               "Runs COMMAND with libvaultenv.so preloaded in a recording mode: nothing is\n"
               "resolved and Vault is not contacted; every variable name COMMAND (and any\n"
               "program it starts) asks getenv() for is noted, never a value. Then prints a\n"
               "mapping-file skeleton: names that look like secrets as entries whose Vault\n"
               "path is the placeholder " VE_LEARN_PLACEHOLDER ", other names commented out, well-known\n"
               "names (HOME, LANG, PATH, ...) listed apart. Exit status: COMMAND's.\n"
               "\n"
               "  -o, --output MAPFILE  write the skeleton to MAPFILE (not overwritten\n"
               "                        without --force) instead of standard output\n"
               "  -f, --force           overwrite MAPFILE\n"
               "  -q, --quiet           no status lines\n"
               "  -h, --help            this help\n",
               cli_program);
        return 0;
}

/* A private, empty file for the records: 0600 (mkstemp). */
static int make_records_file(char **ret_path) {
        const char *dir = getenv("TMPDIR");
        char *path;
        int fd;

        if (!dir || dir[0] != '/')
                dir = "/tmp";
        path = ve_asprintf("%s/vaultenv-learn.XXXXXX", dir);
        if (!path)
                return -ENOMEM;
        fd = mkostemp(path, O_CLOEXEC);
        if (fd < 0) {
                int k = -errno;

                cli_error("learn: cannot create a file in %s: %s", dir, strerror(errno));
                free(path);
                return k;
        }
        (void) close(fd);
        *ret_path = path;
        return 0;
}

/* Runs argv, terminal signals (SIGINT, SIGQUIT) going to it alone, as
 * system() does: the skeleton is still written when the user stops the
 * program with ^C. Returns the exit status to pass on. */
static int run(char **argv) {
        struct sigaction ign = { .sa_handler = SIG_IGN }, old_int, old_quit;
        int status, k;
        pid_t pid;

        sigemptyset(&ign.sa_mask);
        (void) sigaction(SIGINT, &ign, &old_int);
        (void) sigaction(SIGQUIT, &ign, &old_quit);
        fflush(NULL);
        pid = fork();
        if (pid < 0) {
                cli_error("learn: cannot start %s: %s", argv[0], strerror(errno));
                k = CLI_EX_FAIL;
                goto restore;
        }
        if (pid == 0) {
                (void) sigaction(SIGINT, &old_int, NULL);
                (void) sigaction(SIGQUIT, &old_quit, NULL);
                execvp(argv[0], argv);
                k = errno;
                cli_error("%s: %s", argv[0], strerror(k));
                _exit(k == ENOENT ? 127 : 126);
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR) {
                        cli_error("learn: waiting for %s: %s", argv[0], strerror(errno));
                        k = CLI_EX_FAIL;
                        goto restore;
                }
        k = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : CLI_EX_FAIL;
restore:
        (void) sigaction(SIGINT, &old_int, NULL);
        (void) sigaction(SIGQUIT, &old_quit, NULL);
        return k;
}

/* The command line, for the skeleton's header. */
static char *join_argv(char **argv) {
        size_t len = 1;
        char *s;

        for (char **a = argv; *a; a++)
                len += strlen(*a) + 1;
        s = calloc(1, len);
        if (!s)
                return NULL;
        for (char **a = argv; *a; a++) {
                if (a != argv)
                        strcat(s, " ");
                strcat(s, *a);
        }
        return s;
}

static int write_all(int fd, const char *s, size_t len) {
        while (len > 0) {
                ssize_t n = write(fd, s, len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                s += n;
                len -= (size_t) n;
        }
        return 0;
}

static int write_skeleton(const char *out, bool force, const char *text) {
        int fd, k;

        if (!out) {
                fputs(text, stdout);
                if (fflush(stdout) != 0) {
                        cli_error("learn: cannot write to standard output: %s", strerror(errno));
                        return CLI_EX_FAIL;
                }
                return 0;
        }
        fd = open(out, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY | (force ? O_TRUNC : O_EXCL), 0644);
        if (fd < 0) {
                if (errno == EEXIST)
                        cli_error("learn: %s exists; not overwritten (use --force)", out);
                else
                        cli_error("learn: cannot write %s: %s", out, strerror(errno));
                return CLI_EX_FAIL;
        }
        k = write_all(fd, text, strlen(text));
        if (close(fd) < 0 && k == 0)
                k = -errno;
        if (k < 0) {
                cli_error("learn: cannot write %s: %s", out, strerror(-k));
                return CLI_EX_FAIL;
        }
        return 0;
}

int cmd_learn(int argc, char **argv) {
        const char *out = NULL;
        char *records_path = NULL, *records = NULL, *text = NULL, *command = NULL;
        size_t len = 0, n_names = 0, n_secret = 0;
        bool force = false;
        int next, k, status;
        const struct cli_option opts[] = {
                { "output", 'o', CLI_ARG, &out },
                { "force", 'f', CLI_FLAG, &force },
                {},
        };

        if ((k = cli_parse_options("learn", argc, argv, opts, true, help, &next)) >= 0)
                return k;
        argc -= next;
        argv += next;
        if (argc < 1)
                return cli_usage_error("learn", "missing COMMAND");
        if (out && !*out)
                return cli_usage_error("learn", "empty MAPFILE");

        /* Refused before the program runs, not after. */
        if (out && !force && access(out, F_OK) == 0) {
                cli_error("learn: %s exists; not overwritten (use --force)", out);
                return CLI_EX_FAIL;
        }
        if ((k = cli_preload_shim()) != 0)
                return k;
        if ((k = make_records_file(&records_path)) < 0)
                return CLI_EX_FAIL;
        if (setenv("VAULTENV_LEARN", records_path, 1) < 0) {
                cli_error("out of memory");
                status = CLI_EX_FAIL;
                goto finish;
        }
        cli_status("learn: running %s; recording the variable names it reads", argv[0]);
        status = run(argv);

        k = ve_read_file(records_path, LEARN_RECORDS_MAX, &records, &len);
        if (k < 0) {
                cli_error("learn: cannot read the records in %s: %s", records_path, strerror(-k));
                status = CLI_EX_FAIL;
                goto finish;
        }
        command = join_argv(argv);
        if (!command || ve_learn_skeleton(records, len, command, &text) < 0) {
                cli_error("out of memory");
                status = CLI_EX_FAIL;
                goto finish;
        }
        for (const char *l = text; (l = strstr(l, "# read by: ")); l++) {
                /* Count entries: an active entry is a secret. */
                const char *bol = l;

                while (bol > text && bol[-1] != '\n')
                        bol--;
                n_names++;
                if (*bol != '#')
                        n_secret++;
        }
        if (write_skeleton(out, force, text) != 0) {
                if (status == 0)
                        status = CLI_EX_FAIL;
                goto finish;
        }
        cli_status("learn: %zu name(s) to consider, %zu looking like secrets; skeleton %s%s", n_names, n_secret,
                   out ? "written to " : "printed", out ? out : "");

finish:
        if (records_path)
                (void) unlink(records_path);
        free(records_path);
        free(records);
        free(text);
        free(command);
        return status;
}
