/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "template.h"
#include "util.h"

/* Parsing never logs and never puts literal text in a message: a template
 * is often a URL with a user name or a password typed into it. Messages
 * name references and filters only. */

bool ve_template_is(const char *s) {
        return s && strstr(s, "{{") != NULL;
}

static bool is_blank(char c) {
        return c == ' ' || c == '\t';
}

char *ve_urlencode(const char *s) {
        size_t n = strlen(s);
        char *out;

        /* Exactly sized: the text is often a password. */
        out = malloc(ve_percent_encoded_len(s, n, NULL) + 1);
        if (!out)
                return NULL;
        *ve_percent_encode(out, s, n, NULL) = '\0';
        return out;
}

static void part_done(struct ve_template_part *p) {
        ve_erase_free(p->text);
        ve_ref_done(&p->ref);
}

void ve_template_free(struct ve_template *t) {
        if (!t)
                return;
        for (size_t i = 0; i < t->n_parts; i++)
                part_done(&t->parts[i]);
        free(t->parts);
        free(t);
}

static int fail(const char *s, const char *at, size_t *ret_offset, char **ret_error, char *msg) {
        if (!msg)
                return -ENOMEM;
        if (ret_offset)
                *ret_offset = (size_t) (at - s);
        ve_set_error(ret_error, msg);
        return -EINVAL;
}

static int add_part(struct ve_template *t, struct ve_template_part *p) {
        struct ve_template_part *a = realloc(t->parts, (t->n_parts + 1) * sizeof *a);

        if (!a)
                return -ENOMEM;
        t->parts = a;
        t->parts[t->n_parts++] = *p;
        if (!p->text)
                t->n_refs++;
        *p = (struct ve_template_part) {};
        return 0;
}

static int add_text(struct ve_template *t, const char *from, size_t len) {
        struct ve_template_part p = {};
        int r;

        if (len == 0)
                return 0;
        /* Adjacent literal text (around a {{"..."}} part) is merged. */
        if (t->n_parts > 0 && t->parts[t->n_parts - 1].text) {
                struct ve_template_part *last = &t->parts[t->n_parts - 1];
                size_t old = strlen(last->text);
                char *nt = malloc(old + len + 1);

                if (!nt)
                        return -ENOMEM;
                memcpy(nt, last->text, old);
                memcpy(nt + old, from, len);
                nt[old + len] = '\0';
                ve_erase_free(last->text);
                last->text = nt;
                return 0;
        }
        p.text = strndup(from, len);
        if (!p.text)
                return -ENOMEM;
        r = add_part(t, &p);
        if (r < 0)
                part_done(&p);
        return r;
}

/* Parses the contents of one part, [b, e) of s, blanks trimmed. */
static int parse_part(struct ve_template *t, const char *s, const char *b, const char *e,
                      size_t *ret_offset, char **ret_error) {
        struct ve_template_part p = {};
        const char *bar, *ref_end, *open = b - 2;
        char *ref, *msg = NULL;
        int r;

        while (b < e && is_blank(*b))
                b++;
        while (e > b && is_blank(e[-1]))
                e--;
        if (b == e)
                return fail(s, open, ret_offset, ret_error, strdup("empty reference in \"{{ }}\""));

        if ((*b == '"' || *b == '\'') && e - b >= 2 && e[-1] == *b && !memchr(b + 1, *b, (size_t) (e - b - 2)))
                return add_text(t, b + 1, (size_t) (e - b - 2));

        bar = memchr(b, '|', (size_t) (e - b));
        ref_end = bar ? bar : e;
        while (ref_end > b && is_blank(ref_end[-1]))
                ref_end--;
        if (ref_end == b)
                return fail(s, b, ret_offset, ret_error, strdup("empty reference before '|'"));
        ref = strndup(b, (size_t) (ref_end - b));
        if (!ref)
                return -ENOMEM;
        r = ve_ref_parse(ref, &p.ref, &msg);
        free(ref);
        if (r == -EINVAL)
                return fail(s, b, ret_offset, ret_error, msg);
        if (r < 0) {
                free(msg);
                return r;
        }
        if (strchr(p.ref.key, '{') || strchr(p.ref.key, '}')) {
                part_done(&p);
                return fail(s, b, ret_offset, ret_error, strdup("'{' or '}' in a template reference"));
        }

        while (bar) {
                const char *f = bar + 1, *fe;

                bar = memchr(f, '|', (size_t) (e - f));
                fe = bar ? bar : e;
                while (f < fe && is_blank(*f))
                        f++;
                while (fe > f && is_blank(fe[-1]))
                        fe--;
                if (fe == f) {
                        part_done(&p);
                        return fail(s, f, ret_offset, ret_error, strdup("empty filter after '|'"));
                }
                if (p.n_filters == VE_TEMPLATE_MAX_FILTERS) {
                        part_done(&p);
                        return fail(s, f, ret_offset, ret_error,
                                    ve_asprintf("more than %d filters", VE_TEMPLATE_MAX_FILTERS));
                }
                if ((size_t) (fe - f) == strlen("urlencode") && memcmp(f, "urlencode", 9) == 0)
                        p.filters[p.n_filters++] = VE_FILTER_URLENCODE;
                else {
                        size_t n = (size_t) (fe - f);
                        bool printable = true;

                        for (size_t i = 0; i < n; i++)
                                if ((unsigned char) f[i] < 0x20 || (unsigned char) f[i] >= 0x7f)
                                        printable = false;
                        part_done(&p);
                        return fail(s, f, ret_offset, ret_error,
                                    printable && n <= 64 ?
                                    ve_asprintf("unknown filter \"%.*s\" (known: urlencode)", (int) n, f) :
                                    strdup("unknown filter (known: urlencode)"));
                }
        }

        r = add_part(t, &p);
        if (r < 0)
                part_done(&p);
        return r;
}

