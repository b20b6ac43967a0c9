/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

extern char **environ;

char *ve_vasprintf(const char *fmt, va_list ap) {
        va_list aq;
        char *s;
        int n;

        va_copy(aq, ap);
        n = vsnprintf(NULL, 0, fmt, aq);
        va_end(aq);
        if (n < 0)
                return NULL;
        s = malloc((size_t) n + 1);
        if (!s)
                return NULL;
        vsnprintf(s, (size_t) n + 1, fmt, ap);
        return s;
}

char *ve_asprintf(const char *fmt, ...) {
        va_list ap;
        char *s;

        va_start(ap, fmt);
        s = ve_vasprintf(fmt, ap);
        va_end(ap);
        return s;
}

char *ve_msg_quote_n(const char *s, size_t len) {
        size_t shown = len > VE_MSG_QUOTE_MAX ? VE_MSG_QUOTE_MAX : len;
        char *buf, *o;

        /* Worst case: every byte becomes \xNN; plus quotes, "..." and NUL. */
        buf = malloc(shown * 4 + 6);
        if (!buf)
                return NULL;
        o = buf;
        *o++ = '"';
        for (size_t i = 0; i < shown; i++) {
                unsigned char c = (unsigned char) s[i];

                if (c == '"' || c == '\\') {
                        *o++ = '\\';
                        *o++ = (char) c;
                } else if (ve_is_control(c)) {
                        *o++ = '\\';
                        *o++ = 'x';
                        *o++ = VE_HEX_LOWER[c >> 4];
                        *o++ = VE_HEX_LOWER[c & 0xf];
                } else
                        *o++ = (char) c;
        }
        *o++ = '"';
        if (shown < len)
                o = stpcpy(o, "...");
        *o = '\0';
        return buf;
}

char *ve_msg_quote(const char *s) {
        return ve_msg_quote_n(s, strlen(s));
}

void ve_erase_free(char *s) {
        if (!s)
                return;
        explicit_bzero(s, strlen(s));
        free(s);
}

void ve_erase_free_n(void *p, size_t len) {
        if (!p)
                return;
        explicit_bzero(p, len);
        free(p);
}

int ve_duration_parse(const char *s, uint64_t *ret_ms) {
        /* Vault's duration syntax (Go time.ParseDuration plus "d", and a bare
         * number meaning seconds), integer milliseconds out. */
        uint64_t total = 0;
        const char *p = s;

        if (!s || !*s)
                return -EINVAL;
        for (const char *q = s; *q; q++)
                if (*q < '0' || *q > '9')
                        goto units;
        {
                char *end;
                unsigned long long v;

                errno = 0;
                v = strtoull(s, &end, 10);
                if (errno || *end || v > UINT64_MAX / 1000)
                        return -EINVAL;
                *ret_ms = v * 1000;
                return 0;
        }
units:
        /* Fixed point, so the preloaded object needs no libm. */
        while (*p) {
                uint64_t ip = 0, frac = 0, scale = 1, mult, v;
                bool digits = false;

                for (; *p >= '0' && *p <= '9'; p++, digits = true) {
                        if (ip > UINT64_MAX / 10 / 1000)
                                return -EINVAL;
                        ip = ip * 10 + (uint64_t) (*p - '0');
                }
                if (*p == '.')
                        for (p++; *p >= '0' && *p <= '9'; p++, digits = true)
                                if (scale < 1000000) {
                                        frac = frac * 10 + (uint64_t) (*p - '0');
                                        scale *= 10;
                                }
                if (!digits)
                        return -EINVAL;
                if (strncmp(p, "ms", 2) == 0) {
                        mult = 1;
                        p += 2;
                } else if (*p == 's')
                        mult = 1000, p++;
                else if (*p == 'm')
                        mult = 60 * 1000, p++;
                else if (*p == 'h')
                        mult = 3600 * 1000, p++;
                else if (*p == 'd')
                        mult = 86400 * 1000, p++;
                else
                        return -EINVAL;
                if (ip > UINT64_MAX / mult / 2)
                        return -EINVAL;
                v = ip * mult + frac * mult / scale;
                if (total + v < total)
                        return -EINVAL;
                total += v;
        }
        *ret_ms = total;
        return 0;
}

