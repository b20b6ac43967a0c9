"""Auth methods: approle, kubernetes, jwt, cert (mounted with sys/auth/NAME)."""

import re
import uuid

from .auth_approle import ApproleAuth
from .auth_cert import CertAuth
from .auth_jwt import JWTAuth
from .auth_kubernetes import KubernetesAuth
from .auth_params import AUTH_TYPES
from .gojson import envelope
from .state import Mount, Token
from .util import NO_CONTENT, SYSTEM_MAX_TTL, VaultError, missing, multierr, ok, rand62


class AuthMethods(ApproleAuth, KubernetesAuth, JWTAuth, CertAuth):
    """approle, kubernetes, jwt and cert, each as its plugin in Vault 1.8."""

    LOGIN = re.compile(r"^auth/(.+)/login(?:/[^/]*)?$")

    def is_login(self, path):
        ns, rel = self.st.split_ns(path)
        m = self.LOGIN.match(rel)
        if not m:
            return False
        mount = self.st.auth_mounts.get(ns + m.group(1) + "/")
        return mount is not None and mount.type in AUTH_TYPES

    def sys_auth(self, req, name):
        st = self.st
        if name.endswith("/tune"):
            raise VaultError(405, multierr("unsupported operation"))
        path = name.strip("/") + "/"
        if req.op == "delete":
            if path == "token/":
                raise VaultError(400, "token credential backend cannot be disabled")
            mount = st.auth_mounts.pop(req.ns + path, None)
            if mount is not None:
                for t in [t.id for t in st.tokens.values()
                          if t.path.startswith(req.ns + "auth/" + path)]:
                    st.revoke_tree(t)
            return NO_CONTENT
        if req.op != "update":
            raise VaultError(405, multierr("unsupported operation"))
        data = req.data or {}
        mtype = data.get("type") or ""
        if not mtype:
            raise VaultError(400, "backend type must be specified as a string")
        siblings = st.ns_mounts(st.auth_mounts, req.ns)
        if any(p.startswith(path) or path.startswith(p) for p in siblings):
            raise VaultError(400, "path is already in use at auth/%s" % path)
        if mtype not in AUTH_TYPES:
            raise VaultError(400, "plugin not found in the catalog: %s" % mtype)
        st.auth_mounts[req.ns + path] = Mount(path, mtype, data.get("description") or "",
                                     accessor_prefix="auth_" + mtype, table="auth",
                                     config_extra={"token_type": "default-service"})
        return NO_CONTENT

    # -- tokens issued by auth methods ---------------------------------------
    def entity_for(self, mount, alias):
        key = (mount.accessor, alias)
        if key not in self.st.entities:
            self.st.entities[key] = str(uuid.uuid4())
        return self.st.entities[key]

    def issue_token(self, req, mount, params, meta, display, alias):
        """A service token for a successful login (the auth envelope)."""
        pols = set(params["token_policies"])
        if not params["token_no_default_policy"]:
            pols.add("default")
        ttl = params["token_period"] or params["token_ttl"] or SYSTEM_MAX_TTL
        limits = [m for m in (params["token_max_ttl"], params["token_explicit_max_ttl"],
                              SYSTEM_MAX_TTL) if m]
        ttl = min([ttl] + limits)
        tok = Token("s." + rand62(24), sorted(pols), display_name=display, ttl=ttl,
                    explicit_max_ttl=params["token_explicit_max_ttl"],
                    num_uses=params["token_num_uses"], meta=meta, path=req.path,
                    orphan=True, period=params["token_period"])
        tok.max_ttl = params["token_max_ttl"]
        tok.ns = req.ns
        tok.entity_id = self.entity_for(mount, alias)
        self.st.tokens[tok.id] = tok
        return ok(envelope(auth=tok.auth_block()))

    def need_auth_token(self, req):
        """Non-login paths of auth methods were checked by logical()."""
        if req.token is None:
            raise VaultError(400, "missing client token")

    def roles_list(self, req, roles):
        if req.op != "list":
            raise VaultError(405, multierr("unsupported operation"))
        if not roles:
            raise missing()
        return ok(envelope({"keys": sorted(roles)}))
