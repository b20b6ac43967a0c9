/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdarg.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

/* Small helpers shared by every part of lib/. */

/* Formats into a fresh heap string; NULL on allocation failure. */
/* Formatted into one allocation of exactly the size needed (no realloc
 * leaves a copy of what it holds behind). NULL on failure. */
char *ve_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *ve_vasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* Text from a file or the environment shown in a message: at most this
 * many bytes, double-quoted, '"' and '\\' backslash-escaped, control bytes
 * as \xNN, cut with "...", so that hostile input can neither flood a log
 * nor drive a terminal. NULL on allocation failure. */
#define VE_MSG_QUOTE_MAX 256
char *ve_msg_quote_n(const char *s, size_t len);
char *ve_msg_quote(const char *s);

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

/* Whether c is a control byte (< 0x20 or 0x7f). */
static inline bool ve_is_control(unsigned char c) {
        return c < 0x20 || c == 0x7f;
}

/* Hex digits, for escapes (lower case) and percent-encoding (upper case,
 * as RFC 3986 recommends). Literals, not data objects: the shim and the
 * core module both link this library, and lib/'s data must exist once per
 * process (the test `symbols`). */
#define VE_HEX_LOWER "0123456789abcdef"
#define VE_HEX_UPPER "0123456789ABCDEF"

/* Percent-encodes the len bytes at s into o (room for 3 * len bytes):
 * RFC 3986's unreserved characters and those in keep (may be NULL) stay,
 * every other byte becomes %XX. Returns the end of what it wrote (no NUL). */
char *ve_percent_encode(char *o, const char *s, size_t len, const char *keep);
/* The length ve_percent_encode() writes for the same arguments. */
size_t ve_percent_encoded_len(const char *s, size_t len, const char *keep);

/* JSON string escaping: the length of s as a quoted JSON string (without
 * a NUL), and the writer of that string into o (room for that length),
 * returning its end (no NUL). '"', '\\' and the control bytes are escaped
 * (\n \r \t \b \f, the others \u00XX); other bytes go as they are, so s
 * must be UTF-8 for the result to be JSON. */
size_t ve_json_quoted_len(const char *s);
char *ve_json_quote_to(char *o, const char *s);

/* ---- cleanup on scope exit (systemd's _cleanup_) ---- */
#define _cleanup_(f) __attribute__((cleanup(f)))
/* For a char * that may hold a secret: ve_erase_free() at scope exit. */
static inline void ve_erase_freep(char **p) {
        ve_erase_free(*p);
}
#define _cleanup_erase_ _cleanup_(ve_erase_freep)

/* ---- ASCII case, whatever the locale ----
 * <ctype.h>, tolower() and strcasecmp() follow the host program's locale
 * (setlocale()): under tr_TR tolower('I') is not 'i'. Names, URL schemes,
 * header names and settings are ASCII: only 'A'..'Z' and 'a'..'z' map. */
static inline char ve_ascii_tolower(char c) {
        return c >= 'A' && c <= 'Z' ? (char) (c - 'A' + 'a') : c;
}
/* As strcasecmp() and strncasecmp() in the C locale. */
int ve_ascii_strcasecmp(const char *a, const char *b);
int ve_ascii_strncasecmp(const char *a, const char *b, size_t n);

/* Milliseconds from CLOCK_MONOTONIC. */
uint64_t ve_now_ms(void);

/* FNV-1a (64 bit) over len bytes, going on from h (VE_FNV1A_INIT to
 * start): the spread of the hash tables built from the mapping (names,
 * paths), which are short and come from a trusted file. */
#define VE_FNV1A_INIT UINT64_C(0xcbf29ce484222325)
static inline uint64_t ve_fnv1a(uint64_t h, const void *data, size_t len) {
        const unsigned char *p = data;

        for (size_t i = 0; i < len; i++)
                h = (h ^ p[i]) * UINT64_C(0x100000001b3);
        return h;
}

/* ---- trusted files ---- */

/* The checks for a file vaultenv takes a credential or its mapping from,
 * made on the OPENED descriptor's fstat (so on a symbolic link's target, as
 * Kubernetes mounts Secrets and ConfigMaps through links): refused, -EPERM
 * and a reason ("is writable by group or others (mode 0666)"), when it is
 * group- or world-writable or owned by a user who is neither the effective
 * user nor root. Character devices (/dev/null) are not checked. 0: trusted;
 * *ret_reason (heap, when not NULL) is then NULL. */
int ve_file_trust_check(const struct stat *st, char **ret_reason);

/* ve_read_file() plus ve_file_trust_check() on the descriptor it opened:
 * -EPERM with *ret_reason (heap; NULL for other errors). */
int ve_read_trusted_file(const char *path, size_t max_size, char **ret_data, size_t *ret_len, char **ret_reason);

/* ---- memory for secret values ---- */

/* A copy of s in pages marked MADV_DONTDUMP (not in a core dump) and, best
 * effort, mlock()ed (not swapped). NULL on allocation failure. Thread-safe.
 * Free with ve_secure_free() only. */
char *ve_secure_strdup(const char *s);
/* Wipes (explicit_bzero) the whole block and gives it back. Accepts NULL. */
void ve_secure_free(char *s);
/* fork() handlers (pthread_atfork order: prepare takes the arena's lock,
 * the last of all locks; parent and child release it), so that a child
 * finds the arena consistent and unlocked. */
void ve_secure_atfork_prepare(void);
void ve_secure_atfork_parent(void);
void ve_secure_atfork_child(void);
/* Whether p lies in memory ve_secure_strdup() handed out. */
bool ve_secure_owns(const void *p);

/* ---- the environment ---- */

/* VAULTENV_SCRUB: removes name from the environment (unsetenv()) and
 * overwrites with NUL bytes each "NAME=value" string of it that lies in the
 * process's original environment block, the memory /proc/PID/environ shows
 * (env_start..env_end of /proc/self/stat): unsetenv() alone leaves it there.
 * A string a setenv() made is on the heap, not in that file, and stays as
 * glibc keeps it. Returns the number of strings overwritten, or -errno when
 * the block cannot be found (the name is removed from the environment
 * anyway). Not for a moment when another thread walks environ. */
int ve_env_scrub(const char *name);
