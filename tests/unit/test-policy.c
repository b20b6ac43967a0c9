/* SPDX-License-Identifier: MIT */
/* lib/tools/acl_policy.c: the rules a mapping needs (exact paths, one per
 * API path, in both KV forms only when the mount is unknown), the lease
 * rules, --learned, the JSON form, and paths that cannot be granted
 * exactly. */
#include "unit.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "acl_policy.h"
#include "learn.h"
#include "mapfile.h"

static struct ve_map *parse(const char *text) {
        struct ve_map *map = NULL;
        char *err = NULL;

        CU_ASSERT_EQUAL(ve_map_parse("app.map", text, strlen(text), &map, &err), 0);
        if (err)
                fprintf(stderr, "%s\n", err);
        free(err);
        return map;
}

static char *generate(const struct ve_policy_input *in, size_t *ret_n) {
        char *text = NULL, *err = NULL;
        int r = ve_policy_generate(in, &text, ret_n, &err);

        CU_ASSERT_EQUAL(r, 0);
        CU_ASSERT_PTR_NULL(err);
        free(err);
        return r == 0 ? text : NULL;
}

static bool has_path(const char *text, const char *path) {
        char line[512];

        snprintf(line, sizeof line, "\npath \"%s\" {\n", path);
        return text && strstr(text, line);
}

static size_t count(const char *text, const char *needle) {
        size_t n = 0;

        for (const char *p = text; p && (p = strstr(p, needle)); p++)
                n++;
        return n;
}

static void test_offline(void) {
        struct ve_map *map = parse("A = kv2:secret/app/db#password\n"
                                   "B = secret/app/db#user\n"
                                   "C = kv1:legacy/app#token\n"
                                   "D = secret/app/db#password@3\n"
                                   "E = other/x/y\n");
        struct ve_policy_input in = { .map = map };
        size_t n = 0;
        char *text = generate(&in, &n);

        /* secret/data/app/db once (A, B, D); B's undecided mount adds the
         * KV v1 form; E both forms */
        CU_ASSERT_EQUAL(n, 5);
        CU_ASSERT_TRUE(has_path(text, "secret/data/app/db"));
        CU_ASSERT_TRUE(has_path(text, "secret/app/db"));
        CU_ASSERT_TRUE(has_path(text, "legacy/app"));
        CU_ASSERT_FALSE(has_path(text, "legacy/data/app"));
        CU_ASSERT_TRUE(has_path(text, "other/data/x/y"));
        CU_ASSERT_TRUE(has_path(text, "other/x/y"));
        CU_ASSERT_EQUAL(count(text, "path \"secret/data/app/db\""), 1);
        CU_ASSERT_PTR_NOT_NULL(strstr(text, "# A, B, D: KV v2 secret/app/db\n"
                                            "# Pinned versions @3: read as ?version=N, which this rule covers\n"
                                            "path \"secret/data/app/db\" {"));
        CU_ASSERT_PTR_NOT_NULL(strstr(text, "granted in both forms"));
        CU_ASSERT_PTR_NOT_NULL(strstr(text, "covers every version"));
        CU_ASSERT_PTR_NOT_NULL(strstr(text, "sys/internal/ui/mounts/PATH"));
        CU_ASSERT_FALSE(has_path(text, "sys/leases/renew"));
        CU_ASSERT_FALSE(has_path(text, "sys/leases/revoke"));
        CU_ASSERT_PTR_NULL(strstr(text, "*\""));
        CU_ASSERT_EQUAL(count(text, "capabilities = [\"read\"]"), 5);
        free(text);
        ve_map_free(map);
}

static void test_forced_only(void) {
        struct ve_map *map = parse("A = kv2:secret/app/db#password\nB = kv1:legacy/app\n");
        struct ve_policy_input in = { .map = map, .name = "app-ro", .namespace = "team1",
                                      .source = "evil\npath \"secret/*\" { capabilities = [\"read\"] }\n" };
        size_t n = 0;
        char *text = generate(&in, &n);

        CU_ASSERT_EQUAL(n, 2);
        CU_ASSERT_PTR_NOT_NULL(strstr(text, "no mount preflight"));
        CU_ASSERT_PTR_NULL(strstr(text, "both forms"));
        CU_ASSERT_PTR_NULL(strstr(text, "glob"));
        CU_ASSERT_PTR_NOT_NULL(strstr(text, "vault policy write app-ro -"));
        CU_ASSERT_PTR_NOT_NULL(strstr(text, "# Namespace team1: the paths are relative to it"));
        /* a newline in a name that goes into a comment cannot start a rule */
        CU_ASSERT_PTR_NULL(strstr(text, "\npath \"secret/*\""));
        CU_ASSERT_PTR_NOT_NULL(strstr(text, "# Vault policy for the mapping evil?path \"secret/*\""));
        free(text);
        ve_map_free(map);
}

