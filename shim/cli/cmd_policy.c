/* SPDX-License-Identifier: MIT */
/* vaultenv policy [-m MAPFILE] [--learned FILE] [--name NAME] [--json] [--detect]:
 * prints the Vault ACL policy the mapping needs (lib/tools/acl_policy.h).
 * Offline unless --detect, which asks Vault each undecided path's mount
 * (as the reads' preflight does) with the current credentials. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "http.h"
#include "acl_policy.h"
#include "util.h"

#define LEARNED_MAX (16 * 1024 * 1024)

static int help(void) {
        printf("Usage: %s policy [-m MAPFILE] [--learned FILE] [--name NAME] [--json] [--detect] [-q]\n"
               "\n"
               "Prints the Vault policy (HCL, or Vault's JSON form) that grants exactly what the\n"
               "mapping reads: read on each KV v2 MOUNT/data/PATH, KV v1 path and dynamic-secret\n"
               "path of its names, templates and bulk rules, no globs; update on sys/leases/renew\n"
               "(and sys/leases/revoke with VAULTENV_REVOKE_ON_EXIT) when it reads dynamic secrets.\n"
               "Offline: a path without kv1:/kv2: is granted in both KV forms unless --detect\n"
               "asks Vault its mount. Exit status 78 for a bad mapping file.\n"
               "\n"
               "  -m, --map MAPFILE  mapping file (default: $VAULTENV_MAP, else " VE_DEFAULT_MAP_PATH ")\n"
               "      --learned FILE only the names `vaultenv learn` saw read (its output)\n"
               "      --name NAME    name the policy in a header: vault policy write NAME -\n"
               "  -j, --json         Vault's JSON policy form\n"
               "      --detect       ask Vault (current credentials) the mount and engine of\n"
               "                     each path without kv1:/kv2:\n"
               "  -q, --quiet        no status lines\n"
               "  -h, --help         this help\n",
               cli_program);
        return 0;
}

/* The engine of Vault's answer to GET sys/internal/ui/mounts/PATH. */
static int parse_mount(const char *path, const struct ve_http_response *resp, size_t *ret_ml,
                       enum ve_policy_engine *ret_engine) {
        const cJSON *data, *mpath, *type, *options, *version;
        enum ve_policy_engine engine;
        cJSON *root = NULL;
        char *why = NULL;
        size_t ml;
        int r = -EPROTO;

        if (ve_vault_parse_json(resp->body, resp->len, &root, &why) < 0) {
                free(why);
                return -EPROTO;
        }
        data = cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "data") : NULL;
        mpath = cJSON_GetObjectItemCaseSensitive(data, "path");
        type = cJSON_GetObjectItemCaseSensitive(data, "type");
        options = cJSON_GetObjectItemCaseSensitive(data, "options");
        version = cJSON_IsObject(options) ? cJSON_GetObjectItemCaseSensitive(options, "version") : NULL;
        if (!cJSON_IsString(mpath) || !cJSON_IsString(type))
                goto out;
        ml = ve_vault_mount_len_in_path(path, mpath->valuestring);
        if (ml == 0)
                goto out;
        if (strcmp(type->valuestring, "kv") == 0 || strcmp(type->valuestring, "generic") == 0)
                engine = cJSON_IsString(version) && strcmp(version->valuestring, "2") == 0 ? VE_POLICY_KV2
                                                                                           : VE_POLICY_KV1;
        else
                engine = VE_POLICY_DYNAMIC;
        *ret_ml = ml;
        *ret_engine = engine;
        r = 0;
out:
        ve_vault_json_free(root);
        return r;
}

/* What --detect learnt: mounts (longest prefix wins), and first segments
 * whose detection failed (asked once: the next path there would fail the
 * same way, one warning is enough). */
struct known {
        char *prefix;
        enum ve_policy_engine engine;   /* VE_POLICY_UNKNOWN: detection failed */
};
struct detector {
        struct ve_vault *vault;
        struct known *known;
        size_t n_known;
};

static void detector_done(struct detector *d) {
        for (size_t i = 0; i < d->n_known; i++)
                free(d->known[i].prefix);
        free(d->known);
}

/* Out of memory only loses the caching. */
static void remember(struct detector *d, const char *path, size_t len, enum ve_policy_engine engine) {
        struct known *k = realloc(d->known, (d->n_known + 1) * sizeof(*k));
        char *prefix;

        if (!k)
                return;
        d->known = k;
        prefix = strndup(path, len);
        if (prefix)
                d->known[d->n_known++] = (struct known) { .prefix = prefix, .engine = engine };
}

static bool lookup(const struct detector *d, const char *path, size_t *ret_ml, enum ve_policy_engine *ret_engine) {
        size_t best = 0;

        for (size_t i = 0; i < d->n_known; i++) {
                size_t n = strlen(d->known[i].prefix);

                if (n > best && strncmp(path, d->known[i].prefix, n) == 0) {
                        best = n;
                        *ret_engine = d->known[i].engine;
                }
        }
        *ret_ml = best;
        return best > 0;
}

static size_t first_segment_len(const char *path) {
        const char *s = strchr(path, '/');

        return s ? (size_t) (s - path) + 1 : strlen(path);
}

/* One GET sys/internal/ui/mounts/PATH. A failure is a warning naming the
 * path; the path then gets both forms. */
