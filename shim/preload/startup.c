/* SPDX-License-Identifier: MIT */
/* The shim's constructor: what every process that preloads the shim pays
 * before main. It decides, without loading the settings or parsing the
 * mapping, whether eager mode may apply, and only then initialises. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "eager.h"
#include "mapfile.h"
#include "shim.h"
#include "util.h"

/* Whether the file at path contains "eager" or "inherit". Reads it in
 * chunks into a stack buffer, wiped afterwards (a default= in it may be a
 * credential): no malloc, no stdio. Unreadable: false (the lazy path
 * reports it on the first lookup, as without eager mode). At most
 * VE_MAP_MAX_SIZE bytes, as the parser takes. */
static bool file_mentions_eager(const char *path) {
        char buf[4096];
        size_t keep = 0, total = 0, used = 0;
        bool found = false;
        int fd;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return false;
        while (!found && total <= VE_MAP_MAX_SIZE) {
                ssize_t n = read(fd, buf + keep, sizeof buf - keep);
                size_t len;

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                total += (size_t) n;
                len = keep + (size_t) n;
                if (len > used)
                        used = len;
                found = ve_eager_mentioned(buf, len);
                /* a word may straddle two reads: carry the last 6 bytes */
                keep = len < 6 ? len : 6;
                memmove(buf, buf + len - keep, keep);
        }
        (void) close(fd);
        explicit_bzero(buf, used);
        return found;
}

/* Whether this process may have eager names, decided without loading the
 * settings or parsing the mapping, so that a process without eager names
 * pays (almost) nothing before main: VAULTENV_EAGER or VAULTENV_INHERIT set
 * (inherit implies eager), or the mapping file (VAULTENV_MAP, else the
 * default path) mentions "eager" or "inherit" somewhere. The latter is a
 * pre-filter only (it may be a comment): the parsed mapping decides. Without
 * a mapping file this costs one failing open(). Learning mode: no. */
static bool eager_possible(const struct ve_eager_env *env) {
        bool b = false;

        if (env->learning)
                return false;   /* nothing is resolved */
        if (env->eager && env->eager[0] && (ve_bool_parse(env->eager, &b) < 0 || b))
                return true;    /* a bad value is reported when the settings load */
        if (env->inherit && env->inherit[0])
                return true;
        return file_mentions_eager(env->map && env->map[0] ? env->map : VE_DEFAULT_MAP_PATH);
}

/* The shim's one constructor. It runs in every process, so its common
 * path is one pass over environ (ve_eager_env_scan()), one getauxval() and
 * the mapping file's pre-filter (file_mentions_eager()).
 * Learning mode: nothing (no name is resolved, the core is never loaded).
 * Secure mode: nothing (the file is named by an untrusted environment; the
 * shim only passes through). The generation page of `vaultenv exec
 * --on-change`, when there is one. A relative LD_PRELOAD: the core's
 * location, now (shim_locate_core_now()). Then eager mode (place.c). */
__attribute__((constructor))
static void shim_start(void) {
        struct ve_eager_env env;
        int saved_errno = errno;        /* the program's main sees its own */

        ve_eager_env_scan(environ, &env);
        if (env.learning || getauxval(AT_SECURE))
                return;
        shim_genpage_take();
        if (env.relative_preload)
                shim_locate_core_now();
        if (eager_possible(&env))
                shim_eager_init();
        errno = saved_errno;
}
