/* SPDX-License-Identifier: MIT */
/* The policy a mapping needs: one exact rule per API path its names read
 * (acl_policy.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "acl_policy.h"
#include "template.h"
#include "util.h"

#define CAP_READ   (1u << 0)
#define CAP_UPDATE (1u << 1)

struct rule {
        char *path;             /* the ACL path: the API path of the read, no query */
        unsigned caps;
        char *names;            /* "DB_PASSWORD, DB_USER": who needs it */
        char *why;              /* what reads it, for the comment */
        char *versions;         /* " @1 @3": the pinned KV v2 versions read through it; may be NULL */
};

struct gen {
        const struct ve_policy_input *in;
        struct rule *rules;
        size_t n_rules;
        size_t n_auto;          /* references whose mount is found by the preflight */
        size_t n_refs;
        size_t n_dynamic;       /* rules of dynamic-secret paths */
        size_t n_unknown;       /* paths granted in both KV forms */
        size_t n_versioned;
        size_t n_bulk;
        size_t n_names;         /* names (or bulk rules) granted */
        unsigned line;          /* of the mapping line being looked at, for messages */
        char *error;
        int r;
};

static void rules_free(struct gen *g) {
        for (size_t i = 0; i < g->n_rules; i++) {
                free(g->rules[i].path);
                free(g->rules[i].names);
                free(g->rules[i].why);
                free(g->rules[i].versions);
        }
        free(g->rules);
}

/* Keeps the first failure. r is -EINVAL with msg (heap), or -ENOMEM; an
 * -EINVAL whose message could not be made is -ENOMEM. */
static void fail(struct gen *g, int r, char *msg) {
        if (g->r == 0) {
                g->r = r == -EINVAL && !msg ? -ENOMEM : r;
                g->error = msg;
        } else
                free(msg);
}

/* Whether label is already one of the comma-separated names. */
static bool names_have(const char *names, const char *label) {
        size_t n = strlen(label);

        for (const char *p = names; p && *p;) {
                if (strncmp(p, label, n) == 0 && (p[n] == ',' || p[n] == '\0'))
                        return true;
                p = strchr(p, ',');
                if (p)
                        p += 2;
        }
        return false;
}

/* A path Vault would read as exactly this path: no byte the policy forms
 * would have to escape, no '+' segment and no trailing '*' (wildcards). */
static bool path_exact(const char *path) {
        size_t n = strlen(path);

        for (const char *p = path; *p; p++)
                if (*p == '"' || *p == '\\' || ve_is_control((unsigned char) *p))
                        return false;
        if (n > 0 && path[n - 1] == '*')
                return false;
        for (const char *s = path; s;) {
                if (s[0] == '+' && (s[1] == '/' || s[1] == '\0'))
                        return false;
                s = strchr(s, '/');
                if (s)
                        s++;
        }
        return true;
}

/* Adds (or extends) the rule for path, needed by label. Takes why. */
static void add_rule(struct gen *g, char *path, unsigned caps, const char *label, char *why) {
        struct rule *r;

        if (g->r < 0 || !path || !why) {
                if (g->r == 0 && (!path || !why))
                        fail(g, -ENOMEM, NULL);
                free(path);
                free(why);
                return;
        }
        if (!path_exact(path)) {
                const char *source = g->in->source ? g->in->source : g->in->map->source;

                fail(g, -EINVAL, ve_asprintf("%s:%u: %s: the Vault path %s cannot be granted exactly (a "
                                             "wildcard, a quote, a backslash or a control byte in it)",
                                             source ? source : "?", g->line, label,
                                             ve_has_control(path) ? "of this reference" : path));
                free(path);
                free(why);
                return;
        }
        for (size_t i = 0; i < g->n_rules; i++) {
                char *names;

                r = &g->rules[i];
                if (strcmp(r->path, path) != 0)
                        continue;
                free(path);
                free(why);
                r->caps |= caps;
                if (names_have(r->names, label))
                        return;
                names = ve_asprintf("%s, %s", r->names, label);
                if (!names) {
                        fail(g, -ENOMEM, NULL);
                        return;
                }
                free(r->names);
                r->names = names;
                return;
        }
        r = realloc(g->rules, (g->n_rules + 1) * sizeof(*r));
        if (!r) {
                fail(g, -ENOMEM, NULL);
                free(path);
                free(why);
                return;
        }
        g->rules = r;
        r[g->n_rules] = (struct rule) { .path = path, .caps = caps, .names = strdup(label), .why = why };
        if (!r[g->n_rules].names) {
                free(path);
                free(why);
                fail(g, -ENOMEM, NULL);
                return;
        }
        g->n_rules++;
}

