/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mapfile.h"
#include "template.h"
#include "util.h"

/* The grammar is documented for users in doc/vaultenv.map.5; this file is
 * its only implementation. Parsing never logs: every problem is returned as
 * one message for the caller to report. Messages name variables, options
 * and references, never a default= value, because a default may be a
 * secret (see unknown_option() and lex_token()). */

#define VE_NAME_MAX 255

/* References and names are shown in messages at most this long, quoted and
 * with control characters escaped, so a hostile file cannot flood a log or
 * drive a terminal through our messages. */
#define VE_MSG_QUOTE_MAX 256

#define UTF8_BOM "\xef\xbb\xbf"

static bool is_blank(char c) {
        return c == ' ' || c == '\t';
}

/* Explicit ASCII ranges rather than <ctype.h>: the answer must not depend
 * on the host program's locale. */
static bool is_name_start(char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool is_name_char(char c) {
        return is_name_start(c) || (c >= '0' && c <= '9');
}

static bool is_control(char c) {
        return (unsigned char) c < 0x20 || (unsigned char) c == 0x7f;
}

bool ve_name_valid(const char *name) {
        /* Also bounds the length, so a valid name is always a valid mapped
         * name. */
        size_t n;

        if (!name || !is_name_start(name[0]))
                return false;
        for (n = 1; name[n]; n++)
                if (!is_name_char(name[n]))
                        return false;
        return n <= VE_NAME_MAX;
}

/* Returns s (len bytes) as a double-quoted string for a message: '"' and
 * '\\' backslash-escaped, control bytes as \xNN, cut after
 * VE_MSG_QUOTE_MAX bytes with "...". NULL on allocation failure. */
static char *quote_n(const char *s, size_t len) {
        static const char hex[] = "0123456789abcdef";
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
                } else if (is_control((char) c)) {
                        *o++ = '\\';
                        *o++ = 'x';
                        *o++ = hex[c >> 4];
                        *o++ = hex[c & 0xf];
                } else
                        *o++ = (char) c;
        }
        *o++ = '"';
        if (shown < len)
                o = stpcpy(o, "...");
        *o = '\0';
        return buf;
}

static char *quote(const char *s) {
        return quote_n(s, strlen(s));
}

