/* SPDX-License-Identifier: MIT */
/* The dotenv parser and writer (dotenv.h). One pass over the text with a
 * cursor that knows its line and column; values are built in a growing
 * buffer that is wiped whenever it is dropped. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dotenv.h"
#include "mapfile.h"
#include "util.h"

#define DOTENV_FILE_MAX (16u * 1024 * 1024)

struct cursor {
        const char *s;
        size_t len, pos;
        unsigned line;
        size_t line_start;      /* offset of the current line's first byte */
};

struct buf {
        char *p;
        size_t n, cap;
};

static int buf_put(struct buf *b, char c) {
        if (b->n + 2 > b->cap) {
                size_t cap = b->cap ? b->cap * 2 : 64;
                char *p = malloc(cap);

                if (!p)
                        return -ENOMEM;
                if (b->p) {
                        memcpy(p, b->p, b->n);
                        ve_erase_free_n(b->p, b->cap);
                }
                b->p = p;
                b->cap = cap;
        }
        b->p[b->n++] = c;
        b->p[b->n] = '\0';
        return 0;
}

static void buf_done(struct buf *b) {
        if (b->p)
                ve_erase_free_n(b->p, b->cap);
        *b = (struct buf) {};
}

/* The finished string (the buffer is handed over), "" when empty. */
static char *buf_take(struct buf *b) {
        char *p = b->p;

        if (!p)
                return strdup("");
        *b = (struct buf) {};
        return p;
}

static int peek(const struct cursor *c) {
        return c->pos < c->len ? (unsigned char) c->s[c->pos] : -1;
}

static unsigned col(const struct cursor *c, size_t pos) {
        return (unsigned) (pos - c->line_start + 1);
}

/* Sets *ret_error to "SOURCE:LINE:COL: message" for the byte at pos (on the
 * cursor's current line). Returns -EINVAL, or -ENOMEM. */
static int fail(const char *source, const struct cursor *c, size_t pos, char **ret_error, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));
static int fail(const char *source, const struct cursor *c, size_t pos, char **ret_error, const char *fmt, ...) {
        char *msg = NULL, *full;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        if (!msg)
                return -ENOMEM;
        full = ve_asprintf("%s:%u:%u: %s", source, c->line, col(c, pos), msg);
        free(msg);
        if (!full)
                return -ENOMEM;
        ve_set_error(ret_error, full);
        return -EINVAL;
}

static bool is_blank(int ch) {
        return ch == ' ' || ch == '\t';
}

static bool at_eol(const struct cursor *c) {
        int ch = peek(c);

        return ch < 0 || ch == '\n' || (ch == '\r' && c->pos + 1 < c->len && c->s[c->pos + 1] == '\n');
}

/* Steps over the line terminator at pos (if any) onto the next line. */
static void next_line(struct cursor *c) {
        if (peek(c) == '\r')
                c->pos++;
        if (peek(c) == '\n')
                c->pos++;
        c->line++;
        c->line_start = c->pos;
}

static void skip_blanks(struct cursor *c) {
        while (is_blank(peek(c)))
                c->pos++;
}

static bool name_start(int ch) {
        return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || ch == '_';
}

static bool name_char(int ch) {
        return name_start(ch) || (ch >= '0' && ch <= '9');
}

static int hexval(int ch) {
        if (ch >= '0' && ch <= '9')
                return ch - '0';
        if (ch >= 'a' && ch <= 'f')
                return ch - 'a' + 10;
        if (ch >= 'A' && ch <= 'F')
                return ch - 'A' + 10;
        return -1;
}

/* After a value: blanks, then an optional comment, then the end of the line. */
static int finish_line(const char *source, struct cursor *c, char **ret_error, const char *what) {
        skip_blanks(c);
        if (peek(c) == '#') {
                while (!at_eol(c))
                        c->pos++;
                return 0;
        }
        if (!at_eol(c))
                return fail(source, c, c->pos, ret_error, "unexpected character after %s", what);
        return 0;
}

/* An unescaped '$' followed by '{' or a name start, at s[i]. */
static bool expansion_at(const char *s, size_t len, size_t i) {
        return s[i] == '$' && i + 1 < len && (s[i + 1] == '{' || name_start((unsigned char) s[i + 1]));
}

