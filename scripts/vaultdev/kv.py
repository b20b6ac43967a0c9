"""The KV engines: version 1 (and cubbyhole) and version 2."""

import json
import time

from .gojson import envelope, go_encode
from .state import KV2Meta
from .util import (KV_DEFAULT_MAX_VERSIONS, NO_CONTENT, VaultError, go_duration, missing,
                   multierr, ok, parse_duration, rfc3339nano)


class KV1:
    """kv version 1 and cubbyhole (a mixin of Vault)."""

    # -- KV version 1 (builtin/logical/kv passthrough) ----------------------
    def kv1(self, req, store, rest, cubbyhole=False):
        if req.op == "list":
            prefix = rest
            keys = set()
            for k in store:
                if k.startswith(prefix):
                    tail = k[len(prefix):]
                    keys.add(tail.split("/", 1)[0] + "/" if "/" in tail else tail)
            if not keys:
                raise missing()
            return ok(envelope({"keys": sorted(keys)}))
        if rest == "" or rest.endswith("/"):
            if req.op == "read":
                raise missing()
            raise VaultError(400, "missing key" if rest == "" else multierr("unsupported path"))
        if req.op == "read":
            data = store.get(rest)
            if data is None:
                raise missing()
            lease = 0
            if not cubbyhole:
                ttl = data.get("ttl", data.get("lease"))
                try:
                    lease = parse_duration(ttl) if ttl not in (None, "") else 0
                except ValueError:
                    lease = 0
            return ok(envelope(dict(data), lease_duration=lease))
        if req.op == "update":
            data = req.data
            if not data:
                raise VaultError(400, "missing data fields")
            if not isinstance(data, dict):
                raise VaultError(400, "error parsing JSON")
            if not cubbyhole and "ttl" in data:
                try:
                    parse_duration(data["ttl"])
                except ValueError:
                    raise VaultError(400, 'failed to parse ttl: time: invalid duration "%s"'
                                     % data["ttl"])
            store[rest] = json.loads(json.dumps(data))
            return NO_CONTENT
        if req.op == "delete":
            store.pop(rest, None)
            return NO_CONTENT
        raise VaultError(405, multierr("unsupported operation"))


