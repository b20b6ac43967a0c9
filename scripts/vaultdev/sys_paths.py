"""The sys/ logical paths: mounts, auth, namespaces, policies, capabilities."""

import base64
import binascii
import json
import re

from .gojson import envelope
from .policy import DEFAULT_POLICY, parse_policy
from .state import Mount
from .util import NO_CONTENT, VaultError, missing, multierr, ok, rand62


class SysPaths:
    """sys/ logical paths (a mixin of Vault)."""

    # -- sys/ logical paths ------------------------------------------------
    def sys(self, req, sub):
        m = re.match(r"^internal/ui/mounts(?:/(.*))?$", sub)
        if m:
            if req.op != "read":
                raise VaultError(405, multierr("unsupported operation"))
            return self.ui_mounts(req, m.group(1))
        if sub in ("mounts", "mounts/"):
            if req.op != "read":
                raise VaultError(405, multierr("unsupported operation"))
            return ok(envelope({p: m.info() for p, m in
                                self.st.ns_mounts(self.st.mounts, req.ns).items()}),
                      injected=True)
        m = re.match(r"^namespaces(?:/(.*))?$", sub)
        if m and self.st.namespaces is not None:
            return self.sys_namespace(req, m.group(1) or "")
        if sub in ("auth", "auth/"):
            if req.op != "read":
                raise VaultError(405, multierr("unsupported operation"))
            return ok(envelope({p: m.info() for p, m in
                                self.st.ns_mounts(self.st.auth_mounts, req.ns).items()}),
                      injected=True)
        m = re.match(r"^auth/(.+)$", sub)
        if m:
            return self.sys_auth(req, m.group(1))
        m = re.match(r"^(?:leases/(renew|lookup|revoke)|(renew|revoke))(?:/(.*))?$", sub)
        if m:
            return self.sys_lease(req, m.group(1) or m.group(2), m.group(3))
        m = re.match(r"^mounts/(.+)$", sub)
        if m:
            return self.sys_mount(req, m.group(1))
        m = re.match(r"^(policy|policies/acl)(?:/(.*))?$", sub)
        if m:
            return self.sys_policy(req, m.group(1) == "policy", m.group(2) or "")
        if sub == "capabilities-self":
            return self.capabilities_self(req)
        raise VaultError(404, multierr("unsupported path"))

    def ui_mounts(self, req, path):
        st = self.st
        if path is None or path == "":
            tok = st.tokens.get(req.token_id) if req.token_id else None
            if req.token_id and (tok is None or tok.expired()):
                raise VaultError(403, "permission denied")
            acl = st.acl_for(tok) if tok else None

            def view(mount, full):
                if acl is None:
                    return None
                where = st.acl_path(tok, full)
                if where is None or not acl.has_mount_access(where):
                    return None
                return mount.info()
            secret = {p: view(m, req.ns + p)
                      for p, m in st.ns_mounts(st.mounts, req.ns).items()}
            auth = {p: view(m, req.ns + "auth/" + p)
                    for p, m in st.ns_mounts(st.auth_mounts, req.ns).items()}
            if acl is None:
                # Unauthenticated callers see only listing_visibility=unauth
                # mounts: none in a dev server.
                secret, auth = {}, {}
            return ok(envelope({
                "auth": {k: v for k, v in auth.items() if v is not None},
                "secret": {k: v for k, v in secret.items() if v is not None}}))
        path = path.lstrip("/")
        if not path.endswith("/"):
            path += "/"
        preflight = VaultError(403, "preflight capability check returned 403, please "
                               "ensure client's policies grant access to path %s"
                               % json.dumps(path))
        name, mount = st.match_mount(req.ns + path)
        if mount is None:
            raise preflight
        tok = st.tokens.get(req.token_id) if req.token_id else None
        if tok is None or tok.expired():
            raise VaultError(403, "permission denied")
        where = st.acl_path(tok, name)
        if where is None or not st.acl_for(tok).has_mount_access(where):
            raise preflight
        info = mount.info()
        info["path"] = mount.path
        return ok(envelope(info))

    def sys_namespace(self, req, name):
        """sys/namespaces/NAME of Vault Enterprise (--namespaces): a child
        of the request's namespace, with its own mount tables."""
        st = self.st
        name = name.strip("/")
        if name == "":
            if req.op != "list":
                raise VaultError(405, multierr("unsupported operation"))
            kids = {}
            for ns, nid in st.namespaces.items():
                if ns.startswith(req.ns) and ns != req.ns and "/" not in ns[len(req.ns):-1]:
                    kids[ns[len(req.ns):]] = {"id": nid, "path": ns}
            if not kids:
                raise missing()
            return ok(envelope({"key_info": kids, "keys": sorted(kids)}))
        if "/" in name or not re.fullmatch(r"[A-Za-z0-9_.-]+", name) or name in (
                "root", "sys", "audit", "auth", "cubbyhole", "identity"):
            raise VaultError(400, 'invalid namespace name "%s"' % name)
        full = req.ns + name + "/"
        if req.op == "read":
            if full not in st.namespaces:
                raise missing()
            return ok(envelope({"id": st.namespaces[full], "path": full}))
        if req.op == "update":
            if full not in st.namespaces:
                st.namespaces[full] = rand62(5)
                # A new namespace has its own cubbyhole, identity, sys and
                # token auth mounts, no kv.
                for m in (Mount("cubbyhole/", "cubbyhole", "per-token private secret storage",
                                local=True),
                          Mount("identity/", "identity", "identity store"),
                          Mount("sys/", "system", "system endpoints used for control, "
                                "policy and debugging", accessor_prefix="system")):
                    st.mounts[full + m.path] = m
                st.policies[full + "default"] = DEFAULT_POLICY
                st.parsed[full + "default"] = st.parsed["default"]
                st.auth_mounts[full + "token/"] = Mount(
                    "token/", "token", "token based credentials", accessor_prefix="auth_token",
                    config_extra={"token_type": "default-service"}, table="auth")
            return ok(envelope({"id": st.namespaces[full], "path": full}))
        if req.op == "delete":
            if full in st.namespaces:
                for table in (st.mounts, st.auth_mounts):
                    for mp in [mp for mp in table if mp.startswith(full)]:
                        del table[mp]
                for table in (st.policies, st.parsed):
                    for key in [k for k in table if k.startswith(full)]:
                        del table[key]
                for ns in [ns for ns in st.namespaces if ns.startswith(full)]:
                    del st.namespaces[ns]
            return NO_CONTENT
        raise VaultError(405, multierr("unsupported operation"))

    def sys_mount(self, req, name):
        st = self.st
        if name.endswith("/tune"):
            raise VaultError(405, multierr("unsupported operation"))
        path = name.strip("/") + "/"
        if req.op == "delete":
            for p in ("audit/", "auth/", "sys/", "cubbyhole/", "identity/"):
                if path.startswith(p):
                    raise VaultError(400, "cannot unmount %s" % json.dumps(path))
            st.mounts.pop(req.ns + path, None)
            return NO_CONTENT
        if req.op != "update":
            raise VaultError(405, multierr("unsupported operation"))
        data = req.data or {}
        mtype = data.get("type") or ""
        options = data.get("options") or {}
        if not isinstance(options, dict):
            raise VaultError(400, "error parsing JSON")
        options = {str(k): str(v) for k, v in options.items()}
        if mtype == "":
            raise VaultError(400, "backend type must be specified as a string")
        if mtype == "kv-v1":
            mtype, options["version"] = "kv", "1"
        elif mtype == "kv-v2":
            mtype, options["version"] = "kv", "2"
        elif mtype != "kv" and options.get("version"):
            raise VaultError(400, 'secrets engine "%s" does not allow setting a version' % mtype)
        for p in ("audit/", "auth/", "sys/", "cubbyhole/", "identity/"):
            if path.startswith(p):
                raise VaultError(403, "cannot mount %s" % json.dumps(path))
        for existing in st.ns_mounts(st.mounts, req.ns):
            if existing.startswith(path) or path.startswith(existing):
                raise VaultError(400, "path is already in use at %s" % existing)
        if mtype not in ("kv", "database"):
            # Only the kv and database engines live in this dev server.
            raise VaultError(400, "plugin not found in the catalog: %s" % mtype)
        if mtype == "kv" and options.get("version", "1") not in ("1", "2"):
            raise VaultError(400, "invalid kv version: %s" % options["version"])
        st.mounts[req.ns + path] = Mount(path, mtype, data.get("description") or "", options,
                                local=bool(data.get("local")),
                                seal_wrap=bool(data.get("seal_wrap")))
        return NO_CONTENT

    def sys_policy(self, req, legacy, name):
        st = self.st
        name = name.strip().lower()
        field = "rules" if legacy else "policy"
        if name == "":
            if req.op not in ("list", "read") or (req.op == "read" and not legacy):
                raise VaultError(405, multierr("unsupported operation"))
            names = sorted([n[len(req.ns):] for n in st.policies
                            if st.split_ns(n)[0] == req.ns] + ["root"])
            data = {"keys": names}
            if legacy:
                data["policies"] = names
                return ok(envelope(data), injected=True)
            return ok(envelope(data))
        if req.op == "read":
            if name == "root":
                raw = ""
            elif req.ns + name in st.policies:
                raw = st.policies[req.ns + name]
            else:
                raise missing()
            data = {"name": name, field: raw}
            if legacy:
                return ok(envelope(data), injected=True)
            return ok(envelope(data))
        if req.op == "update":
            data = req.data or {}
            text = data.get("policy") or (data.get("rules") if legacy else None) or ""
            if not isinstance(text, str) or not text.strip():
                raise VaultError(400, "'policy' parameter not supplied or empty")
            if name == "root":
                raise VaultError(400, 'cannot update "root" policy')
            try:
                rules = parse_policy(text)
            except ValueError as e:
                # The policy may also arrive base64-encoded.
                try:
                    text = base64.b64decode(text, validate=True).decode()
                    rules = parse_policy(text)
                except (ValueError, UnicodeDecodeError, binascii.Error):
                    raise VaultError(400, "failed to parse policy: %s" % e)
            st.policies[req.ns + name] = text
            st.parsed[req.ns + name] = rules
            return NO_CONTENT
        if req.op == "delete":
            if name == "root":
                raise VaultError(400, 'cannot delete "root" policy')
            if name == "default":
                raise VaultError(400, "cannot delete default policy")
            st.policies.pop(req.ns + name, None)
            st.parsed.pop(req.ns + name, None)
            return NO_CONTENT
        raise VaultError(405, multierr("unsupported operation"))

    def capabilities_self(self, req):
        if req.op != "update":
            raise VaultError(405, multierr("unsupported operation"))
        data = req.data or {}
        paths = data.get("paths") or data.get("path") or []
        if isinstance(paths, str):
            paths = [p for p in paths.split(",") if p]
        if not paths:
            raise VaultError(400, "paths must be supplied")
        acl = self.st.acl_for(req.token)
        out = {}
        for p in paths:
            out[p] = acl.capabilities(p.lstrip("/"))
        if len(paths) == 1:
            out["capabilities"] = out[paths[0]]
        return ok(envelope(out), injected=True)