/* Notes on the rule of path (added last or merged) that it serves version
 * of a KV v2 secret too: ACL paths carry no query string. */
static void note_version(struct gen *g, const char *path, unsigned long version) {
        char v[32], *versions;

        if (g->r < 0)
                return;
        snprintf(v, sizeof v, " @%lu", version);
        for (size_t i = 0; i < g->n_rules; i++) {
                struct rule *r = &g->rules[i];
                const char *at = r->versions ? strstr(r->versions, v) : NULL;

                if (strcmp(r->path, path) != 0)
                        continue;
                if (at && (at[strlen(v)] == ' ' || at[strlen(v)] == '\0'))
                        return;
                versions = ve_asprintf("%s%s", r->versions ? r->versions : "", v);
                if (!versions) {
                        fail(g, -ENOMEM, NULL);
                        return;
                }
                free(r->versions);
                r->versions = versions;
                return;
        }
}

static size_t first_segment_len(const char *path) {
        const char *s = strchr(path, '/');

        return s ? (size_t) (s - path) + 1 : strlen(path);
}

static char *kv2_path(const char *path, size_t ml) {
        const char *rest = path + ml;

        return ve_asprintf("%.*sdata%s%s", (int) ml, path, *rest ? "/" : "", rest);
}

/* The rules one reference needs, for label (a name, or "PREFIX*"). */
static void add_ref(struct gen *g, const struct ve_ref *ref, const char *label) {
        enum ve_policy_engine engine = VE_POLICY_UNKNOWN;
        size_t ml = first_segment_len(ref->path);

        g->n_refs++;
        if (ref->kv == VE_KV_1)
                engine = VE_POLICY_KV1;
        else if (ref->kv == VE_KV_2)
                engine = VE_POLICY_KV2;
        else {
                size_t dml = 0;
                enum ve_policy_engine de = VE_POLICY_UNKNOWN;

                g->n_auto++;
                if (g->in->mount && g->in->mount(g->in->userdata, ref->path, &dml, &de) == 0 &&
                    de != VE_POLICY_UNKNOWN && dml > 0 && dml <= strlen(ref->path) + 1) {
                        engine = de;
                        ml = dml;
                } else if (ref->version > 0)
                        engine = VE_POLICY_KV2; /* only KV v2 has versions */
        }
        if (ml > strlen(ref->path))
                ml = strlen(ref->path);
        if (ref->version > 0)
                g->n_versioned++;
        switch (engine) {
        case VE_POLICY_KV2: {
                char *path = kv2_path(ref->path, ml);

                add_rule(g, path ? strdup(path) : NULL, CAP_READ, label, ve_asprintf("KV v2 %s", ref->path));
                if (path && ref->version > 0)
                        note_version(g, path, ref->version);
                free(path);
                break;
        }
        case VE_POLICY_KV1:
                add_rule(g, strdup(ref->path), CAP_READ, label, ve_asprintf("KV v1 %s", ref->path));
                break;
        case VE_POLICY_DYNAMIC:
                g->n_dynamic++;
                add_rule(g, strdup(ref->path), CAP_READ, label,
                         ve_asprintf("dynamic secret %s (mount %.*s)", ref->path, (int) ml, ref->path));
                break;
        default:
                g->n_unknown++;
                add_rule(g, kv2_path(ref->path, ml), CAP_READ, label,
                         ve_asprintf("%s if %.*s is KV v2", ref->path, (int) ml, ref->path));
                add_rule(g, strdup(ref->path), CAP_READ, label,
                         ve_asprintf("%s if %.*s is KV v1 or another engine", ref->path, (int) ml, ref->path));
                break;
        }
}

