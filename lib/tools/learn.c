/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "learn.h"
#include "util.h"

static uint64_t hash_name(const char *s) {
        uint64_t h = ve_fnv1a(VE_FNV1A_INIT, s, strlen(s));

        return h ? h : 1;       /* 0 marks an empty slot */
}

bool ve_learn_seen_add(struct ve_learn_seen *s, const char *name) {
        uint64_t h = hash_name(name);

        for (size_t i = 0, slot = h % VE_LEARN_SEEN_SLOTS; i < VE_LEARN_SEEN_SLOTS;
             i++, slot = (slot + 1) % VE_LEARN_SEEN_SLOTS) {
                uint64_t cur = atomic_load_explicit(&s->slot[slot], memory_order_acquire);

                if (cur == h)
                        return false;
                if (cur == 0) {
                        if (atomic_compare_exchange_strong(&s->slot[slot], &cur, h))
                                return true;
                        if (cur == h)   /* another thread added it meanwhile */
                                return false;
                }
        }
        return true;
}

static bool is_name_start(char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool is_name_char(char c) {
        return is_name_start(c) || (c >= '0' && c <= '9');
}

static bool learn_name_valid(const char *name, size_t len) {
        if (len == 0 || len > VE_LEARN_NAME_MAX || !is_name_start(name[0]))
                return false;
        for (size_t i = 1; i < len; i++)
                if (!is_name_char(name[i]))
                        return false;
        return true;
}

int ve_learn_format(const char *name, const char *program, char *buf, size_t size) {
        size_t n, p;

        if (!name || !learn_name_valid(name, strnlen(name, VE_LEARN_NAME_MAX + 1)))
                return -EINVAL;
        if (!program || !*program)
                program = "?";
        n = strlen(name);
        p = strnlen(program, VE_LEARN_PROGRAM_MAX);
        if (!buf || n + 1 + p + 2 > size)
                return -ENOBUFS;
        memcpy(buf, name, n);
        buf[n] = '\t';
        for (size_t i = 0; i < p; i++) {
                unsigned char c = (unsigned char) program[i];

                buf[n + 1 + i] = c < ' ' || c == 0x7f ? '?' : (char) c;
        }
        buf[n + 1 + p] = '\n';
        buf[n + 2 + p] = '\0';
        return (int) (n + 2 + p);
}

/* ---- classification ---- */

static bool ends_with(const char *s, size_t len, const char *suffix) {
        size_t n = strlen(suffix);

        return len >= n && strcmp(s + len - n, suffix) == 0;
}

static bool starts_with(const char *s, const char *prefix) {
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Names of the system, the C library, the usual runtimes' and libraries'
 * own knobs, and vaultenv's: configuration, not secrets. Upper case. */
static const char *const system_names[] = {
        "CLICOLOR", "COLORTERM", "COLUMNS", "CURL_CA_BUNDLE", "DISPLAY", "EDITOR",
        "FORCE_COLOR", "GCONV_PATH", "GETCONF_DIR", "HOME", "HOSTALIASES", "HOSTNAME", "INFOPATH",
        "INVOCATION_ID", "JOURNAL_STREAM", "LANG", "LANGUAGE", "LINES", "LISTEN_FDNAMES", "LISTEN_FDS",
        "LISTEN_PID", "LOCALDOMAIN", "LOCPATH", "LOGNAME", "LS_COLORS", "MAIL", "MANPATH",
        "NLSPATH", "NOTIFY_SOCKET", "NO_COLOR", "OLDPWD", "PAGER", "PATH", "POSIXLY_CORRECT", "PWD",
        "RES_OPTIONS", "SHELL", "SHLVL", "SSL_CERT_DIR", "SSL_CERT_FILE", "TEMP", "TEMPDIR", "TERM",
        "TERMCAP", "TMP", "TMPDIR", "TZ", "TZDIR", "USER", "VISUAL", "WATCHDOG_PID", "WATCHDOG_USEC",
};

static const char *const system_prefixes[] = {
        "CURL_", "DBUS_", "GCONV_", "GLIBC_", "GNUTLS_", "LC_", "LD_", "LIBC_", "MALLOC_",
        "OPENSSL_", "SYSTEMD_", "TERMINFO", "VAULTENV_", "VAULT_", "XDG_",
};

/* Suffixes and fragments of names that usually hold a credential. */
static const char *const secret_suffixes[] = {
        "_PASSWORD", "_PASSWD", "_PASS", "_PWD", "_PASSPHRASE", "_TOKEN", "_SECRET", "_KEY",
        "_APIKEY", "_URL", "_URI", "_DSN", "_CREDENTIALS", "_CREDS", "_AUTH",
};

static const char *const secret_fragments[] = {
        "PASSWORD", "PASSWD", "SECRET", "TOKEN", "APIKEY", "API_KEY", "PRIVATE",
};

enum ve_learn_class ve_learn_classify(const char *name) {
        char up[VE_LEARN_NAME_MAX + 1];
        size_t len = name ? strnlen(name, VE_LEARN_NAME_MAX + 1) : 0;

        if (len == 0 || len > VE_LEARN_NAME_MAX)
                return VE_LEARN_OTHER;
        for (size_t i = 0; i < len; i++)
                up[i] = name[i] >= 'a' && name[i] <= 'z' ? (char) (name[i] - 'a' + 'A') : name[i];
        up[len] = '\0';

        for (size_t i = 0; i < sizeof system_names / sizeof system_names[0]; i++)
                if (strcmp(up, system_names[i]) == 0)
                        return VE_LEARN_SYSTEM;
        for (size_t i = 0; i < sizeof system_prefixes / sizeof system_prefixes[0]; i++)
                if (starts_with(up, system_prefixes[i]))
                        return VE_LEARN_SYSTEM;
        /* http_proxy, HTTPS_PROXY, no_proxy, ...: proxy settings */
        if (ends_with(up, len, "_PROXY"))
                return VE_LEARN_SYSTEM;

        for (size_t i = 0; i < sizeof secret_suffixes / sizeof secret_suffixes[0]; i++)
                if (ends_with(up, len, secret_suffixes[i]))
                        return VE_LEARN_SECRET;
        for (size_t i = 0; i < sizeof secret_fragments / sizeof secret_fragments[0]; i++)
                if (strstr(up, secret_fragments[i]))
                        return VE_LEARN_SECRET;
        if (strcmp(up, "DSN") == 0)
                return VE_LEARN_SECRET;
        return VE_LEARN_OTHER;
}

/* ---- the skeleton ---- */

struct record {
        const char *name, *program;     /* into the parsed copy */
        enum ve_learn_class cls;
};

static int cmp_records(const void *a, const void *b) {
        const struct record *x = a, *y = b;
        int k;

        if (x->cls != y->cls)
                return x->cls < y->cls ? -1 : 1;
        if ((k = strcmp(x->name, y->name)) != 0)
                return k;
        return strcmp(x->program, y->program);
}

/* A growing heap string; on allocation failure it keeps failing. */
struct text {
        char *s;
        size_t len, cap;
        bool oom;
};

__attribute__((format(printf, 2, 3)))
static void add(struct text *t, const char *fmt, ...) {
        va_list ap;
        int n;

        if (t->oom)
                return;
        va_start(ap, fmt);
        n = vsnprintf(NULL, 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
                t->oom = true;
                return;
        }
        if (t->len + (size_t) n + 1 > t->cap) {
                size_t cap = (t->cap ? t->cap : 1024);
                char *s;

                while (cap < t->len + (size_t) n + 1)
                        cap *= 2;
                s = realloc(t->s, cap);
                if (!s) {
                        t->oom = true;
                        return;
                }
                t->s = s;
                t->cap = cap;
        }
        va_start(ap, fmt);
        vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        t->len += (size_t) n;
}

/* Splits the records (a private copy, cut in place) into recs[]. */
static size_t parse_records(char *copy, size_t len, struct record *recs) {
        size_t n = 0;
        char *line = copy, *end = copy + len;

        while (line < end) {
                char *nl = memchr(line, '\n', (size_t) (end - line));
                char *tab;

                if (!nl)
                        nl = end;       /* a last line without its end: a writer died mid-way? taken */
                *nl = '\0';
                tab = strchr(line, '\t');
                if (tab) {
                        *tab = '\0';
                        if (learn_name_valid(line, strlen(line))) {
                                for (char *c = tab + 1; *c; c++)
                                        if ((unsigned char) *c < ' ' || *c == 0x7f)
                                                *c = '?';
                                recs[n++] = (struct record) {
                                        .name = line,
                                        .program = tab[1] ? tab + 1 : "?",
                                        .cls = ve_learn_classify(line),
                                };
                        }
                }
                line = nl + 1;
        }
        return n;
}

/* The entry line of one name: its record run [i, j) lists the programs. */
static void add_entry(struct text *t, const struct record *recs, size_t i, size_t j, int width, bool commented) {
        const char *name = recs[i].name;

        add(t, "%s%-*s = " VE_LEARN_PLACEHOLDER "#", commented ? "# " : "", width, name);
        for (const char *c = name; *c; c++)
                add(t, "%c", *c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
        add(t, "    # read by: ");
        for (size_t k = i; k < j; k++)
                if (k == i || strcmp(recs[k].program, recs[k - 1].program) != 0)
                        add(t, "%s%s", k == i ? "" : ", ", recs[k].program);
        add(t, "\n");
}

/* End of the run of records of the name at i. */
static size_t run_end(const struct record *recs, size_t n, size_t i) {
        size_t j = i + 1;

        while (j < n && strcmp(recs[j].name, recs[i].name) == 0)
                j++;
        return j;
}

/* The draft's head: what it is, the command it came from, how to finish it. */
static void add_header(struct text *t, const char *command, size_t n) {
        add(t, "# vaultenv mapping file drafted by `vaultenv learn` from the variable names\n"
               "# that this command (and every program it started) asked getenv() for:\n"
               "#   ");
        if (!command)
                command = "?";
        for (const char *c = command; *c && c - command < 200; c++)
                add(t, "%c", (unsigned char) *c < ' ' || *c == 0x7f ? '?' : *c);
        add(t, "\n"
               "# Names only: no value was read or recorded. A name is listed even when the\n"
               "# variable was not set.\n"
               "#\n"
               "# To finish it:\n"
               "#   1. store each secret in Vault (vaultenv migrate, or vault kv put);\n"
               "#   2. replace " VE_LEARN_PLACEHOLDER " with its MOUNT/PATH (and the key after '#' if it\n"
               "#      differs), e.g. for all at once:\n"
               "#        sed -i 's|= " VE_LEARN_PLACEHOLDER "#|= secret/myapp#|' THIS-FILE\n"
               "#   3. delete the entries that are not secrets; uncomment the other\n"
               "#      names below that hold one;\n"
               "#   4. vaultenv check -m THIS-FILE\n"
               "# While " VE_LEARN_PLACEHOLDER " is left in an entry, the file is rejected (\"reference\n"
               "# needs MOUNT/PATH\"): an unfinished draft never serves anything.\n");
        if (n == 0)
                add(t, "#\n# The command asked for no variable through getenv().\n");
}

/* The well-known names, on wrapped comment lines. */
static void add_system(struct text *t, const struct record *recs, size_t n) {
        size_t col = 3;

        add(t, "\n# Also read, left out: well-known names of the system, the C library,\n"
               "# TLS/HTTP libraries and Vault/vaultenv themselves (not secrets):\n#  ");
        for (size_t i = 0, j; i < n; i = j) {
                size_t w = strlen(recs[i].name) + 1;

                j = run_end(recs, n, i);
                if (recs[i].cls != VE_LEARN_SYSTEM)
                        continue;
                if (col + w > 78 && col > 3) {
                        add(t, "\n#  ");
                        col = 3;
                }
                add(t, " %s", recs[i].name);
                col += w;
        }
        add(t, "\n");
}

/* The entries of one class, commented out or not. */
static void add_class(struct text *t, const struct record *recs, size_t n, enum ve_learn_class cls, int width,
                      bool commented) {
        for (size_t i = 0, j; i < n; i = j) {
                j = run_end(recs, n, i);
                if (recs[i].cls == cls)
                        add_entry(t, recs, i, j, width, commented);
        }
}

int ve_learn_skeleton(const char *records, size_t len, const char *command, char **ret_text) {
        struct text t = {};
        struct record *recs = NULL;
        char *copy;
        size_t n, n_lines = 1, counts[3] = {};
        int width = 0;

        copy = malloc(len + 1);
        if (!copy)
                return -ENOMEM;
        memcpy(copy, records ? records : "", len);
        copy[len] = '\0';
        for (size_t i = 0; i < len; i++)
                if (copy[i] == '\n')
                        n_lines++;
        recs = calloc(n_lines, sizeof *recs);
        if (!recs) {
                free(copy);
                return -ENOMEM;
        }
        /* An embedded NUL ends the records: strings are cut there. */
        n = parse_records(copy, strlen(copy), recs);
        qsort(recs, n, sizeof *recs, cmp_records);

        for (size_t i = 0; i < n; i = run_end(recs, n, i)) {
                int w = (int) strlen(recs[i].name);

                counts[recs[i].cls]++;
                if (recs[i].cls == VE_LEARN_SECRET && w > width && w <= 32)
                        width = w;
        }

        add_header(&t, command, n);
        if (counts[VE_LEARN_SECRET] > 0) {
                add(&t, "\n# Names that look like secrets (_PASSWORD, _TOKEN, _SECRET, _KEY, _URL, ...):\n");
                add_class(&t, recs, n, VE_LEARN_SECRET, width, false);
        }
        if (counts[VE_LEARN_OTHER] > 0) {
                add(&t, "\n# Other names read: uncomment the ones that hold secrets.\n");
                add_class(&t, recs, n, VE_LEARN_OTHER, 0, true);
        }
        if (counts[VE_LEARN_SYSTEM] > 0)
                add_system(&t, recs, n);

        free(recs);
        free(copy);
        if (t.oom) {
                free(t.s);
                return -ENOMEM;
        }
        *ret_text = t.s;
        return 0;
}
