/* SPDX-License-Identifier: MIT */
/* Kubernetes login: POST auth/<mount>/login {role, jwt}, the JWT being the
 * pod's service-account token (VAULT_K8S_TOKEN_FILE, default
 * /var/run/secrets/kubernetes.io/serviceaccount/token), re-read at every
 * login because the kubelet rotates it. */
#include "auth-internal.h"

int ve_auth_kubernetes_login(struct ve_auth_config *c, struct ve_http *http,
                             struct ve_auth_grant *ret, char **ret_error) {
        return ve_auth_role_jwt_login(c, http, c->k8s_token_file, "VAULT_K8S_TOKEN_FILE", ret, ret_error);
}