int ve_bool_parse(const char *s, bool *ret) {
        /* Arrays of chars, not of pointers: read-only data that needs no
         * relocation (both the shim and the core carry this function). */
        static const char yes[][5] = { "1", "t", "T", "TRUE", "true", "True" };
        static const char no[][6] = { "0", "f", "F", "FALSE", "false", "False" };

        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
                if (strcmp(s, yes[i]) == 0) {
                        *ret = true;
                        return 0;
                }
                if (strcmp(s, no[i]) == 0) {
                        *ret = false;
                        return 0;
                }
        }
        return -EINVAL;
}

static int read_file(const char *path, size_t max_size, char **ret_data, size_t *ret_len, bool check,
                     char **ret_reason) {
        struct stat st;
        char *buf = NULL;
        size_t len = 0, cap;
        int fd, r;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0) {
                r = -errno;
                goto out;
        }
        if (S_ISDIR(st.st_mode)) {
                r = -EISDIR;
                goto out;
        }
        if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode) && !S_ISCHR(st.st_mode)) {
                r = -EINVAL;
                goto out;
        }
        if (check && (r = ve_file_trust_check(&st, ret_reason)) < 0)
                goto out;
        cap = S_ISREG(st.st_mode) && (size_t) st.st_size < max_size ? (size_t) st.st_size + 1 : 4096;
        buf = malloc(cap);
        if (!buf) {
                r = -ENOMEM;
                goto out;
        }
        for (;;) {
                ssize_t n;

                if (len + 1 >= cap) {
                        size_t ncap = cap * 2;
                        char *nbuf;

                        if (cap > max_size + 1) {
                                r = -EFBIG;
                                goto out;
                        }
                        /* Grow by copy, so a secret never lingers in a block
                         * that realloc() released without wiping. */
                        nbuf = malloc(ncap);
                        if (!nbuf) {
                                r = -ENOMEM;
                                goto out;
                        }
                        memcpy(nbuf, buf, len);
                        ve_erase_free_n(buf, cap);
                        buf = nbuf;
                        cap = ncap;
                }
                n = read(fd, buf + len, cap - len - 1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        goto out;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
                if (len > max_size) {
                        r = -EFBIG;
                        goto out;
                }
        }
        buf[len] = '\0';
        *ret_data = buf;
        if (ret_len)
                *ret_len = len;
        buf = NULL;
        r = 0;
out:
        if (buf)
                ve_erase_free_n(buf, cap);
        close(fd);
        return r;
}

int ve_read_file(const char *path, size_t max_size, char **ret_data, size_t *ret_len) {
        return read_file(path, max_size, ret_data, ret_len, false, NULL);
}

int ve_read_trusted_file(const char *path, size_t max_size, char **ret_data, size_t *ret_len, char **ret_reason) {
        if (ret_reason)
                *ret_reason = NULL;
        return read_file(path, max_size, ret_data, ret_len, true, ret_reason);
}

int ve_file_trust_check(const struct stat *st, char **ret_reason) {
        char *m;

        if (ret_reason)
                *ret_reason = NULL;
        if (S_ISCHR(st->st_mode))
                return 0;
        if (st->st_uid != geteuid() && st->st_uid != 0)
                m = ve_asprintf("is owned by uid %u, neither this user (uid %u) nor root",
                                (unsigned) st->st_uid, (unsigned) geteuid());
        else if (st->st_mode & (S_IWGRP | S_IWOTH))
                m = ve_asprintf("is writable by group or others (mode %04o)", (unsigned) (st->st_mode & 07777));
        else
                return 0;
        ve_set_error(ret_reason, m);
        return -EPERM;
}

void ve_set_error(char **ret_error, char *msg) {
        if (ret_error)
                *ret_error = msg;
        else
                free(msg);
}

bool ve_has_control(const char *s) {
        for (; *s; s++)
                if (ve_is_control((unsigned char) *s))
                        return true;
        return false;
}

static bool percent_keeps(unsigned char c, const char *keep) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '.' || c == '_' || c == '~' || (c && keep && strchr(keep, c));
}

size_t ve_percent_encoded_len(const char *s, size_t len, const char *keep) {
        size_t n = 0;

        for (size_t i = 0; i < len; i++)
                n += percent_keeps((unsigned char) s[i], keep) ? 1 : 3;
        return n;
}

