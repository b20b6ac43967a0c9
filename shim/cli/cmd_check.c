/* SPDX-License-Identifier: MIT */
/* vaultenv check [-m MAPFILE] [--json] [-- PROGRAM [ARGS]]: resolves every
 * mapped name as the shim would and says, per name, where its value comes
 * from or why there is none; with PROGRAM, first which mode serves it.
 * Never a value: only statuses, paths, versions and reasons. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "exe.h"
#include "util.h"

static int help(void) {
        printf("Usage: %s check [-m MAPFILE] [--json] [-q] [--] [PROGRAM [ARGS...]]\n"
               "\n"
               "Validates the mapping file and resolves every name against Vault with the\n"
               "current credentials, printing one line per name: NAME STATUS DETAIL. Never a value.\n"
               "STATUS: found (from Vault), missing-key, denied, not-found, unreachable, sealed,\n"
               "error, fallback-env, fallback-file (NAME_FILE), fallback-secrets-dir, default, unset.\n"
               "Bulk rules (PREFIX*) are listed with every name their path gives; templates with\n"
               "each reference. Exit status 0 when every required name has a value, 1 when one\n"
               "has none (or a bulk path cannot be read), 78 for a bad mapping file: usable as\n"
               "a readiness probe.\n"
               "\n"
               "With PROGRAM (found on PATH, its #! line and env(1) followed, as exec runs it),\n"
               "first one line says how exec serves it, and why: PROGRAM: MODE: REASON, MODE\n"
               "being lazy (the shim answers getenv) or the exec option it needs, eager (it\n"
               "copies the environment at start: python, perl, php, java, shells, awk, make)\n"
               "or env (Go and static programs never load or ask the shim). The line does not\n"
               "change the exit status; a PROGRAM that cannot run stops check before any name\n"
               "with status 127 (not found, nor its interpreter) or 126 (not executable).\n"
               "\n"
               "  -m, --map MAPFILE  mapping file (default: $VAULTENV_MAP, else " VE_DEFAULT_MAP_PATH ")\n"
               "  -j, --json         one JSON document on stdout:\n"
               "                     {\"ok\":BOOL,\"names\":[{\"name\",\"status\",\"required\",\"source\",\"detail\"}]}\n"
               "                     and with PROGRAM \"diagnosis\":{\"program\",\"path\",\"mode\",\"reason\"}\n"
               "  -q, --quiet        no status lines\n"
               "  -h, --help         this help\n",
               cli_program);
        return 0;
}

/* The status of a Vault outcome (ve_entry_vault_status()). */
static const char *vault_status(int k) {
        switch (k) {
        case 0:
                return "found";
        case -ENODATA:
                return "missing-key";
        case -EACCES:
                return "denied";
        case -ENOENT:
                return "not-found";
        case -ECONNREFUSED:
        case -ETIMEDOUT:
                return "unreachable";
        case -EAGAIN:
                return "sealed";
        case -ESRCH:
                return "unset";
        default:
                return "error";
        }
}

struct report {
        bool json;
        cJSON *names;           /* json: the "names" array */
        cJSON *last;            /* json: the last name's object */
        bool nomem;
};

static void add_str(struct report *o, cJSON *obj, const char *key, const char *value) {
        if (!(value ? cJSON_AddStringToObject(obj, key, value) : cJSON_AddNullToObject(obj, key)))
                o->nomem = true;
}

/* One name (or bulk rule): a line, or an object of "names". */
static void report_name(struct report *o, const char *name, const char *status, bool required,
                        const char *source, const char *detail) {
        cJSON *obj;

        if (!o->json) {
                printf("%-24s %-20s %s\n", name, status, detail ? detail : "");
                return;
        }
        obj = cJSON_CreateObject();
        if (!obj || !cJSON_AddItemToArray(o->names, obj)) {
                cJSON_Delete(obj);
                o->nomem = true;
                o->last = NULL;
                return;
        }
        add_str(o, obj, "name", name);
        add_str(o, obj, "status", status);
        if (!cJSON_AddBoolToObject(obj, "required", required))
                o->nomem = true;
        add_str(o, obj, "source", source);
        add_str(o, obj, "detail", detail);
        o->last = obj;
}

