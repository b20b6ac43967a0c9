"""Dynamic secrets: the database engine and sys/leases."""

import re
import time

from .auth_params import field_error, str_list
from .gojson import envelope
from .state import Lease
from .util import (NO_CONTENT, SYSTEM_MAX_TTL, VaultError, capped_ttl, missing, multierr, ok,
                   parse_duration, rand62, rfc3339nano)


class Database:
    """A database-style dynamic secrets engine (builtin/logical/database as
    far as the API shows it): no real database behind it; creds/ROLE mints
    a username and password under a renewable lease."""

    def database(self, req, name, mount, rest):
        be = mount.backend
        data = req.data if isinstance(req.data, dict) else {}
        if rest in ("config", "config/"):
            return self.roles_list(req, be["connections"])
        if rest in ("roles", "roles/"):
            return self.roles_list(req, be["roles"])
        m = re.match(r"^config/([^/]+)$", rest)
        if m:
            cname = m.group(1)
            if req.op == "update":
                if not data.get("plugin_name") and cname not in be["connections"]:
                    raise VaultError(400, "plugin_name must be set")
                conn = dict(be["connections"].get(cname) or {})
                conn.update({k: v for k, v in data.items() if k != "password"})
                be["connections"][cname] = conn
                # Vault 1.8 answers the write with an empty 200 envelope.
                return ok(envelope())
            if req.op == "read":
                conn = be["connections"].get(cname)
                if conn is None:
                    raise missing()
                allowed = conn.get("allowed_roles") or []
                return ok(envelope({
                    "allowed_roles": str_list(allowed),
                    "connection_details": {k: conn[k] for k in ("connection_url", "username")
                                           if k in conn},
                    "password_policy": "", "plugin_name": conn.get("plugin_name", ""),
                    "root_credentials_rotate_statements": []}))
            if req.op == "delete":
                be["connections"].pop(cname, None)
                return NO_CONTENT
            raise VaultError(405, multierr("unsupported operation"))
        m = re.match(r"^roles/([^/]+)$", rest)
        if m:
            rname = m.group(1)
            if req.op == "update":
                role = dict(be["roles"].get(rname) or {"db_name": "", "default_ttl": 0,
                                                       "max_ttl": 0, "creation_statements": []})
                if "db_name" in data:
                    role["db_name"] = str(data["db_name"])
                if not role["db_name"]:
                    raise VaultError(400, "empty database name attribute")
                for k in ("default_ttl", "max_ttl"):
                    if k in data:
                        try:
                            role[k] = parse_duration(data[k])
                        except ValueError:
                            raise field_error(k)
                if "creation_statements" in data:
                    role["creation_statements"] = str_list(data["creation_statements"]) \
                        if isinstance(data["creation_statements"], list) \
                        else [str(data["creation_statements"])]
                if role["max_ttl"] and role["default_ttl"] > role["max_ttl"]:
                    raise VaultError(400, "ttl cannot be greater than max_ttl")
                be["roles"][rname] = role
                return NO_CONTENT
            if req.op == "read":
                role = be["roles"].get(rname)
                if role is None:
                    raise missing()
                return ok(envelope({
                    "creation_statements": role["creation_statements"],
                    "credential_type": "password", "db_name": role["db_name"],
                    "default_ttl": role["default_ttl"], "max_ttl": role["max_ttl"],
                    "renew_statements": [], "revocation_statements": [],
                    "rollback_statements": []}))
            if req.op == "delete":
                be["roles"].pop(rname, None)
                return NO_CONTENT
            raise VaultError(405, multierr("unsupported operation"))
        m = re.match(r"^creds/([^/]+)$", rest)
        if m:
            if req.op != "read":
                raise VaultError(405, multierr("unsupported operation"))
            rname = m.group(1)
            role = be["roles"].get(rname)
            if role is None:
                raise VaultError(400, "unknown role: %s" % rname)
            tok = req.token
            ttl = role["default_ttl"] or SYSTEM_MAX_TTL
            max_ttl = role["max_ttl"] or SYSTEM_MAX_TTL
            ttl = min(ttl, max_ttl)
            lid = "%screds/%s/%s" % (name, rname, rand62(24))
            lease = Lease(lid, ttl, max_ttl, tok.id if tok is not None else "")
            lease.default_ttl = ttl
            self.st.leases[lid] = lease
            username = "v-%s-%s-%s-%d" % (tok.display_name[:8] if tok else "token",
                                          rname[:8], rand62(20), int(time.time()))
            password = rand62(8) + "-" + rand62(11)
            return ok(envelope({"password": password, "username": username},
                               lease_id=lid, renewable=True, lease_duration=ttl))
        raise VaultError(404, multierr("unsupported path"))

    # -- sys/leases (vault/logical_system.go) --------------------------------
    def sys_lease(self, req, action, suffix):
        st = self.st
        if req.op != "update":
            raise VaultError(405, multierr("unsupported operation"))
        st.expire_leases()
        data = req.data if isinstance(req.data, dict) else {}
        lid = (suffix or "").strip() or str(data.get("lease_id") or "").strip()
        if action == "revoke":
            if not lid:
                raise VaultError(400, "lease_id must be specified")
            st.leases.pop(lid, None)   # revoking an unknown lease succeeds
            return NO_CONTENT
        if action == "lookup":
            if not lid:
                raise VaultError(400, "lease_id must be specified")
            lease = st.leases.get(lid)
            if lease is None:
                raise VaultError(400, "invalid lease")
            return ok(envelope({
                "expire_time": rfc3339nano(int(lease.expire_at * 1e9)),
                "id": lease.id, "issue_time": rfc3339nano(lease.issue_ns),
                "last_renewal": (rfc3339nano(lease.last_renewal_ns)
                                 if lease.last_renewal_ns else None),
                "renewable": lease.renewable,
                "ttl": max(0, int(lease.expire_at - time.time()))}))
        # renew
        if not lid:
            raise VaultError(400, "lease_id must be specified")
        lease = st.leases.get(lid)
        if lease is None:
            raise VaultError(400, "lease not found")
        if not lease.renewable:
            raise VaultError(400, "lease is not renewable")
        try:
            inc = parse_duration(data.get("increment"))
        except ValueError:
            raise field_error("increment")
        ttl, warnings = capped_ttl(inc or getattr(lease, "default_ttl", lease.ttl),
                                   lease.issue_ns / 1e9, (lease.max_ttl,))
        lease.ttl = ttl
        lease.expire_at = time.time() + ttl
        lease.last_renewal_ns = time.time_ns()
        return ok(envelope(None, warnings=warnings, lease_id=lid, renewable=True,
                           lease_duration=ttl))
