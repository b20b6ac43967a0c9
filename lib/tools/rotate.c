/* SPDX-License-Identifier: MIT */
/* Random values and --value-file for `vaultenv rotate` (rotate.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "rotate.h"
#include "util.h"

int ve_rotate_parse_length(const char *s, size_t *ret_length, char **ret_error) {
        unsigned long long n = 0;

        if (!s || !ret_length)
                return -EINVAL;
        if (!*s)
                goto bad;
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '9')
                        goto bad;
                n = n * 10 + (unsigned) (*p - '0');
                if (n > VE_ROTATE_LENGTH_MAX)
                        goto bad;
        }
        if (n < VE_ROTATE_LENGTH_MIN)
                goto bad;
        *ret_length = (size_t) n;
        return 0;
bad:
        ve_set_error(ret_error, ve_asprintf("--length \"%s\": expected a number from %d to %d", s,
                                         VE_ROTATE_LENGTH_MIN, VE_ROTATE_LENGTH_MAX));
        return -EINVAL;
}

size_t ve_random_map(const uint8_t *bytes, size_t n_bytes, const char *alphabet,
                     char *out, size_t length, size_t *ret_used) {
        size_t k = alphabet ? strlen(alphabet) : 0, done = 0, i = 0;
        unsigned limit;

        if (k == 0 || k > 256) {
                if (ret_used)
                        *ret_used = 0;
                return 0;
        }
        /* The largest multiple of k not above 256: bytes at or above it
         * would make the first 256 % k characters likelier. */
        limit = 256 - 256 % (unsigned) k;
        for (; i < n_bytes && done < length; i++)
                if (bytes[i] < limit)
                        out[done++] = alphabet[bytes[i] % k];
        if (ret_used)
                *ret_used = i;
        return done;
}

int ve_random_string(const char *alphabet, size_t length, char **ret) {
        uint8_t pool[256];
        size_t done = 0;
        char *s;
        int r = 0;

        if (!alphabet || !*alphabet || strlen(alphabet) > 256 || length == 0 || length > SIZE_MAX - 1 || !ret)
                return -EINVAL;
        s = malloc(length + 1);
        if (!s)
                return -ENOMEM;
        while (done < length) {
                ssize_t n = getrandom(pool, sizeof pool, 0);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        break;
                }
                done += ve_random_map(pool, (size_t) n, alphabet, s + done, length - done, NULL);
        }
        explicit_bzero(pool, sizeof pool);
        if (r < 0) {
                ve_erase_free_n(s, length + 1);
                return r;
        }
        s[length] = '\0';
        *ret = s;
        return 0;
}

static int read_all(int fd, char **ret_data, size_t *ret_len) {
        size_t len = 0, cap = 4096;
        char *buf = malloc(cap);

        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n;

                if (len + 1 >= cap) {
                        char *nb;

                        if (cap > VE_ROTATE_VALUE_MAX) {
                                ve_erase_free_n(buf, cap);
                                return -EFBIG;
                        }
                        nb = malloc(cap * 2);
                        if (!nb) {
                                ve_erase_free_n(buf, cap);
                                return -ENOMEM;
                        }
                        memcpy(nb, buf, len);
                        ve_erase_free_n(buf, cap);
                        buf = nb;
                        cap *= 2;
                }
                n = read(fd, buf + len, cap - len - 1);
                if (n < 0) {
                        int e = errno;

                        if (e == EINTR)
                                continue;
                        ve_erase_free_n(buf, cap);
                        return -e;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        if (len > VE_ROTATE_VALUE_MAX) {
                ve_erase_free_n(buf, cap);
                return -EFBIG;
        }
        buf[len] = '\0';
        *ret_data = buf;
        *ret_len = len;
        return 0;
}

int ve_rotate_read_value(const char *path, char **ret_value, char **ret_error) {
        const char *what;
        char *data = NULL;
        size_t len = 0;
        int fd, r;

        if (!path || !ret_value)
                return -EINVAL;
        what = strcmp(path, "-") == 0 ? "standard input" : path;
        if (strcmp(path, "-") == 0)
                fd = STDIN_FILENO;
        else {
                fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (fd < 0) {
                        r = -errno;
                        ve_set_error(ret_error, ve_asprintf("--value-file %s: %s", what, strerror(-r)));
                        return r;
                }
        }
        r = read_all(fd, &data, &len);
        if (fd != STDIN_FILENO)
                close(fd);
        if (r < 0) {
                ve_set_error(ret_error, ve_asprintf("--value-file %s: %s", what,
                                                 r == -EFBIG ? "larger than 1 MiB" : strerror(-r)));
                return r;
        }
        if (memchr(data, '\0', len)) {
                ve_set_error(ret_error, ve_asprintf("--value-file %s: holds a NUL byte, which no environment "
                                                 "value can", what));
                r = -EINVAL;
                goto fail;
        }
        if (len > 0 && data[len - 1] == '\n') {
                data[--len] = '\0';
                if (len > 0 && data[len - 1] == '\r')
                        data[--len] = '\0';
        }
        if (len == 0) {
                ve_set_error(ret_error, ve_asprintf("--value-file %s: the value is empty", what));
                r = -EINVAL;
                goto fail;
        }
        *ret_value = data;
        return 0;
fail:
        ve_erase_free_n(data, len + 1);
        return r;
}
