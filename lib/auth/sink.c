/* SPDX-License-Identifier: MIT */
/* The token sink (VAULTENV_TOKEN_SINK): a file through which processes of
 * one user share a login's token, read only when no other user could have
 * put it there, written atomically, and its lock (SINK.lock), which makes
 * "adopt the sink's token or log in and write it" single-flight across
 * processes. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth-internal.h"
#include "auth-state.h"
#include "log.h"
#include "util.h"

/* Opens the sink for reading, refusing what another user could have put
 * there or changed: a symbolic link, not a regular file, not owned by our
 * euid, writable by group or others (ve_file_trust_check()). -errno and in
 * *ret_why what is wrong with it, worded to follow the sink's name
 * ("is a symbolic link"). */
static int sink_open(const char *path, char **ret_why) {
        struct stat st;
        char *why = NULL;
        int fd, r;

        /* O_NONBLOCK: a FIFO put there must not hang the open(). */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                r = -errno;
                if (r == -ELOOP)
                        ve_set_error(ret_why, strdup("is a symbolic link"));
                else if (r == -ENOENT)
                        ve_set_error(ret_why, strdup("does not exist"));
                else
                        ve_set_error(ret_why, ve_asprintf("cannot be read: %s", strerror(-r)));
                return r;
        }
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
                ve_set_error(ret_why, strdup("is not a regular file owned by this user"));
                close(fd);
                return -EPERM;
        }
        r = ve_file_trust_check(&st, &why);
        if (r < 0) {
                ve_set_error(ret_why, why);
                close(fd);
                return r;
        }
        ve_auth_warn_mode(path, "VAULTENV_TOKEN_SINK", &st);
        return fd;
}

/* The sink's token: 0, or -errno and in *ret_why what is wrong (see
 * sink_open(); -ENODATA: empty). */
int ve_sink_read(const char *path, char **ret_token, char **ret_why) {
        int fd, r;

        fd = sink_open(path, ret_why);
        if (fd < 0)
                return fd;
        r = ve_auth_read_fd_trimmed(fd, ret_token);
        close(fd);
        if (r == -ENODATA)
                ve_set_error(ret_why, strdup("is empty"));
        else if (r == -EFBIG)
                ve_set_error(ret_why, strdup("is larger than 64 KiB"));
        else if (r < 0 && r != -ENOMEM)
                ve_set_error(ret_why, ve_asprintf("cannot be read: %s", strerror(-r)));
        return r;
}

/* The temporary files of the sink (".BASE.XXXXXX" in its directory) that
 * a writer killed before its rename() left: regular files of this user.
 * Removed only by the holder of the sink's lock (ve_sink_flight_lock()), when no
 * other writer can be between its link and its rename. */
static void sink_sweep(const char *dir, const char *base) {
        size_t blen = strlen(base);
        struct dirent *d;
        DIR *dp;

        dp = opendir(dir);
        if (!dp)
                return;
        while ((d = readdir(dp))) {
                const char *n = d->d_name;
                struct stat st;
                bool ours = strlen(n) == blen + 8 && n[0] == '.' && memcmp(n + 1, base, blen) == 0 &&
                            n[blen + 1] == '.';

                for (size_t i = blen + 2; ours && n[i]; i++)
                        ours = isalnum((unsigned char) n[i]);
                if (!ours || fstatat(dirfd(dp), n, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
                    !S_ISREG(st.st_mode) || st.st_uid != geteuid())
                        continue;
                if (unlinkat(dirfd(dp), n, 0) == 0)
                        ve_debug("removed %s/%s, a temporary file of VAULTENV_TOKEN_SINK its writer left", dir, n);
        }
        closedir(dp);
}

static int write_all(int fd, const char *s, size_t len) {
        size_t off = 0;

        while (off < len) {
                ssize_t n = write(fd, s + off, len - off);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                off += (size_t) n;
        }
        return 0;
}

/* The token in an unnamed 0600 file of dir (O_TMPFILE), then linked as tmp
 * (a fresh ".BASE.XXXXXX"): a writer killed while writing leaves nothing.
 * -EOPNOTSUPP when the file system or /proc cannot do it. */
static int sink_write_unnamed(const char *dir, char *tmp, const char *token) {
        static const char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        char proc[64];
        size_t n = strlen(tmp);
        int fd, r;

        fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
        if (fd < 0)
                return errno == EISDIR || errno == EINVAL || errno == EOPNOTSUPP ? -EOPNOTSUPP : -errno;
        r = fchmod(fd, 0600) < 0 ? -errno : write_all(fd, token, strlen(token));
        if (r < 0)
                goto out;
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
        for (int tries = 0;; tries++) {
                unsigned char rnd[6];

                if (getrandom(rnd, sizeof rnd, 0) != (ssize_t) sizeof rnd) {
                        r = -EOPNOTSUPP;
                        goto out;
                }
                for (size_t i = 0; i < 6; i++)
                        tmp[n - 6 + i] = chars[rnd[i] % (sizeof chars - 1)];
                if (linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) == 0)
                        break;
                r = -errno;
                if (r != -EEXIST || tries >= 16) {
                        /* No /proc (or it does not let us link): the
                         * named way. */
                        if (r == -ENOENT || r == -EPERM || r == -EXDEV)
                                r = -EOPNOTSUPP;
                        goto out;
                }
        }
        r = 0;
out:
        close(fd);
        return r;
}

/* Writes token to the sink atomically: a 0600 file in the same directory,
 * unnamed while it is written where the file system allows (O_TMPFILE;
 * else mkostemp(), O_EXCL: never through a link), then rename(), which
 * replaces the name (a link there included) and never follows it.
 * flight: this process holds the sink's lock, and sweeps what killed
 * writers left (sink_sweep()). */