int ve_template_parse(const char *s, struct ve_template **ret_template,
                      size_t *ret_offset, char **ret_error) {
        struct ve_template *t;
        const char *c;
        int r;

        if (!s || !ret_template)
                return -EINVAL;
        t = calloc(1, sizeof *t);
        if (!t)
                return -ENOMEM;

        c = s;
        for (;;) {
                const char *open = strstr(c, "{{"), *close;

                if (!open) {
                        r = add_text(t, c, strlen(c));
                        if (r < 0)
                                goto fail;
                        break;
                }
                r = add_text(t, c, (size_t) (open - c));
                if (r < 0)
                        goto fail;
                close = strstr(open + 2, "}}");
                if (!close) {
                        r = fail(s, open, ret_offset, ret_error, strdup("unterminated \"{{\" (no \"}}\")"));
                        goto fail;
                }
                r = parse_part(t, s, open + 2, close, ret_offset, ret_error);
                if (r < 0)
                        goto fail;
                c = close + 2;
        }
        if (t->n_refs == 0) {
                r = fail(s, s, ret_offset, ret_error, strdup("template has no reference"));
                goto fail;
        }
        *ret_template = t;
        return 0;

fail:
        ve_template_free(t);
        return r;
}

const struct ve_template_part *ve_template_ref(const struct ve_template *t, size_t i) {
        if (!t)
                return NULL;
        for (size_t k = 0; k < t->n_parts; k++)
                if (!t->parts[k].text && i-- == 0)
                        return &t->parts[k];
        return NULL;
}

/* Applies p's filters to v: a heap copy (wipe it) or NULL. */
static char *filtered(const struct ve_template_part *p, const char *v) {
        char *cur = strdup(v);

        for (unsigned i = 0; cur && i < p->n_filters; i++) {
                char *next = NULL;

                switch (p->filters[i]) {
                case VE_FILTER_URLENCODE:
                        next = ve_urlencode(cur);
                        break;
                }
                ve_erase_free(cur);
                cur = next;
        }
        return cur;
}

int ve_template_render(const struct ve_template *t, const char *const *values, char **ret_value) {
        char **pieces;
        size_t len = 0, ri = 0;
        char *out = NULL, *o;
        int r = -ENOMEM;

        pieces = calloc(t->n_parts, sizeof *pieces);
        if (!pieces)
                return -ENOMEM;
        for (size_t k = 0; k < t->n_parts; k++) {
                const struct ve_template_part *p = &t->parts[k];

                if (p->text) {
                        len += strlen(p->text);
                        continue;
                }
                if (!values[ri]) {
                        r = -EINVAL;
                        goto out;
                }
                pieces[k] = filtered(p, values[ri++]);
                if (!pieces[k])
                        goto out;
                len += strlen(pieces[k]);
        }
        out = malloc(len + 1);
        if (!out)
                goto out;
        o = out;
        for (size_t k = 0; k < t->n_parts; k++)
                o = stpcpy(o, t->parts[k].text ? t->parts[k].text : pieces[k]);
        *ret_value = out;
        r = 0;
out:
        for (size_t k = 0; k < t->n_parts; k++)
                ve_erase_free(pieces[k]);
        free(pieces);
        return r;
}
