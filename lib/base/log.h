/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdarg.h>

/* lib/ never writes to a terminal: it reports through one process-wide
 * callback that the shim or the CLI installs. Messages never contain a
 * secret value or a token: callers pass names, paths and reasons only. */

enum ve_log_level {
        VE_LOG_ERROR = 0,
        VE_LOG_WARN  = 1,
        VE_LOG_INFO  = 2,
        VE_LOG_DEBUG = 3,
};

typedef void (*ve_log_fn)(void *userdata, enum ve_log_level level, const char *msg);

/* Not thread-safe against concurrent ve_log(): call once, before any work. */
void ve_log_set(ve_log_fn fn, void *userdata, enum ve_log_level max_level);
enum ve_log_level ve_log_get_level(void);

void ve_log(enum ve_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ve_logv(enum ve_log_level level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* "error" | "warn" | "info" | "debug" (case-insensitive). 0 or -EINVAL. */
int ve_log_level_parse(const char *s, enum ve_log_level *ret_level);
const char *ve_log_level_name(enum ve_log_level level);

#define ve_error(...) ve_log(VE_LOG_ERROR, __VA_ARGS__)
#define ve_warn(...)  ve_log(VE_LOG_WARN, __VA_ARGS__)
#define ve_info(...)  ve_log(VE_LOG_INFO, __VA_ARGS__)
#define ve_debug(...) ve_log(VE_LOG_DEBUG, __VA_ARGS__)
