/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* The audit trail (VAULTENV_AUDIT): one record per mapped name and distinct
 * source resolved in a process, saying where the value came from; never the
 * value. The resolver (resolve_audit.c) decides when to record; this file
 * formats a record and delivers it:
 *
 *   - "syslog": one datagram to /dev/log in the format glibc's syslog()
 *     sends (RFC 3164 as the local syslog daemon or journald take it),
 *     facility authpriv, severity info, ident "vaultenv" with the process's
 *     pid. openlog()/syslog() are not used: they would change the host
 *     program's own ident, facility and socket.
 *   - "/abs/path": the file is opened for each record (O_APPEND, O_CLOEXEC,
 *     created 0600) and written with one write(2), then closed. A long-lived
 *     descriptor could be closed or replaced by the program (daemons close
 *     every descriptor), and records would land in someone else's file.
 *
 * A delivery failure is reported once (ve_error) and the trail is then off
 * for the process: no further attempt, no second message.
 *
 * Thread-safe and lock-free (the "off" flag is atomic); no allocation on
 * the recording path (records are formatted on the stack). */

#define VE_AUDIT_RECORD_MAX 2048
#define VE_AUDIT_SYSLOG_PATH "/dev/log"

enum ve_audit_source {
        VE_AUDIT_NONE = 0,      /* nothing resolved the name */
        VE_AUDIT_VAULT,         /* refs[]: the Vault reference(s) read */
        VE_AUDIT_ENV,           /* the process's own environment value */
        VE_AUDIT_FILE,          /* file: NAME_FILE's file */
        VE_AUDIT_SECRETS_DIR,   /* file: VAULTENV_SECRETS_DIR/NAME or /name */
        VE_AUDIT_DEFAULT,       /* the default= option */
};

struct ve_audit_ref {
        const char *path;       /* "secret/app/db" */
        const char *key;        /* NULL: not known (bulk names) */
        unsigned long version;  /* KV v2 version the read returned; 0: none or unknown */
};

struct ve_audit_event {
        const char *name;
        enum ve_audit_source source;
        const struct ve_audit_ref *refs;        /* VE_AUDIT_VAULT: n_refs >= 1 */
        size_t n_refs;                          /* more than one: a template */
        const char *file;                       /* VE_AUDIT_FILE, VE_AUDIT_SECRETS_DIR */
};

struct ve_audit;

/* target: "syslog" or an absolute path. 0, -EINVAL (anything else),
 * -ENOMEM. Opens nothing yet. */
int ve_audit_new(const char *target, struct ve_audit **ret_audit);
void ve_audit_free(struct ve_audit *a);

/* Formats and delivers one record (pid, program name and time taken now).
 * 0; -EIO when the trail is off (this or an earlier failure), -EINVAL for
 * a bad event. */
int ve_audit_record(struct ve_audit *a, const struct ve_audit_event *ev);

const char *ve_audit_source_name(enum ve_audit_source s);

/* The record body, one line without the trailing newline:
 *   pid=123 program=app name=DB_PASSWORD source=vault path=secret/app/db key=password version=3
 * A template: source=vault refs=secret/a#user@3,secret/b#password@1.
 * Files: source=file file=/run/secrets/db. A field value with a blank, a
 * quote, a backslash, '=', a control or a non-ASCII byte is written in
 * double quotes with \\ \" and \xHH escapes. Returns the length, or -ENOBUFS
 * when it does not fit in size (buf then holds a truncated string).
 * Exposed for the tests. */
int ve_audit_format_body(const struct ve_audit_event *ev, pid_t pid, const char *program,
                         char *buf, size_t size);

/* Whole records, with the trailing newline for files:
 *   file:   "2026-11-27T10:57:30.123Z vaultenv " BODY "\n"  (UTC)
 *   syslog: "<86>Nov 27 10:57:30 vaultenv[PID]: " BODY       (local time, RFC 3164)
 * Length or -ENOBUFS. */
int ve_audit_format_file(const struct ve_audit_event *ev, const struct timespec *now, pid_t pid,
                         const char *program, char *buf, size_t size);
int ve_audit_format_syslog(const struct ve_audit_event *ev, const struct timespec *now, pid_t pid,
                           const char *program, char *buf, size_t size);