char *ve_percent_encode(char *o, const char *s, size_t len, const char *keep) {
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char) s[i];

                if (percent_keeps(c, keep))
                        *o++ = (char) c;
                else {
                        *o++ = '%';
                        *o++ = VE_HEX_UPPER[c >> 4];
                        *o++ = VE_HEX_UPPER[c & 15];
                }
        }
        return o;
}

/* The short JSON escape of c, or NULL (a control byte without one: \u00XX). */
static const char *json_short_escape(unsigned char c) {
        switch (c) {
        case '\\': return "\\\\";
        case '"':  return "\\\"";
        case '\n': return "\\n";
        case '\r': return "\\r";
        case '\t': return "\\t";
        case '\b': return "\\b";
        case '\f': return "\\f";
        default:   return NULL;
        }
}

size_t ve_json_quoted_len(const char *s) {
        size_t n = 2;

        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                n += json_short_escape(*p) ? 2 : *p < 0x20 ? 6 : 1;
        return n;
}

char *ve_json_quote_to(char *o, const char *s) {
        *o++ = '"';
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                const char *e = json_short_escape(*p);

                if (e) {
                        memcpy(o, e, 2);
                        o += 2;
                } else if (*p < 0x20) {
                        memcpy(o, "\\u00", 4);
                        o[4] = VE_HEX_LOWER[*p >> 4];
                        o[5] = VE_HEX_LOWER[*p & 15];
                        o += 6;
                } else
                        *o++ = (char) *p;
        }
        *o++ = '"';
        return o;
}

int ve_ascii_strncasecmp(const char *a, const char *b, size_t n) {
        for (; n > 0; a++, b++, n--) {
                unsigned char ca = (unsigned char) ve_ascii_tolower(*a), cb = (unsigned char) ve_ascii_tolower(*b);

                if (ca != cb || ca == '\0')
                        return ca - cb;
        }
        return 0;
}

int ve_ascii_strcasecmp(const char *a, const char *b) {
        return ve_ascii_strncasecmp(a, b, SIZE_MAX);
}

uint64_t ve_now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

/* env_start and env_end (fields 50 and 51, Linux 3.5) of /proc/self/stat. */
static int env_block(uintptr_t *ret_start, uintptr_t *ret_end) {
        char buf[2048], *p;
        unsigned long long a = 0, b = 0;
        char *q, *r;
        ssize_t n;
        int fd;

        fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        do
                n = read(fd, buf, sizeof buf - 1);
        while (n < 0 && errno == EINTR);
        close(fd);
        if (n <= 0)
                return n < 0 ? -errno : -EIO;
        buf[n] = '\0';
        /* The command name (field 2) may hold blanks and ')'. */
        p = strrchr(buf, ')');
        if (!p)
                return -EIO;
        p++;
        for (int field = 3; field < 50; field++) {
                p = strchr(p + 1, ' ');
                if (!p)
                        return -EIO;
        }
        /* fields 50 and 51: env_start env_end (strtoull, not sscanf: the
         * shim links this, and each libc symbol version it needs is
         * checked by the loader in every process) */
        errno = 0;
        a = strtoull(p, &q, 10);
        if (q == p || *q != ' ')
                return -EIO;
        b = strtoull(q, &r, 10);
        if (r == q || errno != 0 || a == 0 || b <= a)
                return -EIO;
        *ret_start = (uintptr_t) a;
        *ret_end = (uintptr_t) b;
        return 0;
}

int ve_env_scrub(const char *name) {
        char *found[16];
        size_t len = strlen(name), n = 0;
        uintptr_t start = 0, end = 0;
        int r, wiped = 0;

        for (char **e = environ; e && *e && n < sizeof found / sizeof found[0]; e++)
                if (strncmp(*e, name, len) == 0 && (*e)[len] == '=')
                        found[n++] = *e;
        if (n == 0)
                return 0;
        r = env_block(&start, &end);
        /* First out of environ, so that no getenv() finds a string being
         * overwritten. */
        (void) unsetenv(name);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                uintptr_t s = (uintptr_t) found[i];

                if (s >= start && s < end) {
                        size_t l = strnlen(found[i], end - s);

                        explicit_bzero(found[i], l);
                        wiped++;
                }
        }
        return wiped;
}
