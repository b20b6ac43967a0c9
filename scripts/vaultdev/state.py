"""In-memory state: mounts, KV stores, tokens, leases."""

import base64
import secrets
import threading
import time
import uuid

from .gojson import Struct
from .policy import ACL, DEFAULT_POLICY, RESPONSE_WRAPPING_POLICY, parse_policy
from .util import rand62, rand_hex


class Mount:
    def __init__(self, path, mtype, description="", options=None, local=False,
                 seal_wrap=False, accessor_prefix=None, config_extra=None,
                 table="mounts"):
        self.path = path                 # "secret/" (auth mounts: "token/")
        self.type = mtype
        self.description = description
        self.options = options
        self.local = local
        self.seal_wrap = seal_wrap
        self.table = table
        self.accessor = "%s_%s" % (accessor_prefix or mtype, rand_hex(8))
        self.uuid = str(uuid.uuid4())
        self.config_extra = config_extra or {}
        self.kv = KVStore() if mtype == "kv" else None
        # Auth methods and the database engine keep their config and roles
        # here ({"config": {...}, "roles": {...}, ...}).
        self.backend = {"config": None, "roles": {}, "secret_ids": {}, "connections": {}}

    @property
    def kv_version(self):
        return (self.options or {}).get("version", "1")

    def info(self):
        """mountInfo() of logical_system.go (a Go map: keys sorted)."""
        config = {"default_lease_ttl": 0, "force_no_cache": False, "max_lease_ttl": 0}
        config.update(self.config_extra)
        return {
            "accessor": self.accessor, "config": config,
            "description": self.description, "external_entropy_access": False,
            "local": self.local, "options": self.options,
            "seal_wrap": self.seal_wrap, "type": self.type, "uuid": self.uuid,
        }


class KVStore:
    """Storage of one kv mount.  v1 uses `flat`; v2 uses `meta`."""

    def __init__(self):
        self.flat = {}      # path -> dict (kv v1)
        self.meta = {}      # path -> KV2Meta (kv v2)
        self.config = {"cas_required": False, "delete_version_after": 0, "max_versions": 0}


class KV2Meta:
    def __init__(self):
        self.versions = {}  # n -> dict(created, deleted(ns or None), destroyed, data)
        self.current = 0
        self.oldest = 0
        self.created = None
        self.updated = None
        self.max_versions = 0
        self.cas_required = False
        self.delete_version_after = 0


class Token:
    def __init__(self, tid, policies, parent=None, display_name="token",
                 ttl=0, explicit_max_ttl=0, renewable=True, num_uses=0,
                 meta=None, path="auth/token/create", orphan=False, period=0):
        self.id = tid
        self.accessor = rand62(24)
        self.policies = policies
        self.parent = parent
        self.display_name = display_name
        self.creation_ns = time.time_ns()
        self.creation_ttl = ttl
        self.ttl = ttl
        self.expire_at = self.creation_ns / 1e9 + ttl if ttl else None
        self.explicit_max_ttl = explicit_max_ttl
        self.renewable = renewable
        self.num_uses = num_uses
        self.meta = meta
        self.path = path
        self.orphan = orphan
        self.period = period
        self.wrapped = None     # response held by a wrapping token
        self.last_renewal_ns = None
        self.max_ttl = 0        # the role's token_max_ttl (auth methods)
        self.ns = ""            # namespace prefix the token was created in
        self.entity_id = ""     # auth-method logins get an identity entity

    def expired(self):
        return self.expire_at is not None and time.time() >= self.expire_at

    def remaining(self):
        if self.expire_at is None:
            return 0
        return max(0, int(self.expire_at - time.time()))

    def auth_block(self):
        """logical.HTTPAuth of Vault 1.8 (no num_uses / mfa_requirement yet)."""
        return Struct([
            ("client_token", self.id), ("accessor", self.accessor),
            ("policies", self.policies), ("token_policies", self.policies),
            ("metadata", self.meta), ("lease_duration", self.ttl),
            ("renewable", self.renewable), ("entity_id", self.entity_id),
            ("token_type", "service"), ("orphan", self.orphan),
        ])


class Lease:
    """A secret lease (vault/expiration.go leaseEntry): expires at its
    duration unless renewed; never lives past issue time + max_ttl."""

    def __init__(self, lid, ttl, max_ttl, token_id, renewable=True):
        self.id = lid
        self.issue_ns = time.time_ns()
        self.ttl = ttl
        self.max_ttl = max_ttl            # seconds from issue time; 0 = none
        self.expire_at = self.issue_ns / 1e9 + ttl
        self.renewable = renewable
        self.last_renewal_ns = None
        self.token_id = token_id          # revoked with its token

    def expired(self):
        return time.time() >= self.expire_at