/* One reference of the template reported last. */
static void report_ref(struct report *o, const struct ve_ref *ref, const char *status, const char *detail) {
        cJSON *refs, *obj;
        char *text = ve_asprintf("%s#%s", ref->path, ref->key);

        if (!text) {
                o->nomem = true;
                return;
        }
        if (!o->json)
                printf("  - %-43s %-20s %s\n", text, status, detail ? detail : "");
        else if (o->last) {
                refs = cJSON_GetObjectItemCaseSensitive(o->last, "references");
                if (!refs && !(refs = cJSON_AddArrayToObject(o->last, "references")))
                        o->nomem = true;
                else if (!(obj = cJSON_CreateObject()) || !cJSON_AddItemToArray(refs, obj)) {
                        cJSON_Delete(obj);
                        o->nomem = true;
                } else {
                        add_str(o, obj, "reference", text);
                        add_str(o, obj, "status", status);
                        add_str(o, obj, "detail", detail);
                }
        }
        free(text);
}

/* "vault PATH#KEY version N" for a value from Vault. */
static char *found_detail(struct cli_resolver *c, struct ve_entry *e, char **ret_source) {
        const struct ve_map_entry *m = ve_entry_map(e);
        unsigned long version = 0;
        char ver[48] = "";
        size_t n = ve_entry_n_parts(e);

        (void) ve_entry_vault_status(c->resolver, e, &version);
        /* A pinned version is shown as the mapping writes it (PATH#KEY@N);
         * the latest, with the version the read returned. */
        if (m->ref.version > 0)
                snprintf(ver, sizeof ver, "@%lu", m->ref.version);
        else if (version > 0)
                snprintf(ver, sizeof ver, " version %lu", version);
        if (n > 0) {
                *ret_source = strdup("template");
                return ve_asprintf("template of %zu reference%s", n, n == 1 ? "" : "s");
        }
        if (strcmp(m->ref.key, "*") == 0) {
                /* a bulk name: its key is found by the name rule */
                *ret_source = ve_asprintf("vault:%s", m->ref.path);
                return ve_asprintf("vault %s%s", m->ref.path, ver);
        }
        *ret_source = ve_asprintf("vault:%s#%s", m->ref.path, m->ref.key);
        return ve_asprintf("vault %s#%s%s", m->ref.path, m->ref.key, ver);
}

/* Resolves one name and reports it; returns whether it fails the check
 * (a required name without a value). */