static int parse_unquoted(const char *source, struct cursor *c, struct buf *b, bool *expands, char **ret_error) {
        size_t start = c->pos, end;
        int r;

        (void) source;
        (void) ret_error;
        /* Up to the end of the line or a '#' after a blank. */
        while (!at_eol(c)) {
                if (peek(c) == '#' && c->pos > start && is_blank((unsigned char) c->s[c->pos - 1]))
                        break;
                c->pos++;
        }
        end = c->pos;
        while (end > start && is_blank((unsigned char) c->s[end - 1]))
                end--;
        /* A lone CR at the end of the last line (no LF after it). */
        while (end > start && c->s[end - 1] == '\r')
                end--;
        for (size_t i = start; i < end; i++) {
                if (expansion_at(c->s, end, i))
                        *expands = true;
                r = buf_put(b, c->s[i]);
                if (r < 0)
                        return r;
        }
        while (!at_eol(c))
                c->pos++;       /* the comment */
        return 0;
}

static int parse_single(const char *source, struct cursor *c, struct buf *b, char **ret_error) {
        struct cursor open = *c;
        int r;

        c->pos++;       /* ' */
        for (;;) {
                int ch = peek(c);

                if (ch < 0)
                        return fail(source, &open, open.pos, ret_error, "unterminated single-quoted value");
                if (ch == '\'') {
                        c->pos++;
                        return finish_line(source, c, ret_error, "the closing quote");
                }
                if (ch == '\r' && c->pos + 1 < c->len && c->s[c->pos + 1] == '\n') {
                        r = buf_put(b, '\n');
                        if (r < 0)
                                return r;
                        next_line(c);
                        continue;
                }
                if (ch == '\n') {
                        r = buf_put(b, '\n');
                        if (r < 0)
                                return r;
                        next_line(c);
                        continue;
                }
                r = buf_put(b, (char) ch);
                if (r < 0)
                        return r;
                c->pos++;
        }
}

static int parse_double(const char *source, struct cursor *c, struct buf *b, bool *expands, char **ret_error) {
        struct cursor open = *c;
        int r;

        c->pos++;       /* " */
        for (;;) {
                int ch = peek(c), out;

                if (ch < 0)
                        return fail(source, &open, open.pos, ret_error, "unterminated double-quoted value");
                if (ch == '"') {
                        c->pos++;
                        return finish_line(source, c, ret_error, "the closing quote");
                }
                if ((ch == '\r' && c->pos + 1 < c->len && c->s[c->pos + 1] == '\n') || ch == '\n') {
                        r = buf_put(b, '\n');
                        if (r < 0)
                                return r;
                        next_line(c);
                        continue;
                }
                if (ch == '$' && expansion_at(c->s, c->len, c->pos))
                        *expands = true;
                if (ch != '\\') {
                        r = buf_put(b, (char) ch);
                        if (r < 0)
                                return r;
                        c->pos++;
                        continue;
                }
                /* An escape. */
                if (c->pos + 1 >= c->len)
                        return fail(source, &open, open.pos, ret_error, "unterminated double-quoted value");
                switch (c->s[c->pos + 1]) {
                case 'n': out = '\n'; break;
                case 'r': out = '\r'; break;
                case 't': out = '\t'; break;
                case '\\': out = '\\'; break;
                case '"': out = '"'; break;
                case '$': out = '$'; break;
                case '\'': out = '\''; break;
                case 'x': {
                        int hi = c->pos + 2 < c->len ? hexval((unsigned char) c->s[c->pos + 2]) : -1;
                        int lo = c->pos + 3 < c->len ? hexval((unsigned char) c->s[c->pos + 3]) : -1;

                        if (hi < 0 || lo < 0)
                                return fail(source, c, c->pos, ret_error, "\\x must be followed by two hex digits");
                        if (hi == 0 && lo == 0)
                                return fail(source, c, c->pos, ret_error, "\\x00: a value cannot hold a NUL byte");
                        r = buf_put(b, (char) (hi * 16 + lo));
                        if (r < 0)
                                return r;
                        c->pos += 4;
                        continue;
                }
                default:
                        /* Unknown: the backslash stays, the next byte is read normally. */
                        r = buf_put(b, '\\');
                        if (r < 0)
                                return r;
                        c->pos++;
                        continue;
                }
                r = buf_put(b, (char) out);
                if (r < 0)
                        return r;
                c->pos += 2;
        }
}

