/* SPDX-License-Identifier: MIT */
#pragma once

/* The mapping file's parser state and its lexer (mapfile_lex.c), shared
 * with the parser (mapfile.c). Not part of the library's interface. */

#include <stdbool.h>
#include <stddef.h>

#include "mapfile.h"

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

        unsigned prefetch_line;         /* the line of the prefetch directive, 0: none */
};

/* Sets *ret_error to "source:line:col: message", col the byte column of at
 * in the current line. Returns -EINVAL, or -ENOMEM when the message could
 * not be built (*ret_error is then NULL). */
int ve_parser_error(struct parser *ps, const char *at, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* -ENOMEM, with *ret_error NULL. */
int ve_parser_oom(struct parser *ps);

static inline bool is_blank(char c) {
        return c == ' ' || c == '\t';
}

static inline void skip_blanks(struct parser *ps) {
        while (ps->p < ps->end && is_blank(*ps->p))
                ps->p++;
}

/* True at the end of the line or at a comment. '#' opens a comment only at
 * the start of the line or after a blank: in "secret/app/db#url" it is the
 * key separator, and in NAME=#x it is part of the reference. */
static inline bool at_line_end(const struct parser *ps) {
        if (ps->p >= ps->end)
                return true;
        return *ps->p == '#' && (ps->p == ps->line_start || is_blank(ps->p[-1]));
}

/* Reads the next shell-like token: unquoted, "double-quoted" (escapes \\ \"
 * \n \t \r) and 'single-quoted' parts, concatenated up to a blank.
 * Returns 1 with the unquoted token in *ret_token (in ps->buf) and its
 * start in *ret_at; 0 at the end of the line or a comment (ps->p is left
 * there); or a negative errno with *ps->ret_error set. */
int ve_lex_token(struct parser *ps, char **ret_token, const char **ret_at);

/* After a line's NAME (shown as name + suffix in messages): "=" and the
 * value token, as ve_lex_token(). 1 and the token, or a parser error. */
int ve_lex_value(struct parser *ps, const char *name, const char *suffix, char **ret_token,
                 const char **ret_at);

/* The error for an option the line does not know: its name only, never
 * what follows a '=' nor, after a default=, anything (it may be part of a
 * secret). */
int ve_parser_unknown_option(struct parser *ps, const char *at, const char *token, bool after_default);