static bool check_name(struct cli_resolver *c, struct report *o, struct ve_entry *e) {
        const struct ve_map_entry *m = ve_entry_map(e);
        const char *value = NULL, *status, *file;
        enum ve_from from = VE_FROM_NONE;
        char *reason = NULL, *why, *detail = NULL, *source = NULL;
        bool secrets_dir = false, failed = false;
        int k, vk;

        k = ve_resolve(c->resolver, e, &value, &from, &reason);
        free(reason);           /* what check shows is finer: the status */
        vk = ve_entry_vault_status(c->resolver, e, NULL);
        why = ve_entry_vault_reason(c->resolver, e);
        if (k < 0 && k != -ENOENT) {
                status = "error";
                detail = strdup(strerror(-k));
                failed = m->required;
        } else if (value && from == VE_FROM_VAULT) {
                status = "found";
                detail = found_detail(c, e, &source);
        } else if (value) {
                switch (from) {
                case VE_FROM_ENV:
                        status = "fallback-env";
                        source = strdup("env");
                        detail = ve_asprintf("the environment's %s (vault: %s)", m->name, why ? why : "no value");
                        break;
                case VE_FROM_FILE:
                        file = ve_entry_fallback_file(e, &secrets_dir);
                        status = secrets_dir ? "fallback-secrets-dir" : "fallback-file";
                        source = strdup(file ? file : "file");
                        detail = ve_asprintf("file %s (vault: %s)", file ? file : "?", why ? why : "no value");
                        break;
                default:
                        status = "default";
                        source = strdup("default");
                        detail = ve_asprintf("default= (vault: %s)", why ? why : "no value");
                        break;
                }
        } else {
                /* No value anywhere: the reason Vault gave is the news. */
                status = vault_status(vk == 0 ? -ESRCH : vk);
                failed = m->required;
                detail = ve_asprintf("%s%s", why ? why : "no value and Vault was not asked",
                                     failed ? " (required: no value)" : "");
        }
        if (!detail || (value && !source))
                o->nomem = true;
        report_name(o, m->name, status, m->required, source, detail);

        /* A template: each reference on its own. */
        for (size_t i = 0; i < ve_entry_n_parts(e); i++) {
                struct ve_entry *p = ve_entry_part(e, i);
                unsigned long version = 0;
                char *pwhy, *pdetail;
                int pk = ve_entry_vault_status(c->resolver, p, &version);

                pwhy = pk < 0 ? ve_entry_vault_reason(c->resolver, p) : NULL;
                pdetail = pk < 0 ? strdup(pwhy ? pwhy : vault_status(pk)) :
                          version > 0 ? ve_asprintf("version %lu", version) : strdup("");
                if (!pdetail)
                        o->nomem = true;
                report_ref(o, &ve_entry_map(p)->ref, vault_status(pk), pdetail);
                free(pdetail);
                free(pwhy);
        }
        free(why);
        free(detail);
        free(source);
        return failed;
}

/* A bulk rule: its path must be readable (there is no fallback for names
 * one cannot know); then every name it gives that no entry maps. */
static bool check_bulk(struct cli_resolver *c, struct report *o, size_t i) {
        const struct ve_map_bulk *b = &ve_resolver_map(c->resolver)->bulk[i];
        char **names = NULL, *reason = NULL, *label, *detail, *source;
        size_t n = 0;
        bool failed = false;
        int k;

        label = ve_asprintf("%s*", b->prefix);
        source = ve_asprintf("vault:%s", b->ref.path);
        k = ve_resolver_bulk_names(c->resolver, i, &names, &reason);
        for (char **p = names; p && *p; p++)
                n++;
        if (k < 0) {
                failed = true;
                detail = ve_asprintf("%s (bulk rule: no name can be served)", reason ? reason : strerror(-k));
        } else
                detail = ve_asprintf("vault %s: %zu name%s", b->ref.path, n, n == 1 ? "" : "s");
        if (!label || !source || !detail)
                o->nomem = true;
        report_name(o, label ? label : b->prefix, k < 0 ? vault_status(k) : "found", false, source, detail);
        free(label);
        free(source);
        free(detail);
        free(reason);

        for (char **p = names; p && *p; p++) {
                struct ve_entry *e = ve_resolver_find(c->resolver, *p);

                /* An explicit entry wins over the rule: listed already. */
                if (!e || ve_map_find(ve_resolver_map(c->resolver), *p))
                        continue;
                failed |= check_name(c, o, e);
        }
        ve_names_free(names);
        return failed;
}

/* PROGRAM's diagnosis: 0, or the exit status after saying why there is none. */
static int diagnose(char **program, struct ve_diagnosis *ret, char **ret_line) {
        const char *why;
        char *path = NULL;
        int k;

        k = cli_diagnose(program, ret, ret_line);
        switch (k) {
        case 0:
                return 0;
        case -ENOENT:
                /* the file is there: what is missing is its interpreter */
                why = ve_exe_lookup(program[0], getenv("PATH"), &path) == 0 && access(path, F_OK) == 0 ?
                      "its #! interpreter (or the program env runs) is not found" : "not found";
                break;
        case -EACCES:
                why = "not an executable file (or not readable)";
                break;
        case -ENOEXEC:
                why = "not a program this system can run";
                break;
        case -ELOOP:
                why = "its #! interpreters nest too deep";
                break;
        default:
                why = strerror(-k);
                break;
        }
        free(path);
        cli_error("check: %s: %s", program[0], why);
        return k == -ENOENT ? 127 : 126;
}