/* A fake mount detection: secret/ KV v2, kv1/ KV v1, database/ dynamic,
 * team/kv/ a nested KV v2 mount, anything else unknown. */
static int fake_mount(void *userdata, const char *path, size_t *ret_ml, enum ve_policy_engine *ret_engine) {
        static const struct { const char *mount; enum ve_policy_engine e; } m[] = {
                { "secret/", VE_POLICY_KV2 }, { "kv1/", VE_POLICY_KV1 },
                { "database/", VE_POLICY_DYNAMIC }, { "team/kv/", VE_POLICY_KV2 },
        };
        unsigned *calls = userdata;

        (*calls)++;
        for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
                if (strncmp(path, m[i].mount, strlen(m[i].mount)) == 0) {
                        *ret_ml = strlen(m[i].mount);
                        *ret_engine = m[i].e;
                        return 0;
                }
        return -EACCES;
}

static void test_detect(void) {
        struct ve_map *map = parse("A = secret/app/db#password\n"
                                   "A2 = secret/app/db#password@2\n"
                                   "A7 = kv2:secret/app/db#password@7\n"
                                   "A22 = secret/app/db#user@2\n"
                                   "B = kv1/legacy#token\n"
                                   "U = database/creds/ro#username\n"
                                   "P = database/creds/ro#password\n"
                                   "T = team/kv/app#x\n"
                                   "X = kv2:nodetect/app#x\n"
                                   "Q = unknown/app#x\n");
        unsigned calls = 0;
        struct ve_policy_input in = { .map = map, .mount = fake_mount, .userdata = &calls };
        size_t n = 0;
        char *text = generate(&in, &n);

        CU_ASSERT_EQUAL(calls, 8);      /* not for kv2: */
        CU_ASSERT_TRUE(has_path(text, "secret/data/app/db"));
        CU_ASSERT_FALSE(has_path(text, "secret/app/db"));
        CU_ASSERT_PTR_NOT_NULL(strstr(text, "# Pinned versions @2 @7: "));
        CU_ASSERT_TRUE(has_path(text, "kv1/legacy"));
        CU_ASSERT_FALSE(has_path(text, "kv1/data/legacy"));
        CU_ASSERT_TRUE(has_path(text, "database/creds/ro"));
        CU_ASSERT_FALSE(has_path(text, "database/data/creds/ro"));
        CU_ASSERT_PTR_NOT_NULL(strstr(text, "# U, P: dynamic secret database/creds/ro"));
        CU_ASSERT_TRUE(has_path(text, "team/kv/data/app"));
        CU_ASSERT_TRUE(has_path(text, "nodetect/data/app"));
        CU_ASSERT_TRUE(has_path(text, "unknown/data/app"));
        CU_ASSERT_TRUE(has_path(text, "unknown/app"));
        /* a dynamic secret: renewal, and no revoke unless asked */
        CU_ASSERT_TRUE(has_path(text, "sys/leases/renew"));
        CU_ASSERT_FALSE(has_path(text, "sys/leases/revoke"));
        CU_ASSERT_PTR_NOT_NULL(strstr(text, "sys/leases/renew\" {\n  capabilities = [\"update\"]"));
        CU_ASSERT_PTR_NOT_NULL(strstr(text, "sys/leases/revoke is not granted"));
        CU_ASSERT_EQUAL(n, 8);
        free(text);

        in.revoke_on_exit = true;
        text = generate(&in, &n);
        CU_ASSERT_TRUE(has_path(text, "sys/leases/revoke"));
        CU_ASSERT_PTR_NOT_NULL(strstr(text, "sys/leases/revoke\" {\n  capabilities = [\"update\"]"));
        CU_ASSERT_EQUAL(n, 9);
        free(text);
        ve_map_free(map);
}