static bool learned(const struct ve_policy_input *in, const char *name) {
        if (!in->learned)
                return true;
        for (size_t i = 0; i < in->n_learned; i++)
                if (strcmp(in->learned[i], name) == 0)
                        return true;
        return false;
}

/* A bulk rule is kept when a learned name has its prefix and is not mapped
 * by an explicit entry (which wins over the rule). */
static bool bulk_learned(const struct ve_policy_input *in, const struct ve_map_bulk *b) {
        size_t n = strlen(b->prefix);

        if (!in->learned)
                return true;
        for (size_t i = 0; i < in->n_learned; i++)
                if (strncmp(in->learned[i], b->prefix, n) == 0 && in->learned[i][n] &&
                    !ve_map_find(in->map, in->learned[i]))
                        return true;
        return false;
}

static void collect(struct gen *g) {
        const struct ve_map *map = g->in->map;

        for (size_t i = 0; i < map->n_entries && g->r == 0; i++) {
                const struct ve_map_entry *e = &map->entries[i];

                if (!learned(g->in, e->name))
                        continue;
                g->n_names++;
                g->line = e->line;
                if (!e->tmpl) {
                        add_ref(g, &e->ref, e->name);
                        continue;
                }
                for (size_t k = 0; k < e->tmpl->n_refs; k++)
                        add_ref(g, &ve_template_ref(e->tmpl, k)->ref, e->name);
        }
        for (size_t i = 0; i < map->n_bulk && g->r == 0; i++) {
                const struct ve_map_bulk *b = &map->bulk[i];
                char *label;

                if (!bulk_learned(g->in, b))
                        continue;
                label = ve_asprintf("%s*", b->prefix);
                if (!label) {
                        fail(g, -ENOMEM, NULL);
                        break;
                }
                g->n_names++;
                g->n_bulk++;
                g->line = b->line;
                add_ref(g, &b->ref, label);
                free(label);
        }
}

static void lease_rules(struct gen *g) {
        if (g->n_dynamic == 0)
                return;
        add_rule(g, strdup("sys/leases/renew"), CAP_UPDATE, "leases",
                 strdup("renewing the leases of the dynamic secrets (Vault's default policy has it too)"));
        if (g->in->revoke_on_exit)
                add_rule(g, strdup("sys/leases/revoke"), CAP_UPDATE, "leases",
                         strdup("VAULTENV_REVOKE_ON_EXIT: revoking them when the program exits"));
}

