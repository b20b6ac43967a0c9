/* SPDX-License-Identifier: MIT */
/* Learning mode (VAULTENV_LEARN, set by `vaultenv learn`): nothing is
 * resolved, no mapping is read, Vault is never contacted; each distinct
 * name asked for is appended to the learn file (lib/tools/learn.h).
 * Children inherit the mode through LD_PRELOAD and VAULTENV_LEARN. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "learn.h"
#include "shim.h"

/* Decided once in shim_init(), read-only afterwards. The path is copied:
 * the program may change its environment. */
bool shim_learning;
static char learn_file[PATH_MAX];
static struct ve_learn_seen learn_seen;
static atomic_bool learn_failed;

/* Learning mode, when VAULTENV_LEARN names a file: then the shim only
 * records names (shim_learn_note()) and never loads settings or a mapping. */
bool shim_learn_start(void) {
        const char *f = passthrough("VAULTENV_LEARN");

        if (!f || !*f)
                return false;
        if (strlen(f) >= sizeof learn_file) {
                shim_write_line("error: ", "VAULTENV_LEARN: path too long; recording nothing");
                atomic_store(&learn_failed, true);
        } else
                strcpy(learn_file, f);
        shim_learning = true;
        return true;
}

/* Appends "NAME\tPROGRAM\n" for a name this process did not ask for yet:
 * no lock, no allocation, one write(2) on a descriptor opened for it (a
 * descriptor kept open could be closed or reused by the program). A
 * failure is said once; recording then stops for this process. */
void shim_learn_note(const char *name) {
        char line[VE_LEARN_NAME_MAX + VE_LEARN_PROGRAM_MAX + 4];
        int fd, n, saved_errno = errno;     /* getenv() leaves errno alone */
        ssize_t w;

        if (atomic_load_explicit(&learn_failed, memory_order_relaxed) || !name)
                return;
        n = ve_learn_format(name, program_invocation_short_name, line, sizeof line);
        if (n < 0 || !ve_learn_seen_add(&learn_seen, name))
                return;
        fd = open(learn_file, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                char msg[PATH_MAX + 128];

                if (!atomic_exchange(&learn_failed, true)) {
                        snprintf(msg, sizeof msg, "VAULTENV_LEARN: cannot open %s: %s; recording nothing more",
                                 learn_file, strerror(errno));
                        shim_write_line("error: ", msg);
                }
        } else {
                do
                        w = write(fd, line, (size_t) n);
                while (w < 0 && errno == EINTR);
                (void) close(fd);
        }
        errno = saved_errno;
}