class State:
    def __init__(self, root_token):
        self.lock = threading.RLock()
        self.sealed = False
        self.unseal_key = base64.b64encode(secrets.token_bytes(32)).decode()
        self.cluster_name = "vault-cluster-" + rand_hex(8)
        self.cluster_id = str(uuid.uuid4())
        # Mount table, as `vault server -dev` sets it up.
        self.mounts = {}
        for m in (
            Mount("cubbyhole/", "cubbyhole", "per-token private secret storage", local=True),
            Mount("identity/", "identity", "identity store"),
            Mount("secret/", "kv", "key/value secret storage", options={"version": "2"}),
            Mount("sys/", "system", "system endpoints used for control, policy and debugging",
                  accessor_prefix="system",
                  config_extra={"passthrough_request_headers": ["Accept"]}),
        ):
            self.mounts[m.path] = m
        self.auth_mounts = {
            "token/": Mount("token/", "token", "token based credentials",
                            accessor_prefix="auth_token",
                            config_extra={"token_type": "default-service"}, table="auth"),
        }
        self.cubbyholes = {}  # token id -> {path: data}
        self.entities = {}    # (auth mount accessor, alias name) -> entity id
        self.namespaces = None  # --namespaces: {"team1/": id, "team1/a/": id}
        self.tls_ctx = None   # the TLS listener's context (cert auth adds CAs)
        self.request_client_cert = False
        self.policies = {"default": DEFAULT_POLICY}
        self.parsed = {"default": parse_policy(DEFAULT_POLICY),
                       "response-wrapping": parse_policy(RESPONSE_WRAPPING_POLICY)}
        self.tokens = {}
        root = Token(root_token, ["root"], ttl=0, renewable=False, orphan=True,
                     display_name="token")
        self.tokens[root.id] = root
        # Test control API state.
        self.stats_lock = threading.Lock()
        self.total = 0
        self.connections = 0
        self.in_flight = 0          # requests being answered now (not /_dev/)
        self.max_in_flight = 0      # the most at once since the last reset
        self.counts = {}
        self.with_token = 0
        self.fault = {"mode": "none"}
        self.leases = {}      # lease id -> Lease

    # -- mounts ------------------------------------------------------------
    def split_ns(self, path):
        """(namespace prefix "a/b/" or "", rest) of an internal path; the
        longest existing namespace wins.  Without --namespaces: ("", path)."""
        best = ""
        if self.namespaces:
            for ns in self.namespaces:
                if path.startswith(ns) and len(ns) > len(best):
                    best = ns
        return best, path[len(best):]

    def match_mount(self, path):
        """Longest mount prefix of a request path (router.MatchingMount),
        among the mounts of the path's namespace.  Returns (the prefix of
        `path` that names the mount, Mount) or (None, None)."""
        ns, rest = self.split_ns(path)
        if rest.startswith("auth/"):
            sub = rest[len("auth/"):]
            for mp, mount in self.auth_mounts.items():
                mns, mrel = self.split_ns(mp)
                if mns == ns and (sub.startswith(mrel) or sub + "/" == mrel):
                    return ns + "auth/" + mrel, mount
            return None, None
        best = None
        for mp in self.mounts:
            mns, mrel = self.split_ns(mp)
            if mns != ns:
                continue
            if rest.startswith(mrel) or rest + "/" == mrel:
                if best is None or len(mp) > len(best):
                    best = mp
        return (best, self.mounts[best]) if best else (None, None)

    def ns_mounts(self, table, ns):
        """{relative path: Mount} of one namespace's mount table."""
        out = {}
        for mp, mount in table.items():
            mns, mrel = self.split_ns(mp)
            if mns == ns:
                out[mrel] = mount
        return out

    # -- tokens ------------------------------------------------------------
    def acl_for(self, token):
        """The token's ACL.  A token belongs to the namespace it was made
        in; its policies are that namespace's, and their paths are
        relative to it (see acl_path)."""
        if "root" in token.policies:
            return ACL([], root=True)
        return ACL([self.parsed[token.ns + p] for p in token.policies
                    if token.ns + p in self.parsed])

    @staticmethod
    def acl_path(token, path):
        """A request path as the token's policies see it: relative to the
        token's namespace; None when the path is outside it."""
        if not path.startswith(token.ns):
            return None
        return path[len(token.ns):]

    def revoke_tree(self, tid):
        """Revokes a token, its children and the leases they created (as
        Vault's expiration manager does)."""
        children = [t.id for t in self.tokens.values() if t.parent == tid]
        for c in children:
            self.revoke_tree(c)
        self.tokens.pop(tid, None)
        self.cubbyholes.pop(tid, None)
        for lid in [l.id for l in self.leases.values() if l.token_id == tid]:
            self.leases.pop(lid, None)

    # -- leases ------------------------------------------------------------
    def expire_leases(self):
        """Drops expired leases and expired tokens (Vault's expiration
        manager revokes both when their time comes).  Call under lock."""
        for lid in [l.id for l in self.leases.values() if l.expired()]:
            self.leases.pop(lid, None)
        for tid in [t.id for t in self.tokens.values() if t.expired()]:
            self.revoke_tree(tid)
