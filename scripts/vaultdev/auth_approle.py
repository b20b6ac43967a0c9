"""Auth method approle (builtin/credential/approle)."""

import json
import re
import time
import uuid

from .auth_params import str_list, token_params, token_params_view
from .gojson import envelope
from .util import NO_CONTENT, VaultError, missing, multierr, ok, parse_duration, rfc3339nano


class ApproleAuth:
    """approle, as its plugin in Vault 1.8 (a mixin of AuthMethods)."""

    # -- approle (builtin/credential/approle) --------------------------------
    def auth_approle(self, req, name, mount, rest):
        be = mount.backend
        if rest == "login":
            return self.approle_login(req, mount)
        self.need_auth_token(req)
        if rest in ("role", "role/"):
            return self.roles_list(req, be["roles"])
        m = re.match(r"^role/([^/]+)(?:/(.+))?$", rest)
        if not m:
            raise VaultError(404, multierr("unsupported path"))
        rname, sub = m.group(1).lower(), m.group(2)
        role = be["roles"].get(rname)
        data = req.data if isinstance(req.data, dict) else {}
        if sub is None:
            if req.op == "read":
                if role is None:
                    raise missing()
                view = token_params_view(role["token"])
                view.update({"bind_secret_id": role["bind_secret_id"],
                             "local_secret_ids": False,
                             "secret_id_bound_cidrs": role["secret_id_bound_cidrs"],
                             "secret_id_num_uses": role["secret_id_num_uses"],
                             "secret_id_ttl": role["secret_id_ttl"],
                             "policies": role["token"]["token_policies"],
                             "period": role["token"]["token_period"]})
                return ok(envelope(view))
            if req.op == "update":
                role = dict(role) if role else {
                    "role_id": str(uuid.uuid4()), "bind_secret_id": True,
                    "secret_id_num_uses": 0, "secret_id_ttl": 0,
                    "secret_id_bound_cidrs": [], "token": None}
                try:
                    if "bind_secret_id" in data:
                        role["bind_secret_id"] = bool(data["bind_secret_id"])
                    if "secret_id_num_uses" in data:
                        role["secret_id_num_uses"] = int(data["secret_id_num_uses"])
                    if "secret_id_ttl" in data:
                        role["secret_id_ttl"] = parse_duration(data["secret_id_ttl"])
                    if "secret_id_bound_cidrs" in data:
                        role["secret_id_bound_cidrs"] = str_list(data["secret_id_bound_cidrs"])
                except (TypeError, ValueError):
                    raise VaultError(400, "invalid request")
                if role["secret_id_num_uses"] < 0:
                    raise VaultError(400, "secret_id_num_uses cannot be negative")
                if data.get("role_id"):
                    role["role_id"] = str(data["role_id"])
                role["token"] = token_params(dict(data), role["token"])
                be["roles"][rname] = role
                return NO_CONTENT
            if req.op == "delete":
                if role is not None:
                    del be["roles"][rname]
                    for sid in [k for k, v in be["secret_ids"].items() if v["role"] == rname]:
                        del be["secret_ids"][sid]
                return NO_CONTENT
            raise VaultError(405, multierr("unsupported operation"))
        if role is None:
            raise VaultError(400, 'role "%s" does not exist' % rname)
        if sub == "role-id":
            if req.op == "read":
                return ok(envelope({"role_id": role["role_id"]}))
            if req.op == "update":
                if not data.get("role_id"):
                    raise VaultError(400, "missing role_id")
                role["role_id"] = str(data["role_id"])
                return NO_CONTENT
            raise VaultError(405, multierr("unsupported operation"))
        if sub in ("secret-id", "custom-secret-id"):
            if req.op == "list" and sub == "secret-id":
                keys = [v["accessor"] for v in be["secret_ids"].values()
                        if v["role"] == rname and not self.secret_id_expired(v)]
                if not keys:
                    raise missing()
                return ok(envelope({"keys": sorted(keys)}))
            if req.op != "update":
                raise VaultError(405, multierr("unsupported operation"))
            sid = str(uuid.uuid4())
            if sub == "custom-secret-id":
                sid = data.get("secret_id") or ""
                if not sid:
                    raise VaultError(400, "missing secret_id")
                if sid in be["secret_ids"]:
                    raise VaultError(400, "SecretID is already registered")
            meta = data.get("metadata") or None
            if isinstance(meta, str):
                try:
                    meta = json.loads(meta) if meta else None
                except ValueError:
                    raise VaultError(400, "failed to parse metadata")
            entry = {"role": rname, "accessor": str(uuid.uuid4()),
                     "num_uses": role["secret_id_num_uses"], "ttl": role["secret_id_ttl"],
                     "created": time.time(), "metadata": meta}
            be["secret_ids"][sid] = entry
            return ok(envelope({"secret_id": sid, "secret_id_accessor": entry["accessor"],
                                "secret_id_ttl": entry["ttl"]}))
        if sub in ("secret-id/lookup", "secret-id/destroy"):
            if req.op not in ("update", "delete"):
                raise VaultError(405, multierr("unsupported operation"))
            sid = data.get("secret_id") or ""
            if not sid:
                raise VaultError(400, "missing secret_id")
            entry = be["secret_ids"].get(sid)
            if entry is not None and (entry["role"] != rname or self.secret_id_expired(entry)):
                entry = None
            if sub.endswith("destroy"):
                be["secret_ids"].pop(sid, None) if entry else None
                return NO_CONTENT
            if entry is None:
                return NO_CONTENT   # Vault answers an unknown secret_id with no data
            created = rfc3339nano(int(entry["created"] * 1e9))
            return ok(envelope({
                "cidr_list": [], "creation_time": created,
                "expiration_time": (rfc3339nano(int((entry["created"] + entry["ttl"]) * 1e9))
                                    if entry["ttl"] else "0001-01-01T00:00:00Z"),
                "last_updated_time": created, "metadata": entry["metadata"] or {},
                "secret_id_accessor": entry["accessor"],
                "secret_id_num_uses": entry["num_uses"], "secret_id_ttl": entry["ttl"],
                "token_bound_cidrs": []}))
        raise VaultError(404, multierr("unsupported path"))

    @staticmethod
    def secret_id_expired(entry):
        return bool(entry["ttl"]) and time.time() >= entry["created"] + entry["ttl"]

    def approle_login(self, req, mount):
        if req.op != "update":
            raise VaultError(405, multierr("unsupported operation"))
        be = mount.backend
        data = req.data if isinstance(req.data, dict) else {}
        role_id = str(data.get("role_id") or "").strip()
        if not role_id:
            raise VaultError(400, "missing role_id")
        found = [(n, r) for n, r in be["roles"].items() if r["role_id"] == role_id]
        if not found:
            raise VaultError(400, "invalid role ID")
        rname, role = found[0]
        meta = {"role_name": rname}
        if role["bind_secret_id"]:
            sid = str(data.get("secret_id") or "").strip()
            if not sid:
                raise VaultError(400, "missing secret_id")
            entry = be["secret_ids"].get(sid)
            if entry is None or entry["role"] != rname or self.secret_id_expired(entry):
                if entry is not None and self.secret_id_expired(entry):
                    del be["secret_ids"][sid]
                raise VaultError(400, "invalid secret id")
            if entry["num_uses"] > 0:
                # The last use still logs in, then the secret_id is gone.
                entry["num_uses"] -= 1
                if entry["num_uses"] == 0:
                    del be["secret_ids"][sid]
            if entry.get("metadata"):
                meta.update({str(k): str(v) for k, v in entry["metadata"].items()})
        return self.issue_token(req, mount, role["token"], meta, "approle", role_id)
