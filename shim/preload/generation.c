/* SPDX-License-Identifier: MIT */
/* The generation page of `vaultenv exec --on-change` (lib/base/genpage.h):
 * taken in the constructor, before the program can close the descriptor it
 * came on, and before any lookup (init.c makes the resolver follow it). */
#include "envscan.h"
#include "genpage.h"
#include "shim.h"

const struct ve_genpage *shim_genpage;

/* Maps the page named by VAULTENV_GENERATION_FD. The descriptor and the
 * variable stay: a wrapper (a shell script, pyenv's shims, an entrypoint
 * that execs the program) passes them on to the program it runs. A number
 * that names no such page (the program closed it and the number was
 * reused) is ignored: genpage.h's checks. */
void shim_genpage_take(void) {
        const char *v = ve_envscan(environ, VE_GENPAGE_ENV);
        int fd;

        if (!v)
                return;
        fd = ve_genpage_fd_parse(v);
        if (fd >= 0)
                (void) ve_genpage_open(fd, &shim_genpage);
}