/* {"program","path","mode","reason"} into doc. */
static void add_diagnosis(struct report *o, cJSON *doc, const char *program, const struct ve_diagnosis *d) {
        cJSON *obj = cJSON_AddObjectToObject(doc, "diagnosis");

        if (!obj) {
                o->nomem = true;
                return;
        }
        add_str(o, obj, "program", program);
        add_str(o, obj, "path", d->path);
        add_str(o, obj, "mode", ve_run_mode_word(d->mode));
        add_str(o, obj, "reason", d->reason);
}

int cmd_check(int argc, char **argv) {
        struct report o = {};
        const struct ve_map *map;
        const char *map_opt = NULL;
        struct cli_resolver c;
        struct ve_diagnosis diagnosis = {};
        char **program = NULL, *line = NULL;
        cJSON *doc = NULL;
        bool failed = false;
        int next, k, status;
        const struct cli_option opts[] = {
                { "map", 'm', CLI_ARG, &map_opt },
                { "json", 'j', CLI_FLAG, &o.json },
                {},
        };

        if ((k = cli_parse_options("check", argc, argv, opts, true, help, &next)) >= 0)
                return k;
        /* PROGRAM first: one that cannot run is the news, before any login */
        if (argc > next) {
                program = argv + next;
                if ((k = diagnose(program, &diagnosis, &line)) != 0)
                        return k;
        }
        if ((k = cli_resolver_open(map_opt, CLI_REPORT_OWN_ONLY, &c)) != 0) {
                ve_diagnosis_done(&diagnosis);
                free(line);
                return k;
        }
        if (line && !o.json)
                printf("%s\n", line);
        if (o.json) {
                doc = cJSON_CreateObject();
                o.names = cJSON_CreateArray();
                if (!doc || !o.names) {
                        cJSON_Delete(o.names);
                        o.names = NULL;
                        o.nomem = true;
                }
        }

        map = ve_resolver_map(c.resolver);
        /* Every path at once; the loop below then finds them cached. Out
         * of memory here only costs the concurrency. */
        (void) ve_resolver_prefetch(c.resolver, NULL, 0);
        if (!o.nomem) {
                for (size_t i = 0; i < ve_resolver_count(c.resolver); i++)
                        failed |= check_name(&c, &o, ve_resolver_entry(c.resolver, i));
                for (size_t i = 0; i < map->n_bulk; i++)
                        failed |= check_bulk(&c, &o, i);
        }
        status = failed ? CLI_EX_FAIL : 0;

        if (o.json && !o.nomem) {
                char *text;

                if (!cJSON_AddBoolToObject(doc, "ok", !failed) || !cJSON_AddItemToObject(doc, "names", o.names))
                        o.nomem = true;
                else {
                        o.names = NULL;         /* owned by doc now */
                        if (program)
                                add_diagnosis(&o, doc, program[0], &diagnosis);
                        text = o.nomem ? NULL : cJSON_PrintUnformatted(doc);
                        if (!text)
                                o.nomem = true;
                        else
                                printf("%s\n", text);
                        free(text);
                }
        }
        if (o.nomem) {
                cli_error("out of memory");
                status = CLI_EX_FAIL;
        }
        if (fflush(stdout) != 0) {
                cli_error("cannot write to standard output: %s", strerror(errno));
                status = CLI_EX_FAIL;
        }
        if (!o.json && !o.nomem)
                cli_status("%s: %s", c.settings->map_path,
                           failed ? "a required name has no value" : "every required name has a value");
        cJSON_Delete(o.names);
        cJSON_Delete(doc);
        ve_diagnosis_done(&diagnosis);
        free(line);
        /* Nothing uses what check read: give back the leases of dynamic
         * secrets at once. */
        cli_resolver_close(&c, true);
        return status;
}
