/* SPDX-License-Identifier: MIT */
/* The plan of `vaultenv migrate` and the atomic file writes (migrate.h). */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mapfile.h"
#include "migrate.h"
#include "util.h"

static const char *const suffixes[] = { VE_MIGRATE_SUFFIXES };

/* Names that are sensitive on their own (PASS and PWD are not: $PWD is the
 * shell's working directory). */
static bool alone_ok(const char *suffix) {
        return strcmp(suffix, "PASS") != 0 && strcmp(suffix, "PWD") != 0;
}

bool ve_url_has_password(const char *value) {
        const char *p, *auth, *end, *at, *colon;

        if (!value)
                return false;
        /* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
        p = value;
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
                return false;
        while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
               *p == '+' || *p == '-' || *p == '.')
                p++;
        if (strncmp(p, "://", 3) != 0)
                return false;
        auth = p + 3;
        end = auth + strcspn(auth, "/?#");
        /* The last '@' of the authority ends the user info (a raw '@' in a
         * password is common in hand-written URLs). */
        at = NULL;
        for (const char *q = auth; q < end; q++)
                if (*q == '@')
                        at = q;
        if (!at)
                return false;
        colon = memchr(auth, ':', (size_t) (at - auth));
        return colon && colon + 1 < at;
}

enum ve_migrate_reason ve_migrate_classify(const char *name, const char *value, char *const *patterns,
                                           size_t n_patterns, const char **ret_detail) {
        size_t n;

        if (!name)
                return VE_MIGRATE_NOT_SENSITIVE;
        n = strlen(name);
        for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
                size_t k = strlen(suffixes[i]);

                if ((n == k && alone_ok(suffixes[i]) && ve_ascii_strcasecmp(name, suffixes[i]) == 0) ||
                    (n > k + 1 && name[n - k - 1] == '_' && ve_ascii_strcasecmp(name + n - k, suffixes[i]) == 0)) {
                        if (ret_detail)
                                *ret_detail = suffixes[i];
                        return VE_MIGRATE_SUFFIX;
                }
        }
        if (ve_url_has_password(value)) {
                if (ret_detail)
                        *ret_detail = NULL;
                return VE_MIGRATE_URL_PASSWORD;
        }
        for (size_t i = 0; i < n_patterns; i++)
                if (patterns[i] && fnmatch(patterns[i], name, 0) == 0) {
                        if (ret_detail)
                                *ret_detail = patterns[i];
                        return VE_MIGRATE_PATTERN;
                }
        return VE_MIGRATE_NOT_SENSITIVE;
}

void ve_migrate_plan_free(struct ve_migrate_plan *p) {
        if (!p)
                return;
        for (size_t i = 0; i < p->n; i++) {
                free(p->items[i].name);
                free(p->items[i].detail);
        }
        free(p->items);
        free(p->path);
        ve_secret_free(p->values);
        free(p->map_text);
        ve_erase_free(p->env_text);
        free(p);
}

static struct ve_migrate_item *find_item(struct ve_migrate_plan *p, const char *name) {
        for (size_t i = 0; i < p->n; i++)
                if (strcmp(p->items[i].name, name) == 0)
                        return &p->items[i];
        return NULL;
}

/* Appends s to *text (a heap string). */
static int cat(char **text, const char *s) {
        size_t a = *text ? strlen(*text) : 0, b = strlen(s);
        char *n = realloc(*text, a + b + 1);

        if (!n)
                return -ENOMEM;
        memcpy(n + a, s, b + 1);
        *text = n;
        return 0;
}

