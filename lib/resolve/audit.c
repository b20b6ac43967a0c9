/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "audit.h"
#include "log.h"

/* authpriv (10) * 8 + info (6): the facility meant for security records,
 * readable by administrators only on most systems. */
#define SYSLOG_PRI 86

struct ve_audit {
        bool syslog;
        char *file;             /* the absolute path, when not syslog */
        atomic_bool off;        /* a delivery failed: reported, no more attempts */
};

int ve_audit_new(const char *target, struct ve_audit **ret_audit) {
        struct ve_audit *a;

        if (!target || (strcmp(target, "syslog") != 0 && target[0] != '/'))
                return -EINVAL;
        a = calloc(1, sizeof *a);
        if (!a)
                return -ENOMEM;
        a->syslog = strcmp(target, "syslog") == 0;
        if (!a->syslog && !(a->file = strdup(target))) {
                free(a);
                return -ENOMEM;
        }
        *ret_audit = a;
        return 0;
}

void ve_audit_free(struct ve_audit *a) {
        if (!a)
                return;
        free(a->file);
        free(a);
}

const char *ve_audit_source_name(enum ve_audit_source s) {
        switch (s) {
        case VE_AUDIT_VAULT:
                return "vault";
        case VE_AUDIT_ENV:
                return "env";
        case VE_AUDIT_FILE:
                return "file";
        case VE_AUDIT_SECRETS_DIR:
                return "secrets-dir";
        case VE_AUDIT_DEFAULT:
                return "default";
        default:
                return "none";
        }
}

/* A bounded string builder: writes what fits, remembers that more was
 * asked for. */
struct out {
        char *buf;
        size_t size, len;
        bool overflow;
};

static void put_mem(struct out *o, const char *s, size_t n) {
        if (o->len + n >= o->size) {
                o->overflow = true;
                n = o->len + 1 < o->size ? o->size - o->len - 1 : 0;
        }
        memcpy(o->buf + o->len, s, n);
        o->len += n;
        if (o->size)
                o->buf[o->len] = '\0';
}

static void put(struct out *o, const char *s) {
        put_mem(o, s, strlen(s));
}

__attribute__((format(printf, 2, 3)))
static void putf(struct out *o, const char *fmt, ...) {
        char tmp[128];
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(tmp, sizeof tmp, fmt, ap);
        va_end(ap);
        if (n < 0)
                return;
        put_mem(o, tmp, (size_t) n < sizeof tmp ? (size_t) n : sizeof tmp - 1);
}

static bool needs_quotes(const char *s) {
        if (!*s)
                return true;
        for (const unsigned char *c = (const unsigned char *) s; *c; c++)
                if (*c <= ' ' || *c >= 0x7f || *c == '"' || *c == '\\' || *c == '=')
                        return true;
        return false;
}

/* A field value as is, or in double quotes with escapes: a record stays
 * one line however odd a path or program name is. */
static void put_value(struct out *o, const char *s) {
        if (!needs_quotes(s)) {
                put(o, s);
                return;
        }
        put(o, "\"");
        for (const unsigned char *c = (const unsigned char *) s; *c; c++) {
                if (*c == '"' || *c == '\\') {
                        char e[2] = { '\\', (char) *c };
                        put_mem(o, e, 2);
                } else if (*c < ' ' || *c >= 0x7f)
                        putf(o, "\\x%02x", *c);
                else
                        put_mem(o, (const char *) c, 1);
        }
        put(o, "\"");
}

static void put_field(struct out *o, const char *key, const char *value) {
        put(o, " ");
        put(o, key);
        put(o, "=");
        put_value(o, value);
}

static int body(struct out *o, const struct ve_audit_event *ev, pid_t pid, const char *program) {
        if (!ev || !ev->name || (ev->source == VE_AUDIT_VAULT && (!ev->refs || ev->n_refs == 0)))
                return -EINVAL;
        putf(o, "pid=%ld", (long) pid);
        put_field(o, "program", program && *program ? program : "?");
        put_field(o, "name", ev->name);
        put_field(o, "source", ve_audit_source_name(ev->source));
        switch (ev->source) {
        case VE_AUDIT_VAULT:
                if (ev->n_refs == 1) {
                        put_field(o, "path", ev->refs[0].path);
                        if (ev->refs[0].key)
                                put_field(o, "key", ev->refs[0].key);
                        if (ev->refs[0].version)
                                putf(o, " version=%lu", ev->refs[0].version);
                        break;
                }
                /* A template: every reference it was rendered from, in
                 * mapping-file syntax (PATH#KEY@VERSION), quoted as one
                 * value when any part needs it. */
                {
                        char refs[VE_AUDIT_RECORD_MAX];
                        struct out r = { .buf = refs, .size = sizeof refs };

                        for (size_t i = 0; i < ev->n_refs; i++) {
                                if (i)
                                        put(&r, ",");
                                put(&r, ev->refs[i].path);
                                if (ev->refs[i].key) {
                                        put(&r, "#");
                                        put(&r, ev->refs[i].key);
                                }
                                if (ev->refs[i].version)
                                        putf(&r, "@%lu", ev->refs[i].version);
                        }
                        if (r.overflow)
                                o->overflow = true;
                        put_field(o, "refs", refs);
                }
                break;
        case VE_AUDIT_FILE:
        case VE_AUDIT_SECRETS_DIR:
                if (ev->file)
                        put_field(o, "file", ev->file);
                break;
        default:
                break;
        }
        return 0;
}

