"""The token auth backend: auth/token/."""

import re
import time

from .gojson import envelope
from .state import Token
from .util import (NO_CONTENT, SYSTEM_MAX_TTL, VaultError, capped_ttl, multierr, ok,
                   parse_duration, rand62, rfc3339nano)


class TokenBackend:
    """auth/token/ (a mixin of Vault)."""

    # -- auth/token/ ---------------------------------------------------------
    def token_lookup_data(self, tok):
        d = {
            "accessor": tok.accessor,
            "creation_time": tok.creation_ns // 1_000_000_000,
            "creation_ttl": tok.creation_ttl,
            "display_name": tok.display_name,
            "entity_id": tok.entity_id,
            "expire_time": (rfc3339nano(int(tok.expire_at * 1e9))
                            if tok.expire_at is not None else None),
            "explicit_max_ttl": tok.explicit_max_ttl,
            "id": tok.id,
            "issue_time": rfc3339nano(tok.creation_ns),
            "meta": tok.meta,
            "num_uses": tok.num_uses,
            "orphan": tok.orphan,
            "path": tok.path,
            "policies": tok.policies,
            "renewable": tok.renewable,
            "ttl": tok.remaining(),
            "type": "service",
        }
        if tok.last_renewal_ns is not None:
            d["last_renewal"] = rfc3339nano(tok.last_renewal_ns)
            d["last_renewal_time"] = tok.last_renewal_ns // 1_000_000_000
        if tok.period:
            d["period"] = tok.period
        return d

    def token_backend(self, req, rest):
        st = self.st
        tok = req.token
        if rest in ("create", "create-orphan"):
            if req.op != "update":
                raise VaultError(405, multierr("unsupported operation"))
            return self.token_create(req, orphan_path=(rest == "create-orphan"))
        if rest == "lookup-self":
            if req.op != "read":
                raise VaultError(405, multierr("unsupported operation"))
            return ok(envelope(self.token_lookup_data(tok)))
        if rest == "renew-self":
            if req.op != "update":
                raise VaultError(405, multierr("unsupported operation"))
            data = req.data or {}
            try:
                inc = parse_duration(data.get("increment"))
            except ValueError as e:
                raise VaultError(400, str(e))
            if tok.expire_at is None:
                raise VaultError(400, "lease not found")
            if not tok.renewable:
                raise VaultError(400, "lease is not renewable")
            ttl, warnings = capped_ttl(inc or tok.creation_ttl, tok.creation_ns / 1e9,
                                       (tok.explicit_max_ttl, tok.max_ttl))
            tok.ttl = ttl
            tok.expire_at = time.time() + ttl
            tok.last_renewal_ns = time.time_ns()
            return ok(envelope(auth=tok.auth_block(), warnings=warnings))
        if rest == "revoke-self":
            if req.op != "update":
                raise VaultError(405, multierr("unsupported operation"))
            st.revoke_tree(tok.id)
            return NO_CONTENT
        raise VaultError(404, multierr("unsupported path"))

    def token_create(self, req, orphan_path=False):
        st = self.st
        parent = req.token
        data = req.data or {}
        is_root = "root" in parent.policies
        tid = data.get("id") or ""
        if tid:
            if not is_root:
                raise VaultError(400, "root or sudo privileges required to specify token id")
            if "." in tid:
                raise VaultError(400, "token IDs can not contain periods")
            if tid in st.tokens:
                raise VaultError(400, "cannot create a token with a duplicate ID")
        else:
            tid = "s." + rand62(24)
        pols = data.get("policies")
        if pols is None:
            pols = [p for p in parent.policies]
        if isinstance(pols, str):
            pols = [p for p in pols.split(",")]
        pols = sorted({p.strip().lower() for p in pols if p and p.strip()})
        no_default = bool(data.get("no_default_policy"))
        if not is_root:
            parent_set = set(parent.policies)
            if not set(p for p in pols if p != "default") <= parent_set:
                raise VaultError(400, "child policies must be subset of parent")
        if "root" in pols:
            if not is_root:
                raise VaultError(400, "root tokens may not be created without parent "
                                      "token being root")
            pols = ["root"]
        elif not no_default and "default" not in pols:
            pols = sorted(pols + ["default"])
        elif no_default:
            pols = [p for p in pols if p != "default"]
        try:
            ttl = parse_duration(data.get("ttl"))
            explicit = parse_duration(data.get("explicit_max_ttl"))
            period = parse_duration(data.get("period"))
        except ValueError as e:
            raise VaultError(400, str(e))
        if period:
            ttl = period
        if not ttl and pols != ["root"]:
            ttl = SYSTEM_MAX_TTL
        if explicit and ttl > explicit:
            ttl = explicit
        try:
            num_uses = int(data.get("num_uses") or 0)
        except (TypeError, ValueError):
            raise VaultError(400, "error converting input for field \"num_uses\"")
        if num_uses < 0:
            raise VaultError(400, "number of uses cannot be negative")
        display = "token"
        if data.get("display_name"):
            display = re.sub(r"[^a-zA-Z0-9-]", "-", "token-" + str(data["display_name"]))
            display = display.rstrip("-")
        meta = data.get("meta") or None
        if meta is not None:
            meta = {str(k): str(v) for k, v in meta.items()}
        orphan = orphan_path or bool(data.get("no_parent") and is_root)
        renewable = data.get("renewable", True) is not False
        tok = Token(tid, pols, parent=None if orphan else parent.id, display_name=display,
                    ttl=ttl, explicit_max_ttl=explicit,
                    renewable=renewable and pols != ["root"], num_uses=num_uses,
                    meta=meta, path="auth/token/" + ("create-orphan" if orphan_path else "create"),
                    orphan=orphan, period=period)
        tok.ns = req.ns
        st.tokens[tid] = tok
        return ok(envelope(auth=tok.auth_block()))
