/* SPDX-License-Identifier: MIT */
#include "eager.h"

static bool is_blank(char c) {
        return c == ' ' || c == '\t';
}

bool ve_eager_list_has(const char *list, const char *name) {
        const char *p;

        if (!list || !name || !name[0])
                return false;
        for (p = list; *p; ) {
                const char *start, *end, *n;

                while (is_blank(*p))
                        p++;
                start = p;
                while (*p && *p != ',')
                        p++;
                end = p;
                while (end > start && is_blank(end[-1]))
                        end--;
                /* the item is [start, end) */
                for (n = name; start < end && *n && *start == *n; start++, n++)
                        ;
                if (start == end && !*n)
                        return true;
                if (*p == ',')
                        p++;
        }
        return false;
}

bool ve_eager_entry_inherits(const struct ve_map_entry *e, const char *inherit_list) {
        return e->inherit || ve_eager_list_has(inherit_list, e->name);
}

bool ve_eager_entry_wanted(const struct ve_map_entry *e, bool all_eager, const char *inherit_list) {
        return all_eager || e->eager || ve_eager_entry_inherits(e, inherit_list);
}

size_t ve_eager_env_count(char *const *envp) {
        size_t n = 0;

        if (envp)
                while (envp[n])
                        n++;
        return n;
}

/* If entry is "NAME=...", the value after '='; else NULL. */
static const char *entry_value(const char *entry, const char *name) {
        while (*name && *entry == *name) {
                entry++;
                name++;
        }
        return !*name && *entry == '=' ? entry + 1 : NULL;
}

static bool str_eq(const char *a, const char *b) {
        while (*a && *a == *b) {
                a++;
                b++;
        }
        return *a == *b;
}

bool ve_eager_strip(char *const *envp, const struct ve_eager_var *vars, size_t n_vars, char **out) {
        bool changed = false;
        size_t i, k = 0;

        if (!envp) {
                out[0] = NULL;
                return false;
        }
        for (i = 0; envp[i]; i++) {
                char *entry = envp[i];
                const struct ve_eager_var *strip = NULL;

                for (size_t j = 0; j < n_vars && !strip; j++) {
                        const char *v;

                        if (vars[j].inherit)
                                continue;
                        v = entry_value(entry, vars[j].name);
                        if (v && str_eq(v, vars[j].value))
                                strip = &vars[j];
                }
                if (!strip) {
                        out[k++] = entry;
                        continue;
                }
                changed = true;
                if (strip->original)
                        out[k++] = (char *) strip->original;
        }
        out[k] = NULL;
        return changed;
}

/* ---- the shim's start-up check ---- */

/* Whether s starts with prefix; never reads past the end of s. */
static bool has_prefix(const char *s, const char *prefix) {
        for (; *prefix; s++, prefix++)
                if (*s != *prefix)
                        return false;
        return true;
}

static bool preload_list_relative(const char *p) {
        while (*p) {
                if (*p == ' ' || *p == ':')
                        p++;
                else if (*p == '/')     /* absolute: on to the next item */
                        while (*p && *p != ' ' && *p != ':')
                                p++;
                else                    /* relative, or a bare name */
                        for (; *p && *p != ' ' && *p != ':'; p++)
                                if (*p == '/')
                                        return true;
        }
        return false;
}

void ve_eager_env_scan(char *const *envp, struct ve_eager_env *out) {
        out->eager = out->inherit = out->map = NULL;
        out->learning = out->relative_preload = false;
        /* most entries are rejected on their first byte */
        for (; envp && *envp; envp++) {
                const char *s = *envp;

                if (s[0] == 'L') {
                        if (has_prefix(s, "LD_PRELOAD=") && preload_list_relative(s + 11))
                                out->relative_preload = true;
                        continue;
                }
                if (s[0] != 'V' || !has_prefix(s, "VAULTENV_"))
                        continue;
                s += 9;
                if (!out->eager && has_prefix(s, "EAGER="))
                        out->eager = s + 6;
                else if (!out->inherit && has_prefix(s, "INHERIT="))
                        out->inherit = s + 8;
                else if (!out->map && has_prefix(s, "MAP="))
                        out->map = s + 4;
                else if (has_prefix(s, "LEARN=") && s[6])
                        out->learning = true;
        }
}

/* Whether "eager" or "inherit" starts at buf[at] and ends within len. */
static bool word_at(const unsigned char *buf, size_t len, size_t at) {
        const unsigned char *p = buf + at;

        if (len - at >= 5 && p[0] == 'e' && p[1] == 'a' && p[2] == 'g' && p[3] == 'e' && p[4] == 'r')
                return true;
        return len - at >= 7 && p[0] == 'i' && p[1] == 'n' && p[2] == 'h' && p[3] == 'e' && p[4] == 'r' &&
               p[5] == 'i' && p[6] == 't';
}

/* A plain scan: the file is read once per process start-up and is a few
 * KiB, so a byte loop costs microseconds. */
bool ve_eager_mentioned(const char *text, size_t len) {
        const unsigned char *buf = (const unsigned char *) text;

        for (size_t i = 0; i < len; i++)
                if (word_at(buf, len, i))
                        return true;
        return false;
}
