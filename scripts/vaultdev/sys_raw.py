"""Raw sys handlers (http/sys_*.go): health, seal status, seal and unseal."""

import base64
import binascii
import secrets
import time

from .gojson import Struct, go_encode
from .request import client_token
from .util import GO_BOOLS, NO_CONTENT, Reply, VERSION, VaultError, multierr


class RawSys:
    """The handlers served even while sealed (a mixin of Vault)."""

    # -- raw handlers (http/sys_*.go): served even while sealed -------------
    def raw_sys(self, req, sub):
        if sub == "health":
            if req.method not in ("GET", "HEAD"):
                raise VaultError(405)
            return self.health(req)
        if sub == "seal-status":
            if req.method != "GET":
                raise VaultError(405)
            return Reply(200, go_encode(self.seal_status()))
        if sub == "unseal":
            if req.method not in ("PUT", "POST"):
                raise VaultError(405)
            return self.unseal(req)
        if sub == "seal":
            if req.method not in ("PUT", "POST"):
                raise VaultError(405)
            return self.seal(req)
        if sub == "leader":
            if req.method != "GET":
                raise VaultError(405)
            return Reply(200, go_encode(Struct([
                ("ha_enabled", False), ("is_self", False),
                ("active_time", "0001-01-01T00:00:00Z"), ("leader_address", ""),
                ("leader_cluster_address", ""), ("performance_standby", False),
                ("performance_standby_last_remote_wal", 0)])))
        return None

    def health(self, req):
        q = req.query
        for flag in ("standbyok", "perfstandbyok"):
            if flag in q and q[flag][0] not in GO_BOOLS:
                raise VaultError(400, 'bad value for %s parameter: strconv.ParseBool: '
                                 'parsing "%s": invalid syntax' % (flag, q[flag][0]))
        codes = {"activecode": 200, "sealedcode": 503, "uninitcode": 501,
                 "standbycode": 429, "drsecondarycode": 472,
                 "performancestandbycode": 473}
        for name in codes:
            if name in q:
                try:
                    codes[name] = int(q[name][0])
                except ValueError:
                    raise VaultError(400)
        sealed = self.st.sealed
        code = codes["sealedcode"] if sealed else codes["activecode"]
        body = Struct([
            ("initialized", True), ("sealed", sealed), ("standby", sealed),
            ("performance_standby", False),
            ("replication_performance_mode", "unknown" if sealed else "disabled"),
            ("replication_dr_mode", "unknown" if sealed else "disabled"),
            ("server_time_utc", int(time.time())), ("version", VERSION)])
        if not sealed:
            body["cluster_name"] = self.st.cluster_name
            body["cluster_id"] = self.st.cluster_id
        if req.method == "HEAD":
            # handleSysHealthHead writes status and Content-Type, no body.
            return Reply(code, b"")
        return Reply(code, go_encode(body))

    def seal_status(self):
        s = Struct([("type", "shamir"), ("initialized", True),
                    ("sealed", self.st.sealed), ("t", 1), ("n", 1),
                    ("progress", 0), ("nonce", ""), ("version", VERSION),
                    ("migration", False)])
        if not self.st.sealed:
            s["cluster_name"] = self.st.cluster_name
            s["cluster_id"] = self.st.cluster_id
        s["recovery_seal"] = False
        s["storage_type"] = "inmem"
        return s

    def unseal(self, req):
        data = self.parse_body(req) or {}
        if data.get("reset"):
            return Reply(200, go_encode(self.seal_status()))
        key = data.get("key")
        if not key:
            raise VaultError(400, "'key' must be specified in request body as JSON, "
                                  "or 'reset' set to true")
        try:
            raw = base64.b64decode(key, validate=True)
        except (binascii.Error, ValueError):
            try:
                raw = bytes.fromhex(key)
            except ValueError:
                raise VaultError(400, "'key' must be a valid hex or base64 string")
        if self.st.sealed:
            # core.Unseal's size limits (minKeySize 16, maxKeySize 32+1).
            if len(raw) < 16:
                raise VaultError(400, "invalid key: key is shorter than minimum 16 bytes")
            if len(raw) > 33:
                raise VaultError(400, "invalid key: key is longer than maximum 33 bytes")
            if not secrets.compare_digest(raw, base64.b64decode(self.st.unseal_key)):
                raise VaultError(400, "Unseal failed, invalid key")
            self.st.sealed = False
        return Reply(200, go_encode(self.seal_status()))

    def seal(self, req):
        if self.st.sealed:
            return NO_CONTENT
        tok = self.check_token(req, client_token(req.headers))
        # sys/seal is root-protected: it needs sudo on the path.
        acl = self.st.acl_for(tok)
        if not (acl.allows("sys/seal", "update") and acl.allows("sys/seal", "sudo")):
            raise VaultError(403, multierr("permission denied"))
        self.st.sealed = True
        return NO_CONTENT
