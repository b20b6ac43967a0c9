/* SPDX-License-Identifier: MIT */
/* Quoting for `vaultenv export` (export.h). Each quoting function measures
 * first and writes once into an exact-size buffer, so no partial copy of a
 * value is left behind by a realloc. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "util.h"

int ve_export_format_parse(const char *s, enum ve_export_format *ret_format) {
        if (!s)
                return -EINVAL;
        if (strcmp(s, "sh") == 0)
                *ret_format = VE_EXPORT_SH;
        else if (strcmp(s, "dotenv") == 0)
                *ret_format = VE_EXPORT_DOTENV;
        else if (strcmp(s, "json") == 0)
                *ret_format = VE_EXPORT_JSON;
        else
                return -EINVAL;
        return 0;
}

bool ve_utf8_valid(const char *s) {
        const unsigned char *p = (const unsigned char *) s;

        while (*p) {
                unsigned char c = *p;
                size_t n;
                uint32_t cp, min;

                if (c < 0x80) {
                        p++;
                        continue;
                }
                if (c >= 0xc2 && c <= 0xdf) {
                        n = 1;
                        cp = c & 0x1f;
                        min = 0x80;
                } else if (c >= 0xe0 && c <= 0xef) {
                        n = 2;
                        cp = c & 0x0f;
                        min = 0x800;
                } else if (c >= 0xf0 && c <= 0xf4) {
                        n = 3;
                        cp = c & 0x07;
                        min = 0x10000;
                } else
                        return false;   /* a continuation byte, 0xc0/0xc1 (overlong) or > 0xf4 */
                for (size_t i = 1; i <= n; i++) {
                        if ((p[i] & 0xc0) != 0x80)
                                return false;   /* also stops at the NUL */
                        cp = (cp << 6) | (p[i] & 0x3f);
                }
                if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                        return false;
                p += n + 1;
        }
        return true;
}

char *ve_sh_quote(const char *value) {
        size_t len = 2;
        char *out, *w;

        for (const char *p = value; *p; p++)
                len += *p == '\'' ? 4 : 1;
        out = malloc(len + 1);
        if (!out)
                return NULL;
        w = out;
        *w++ = '\'';
        for (const char *p = value; *p; p++)
                if (*p == '\'') {
                        /* close, an escaped quote, reopen */
                        memcpy(w, "'\\''", 4);
                        w += 4;
                } else
                        *w++ = *p;
        *w++ = '\'';
        *w = '\0';
        return out;
}

/* The escape of c inside dotenv "...", or NULL when c stands for itself. */
static const char *dotenv_escape(unsigned char c) {
        switch (c) {
        case '\\': return "\\\\";
        case '"':  return "\\\"";
        case '$':  return "\\$";
        case '\n': return "\\n";
        case '\r': return "\\r";
        case '\t': return "\\t";
        default:   return NULL;
        }
}

char *ve_dotenv_quote(const char *value) {
        size_t len = 0;
        char *out, *w;

        if (!strpbrk(value, "'\n\r")) {
                len = strlen(value);
                out = malloc(len + 3);
                if (!out)
                        return NULL;
                out[0] = '\'';
                memcpy(out + 1, value, len);
                out[len + 1] = '\'';
                out[len + 2] = '\0';
                return out;
        }
        for (const unsigned char *p = (const unsigned char *) value; *p; p++)
                len += dotenv_escape(*p) ? 2 : ve_is_control(*p) ? 4 : 1;
        out = malloc(len + 3);
        if (!out)
                return NULL;
        w = out;
        *w++ = '"';
        for (const unsigned char *p = (const unsigned char *) value; *p; p++) {
                const char *e = dotenv_escape(*p);

                if (e) {
                        memcpy(w, e, 2);
                        w += 2;
                } else if (ve_is_control(*p)) {
                        *w++ = '\\';
                        *w++ = 'x';
                        *w++ = VE_HEX_LOWER[*p >> 4];
                        *w++ = VE_HEX_LOWER[*p & 0xf];
                } else
                        *w++ = (char) *p;
        }
        *w++ = '"';
        *w = '\0';
        return out;
}

int ve_json_quote(const char *value, char **ret_quoted) {
        char *out;

        if (!ve_utf8_valid(value))
                return -EILSEQ;
        out = malloc(ve_json_quoted_len(value) + 1);
        if (!out)
                return -ENOMEM;
        *ve_json_quote_to(out, value) = '\0';
        *ret_quoted = out;
        return 0;
}

/* One entry's text: "export NAME='v'", "NAME=...", or "  \"NAME\": \"v\"". */
static int entry_text(enum ve_export_format format, const char *name, const char *value, char **ret) {
        char *q = NULL, *line;
        int k;

        switch (format) {
        case VE_EXPORT_SH:
                q = ve_sh_quote(value);
                break;
        case VE_EXPORT_DOTENV:
                q = ve_dotenv_quote(value);
                break;
        case VE_EXPORT_JSON:
                if ((k = ve_json_quote(value, &q)) < 0)
                        return k;
                break;
        default:
                return -EINVAL;
        }
        if (!q)
                return -ENOMEM;
        line = format == VE_EXPORT_SH ? ve_asprintf("export %s=%s", name, q) :
               format == VE_EXPORT_DOTENV ? ve_asprintf("%s=%s", name, q) :
               ve_asprintf("  \"%s\": %s", name, q);
        ve_erase_free(q);
        if (!line)
                return -ENOMEM;
        *ret = line;
        return 0;
}

int ve_export_render(enum ve_export_format format, const char *const *names, const char *const *values,
                     size_t n, char **ret_text, size_t *ret_bad) {
        char **lines;
        size_t total = 0;
        char *out = NULL, *w;
        int k = 0;

        if (format != VE_EXPORT_SH && format != VE_EXPORT_DOTENV && format != VE_EXPORT_JSON)
                return -EINVAL;
        lines = calloc(n ? n : 1, sizeof *lines);
        if (!lines)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                k = entry_text(format, names[i], values[i], &lines[i]);
                if (k < 0) {
                        if (k == -EILSEQ && ret_bad)
                                *ret_bad = i;
                        goto out;
                }
                total += strlen(lines[i]) + 2;          /* ",\n" at most */
        }
        total += 4;                                     /* "{\n" "}\n" */
        out = malloc(total + 1);
        if (!out) {
                k = -ENOMEM;
                goto out;
        }
        w = out;
        if (format == VE_EXPORT_JSON)
                *w++ = '{';
        for (size_t i = 0; i < n; i++) {
                size_t l = strlen(lines[i]);

                if (format == VE_EXPORT_JSON) {
                        if (i > 0)
                                *w++ = ',';
                        *w++ = '\n';
                }
                memcpy(w, lines[i], l);
                w += l;
                if (format != VE_EXPORT_JSON)
                        *w++ = '\n';
        }
        if (format == VE_EXPORT_JSON) {
                if (n > 0)
                        *w++ = '\n';
                *w++ = '}';
                *w++ = '\n';
        }
        *w = '\0';
        *ret_text = out;
out:
        for (size_t i = 0; i < n; i++)
                ve_erase_free(lines[i]);
        free(lines);
        return k;
}
