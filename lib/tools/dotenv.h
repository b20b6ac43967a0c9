/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* A dotenv (.env) file as real projects write them, for `vaultenv migrate`.
 *
 * Accepted, line by line (LF or CRLF; a UTF-8 BOM at the start is skipped):
 *   - blank lines and full-line comments (`#` after optional blanks);
 *   - `[export ]NAME=VALUE`, blanks allowed around `=`; NAME is a portable
 *     name ([A-Za-z_][A-Za-z0-9_]*);
 *   - a bare `NAME` (no `=`): a name without a value (compose reads it from
 *     the environment); kept, never given a value;
 *   - VALUE unquoted: up to the end of the line or to a `#` preceded by a
 *     blank, trailing blanks trimmed; nothing in it is special;
 *   - VALUE in single quotes: literal, may span lines;
 *   - VALUE in double quotes: may span lines; escapes \n \r \t \\ \" \$ \'
 *     and \xHH (not \x00); any other backslash is kept as is (as
 *     python-dotenv); a CRLF inside is read as LF;
 *   - after a closing quote only blanks and a `# comment` may follow.
 * No variable expansion is done: `${OTHER}` stays as written. Because other
 * tools (compose, python-dotenv) would expand it, an entry whose unquoted or
 * double-quoted value holds an unescaped `$` followed by `{` or a name start
 * is flagged (expands).
 *
 * `vaultenv export --format dotenv` writes this syntax (ve_dotenv_quote()
 * in export.h); the tests read its output back with this parser.
 *
 * Errors are "FILE:LINE:COL: message" (1-based, COL in bytes) and never
 * contain any byte of a value. A NUL byte anywhere is an error. */

#define VE_DOTENV_NAME_MAX 255

enum ve_dotenv_quote {
        VE_DOTENV_BARE = 0,     /* NAME without '=': no value */
        VE_DOTENV_UNQUOTED,
        VE_DOTENV_SINGLE,
        VE_DOTENV_DOUBLE,
};

struct ve_dotenv_entry {
        char *name;
        char *value;            /* NULL for VE_DOTENV_BARE; wiped when freed */
        enum ve_dotenv_quote quote;
        bool exported;          /* had the `export ` prefix */
        bool expands;           /* see above */
        unsigned line;          /* first line, 1-based */
        unsigned last_line;     /* last line (multi-line quoted values) */
        size_t start, end;      /* the entry's bytes in the text: from the start of
                                 * its first line to the end of its last line,
                                 * line terminator excluded */
};

struct ve_dotenv {
        char *text;             /* a copy of the parsed text (wiped when freed) */
        size_t len;
        bool crlf;              /* the first line ends with CRLF */
        size_t n;
        struct ve_dotenv_entry *entries;        /* in file order; a name may repeat */
};

/* Parses text (len bytes, need not be NUL-terminated). 0, -ENOMEM, or
 * -EINVAL with "SOURCE:LINE:COL: message" in *ret_error. */
int ve_dotenv_parse(const char *source, const char *text, size_t len,
                    struct ve_dotenv **ret, char **ret_error);

/* Reads and parses a file (at most 16 MiB). -errno with a message naming
 * the file otherwise. */
int ve_dotenv_load(const char *path, struct ve_dotenv **ret, char **ret_error);

void ve_dotenv_free(struct ve_dotenv *d);

/* The last entry with that name that has a value (later entries win, as in
 * every dotenv loader), or NULL. */
const struct ve_dotenv_entry *ve_dotenv_find(const struct ve_dotenv *d, const char *name);

/* The text again, with entries replaced: replace has d->n slots; NULL keeps
 * the entry's bytes as they were, "" removes the entry's lines (with their
 * line terminator), any other string takes the entry's place (it should be
 * one line; no terminator). Every other byte (comments, blank lines, line
 * ends) is kept. 0 or -ENOMEM. The result may hold values: the caller wipes it. */
int ve_dotenv_rewrite(const struct ve_dotenv *d, const char *const *replace, char **ret_text);
