/* SPDX-License-Identifier: MIT */
/* JWT/OIDC role login: POST auth/<mount>/login {role, jwt}, the JWT read
 * from VAULT_JWT_FILE at every login (CI systems and workload identity
 * rotate it). The Kubernetes method sends the same body (auth_kubernetes.c). */
#include <errno.h>
#include <stdlib.h>

#include "auth-internal.h"
#include "util.h"

int ve_auth_role_jwt_login(struct ve_auth_config *c, struct ve_http *http,
                           const char *jwt_file, const char *var,
                           struct ve_auth_grant *ret, char **ret_error) {
        _cleanup_erase_ char *body = NULL;
        char *jwt = NULL;
        int r;

        r = ve_auth_read_credential(jwt_file, var, &jwt, ret_error);
        if (r < 0)
                return r;
        body = ve_auth_json_object(2, (const char *const[]) { "role", c->role, "jwt", jwt });
        ve_auth_secret_free(jwt);
        if (!body)
                return -ENOMEM;
        return ve_auth_login_post(c, http, body, ret, ret_error);
}

int ve_auth_jwt_login(struct ve_auth_config *c, struct ve_http *http,
                      struct ve_auth_grant *ret, char **ret_error) {
        return ve_auth_role_jwt_login(c, http, c->jwt_file, "VAULT_JWT_FILE", ret, ret_error);
}
