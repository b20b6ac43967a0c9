"""Auth method kubernetes (vault-plugin-auth-kubernetes)."""

import binascii
import re

from .auth_params import str_list, token_params, token_params_view
from .crypto import JWTError, jwt_time_claims, jwt_verify, parse_public_keys
from .gojson import envelope
from .util import NO_CONTENT, VaultError, missing, multierr, ok


class KubernetesAuth:
    """kubernetes, as its plugin in Vault 1.8 (a mixin of AuthMethods)."""

    # -- kubernetes (vault-plugin-auth-kubernetes) ---------------------------
    def auth_kubernetes(self, req, name, mount, rest):
        be = mount.backend
        data = req.data if isinstance(req.data, dict) else {}
        if rest == "login":
            return self.kubernetes_login(req, mount, data)
        self.need_auth_token(req)
        if rest == "config":
            if req.op == "read":
                cfg = be["config"]
                if cfg is None:
                    return NO_CONTENT
                return ok(envelope({k: cfg[k] for k in (
                    "disable_iss_validation", "disable_local_ca_jwt", "issuer",
                    "kubernetes_ca_cert", "kubernetes_host", "pem_keys")}))
            if req.op != "update":
                raise VaultError(405, multierr("unsupported operation"))
            host = str(data.get("kubernetes_host") or "")
            if not host:
                raise VaultError(400, "no host provided")
            pem_keys = data.get("pem_keys") or []
            if isinstance(pem_keys, str):
                pem_keys = [pem_keys]
            ca = str(data.get("kubernetes_ca_cert") or "")
            if not pem_keys and not ca:
                raise VaultError(400, "one of pem_keys or kubernetes_ca_cert must be set")
            try:
                keys = parse_public_keys(pem_keys)
            except (ValueError, IndexError, binascii.Error):
                raise VaultError(400, "data does not contain any valid RSA or ECDSA "
                                      "public keys")
            be["config"] = {"kubernetes_host": host, "kubernetes_ca_cert": ca,
                            "pem_keys": pem_keys, "keys": keys,
                            "issuer": str(data.get("issuer") or ""),
                            "disable_iss_validation": bool(data.get("disable_iss_validation",
                                                                    True)),
                            "disable_local_ca_jwt": bool(data.get("disable_local_ca_jwt"))}
            return NO_CONTENT
        if rest in ("role", "role/"):
            return self.roles_list(req, be["roles"])
        m = re.match(r"^role/([^/]+)$", rest)
        if not m:
            raise VaultError(404, multierr("unsupported path"))
        rname = m.group(1).lower()
        role = be["roles"].get(rname)
        if req.op == "read":
            if role is None:
                raise missing()
            view = token_params_view(role["token"])
            view.update({"audience": role["audience"],
                         "bound_service_account_names": role["names"],
                         "bound_service_account_namespaces": role["namespaces"],
                         "alias_name_source": "serviceaccount_uid"})
            return ok(envelope(view))
        if req.op == "delete":
            be["roles"].pop(rname, None)
            return NO_CONTENT
        if req.op != "update":
            raise VaultError(405, multierr("unsupported operation"))
        role = dict(role or {"names": [], "namespaces": [], "audience": "", "token": None})
        try:
            if "bound_service_account_names" in data:
                role["names"] = str_list(data["bound_service_account_names"])
            if "bound_service_account_namespaces" in data:
                role["namespaces"] = str_list(data["bound_service_account_namespaces"])
        except ValueError:
            raise VaultError(400, "invalid request")
        if "audience" in data:
            role["audience"] = str(data["audience"] or "")
        if not role["names"]:
            raise VaultError(400, '"bound_service_account_names" can not be empty')
        if not role["namespaces"]:
            raise VaultError(400, '"bound_service_account_namespaces" can not be empty')
        role["token"] = token_params(dict(data), role["token"])
        be["roles"][rname] = role
        return NO_CONTENT

    def kubernetes_login(self, req, mount, data):
        if req.op != "update":
            raise VaultError(405, multierr("unsupported operation"))
        be = mount.backend
        rname = str(data.get("role") or "").lower()
        if not rname:
            raise VaultError(400, "missing role")
        jwt = data.get("jwt") or ""
        if not jwt:
            raise VaultError(400, "missing jwt")
        role = be["roles"].get(rname)
        if role is None:
            raise VaultError(400, 'invalid role name "%s"' % rname)
        cfg = be["config"]
        if cfg is None:
            raise VaultError(500, "could not load backend configuration")
        denied = VaultError(403, "permission denied")
        try:
            claims = jwt_verify(jwt, cfg["keys"])
            # go-jose's jwt.Expected with its default one-minute leeway.
            jwt_time_claims(claims, leeway=60)
        except JWTError:
            raise denied
        if not cfg["disable_iss_validation"]:
            if claims.get("iss") != (cfg["issuer"] or "kubernetes/serviceaccount"):
                raise denied
        # Legacy secret-based tokens carry flat claims; projected
        # (bound) tokens a "kubernetes.io" object.
        k8s = claims.get("kubernetes.io")
        if isinstance(k8s, dict):
            sa = k8s.get("serviceaccount") or {}
            ns, sa_name = k8s.get("namespace"), sa.get("name")
            uid, secret_name = sa.get("uid", ""), ""
        else:
            pre = "kubernetes.io/serviceaccount/"
            ns = claims.get(pre + "namespace")
            sa_name = claims.get(pre + "service-account.name")
            uid = claims.get(pre + "service-account.uid", "")
            secret_name = claims.get(pre + "secret.name", "")
        if not isinstance(ns, str) or not isinstance(sa_name, str) or not ns or not sa_name:
            raise denied
        if role["names"] != ["*"] and sa_name not in role["names"]:
            raise VaultError(403, "service account name not authorized")
        if role["namespaces"] != ["*"] and ns not in role["namespaces"]:
            raise VaultError(403, "namespace not authorized")
        # The TokenReview that real Vault sends answers with the user
        # "system:serviceaccount:NS:NAME"; it must match the claims.
        if claims.get("sub") != "system:serviceaccount:%s:%s" % (ns, sa_name):
            raise denied
        if role["audience"]:
            aud = claims.get("aud")
            auds = aud if isinstance(aud, list) else [aud]
            if role["audience"] not in auds:
                raise denied
        meta = {"role": rname, "service_account_name": sa_name,
                "service_account_namespace": ns,
                "service_account_secret_name": secret_name,
                "service_account_uid": uid}
        return self.issue_token(req, mount, role["token"], meta,
                                "kubernetes-%s-%s" % (ns, sa_name), uid or sa_name)