static void test_templates_bulk(void) {
        struct ve_map *map = parse("DSN = \"pg://{{kv2:secret/app/db#user}}:{{kv2:secret/app/pw#p | urlencode}}@h\"\n"
                                   "API_* = kv2:secret/app/api#*\n"
                                   "API_URL = kv2:secret/app/url#u\n");
        struct ve_policy_input in = { .map = map };
        size_t n = 0;
        char *text = generate(&in, &n);

        CU_ASSERT_EQUAL(n, 4);
        CU_ASSERT_TRUE(has_path(text, "secret/data/app/db"));
        CU_ASSERT_TRUE(has_path(text, "secret/data/app/pw"));
        CU_ASSERT_TRUE(has_path(text, "secret/data/app/api"));
        CU_ASSERT_PTR_NOT_NULL(strstr(text, "# API_*: KV v2 secret/app/api"));
        CU_ASSERT_PTR_NOT_NULL(strstr(text, "a bulk rule (PREFIX*) reads its one path"));
        free(text);
        ve_map_free(map);
}

static void test_learned(void) {
        struct ve_map *map = parse("A = kv2:secret/app/a\n"
                                   "B = kv2:secret/app/b\n"
                                   "API_* = kv2:secret/app/api#*\n"
                                   "API_URL = kv2:secret/app/url\n"
                                   "DB_* = kv2:secret/app/db#*\n");
        const char *seen[] = { "B", "API_URL", "DB_PASSWORD", "HOME" };
        struct ve_policy_input in = { .map = map, .learned = seen, .n_learned = 4 };
        static const char *const none[1];
        size_t n = 0;
        char *text = generate(&in, &n);

        CU_ASSERT_EQUAL(n, 3);
        CU_ASSERT_FALSE(has_path(text, "secret/data/app/a"));
        CU_ASSERT_TRUE(has_path(text, "secret/data/app/b"));
        /* API_URL is an explicit entry: it does not bring in the API_* rule */
        CU_ASSERT_FALSE(has_path(text, "secret/data/app/api"));
        CU_ASSERT_TRUE(has_path(text, "secret/data/app/url"));
        CU_ASSERT_TRUE(has_path(text, "secret/data/app/db"));
        CU_ASSERT_PTR_NOT_NULL(strstr(text, "3 of the mapping's\n# 5 names"));
        free(text);

        in.learned = none;
        in.n_learned = 0;
        text = generate(&in, &n);
        CU_ASSERT_EQUAL(n, 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(text, "nothing to grant"));
        free(text);
        ve_map_free(map);
}

static void test_json(void) {
        struct ve_map *map = parse("A = kv2:secret/app/db#password\nU = database/creds/ro\n");
        unsigned calls = 0;
        struct ve_policy_input in = { .map = map, .json = true, .mount = fake_mount, .userdata = &calls,
                                      .revoke_on_exit = true };
        size_t n = 0;
        char *text = generate(&in, &n);
        cJSON *root = text ? cJSON_Parse(text) : NULL, *paths, *caps;

        CU_ASSERT_EQUAL(n, 4);
        CU_ASSERT_PTR_NOT_NULL_FATAL(root);
        CU_ASSERT_EQUAL(cJSON_GetArraySize(root), 1);
        paths = cJSON_GetObjectItemCaseSensitive(root, "path");
        CU_ASSERT_EQUAL(cJSON_GetArraySize(paths), 4);
        caps = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(paths, "secret/data/app/db"),
                                                "capabilities");
        CU_ASSERT_EQUAL(cJSON_GetArraySize(caps), 1);
        CU_ASSERT_STRING_EQUAL(cJSON_GetArrayItem(caps, 0)->valuestring, "read");
        caps = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(paths, "sys/leases/revoke"),
                                                "capabilities");
        CU_ASSERT_STRING_EQUAL(cJSON_GetArrayItem(caps, 0)->valuestring, "update");
        CU_ASSERT_PTR_NOT_NULL(cJSON_GetObjectItemCaseSensitive(paths, "database/creds/ro"));
        CU_ASSERT_PTR_NULL(strchr(text, '#'));
        cJSON_Delete(root);
        free(text);

        /* nothing to grant is still a policy document */
        in.learned = (const char *const[]) { "NOPE" };
        in.n_learned = 1;
        text = generate(&in, &n);
        root = text ? cJSON_Parse(text) : NULL;
        CU_ASSERT_EQUAL(n, 0);
        CU_ASSERT_PTR_NOT_NULL(root);
        CU_ASSERT_EQUAL(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(root, "path")), 0);
        cJSON_Delete(root);
        free(text);
        ve_map_free(map);
}