static int add_entry(struct ve_dotenv *d, struct ve_dotenv_entry *e) {
        struct ve_dotenv_entry *n;

        n = realloc(d->entries, (d->n + 1) * sizeof *n);
        if (!n)
                return -ENOMEM;
        d->entries = n;
        d->entries[d->n++] = *e;
        *e = (struct ve_dotenv_entry) {};
        return 0;
}

static void entry_done(struct ve_dotenv_entry *e) {
        free(e->name);
        ve_erase_free(e->value);
        *e = (struct ve_dotenv_entry) {};
}

/* One logical line (an entry may span several). */
static int parse_line(const char *source, struct cursor *c, struct ve_dotenv *d, char **ret_error) {
        struct ve_dotenv_entry e = {};
        struct buf b = {};
        size_t name_pos;
        int ch, r;

        e.start = c->line_start;
        e.line = c->line;
        skip_blanks(c);
        if (at_eol(c) || peek(c) == '#') {
                while (!at_eol(c))
                        c->pos++;
                return 0;
        }
        if (c->len - c->pos > 7 && memcmp(c->s + c->pos, "export", 6) == 0 && is_blank((unsigned char) c->s[c->pos + 6])) {
                e.exported = true;
                c->pos += 6;
                skip_blanks(c);
        }
        name_pos = c->pos;
        if (!name_start(peek(c)))
                return fail(source, c, c->pos, ret_error, "expected a variable name");
        while (name_char(peek(c)))
                c->pos++;
        e.name = strndup(c->s + name_pos, c->pos - name_pos);
        if (!e.name)
                return -ENOMEM;
        if (!ve_name_valid(e.name)) {
                /* Only the length can be wrong here: the mapping file's bound. */
                r = fail(source, c, name_pos, ret_error, "variable name longer than %d bytes", VE_DOTENV_NAME_MAX);
                goto out;
        }
        skip_blanks(c);
        if (at_eol(c) || peek(c) == '#') {
                /* A bare NAME (a comment may follow after a blank). */
                if (peek(c) == '#' && !is_blank((unsigned char) c->s[c->pos - 1])) {
                        r = fail(source, c, c->pos, ret_error, "invalid character in variable name");
                        goto out;
                }
                while (!at_eol(c))
                        c->pos++;
                e.quote = VE_DOTENV_BARE;
                goto done;
        }
        if (peek(c) != '=') {
                if (c->pos == name_pos + strlen(e.name))
                        r = fail(source, c, c->pos, ret_error, "invalid character in variable name");
                else
                        r = fail(source, c, c->pos, ret_error, "expected '=' after %s", e.name);
                goto out;
        }
        c->pos++;
        skip_blanks(c);
        ch = peek(c);
        if (ch == '\'') {
                e.quote = VE_DOTENV_SINGLE;
                r = parse_single(source, c, &b, ret_error);
        } else if (ch == '"') {
                e.quote = VE_DOTENV_DOUBLE;
                r = parse_double(source, c, &b, &e.expands, ret_error);
        } else {
                e.quote = VE_DOTENV_UNQUOTED;
                r = parse_unquoted(source, c, &b, &e.expands, ret_error);
        }
        if (r < 0)
                goto out;
        e.value = buf_take(&b);
        if (!e.value) {
                r = -ENOMEM;
                goto out;
        }
done:
        e.last_line = c->line;
        e.end = c->pos;
        r = add_entry(d, &e);
out:
        buf_done(&b);
        entry_done(&e);
        return r;
}