class KV2:
    """The versioned kv engine (vault-plugin-secrets-kv, as in Vault 1.8)."""

    def __init__(self, vault, mount, req, rest):
        self.v, self.mount, self.req, self.rest = vault, mount, req, rest
        self.store = mount.kv

    def handle(self):
        rest, op = self.rest, self.req.op
        if rest == "config":
            return self.config()
        for prefix in ("data/", "metadata/", "delete/", "undelete/", "destroy/"):
            if rest.startswith(prefix):
                key = rest[len(prefix):]
                return getattr(self, prefix[:-1])(key)
        if rest in ("data", "metadata") and op == "list":
            return self.metadata("")
        sub = {"update": "put", "read": "get", "list": "list", "delete": "delete"}[op]
        # path_invalid: any non-API path answers 404 with a warning.
        raise VaultError(404, body=go_encode(envelope(None, warnings=[
            "Invalid path for a versioned K/V secrets engine. See the API docs for the "
            "appropriate API endpoints to use. If using the Vault CLI, use 'vault kv %s' "
            "for this operation." % sub])))

    def unsupported(self):
        raise VaultError(405, multierr("unsupported operation"))

    @staticmethod
    def version_meta(n, v):
        return {"created_time": rfc3339nano(v["created"]),
                "deletion_time": rfc3339nano(v["deleted"]) if v["deleted"] else "",
                "destroyed": v["destroyed"], "version": n}

    def max_versions(self, meta):
        return meta.max_versions or self.store.config["max_versions"] or KV_DEFAULT_MAX_VERSIONS

    def config(self):
        cfg = self.store.config
        if self.req.op == "read":
            return ok(envelope({"cas_required": cfg["cas_required"],
                                "delete_version_after": go_duration(cfg["delete_version_after"]),
                                "max_versions": cfg["max_versions"]}))
        if self.req.op == "update":
            d = self.req.data or {}
            if "max_versions" in d:
                cfg["max_versions"] = int(d["max_versions"])
            if "cas_required" in d:
                cfg["cas_required"] = bool(d["cas_required"])
            if "delete_version_after" in d:
                cfg["delete_version_after"] = parse_duration(d["delete_version_after"])
            return NO_CONTENT
        self.unsupported()

    def _versions_arg(self):
        d = self.req.data or {}
        vs = d.get("versions")
        if isinstance(vs, str):
            vs = [x for x in vs.split(",") if x.strip()]
        if not vs:
            raise VaultError(400, "no version number provided")
        try:
            return [int(x) for x in vs]
        except (TypeError, ValueError):
            raise VaultError(400, "error converting input for field \"versions\"")

    def data(self, key):
        op, meta = self.req.op, self.store.meta.get(key)
        if op == "read":
            try:
                want = int(self.req.query.get("version", ["0"])[0] or 0)
            except ValueError:
                raise VaultError(400, "error converting input %s for field \"version\""
                                 % self.req.query["version"][0])
            if meta is None:
                raise missing()
            n = want or meta.current
            v = meta.versions.get(n)
            if v is None:
                raise missing()
            vm = self.version_meta(n, v)
            if v["destroyed"] or (v["deleted"] and v["deleted"] <= time.time_ns()):
                # Deleted or destroyed: 404 with the metadata still shown.
                raise VaultError(404, body=go_encode(envelope({"data": None, "metadata": vm})))
            return ok(envelope({"data": v["data"], "metadata": vm}))
        if op == "update":
            d = self.req.data
            if not isinstance(d, dict) or not isinstance(d.get("data"), dict):
                raise VaultError(400, "no data provided")
            opts = d.get("options") or {}
            cas = opts.get("cas") if isinstance(opts, dict) else None
            cas_required = self.store.config["cas_required"] or (meta and meta.cas_required)
            if cas is None and cas_required:
                raise VaultError(400, "check-and-set parameter required for this call")
            if cas is not None:
                mismatch = VaultError(
                    400, "check-and-set parameter did not match the current version")
                try:
                    cas = int(cas)
                except (TypeError, ValueError):
                    raise mismatch
                if cas != (meta.current if meta else 0):
                    raise mismatch
            if meta is None:
                meta = self.store.meta[key] = KV2Meta()
            now = time.time_ns()
            n = meta.current + 1
            meta.versions[n] = {"created": now, "deleted": None, "destroyed": False,
                                "data": json.loads(json.dumps(d["data"]))}
            meta.current = n
            meta.created = meta.created or now
            meta.updated = now
            # Trim to max_versions, oldest first.
            limit = self.max_versions(meta)
            while len(meta.versions) > limit:
                oldest = min(meta.versions)
                del meta.versions[oldest]
                meta.oldest = min(meta.versions)
            return ok(envelope(self.version_meta(n, meta.versions[n])))
        if op == "delete":
            if meta is not None:
                v = meta.versions.get(meta.current)
                if v and not v["destroyed"] and not v["deleted"]:
                    v["deleted"] = time.time_ns()
            return NO_CONTENT
        self.unsupported()

    def metadata(self, key):
        op, store = self.req.op, self.store
        if op == "list":
            keys = set()
            for k in store.meta:
                if k.startswith(key):
                    tail = k[len(key):]
                    keys.add(tail.split("/", 1)[0] + "/" if "/" in tail else tail)
            if not keys:
                raise missing()
            return ok(envelope({"keys": sorted(keys)}))
        meta = store.meta.get(key)
        if op == "read":
            if meta is None:
                raise missing()
            return ok(envelope({
                "cas_required": meta.cas_required,
                "created_time": rfc3339nano(meta.created),
                "current_version": meta.current,
                "delete_version_after": go_duration(meta.delete_version_after),
                "max_versions": meta.max_versions,
                "oldest_version": meta.oldest,
                "updated_time": rfc3339nano(meta.updated),
                "versions": {str(n): {k: v for k, v in self.version_meta(n, ver).items()
                                      if k != "version"}
                             for n, ver in meta.versions.items()},
            }))
        if op == "update":
            d = self.req.data or {}
            if meta is None:
                meta = store.meta[key] = KV2Meta()
                meta.created = meta.updated = time.time_ns()
            if "max_versions" in d:
                meta.max_versions = int(d["max_versions"])
            if "cas_required" in d:
                meta.cas_required = bool(d["cas_required"])
            if "delete_version_after" in d:
                meta.delete_version_after = parse_duration(d["delete_version_after"])
            return NO_CONTENT
        if op == "delete":
            store.meta.pop(key, None)
            return NO_CONTENT
        self.unsupported()

    def _each_version(self, key, fn):
        if self.req.op != "update":
            self.unsupported()
        versions = self._versions_arg()
        meta = self.store.meta.get(key)
        if meta is not None:
            for n in versions:
                v = meta.versions.get(n)
                if v is not None:
                    fn(v)
        return NO_CONTENT

    def delete(self, key):
        now = time.time_ns()

        def soft(v):
            if not v["destroyed"] and not v["deleted"]:
                v["deleted"] = now
        return self._each_version(key, soft)

    def undelete(self, key):
        def undo(v):
            if not v["destroyed"]:
                v["deleted"] = None
        return self._each_version(key, undo)

    def destroy(self, key):
        def burn(v):
            v["destroyed"] = True
            v["data"] = None
        return self._each_version(key, burn)
