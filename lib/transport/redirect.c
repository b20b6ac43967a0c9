/* SPDX-License-Identifier: MIT */
/* Which redirects the transport follows, and to where: the same scheme,
 * host and port only, never user info (a Location could otherwise send
 * the token elsewhere). See policy.h. libcurl appears here only for its
 * URL parser (CURLU, no request), the one that parses the URLs requested. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "policy.h"
#include "util.h"

bool ve_http_status_redirect(long status) {
        return status == 301 || status == 302 || status == 307 || status == 308;
}

static bool is_http_scheme(const char *s) {
        return ve_ascii_strcasecmp(s, "http") == 0 || ve_ascii_strcasecmp(s, "https") == 0;
}

int ve_http_redirect_target(const char *request_url, const char *location,
                            char **ret_url, char **ret_foreign) {
        char *bs = NULL, *bh = NULL, *bp = NULL, *ds = NULL, *dh = NULL, *dp = NULL;
        char *user = NULL, *password = NULL, *url = NULL;
        CURLU *base = NULL, *dest = NULL;
        int r = -EINVAL;

        if (!request_url || !location || !*location || ve_has_control(location))
                return -EINVAL;
        base = curl_url();
        if (!base)
                return -ENOMEM;
        if (curl_url_set(base, CURLUPART_URL, request_url, 0) != CURLUE_OK)
                goto out;
        dest = curl_url_dup(base);
        if (!dest) {
                r = -ENOMEM;
                goto out;
        }
        /* A relative Location is resolved against the request's URL. */
        if (curl_url_set(dest, CURLUPART_URL, location, 0) != CURLUE_OK)
                goto out;
        if (curl_url_get(base, CURLUPART_SCHEME, &bs, 0) != CURLUE_OK ||
            curl_url_get(base, CURLUPART_HOST, &bh, 0) != CURLUE_OK ||
            curl_url_get(base, CURLUPART_PORT, &bp, CURLU_DEFAULT_PORT) != CURLUE_OK ||
            curl_url_get(dest, CURLUPART_SCHEME, &ds, 0) != CURLUE_OK ||
            curl_url_get(dest, CURLUPART_HOST, &dh, 0) != CURLUE_OK ||
            curl_url_get(dest, CURLUPART_PORT, &dp, CURLU_DEFAULT_PORT) != CURLUE_OK)
                goto out;
        if (!is_http_scheme(ds))
                goto out;
        (void) curl_url_get(dest, CURLUPART_USER, &user, 0);
        (void) curl_url_get(dest, CURLUPART_PASSWORD, &password, 0);
        if (ve_ascii_strcasecmp(bs, ds) != 0 || ve_ascii_strcasecmp(bh, dh) != 0 || strcmp(bp, dp) != 0 || user || password) {
                /* Scheme, host and port only: never a path, a query or user info. */
                r = -EPERM;
                if (ret_foreign) {
                        *ret_foreign = ve_asprintf("%s://%s:%s", ds, dh, dp);
                        if (!*ret_foreign)
                                r = -ENOMEM;
                }
                goto out;
        }
        if (curl_url_get(dest, CURLUPART_URL, &url, 0) != CURLUE_OK)
                goto out;
        *ret_url = strdup(url);
        r = *ret_url ? 0 : -ENOMEM;
out:
        curl_free(bs);
        curl_free(bh);
        curl_free(bp);
        curl_free(ds);
        curl_free(dh);
        curl_free(dp);
        curl_free(user);
        curl_free(password);
        curl_free(url);
        curl_url_cleanup(base);
        curl_url_cleanup(dest);
        return r;
}