static char *vformat(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
static char *vformat(const char *fmt, va_list ap) {
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

/* ve_ref_parse() failures: "what: \"reference\"". Returns -EINVAL, or
 * -ENOMEM when the message could not be built (*ret_error is then NULL). */
static int ref_error(char **ret_error, const char *what, const char *ref) {
        char *q, *msg;

        if (!ret_error)
                return -EINVAL;
        q = quote(ref);
        msg = q ? ve_asprintf("%s: %s", what, q) : NULL;
        free(q);
        *ret_error = msg;
        return msg ? -EINVAL : -ENOMEM;
}

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

/* Whether [s, end) is an optionally signed, non-empty run of ASCII digits,
 * or empty: the text that makes a trailing '@' a version suffix. */
static bool looks_like_version(const char *s, const char *end) {
        if (s < end && (*s == '+' || *s == '-'))
                s++;
        else if (s == end)
                return true;
        if (s == end)
                return false;
        for (; s < end; s++)
                if (!is_digit(*s))
                        return false;
        return true;
}

/* The version suffix "@N" of a reference ending at end (see mapfile.h).
 * Returns 0 and sets *ret_at to the '@' (or to end when there is no suffix)
 * and *ret_version (0: none); -EINVAL with a message for a bad version. */
static int parse_version(const char *ref, const char *start, const char *end,
                         const char **ret_at, unsigned long *ret_version, char **ret_error) {
        const char *at = NULL, *d;
        unsigned long v = 0;

        for (const char *c = start; c < end; c++)
                if (*c == '@')
                        at = c;
        if (!at || !looks_like_version(at + 1, end)) {
                *ret_at = end;
                *ret_version = 0;
                return 0;
        }
        d = at + 1;
        if (d == end)
                return ref_error(ret_error, "empty version after '@' in reference", ref);
        if (!is_digit(*d) || *d == '0')
                return ref_error(ret_error, "version must be a positive integer in reference", ref);
        for (; d < end; d++) {
                v = v * 10 + (unsigned long) (*d - '0');
                if (v > VE_REF_VERSION_MAX)
                        return ref_error(ret_error, "version is too large in reference", ref);
        }
        *ret_at = at;
        *ret_version = v;
        return 0;
}

int ve_ref_parse(const char *s, struct ve_ref *ret_ref, char **ret_error) {
        enum ve_kv_version kv = VE_KV_AUTO;
        const char *path, *hash, *seg, *path_end, *end = NULL;
        size_t path_len, n_segments = 0;
        unsigned long version = 0;
        char *p = NULL, *k = NULL;
        int r;

        if (!s || !ret_ref)
                return -EINVAL;
        if (!*s)
                return ref_error(ret_error, "empty reference", s);

        /* The key is checked too: it ends up in messages and in the lookup
         * of a JSON field, and no sane key contains a control byte. */
        for (const char *c = s; *c; c++)
                if (is_control(*c))
                        return ref_error(ret_error, "reference contains a control character", s);

        path = s;
        if (strncmp(path, "kv1:", 4) == 0) {
                kv = VE_KV_1;
                path += 4;
        } else if (strncmp(path, "kv2:", 4) == 0) {
                kv = VE_KV_2;
                path += 4;
        }

        /* A trailing "@N" is the version; what precedes it is
         * MOUNT/PATH[#KEY]. */
        r = parse_version(s, path, path + strlen(path), &end, &version, ret_error);
        if (r < 0)
                return r;

        /* The key starts after the FIRST '#', so a key may contain '#' but a
         * path never does. */
        hash = memchr(path, '#', (size_t) (end - path));
        path_end = hash ? hash : end;
        path_len = (size_t) (path_end - path);
        if (hash && hash + 1 == end)
                return ref_error(ret_error, "empty key after '#' in reference", s);

        if (path_len == 0)
                return ref_error(ret_error, "reference needs MOUNT/PATH", s);
        if (path[0] == '/')
                return ref_error(ret_error, "reference must not start with '/'", s);
        if (path_end[-1] == '/')
                return ref_error(ret_error, "reference must not end with '/'", s);
        /* '?' would start a query string in the request URL. */
        if (memchr(path, '?', path_len))
                return ref_error(ret_error, "reference must not contain '?'", s);
        /* "secret/app/db@3#password": surely a version in the wrong place. */
        if (hash) {
                const char *at = NULL;

                for (const char *c = path; c < path_end; c++)
                        if (*c == '@')
                                at = c;
                if (at && at + 1 < path_end && looks_like_version(at + 1, path_end))
                        return ref_error(ret_error, "'@VERSION' goes at the end of the reference, after '#KEY'", s);
        }
        if (version && kv == VE_KV_1)
                return ref_error(ret_error, "a version needs KV v2; kv1: reference cannot have one", s);

        for (seg = path; seg < path_end; ) {
                const char *slash = memchr(seg, '/', (size_t) (path_end - seg));
                const char *seg_end = slash ? slash : path_end;
                size_t seg_len = (size_t) (seg_end - seg);

                /* A ':' in the mount (after any kv1:/kv2: was taken off)
                 * is almost surely a mistyped prefix: be strict. */
                if (n_segments == 0) {
                        const char *colon = memchr(seg, ':', seg_len);

                        if (colon) {
                                char *q = NULL, *msg = NULL;

                                if (ret_error) {
                                        q = quote_n(seg, (size_t) (colon - seg) + 1);
                                        msg = q ? ve_asprintf("unknown reference prefix %s", q) : NULL;
                                        free(q);
                                        *ret_error = msg;
                                        if (!msg)
                                                return -ENOMEM;
                                }
                                return -EINVAL;
                        }
                }
                if (seg_len == 0)
                        return ref_error(ret_error, "empty path segment in reference", s);
                if ((seg_len == 1 && seg[0] == '.') ||
                    (seg_len == 2 && seg[0] == '.' && seg[1] == '.'))
                        return ref_error(ret_error, "'.' and '..' path segments are not allowed in reference", s);
                n_segments++;
                seg = slash ? slash + 1 : path_end;
        }
        if (n_segments < 2)
                return ref_error(ret_error, "reference needs MOUNT/PATH", s);

        p = strndup(path, path_len);
        k = hash ? strndup(hash + 1, (size_t) (end - hash - 1)) : strdup(VE_REF_DEFAULT_KEY);
        if (!p || !k) {
                free(p);
                free(k);
                if (ret_error)
                        *ret_error = NULL;
                return -ENOMEM;
        }
        *ret_ref = (struct ve_ref) {
                .kv = kv,
                .path = p,
                .key = k,
                .version = version,
        };
        return 0;
}

void ve_ref_done(struct ve_ref *ref) {
        if (!ref)
                return;
        free(ref->path);
        free(ref->key);
        ref->path = ref->key = NULL;
        ref->kv = VE_KV_AUTO;
        ref->version = 0;
}

static void entry_done(struct ve_map_entry *e) {
        free(e->name);
        ve_ref_done(&e->ref);
        ve_erase_free(e->default_value);
        ve_template_free(e->tmpl);
        *e = (struct ve_map_entry) {};
}

static void bulk_done(struct ve_map_bulk *b) {
        free(b->prefix);
        ve_ref_done(&b->ref);
        *b = (struct ve_map_bulk) {};
}

bool ve_bulk_name_matches(const char *key, const char *name_suffix) {
        const char *k = key, *n = name_suffix;

        for (; *k && *n; k++, n++) {
                char c = *k;

                if (c >= 'a' && c <= 'z')
                        c = (char) (c - 'a' + 'A');
                else if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
                        c = '_';
                if (c != *n)
                        return false;
        }
        return *k == '\0' && *n == '\0' && key[0] != '\0';
}

void ve_map_free(struct ve_map *map) {
        if (!map)
                return;
        for (size_t i = 0; i < map->n_entries; i++)
                entry_done(&map->entries[i]);
        free(map->entries);
        for (size_t i = 0; i < map->n_bulk; i++)
                bulk_done(&map->bulk[i]);
        free(map->bulk);
        free(map->source);
        free(map);
}

const struct ve_map_entry *ve_map_find(const struct ve_map *map, const char *name) {
        if (!map || !name)
                return NULL;
        for (size_t i = 0; i < map->n_entries; i++)
                if (strcmp(map->entries[i].name, name) == 0)
                        return &map->entries[i];
        return NULL;
}

struct parser {
        const char *source;
        char **ret_error;

        unsigned line;
        const char *line_start;         /* column 1 (after the BOM on line 1) */
        const char *p;                  /* cursor within the current line */
        const char *end;                /* end of the line, without "\n" or "\r\n" */

        /* Unquoted tokens, one line at a time. Tokens never grow when
         * unquoted, so a buffer as large as the text always suffices. It
         * holds default values: wiped before it is freed. */
        char *buf;
        size_t buf_size;
        size_t buf_used;

        struct ve_map_entry *entries;
        size_t n_entries;
        size_t n_allocated;

        /* Open addressing over entry names (index + 1, 0 = free), only to
         * find duplicates without a quadratic scan of a large file. */
        size_t *slots;
        size_t n_slots;                 /* a power of two, or 0 */

        struct ve_map_bulk *bulk;
        size_t n_bulk;
};

/* Sets *ret_error to "source:line:col: message", col the byte column of at
 * in the current line. Returns -EINVAL, or -ENOMEM when the message could
 * not be built (*ret_error is then NULL). */
static int parser_error(struct parser *ps, const char *at, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static int parser_error(struct parser *ps, const char *at, const char *fmt, ...) {
        char *msg, *full;
        va_list ap;

        if (!ps->ret_error)
                return -EINVAL;
        va_start(ap, fmt);
        msg = vformat(fmt, ap);
        va_end(ap);
        full = msg ? ve_asprintf("%s:%u:%zu: %s", ps->source, ps->line,
                                 (size_t) (at - ps->line_start) + 1, msg) : NULL;
        free(msg);
        *ps->ret_error = full;
        return full ? -EINVAL : -ENOMEM;
}

static int parser_oom(struct parser *ps) {
        if (ps->ret_error)
                *ps->ret_error = NULL;
        return -ENOMEM;
}

static uint64_t name_hash(const char *s) {
        return ve_fnv1a(VE_FNV1A_INIT, s, strlen(s));
}

static const struct ve_map_entry *names_find(const struct parser *ps, const char *name) {
        if (ps->n_slots == 0)
                return NULL;
        for (size_t i = (size_t) name_hash(name) & (ps->n_slots - 1);; i = (i + 1) & (ps->n_slots - 1)) {
                size_t s = ps->slots[i];

                if (s == 0)
                        return NULL;
                if (strcmp(ps->entries[s - 1].name, name) == 0)
                        return &ps->entries[s - 1];
        }
}

static void names_insert(struct parser *ps, size_t idx) {
        size_t i = (size_t) name_hash(ps->entries[idx].name) & (ps->n_slots - 1);

        while (ps->slots[i] != 0)
                i = (i + 1) & (ps->n_slots - 1);
        ps->slots[i] = idx + 1;
}

/* Appends e (taking over its strings) and indexes its name. On failure e is
 * left to the caller. */
static int parser_append(struct parser *ps, struct ve_map_entry *e) {
        if (ps->n_entries == ps->n_allocated) {
                size_t n = ps->n_allocated ? ps->n_allocated * 2 : 16;
                struct ve_map_entry *a;

                /* Moving the array with realloc() is fine: it holds pointers,
                 * never a value. */
                a = realloc(ps->entries, n * sizeof *a);
                if (!a)
                        return -ENOMEM;
                ps->entries = a;
                ps->n_allocated = n;
        }
        /* Keep the table at most half full, so probes stay short. */
        if ((ps->n_entries + 1) * 2 > ps->n_slots) {
                size_t n = ps->n_slots ? ps->n_slots * 2 : 32;
                size_t *slots = calloc(n, sizeof *slots);

                if (!slots)
                        return -ENOMEM;
                free(ps->slots);
                ps->slots = slots;
                ps->n_slots = n;
                for (size_t i = 0; i < ps->n_entries; i++)
                        names_insert(ps, i);
        }
        ps->entries[ps->n_entries] = *e;
        names_insert(ps, ps->n_entries);
        ps->n_entries++;
        *e = (struct ve_map_entry) {};
        return 0;
}

static void skip_blanks(struct parser *ps) {
        while (ps->p < ps->end && is_blank(*ps->p))
                ps->p++;
}

/* True at the end of the line or at a comment. '#' opens a comment only at
 * the start of the line or after a blank: in "secret/app/db#url" it is the
 * key separator, and in NAME=#x it is part of the reference. */
static bool at_line_end(const struct parser *ps) {
        if (ps->p >= ps->end)
                return true;
        return *ps->p == '#' && (ps->p == ps->line_start || is_blank(ps->p[-1]));
}

/* Reads the next shell-like token: unquoted, "double-quoted" (escapes \\ \"
 * \n \t \r) and 'single-quoted' parts, concatenated up to a blank.
 * Returns 1 with the unquoted token in *ret_token (in ps->buf) and its
 * start in *ret_at; 0 at the end of the line or a comment (ps->p is left
 * there); or a negative errno with *ps->ret_error set. */
static int lex_token(struct parser *ps, char **ret_token, const char **ret_at) {
        const char *start;
        char *o;

        skip_blanks(ps);
        if (at_line_end(ps))
                return 0;
        start = ps->p;
        o = ps->buf + ps->buf_used;
        while (ps->p < ps->end && !is_blank(*ps->p)) {
                const char *open = ps->p;

                if (*open == '\'') {
                        for (ps->p++; ps->p < ps->end && *ps->p != '\''; ps->p++)
                                *o++ = *ps->p;
                        if (ps->p >= ps->end)
                                return parser_error(ps, open, "unterminated single quote");
                        ps->p++;
                } else if (*open == '"') {
                        for (ps->p++; ps->p < ps->end && *ps->p != '"'; ps->p++) {
                                if (*ps->p != '\\') {
                                        *o++ = *ps->p;
                                        continue;
                                }
                                /* A backslash as the last byte of the line
                                 * escapes nothing: the quote is open. */
                                if (ps->p + 1 >= ps->end) {
                                        ps->p = ps->end;
                                        break;
                                }
                                switch (ps->p[1]) {
                                case '\\':
                                case '"':
                                        *o++ = ps->p[1];
                                        break;
                                case 'n':
                                        *o++ = '\n';
                                        break;
                                case 't':
                                        *o++ = '\t';
                                        break;
                                case 'r':
                                        *o++ = '\r';
                                        break;
                                default: {
                                        /* Inside a default= the escaped
                                         * character is part of a secret:
                                         * do not show it. */
                                        size_t used = (size_t) (o - (ps->buf + ps->buf_used));

                                        if (used >= 8 && memcmp(ps->buf + ps->buf_used, "default=", 8) == 0)
                                                return parser_error(ps, ps->p, "unknown escape in default= value");
                                        if (is_control(ps->p[1]) || (unsigned char) ps->p[1] >= 0x80)
                                                return parser_error(ps, ps->p, "unknown escape \\ before byte 0x%02x",
                                                                    (unsigned char) ps->p[1]);
                                        return parser_error(ps, ps->p, "unknown escape \\%c", ps->p[1]);
                                }
                                }
                                ps->p++;
                        }
                        if (ps->p >= ps->end)
                                return parser_error(ps, open, "unterminated double quote");
                        ps->p++;
                } else
                        *o++ = *ps->p++;
        }
        *o++ = '\0';
        *ret_token = ps->buf + ps->buf_used;
        *ret_at = start;
        ps->buf_used = (size_t) (o - ps->buf);
        return 1;
}

static bool startswith(const char *s, const char *prefix) {
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int unknown_option(struct parser *ps, const char *at, const char *token, bool after_default) {
        const char *eq;
        char *q;
        int r;

        /* "default=a b" leaves "b" here: a piece of the value, maybe a
         * secret. After a default= on the line, do not echo tokens. */
        if (after_default)
                return parser_error(ps, at, "unknown option after default= (not shown, it may be part of "
                                    "the value: quote a default that contains blanks)");
        /* Only the option's name, never what follows a '='. */
        eq = strchr(token, '=');
        q = quote_n(token, eq ? (size_t) (eq - token) : strlen(token));
        if (!q)
                return parser_oom(ps);
        r = parser_error(ps, at, "unknown option %s", q);
        free(q);
        return r;
}

/* The shim's configuration (VAULT_TOKEN, VAULT_SECRET_ID, VAULT_ADDR,
 * VAULTENV_MAP, ...) comes from the real environment only: served through a
 * mapping, a secret would become a credential or a setting, and the
 * application could read the token through getenv(). */
static const char *const reserved_prefixes[] = { "VAULT_", "VAULTENV_" };

static bool config_name(const char *name) {
        for (size_t i = 0; i < sizeof reserved_prefixes / sizeof reserved_prefixes[0]; i++)
                if (strncmp(name, reserved_prefixes[i], strlen(reserved_prefixes[i])) == 0)
                        return true;
        return false;
}

#define ALLOCATOR_CONF_SUFFIX "MALLOC_CONF"
bool ve_name_allocator_config(const char *name) {
        size_t n = name ? strlen(name) : 0, sn = strlen(ALLOCATOR_CONF_SUFFIX);

        return n >= sn && memcmp(name + n - sn, ALLOCATOR_CONF_SUFFIX, sn) == 0;
}

bool ve_name_key_log(const char *name) {
        return name && strcmp(name, VE_KEY_LOG_NAME) == 0;
}

/* Names the shim passes through to the real environment, never through
 * a mapping, because libraries read them during the shim's own work; a
 * mapping of one would never be served, or only outside that work. NULL,
 * or why (for the parser's message). */
static const char *passthrough_why(const char *name) {
        if (ve_name_allocator_config(name))
                return "an allocator's configuration (every name ending in " ALLOCATOR_CONF_SUFFIX ")";
        if (ve_name_key_log(name))
                return "read by the TLS library of vaultenv's own connections";
        return NULL;
}

bool ve_name_reserved(const char *name) {
        if (!name)
                return false;
        return config_name(name) || passthrough_why(name);
}

/* Whether a bulk rule's prefix could give one of vaultenv's configuration
 * names: it starts with a reserved prefix, or one starts with it ("VAULT*",
 * "V*"). The names passed through (passthrough_why()) are not refused
 * here: every prefix could give a name ending in MALLOC_CONF; the resolver
 * never serves such a name from a bulk rule instead. */
static bool bulk_prefix_reserved(const char *prefix) {
        size_t n = strlen(prefix);

        if (config_name(prefix))
                return true;
        for (size_t i = 0; i < sizeof reserved_prefixes / sizeof reserved_prefixes[0]; i++)
                if (strncmp(reserved_prefixes[i], prefix, n) == 0)
                        return true;
        return false;
}

/* After a line's NAME (shown as name + suffix in messages): "=" and the
 * value token, as lex_token(). 1 and the token, or a parser error. */
static int lex_value(struct parser *ps, const char *name, const char *suffix, char **ret_token,
                     const char **ret_at) {
        int r;

        skip_blanks(ps);
        if (ps->p >= ps->end || *ps->p != '=')
                return parser_error(ps, ps->p, "expected '=' after %s%s", name, suffix);
        ps->p++;
        r = lex_token(ps, ret_token, ret_at);
        if (r == 0)
                return parser_error(ps, ps->p, "missing Vault reference for %s%s", name, suffix);
        return r;
}

/* "PREFIX* = REF#* [ttl=DURATION]": one bulk rule. ps->p is after the name
 * (name_len bytes at name_at, ending in '*'). */
static int parse_bulk(struct parser *ps, const char *name_at, size_t name_len) {
        struct ve_map_bulk b = { .line = ps->line };
        const char *at, *ttl_at = NULL;
        char *tok, *msg = NULL;
        int r;

        b.prefix = strndup(name_at, name_len - 1);
        if (!b.prefix)
                return parser_oom(ps);
        if (!*b.prefix) {
                r = parser_error(ps, name_at, "a bulk mapping needs a name prefix before '*' (e.g. DB_*)");
                goto fail;
        }
        if (!ve_name_valid(b.prefix)) {
                char *q = quote_n(name_at, name_len);

                r = q ? parser_error(ps, name_at, "invalid variable name prefix %s", q) : parser_oom(ps);
                free(q);
                goto fail;
        }
        if (bulk_prefix_reserved(b.prefix)) {
                r = parser_error(ps, name_at, "bulk mapping %s* covers vaultenv's own configuration names "
                                 "(VAULT_*, VAULTENV_*), which are never served through a mapping", b.prefix);
                goto fail;
        }
        for (size_t i = 0; i < ps->n_bulk; i++) {
                const char *a = ps->bulk[i].prefix;

                if (strncmp(a, b.prefix, strlen(a)) == 0 || strncmp(b.prefix, a, strlen(b.prefix)) == 0) {
                        r = parser_error(ps, name_at, "bulk mapping %s* overlaps %s* (line %u)",
                                         b.prefix, a, ps->bulk[i].line);
                        goto fail;
                }
        }

        r = lex_value(ps, b.prefix, "*", &tok, &at);
        if (r < 0)
                goto fail;
        r = ve_ref_parse(tok, &b.ref, &msg);
        if (r == -EINVAL) {
                r = msg ? parser_error(ps, at, "%s", msg) : parser_oom(ps);
                free(msg);
                goto fail;
        }
        if (r < 0) {
                r = parser_oom(ps);
                goto fail;
        }
        if (strcmp(b.ref.key, "*") != 0) {
                r = parser_error(ps, at, "bulk mapping %s* needs a reference ending in \"#*\" (every key)",
                                 b.prefix);
                goto fail;
        }

        for (;;) {
                r = lex_token(ps, &tok, &at);
                if (r < 0)
                        goto fail;
                if (r == 0)
                        break;
                if (startswith(tok, "ttl=") && !ttl_at) {
                        const char *v = tok + strlen("ttl=");

                        ttl_at = at;
                        if (ve_duration_parse(v, &b.ttl_ms) < 0 || b.ttl_ms == 0) {
                                char *q = quote(v);

                                r = q ? parser_error(ps, at, "invalid duration %s for ttl", q) : parser_oom(ps);
                                free(q);
                                goto fail;
                        }
                } else if (startswith(tok, "ttl=")) {
                        r = parser_error(ps, at, "option \"ttl\" given more than once");
                        goto fail;
                } else {
                        char *q = quote_n(tok, strcspn(tok, "="));

                        r = q ? parser_error(ps, at, "option %s does not apply to a bulk mapping (only ttl= does)", q)
                              : parser_oom(ps);
                        free(q);
                        goto fail;
                }
        }

        {
                struct ve_map_bulk *a = realloc(ps->bulk, (ps->n_bulk + 1) * sizeof *a);

                if (!a) {
                        r = parser_oom(ps);
                        goto fail;
                }
                ps->bulk = a;
                ps->bulk[ps->n_bulk++] = b;
        }
        return 0;

fail:
        bulk_done(&b);
        return r;
}

/* Parses one line, [ps->line_start, ps->end), appending its entry if any. */
static int parse_line(struct parser *ps) {
        struct ve_map_entry e = { .line = ps->line };
        const struct ve_map_entry *first;
        const char *name_at, *at, *default_at = NULL, *required_at = NULL, *ttl_at = NULL;
        const char *eager_at = NULL, *inherit_at = NULL;
        char *tok, *msg = NULL;
        size_t name_len;
        int r;

        ps->p = ps->line_start;
        ps->buf_used = 0;

        skip_blanks(ps);
        if (at_line_end(ps))
                return 0;

        /* NAME is never quoted: it runs up to a blank or '='. */
        name_at = ps->p;
        while (ps->p < ps->end && !is_blank(*ps->p) && *ps->p != '=')
                ps->p++;
        name_len = (size_t) (ps->p - name_at);
        if (name_len == 0)
                return parser_error(ps, name_at, "missing variable name before '='");
        if (name_len > VE_NAME_MAX)
                return parser_error(ps, name_at, "variable name longer than %d bytes", VE_NAME_MAX);
        if (name_at[name_len - 1] == '*')
                return parse_bulk(ps, name_at, name_len);
        e.name = strndup(name_at, name_len);
        if (!e.name)
                return parser_oom(ps);
        if (!ve_name_valid(e.name)) {
                char *q = quote(e.name);

                r = q ? parser_error(ps, name_at, "invalid variable name %s", q) : parser_oom(ps);
                free(q);
                goto fail;
        }
        if (config_name(e.name)) {
                r = parser_error(ps, name_at, "%s is one of vaultenv's own configuration names (VAULT_*, "
                                 "VAULTENV_*), which are never served through a mapping", e.name);
                goto fail;
        }
        if (passthrough_why(e.name)) {
                r = parser_error(ps, name_at, "%s is %s, which vaultenv passes through from the real environment "
                                 "and never serves through a mapping", e.name, passthrough_why(e.name));
                goto fail;
        }
        first = names_find(ps, e.name);
        if (first) {
                r = parser_error(ps, name_at, "duplicate variable %s (first defined on line %u)",
                                 e.name, first->line);
                goto fail;
        }

        r = lex_value(ps, e.name, "", &tok, &at);
        if (r < 0)
                goto fail;
        if (ve_template_is(tok)) {
                size_t off = 0;

                r = ve_template_parse(tok, &e.tmpl, &off, &msg);
                if (r == -EINVAL) {
                        /* The offset is in the unquoted text: past an
                         * opening quote it is exact unless escapes came
                         * before it. */
                        size_t skip = (*at == '"' || *at == '\'') ? 1 : 0;
                        const char *col = at + skip + off;

                        if (col > ps->end)
                                col = ps->end;
                        r = msg ? parser_error(ps, col, "%s: %s", e.name, msg) : parser_oom(ps);
                        free(msg);
                        goto fail;
                }
                if (r >= 0) {
                        const struct ve_ref *r0 = &ve_template_ref(e.tmpl, 0)->ref;

                        e.ref = *r0;
                        e.ref.path = strdup(r0->path);
                        e.ref.key = strdup(r0->key);
                        if (!e.ref.path || !e.ref.key)
                                r = -ENOMEM;
                }
        } else {
                r = ve_ref_parse(tok, &e.ref, &msg);
                if (r == -EINVAL) {
                        r = msg ? parser_error(ps, at, "%s", msg) : parser_oom(ps);
                        free(msg);
                        goto fail;
                }
                if (r >= 0 && strcmp(e.ref.key, "*") == 0) {
                        r = parser_error(ps, at, "key \"*\" means every key: write the name as a prefix, %s_* = ...",
                                         e.name);
                        goto fail;
                }
        }
        if (r < 0) {
                r = parser_oom(ps);
                goto fail;
        }

        for (;;) {
                r = lex_token(ps, &tok, &at);
                if (r < 0)
                        goto fail;
                if (r == 0)
                        break;

                if (strcmp(tok, "required") == 0) {
                        if (required_at) {
                                r = parser_error(ps, at, "option \"required\" given more than once");
                                goto fail;
                        }
                        required_at = at;
                        e.required = true;
                } else if (strcmp(tok, "eager") == 0 || strcmp(tok, "inherit") == 0) {
                        bool eager = tok[0] == 'e';
                        const char **seen = eager ? &eager_at : &inherit_at;

                        if (*seen) {
                                r = parser_error(ps, at, "option \"%s\" given more than once", tok);
                                goto fail;
                        }
                        *seen = at;
                        if (eager)
                                e.eager = true;
                        else
                                e.inherit = true;
                } else if (startswith(tok, "required=") || startswith(tok, "eager=") ||
                           startswith(tok, "inherit=")) {
                        r = parser_error(ps, at, "option \"%.*s\" takes no value", (int) strcspn(tok, "="), tok);
                        goto fail;
                } else if (startswith(tok, "default=")) {
                        if (default_at) {
                                r = parser_error(ps, at, "option \"default\" given more than once");
                                goto fail;
                        }
                        default_at = at;
                        e.default_value = strdup(tok + strlen("default="));
                        if (!e.default_value) {
                                r = parser_oom(ps);
                                goto fail;
                        }
                } else if (strcmp(tok, "default") == 0) {
                        r = parser_error(ps, at, "option \"default\" needs a value (default=VALUE)");
                        goto fail;
                } else if (startswith(tok, "ttl=")) {
                        const char *v = tok + strlen("ttl=");

                        if (ttl_at) {
                                r = parser_error(ps, at, "option \"ttl\" given more than once");
                                goto fail;
                        }
                        ttl_at = at;
                        if (ve_duration_parse(v, &e.ttl_ms) < 0 || e.ttl_ms == 0) {
                                char *q = quote(v);

                                r = q ? parser_error(ps, at, "invalid duration %s for ttl", q) : parser_oom(ps);
                                free(q);
                                goto fail;
                        }
                } else if (strcmp(tok, "ttl") == 0) {
                        r = parser_error(ps, at, "option \"ttl\" needs a value (ttl=DURATION)");
                        goto fail;
                } else {
                        r = unknown_option(ps, at, tok, default_at != NULL);
                        goto fail;
                }

                /* A default always satisfies 'required', so together they
                 * are a mistake; reported at whichever came second. */
                if (required_at && default_at) {
                        r = parser_error(ps, at, "'required' and 'default=' contradict each other");
                        goto fail;
                }
        }

        r = parser_append(ps, &e);
        if (r < 0) {
                r = parser_oom(ps);
                goto fail;
        }
        return 0;

fail:
        entry_done(&e);
        return r;
}

int ve_map_parse(const char *source, const char *text, size_t len,
                 struct ve_map **ret_map, char **ret_error) {
        struct parser ps = {
                .source = source ? source : "<input>",
                .ret_error = ret_error,
        };
        struct ve_map *map = NULL;
        const char *p, *text_end;
        int r;

        if (!ret_map || (!text && len > 0))
                return -EINVAL;

        /* +1: room for the last token's NUL even in a one-byte text. */
        ps.buf_size = len + 1;
        ps.buf = malloc(ps.buf_size);
        if (!ps.buf) {
                r = parser_oom(&ps);
                goto out;
        }

        p = text;
        text_end = text + len;
        /* A UTF-8 byte order mark is skipped; columns on line 1 count from
         * after it, as editors show them. */
        if (len >= 3 && memcmp(text, UTF8_BOM, 3) == 0)
                p += 3;

        while (p < text_end) {
                const char *nl = memchr(p, '\n', (size_t) (text_end - p));

                ps.line++;
                ps.line_start = p;
                ps.end = nl ? nl : text_end;
                if (nl && ps.end > p && ps.end[-1] == '\r')
                        ps.end--;

                /* Checked before tokens: these are errors anywhere, comments
                 * included, and NUL would cut the C strings below. */
                for (const char *c = p; c < ps.end; c++) {
                        if (*c == '\0') {
                                r = parser_error(&ps, c, "embedded NUL byte");
                                goto out;
                        }
                        if (*c == '\r') {
                                r = parser_error(&ps, c, "carriage return not followed by a newline");
                                goto out;
                        }
                }

                r = parse_line(&ps);
                if (r < 0)
                        goto out;
                p = nl ? nl + 1 : text_end;
        }

        map = calloc(1, sizeof *map);
        if (map)
                map->source = strdup(ps.source);
        if (!map || !map->source) {
                free(map);
                map = NULL;
                r = parser_oom(&ps);
                goto out;
        }
        map->entries = ps.entries;
        map->n_entries = ps.n_entries;
        map->bulk = ps.bulk;
        map->n_bulk = ps.n_bulk;
        ps.entries = NULL;
        ps.n_entries = 0;
        ps.bulk = NULL;
        ps.n_bulk = 0;
        *ret_map = map;
        r = 0;

out:
        for (size_t i = 0; i < ps.n_entries; i++)
                entry_done(&ps.entries[i]);
        free(ps.entries);
        for (size_t i = 0; i < ps.n_bulk; i++)
                bulk_done(&ps.bulk[i]);
        free(ps.bulk);
        free(ps.slots);
        ve_erase_free_n(ps.buf, ps.buf_size);
        return r;
}

int ve_map_load(const char *path, struct ve_map **ret_map, char **ret_error) {
        char *data = NULL, *why = NULL;
        size_t len = 0;
        int r;

        if (!path || !ret_map)
                return -EINVAL;

        r = ve_read_trusted_file(path, VE_MAP_MAX_SIZE, &data, &len, &why);
        if (r < 0) {
                char *msg;

                if (!ret_error) {
                        free(why);
                        return r;
                }
                if (r == -EPERM && why)
                        /* Checked on the opened file (a symbolic link's
                         * target): whoever can write it chooses what
                         * this process reads from Vault. */
                        msg = ve_asprintf("%s: %s; refusing the mapping file", path, why);
                else if (r == -ENOENT)
                        msg = ve_asprintf("%s: no such file", path);
                else if (r == -EFBIG)
                        msg = ve_asprintf("%s: file too large (more than %d bytes)", path, VE_MAP_MAX_SIZE);
                else {
                        /* %m (glibc) formats errno with strerror_r(): unlike
                         * strerror(), safe from any thread of the host. */
                        errno = -r;
                        msg = ve_asprintf("%s: %m", path);
                }
                free(why);
                *ret_error = msg;
                return msg ? r : -ENOMEM;
        }

        r = ve_map_parse(path, data, len, ret_map, ret_error);
        /* The text may hold default values. */
        ve_erase_free_n(data, len + 1);
        return r;
}
