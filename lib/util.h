/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Small helpers shared by every part of lib/. */

/* Formats into a fresh heap string; NULL on allocation failure. */
char *ve_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Wipes (explicit_bzero) and frees a NUL-terminated string. Accepts NULL.
 * For every buffer that may have held a secret value or a token. */
void ve_erase_free(char *s);

/* Wipes len bytes and frees. Accepts NULL. */
void ve_erase_free_n(void *p, size_t len);

/* Parses a duration: "30s", "5m", "1h", "2d", "1h30m", or a bare number of
 * seconds. Returns 0 and the number of milliseconds, or -EINVAL. Units may be
 * ms, s, m, h, d. Fractions ("1.5s") are accepted for s/m/h. */
int ve_duration_parse(const char *s, uint64_t *ret_ms);

/* Go strconv.ParseBool, which is what the vault CLI uses for
 * VAULT_SKIP_VERIFY: 1 t T TRUE true True / 0 f F FALSE false False.
 * Returns 0 or -EINVAL. */
int ve_bool_parse(const char *s, bool *ret);

/* Reads a whole regular file, at most max_size bytes (-EFBIG beyond),
 * NUL-terminated; *ret_len excludes the NUL. O_CLOEXEC. 0 or -errno. */
int ve_read_file(const char *path, size_t max_size, char **ret_data, size_t *ret_len);

/* Hands msg (heap, may be NULL) to *ret_error when ret_error is not NULL,
 * else frees it: for the "char **ret_error" out-parameters. */
void ve_set_error(char **ret_error, char *msg);

/* Whether s holds a control byte (< 0x20 or 0x7f): such a string must not
 * go into an HTTP header. */
bool ve_has_control(const char *s);

/* Milliseconds from CLOCK_MONOTONIC. */
uint64_t ve_now_ms(void);
