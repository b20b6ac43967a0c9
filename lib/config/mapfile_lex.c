/* SPDX-License-Identifier: MIT */
/* The mapping file's lexer: shell-like tokens (mapfile-parser.h), and the
 * errors the parser reports, "source:line:col: message". Messages name
 * variables, options and references, never a default= value, because a
 * default may be a secret. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mapfile-parser.h"
#include "util.h"

int ve_parser_error(struct parser *ps, const char *at, const char *fmt, ...) {
        char *msg, *full;
        va_list ap;

        if (!ps->ret_error)
                return -EINVAL;
        va_start(ap, fmt);
        msg = ve_vasprintf(fmt, ap);
        va_end(ap);
        full = msg ? ve_asprintf("%s:%u:%zu: %s", ps->source, ps->line,
                                 (size_t) (at - ps->line_start) + 1, msg) : NULL;
        free(msg);
        *ps->ret_error = full;
        return full ? -EINVAL : -ENOMEM;
}

int ve_parser_oom(struct parser *ps) {
        if (ps->ret_error)
                *ps->ret_error = NULL;
        return -ENOMEM;
}

int ve_lex_token(struct parser *ps, char **ret_token, const char **ret_at) {
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
                                return ve_parser_error(ps, open, "unterminated single quote");
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
                                                return ve_parser_error(ps, ps->p, "unknown escape in default= value");
                                        if (ve_is_control((unsigned char) ps->p[1]) || (unsigned char) ps->p[1] >= 0x80)
                                                return ve_parser_error(ps, ps->p, "unknown escape \\ before byte 0x%02x",
                                                                    (unsigned char) ps->p[1]);
                                        return ve_parser_error(ps, ps->p, "unknown escape \\%c", ps->p[1]);
                                }
                                }
                                ps->p++;
                        }
                        if (ps->p >= ps->end)
                                return ve_parser_error(ps, open, "unterminated double quote");
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

int ve_parser_unknown_option(struct parser *ps, const char *at, const char *token, bool after_default) {
        const char *eq;
        char *q;
        int r;

        /* "default=a b" leaves "b" here: a piece of the value, maybe a
         * secret. After a default= on the line, do not echo tokens. */
        if (after_default)
                return ve_parser_error(ps, at, "unknown option after default= (not shown, it may be part of "
                                    "the value: quote a default that contains blanks)");
        /* Only the option's name, never what follows a '='. */
        eq = strchr(token, '=');
        q = ve_msg_quote_n(token, eq ? (size_t) (eq - token) : strlen(token));
        if (!q)
                return ve_parser_oom(ps);
        r = ve_parser_error(ps, at, "unknown option %s", q);
        free(q);
        return r;
}

int ve_lex_value(struct parser *ps, const char *name, const char *suffix, char **ret_token,
                 const char **ret_at) {
        int r;

        skip_blanks(ps);
        if (ps->p >= ps->end || *ps->p != '=')
                return ve_parser_error(ps, ps->p, "expected '=' after %s%s", name, suffix);
        ps->p++;
        r = ve_lex_token(ps, ret_token, ret_at);
        if (r == 0)
                return ve_parser_error(ps, ps->p, "missing Vault reference for %s%s", name, suffix);
        return r;
}
