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
