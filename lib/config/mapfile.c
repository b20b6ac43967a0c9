/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mapfile-parser.h"
#include "mapfile.h"
#include "template.h"
#include "util.h"

/* The grammar is documented for users in doc/vaultenv.map.5.in; this file and
 * its lexer (mapfile_lex.c) are its only implementation. Parsing never
 * logs: every problem is returned as one message for the caller to report.
 * Messages name variables, options and references, never a default= value,
 * because a default may be a secret. */

#define UTF8_BOM "\xef\xbb\xbf"

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

static bool startswith(const char *s, const char *prefix) {
        return strncmp(s, prefix, strlen(prefix)) == 0;
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
                return ve_parser_oom(ps);
        if (!*b.prefix) {
                r = ve_parser_error(ps, name_at, "a bulk mapping needs a name prefix before '*' (e.g. DB_*)");
                goto fail;
        }
        if (!ve_name_valid(b.prefix)) {
                char *q = ve_msg_quote_n(name_at, name_len);

                r = q ? ve_parser_error(ps, name_at, "invalid variable name prefix %s", q) : ve_parser_oom(ps);
                free(q);
                goto fail;
        }
        if (ve_name_prefix_reserved(b.prefix)) {
                r = ve_parser_error(ps, name_at, "bulk mapping %s* covers vaultenv's own configuration names "
                                 "(VAULT_*, VAULTENV_*), which are never served through a mapping", b.prefix);
                goto fail;
        }
        for (size_t i = 0; i < ps->n_bulk; i++) {
                const char *a = ps->bulk[i].prefix;

                if (strncmp(a, b.prefix, strlen(a)) == 0 || strncmp(b.prefix, a, strlen(b.prefix)) == 0) {
                        r = ve_parser_error(ps, name_at, "bulk mapping %s* overlaps %s* (line %u)",
                                         b.prefix, a, ps->bulk[i].line);
                        goto fail;
                }
        }

        r = ve_lex_value(ps, b.prefix, "*", &tok, &at);
        if (r < 0)
                goto fail;
        r = ve_ref_parse(tok, &b.ref, &msg);
        if (r == -EINVAL) {
                r = msg ? ve_parser_error(ps, at, "%s", msg) : ve_parser_oom(ps);
                free(msg);
                goto fail;
        }
        if (r < 0) {
                r = ve_parser_oom(ps);
                goto fail;
        }
        if (strcmp(b.ref.key, "*") != 0) {
                r = ve_parser_error(ps, at, "bulk mapping %s* needs a reference ending in \"#*\" (every key)",
                                 b.prefix);
                goto fail;
        }

        for (;;) {
                r = ve_lex_token(ps, &tok, &at);
                if (r < 0)
                        goto fail;
                if (r == 0)
                        break;
                if (startswith(tok, "ttl=") && !ttl_at) {
                        const char *v = tok + strlen("ttl=");

                        ttl_at = at;
                        if (ve_duration_parse(v, &b.ttl_ms) < 0 || b.ttl_ms == 0) {
                                char *q = ve_msg_quote(v);

                                r = q ? ve_parser_error(ps, at, "invalid duration %s for ttl", q) : ve_parser_oom(ps);
                                free(q);
                                goto fail;
                        }
                } else if (startswith(tok, "ttl=")) {
                        r = ve_parser_error(ps, at, "option \"ttl\" given more than once");
                        goto fail;
                } else {
                        char *q = ve_msg_quote_n(tok, strcspn(tok, "="));

                        r = q ? ve_parser_error(ps, at, "option %s does not apply to a bulk mapping (only ttl= does)", q)
                              : ve_parser_oom(ps);
                        free(q);
                        goto fail;
                }
        }

        {
                struct ve_map_bulk *a = realloc(ps->bulk, (ps->n_bulk + 1) * sizeof *a);

                if (!a) {
                        r = ve_parser_oom(ps);
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

/* NAME, up to a blank or '=' (never quoted), checked: a valid name, not
 * reserved, not seen before. Sets e->name and *ret_at. 1 for a bulk rule's
 * "PREFIX*" (e->name is then not set), 0, or a parser error. */
static int parse_name(struct parser *ps, struct ve_map_entry *e, const char **ret_at, size_t *ret_len) {
        const struct ve_map_entry *first;
        const char *name_at = ps->p;
        size_t name_len;

        while (ps->p < ps->end && !is_blank(*ps->p) && *ps->p != '=')
                ps->p++;
        name_len = (size_t) (ps->p - name_at);
        *ret_at = name_at;
        *ret_len = name_len;
        if (name_len == 0)
                return ve_parser_error(ps, name_at, "missing variable name before '='");
        if (name_len > VE_NAME_MAX)
                return ve_parser_error(ps, name_at, "variable name longer than %d bytes", VE_NAME_MAX);
        if (name_at[name_len - 1] == '*')
                return 1;
        e->name = strndup(name_at, name_len);
        if (!e->name)
                return ve_parser_oom(ps);
        if (!ve_name_valid(e->name)) {
                char *q = ve_msg_quote(e->name);
                int r = q ? ve_parser_error(ps, name_at, "invalid variable name %s", q) : ve_parser_oom(ps);

                free(q);
                return r;
        }
        if (ve_name_config(e->name))
                return ve_parser_error(ps, name_at, "%s is one of vaultenv's own configuration names (VAULT_*, "
                                       "VAULTENV_*), which are never served through a mapping", e->name);
        if (ve_name_passthrough_why(e->name))
                return ve_parser_error(ps, name_at, "%s is %s, which vaultenv passes through from the real "
                                       "environment and never serves through a mapping", e->name,
                                       ve_name_passthrough_why(e->name));
        first = names_find(ps, e->name);
        if (first)
                return ve_parser_error(ps, name_at, "duplicate variable %s (first defined on line %u)",
                                       e->name, first->line);
        return 0;
}

/* "= VALUE" after the name: a template or a reference, into e->tmpl and
 * e->ref (for a template, a copy of its first reference). */
static int parse_value(struct parser *ps, struct ve_map_entry *e) {
        const char *at;
        char *tok, *msg = NULL;
        int r;

        r = ve_lex_value(ps, e->name, "", &tok, &at);
        if (r < 0)
                return r;
        if (ve_template_is(tok)) {
                size_t off = 0;

                r = ve_template_parse(tok, &e->tmpl, &off, &msg);
                if (r == -EINVAL) {
                        /* The offset is in the unquoted text: past an
                         * opening quote it is exact unless escapes came
                         * before it. */
                        size_t skip = (*at == '"' || *at == '\'') ? 1 : 0;
                        const char *col = at + skip + off;

                        if (col > ps->end)
                                col = ps->end;
                        r = msg ? ve_parser_error(ps, col, "%s: %s", e->name, msg) : ve_parser_oom(ps);
                        free(msg);
                        return r;
                }
                if (r >= 0) {
                        const struct ve_ref *r0 = &ve_template_ref(e->tmpl, 0)->ref;

                        e->ref = *r0;
                        e->ref.path = strdup(r0->path);
                        e->ref.key = strdup(r0->key);
                        if (!e->ref.path || !e->ref.key)
                                r = -ENOMEM;
                }
        } else {
                r = ve_ref_parse(tok, &e->ref, &msg);
                if (r == -EINVAL) {
                        r = msg ? ve_parser_error(ps, at, "%s", msg) : ve_parser_oom(ps);
                        free(msg);
                        return r;
                }
                if (r >= 0 && strcmp(e->ref.key, "*") == 0)
                        return ve_parser_error(ps, at, "key \"*\" means every key: write the name as a prefix, "
                                               "%s_* = ...", e->name);
        }
        return r < 0 ? ve_parser_oom(ps) : 0;
}

/* Where each option of the line was given (NULL: not yet). */
struct seen {
        const char *required, *eager, *inherit, *defaults, *ttl;
};

/* One option token tok (at at) of the line. */
static int parse_option(struct parser *ps, struct ve_map_entry *e, struct seen *seen, char *tok, const char *at) {
        if (strcmp(tok, "required") == 0) {
                if (seen->required)
                        return ve_parser_error(ps, at, "option \"required\" given more than once");
                seen->required = at;
                e->required = true;
        } else if (strcmp(tok, "eager") == 0 || strcmp(tok, "inherit") == 0) {
                bool eager = tok[0] == 'e';
                const char **s = eager ? &seen->eager : &seen->inherit;

                if (*s)
                        return ve_parser_error(ps, at, "option \"%s\" given more than once", tok);
                *s = at;
                if (eager)
                        e->eager = true;
                else
                        e->inherit = true;
        } else if (startswith(tok, "required=") || startswith(tok, "eager=") || startswith(tok, "inherit="))
                return ve_parser_error(ps, at, "option \"%.*s\" takes no value", (int) strcspn(tok, "="), tok);
        else if (startswith(tok, "default=")) {
                if (seen->defaults)
                        return ve_parser_error(ps, at, "option \"default\" given more than once");
                seen->defaults = at;
                e->default_value = strdup(tok + strlen("default="));
                if (!e->default_value)
                        return ve_parser_oom(ps);
        } else if (strcmp(tok, "default") == 0)
                return ve_parser_error(ps, at, "option \"default\" needs a value (default=VALUE)");
        else if (startswith(tok, "ttl=")) {
                const char *v = tok + strlen("ttl=");

                if (seen->ttl)
                        return ve_parser_error(ps, at, "option \"ttl\" given more than once");
                seen->ttl = at;
                if (ve_duration_parse(v, &e->ttl_ms) < 0 || e->ttl_ms == 0) {
                        char *q = ve_msg_quote(v);
                        int r = q ? ve_parser_error(ps, at, "invalid duration %s for ttl", q) : ve_parser_oom(ps);

                        free(q);
                        return r;
                }
        } else if (strcmp(tok, "ttl") == 0)
                return ve_parser_error(ps, at, "option \"ttl\" needs a value (ttl=DURATION)");
        else
                return ve_parser_unknown_option(ps, at, tok, seen->defaults != NULL);

        /* A default always satisfies 'required', so together they are a
         * mistake; reported at whichever came second. */
        if (seen->required && seen->defaults)
                return ve_parser_error(ps, at, "'required' and 'default=' contradict each other");
        return 0;
}

/* A line that is a directive of the whole file rather than an entry: the
 * bare word "prefetch" (the first lookup reads every path of the mapping
 * at once; resolve.h), alone on its line but for a comment. 1 when it
 * was one, 0 when the line is something else (ps->p unmoved), or a
 * parser error (a repeated directive). */
static int parse_directive(struct parser *ps) {
        static const char word[] = "prefetch";
        const char *at = ps->p;
        size_t n = sizeof word - 1;

        if ((size_t) (ps->end - at) < n || memcmp(at, word, n) != 0)
                return 0;
        ps->p = at + n;
        skip_blanks(ps);
        if (!at_line_end(ps)) {
                /* "prefetch = ...", "prefetchX": an entry like any other. */
                ps->p = at;
                return 0;
        }
        if (ps->prefetch_line)
                return ve_parser_error(ps, at, "duplicate directive prefetch (first on line %u)", ps->prefetch_line);
        ps->prefetch_line = ps->line;
        return 1;
}

/* Parses one line, [ps->line_start, ps->end), appending its entry if any. */
static int parse_line(struct parser *ps) {
        struct ve_map_entry e = { .line = ps->line };
        struct seen seen = {};
        const char *name_at, *at;
        size_t name_len;
        char *tok;
        int r;

        ps->p = ps->line_start;
        ps->buf_used = 0;

        skip_blanks(ps);
        if (at_line_end(ps))
                return 0;
        r = parse_directive(ps);
        if (r != 0)
                return r < 0 ? r : 0;
        r = parse_name(ps, &e, &name_at, &name_len);
        if (r == 1)
                return parse_bulk(ps, name_at, name_len);
        if (r < 0)
                goto fail;
        r = parse_value(ps, &e);
        if (r < 0)
                goto fail;
        for (;;) {
                r = ve_lex_token(ps, &tok, &at);
                if (r <= 0)
                        break;
                r = parse_option(ps, &e, &seen, tok, at);
                if (r < 0)
                        break;
        }
        if (r < 0)
                goto fail;
        r = parser_append(ps, &e);
        if (r < 0) {
                r = ve_parser_oom(ps);
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
                r = ve_parser_oom(&ps);
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
                                r = ve_parser_error(&ps, c, "embedded NUL byte");
                                goto out;
                        }
                        if (*c == '\r') {
                                r = ve_parser_error(&ps, c, "carriage return not followed by a newline");
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
                r = ve_parser_oom(&ps);
                goto out;
        }
        map->entries = ps.entries;
        map->n_entries = ps.n_entries;
        map->bulk = ps.bulk;
        map->n_bulk = ps.n_bulk;
        map->prefetch = ps.prefetch_line != 0;
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
