"""The test control API under /_dev/ (not Vault's)."""

import json
import time

from .fault import parse_fault
from .gojson import go_encode
from .httputil import is_loopback


class DevControl:
    """GET/POST /_dev/... (a mixin of Handler)."""

    # -- test control API (not Vault's) ------------------------------------
    def _dev(self, path, body):
        st = self.server.state
        if not self.server.unix and not is_loopback(self.client_address[0]):
            self._send(403, go_encode({"errors": ["loopback only"]}))
            return 403

        def answer(status, obj):
            self._send(status, json.dumps(obj, separators=(",", ":")).encode() + b"\n"
                       if obj is not None else None)
            return status
        if path == "/_dev/requests" and self.command == "GET":
            with st.stats_lock:
                return answer(200, {"total": st.total, "connections": st.connections,
                                    "with_token": st.with_token,
                                    "max_in_flight": st.max_in_flight,
                                    "requests": dict(st.counts)})
        if path == "/_dev/reset" and self.command == "POST":
            with st.stats_lock:
                st.total, st.connections, st.with_token, st.counts = 0, 0, 0, {}
                st.max_in_flight = st.in_flight
            return answer(204, None)
        if path == "/_dev/fault" and self.command == "POST":
            try:
                fault = parse_fault(body)
            except (ValueError, TypeError, AttributeError) as e:
                return answer(400, {"errors": [str(e)]})
            with st.stats_lock:
                st.fault = fault
            return answer(200, fault)
        if path == "/_dev/leases" and self.command == "GET":
            with st.lock:
                st.expire_leases()
                now = time.time()
                leases = [{"id": l.id, "expires_in": max(0, int(l.expire_at - now))}
                          for l in sorted(st.leases.values(), key=lambda l: l.id)]
            return answer(200, {"leases": leases})
        if path == "/_dev/tokens" and self.command == "GET":
            with st.lock:
                active = sum(1 for t in st.tokens.values()
                             if not t.expired() and "root" not in t.policies)
            return answer(200, {"active": active})
        if path == "/_dev/unseal-key" and self.command == "GET":
            return answer(200, {"key": st.unseal_key})
        return answer(404, {"errors": []})
