/* SPDX-License-Identifier: MIT */
/* What the shim says on stderr: lib/ reports through a log callback; this
 * is the callback, and the one message that ends a process. */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "settings.h"
#include "shim.h"

/* One write(2): no stdio lock, no buffer shared with the host. */
void shim_write_line(const char *prefix, const char *msg) {
        char buf[1200];
        int n = snprintf(buf, sizeof buf, "vaultenv: %s%s\n", prefix, msg);
        ssize_t w;

        if (n < 0)
                return;
        if ((size_t) n >= sizeof buf) {
                n = sizeof buf - 1;
                buf[n - 1] = '\n';
        }
        do
                w = write(STDERR_FILENO, buf, (size_t) n);
        while (w < 0 && errno == EINTR);
}

void shim_log_stderr(void *userdata, enum ve_log_level level, const char *msg) {
        static const char *const prefix[] = { "error: ", "warning: ", "", "debug: " };

        (void) userdata;
        shim_write_line(prefix[level <= VE_LOG_DEBUG ? level : VE_LOG_DEBUG], msg);
}

/* A required name that nothing resolved: the foundation's message, and the
 * process ends with status 78 through _exit(): atexit handlers might ask
 * for the same name again. */
_Noreturn void shim_required_missing(const char *name, const char *reason) {
        char msg[1100];

        snprintf(msg, sizeof msg, "%s: required variable is missing: %s", name,
                 reason ? reason : "no value");
        shim_write_line("", msg);
        _exit(VE_EX_CONFIG);
}
