"""Auth method jwt / oidc (vault-plugin-auth-jwt)."""

import binascii
import json
import re

from .auth_params import str_list, token_params, token_params_view
from .crypto import JWTError, jwt_time_claims, jwt_verify, parse_public_keys
from .gojson import envelope
from .util import NO_CONTENT, VaultError, missing, multierr, ok


class JWTAuth:
    """jwt and oidc, as the plugin in Vault 1.8 (a mixin of AuthMethods)."""

    # -- jwt / oidc (vault-plugin-auth-jwt) ------------------------------------
    def auth_jwt(self, req, name, mount, rest):
        be = mount.backend
        data = req.data if isinstance(req.data, dict) else {}
        if rest == "login":
            return self.jwt_login(req, mount, data)
        self.need_auth_token(req)
        if rest == "config":
            if req.op == "read":
                cfg = be["config"]
                if cfg is None:
                    return NO_CONTENT
                return ok(envelope({
                    "bound_issuer": cfg["bound_issuer"], "default_role": cfg["default_role"],
                    "jwks_ca_pem": "", "jwks_url": "", "jwt_supported_algs": [],
                    "jwt_validation_pubkeys": cfg["pubkeys"], "namespace_in_state": True,
                    "oidc_client_id": "", "oidc_discovery_ca_pem": "",
                    "oidc_discovery_url": "", "oidc_response_mode": "",
                    "oidc_response_types": [], "provider_config": {}}))
            if req.op != "update":
                raise VaultError(405, multierr("unsupported operation"))
            pubkeys = data.get("jwt_validation_pubkeys") or []
            if isinstance(pubkeys, str):
                pubkeys = [pubkeys]
            if not pubkeys or data.get("jwks_url") or data.get("oidc_discovery_url"):
                raise VaultError(400, "exactly one of 'jwt_validation_pubkeys', 'jwks_url' "
                                      "or 'oidc_discovery_url' must be set")
            try:
                keys = parse_public_keys(pubkeys)
            except (ValueError, IndexError, binascii.Error):
                raise VaultError(400, "error parsing public key: data does not contain any "
                                      "valid RSA or ECDSA public keys")
            be["config"] = {"pubkeys": pubkeys, "keys": keys,
                            "bound_issuer": str(data.get("bound_issuer") or ""),
                            "default_role": str(data.get("default_role") or "")}
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
            view.update({"role_type": role["role_type"], "user_claim": role["user_claim"],
                         "bound_audiences": role["bound_audiences"],
                         "bound_subject": role["bound_subject"],
                         "bound_claims": role["bound_claims"] or None,
                         "claim_mappings": None, "groups_claim": "",
                         "clock_skew_leeway": 0, "expiration_leeway": 0,
                         "not_before_leeway": 0, "verbose_oidc_logging": False})
            return ok(envelope(view))
        if req.op == "delete":
            be["roles"].pop(rname, None)
            return NO_CONTENT
        if req.op != "update":
            raise VaultError(405, multierr("unsupported operation"))
        role = dict(role or {"role_type": "oidc", "user_claim": "", "bound_audiences": [],
                             "bound_subject": "", "bound_claims": {}, "token": None})
        try:
            if "role_type" in data:
                role["role_type"] = str(data["role_type"])
            if "user_claim" in data:
                role["user_claim"] = str(data["user_claim"] or "")
            if "bound_audiences" in data:
                role["bound_audiences"] = str_list(data["bound_audiences"])
            if "bound_subject" in data:
                role["bound_subject"] = str(data["bound_subject"] or "")
            if "bound_claims" in data:
                role["bound_claims"] = dict(data["bound_claims"] or {})
        except (ValueError, TypeError):
            raise VaultError(400, "invalid request")
        if role["role_type"] not in ("jwt", "oidc"):
            raise VaultError(400, "invalid 'role_type': %s" % role["role_type"])
        if not role["user_claim"]:
            raise VaultError(400, "a user claim must be defined on the role")
        if role["role_type"] == "jwt" and not (role["bound_audiences"] or role["bound_subject"]
                                               or role["bound_claims"]):
            raise VaultError(400, "must have at least one bound constraint when "
                                  "creating/updating a role")
        role["token"] = token_params(dict(data), role["token"])
        be["roles"][rname] = role
        # The plugin answers the write with an empty 200 envelope.
        return ok(envelope())

    def jwt_login(self, req, mount, data):
        if req.op != "update":
            raise VaultError(405, multierr("unsupported operation"))
        be = mount.backend
        cfg = be["config"]
        if cfg is None:
            raise VaultError(400, "could not load configuration")
        rname = str(data.get("role") or cfg["default_role"]).lower()
        if not rname:
            raise VaultError(400, "missing role")
        role = be["roles"].get(rname)
        if role is None:
            raise VaultError(400, 'role "%s" could not be found' % rname)
        if role["role_type"] == "oidc":
            raise VaultError(400, "role with oidc role_type is not allowed")
        token = data.get("jwt") or ""
        if not token:
            raise VaultError(400, "missing token")
        try:
            claims = jwt_verify(token, cfg["keys"])
            if cfg["bound_issuer"] and claims.get("iss") != cfg["bound_issuer"]:
                raise JWTError("invalid issuer (iss) claim")
            if role["bound_subject"] and claims.get("sub") != role["bound_subject"]:
                raise JWTError("invalid subject (sub) claim")
            aud = claims.get("aud")
            auds = [] if aud is None else (aud if isinstance(aud, list) else [aud])
            if role["bound_audiences"]:
                if not set(auds) & set(role["bound_audiences"]):
                    raise JWTError("invalid audience (aud) claim: audience claim does not "
                                   "match any expected audience")
            jwt_time_claims(claims, leeway=150)
        except JWTError as e:
            raise VaultError(400, "error validating token: %s" % e)
        if auds and not role["bound_audiences"]:
            raise VaultError(400, "audience claim found in JWT but no audiences bound to "
                                  "the role")
        for k, want in role["bound_claims"].items():
            have = claims.get(k)
            wants = want if isinstance(want, list) else [want]
            if have not in wants:
                raise VaultError(400, "error validating claims: claim %s does not match any "
                                      "associated bound claim values" % json.dumps(k))
        user = claims.get(role["user_claim"])
        if user is None or isinstance(user, (dict, list)):
            raise VaultError(400, 'claim "%s" not found in token' % role["user_claim"])
        user = str(user)
        return self.issue_token(req, mount, role["token"], {"role": rname},
                                "jwt-" + user, user)