static void test_not_exact(void) {
        static const char *const maps[] = {
                "OK = kv2:secret/app/db\nA = kv2:secret/app/x*#k\n",
                "OK = kv2:secret/app/db\nA = kv1:secret/+/x#k\n",
                "OK = kv2:secret/app/db\nA = \"{{kv2:secret/a+/b}}{{kv1:secret/+}}\"\n",
        };

        for (size_t i = 0; i < sizeof maps / sizeof maps[0]; i++) {
                struct ve_map *map = parse(maps[i]);
                struct ve_policy_input in = { .map = map };
                char *text = NULL, *err = NULL;
                size_t n = 99;

                if (!map)
                        continue;
                CU_ASSERT_EQUAL(ve_policy_generate(&in, &text, &n, &err), -EINVAL);
                CU_ASSERT_PTR_NULL(text);
                CU_ASSERT_EQUAL(n, 99);
                CU_ASSERT_PTR_NOT_NULL(err);
                CU_ASSERT_TRUE(err && strncmp(err, "app.map:2: A: ", 14) == 0);
                CU_ASSERT_PTR_NOT_NULL(err ? strstr(err, "cannot be granted exactly") : NULL);
                free(err);
                ve_map_free(map);
        }
}

static bool in_names(char **names, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (strcmp(names[i], name) == 0)
                        return true;
        return false;
}

static void test_learned_parse(void) {
        static const char records[] = "DB_PASSWORD\tapp\nAPP_MODE\tapp\nHOME\tapp\nPATH\tsh\nDB_PASSWORD\tsh\n"
                                      "API_TOKEN\tapp\n";
        const char plain[] = "ONE\n  TWO  \r\n# THREE\nnot a name\nFOUR = x\n#FIVE=y\n1BAD\n";
        char *skeleton = NULL, **names = NULL;
        size_t n = 0;

        CU_ASSERT_EQUAL_FATAL(ve_learn_skeleton(records, sizeof records - 1, "app --serve", &skeleton), 0);
        CU_ASSERT_EQUAL_FATAL(ve_policy_learned_parse(skeleton, strlen(skeleton), &names, &n), 0);
        CU_ASSERT_EQUAL(n, 5);
        CU_ASSERT_TRUE(in_names(names, n, "DB_PASSWORD"));
        CU_ASSERT_TRUE(in_names(names, n, "API_TOKEN"));
        CU_ASSERT_TRUE(in_names(names, n, "APP_MODE"));
        CU_ASSERT_TRUE(in_names(names, n, "HOME"));
        CU_ASSERT_TRUE(in_names(names, n, "PATH"));
        ve_policy_names_free(names, n);
        free(skeleton);

        CU_ASSERT_EQUAL_FATAL(ve_policy_learned_parse(plain, sizeof plain - 1, &names, &n), 0);
        CU_ASSERT_EQUAL(n, 4);
        CU_ASSERT_TRUE(in_names(names, n, "ONE"));
        CU_ASSERT_TRUE(in_names(names, n, "TWO"));
        CU_ASSERT_TRUE(in_names(names, n, "FOUR"));
        CU_ASSERT_TRUE(in_names(names, n, "FIVE"));
        ve_policy_names_free(names, n);

        CU_ASSERT_EQUAL(ve_policy_learned_parse("", 0, &names, &n), 0);
        CU_ASSERT_EQUAL(n, 0);
        ve_policy_names_free(names, n);
}

int main(void) {
        static const struct unit_test tests[] = {
                { "offline: exact paths, both forms when unknown", test_offline },
                { "kv1:/kv2: only, name and namespace", test_forced_only },
                { "detected mounts and leases", test_detect },
                { "templates and bulk rules", test_templates_bulk },
                { "restricted to learned names", test_learned },
                { "JSON form", test_json },
                { "paths that cannot be granted exactly", test_not_exact },
                { "names of a learn skeleton", test_learned_parse },
                { NULL, NULL },
        };
        static const struct unit_suite suite = { "policy", tests };

        return unit_run(&suite, 1);
}