/* The comments that say what is not granted and why. */
static void hcl_notes(FILE *f, const struct gen *g) {
        const struct ve_policy_input *in = g->in;

        if (g->n_auto > 0)
                fputs("# The mount preflight (GET sys/internal/ui/mounts/PATH, for references without\n"
                      "# kv1:/kv2:) needs no rule: Vault answers it for a token that holds any\n"
                      "# capability under that mount.\n", f);
        else if (g->n_refs > 0)
                fputs("# Every reference has kv1: or kv2:, so no mount preflight\n"
                      "# (sys/internal/ui/mounts) is made and none is granted.\n", f);
        if (g->n_unknown > 0)
                fputs("# Some mounts' KV version is not known here (no kv1:/kv2:, not detected): those\n"
                      "# paths are granted in both forms, MOUNT/data/PATH (KV v2) and MOUNT/PATH (KV v1\n"
                      "# or another engine). Prefix the references with kv1: or kv2:, or run\n"
                      "# `vaultenv policy --detect` with Vault credentials, to keep only one.\n", f);
        if (g->n_bulk > 0 || g->n_versioned > 0)
                fputs("# No glob: a bulk rule (PREFIX*) reads its one path, and a pinned version\n"
                      "# (@N) is read as MOUNT/data/PATH?version=N; ACL paths carry no query string,\n"
                      "# so the rule on MOUNT/data/PATH covers every version.\n", f);
        if (g->n_dynamic > 0 && !in->revoke_on_exit)
                fputs("# sys/leases/revoke is not granted: VAULTENV_REVOKE_ON_EXIT is off (so the\n"
                      "# leases `vaultenv check` gives back run out at their TTL instead).\n", f);
        else if (g->n_dynamic == 0 && g->n_unknown > 0)
                fputs("# If one of the undetected paths is a dynamic secret, its leases are renewed\n"
                      "# through sys/leases/renew, which Vault's default policy grants.\n", f);
        fputs("# auth/token/lookup-self, renew-self and revoke-self (the token's own life) are\n"
              "# in Vault's default policy: keep it attached to the token.\n", f);
}

static void caps_list(FILE *f, unsigned caps) {
        bool first = true;

        fputc('[', f);
        if (caps & CAP_READ) {
                fputs("\"read\"", f);
                first = false;
        }
        if (caps & CAP_UPDATE)
                fprintf(f, "%s\"update\"", first ? "" : ", ");
        fputc(']', f);
}

/* s in a comment: a control byte (a newline would end the comment and
 * start a rule) is written as '?'. */
static void put_safe(FILE *f, const char *s) {
        for (; s && *s; s++)
                fputc(ve_is_control((unsigned char) *s) ? '?' : *s, f);
}

static void write_hcl(FILE *f, const struct gen *g) {
        const struct ve_policy_input *in = g->in;
        const char *source = in->source ? in->source : in->map->source;

        fputs("# Vault policy for the mapping ", f);
        put_safe(f, source ? source : "?");
        fputs(", written by `vaultenv policy`:\n"
              "# read on exactly the paths its names use, nothing else.\n", f);
        if (in->name) {
                fputs("# Policy ", f);
                put_safe(f, in->name);
                fputs(". Write it with: vault policy write ", f);
                put_safe(f, in->name);
                fputs(" -\n", f);
        }
        if (in->namespace) {
                fputs("# Namespace ", f);
                put_safe(f, in->namespace);
                fputs(": the paths are relative to it; write the policy in it\n# (VAULT_NAMESPACE=", f);
                put_safe(f, in->namespace);
                fputs(" vault policy write ...).\n", f);
        }
        if (in->learned)
                fprintf(f, "# Restricted to the names `vaultenv learn` saw read: %zu of the mapping's\n"
                           "# %zu names and bulk rules.\n", g->n_names, in->map->n_entries + in->map->n_bulk);
        hcl_notes(f, g);
        if (g->n_rules == 0)
                fputs("# No name of the mapping reads Vault: nothing to grant.\n", f);
        for (size_t i = 0; i < g->n_rules; i++) {
                const struct rule *r = &g->rules[i];

                fprintf(f, "\n# %s: %s\n", r->names, r->why);
                if (r->versions)
                        fprintf(f, "# Pinned versions%s: read as ?version=N, which this rule covers\n",
                                r->versions);
                fprintf(f, "path \"%s\" {\n  capabilities = ", r->path);
                caps_list(f, r->caps);
                fputs("\n}\n", f);
        }
}

static void write_json(FILE *f, const struct gen *g) {
        fputs("{\n  \"path\": {", f);
        for (size_t i = 0; i < g->n_rules; i++) {
                fprintf(f, "%s\n    \"%s\": {\"capabilities\": ", i ? "," : "", g->rules[i].path);
                caps_list(f, g->rules[i].caps);
                fputc('}', f);
        }
        fputs(g->n_rules ? "\n  }\n}\n" : "}\n}\n", f);
}