static int finish(struct out *o) {
        if (o->overflow)
                return -ENOBUFS;
        return (int) o->len;
}

int ve_audit_format_body(const struct ve_audit_event *ev, pid_t pid, const char *program,
                         char *buf, size_t size) {
        struct out o = { .buf = buf, .size = size };
        int k;

        if (!buf || size == 0)
                return -ENOBUFS;
        buf[0] = '\0';
        if ((k = body(&o, ev, pid, program)) < 0)
                return k;
        return finish(&o);
}

int ve_audit_format_file(const struct ve_audit_event *ev, const struct timespec *now, pid_t pid,
                         const char *program, char *buf, size_t size) {
        struct out o = { .buf = buf, .size = size };
        struct tm tm;
        int k;

        if (!buf || size == 0)
                return -ENOBUFS;
        buf[0] = '\0';
        /* gmtime_r: no time zone lookup (which would read TZ and files). */
        if (!gmtime_r(&now->tv_sec, &tm))
                return -EINVAL;
        putf(&o, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ vaultenv ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, now->tv_nsec / 1000000);
        if ((k = body(&o, ev, pid, program)) < 0)
                return k;
        put(&o, "\n");
        return finish(&o);
}

int ve_audit_format_syslog(const struct ve_audit_event *ev, const struct timespec *now, pid_t pid,
                           const char *program, char *buf, size_t size) {
        static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
        struct out o = { .buf = buf, .size = size };
        struct tm tm;
        int k;

        if (!buf || size == 0)
                return -ENOBUFS;
        buf[0] = '\0';
        /* Local time, as syslog() writes it: RFC 3164 has no zone. */
        if (!localtime_r(&now->tv_sec, &tm) || tm.tm_mon < 0 || tm.tm_mon > 11)
                return -EINVAL;
        putf(&o, "<%d>%s %2d %02d:%02d:%02d vaultenv[%ld]: ", SYSLOG_PRI, months[tm.tm_mon], tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, (long) pid);
        if ((k = body(&o, ev, pid, program)) < 0)
                return k;
        return finish(&o);
}

static int write_all(int fd, const char *buf, size_t len) {
        ssize_t n;

        do
                n = write(fd, buf, len);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        return (size_t) n == len ? 0 : -EIO;
}

static int deliver_file(const char *path, const char *rec, size_t len) {
        int fd, k;

        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
        if (fd < 0)
                return -errno;
        k = write_all(fd, rec, len);
        (void) close(fd);
        return k;
}

/* One datagram to /dev/log; a daemon listening on a stream socket (some
 * syslog-ng set-ups) gets the record NUL-terminated, as glibc sends it. */
static int deliver_syslog(const char *rec, size_t len) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd, k;

        memcpy(sa.sun_path, VE_AUDIT_SYSLOG_PATH, sizeof VE_AUDIT_SYSLOG_PATH);
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                k = -errno;
                (void) close(fd);
                if (k != -EPROTOTYPE)
                        return k;
                fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (fd < 0)
                        return -errno;
                if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                        k = -errno;
                        (void) close(fd);
                        return k;
                }
                len++;          /* the NUL */
        }
        do
                k = send(fd, rec, len, MSG_NOSIGNAL) < 0 ? -errno : 0;
        while (k == -EINTR);
        (void) close(fd);
        return k;
}

int ve_audit_record(struct ve_audit *a, const struct ve_audit_event *ev) {
        char rec[VE_AUDIT_RECORD_MAX];
        struct timespec now;
        int n, k;

        if (!a || atomic_load_explicit(&a->off, memory_order_relaxed))
                return -EIO;
        if (clock_gettime(CLOCK_REALTIME, &now) < 0)
                now = (struct timespec) {};
        if (a->syslog)
                n = ve_audit_format_syslog(ev, &now, getpid(), program_invocation_short_name, rec, sizeof rec);
        else
                n = ve_audit_format_file(ev, &now, getpid(), program_invocation_short_name, rec, sizeof rec);
        if (n == -EINVAL)
                return n;
        if (n < 0) {
                /* Too long (a huge path): the truncated record still says
                 * which name was resolved; files keep their line end. */
                n = (int) strlen(rec);
                if (!a->syslog && n > 0)
                        rec[n - 1] = '\n';
        }
        k = a->syslog ? deliver_syslog(rec, (size_t) n) : deliver_file(a->file, rec, (size_t) n);
        if (k < 0) {
                if (!atomic_exchange(&a->off, true))
                        ve_error("VAULTENV_AUDIT: cannot write to %s: %s; no audit records from this process",
                                 a->syslog ? VE_AUDIT_SYSLOG_PATH : a->file, strerror(-k));
                return -EIO;
        }
        return 0;
}
