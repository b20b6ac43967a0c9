/* SPDX-License-Identifier: MIT */
/* Parsing of Vault's JSON answers (cJSON), kept apart from the HTTP client
 * so that the unit tests can feed it recorded bodies.
 *
 * Bodies may hold secret values. Every buffer that held a part of a body is
 * wiped before it is freed, including the strings inside the cJSON tree and
 * the text printed for object/array values (printed into a buffer of ours
 * with cJSON_PrintPreallocated, so that cJSON never reallocates, and thereby
 * leaves behind, a copy of a value). Nothing here logs or returns a body:
 * messages name keys and reasons only. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "secret.h"
#include "util.h"
#include "vault_json.h"

/* Stands in for an escaped NUL ("\u0000") while cJSON parses: cJSON decodes
 * "\u0000" into a real NUL and so silently truncates the string, which would
 * turn "ab\u0000cd" into the value "ab". 0xFF never occurs in UTF-8, and
 * Vault (Go's encoding/json) only emits valid UTF-8, so a 0xFF in a parsed
 * string can only be such a stand-in. */
#define NUL_STANDIN '\xff'

#define ERRORS_TEXT_MAX 1024

/* How deep objects and arrays may nest in an answer. Vault's own envelopes
 * nest 4 levels (data.data.KEY: {...}); the rest is room for a JSON value
 * stored in a KV key. cJSON's own limit (1000) would let a hostile body
 * cost deep recursion here and in the callers' walks. */
#define JSON_DEPTH_MAX 32

/* A parsed body: the cJSON tree and the copy of the body it was parsed
 * from. Numbers are turned into cJSON_Raw items holding their text exactly as
 * Vault sent it (cJSON would print 12345678901234567890 as
 * 1.2345678901234567e+19 and 1e3 as 1000); valuedouble stays set. */
struct parsed {
        cJSON *root;
        char *copy;
        size_t copy_len;
        bool had_nul;           /* a "\u0000" was replaced by NUL_STANDIN */
        bool too_deep;          /* nesting beyond JSON_DEPTH_MAX */
        const char **numbers;   /* start of each number token in copy, in document order */
        size_t *number_lens;
        size_t n_numbers;
};

/* Wipes every value string and key of item, its siblings and children:
 * all that cJSON_Delete(item) frees. Iterative over siblings, recursive
 * over children: depth is bounded by CJSON_NESTING_LIMIT. */
static void json_wipe(cJSON *item) {
        for (; item; item = item->next) {
                if (item->valuestring && !(item->type & cJSON_IsReference))
                        explicit_bzero(item->valuestring, strlen(item->valuestring));
                if (item->string && !(item->type & cJSON_StringIsConst))
                        explicit_bzero(item->string, strlen(item->string));
                if (item->child)
                        json_wipe(item->child);
        }
}

void ve_vault_json_free(cJSON *root) {
        if (!root)
                return;
        json_wipe(root);
        cJSON_Delete(root);
}

static void parsed_done(struct parsed *p) {
        ve_vault_json_free(p->root);
        ve_erase_free_n(p->copy, p->copy_len);
        free(p->numbers);
        free(p->number_lens);
        *p = (struct parsed) {};
}

