/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "reference.h"
#include "util.h"

bool ve_value_is_reference(const char *value) {
        return value && strncmp(value, VE_REFERENCE_PREFIX, VE_REFERENCE_PREFIX_LEN) == 0;
}

/* "MOUNT/data/REST" (no kv prefix, at least three segments): the KV v2 API
 * form. Returns a heap "kv2:MOUNT/REST" to parse instead, or NULL when s is
 * not in that form (or on allocation failure: *ret_oom is then set). */
static char *kv2_api_form(const char *s, bool *ret_oom) {
        const char *slash = strchr(s, '/');
        char *t;

        *ret_oom = false;
        if (strncmp(s, "kv1:", 4) == 0 || strncmp(s, "kv2:", 4) == 0)
                return NULL;
        if (!slash || slash == s || strncmp(slash, "/data/", 6) != 0)
                return NULL;
        /* The rest must be a non-empty path, not a key: "secret/data/#k"
         * is left to ve_ref_parse() to reject. */
        if (slash[6] == '\0' || slash[6] == '/' || slash[6] == '#' || slash[6] == '@')
                return NULL;
        t = ve_asprintf("kv2:%.*s/%s", (int) (slash - s), s, slash + 6);
        if (!t)
                *ret_oom = true;
        return t;
}

int ve_reference_parse(const char *value, struct ve_ref *ret_ref, char **ret_literal, char **ret_error) {
        const char *s;
        char *rewritten, *err = NULL;
        bool oom;
        int r;

        if (!ve_value_is_reference(value) || !ret_ref || !ret_literal)
                return -EINVAL;
        s = value + VE_REFERENCE_PREFIX_LEN;

        if (*s == ':') {
                char *lit = ve_asprintf("%s%s", VE_REFERENCE_PREFIX, s + 1);

                if (!lit)
                        return -ENOMEM;
                *ret_literal = lit;
                return 1;
        }

        rewritten = kv2_api_form(s, &oom);
        if (oom)
                return -ENOMEM;
        r = ve_ref_parse(rewritten ? rewritten : s, ret_ref, &err);
        free(rewritten);
        if (r == -EINVAL) {
                /* ve_ref_parse() quoted the rewritten text; say what the
                 * value was in the user's own words. */
                char *msg = err ? ve_asprintf("invalid reference after \"vault:\": %s", err) : NULL;

                free(err);
                if (!msg)
                        return -ENOMEM;
                ve_set_error(ret_error, msg);
                return -EINVAL;
        }
        free(err);
        return r;
}