void ve_sink_write(const char *path, const char *token, bool flight) {
        char *copy = NULL, *tmp = NULL, *base;
        const char *dir;
        int fd = -1, r = 0;

        copy = strdup(path);
        if (!copy)
                goto oom;
        base = strrchr(copy, '/');
        if (base) {
                *base++ = 0;
                dir = base - 1 == copy ? "/" : copy;
        } else {
                dir = ".";
                base = copy;
        }
        tmp = ve_asprintf("%s%s.%s.XXXXXX", dir, strcmp(dir, "/") == 0 ? "" : "/", base);
        if (!tmp)
                goto oom;
        if (flight)
                sink_sweep(dir, base);
        r = sink_write_unnamed(dir, tmp, token);
        if (r == -EOPNOTSUPP) {
                memcpy(tmp + strlen(tmp) - 6, "XXXXXX", 6);
                fd = mkostemp(tmp, O_CLOEXEC | O_NOFOLLOW);
                if (fd < 0) {
                        r = -errno;
                        goto fail;
                }
                r = fchmod(fd, 0600) < 0 ? -errno : write_all(fd, token, strlen(token));
                if (r < 0)
                        goto fail;
                r = close(fd) < 0 ? -errno : 0;
                fd = -1;
        } else if (r < 0) {
                /* Nothing was linked. */
                free(tmp);
                tmp = NULL;
                goto fail;
        }
        if (r < 0 || rename(tmp, path) < 0) {
                r = r < 0 ? r : -errno;
                goto fail;
        }
        ve_debug("wrote the Vault token to VAULTENV_TOKEN_SINK %s", path);
        free(tmp);
        free(copy);
        return;
fail:
        ve_warn("cannot write VAULTENV_TOKEN_SINK %s: %s", path, strerror(-r));
        if (fd >= 0)
                close(fd);
        if (tmp)
                unlink(tmp);
        free(tmp);
        free(copy);
        return;
oom:
        ve_warn("cannot write VAULTENV_TOKEN_SINK %s: out of memory", path);
        free(copy);
}

/* Removes the sink when it still holds token (a revoked token must not be
 * offered to anyone). */
void ve_sink_remove_if(const char *path, const char *token) {
        char *t = NULL, *why = NULL;
        int r;

        r = ve_sink_read(path, &t, &why);
        if (r < 0) {
                if (r != -ENOENT && r != -ENODATA && why)
                        ve_warn("VAULTENV_TOKEN_SINK %s %s; not removing it", path, why);
                free(why);
                return;
        }
        if (streq_opt(t, token) && unlink(path) < 0)
                ve_warn("cannot remove VAULTENV_TOKEN_SINK %s: %s", path, strerror(errno));
        ve_auth_secret_free(t);
}

/* The single flight across processes: "adopt the sink's token, or log in
 * and write it" runs under an exclusive flock() on SINK.lock, a file beside
 * the sink that holds nothing (so siblings started together make one login
 * between them). The lock file gets the sink's checks (no symbolic link, a
 * regular file of this user that others may not write). Taken by polling,
 * at most a->flight_wait_ms: a holder that hangs (stopped, or a login that
 * never ends) delays the others, it does not block them for ever. Returns
 * the locked descriptor, or -1 when the flight goes on without the lock
 * (logged). No mutex is held meanwhile: only a->busy. */
int ve_sink_flight_lock(struct ve_auth *a) {
        char *path, *why = NULL;
        uint64_t deadline;
        struct stat st;
        int fd, r;

        path = ve_asprintf("%s.lock", a->sink);
        if (!path)
                return -1;
        fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK, 0600);
        if (fd < 0) {
                ve_warn("cannot open %s (the lock of VAULTENV_TOKEN_SINK): %s; logging in without it", path,
                        errno == ELOOP ? "it is a symbolic link" : strerror(errno));
                free(path);
                return -1;
        }
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid())
                why = strdup("is not a regular file owned by this user");
        else if (ve_file_trust_check(&st, &why) < 0 && !why)
                why = strdup("is not trusted");
        if (why) {
                ve_warn("%s (the lock of VAULTENV_TOKEN_SINK) %s; logging in without it", path, why);
                goto fail;
        }
        deadline = ve_now_ms() + a->flight_wait_ms;
        for (bool said = false;; said = true) {
                r = flock(fd, LOCK_EX | LOCK_NB);
                if (r == 0)
                        break;
                if (errno != EWOULDBLOCK && errno != EINTR) {
                        ve_warn("cannot lock %s (the lock of VAULTENV_TOKEN_SINK): %s; logging in without it",
                                path, strerror(errno));
                        goto fail;
                }
                if (ve_now_ms() >= deadline) {
                        ve_warn("another process has held %s (the lock of VAULTENV_TOKEN_SINK) for %llus; "
                                "logging in without waiting for it", path,
                                (unsigned long long) (a->flight_wait_ms / 1000));
                        goto fail;
                }
                if (!said)
                        ve_debug("another process is logging in (%s is locked); waiting for its token", path);
                usleep(20 * 1000);
        }
        free(path);
        atomic_store(&a->flight_fd, fd);
        return fd;
fail:
        free(why);
        free(path);
        close(fd);
        return -1;
}

/* Ends the flight: unlocks before closing, because a child forked meanwhile
 * shares the locked open file and would otherwise keep it locked. */
void ve_sink_flight_unlock(struct ve_auth *a, int fd) {
        if (fd < 0)
                return;
        atomic_store(&a->flight_fd, -1);
        (void) flock(fd, LOCK_UN);
        close(fd);
}
