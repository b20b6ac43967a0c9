/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "auth-internal.h"
#include "kv_write.h"
#include "secret.h"
#include "util.h"
#include "vault.h"

/* libFuzzer entry point for the parsers of Vault's answers
 * (lib/transport/vault_json.c), as fuzz-mapfile.c:
 *
 *     CC=clang-14 meson setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false
 *     ninja -C build-fuzz tests/fuzz/fuzz-vault-json
 *     build-fuzz/tests/fuzz/fuzz-vault-json -max_total_time=600 CORPUS_DIR tests/fuzz/corpus/vault-json
 *
 * The bytes, as a body of exactly that length (not NUL-terminated: the
 * parsers get a length), go to ve_vault_parse_kv() as KV v1 and v2,
 * ve_vault_parse_mount(), ve_vault_parse_lease() and
 * ve_vault_errors_text(), to the checked entry point the other readers of
 * Vault's answers use (ve_vault_parse_json()), to the token parsers of
 * lib/auth/auth.c (ve_auth_parse_grant(), ve_auth_parse_data_string()) and to
 * the answer handling of lib/vault/kv_write.c (ve_kv_build_write(),
 * ve_kv_write_result()). Beyond the sanitizers it checks the promises:
 * a success has its result and no message, a failure has a message and no
 * result, and no value or token carries the internal stand-in for "\u0000"
 * (0xFF) when the body has no 0xFF byte: no truncated or altered value. */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_kv(int version, const char *body, size_t size, bool has_ff) {
        struct ve_secret *s = NULL;
        char *err = NULL;
        int r;

        r = ve_vault_parse_kv(version, body, size, &s, &err);
        if (r == 0) {
                if (!s || err || (version == 1 && s->version != 0))
                        abort();
                for (size_t i = 0; i < s->n; i++) {
                        if (!s->keys[i] || !s->values[i])
                                abort();
                        if (!has_ff && (strchr(s->keys[i], '\xff') || strchr(s->values[i], '\xff')))
                                abort();
                        /* one value per key */
                        for (size_t j = 0; j < i; j++)
                                if (strcmp(s->keys[i], s->keys[j]) == 0)
                                        abort();
                }
                if (s->lease.lease_id && !has_ff && strchr(s->lease.lease_id, '\xff'))
                        abort();
                ve_secret_free(s);
                return;
        }
        if (s)
                abort();
        if ((r == -EPROTO || r == -ENOENT) && (!err || !err[0] || strchr(err, '\n')))
                abort();
        if (r != -EPROTO && r != -ENOENT && r != -ENOMEM)
                abort();
        free(err);
}

static bool one_line(const char *s) {
        return s && s[0] && !strchr(s, '\n');
}

/* The KV writer's handling of the answers to its read and its write. */
static void check_kv_write(const char *body, size_t size) {
        static const long statuses[] = { 200, 404 };
        struct ve_secret *v = ve_secret_new();
        char *out, *err;
        long cas, version;
        int r;

        if (!v || ve_secret_add(v, "k", "fake-v") < 0) {
                ve_secret_free(v);
                return;
        }
        for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
                for (int kv = 1; kv <= 2; kv++) {
                        struct ve_http_response resp = {
                                .status = statuses[i], .body = (char *) body, .len = size,
                        };

                        out = NULL;
                        err = NULL;
                        cas = -5;
                        r = ve_kv_build_write("secret/app", kv, &resp, v, VE_KV_PUT_MERGE, &out, &cas, &err);
                        if (r == 0) {
                                if (!out || err || (kv == 1 && cas != -1) || (kv == 2 && cas < 0))
                                        abort();
                                ve_erase_free(out);
                        } else {
                                if (out || cas != -5 || (r != -ENOMEM && !one_line(err)))
                                        abort();
                                free(err);
                        }
                        err = NULL;
                        version = -5;
                        r = ve_kv_write_result("secret/app", kv, 1, &resp, true, &version, &err);
                        if (r == 0) {
                                if (err || (kv == 2 && version < 1) || (kv == 1 && version != 0))
                                        abort();
                        } else {
                                if (version != -5 || (r != -ENOMEM && !one_line(err)))
                                        abort();
                                free(err);
                        }
                }
        ve_secret_free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct ve_lease l = {};
        char *body, *err = NULL, *mount = NULL, *text;
        bool has_ff;
        int r, version = 0;

        if (size > 256 * 1024)
                return 0;
        /* A copy of exactly size bytes: ASan then catches a read past the
         * end (the parsers must not need a NUL). */
        body = malloc(size ? size : 1);
        if (!body)
                return 0;
        memcpy(body, data, size);
        has_ff = memchr(body, 0xff, size) != NULL;

        check_kv(1, body, size, has_ff);
        check_kv(2, body, size, has_ff);

        r = ve_vault_parse_mount(body, size, &mount, &version);
        if (r == 0) {
                if (!mount || !mount[0] || mount[strlen(mount) - 1] != '/' || (version != 1 && version != 2))
                        abort();
                free(mount);
        } else if (r != -EPROTO && r != -ENOMEM)
                abort();

        r = ve_vault_parse_lease(body, size, &l, &err);
        if (r == 0) {
                if (!l.lease_id || !l.lease_id[0] || err)
                        abort();
                ve_lease_done(&l);
        } else {
                if (l.lease_id || (r == -EPROTO && !err))
                        abort();
                free(err);
        }

        {
                cJSON *root = NULL;

                err = NULL;
                r = ve_vault_parse_json(body, size, &root, &err);
                if (r == 0) {
                        if (!root || err)
                                abort();
                        ve_vault_json_free(root);
                } else {
                        if (root || (r != -EPROTO && r != -ENOMEM) || (r == -EPROTO && !one_line(err)))
                                abort();
                        free(err);
                }
        }

        for (int lookup = 0; lookup < 2; lookup++) {
                struct ve_auth_grant g = {};

                err = NULL;
                r = ve_auth_parse_grant(body, size, lookup, &g, &err);
                if (r == 0) {
                        if (g.full_ttl_s < g.ttl_s || err)
                                abort();
                        /* never a shortened or altered token */
                        if (g.token && (!g.token[0] || ve_has_control(g.token) || (!has_ff && strchr(g.token, '\xff'))))
                                abort();
                        ve_auth_grant_done(&g);
                } else {
                        if (g.token || (r != -EPROTO && r != -ENOMEM) || (r == -EPROTO && !one_line(err)))
                                abort();
                        free(err);
                }
        }
        err = NULL;
        text = NULL;
        r = ve_auth_parse_data_string(body, size, "secret_id", &text, &err);
        if (r == 0) {
                if (!text[0] || err || (!has_ff && strchr(text, '\xff')))
                        abort();
                ve_erase_free(text);
        } else {
                if (text || ((r == -EPROTO || r == -ENOENT) && !one_line(err)))
                        abort();
                free(err);
        }

        check_kv_write(body, size);

        text = ve_vault_errors_text(body, size);
        if (text) {
                if (!text[0] || strchr(text, '\n') || (!has_ff && strchr(text, '\xff')))
                        abort();
                free(text);
        }
        free(body);
        return 0;
}
