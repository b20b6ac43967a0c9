/* SPDX-License-Identifier: MIT */
/* TLS client-certificate login: POST auth/<mount>/login {name} (name only
 * when VAULT_AUTH_ROLE is set: Vault then tries just that certificate
 * role). The credential is the client certificate that the transport
 * presents (VAULT_CLIENT_CERT, VAULT_CLIENT_KEY); the body holds no secret. */
#include <errno.h>
#include <stdlib.h>

#include "auth-internal.h"
#include "util.h"

int ve_auth_cert_login(struct ve_auth_config *c, struct ve_http *http,
                       struct ve_auth_grant *ret, char **ret_error) {
        char *body;
        int r;

        body = ve_auth_json_object(1, (const char *const[]) { "name", c->role });
        if (!body)
                return -ENOMEM;
        r = ve_auth_login_post(c, http, body, ret, ret_error);
        free(body);
        return r;
}
