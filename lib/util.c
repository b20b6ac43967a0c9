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

char *ve_asprintf(const char *fmt, ...) {
        va_list ap;
        char *s;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        return r < 0 ? NULL : s;
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
        static const char *const yes[] = { "1", "t", "T", "TRUE", "true", "True" };
        static const char *const no[] = { "0", "f", "F", "FALSE", "false", "False" };

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

int ve_read_file(const char *path, size_t max_size, char **ret_data, size_t *ret_len) {
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

void ve_set_error(char **ret_error, char *msg) {
        if (ret_error)
                *ret_error = msg;
        else
                free(msg);
}

bool ve_has_control(const char *s) {
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f)
                        return true;
        return false;
}

uint64_t ve_now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}
