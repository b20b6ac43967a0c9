/* SPDX-License-Identifier: MIT */
/* The reference grammar (ref.h, doc/vaultenv.map.5.in). Parsing never logs:
 * a problem is returned as one message naming the reference, quoted and
 * cut (ve_msg_quote()). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"
#include "util.h"

/* ve_ref_parse() failures: "what: \"reference\"". Returns -EINVAL, or
 * -ENOMEM when the message could not be built (*ret_error is then NULL). */
static int ref_error(char **ret_error, const char *what, const char *ref) {
        char *q, *msg;

        if (!ret_error)
                return -EINVAL;
        q = ve_msg_quote(ref);
        msg = q ? ve_asprintf("%s: %s", what, q) : NULL;
        free(q);
        *ret_error = msg;
        return msg ? -EINVAL : -ENOMEM;
}

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

/* Whether [s, end) is an optionally signed, non-empty run of ASCII digits,
 * or empty: the text that makes a trailing '@' a version suffix. */
static bool looks_like_version(const char *s, const char *end) {
        if (s < end && (*s == '+' || *s == '-'))
                s++;
        else if (s == end)
                return true;
        if (s == end)
                return false;
        for (; s < end; s++)
                if (!is_digit(*s))
                        return false;
        return true;
}

/* The version suffix "@N" of a reference ending at end (see ref.h).
 * Returns 0 and sets *ret_at to the '@' (or to end when there is no suffix)
 * and *ret_version (0: none); -EINVAL with a message for a bad version. */
static int parse_version(const char *ref, const char *start, const char *end,
                         const char **ret_at, unsigned long *ret_version, char **ret_error) {
        const char *at = NULL, *d;
        unsigned long v = 0;

        for (const char *c = start; c < end; c++)
                if (*c == '@')
                        at = c;
        if (!at || !looks_like_version(at + 1, end)) {
                *ret_at = end;
                *ret_version = 0;
                return 0;
        }
        d = at + 1;
        if (d == end)
                return ref_error(ret_error, "empty version after '@' in reference", ref);
        if (!is_digit(*d) || *d == '0')
                return ref_error(ret_error, "version must be a positive integer in reference", ref);
        for (; d < end; d++) {
                v = v * 10 + (unsigned long) (*d - '0');
                if (v > VE_REF_VERSION_MAX)
                        return ref_error(ret_error, "version is too large in reference", ref);
        }
        *ret_at = at;
        *ret_version = v;
        return 0;
}

/* MOUNT/PATH, the path_len bytes at path (s is the whole reference, for
 * messages): not empty, no '/' at either end, no '?'. */
static int check_path_ends(const char *s, const char *path, size_t path_len, char **ret_error) {
        if (path_len == 0)
                return ref_error(ret_error, "reference needs MOUNT/PATH", s);
        if (path[0] == '/')
                return ref_error(ret_error, "reference must not start with '/'", s);
        if (path[path_len - 1] == '/')
                return ref_error(ret_error, "reference must not end with '/'", s);
        /* '?' would start a query string in the request URL. */
        if (memchr(path, '?', path_len))
                return ref_error(ret_error, "reference must not contain '?'", s);
        return 0;
}

/* The segments of MOUNT/PATH: no empty, "." or ".." segment, at least two,
 * and no ':' in the mount (a mistyped prefix). */