static bool is_ws(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_number_char(char c) {
        /* What cJSON's parse_number takes into a number token. */
        return (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.' || c == 'e' || c == 'E';
}

static int add_number(struct parsed *p, const char *start, size_t len) {
        const char **n;
        size_t *l;

        n = realloc(p->numbers, (p->n_numbers + 1) * sizeof(*n));
        if (!n)
                return -ENOMEM;
        p->numbers = n;
        l = realloc(p->number_lens, (p->n_numbers + 1) * sizeof(*l));
        if (!l)
                return -ENOMEM;
        p->number_lens = l;
        p->numbers[p->n_numbers] = start;
        p->number_lens[p->n_numbers] = len;
        p->n_numbers++;
        return 0;
}

/* Copies the body, replacing each "\u0000" escape inside a string with
 * NUL_STANDIN, and notes where every number token starts, in document order.
 * A raw NUL anywhere, or a raw 0xFF together with a "\u0000" escape, makes
 * the body malformed (-EPROTO). */
static int scan_copy(struct parsed *p, const char *body, size_t len) {
        bool in_string = false, had_ff = false;
        size_t o = 0, depth = 0;
        int r;

        if (len > 64 * 1024 * 1024 || memchr(body, 0, len))
                return -EPROTO;
        p->copy = malloc(len + 1);
        if (!p->copy)
                return -ENOMEM;
        p->copy_len = len + 1;

        for (size_t i = 0; i < len;) {
                char c = body[i];

                if ((unsigned char) c == 0xff)
                        had_ff = true;
                if (in_string) {
                        if (c == '\\' && i + 1 < len) {
                                if (body[i + 1] == 'u' && i + 6 <= len && memcmp(body + i + 2, "0000", 4) == 0) {
                                        p->copy[o++] = NUL_STANDIN;
                                        p->had_nul = true;
                                        i += 6;
                                        continue;
                                }
                                p->copy[o++] = body[i++];
                                p->copy[o++] = body[i++];
                                continue;
                        }
                        if (c == '"')
                                in_string = false;
                        p->copy[o++] = body[i++];
                        continue;
                }
                if (c == '"') {
                        in_string = true;
                        p->copy[o++] = body[i++];
                        continue;
                }
                if (c == '{' || c == '[') {
                        if (++depth > JSON_DEPTH_MAX) {
                                p->too_deep = true;
                                return -EPROTO;
                        }
                } else if ((c == '}' || c == ']') && depth > 0)
                        depth--;
                if (c == '-' || (c >= '0' && c <= '9')) {
                        size_t start = o;

                        while (i < len && is_number_char(body[i]))
                                p->copy[o++] = body[i++];
                        /* Pointers into copy stay valid: copy is not moved. */
                        r = add_number(p, p->copy + start, o - start);
                        if (r < 0)
                                return r;
                        continue;
                }
                p->copy[o++] = body[i++];
        }
        p->copy[o] = 0;
        /* Only the first o bytes are JSON; copy_len stays the allocation
         * size, for the wipe. */
        if (p->had_nul && had_ff)
                return -EPROTO;
        return (int) o;
}

static int numbers_to_raw(struct parsed *p, cJSON *item, size_t *idx) {
        for (; item; item = item->next) {
                if (item->type == cJSON_Number) {
                        char *t;

                        /* The count of number tokens and number items must
                         * agree; if they do not, the scan and cJSON disagree
                         * about the text, and we refuse it. */
                        if (*idx >= p->n_numbers)
                                return -EPROTO;
                        t = cJSON_malloc(p->number_lens[*idx] + 1);
                        if (!t)
                                return -ENOMEM;
                        memcpy(t, p->numbers[*idx], p->number_lens[*idx]);
                        t[p->number_lens[*idx]] = 0;
                        item->valuestring = t;
                        item->type = cJSON_Raw;
                        (*idx)++;
                }
                if (item->child) {
                        int r = numbers_to_raw(p, item->child, idx);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int key_cmp(const void *a, const void *b) {
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* A key that occurs twice in one object: Go's decoder (Vault, its CLI)
 * takes the last, cJSON's lookups the first, so such a body cannot be
 * read one way only. Refused. Sets *ret_dup to the key (inside the tree),
 * or NULL. Recursion is bounded by JSON_DEPTH_MAX. */
static int find_duplicate(const cJSON *item, const char **ret_dup) {
        for (; item; item = item->next) {
                const cJSON *c;
                const char **keys;
                size_t n = 0;
                int r;

                if (!item->child)
                        continue;
                if (cJSON_IsObject(item)) {
                        for (c = item->child; c; c = c->next)
                                n++;
                        keys = malloc(n * sizeof *keys);
                        if (!keys)
                                return -ENOMEM;
                        n = 0;
                        for (c = item->child; c; c = c->next)
                                keys[n++] = c->string ? c->string : "";
                        qsort(keys, n, sizeof *keys, key_cmp);
                        for (size_t i = 1; i < n; i++)
                                if (strcmp(keys[i - 1], keys[i]) == 0) {
                                        *ret_dup = keys[i];
                                        free(keys);
                                        return -EPROTO;
                                }
                        free(keys);
                }
                r = find_duplicate(item->child, ret_dup);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Whether a key (it comes from the server) may be named in a one-line
 * message: short, printable ASCII, no quote. */
static bool key_nameable(const char *key) {
        size_t n = strlen(key);

        if (n == 0 || n > 64)
                return false;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) key[i] < 0x20 || (unsigned char) key[i] >= 0x7f || key[i] == '"')
                        return false;
        return true;
}

static char *duplicate_message(const char *key) {
        if (key_nameable(key))
                return ve_asprintf("key \"%s\" appears twice in one object of the answer from Vault", key);
        return strdup("a key appears twice in one object of the answer from Vault");
}

static void set_error(char **ret_error, char *msg) {
        if (ret_error)
                *ret_error = msg;
        else
                free(msg);
}

/* Counts the number items of a tree (recursion bounded by JSON_DEPTH_MAX). */
static size_t count_numbers(const cJSON *item) {
        size_t n = 0;

        for (; item; item = item->next) {
                if (cJSON_IsNumber(item))
                        n++;
                if (item->child)
                        n += count_numbers(item->child);
        }
        return n;
}

/* 0, -ENOMEM, or -EPROTO for anything that is not exactly one JSON value
 * (surrounding whitespace allowed), nests deeper than JSON_DEPTH_MAX, or
 * has a key twice in one object. With -EPROTO, *ret_why (may be NULL) gets
 * the reason when there is a more precise one than "malformed JSON".
 * raw_numbers: numbers become cJSON_Raw items holding Vault's text (see
 * struct parsed); else they stay cJSON_Number items. */
static int parse_body_why(const char *body, size_t len, bool raw_numbers, struct parsed *ret, char **ret_why) {
        struct parsed p = {};
        const char *end = NULL, *dup = NULL;
        size_t idx = 0;
        int r, n;

        if (!body)
                return -EPROTO;
        n = scan_copy(&p, body, len);
        if (n < 0) {
                r = n;
                if (p.too_deep && ret_why)
                        *ret_why = ve_asprintf("JSON from Vault nests deeper than %d levels", JSON_DEPTH_MAX);
                goto fail;
        }
        /* Not require_null_terminated: with an exact length cJSON then fails
         * every body. We check the rest ourselves. */
        p.root = cJSON_ParseWithLengthOpts(p.copy, (size_t) n, &end, false);
        if (!p.root) {
                r = -EPROTO;
                goto fail;
        }
        for (; end < p.copy + n; end++)
                if (!is_ws(*end)) {
                        r = -EPROTO;
                        goto fail;
                }
        if (raw_numbers) {
                r = numbers_to_raw(&p, p.root, &idx);
                if (r < 0)
                        goto fail;
        } else
                idx = count_numbers(p.root);
        /* The scan and cJSON must agree about the text. */
        if (idx != p.n_numbers) {
                r = -EPROTO;
                goto fail;
        }
        r = find_duplicate(p.root, &dup);
        if (r < 0) {
                if (dup && ret_why)
                        *ret_why = duplicate_message(dup);
                goto fail;
        }
        *ret = p;
        return 0;
fail:
        parsed_done(&p);
        return r;
}

static int parse_body(const char *body, size_t len, struct parsed *ret) {
        return parse_body_why(body, len, true, ret, NULL);
}

int ve_vault_parse_json(const char *body, size_t len, cJSON **ret_root, char **ret_why) {
        struct parsed p = {};
        char *why = NULL;
        int r;

        r = parse_body_why(body, len, false, &p, &why);
        if (r < 0) {
                if (r == -EPROTO && !why)
                        why = strdup("malformed JSON from Vault");
                if (r == -EPROTO && ret_why)
                        *ret_why = why;
                else
                        free(why);
                return r;
        }
        /* The tree owns copies of its strings: the body copy (and the
         * number positions in it) can go now. */
        *ret_root = p.root;
        p.root = NULL;
        parsed_done(&p);
        return 0;
}

int ve_vault_json_string(const cJSON *obj, const char *key, const char *name, const char **ret, char **ret_why) {
        const cJSON *item = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;

        if (!item || cJSON_IsNull(item)) {
                *ret = NULL;
                return 0;
        }
        if (!cJSON_IsString(item)) {
                set_error(ret_why, ve_asprintf("%s in the answer from Vault is not a string", name));
                return -EPROTO;
        }
        /* cJSON would have cut the string at the NUL: refused, as a value
         * with one is (ve_vault_parse_kv()), never used shortened. */
        if (strchr(item->valuestring, NUL_STANDIN)) {
                set_error(ret_why, ve_asprintf("%s in the answer from Vault contains a NUL byte", name));
                return -EPROTO;
        }
        *ret = item->valuestring;
        return 0;
}

/* Appends src to the growing one-line text, turning every run of
 * whitespace or control characters into one space. */
static void append_oneline(char *dst, size_t *o, size_t cap, const char *src) {
        bool space = *o > 0 && dst[*o - 1] == ' ';

        for (; *src && *o + 1 < cap; src++) {
                unsigned char c = (unsigned char) *src;

                if (c <= ' ' || c == 0x7f) {
                        if (!space && *o > 0)
                                dst[(*o)++] = ' ';
                        space = true;
                        continue;
                }
                dst[(*o)++] = (char) c;
                space = false;
        }
        dst[*o] = 0;
}

/* go-multierror (which Vault uses) formats a list as
 * "N error(s) occurred:\n\t* a\n\t* b\n\n". Returns the list items joined
 * with "; " in dst, or false when s is not such a list. */
static bool unwrap_multierror(const char *s, char *dst, size_t *o, size_t cap) {
        const char *p = s, *q;

        while (*p >= '0' && *p <= '9')
                p++;
        if (p == s)
                return false;
        if (strncmp(p, " error occurred:\n\t* ", 20) == 0)
                p += 20;
        else if (strncmp(p, " errors occurred:\n\t* ", 21) == 0)
                p += 21;
        else
                return false;
        for (;;) {
                char item[ERRORS_TEXT_MAX];
                size_t n;

                q = strstr(p, "\n\t* ");
                n = q ? (size_t) (q - p) : strlen(p);
                if (n >= sizeof item)
                        n = sizeof item - 1;
                memcpy(item, p, n);
                item[n] = 0;
                append_oneline(dst, o, cap, item);
                if (!q)
                        break;
                append_oneline(dst, o, cap, "; ");
                p = q + 4;
        }
        return true;
}

char *ve_vault_errors_text(const char *body, size_t len) {
        struct parsed p = {};
        const cJSON *errors, *e;
        char buf[ERRORS_TEXT_MAX];
        size_t o = 0;

        if (parse_body(body, len, &p) < 0)
                return NULL;
        buf[0] = 0;
        errors = cJSON_IsObject(p.root) ? cJSON_GetObjectItemCaseSensitive(p.root, "errors") : NULL;
        cJSON_ArrayForEach(e, errors) {
                if (!cJSON_IsString(e) || !e->valuestring[0])
                        continue;
                if (o > 0)
                        append_oneline(buf, &o, sizeof buf, "; ");
                if (!unwrap_multierror(e->valuestring, buf, &o, sizeof buf))
                        append_oneline(buf, &o, sizeof buf, e->valuestring);
        }
        parsed_done(&p);
        /* Trailing blank from a collapsed "\n\n". */
        while (o > 0 && buf[o - 1] == ' ')
                buf[--o] = 0;
        /* A NUL_STANDIN byte is not valid text: show it as an escape. */
        for (size_t i = 0; i < o; i++)
                if (buf[i] == NUL_STANDIN)
                        buf[i] = '?';
        return o > 0 ? strdup(buf) : NULL;
}

int ve_vault_parse_mount(const char *body, size_t len, char **ret_mount, int *ret_version) {
        /* As the vault CLI's kvPreflightVersionRequest: options null or
         * absent, options.version null, "" or "1" → 1; "2" → 2; any other
         * string → 1. Unlike the CLI we also insist on a non-empty data.path
         * ending in '/', since the caller matches paths against it. */
        struct parsed p = {};
        const cJSON *data, *path, *options, *version;
        char *mount;
        int v = 1, r;

        r = parse_body(body, len, &p);
        if (r < 0)
                return r;
        data = cJSON_IsObject(p.root) ? cJSON_GetObjectItemCaseSensitive(p.root, "data") : NULL;
        if (!cJSON_IsObject(data)) {
                r = -EPROTO;
                goto out;
        }
        path = cJSON_GetObjectItemCaseSensitive(data, "path");
        if (!cJSON_IsString(path) || !path->valuestring[0] ||
            path->valuestring[strlen(path->valuestring) - 1] != '/' ||
            strchr(path->valuestring, NUL_STANDIN)) {
                r = -EPROTO;
                goto out;
        }
        options = cJSON_GetObjectItemCaseSensitive(data, "options");
        if (options && !cJSON_IsNull(options)) {
                if (!cJSON_IsObject(options)) {
                        r = -EPROTO;
                        goto out;
                }
                version = cJSON_GetObjectItemCaseSensitive(options, "version");
                if (cJSON_IsString(version) && strcmp(version->valuestring, "2") == 0)
                        v = 2;
                else if (version && !cJSON_IsNull(version) && !cJSON_IsString(version)) {
                        r = -EPROTO;
                        goto out;
                }
        }
        mount = strdup(path->valuestring);
        if (!mount) {
                r = -ENOMEM;
                goto out;
        }
        *ret_mount = mount;
        *ret_version = v;
        r = 0;
out:
        parsed_done(&p);
        return r;
}

/* Compact JSON text of an object or array value, with any NUL stand-in
 * turned back into the "\u0000" escape it was (valid in JSON text). */
static int print_compound(const cJSON *item, size_t body_len, char **ret) {
        /* Printing never makes the text longer than the body it came from,
         * save for the stand-ins (1 byte → 6) and the 5 spare bytes
         * cJSON_PrintPreallocated wants. */
        size_t cap = body_len + 64, n_standin = 0, len, o = 0;
        char *buf, *out;

        buf = malloc(cap);
        if (!buf)
                return -ENOMEM;
        if (!cJSON_PrintPreallocated((cJSON *) item, buf, (int) cap, false)) {
                ve_erase_free_n(buf, cap);
                return -EPROTO;
        }
        len = strlen(buf);
        for (size_t i = 0; i < len; i++)
                if (buf[i] == NUL_STANDIN)
                        n_standin++;
        out = malloc(len + 5 * n_standin + 1);
        if (!out) {
                ve_erase_free_n(buf, cap);
                return -ENOMEM;
        }
        for (size_t i = 0; i < len; i++) {
                if (buf[i] == NUL_STANDIN) {
                        memcpy(out + o, "\\u0000", 6);
                        o += 6;
                } else
                        out[o++] = buf[i];
        }
        out[o] = 0;
        ve_erase_free_n(buf, cap);
        *ret = out;
        return 0;
}

/* For a KV v2 answer whose data.data is null: why, from data.metadata. */
static char *deleted_reason(const cJSON *data) {
        const cJSON *md, *dt, *destroyed, *version;
        long n = 0;

        md = cJSON_GetObjectItemCaseSensitive(data, "metadata");
        if (!cJSON_IsObject(md))
                return NULL;
        version = cJSON_GetObjectItemCaseSensitive(md, "version");
        if (cJSON_IsRaw(version))
                n = (long) version->valuedouble;
        destroyed = cJSON_GetObjectItemCaseSensitive(md, "destroyed");
        dt = cJSON_GetObjectItemCaseSensitive(md, "deletion_time");
        if (cJSON_IsTrue(destroyed))
                return ve_asprintf("version %ld is destroyed", n);
        if (cJSON_IsString(dt) && dt->valuestring[0])
                return ve_asprintf("version %ld is deleted", n);
        return NULL;
}

/* The lease fields at the top of an answer: lease_id (a string, "" when
 * none), lease_duration (whole seconds >= 0) and renewable (a bool). Absent
 * fields count as none/0/false, as Vault's api.Secret does; a field of the
 * wrong type is -EPROTO. */
static int parse_lease_fields(const cJSON *root, struct ve_lease *ret_lease, char **ret_msg) {
        const cJSON *id, *duration, *renewable;
        struct ve_lease l = {};

        id = cJSON_GetObjectItemCaseSensitive(root, "lease_id");
        duration = cJSON_GetObjectItemCaseSensitive(root, "lease_duration");
        renewable = cJSON_GetObjectItemCaseSensitive(root, "renewable");
        if ((id && !cJSON_IsNull(id) && !cJSON_IsString(id)) ||
            (duration && !cJSON_IsNull(duration) &&
             (!cJSON_IsRaw(duration) || duration->valuedouble < 0 || duration->valuedouble > 1e12 ||
              duration->valuedouble != (double) (uint64_t) duration->valuedouble)) ||
            (renewable && !cJSON_IsNull(renewable) && !cJSON_IsBool(renewable))) {
                *ret_msg = strdup("unexpected lease fields in the answer from Vault");
                return -EPROTO;
        }
        if (cJSON_IsString(id) && id->valuestring[0]) {
                if (strchr(id->valuestring, NUL_STANDIN) || ve_has_control(id->valuestring)) {
                        *ret_msg = strdup("unexpected lease_id in the answer from Vault");
                        return -EPROTO;
                }
                l.lease_id = strdup(id->valuestring);
                if (!l.lease_id)
                        return -ENOMEM;
        }
        if (cJSON_IsRaw(duration))
                l.duration_s = (uint64_t) duration->valuedouble;
        l.renewable = cJSON_IsTrue(renewable);
        *ret_lease = l;
        return 0;
}

/* A body that must be a JSON object, numbers kept as Vault wrote them.
 * -EPROTO with a reason in *ret_msg otherwise. */
static int parse_object(const char *body, size_t len, struct parsed *ret, char **ret_msg) {
        int r;

        r = parse_body_why(body, len, true, ret, ret_msg);
        if (r == -EPROTO && !*ret_msg)
                *ret_msg = strdup("malformed JSON from Vault");
        if (r < 0)
                return r;
        if (!cJSON_IsObject(ret->root)) {
                *ret_msg = strdup("answer from Vault is not a JSON object");
                return -EPROTO;
        }
        return 0;
}

int ve_vault_parse_lease(const char *body, size_t len, struct ve_lease *ret_lease, char **ret_error) {
        /* The answer of PUT sys/leases/renew:
         * {"lease_id":"...","renewable":true,"lease_duration":1800,"data":null,...} */
        struct parsed p = {};
        struct ve_lease l = {};
        char *msg = NULL;
        int r;

        r = parse_object(body, len, &p, &msg);
        if (r < 0)
                goto out;
        r = parse_lease_fields(p.root, &l, &msg);
        if (r < 0)
                goto out;
        if (!l.lease_id) {
                r = -EPROTO;
                msg = strdup("no lease_id in the answer from Vault");
                goto out;
        }
        *ret_lease = l;
        l = (struct ve_lease) {};
out:
        parsed_done(&p);
        ve_lease_done(&l);
        if (r < 0 && r != -ENOMEM && msg)
                set_error(ret_error, msg);
        else
                free(msg);
        return r;
}

/* KV v2: the key/value object is data.data, and the version is in
 * data.metadata. -ENOENT when data.data is null (with why, when the
 * metadata tells: deleted or destroyed). */
static int kv2_block(const cJSON *data, const cJSON **ret_kv, long *io_version, char **ret_msg) {
        const cJSON *kv, *md, *version;

        kv = cJSON_GetObjectItemCaseSensitive(data, "data");
        if (!kv || cJSON_IsNull(kv)) {
                *ret_msg = deleted_reason(data);
                if (!*ret_msg)
                        *ret_msg = strdup("no data in the answer");
                return -ENOENT;
        }
        if (!cJSON_IsObject(kv)) {
                *ret_msg = strdup("\"data.data\" in the answer from Vault is not an object");
                return -EPROTO;
        }
        md = cJSON_GetObjectItemCaseSensitive(data, "metadata");
        version = cJSON_IsObject(md) ? cJSON_GetObjectItemCaseSensitive(md, "version") : NULL;
        if (cJSON_IsRaw(version) && version->valuedouble >= 0 && version->valuedouble < 9e15)
                *io_version = (long) version->valuedouble;
        *ret_kv = kv;
        return 0;
}

/* Adds one key of the answer to s: a string as is; a number as Vault wrote
 * it; true/false; an object or array as compact JSON; null is left out. A
 * key or string with an escaped NUL is -EPROTO, naming the key. */
static int add_item(struct ve_secret *s, const cJSON *item, size_t body_len, char **ret_msg) {
        const char *key = item->string, *value;
        _cleanup_erase_ char *printed = NULL;
        int r;

        if (strchr(key, NUL_STANDIN)) {
                *ret_msg = strdup("a key name in the answer from Vault contains a NUL byte");
                return -EPROTO;
        }
        if (cJSON_IsNull(item))
                return 0;
        if (cJSON_IsString(item)) {
                if (strchr(item->valuestring, NUL_STANDIN)) {
                        *ret_msg = key_nameable(key) ? ve_asprintf("value of key %s contains a NUL byte", key) :
                                                       strdup("the value of a key contains a NUL byte");
                        return -EPROTO;
                }
                value = item->valuestring;
        } else if (cJSON_IsRaw(item))
                value = item->valuestring;
        else if (cJSON_IsTrue(item))
                value = "true";
        else if (cJSON_IsFalse(item))
                value = "false";
        else {
                r = print_compound(item, body_len, &printed);
                if (r == -EPROTO)
                        *ret_msg = key_nameable(key) ? ve_asprintf("cannot print the value of key %s", key) :
                                                       strdup("cannot print the value of a key");
                if (r < 0)
                        return r;
                value = printed;
        }
        return ve_secret_add(s, key, value);
}

int ve_vault_parse_kv(int kv_version, const char *body, size_t len,
                      struct ve_secret **ret_secret, char **ret_error) {
        /* A string value with an escaped NUL cannot be an environment value:
         * the whole parse fails rather than hand out a silently truncated or
         * partial secret. Used for 404 bodies too: -ENOENT then says
         * "version N is deleted" or "is destroyed" when data.metadata tells. */
        struct parsed p = {};
        struct ve_secret *s = NULL;
        const cJSON *data, *kv, *item;
        char *msg = NULL;
        int r;

        if (kv_version != 1 && kv_version != 2)
                return -EINVAL;

        r = parse_object(body, len, &p, &msg);
        if (r < 0)
                goto out;
        data = cJSON_GetObjectItemCaseSensitive(p.root, "data");
        if (!data || cJSON_IsNull(data)) {
                r = -ENOENT;
                msg = strdup("no data in the answer");
                goto out;
        }
        if (!cJSON_IsObject(data)) {
                r = -EPROTO;
                msg = strdup("\"data\" in the answer from Vault is not an object");
                goto out;
        }
        kv = data;
        s = ve_secret_new();
        if (!s) {
                r = -ENOMEM;
                goto out;
        }
        r = parse_lease_fields(p.root, &s->lease, &msg);
        if (r < 0)
                goto out;
        if (kv_version == 2 && (r = kv2_block(data, &kv, &s->version, &msg)) < 0)
                goto out;
        cJSON_ArrayForEach(item, kv)
                if ((r = add_item(s, item, len, &msg)) < 0)
                        goto out;
        *ret_secret = s;
        s = NULL;
        r = 0;
out:
        parsed_done(&p);
        ve_secret_free(s);
        if (r < 0 && r != -ENOMEM && msg)
                set_error(ret_error, msg);
        else
                free(msg);
        return r;
}
