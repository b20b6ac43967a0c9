/* SPDX-License-Identifier: MIT */
/* JWT/OIDC role login: POST auth/<mount>/login {role, jwt}, the JWT read
 * from VAULT_JWT_FILE at every login (CI systems and workload identity
 * rotate it). */
#include <errno.h>
#include <stdlib.h>

#include "auth-internal.h"
#include "util.h"

int ve_auth_jwt_login(struct ve_auth_config *c, struct ve_http *http,
                      struct ve_auth_grant *ret, char **ret_error) {
        char *jwt = NULL, *body = NULL;
        int r;

        r = ve_auth_read_credential(c->jwt_file, "VAULT_JWT_FILE", &jwt, ret_error);
        if (r < 0)
                return r;
        body = ve_auth_json_object(2, (const char *const[]) { "role", c->role, "jwt", jwt });
        ve_erase_free(jwt);
        if (!body)
                return -ENOMEM;
        r = ve_auth_login_post(c, http, body, ret, ret_error);
        ve_erase_free(body);
        return r;
}
