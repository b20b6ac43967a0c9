/* SPDX-License-Identifier: MIT */
/* The core module's side of lib/'s process-wide state: instead of its own
 * copy of lib/base/log.c and lib/base/secure.c (never linked into the core,
 * lib/meson.build), these forward to the shim's, through the table the
 * shim hands to open() (core.h). Before open() nothing is logged and no
 * secure memory is given out: nothing in the core runs before it. */
#include <errno.h>
#include <stddef.h>

#include "core_host.h"
#include "log.h"
#include "util.h"

/* Written once by open(), before any other thread of the core runs. */
static const struct ve_core_host *host;

void ve_core_host_set(const struct ve_core_host *h) {
        host = h;
}

void ve_logv(enum ve_log_level level, const char *fmt, va_list ap) {
        if (host)
                host->logv(level, fmt, ap);
}

void ve_log(enum ve_log_level level, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        ve_logv(level, fmt, ap);
        va_end(ap);
}

enum ve_log_level ve_log_get_level(void) {
        return host ? host->log_get_level() : VE_LOG_ERROR;
}

char *ve_secure_strdup(const char *s) {
        if (!host) {
                errno = ENOMEM;
                return NULL;
        }
        return host->secure_strdup(s);
}

void ve_secure_free(char *s) {
        if (s && host)
                host->secure_free(s);
}

bool ve_secure_owns(const void *p) {
        return host && host->secure_owns(p);
}
