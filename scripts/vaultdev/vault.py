"""The Vault API: the entry point, logical requests, response wrapping and routing."""

import json
import re
import uuid

from .auth import AuthMethods
from .auth_params import AUTH_TYPES
from .database import Database
from .gojson import Struct, envelope, go_encode
from .kv import KV1, KV2
from .request import client_token
from .state import Token
from .sys_paths import SysPaths
from .sys_raw import RawSys
from .tokens import TokenBackend
from .util import GO_BOOLS, Reply, VaultError, multierr, parse_duration, rand62, rfc3339nano


class Vault(AuthMethods, Database, RawSys, KV1, SysPaths, TokenBackend):
    """Routing and handlers.  Everything runs under state.lock, which keeps
    the in-memory model consistent; handlers are all quick."""

    # Paths that need no token (PathsSpecial.Unauthenticated of the backends
    # involved, for the endpoints served here).
    UNAUTH = re.compile(r"^sys/internal/ui/mounts(/.*)?$")

    def __init__(self, state):
        self.st = state

    # -- entry point -----------------------------------------------------
    def handle(self, req):
        path = req.raw_path
        if path.startswith("/v1/sys/"):
            raw = self.raw_sys(req, path[len("/v1/sys/"):])
            if raw is not None:
                return raw
        if not path.startswith("/v1/") or path == "/v1/":
            raise VaultError(404)
        return self.logical(req)

    # -- logical requests (http/logical.go + vault core) -------------------
    OPS = {"GET": "read", "DELETE": "delete", "POST": "update", "PUT": "update",
           "LIST": "list"}

    def parse_body(self, req):
        if not req.body or not req.body.strip():
            return None
        try:
            data = json.loads(req.body)
        except (ValueError, UnicodeDecodeError):
            raise VaultError(400, "error parsing JSON")
        return data

    def check_token(self, req, tid):
        if not tid:
            raise VaultError(400, "missing client token")
        tok = self.st.tokens.get(tid)
        if tok is None or tok.expired():
            if tok is not None:
                self.st.revoke_tree(tid)
            raise VaultError(403, "permission denied")
        return tok

    def use_token(self, tok):
        """num_uses: the use that reaches zero still succeeds, then the token
        is gone."""
        if tok.num_uses > 0:
            tok.num_uses -= 1
            if tok.num_uses == 0:
                self.st.revoke_tree(tok.id)

    def logical(self, req):
        if req.method not in self.OPS:
            raise VaultError(405)
        req.path = req.raw_path[len("/v1/"):]
        req.op = self.OPS[req.method]
        if req.method == "GET" and "list" in req.query:
            val = req.query["list"][0]
            if val not in GO_BOOLS:
                raise VaultError(400)
            if GO_BOOLS[val]:
                req.op = "list"
        if req.op == "list" and not req.path.endswith("/"):
            req.path += "/"
        if req.op == "update":
            req.data = self.parse_body(req)
        if self.st.namespaces is not None:
            # Enterprise namespaces: X-Vault-Namespace and/or a path prefix.
            hdr = (req.headers.get("X-Vault-Namespace") or "").strip("/")
            if hdr and hdr != "root":
                if hdr + "/" not in self.st.namespaces:
                    raise VaultError(404, "no handler for route '%s'" % req.path)
                req.path = hdr + "/" + req.path
        req.ns, req.rel = self.st.split_ns(req.path)
        tid = client_token(req.headers)
        if self.st.sealed:
            if tid:
                raise VaultError(503, "error performing token check: Vault is sealed")
            raise VaultError(503, "Vault is sealed")
        wrap_ttl = self.wrap_ttl(req)
        req.token_id = tid
        if self.UNAUTH.match(req.rel):
            return self.dispatch(req)
        if self.is_login(req.path):
            # Login paths of auth methods need no token (and ignore one).
            reply = self.dispatch(req)
            if wrap_ttl and reply.status == 200 and reply.env is not None:
                reply = self.wrap(req, reply.env, wrap_ttl)
            return reply
        if req.rel == "sys/wrapping/unwrap":
            return self.unwrap(req, tid)
        tok = self.check_token(req, tid)
        req.token = tok
        acl = self.st.acl_for(tok)
        cap = req.op
        if cap == "update" and self.resource_exists(req) is False:
            cap = "create"
        where = self.st.acl_path(tok, req.path)
        if where is None or not acl.allows(where, cap):
            raise VaultError(403, multierr("permission denied"))
        self.use_token(tok)
        reply = self.dispatch(req)
        if wrap_ttl and reply.status == 200 and reply.env is not None:
            reply = self.wrap(req, reply.env, wrap_ttl)
        return reply

    # -- response wrapping (X-Vault-Wrap-TTL, sys/wrapping/unwrap) -----------
    def wrap_ttl(self, req):
        raw = req.headers.get("X-Vault-Wrap-TTL")
        if raw is None or raw == "":
            return 0
        try:
            return parse_duration(raw)
        except ValueError as e:
            raise VaultError(400, "error parsing X-Vault-Wrap-TTL header: %s" % e)

    def wrap(self, req, env, ttl):
        """The answer goes into a single-use wrapping token (a real token
        with the response-wrapping policy); the client gets wrap_info."""
        st = self.st
        wtok = Token("s." + rand62(24), ["response-wrapping"], ttl=ttl, renewable=False,
                     num_uses=1, path=req.path, orphan=True)
        wtok.wrapped = env
        st.tokens[wtok.id] = wtok
        info = Struct([("token", wtok.id), ("accessor", wtok.accessor), ("ttl", ttl),
                       ("creation_time", rfc3339nano(wtok.creation_ns)),
                       ("creation_path", req.path)])
        out = envelope(request_id="")
        out["wrap_info"] = info
        return Reply(200, go_encode(out))

    def unwrap(self, req, tid):
        st = self.st
        if req.op != "update":
            raise VaultError(405, multierr("unsupported operation"))
        body_token = (req.data or {}).get("token") if isinstance(req.data, dict) else None
        if body_token:
            # Unwrapping someone else's token: the caller needs its own
            # token and the right to use sys/wrapping/unwrap.
            caller = self.check_token(req, tid)
            if not st.acl_for(caller).allows(req.path, "update"):
                raise VaultError(403, multierr("permission denied"))
            self.use_token(caller)
            wid = body_token
        else:
            if not tid:
                raise VaultError(400, "missing client token")
            wid = tid
        wtok = st.tokens.get(wid)
        if wtok is None or wtok.expired() or wtok.wrapped is None:
            if wtok is not None and wtok.expired():
                st.revoke_tree(wid)
            raise VaultError(400, "wrapping token is not valid or does not exist")
        st.revoke_tree(wid)
        env = Struct(wtok.wrapped)
        env["request_id"] = str(uuid.uuid4())
        return Reply(200, go_encode(env))

    def resource_exists(self, req):
        """ExistenceCheck: for writes the ACL wants `create` when the target
        does not exist yet and `update` when it does (None: no check)."""
        name, mount = self.st.match_mount(req.path)
        if mount is not None and mount.type == "kv":
            rest = req.path[len(name):]
            if mount.kv_version == "2":
                if rest.startswith("data/"):
                    return rest[5:] in mount.kv.meta
                if rest.startswith("metadata/"):
                    return rest[9:] in mount.kv.meta
                return None
            return rest in mount.kv.flat
        if mount is not None and mount.type == "cubbyhole":
            rest = req.path[len(name):]
            return rest in self.st.cubbyholes.get(req.token_id, {})
        m = re.match(r"^sys/(?:policy|policies/acl)/(.+)$", req.rel)
        if m:
            return (req.ns + m.group(1).lower() in self.st.policies
                    or m.group(1).lower() == "root")
        return None

    def dispatch(self, req):
        try:
            return self._dispatch(req)
        except (ValueError, TypeError, AttributeError, KeyError):
            # Parameters of the wrong type: Vault's framework refuses them
            # with 400; logical.ErrInvalidRequest reads "invalid request".
            raise VaultError(400, "invalid request")

    def _dispatch(self, req):
        path = req.path
        if req.rel.startswith("sys/"):
            return self.sys(req, req.rel[4:])
        name, mount = self.st.match_mount(path)
        if mount is None:
            raise VaultError(404, "no handler for route '%s'" % path)
        rest = path[len(name):]
        if mount.type == "token":
            return self.token_backend(req, rest)
        if mount.type in AUTH_TYPES:
            return getattr(self, "auth_" + AUTH_TYPES[mount.type])(req, name, mount, rest)
        if mount.type == "database":
            return self.database(req, name, mount, rest)
        if mount.type == "kv":
            if mount.kv_version == "2":
                return KV2(self, mount, req, rest).handle()
            return self.kv1(req, mount.kv.flat, rest)
        if mount.type == "cubbyhole":
            return self.kv1(req, self.st.cubbyholes.setdefault(req.token_id, {}), rest,
                            cubbyhole=True)
        raise VaultError(404, multierr("unsupported path"))
