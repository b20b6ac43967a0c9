/* SPDX-License-Identifier: MIT */
/* Credentials in memory and on disk: the secure-arena copies every kept
 * secret lives in, and the credential files (a secret id, a JWT, a token
 * file, the sink) read whole, checked and trimmed. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth-internal.h"
#include "log.h"
#include "util.h"

#define CREDENTIAL_FILE_MAX (64 * 1024)

char *ve_auth_secret_dup(const char *s) {
        static atomic_flag warned = ATOMIC_FLAG_INIT;
        char *d;

        if (!s)
                return NULL;
        d = ve_secure_strdup(s);
        if (d)
                return d;
        /* The arena cannot grow (mmap() failed): the heap will do, wiped
         * when freed (ve_auth_secret_free()). Said once. */
        d = strdup(s);
        if (d && !atomic_flag_test_and_set(&warned))
                ve_warn("cannot get memory excluded from core dumps; keeping Vault credentials on the heap");
        return d;
}

void ve_auth_secret_free(char *s) {
        if (!s)
                return;
        if (ve_secure_owns(s))
                ve_secure_free(s);
        else
                ve_erase_free(s);
}

int ve_auth_read_fd_trimmed(int fd, char **ret_value) {
        char *buf, *v;
        size_t len = 0, s = 0, e;
        int r = 0;

        buf = malloc(CREDENTIAL_FILE_MAX + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n = read(fd, buf + len, CREDENTIAL_FILE_MAX + 1 - len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        r = -errno;
                        goto out;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
                if (len > CREDENTIAL_FILE_MAX) {
                        r = -EFBIG;
                        goto out;
                }
        }
        e = len;
        while (s < e && (buf[s] == ' ' || buf[s] == '\t' || buf[s] == '\n' || buf[s] == '\r'))
                s++;
        while (e > s && (buf[e - 1] == ' ' || buf[e - 1] == '\t' || buf[e - 1] == '\n' || buf[e - 1] == '\r'))
                e--;
        if (e == s) {
                r = -ENODATA;
                goto out;
        }
        buf[e] = 0;
        v = ve_auth_secret_dup(buf + s);
        if (!v) {
                r = -ENOMEM;
                goto out;
        }
        *ret_value = v;
out:
        ve_erase_free_n(buf, CREDENTIAL_FILE_MAX + 1);
        return r;
}

void ve_auth_warn_mode(const char *path, const char *var, const struct stat *st) {
        if (S_ISREG(st->st_mode) && (st->st_mode & (S_IRGRP | S_IROTH)))
                ve_warn("%s (%s) is readable by group or others (mode %04o); it holds a credential",
                        path, var, (unsigned) (st->st_mode & 07777));
}

static pthread_mutex_t refusal_lock = PTHREAD_MUTEX_INITIALIZER;

void ve_auth_refusal_lock(void) {
        pthread_mutex_lock(&refusal_lock);
}

void ve_auth_refusal_unlock(void) {
        pthread_mutex_unlock(&refusal_lock);
}

void ve_auth_refusal_log(const char *msg) {
        static char last[512];
        bool again;

        if (!msg)
                return;
        pthread_mutex_lock(&refusal_lock);
        again = strncmp(last, msg, sizeof last - 1) == 0;
        if (!again)
                snprintf(last, sizeof last, "%s", msg);
        pthread_mutex_unlock(&refusal_lock);
        if (!again)
                ve_error("%s", msg);
}

int ve_auth_read_credential(const char *path, const char *var, char **ret_value, char **ret_error) {
        struct stat st;
        int fd, r;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                r = -errno;
                ve_set_error(ret_error, ve_asprintf("cannot read %s (%s): %s", path, var, strerror(-r)));
                return r;
        }
        r = fstat(fd, &st) < 0 ? -errno : S_ISDIR(st.st_mode) ? -EISDIR : 0;
        if (r < 0) {
                ve_set_error(ret_error, ve_asprintf("cannot read %s (%s): %s", path, var, strerror(-r)));
                close(fd);
                return r;
        }
        {
                /* Checked on the opened descriptor: a symbolic link's
                 * target, and no window between check and read. */
                char *why = NULL;

                r = ve_file_trust_check(&st, &why);
                if (r < 0) {
                        char *m = why ? ve_asprintf("%s (%s) %s; refusing to use it", path, var, why) : NULL;

                        ve_auth_refusal_log(m);
                        ve_set_error(ret_error, m);
                        free(why);
                        close(fd);
                        return r;
                }
        }
        ve_auth_warn_mode(path, var, &st);
        r = ve_auth_read_fd_trimmed(fd, ret_value);
        close(fd);
        if (r == -ENODATA)
                ve_set_error(ret_error, ve_asprintf("%s (%s) is empty", path, var));
        else if (r == -EFBIG)
                ve_set_error(ret_error, ve_asprintf("%s (%s) is larger than 64 KiB", path, var));
        else if (r < 0 && r != -ENOMEM)
                ve_set_error(ret_error, ve_asprintf("cannot read %s (%s): %s", path, var, strerror(-r)));
        return r;
}