static int ask(struct ve_vault *v, const char *path, size_t *ret_mount_len, enum ve_policy_engine *ret_engine) {
        struct ve_http_response resp = {};
        bool sent = false;
        char *api, *err = NULL;
        int r;

        api = ve_asprintf("sys/internal/ui/mounts/%s", path);
        if (!api)
                return -ENOMEM;
        r = ve_vault_request(v, "GET", api, NULL, path, &resp, &sent, &err);
        free(api);
        if (r == 0 && resp.status == 404) {
                /* A Vault without the endpoint reads KV v1 at the first segment. */
                *ret_mount_len = first_segment_len(path);
                *ret_engine = VE_POLICY_KV1;
        } else if (r == 0 && resp.status != 200)
                r = ve_vault_status_error(path, &resp, sent, &err);
        else if (r == 0 && (r = parse_mount(path, &resp, ret_mount_len, ret_engine)) < 0)
                err = ve_asprintf("%s: unexpected answer from sys/internal/ui/mounts", path);
        if (r < 0)
                cli_warn("--detect: %s; both KV forms are granted under %.*s", err ? err : strerror(-r),
                         (int) first_segment_len(path), path);
        free(err);
        ve_http_response_done(&resp);
        return r;
}

/* ve_policy_mount_fn: what is known, else ask Vault. */
static int detect(void *userdata, const char *path, size_t *ret_mount_len, enum ve_policy_engine *ret_engine) {
        struct detector *d = userdata;
        enum ve_policy_engine engine = VE_POLICY_UNKNOWN;
        size_t ml = 0;
        int r;

        if (lookup(d, path, &ml, &engine)) {
                if (engine == VE_POLICY_UNKNOWN)
                        return -ENOENT;
                *ret_mount_len = ml;
                *ret_engine = engine;
                return 0;
        }
        r = ask(d->vault, path, &ml, &engine);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                remember(d, path, first_segment_len(path), VE_POLICY_UNKNOWN);
                return r;
        }
        remember(d, path, ml, engine);
        *ret_mount_len = ml;
        *ret_engine = engine;
        return 0;
}

static int load_learned(const char *path, char ***ret_names, size_t *ret_n) {
        char *text = NULL;
        size_t len = 0;
        int r;

        r = ve_read_file(path, LEARNED_MAX, &text, &len);
        if (r < 0) {
                cli_error("--learned: %s: %s", path, strerror(-r));
                return VE_EX_CONFIG;
        }
        r = ve_policy_learned_parse(text, len, ret_names, ret_n);
        free(text);
        if (r < 0) {
                cli_error("--learned: %s: %s", path, strerror(-r));
                return CLI_EX_FAIL;
        }
        return 0;
}

int cmd_policy(int argc, char **argv) {
        enum { OPT_LEARNED = CLI_LONG_ONLY, OPT_NAME, OPT_DETECT };
        const char *map_opt = NULL, *learned_opt = NULL, *name_opt = NULL;
        static const char *const no_names[1];
        struct ve_policy_input in = {};
        struct ve_settings *settings = NULL;
        struct detector detector = {};
        struct ve_map *map = NULL;
        char **names = NULL, *text = NULL, *err = NULL;
        size_t n_names = 0, n_paths = 0;
        bool json = false, detect_opt = false;
        int next, k;
        const struct cli_option opts[] = {
                { "map", 'm', CLI_ARG, &map_opt },
                { "learned", OPT_LEARNED, CLI_ARG, &learned_opt },
                { "name", OPT_NAME, CLI_ARG, &name_opt },
                { "json", 'j', CLI_FLAG, &json },
                { "detect", OPT_DETECT, CLI_FLAG, &detect_opt },
                {},
        };

        if ((k = cli_parse_options("policy", argc, argv, opts, false, help, &next)) >= 0)
                return k;
        if (argc != next)
                return cli_usage_error("policy", "unexpected argument \"%s\"", argv[next]);
        if (name_opt && (!name_opt[0] || ve_has_control(name_opt) || strpbrk(name_opt, " \"'\\/")))
                return cli_usage_error("policy", "--name: a policy name without blanks, quotes, '/' or '\\'");
        if ((k = cli_load(map_opt, &settings, &map)) != 0)
                return k;
        if (learned_opt && (k = load_learned(learned_opt, &names, &n_names)) != 0)
                goto out;
        if (detect_opt) {
                if (ve_vault_new(settings, &detector.vault, &err) < 0) {
                        cli_error("Vault client: %s", err ? err : "cannot be created");
                        k = VE_EX_CONFIG;
                        goto out;
                }
                in.mount = detect;
                in.userdata = &detector;
        }
        in.map = map;
        in.learned = learned_opt ? (n_names ? (const char *const *) names : no_names) : NULL;
        in.n_learned = n_names;
        in.name = name_opt;
        in.namespace = settings->namespace;
        in.revoke_on_exit = settings->revoke_on_exit;
        in.json = json;
        k = ve_policy_generate(&in, &text, &n_paths, &err);
        if (k < 0) {
                if (err)
                        cli_error("%s", err);
                else
                        cli_error("%s: %s", map->source, strerror(-k));
                k = k == -EINVAL ? VE_EX_CONFIG : CLI_EX_FAIL;
                goto out;
        }
        fputs(text, stdout);
        if (fflush(stdout) != 0 || ferror(stdout)) {
                cli_error("cannot write the policy: %s", strerror(errno));
                k = CLI_EX_FAIL;
                goto out;
        }
        if (n_paths == 0)
                cli_warn("%s: no name%s reads Vault: the policy grants nothing", map->source,
                         learned_opt ? " seen by vaultenv learn" : "");
        else
                cli_status("policy: %zu path%s for %s", n_paths, n_paths == 1 ? "" : "s", map->source);
        k = 0;
out:
        free(err);
        free(text);
        ve_policy_names_free(names, n_names);
        detector_done(&detector);
        ve_vault_free(detector.vault);
        ve_map_free(map);
        ve_settings_free(settings);
        return k;
}
