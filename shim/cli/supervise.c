/* SPDX-License-Identifier: MIT */
/* vaultenv exec --on-change: the command stays as the program's parent.
 *
 * The main thread starts the program, forwards it every signal the
 * supervisor receives (all blocked here and taken with sigtimedwait()),
 * reaps every child (as PID 1 in a container, orphans too), restarts the
 * program when asked, and exits with the program's status (128+N after
 * signal N). A watcher thread polls the mapping's KV paths (lib/vault/
 * watch.h) at the interval, with jitter; a change, once a poll sees no
 * further change (debounce) and after a random splay, either bumps the
 * generation page the program's shim follows and sends it SIGNAL, or asks
 * the main thread to restart it. The two threads share only atomics. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "genpage.h"
#include "log.h"
#include "supervise.h"
#include "util.h"
#include "watch.h"

#define TICK_MS 250                     /* the main thread's longest wait */
#define DEBOUNCE_MAX_MS 1000            /* between the polls that settle a burst */
#define DEBOUNCE_ROUNDS 10              /* a burst longer than this: act anyway */
#define BACKOFF_MAX_MS (5 * 60 * 1000)

struct supervisor {
        const struct cli_on_change *opt;
        char **argv;
        struct ve_watch *watch;
        struct ve_genpage *page;        /* SIGNAL mode */
        int page_fd;
        pthread_t main_thread;
        _Atomic(pid_t) child;           /* 0: none running */
        atomic_bool restart_wanted;
};

static uint64_t random_below(uint64_t n) {
        uint64_t x;

        if (n == 0)
                return 0;
        if (getrandom(&x, sizeof x, 0) != (ssize_t) sizeof x)
                x = ve_now_ms() * UINT64_C(0x9E3779B97F4A7C15);
        return x % n;
}