int ve_policy_generate(const struct ve_policy_input *in, char **ret_text, size_t *ret_n_paths,
                       char **ret_error) {
        struct gen g = { .in = in };
        char *text = NULL;
        size_t size = 0;
        FILE *f;
        int r;

        collect(&g);
        lease_rules(&g);
        if (g.r < 0) {
                r = g.r;
                ve_set_error(ret_error, g.error);
                goto out;
        }
        f = open_memstream(&text, &size);
        if (!f) {
                r = -ENOMEM;
                goto out;
        }
        if (in->json)
                write_json(f, &g);
        else
                write_hcl(f, &g);
        if (ferror(f) | fclose(f)) {
                free(text);
                r = -ENOMEM;
                goto out;
        }
        *ret_text = text;
        if (ret_n_paths)
                *ret_n_paths = g.n_rules;
        r = 0;
out:
        rules_free(&g);
        return r;
}

/* ---- the names of a `vaultenv learn` skeleton ---- */

struct names {
        char **v;
        size_t n;
};

static int names_add(struct names *s, const char *p, size_t len) {
        char **v;
        char *name;

        if (len == 0 || len > 255 || !ve_is_name_start(p[0]))
                return 0;
        for (size_t i = 1; i < len; i++)
                if (!ve_is_name_char(p[i]))
                        return 0;
        for (size_t i = 0; i < s->n; i++)
                if (strlen(s->v[i]) == len && memcmp(s->v[i], p, len) == 0)
                        return 0;
        name = strndup(p, len);
        v = name ? realloc(s->v, (s->n + 1) * sizeof(*v)) : NULL;
        if (!v) {
                free(name);
                return -ENOMEM;
        }
        s->v = v;
        s->v[s->n++] = name;
        return 0;
}

static size_t name_len(const char *p, const char *end) {
        size_t n = 0;

        if (p < end && ve_is_name_start(*p))
                for (n = 1; p + n < end && ve_is_name_char(p[n]); n++)
                        ;
        return n;
}

/* One line (no newline) of the skeleton. */
static int learned_line(struct names *s, const char *p, const char *end, bool *also) {
        const char *q = p;
        bool comment = false;
        size_t n;

        while (q < end && (*q == ' ' || *q == '\t'))
                q++;
        if (q < end && *q == '#') {
                comment = true;
                if ((size_t) (end - q) >= 11 && memcmp(q, "# Also read", 11) == 0) {
                        *also = true;
                        return 0;
                }
                if (*also && (size_t) (end - q) >= 4 && memcmp(q, "#   ", 4) == 0) {
                        /* the well-known names, a few a line */
                        for (q += 4; q < end;) {
                                const char *w = q;

                                while (q < end && *q != ' ' && *q != '\t')
                                        q++;
                                if (names_add(s, w, (size_t) (q - w)) < 0)
                                        return -ENOMEM;
                                while (q < end && (*q == ' ' || *q == '\t'))
                                        q++;
                        }
                        return 0;
                }
                q++;
                while (q < end && *q == ' ')
                        q++;
        }
        n = name_len(q, end);
        if (n == 0)
                return 0;
        p = q;
        q += n;
        while (q < end && (*q == ' ' || *q == '\t' || *q == '\r'))
                q++;
        if ((q < end && *q == '=') || (q == end && !comment))
                return names_add(s, p, n);
        return 0;
}

int ve_policy_learned_parse(const char *text, size_t len, char ***ret_names, size_t *ret_n) {
        struct names s = {};
        const char *p = text, *end = text + len;
        bool also = false;

        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                const char *le = nl ? nl : end;

                if (learned_line(&s, p, le, &also) < 0) {
                        ve_policy_names_free(s.v, s.n);
                        return -ENOMEM;
                }
                p = nl ? nl + 1 : end;
        }
        *ret_names = s.v;
        *ret_n = s.n;
        return 0;
}

void ve_policy_names_free(char **names, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(names[i]);
        free(names);
}