int ve_dotenv_parse(const char *source, const char *text, size_t len,
                    struct ve_dotenv **ret, char **ret_error) {
        struct cursor c = { .s = text, .len = len, .line = 1 };
        struct ve_dotenv *d;
        const char *nul;
        int r;

        if (!source || (!text && len > 0) || !ret)
                return -EINVAL;
        nul = len > 0 ? memchr(text, '\0', len) : NULL;
        if (nul) {
                /* Report the NUL's own line and column. */
                for (size_t i = 0; i < (size_t) (nul - text); i++)
                        if (text[i] == '\n') {
                                c.line++;
                                c.line_start = i + 1;
                        }
                return fail(source, &c, (size_t) (nul - text), ret_error, "NUL byte in the file");
        }
        d = calloc(1, sizeof *d);
        if (!d)
                return -ENOMEM;
        d->text = malloc(len + 1);
        if (!d->text) {
                free(d);
                return -ENOMEM;
        }
        if (len > 0)
                memcpy(d->text, text, len);
        d->text[len] = '\0';
        d->len = len;
        c.s = d->text;
        if (len >= 3 && memcmp(c.s, "\xef\xbb\xbf", 3) == 0)
                c.pos = c.line_start = 3;
        {
                const char *lf = memchr(c.s, '\n', len);

                d->crlf = lf && lf > c.s && lf[-1] == '\r';
        }
        while (c.pos < c.len) {
                r = parse_line(source, &c, d, ret_error);
                if (r < 0)
                        goto fail;
                if (!at_eol(&c)) {
                        /* parse_line stops at a line end only. */
                        r = fail(source, &c, c.pos, ret_error, "unexpected character");
                        goto fail;
                }
                if (c.pos >= c.len)
                        break;
                next_line(&c);
        }
        *ret = d;
        return 0;
fail:
        ve_dotenv_free(d);
        return r;
}

int ve_dotenv_load(const char *path, struct ve_dotenv **ret, char **ret_error) {
        char *data = NULL;
        size_t len = 0;
        int r;

        r = ve_read_file(path, DOTENV_FILE_MAX, &data, &len);
        if (r < 0) {
                ve_set_error(ret_error, ve_asprintf("%s: cannot read it: %s", path,
                                                 r == -EFBIG ? "larger than 16 MiB" : strerror(-r)));
                return r;
        }
        r = ve_dotenv_parse(path, data, len, ret, ret_error);
        ve_erase_free_n(data, len + 1);
        return r;
}

void ve_dotenv_free(struct ve_dotenv *d) {
        if (!d)
                return;
        for (size_t i = 0; i < d->n; i++)
                entry_done(&d->entries[i]);
        free(d->entries);
        if (d->text)
                ve_erase_free_n(d->text, d->len + 1);
        free(d);
}

const struct ve_dotenv_entry *ve_dotenv_find(const struct ve_dotenv *d, const char *name) {
        if (!d || !name)
                return NULL;
        for (size_t i = d->n; i > 0; i--)
                if (d->entries[i - 1].value && strcmp(d->entries[i - 1].name, name) == 0)
                        return &d->entries[i - 1];
        return NULL;
}

static int append(struct buf *b, const char *s, size_t n) {
        for (size_t i = 0; i < n; i++) {
                int r = buf_put(b, s[i]);

                if (r < 0)
                        return r;
        }
        return 0;
}

/* Length of the line terminator at pos (0 at the end of the text). */
static size_t eol_len(const struct ve_dotenv *d, size_t pos) {
        if (pos < d->len && d->text[pos] == '\n')
                return 1;
        if (pos + 1 < d->len && d->text[pos] == '\r' && d->text[pos + 1] == '\n')
                return 2;
        return 0;
}

int ve_dotenv_rewrite(const struct ve_dotenv *d, const char *const *replace, char **ret_text) {
        struct buf b = {};
        size_t pos = 0;
        char *out;
        int r;

        if (!d || !ret_text)
                return -EINVAL;
        for (size_t i = 0; i < d->n; i++) {
                const struct ve_dotenv_entry *e = &d->entries[i];
                const char *rep = replace ? replace[i] : NULL;

                if (!rep)
                        continue;
                r = append(&b, d->text + pos, e->start - pos);
                if (r < 0)
                        goto fail;
                pos = e->end;
                if (*rep)
                        r = append(&b, rep, strlen(rep));
                else
                        pos += eol_len(d, pos);
                if (r < 0)
                        goto fail;
        }
        r = append(&b, d->text + pos, d->len - pos);
        if (r < 0)
                goto fail;
        out = buf_take(&b);
        if (!out)
                return -ENOMEM;
        *ret_text = out;
        return 0;
fail:
        buf_done(&b);
        return r;
}