static void sleep_ms(uint64_t ms) {
        struct timespec ts = { .tv_sec = (time_t) (ms / 1000), .tv_nsec = (long) (ms % 1000) * 1000000 };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* ---- the watcher thread ---- */

/* One poll; false when Vault could not be asked (said once per outage). */
static bool poll_once(struct supervisor *sv, bool *ret_changed, bool *unreachable) {
        char *err = NULL;
        int k = ve_watch_poll(sv->watch, ret_changed, &err);

        if (k < 0) {
                if (!*unreachable)
                        cli_warn("watching for changes: %s; %s keeps running, retrying", err ? err : strerror(-k),
                                 sv->argv[0]);
                *unreachable = true;
                free(err);
                return false;
        }
        if (*unreachable)
                cli_status("watching for changes again");
        *unreachable = false;
        return true;
}

static void act(struct supervisor *sv) {
        pid_t pid;

        if (sv->opt->signal == 0) {
                cli_status("a secret changed in Vault: restarting %s", sv->argv[0]);
                atomic_store(&sv->restart_wanted, true);
                pthread_kill(sv->main_thread, SIGCHLD);         /* wakes sigtimedwait() */
                return;
        }
        atomic_fetch_add_explicit(&sv->page->generation, 1, memory_order_release);
        pid = atomic_load(&sv->child);
        cli_status("a secret changed in Vault: sending %s to %s", cli_signal_abbrev(sv->opt->signal), sv->argv[0]);
        if (pid > 0)
                kill(pid, sv->opt->signal);
}

static void *watcher(void *userdata) {
        struct supervisor *sv = userdata;
        uint64_t interval = sv->opt->interval_ms, wait = interval;
        bool unreachable = false, changed;

        for (;;) {
                /* the interval, give or take a tenth */
                sleep_ms(wait - wait / 10 + random_below(wait / 5 + 1));
                if (!poll_once(sv, &changed, &unreachable)) {
                        wait = wait * 2 > BACKOFF_MAX_MS ? (interval > BACKOFF_MAX_MS ? interval : BACKOFF_MAX_MS)
                                                           : wait * 2;
                        continue;
                }
                wait = interval;
                if (!changed)
                        continue;
                /* a burst of writes makes one event: poll until one sees no change */
                for (int i = 0; i < DEBOUNCE_ROUNDS; i++) {
                        bool again = false;

                        sleep_ms(interval < DEBOUNCE_MAX_MS ? interval : DEBOUNCE_MAX_MS);
                        if (!poll_once(sv, &again, &unreachable) || !again)
                                break;
                }
                sleep_ms(random_below(sv->opt->splay_ms + 1));
                act(sv);
        }
        return NULL;
}

/* ---- the main thread ---- */

/* The signals forwarded to the program (all catchable ones but SIGCHLD and
 * those a fault raises), plus SIGCHLD: the set the main thread waits on. */
static void wait_set(sigset_t *set) {
        static const int not_forwarded[] = { SIGKILL, SIGSTOP, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS };

        sigfillset(set);
        for (size_t i = 0; i < sizeof not_forwarded / sizeof not_forwarded[0]; i++)
                sigdelset(set, not_forwarded[i]);
        /* glibc's own (SIGCANCEL, SIGSETXID) are not in sigfillset()'s */
}

/* Whether the kernel already sent sig to the program itself: a terminal's
 * signal (^C, ^\, ^Z, a resize, a hang-up) goes to the foreground process
 * group, the program's too. */
static bool from_terminal(const siginfo_t *si) {
        switch (si->si_signo) {
        case SIGINT:
        case SIGQUIT:
        case SIGTSTP:
        case SIGWINCH:
        case SIGHUP:
                return si->si_code == SI_KERNEL;
        default:
                return false;
        }
}

static pid_t start(struct supervisor *sv, const sigset_t *old_mask) {
        pid_t pid = fork();

        if (pid == 0) {
                /* the program gets the signal mask and dispositions the
                 * command was started with */
                sigprocmask(SIG_SETMASK, old_mask, NULL);
                execvp(sv->argv[0], sv->argv);
                fprintf(stderr, "vaultenv: %s: %s\n", sv->argv[0], strerror(errno));
                _exit(errno == ENOENT ? 127 : 126);
        }
        if (pid < 0)
                cli_error("cannot start %s: %m", sv->argv[0]);
        return pid;
}

static int status_of(int st) {
        return WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : 1;
}

static int run(struct supervisor *sv, const sigset_t *set, const sigset_t *old_mask) {
        uint64_t kill_at = 0;
        bool restarting = false;
        pid_t pid = start(sv, old_mask);

        if (pid < 0)
                return CLI_EX_FAIL;
        atomic_store(&sv->child, pid);
        for (;;) {
                struct timespec tick = { .tv_sec = 0, .tv_nsec = TICK_MS * 1000000L };
                siginfo_t si;
                int sig = sigtimedwait(set, &si, &tick);

                if (sig == SIGCHLD || sig < 0) {
                        int st;
                        pid_t w;

                        while ((w = waitpid(-1, &st, WNOHANG)) > 0) {
                                if (w != pid)
                                        continue;       /* an orphan (PID 1) */
                                if (!restarting)
                                        return status_of(st);
                                restarting = false;
                                kill_at = 0;
                                pid = start(sv, old_mask);
                                if (pid < 0)
                                        return CLI_EX_FAIL;
                                atomic_store(&sv->child, pid);
                        }
                } else if (!from_terminal(&si))
                        kill(pid, sig);

                if (!restarting && atomic_exchange(&sv->restart_wanted, false)) {
                        restarting = true;
                        kill(pid, SIGTERM);
                        kill_at = ve_now_ms() + sv->opt->grace_ms;
                }
                if (restarting && kill_at && ve_now_ms() >= kill_at) {
                        cli_warn("%s did not stop within %llu ms of SIGTERM: killing it", sv->argv[0],
                                 (unsigned long long) sv->opt->grace_ms);
                        kill(pid, SIGKILL);
                        kill_at = 0;
                }
        }
}

int cli_supervise(char **argv, const struct ve_map *map, const struct cli_on_change *opt) {
        struct supervisor sv = { .opt = opt, .argv = argv, .page_fd = -1, .main_thread = pthread_self() };
        struct ve_settings *s = NULL;
        struct ve_vault *v = NULL;
        sigset_t set, old_mask;
        pthread_t thread;
        bool changed, unreachable = false;
        char num[16];
        int k;

        if ((k = cli_vault_open(&s, &v)) != 0)
                return k;
        if (ve_watch_new(v, map, &sv.watch) < 0)
                goto oom;
        if (opt->signal != 0) {
                k = ve_genpage_create(&sv.page_fd, &sv.page);
                if (k < 0) {
                        cli_error("--on-change: cannot share memory with %s: %s", argv[0], strerror(-k));
                        k = CLI_EX_FAIL;
                        goto out;
                }
                snprintf(num, sizeof num, "%d", sv.page_fd);
                if (setenv(VE_GENPAGE_ENV, num, 1) < 0)
                        goto oom;
        }
        /* What the program will read, before it starts: a change while it
         * starts is then seen at the first poll. */
        (void) poll_once(&sv, &changed, &unreachable);
        if (ve_watch_count(sv.watch) == 0)
                cli_status("--on-change: no KV path of the mapping to watch");

        wait_set(&set);
        sigprocmask(SIG_BLOCK, &set, &old_mask);
        if ((k = pthread_create(&thread, NULL, watcher, &sv)) != 0) {
                sigprocmask(SIG_SETMASK, &old_mask, NULL);
                cli_error("--on-change: cannot start the watcher: %s", strerror(k));
                k = CLI_EX_FAIL;
                goto out;
        }
        k = run(&sv, &set, &old_mask);
        /* The watcher may be in a request: leave without waiting for it or
         * running exit handlers under it. */
        fflush(stdout);
        fflush(stderr);
        _exit(k);
oom:
        cli_error("out of memory");
        k = CLI_EX_FAIL;
out:
        ve_watch_free(sv.watch);
        ve_vault_free(v);
        ve_settings_free(s);
        return k;
}