static int catf(char **text, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int catf(char **text, const char *fmt, ...) {
        char *s = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        r = cat(text, s);
        free(s);
        return r;
}

/* Checks that MOUNT/PREFIX#NAME is a reference the mapping file takes. */
static int check_ref(const char *path, const char *name, char **ret_error) {
        struct ve_ref ref = {};
        char *s, *err = NULL;
        int r;

        s = ve_asprintf("%s#%s", path, name);
        if (!s)
                return -ENOMEM;
        r = ve_ref_parse(s, &ref, &err);
        /* Blanks and quotes would split or quote the mapping-file line. */
        if (r == 0 && strpbrk(path, " \t\"'\\"))
                r = -EINVAL;
        for (const char *c = path; r == 0 && *c; c++)
                if ((unsigned char) *c < 0x20 || *c == 0x7f)
                        r = -EINVAL;
        if (r == 0 && (ref.kv != VE_KV_AUTO || ref.version != 0 || strcmp(ref.path, path) != 0))
                r = -EINVAL;
        if (r == -EINVAL)
                ve_set_error(ret_error, ve_asprintf("--mount/--prefix: \"%s\" is not a usable Vault path%s%s",
                                                 path, err ? ": " : "", err ? err : ""));
        ve_ref_done(&ref);
        free(err);
        free(s);
        return r;
}

static int build_map(struct ve_migrate_plan *p, const struct ve_migrate_options *o, char **ret_error) {
        struct ve_map *map = NULL;
        char *err = NULL;
        size_t width = 0;
        int r;

        for (size_t i = 0; i < p->n; i++)
                if (p->items[i].action == VE_MIGRATE_MOVE && strlen(p->items[i].name) > width)
                        width = strlen(p->items[i].name);
        r = catf(&p->map_text,
                 "# vaultenv mapping file, written by `vaultenv migrate` from %s.\n"
                 "# These names now come from Vault (one KV secret: %s); see vaultenv.map(5).\n"
                 "# They are required: with neither Vault nor a fallback, the program stops\n"
                 "# with a message instead of running without its credentials.\n",
                 o->source ? o->source : ".env", p->path);
        for (size_t i = 0; r == 0 && i < p->n; i++)
                if (p->items[i].action == VE_MIGRATE_MOVE)
                        r = catf(&p->map_text, "%-*s = %s#%s  required\n", (int) width, p->items[i].name, p->path,
                                 p->items[i].name);
        if (r < 0)
                return r;
        /* What we write must be what the shim accepts. */
        r = ve_map_parse(o->map_name ? o->map_name : "vaultenv.map", p->map_text, strlen(p->map_text), &map, &err);
        ve_map_free(map);
        if (r == -EINVAL)
                ve_set_error(ret_error, ve_asprintf("internal error: the mapping file written would not parse: %s",
                                                 err ? err : "?"));
        free(err);
        return r;
}

static int build_env(struct ve_migrate_plan *p, const struct ve_dotenv *d, const struct ve_migrate_options *o) {
        const char **rep;
        char **owned;
        int r = 0;

        rep = calloc(d->n ? d->n : 1, sizeof *rep);
        owned = calloc(d->n ? d->n : 1, sizeof *owned);
        if (!rep || !owned) {
                r = -ENOMEM;
                goto out;
        }
        for (size_t i = 0; i < d->n; i++) {
                const struct ve_dotenv_entry *e = &d->entries[i];
                struct ve_migrate_item *it;

                if (!e->value)
                        continue;
                it = find_item(p, e->name);
                if (!it || it->action != VE_MIGRATE_MOVE)
                        continue;
                if (ve_dotenv_find(d, e->name) != e) {
                        rep[i] = "";    /* an earlier value, overridden: gone */
                        continue;
                }
                owned[i] = ve_asprintf("# %s moved to Vault: %s#%s (served through %s)", e->name, p->path, e->name,
                                       o->map_name ? o->map_name : "vaultenv.map");
                if (!owned[i]) {
                        r = -ENOMEM;
                        goto out;
                }
                rep[i] = owned[i];
        }
        r = ve_dotenv_rewrite(d, rep, &p->env_text);
out:
        if (owned)
                for (size_t i = 0; i < d->n; i++)
                        free(owned[i]);
        free(owned);
        free(rep);
        return r;
}

int ve_migrate_plan(const struct ve_dotenv *d, const struct ve_migrate_options *o,
                    struct ve_migrate_plan **ret_plan, char **ret_error) {
        struct ve_migrate_plan *p;
        int r;

        if (!d || !o || !o->mount || !o->prefix || !ret_plan)
                return -EINVAL;
        p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        p->values = ve_secret_new();
        p->path = ve_asprintf("%s/%s", o->mount, o->prefix);
        if (!p->values || !p->path) {
                r = -ENOMEM;
                goto fail;
        }
        r = check_ref(p->path, "X", ret_error);
        if (r < 0)
                goto fail;

        for (size_t i = 0; i < d->n; i++) {
                const struct ve_dotenv_entry *e = &d->entries[i], *last;
                struct ve_migrate_item *it, *items;
                enum ve_migrate_reason why;
                const char *detail = NULL;

                if (!e->value || find_item(p, e->name))
                        continue;
                last = ve_dotenv_find(d, e->name);
                why = ve_migrate_classify(e->name, last->value, o->patterns, o->n_patterns, &detail);
                if (why == VE_MIGRATE_NOT_SENSITIVE)
                        continue;
                items = realloc(p->items, (p->n + 1) * sizeof *items);
                if (!items) {
                        r = -ENOMEM;
                        goto fail;
                }
                p->items = items;
                it = &p->items[p->n++];
                *it = (struct ve_migrate_item) { .reason = why };
                it->name = strdup(e->name);
                it->detail = detail ? strdup(detail) : NULL;
                if (!it->name || (detail && !it->detail)) {
                        r = -ENOMEM;
                        goto fail;
                }
                if (!*last->value)
                        it->action = VE_MIGRATE_KEEP_EMPTY;
                else if (last->expands)
                        it->action = VE_MIGRATE_KEEP_EXPANDS;
                else {
                        it->action = VE_MIGRATE_MOVE;
                        r = check_ref(p->path, e->name, ret_error);
                        if (r < 0)
                                goto fail;
                        r = ve_secret_add(p->values, e->name, last->value);
                        if (r < 0)
                                goto fail;
                        p->n_moved++;
                }
        }
        r = build_map(p, o, ret_error);
        if (r < 0)
                goto fail;
        r = build_env(p, d, o);
        if (r < 0)
                goto fail;
        *ret_plan = p;
        return 0;
fail:
        ve_migrate_plan_free(p);
        return r;
}

char *ve_migrate_plan_text(const struct ve_migrate_plan *p, const char *env_path, const char *map_path) {
        char *t = NULL;
        size_t width = 0;
        int r;

        if (!p)
                return NULL;
        for (size_t i = 0; i < p->n; i++)
                if (strlen(p->items[i].name) > width)
                        width = strlen(p->items[i].name);
        r = catf(&t, "Plan for %s (values are never shown):\n", env_path ? env_path : ".env");
        for (size_t i = 0; r == 0 && i < p->n; i++) {
                const struct ve_migrate_item *it = &p->items[i];
                char why[128];

                switch (it->reason) {
                case VE_MIGRATE_SUFFIX:
                        snprintf(why, sizeof why, "name ends in %s", it->detail ? it->detail : "?");
                        break;
                case VE_MIGRATE_URL_PASSWORD:
                        snprintf(why, sizeof why, "a URL with a password");
                        break;
                case VE_MIGRATE_PATTERN:
                        snprintf(why, sizeof why, "matches --pattern %s", it->detail ? it->detail : "?");
                        break;
                default:
                        snprintf(why, sizeof why, "?");
                }
                switch (it->action) {
                case VE_MIGRATE_MOVE:
                        r = catf(&t, "  move  %-*s -> %s#%s  (%s)\n", (int) width, it->name, p->path, it->name, why);
                        break;
                case VE_MIGRATE_KEEP_EMPTY:
                        r = catf(&t, "  keep  %-*s    (%s, but its value is empty)\n", (int) width, it->name, why);
                        break;
                case VE_MIGRATE_KEEP_EXPANDS:
                        r = catf(&t, "  keep  %-*s    (%s, but its value uses $ expansion, which Vault would not do)\n",
                                 (int) width, it->name, why);
                        break;
                }
        }
        if (r == 0 && p->n_moved == 0)
                r = catf(&t, "  nothing to move\n");
        else if (r == 0)
                r = catf(&t,
                         "Vault: %zu key(s) to write to %s (one KV secret)\n"
                         "Mapping file to write: %s (%zu entr%s)\n"
                         "%s: each moved entry to be replaced by a comment; everything else kept\n",
                         p->n_moved, p->path, map_path ? map_path : "vaultenv.map", p->n_moved,
                         p->n_moved == 1 ? "y" : "ies", env_path ? env_path : ".env");
        if (r < 0) {
                free(t);
                return NULL;
        }
        return t;
}

int ve_write_file_atomic(const char *path, const char *text, size_t len, mode_t mode, bool replace,
                         char **ret_error) {
        char *tmp = NULL;
        const char *what = "cannot write it";
        size_t off = 0;
        int fd = -1, r;

        if (!path || (!text && len > 0))
                return -EINVAL;
        tmp = ve_asprintf("%s.vaultenv-XXXXXX", path);
        if (!tmp)
                return -ENOMEM;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0) {
                r = -errno;
                free(tmp);
                ve_set_error(ret_error, ve_asprintf("%s: cannot create a file beside it: %s", path, strerror(-r)));
                return r;
        }
        if (fchmod(fd, mode) < 0)
                goto fail_errno;
        while (off < len) {
                ssize_t n = write(fd, text + off, len - off);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        goto fail_errno;
                }
                off += (size_t) n;
        }
        if (fsync(fd) < 0)
                goto fail_errno;
        if (close(fd) < 0) {
                fd = -1;
                goto fail_errno;
        }
        fd = -1;
        if (replace) {
                if (rename(tmp, path) < 0) {
                        what = "cannot replace it";
                        goto fail_errno;
                }
        } else {
                /* link() fails with EEXIST instead of replacing. */
                if (link(tmp, path) < 0) {
                        what = errno == EEXIST ? "exists already" : "cannot create it";
                        goto fail_errno;
                }
                (void) unlink(tmp);
        }
        free(tmp);
        return 0;
fail_errno:
        r = -errno;
        if (fd >= 0)
                close(fd);
        (void) unlink(tmp);
        free(tmp);
        if (r == -EEXIST)
                ve_set_error(ret_error, ve_asprintf("%s %s", path, what));
        else
                ve_set_error(ret_error, ve_asprintf("%s: %s: %s", path, what, strerror(-r)));
        return r;
}