static int check_segments(const char *s, const char *path, size_t path_len, char **ret_error) {
        const char *seg, *path_end = path + path_len;
        size_t n_segments = 0;

        for (seg = path; seg < path_end; ) {
                const char *slash = memchr(seg, '/', (size_t) (path_end - seg));
                const char *seg_end = slash ? slash : path_end;
                size_t seg_len = (size_t) (seg_end - seg);

                /* A ':' in the mount (after any kv1:/kv2: was taken off)
                 * is almost surely a mistyped prefix: be strict. */
                if (n_segments == 0) {
                        const char *colon = memchr(seg, ':', seg_len);

                        if (colon) {
                                char *q, *msg;

                                if (!ret_error)
                                        return -EINVAL;
                                q = ve_msg_quote_n(seg, (size_t) (colon - seg) + 1);
                                msg = q ? ve_asprintf("unknown reference prefix %s", q) : NULL;
                                free(q);
                                *ret_error = msg;
                                return msg ? -EINVAL : -ENOMEM;
                        }
                }
                if (seg_len == 0)
                        return ref_error(ret_error, "empty path segment in reference", s);
                if ((seg_len == 1 && seg[0] == '.') ||
                    (seg_len == 2 && seg[0] == '.' && seg[1] == '.'))
                        return ref_error(ret_error, "'.' and '..' path segments are not allowed in reference", s);
                n_segments++;
                seg = slash ? slash + 1 : path_end;
        }
        if (n_segments < 2)
                return ref_error(ret_error, "reference needs MOUNT/PATH", s);
        return 0;
}

int ve_ref_parse(const char *s, struct ve_ref *ret_ref, char **ret_error) {
        enum ve_kv_version kv = VE_KV_AUTO;
        const char *path, *hash, *path_end, *end = NULL;
        unsigned long version = 0;
        char *p = NULL, *k = NULL;
        int r;

        if (!s || !ret_ref)
                return -EINVAL;
        if (!*s)
                return ref_error(ret_error, "empty reference", s);

        /* The key is checked too: it ends up in messages and in the lookup
         * of a JSON field, and no sane key contains a control byte. */
        for (const char *c = s; *c; c++)
                if (ve_is_control((unsigned char) *c))
                        return ref_error(ret_error, "reference contains a control character", s);

        path = s;
        if (strncmp(path, "kv1:", 4) == 0) {
                kv = VE_KV_1;
                path += 4;
        } else if (strncmp(path, "kv2:", 4) == 0) {
                kv = VE_KV_2;
                path += 4;
        }

        /* A trailing "@N" is the version; what precedes it is
         * MOUNT/PATH[#KEY]. */
        r = parse_version(s, path, path + strlen(path), &end, &version, ret_error);
        if (r < 0)
                return r;

        /* The key starts after the FIRST '#', so a key may contain '#' but a
         * path never does. */
        hash = memchr(path, '#', (size_t) (end - path));
        path_end = hash ? hash : end;
        if (hash && hash + 1 == end)
                return ref_error(ret_error, "empty key after '#' in reference", s);
        r = check_path_ends(s, path, (size_t) (path_end - path), ret_error);
        if (r < 0)
                return r;
        /* "secret/app/db@3#password": surely a version in the wrong place. */
        if (hash) {
                const char *at = NULL;

                for (const char *c = path; c < path_end; c++)
                        if (*c == '@')
                                at = c;
                if (at && at + 1 < path_end && looks_like_version(at + 1, path_end))
                        return ref_error(ret_error, "'@VERSION' goes at the end of the reference, after '#KEY'", s);
        }
        if (version && kv == VE_KV_1)
                return ref_error(ret_error, "a version needs KV v2; kv1: reference cannot have one", s);
        r = check_segments(s, path, (size_t) (path_end - path), ret_error);
        if (r < 0)
                return r;

        p = strndup(path, (size_t) (path_end - path));
        k = hash ? strndup(hash + 1, (size_t) (end - hash - 1)) : strdup(VE_REF_DEFAULT_KEY);
        if (!p || !k) {
                free(p);
                free(k);
                if (ret_error)
                        *ret_error = NULL;
                return -ENOMEM;
        }
        *ret_ref = (struct ve_ref) {
                .kv = kv,
                .path = p,
                .key = k,
                .version = version,
        };
        return 0;
}

void ve_ref_done(struct ve_ref *ref) {
        if (!ref)
                return;
        free(ref->path);
        free(ref->key);
        ref->path = ref->key = NULL;
        ref->kv = VE_KV_AUTO;
        ref->version = 0;
}
