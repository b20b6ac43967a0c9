/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* The output formats of `vaultenv export`: quoting of values (any byte
 * sequence but NUL) for the shell, for dotenv files and for JSON. Pure
 * functions, no I/O. Every string they return holds a secret value: wipe
 * it (ve_erase_free()).
 *
 *   sh      export NAME='value'          one line per name (a value with a
 *                                         newline spans lines); each ' is
 *                                         written '\'' ; nothing else is
 *                                         special inside '...' in POSIX sh,
 *                                         so every byte round-trips through
 *                                         eval.
 *   dotenv  NAME='value'                 when the value has no ', no \n and
 *                                         no \r (the bytes between the quotes
 *                                         are taken literally);
 *           NAME="..."                   otherwise, with \\ \" \$ \n \r \t and
 *                                         \xHH (two lower-case hex digits) for
 *                                         every other byte below 0x20 and 0x7f.
 *   json    {"NAME": "value", ...}       one object; the value must be valid
 *                                         UTF-8 (RFC 3629: no overlong forms, no
 *                                         surrogates, at most U+10FFFF), else
 *                                         -EILSEQ: a JSON string is Unicode text
 *                                         and \u-escaping stray bytes would hand
 *                                         consumers a different secret. " \ and
 *                                         bytes below 0x20 are escaped (\n \r \t
 *                                         \b \f, else \u00XX); 0x7f and non-ASCII
 *                                         characters are written as they are. */

enum ve_export_format {
        VE_EXPORT_SH = 0,
        VE_EXPORT_DOTENV,
        VE_EXPORT_JSON,
};

/* "sh" | "dotenv" | "json". 0 or -EINVAL. */
int ve_export_format_parse(const char *s, enum ve_export_format *ret_format);

/* Whether s is valid UTF-8 (as above). */
bool ve_utf8_valid(const char *s);

/* 'value' with each ' as '\'' (heap, or NULL: no memory). */
char *ve_sh_quote(const char *value);

/* The dotenv form of value, quotes included (heap, or NULL). */
char *ve_dotenv_quote(const char *value);

/* "value" as a JSON string (heap). 0, -EILSEQ (not UTF-8), -ENOMEM. */
int ve_json_quote(const char *value, char **ret_quoted);

/* The whole document for n (names[i], values[i]) pairs, in the order given
 * (the caller sorts): sh and dotenv one entry a line; json one object, one
 * member a line, "{}" when n is 0; ends in "\n". Names are not quoted (the
 * caller passes valid variable names). 0 and a heap string; -EILSEQ with
 * *ret_bad the index of the first value JSON cannot carry (ret_bad may be
 * NULL); -ENOMEM; -EINVAL for a bad format. */
int ve_export_render(enum ve_export_format format, const char *const *names, const char *const *values,
                     size_t n, char **ret_text, size_t *ret_bad);
