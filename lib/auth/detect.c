/* SPDX-License-Identifier: MIT */
/* Choosing the login method from the settings, and checking that its
 * inputs are there, before any request is made. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth-internal.h"
#include "log.h"
#include "util.h"

static bool method_parse(const char *s, enum ve_auth_method *ret) {
        static const enum ve_auth_method all[] = {
                VE_AUTH_TOKEN, VE_AUTH_APPROLE, VE_AUTH_KUBERNETES, VE_AUTH_JWT, VE_AUTH_CERT,
        };

        if (!s)
                return false;
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
                if (strcmp(s, ve_auth_method_name(all[i])) == 0) {
                        *ret = all[i];
                        return true;
                }
        return false;
}

static int need(char **ret_error, const char *msg) {
        ve_set_error(ret_error, strdup(msg));
        return -EINVAL;
}

/* What a login method lacks when the credential that proves its identity
 * is given by no variable at all, or NULL. Only AppRole's secret id is
 * passed by value in the environment (VAULTENV_SCRUB takes it out, so a
 * child never sees it); the other methods name files, which a child
 * inherits and which are read at each login, after the sink was tried. */
const char *ve_auth_missing_credential(const struct ve_settings *s, enum ve_auth_method m) {
        if (m == VE_AUTH_APPROLE && !s->secret_id && !s->secret_id_file)
                return "approle login needs VAULT_SECRET_ID or VAULT_SECRET_ID_FILE";
        return NULL;
}

int ve_auth_detect(const struct ve_settings *s, enum ve_auth_method *ret_method, char **ret_error) {
        enum ve_auth_method m;

        /* An unknown VAULT_AUTH_METHOD was already reported by settings.c,
         * which says its default (detection) is used. */
        if (!method_parse(s->auth_method, &m)) {
                if (s->token)
                        m = VE_AUTH_TOKEN;
                else if (s->role_id || s->role_id_file)
                        m = VE_AUTH_APPROLE;
                else if (s->jwt_file && s->auth_role)
                        m = VE_AUTH_JWT;
                else if (s->jwt_file)
                        return need(ret_error, "VAULT_JWT_FILE is set but VAULT_AUTH_ROLE is not: "
                                               "JWT login needs the role");
                else if (s->auth_role && s->k8s_token_file && access(s->k8s_token_file, F_OK) == 0)
                        m = VE_AUTH_KUBERNETES;
                else if (s->auth_role) {
                        ve_set_error(ret_error, ve_asprintf(
                                "VAULT_AUTH_ROLE is set but no login method fits: no VAULT_JWT_FILE and no "
                                "Kubernetes token at %s (set VAULT_AUTH_METHOD)",
                                s->k8s_token_file ? s->k8s_token_file : VE_DEFAULT_K8S_TOKEN_FILE));
                        return -EINVAL;
                } else if (s->secret_id || s->secret_id_file)
                        return need(ret_error, "VAULT_SECRET_ID is set but VAULT_ROLE_ID (or VAULT_ROLE_ID_FILE) "
                                               "is not: AppRole login needs both");
                else
                        m = VE_AUTH_TOKEN;
        }

        switch (m) {
        case VE_AUTH_TOKEN:
                break;
        case VE_AUTH_APPROLE:
                if (!s->role_id && !s->role_id_file)
                        return need(ret_error, "approle login needs VAULT_ROLE_ID or VAULT_ROLE_ID_FILE");
                /* Without a secret id the token in VAULTENV_TOKEN_SINK
                 * may still serve: a parent that logged in wrote it there
                 * (and, with VAULTENV_SCRUB, kept the secret id from its
                 * children). Whether it does is known at the first
                 * lookup. */
                if (ve_auth_missing_credential(s, m) && !s->token_sink)
                        return need(ret_error, ve_auth_missing_credential(s, m));
                break;
        case VE_AUTH_KUBERNETES:
                if (!s->auth_role)
                        return need(ret_error, "kubernetes login needs VAULT_AUTH_ROLE");
                if (!s->k8s_token_file)
                        return need(ret_error, "kubernetes login needs VAULT_K8S_TOKEN_FILE");
                break;
        case VE_AUTH_JWT:
                if (!s->auth_role)
                        return need(ret_error, "jwt login needs VAULT_AUTH_ROLE");
                if (!s->jwt_file)
                        return need(ret_error, "jwt login needs VAULT_JWT_FILE");
                break;
        case VE_AUTH_CERT:
                if (!s->client_cert)
                        return need(ret_error, "cert login needs VAULT_CLIENT_CERT");
                if (!s->client_key)
                        return need(ret_error, "cert login needs VAULT_CLIENT_KEY");
                break;
        }
        *ret_method = m;
        return 0;
}
