/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>

#include "log.h"
#include "util.h"

/* Process-wide state: this file is linked into exactly one object of a
 * process (lib_state, lib/meson.build); the core module logs through the
 * shim (shim/core/core_host.c). */

static ve_log_fn log_fn;
static void *log_userdata;
static enum ve_log_level log_max = VE_LOG_ERROR;

static const char *const level_names[] = {
        [VE_LOG_ERROR] = "error",
        [VE_LOG_WARN] = "warn",
        [VE_LOG_INFO] = "info",
        [VE_LOG_DEBUG] = "debug",
};

void ve_log_set(ve_log_fn fn, void *userdata, enum ve_log_level max_level) {
        log_fn = fn;
        log_userdata = userdata;
        log_max = max_level;
}

enum ve_log_level ve_log_get_level(void) {
        return log_max;
}

void ve_logv(enum ve_log_level level, const char *fmt, va_list ap) {
        /* A message is one line; longer ones are cut rather than allocated,
         * because this runs inside the host process on error paths. */
        char buf[1024];

        if (!log_fn || level > log_max)
                return;
        vsnprintf(buf, sizeof buf, fmt, ap);
        log_fn(log_userdata, level, buf);
}

void ve_log(enum ve_log_level level, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        ve_logv(level, fmt, ap);
        va_end(ap);
}

int ve_log_level_parse(const char *s, enum ve_log_level *ret_level) {
        if (!s)
                return -EINVAL;
        for (unsigned i = 0; i < sizeof level_names / sizeof level_names[0]; i++)
                if (ve_ascii_strcasecmp(s, level_names[i]) == 0) {
                        *ret_level = (enum ve_log_level) i;
                        return 0;
                }
        if (ve_ascii_strcasecmp(s, "warning") == 0) {
                *ret_level = VE_LOG_WARN;
                return 0;
        }
        return -EINVAL;
}

const char *ve_log_level_name(enum ve_log_level level) {
        if ((unsigned) level >= sizeof level_names / sizeof level_names[0])
                return "?";
        return level_names[level];
}
