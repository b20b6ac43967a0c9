/* SPDX-License-Identifier: MIT */
/* The template parser and renderer, percent-encoding, and references in
 * the environment (lib/config/template.c, lib/config/reference.c). No network. */
#include "unit.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reference.h"
#include "template.h"

static char *render(const char *tmpl, const char *const *values) {
        struct ve_template *t = NULL;
        char *err = NULL, *out = NULL;
        size_t off = 0;

        CU_ASSERT_EQUAL_FATAL(ve_template_parse(tmpl, &t, &off, &err), 0);
        CU_ASSERT_PTR_NULL(err);
        CU_ASSERT_EQUAL(ve_template_render(t, values, &out), 0);
        ve_template_free(t);
        return out;
}

static bool check_error(const char *tmpl, size_t offset, const char *expected, int line) {
        struct ve_template *t = NULL;
        char *err = NULL;
        size_t off = 9999;
        int r = ve_template_parse(tmpl, &t, &off, &err);
        bool ok = r == -EINVAL && !t && off == offset && err && strcmp(err, expected) == 0;

        if (!ok)
                fprintf(stderr, "\n  line %d: r=%d off=%zu err=<%s>\n", line, r, off, err ? err : "(null)");
        if (r == 0)
                ve_template_free(t);
        free(err);
        return ok;
}

#define CHECK_ERROR(t, off, msg) CU_ASSERT_TRUE(check_error((t), (off), (msg), __LINE__))

static void test_urlencode(void) {
        char *s = ve_urlencode("p@s:s/w%rd \xc3\xa9-._~AZaz09+&=?#[]!");

        CU_ASSERT_STRING_EQUAL(s, "p%40s%3As%2Fw%25rd%20%C3%A9-._~AZaz09%2B%26%3D%3F%23%5B%5D%21");
        free(s);
        s = ve_urlencode("");
        CU_ASSERT_STRING_EQUAL(s, "");
        free(s);
}

static void test_parse_render(void) {
        const char *v2[] = { "fake-user", "fake p@ss", NULL };
        const char *v1[] = { "fake-v", NULL };
        struct ve_template *t = NULL;
        char *out, *err = NULL;

        CU_ASSERT_TRUE(ve_template_is("a{{b"));
        CU_ASSERT_FALSE(ve_template_is("secret/a#b"));
        CU_ASSERT_FALSE(ve_template_is("a{b}"));

        out = render("pg://{{secret/app/db#user}}:{{ secret/app/db#password | urlencode }}@db}}/x", v2);
        CU_ASSERT_STRING_EQUAL(out, "pg://fake-user:fake%20p%40ss@db}}/x");
        free(out);
        out = render("{{secret/a#k|urlencode|urlencode}}", (const char *[]) { "a b", NULL });
        CU_ASSERT_STRING_EQUAL(out, "a%2520b");
        free(out);
        out = render("{{\"{{\"}}{{kv2:secret/a#k@2}}}}", v1);
        CU_ASSERT_STRING_EQUAL(out, "{{fake-v}}");
        free(out);

        CU_ASSERT_EQUAL(ve_template_parse("x{{kv1:m/p}}y{{m/q#k@7}}", &t, NULL, &err), 0);
        CU_ASSERT_EQUAL(t->n_refs, 2);
        CU_ASSERT_EQUAL(ve_template_ref(t, 0)->ref.kv, VE_KV_1);
        CU_ASSERT_STRING_EQUAL(ve_template_ref(t, 0)->ref.key, "value");
        CU_ASSERT_EQUAL(ve_template_ref(t, 1)->ref.version, 7);
        CU_ASSERT_PTR_NULL(ve_template_ref(t, 2));
        ve_template_free(t);
}

