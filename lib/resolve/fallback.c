/* SPDX-License-Identifier: MIT */
/* Steps 3 and 4 of a name's chain (resolve.h): the file NAME_FILE names,
 * SECRETS_DIR/NAME, SECRETS_DIR/name, then the default= option. Evaluated
 * once per entry, under its fb_lock; the outcome is kept for the life of
 * the resolver. A file's contents are never logged, only its path. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "resolve-internal.h"
#include "util.h"

#define VE_SECRET_FILE_MAX (1024 * 1024)

/* Reads one secret file into a heap value; 0, or -errno (-ENOENT: absent). */
static int read_secret_file(const char *name, const char *path, char **ret_value) {
        char *data;
        size_t len;
        int r;

        r = ve_read_file(path, VE_SECRET_FILE_MAX, &data, &len);
        if (r < 0)
                return r;
        if (memchr(data, '\0', len)) {
                ve_warn("%s: %s contains a NUL byte; ignored", name, path);
                ve_erase_free_n(data, len);
                return -EINVAL;
        }
        /* One trailing line end, "\n" or "\r\n": a secret file written on
         * Windows must not end a password in '\r'. */
        if (len > 0 && data[len - 1] == '\n') {
                data[--len] = '\0';
                if (len > 0 && data[len - 1] == '\r')
                        data[--len] = '\0';
        }
        *ret_value = data;
        return 0;
}

/* The file NAME_FILE names: its text (heap) and, in *ret_path, the file's
 * name (heap, for the audit trail); NULL when unset or unreadable. */
static char *name_file_read(struct ve_resolver *r, const char *name, char **ret_path) {
        char *fname, *value = NULL;
        const char *f;
        int k;

        fname = ve_asprintf("%s_FILE", name);
        f = fname ? r->env(fname) : NULL;
        if (f && *f) {
                k = read_secret_file(name, f, &value);
                if (k < 0)
                        ve_warn("%s: cannot read %s=%s: %s", name, fname, f, strerror(-k));
        }
        free(fname);
        if (value)
                *ret_path = strdup(f);
        return value;
}

/* Lower-cases s in place (ASCII, whatever the locale); whether it changed. */
static bool lower_in_place(char *s) {
        bool changed = false;

        for (char *c = s; *c; c++)
                if (ve_ascii_tolower(*c) != *c) {
                        *c = ve_ascii_tolower(*c);
                        changed = true;
                }
        return changed;
}

/* SECRETS_DIR/NAME, else SECRETS_DIR/name (when lower-casing changes the
 * name): its text (heap) and, in *ret_path, the file (heap); NULL when
 * neither is there or readable. */
static char *secrets_dir_read(struct ve_resolver *r, const char *name, char **ret_path) {
        const char *dir = r->settings->secrets_dir;
        char *path = NULL, *value = NULL;
        int k;

        for (int lower = 0; lower < 2 && !value; lower++) {
                free(path);
                path = ve_asprintf("%s/%s", dir, name);
                if (!path)
                        break;
                if (lower && !lower_in_place(path + strlen(dir) + 1))
                        break;
                k = read_secret_file(name, path, &value);
                if (k < 0 && k != -ENOENT)
                        ve_warn("%s: cannot read %s: %s", name, path, strerror(-k));
        }
        if (!value) {
                free(path);
                return NULL;
        }
        *ret_path = path;
        return value;
}

static void fallback_compute(struct ve_resolver *r, struct ve_entry *e) {
        const char *name = e->map->name;
        char *value = NULL;

        /* VAULTENV_FALLBACK (settings.h) takes steps out of the chain. */
        if (!(r->settings->fallback_off & VE_FALLBACK_FILE)) {
                value = name_file_read(r, name, &e->fb_path);
                if (!value) {
                        value = secrets_dir_read(r, name, &e->fb_path);
                        if (value)
                                e->fb_secrets_dir = true;
                }
                if (value)
                        e->fb_from = VE_FROM_FILE;
        }
        if (!value && e->map->default_value && !(r->settings->fallback_off & VE_FALLBACK_DEFAULT)) {
                value = strdup(e->map->default_value);
                if (value)
                        e->fb_from = VE_FROM_DEFAULT;
        }
        e->fb_value = value;
}

const char *entry_fallback(struct ve_resolver *r, struct ve_entry *e, enum ve_from *ret_from) {
        if (!atomic_load_explicit(&e->fb_done, memory_order_acquire)) {
                pthread_mutex_lock(&e->fb_lock);
                if (!atomic_load(&e->fb_done)) {
                        fallback_compute(r, e);
                        atomic_store_explicit(&e->fb_done, true, memory_order_release);
                }
                pthread_mutex_unlock(&e->fb_lock);
        }
        *ret_from = e->fb_from;
        return e->fb_value;
}