static void test_errors(void) {
        CHECK_ERROR("ab{{m/p#k", 2, "unterminated \"{{\" (no \"}}\")");
        CHECK_ERROR("ab{{m/p#k}}{{", 11, "unterminated \"{{\" (no \"}}\")");
        CHECK_ERROR("a{{  }}", 1, "empty reference in \"{{ }}\"");
        CHECK_ERROR("a{{ | urlencode}}", 4, "empty reference before '|'");
        CHECK_ERROR("a{{m/p#k | base64}}", 11, "unknown filter \"base64\" (known: urlencode)");
        CHECK_ERROR("a{{m/p#k | }}", 10, "empty filter after '|'");
        CHECK_ERROR("a{{ secret }}", 4, "reference needs MOUNT/PATH: \"secret\"");
        CHECK_ERROR("{{m/p#a}b}}", 2, "'{' or '}' in a template reference");
        CHECK_ERROR("{{'x'}}", 0, "template has no reference");
        CHECK_ERROR("{{m/p#k|urlencode|urlencode|urlencode|urlencode|urlencode}}", 48, "more than 4 filters");
}

static void test_references(void) {
        struct ve_ref ref = {};
        char *lit = NULL, *err = NULL;

        CU_ASSERT_EQUAL(ve_reference_parse("vault:secret/app/db#password", &ref, &lit, &err), 0);
        CU_ASSERT_EQUAL(ref.kv, VE_KV_AUTO);
        CU_ASSERT_STRING_EQUAL(ref.path, "secret/app/db");
        CU_ASSERT_STRING_EQUAL(ref.key, "password");
        ve_ref_done(&ref);

        CU_ASSERT_EQUAL(ve_reference_parse("vault:secret/data/app/db#password@4", &ref, &lit, &err), 0);
        CU_ASSERT_EQUAL(ref.kv, VE_KV_2);
        CU_ASSERT_STRING_EQUAL(ref.path, "secret/app/db");
        CU_ASSERT_EQUAL(ref.version, 4);
        ve_ref_done(&ref);

        /* only the second segment, only without a prefix */
        CU_ASSERT_EQUAL(ve_reference_parse("vault:secret/app/data/x", &ref, &lit, &err), 0);
        CU_ASSERT_EQUAL(ref.kv, VE_KV_AUTO);
        CU_ASSERT_STRING_EQUAL(ref.path, "secret/app/data/x");
        ve_ref_done(&ref);
        CU_ASSERT_EQUAL(ve_reference_parse("vault:kv1:secret/data/x#k", &ref, &lit, &err), 0);
        CU_ASSERT_EQUAL(ref.kv, VE_KV_1);
        CU_ASSERT_STRING_EQUAL(ref.path, "secret/data/x");
        ve_ref_done(&ref);
        CU_ASSERT_EQUAL(ve_reference_parse("vault:secret/data#k", &ref, &lit, &err), 0);
        CU_ASSERT_STRING_EQUAL(ref.path, "secret/data");
        ve_ref_done(&ref);

        CU_ASSERT_EQUAL(ve_reference_parse("vault::literal:x", &ref, &lit, &err), 1);
        CU_ASSERT_STRING_EQUAL(lit, "vault:literal:x");
        free(lit);
        lit = NULL;
        CU_ASSERT_EQUAL(ve_reference_parse("vault::", &ref, &lit, &err), 1);
        CU_ASSERT_STRING_EQUAL(lit, "vault:");
        free(lit);

        CU_ASSERT_EQUAL(ve_reference_parse("vault:secret", &ref, &lit, &err), -EINVAL);
        CU_ASSERT_STRING_EQUAL(err, "invalid reference after \"vault:\": reference needs MOUNT/PATH: \"secret\"");
        free(err);
        err = NULL;
        CU_ASSERT_EQUAL(ve_reference_parse("vault:secret/data/#k", &ref, &lit, &err), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(err);
        free(err);
        CU_ASSERT_EQUAL(ve_reference_parse("plain", &ref, &lit, &err), -EINVAL);
}

int main(void) {
        static const struct unit_test tests[] = {
                { "urlencode", test_urlencode },
                { "parse and render", test_parse_render },
                { "parse errors", test_errors },
                { "references in the environment", test_references },
                { NULL, NULL },
        };
        static const struct unit_suite suite = { "template", tests };

        return unit_run(&suite, 1);
}
