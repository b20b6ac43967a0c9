"""Injected faults (POST /_dev/fault) and the request counters."""

import json
import socket
import time
import uuid
from urllib.parse import urlsplit

from .gojson import go_encode
from .request import Request
from .util import VaultError


FAULT_MODES = ("none", "slow", "drop", "status", "redirect", "oversize", "malformed", "bump",
               "trickle")


def parse_fault(body):
    """The fault spec of POST /_dev/fault, normalised; raises ValueError."""
    spec = json.loads(body or b"{}")
    if not isinstance(spec, dict):
        raise ValueError("fault must be a JSON object")
    mode = spec.get("mode", "none")
    if mode not in FAULT_MODES:
        raise ValueError("mode must be one of " + ", ".join(FAULT_MODES))
    if mode == "none":
        return {"mode": "none"}
    headers = spec.get("headers") or {}
    if not isinstance(headers, dict):
        raise ValueError("headers must be an object")
    fault = {"mode": mode, "delay": float(spec.get("delay") or 0),
             "status": int(spec.get("status") or (307 if mode == "redirect" else 500)),
             "body": str(spec.get("body") or ""),
             "headers": {str(k): str(v) for k, v in headers.items()},
             "location": str(spec.get("location") or ""),
             "size": int(spec.get("size") or (2 << 20)),
             "chunked": bool(spec.get("chunked")),
             "prefix": str(spec.get("prefix") or "/v1/"),
             "method": str(spec.get("method") or "").upper(),
             "count": int(spec.get("count") or 0)}
    if fault["count"] < 0:
        raise ValueError("count must be >= 0")
    if mode == "redirect" and not fault["location"]:
        raise ValueError("redirect needs a location")
    return fault


class _TrickleWriter:
    """The trickle fault's wfile: one byte per `delay` seconds.  A client
    that went away ends it (the write fails: OSError)."""

    def __init__(self, raw, delay):
        self._raw = raw
        self._delay = delay

    def write(self, data):
        for i in range(len(data)):
            self._raw.write(data[i:i + 1])
            self._raw.flush()
            time.sleep(self._delay)
        return len(data)

    def __getattr__(self, name):
        return getattr(self._raw, name)


class FaultInjection:
    """Request counting and fault injection (a mixin of Handler)."""

    # -- request counters and injected faults --------------------------------
    def _count_and_fault(self, raw_path):
        """Counts the request and returns the fault to apply to it (a copy),
        or None.  A fault with `count` hits that many matching requests and
        then clears itself; the decrement happens under stats_lock, so
        concurrent requests never take more than `count` hits."""
        st = self.server.state
        with st.stats_lock:
            st.total += 1
            st.in_flight += 1
            st.max_in_flight = max(st.max_in_flight, st.in_flight)
            key = "%s %s" % (self.command, raw_path)
            st.counts[key] = st.counts.get(key, 0) + 1
            if self.headers.get("X-Vault-Token"):
                st.with_token += 1
            fault = st.fault
            if fault["mode"] == "none" or not raw_path.startswith(fault.get("prefix") or "/v1/"):
                return None
            if fault.get("method") and fault["method"] != self.command:
                return None
            hit = dict(fault)
            if fault.get("count"):
                fault["count"] -= 1
                if fault["count"] <= 0:
                    st.fault = {"mode": "none"}
            return hit

    def _count_done(self):
        """The request counted by _count_and_fault() has been answered."""
        st = self.server.state
        with st.stats_lock:
            st.in_flight -= 1

    def _inject(self, fault, raw_path):
        """Applies a fault.  Returns the status to log when the answer was
        the fault's own, None when the request goes on to Vault (slow)."""
        mode = fault["mode"]
        extra = list((fault.get("headers") or {}).items())
        if mode == "slow":
            time.sleep(float(fault.get("delay") or 0))
            return None
        if mode == "bump":
            self._bump(raw_path)
            return None
        if mode == "trickle":
            # Everything written from here on (the status line too) goes
            # out one byte at a time; the client's deadline has to end it.
            self.wfile = _TrickleWriter(self.wfile, float(fault.get("delay") or 1))
            self.close_connection = True
            return None
        if mode == "drop":
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return "drop"
        if mode == "status":
            status = int(fault.get("status") or 500)
            body, cache = fault.get("body") or "", True
            if not body and status == 429:
                # A rate limit quota's answer (vault/quotas), as recorded.
                body = 'request path "%s": rate limit quota exceeded' % raw_path[len("/v1/"):]
            elif not body and status == 412:
                # Vault Agent's require_request_header answer (no
                # Cache-Control: the agent writes it itself).
                body, cache = "missing 'X-Vault-Request' header", False
            self._send(status, go_encode({"errors": [body]}), extra, cache=cache)
            return status
        if mode == "redirect":
            # A standby's answer (http/handler.go respondStandby): 307 to the
            # active node's address plus the original path and query, with
            # Location and no body (Vault does not use http.Redirect here).
            target = fault.get("location") or ""
            if urlsplit(target).path in ("", "/"):
                target = target.rstrip("/") + self.path
            status = int(fault.get("status") or 307)
            self._send(status, b"", [("Location", target)] + extra, content_type=None)
            return status
        if mode == "oversize":
            self._send_oversize(int(fault.get("size") or (2 << 20)),
                                bool(fault.get("chunked")), extra)
            return 200
        if mode == "malformed":
            # A 200 whose JSON stops in the middle of an object.
            body = ('{"request_id":"%s","lease_id":"","renewable":false,'
                    '"lease_duration":0,"data":{"password":"fake-trunc'
                    % uuid.uuid4()).encode()
            self._send(200, body, extra)
            return 200
        return None

    def _bump(self, raw_path):
        """The bump fault: writes a new version of the KV v2 secret at
        raw_path (/v1/M/data/P) holding its current data (none: {}), through
        Vault's own handling and with the request's token, as a concurrent
        writer would.  Errors are ignored: the hit request gets its own."""
        st, vault = self.server.state, self.server.vault
        with st.lock:
            data = {}
            read = Request("GET", raw_path, {}, self.headers, b"")
            write = Request("POST", raw_path, {}, self.headers, b"")
            read.peer_cert = write.peer_cert = None
            try:
                got = vault.handle(read)
                data = json.loads(got.body)["data"]["data"] or {}
            except (VaultError, ValueError, KeyError, TypeError):
                pass
            write.body = json.dumps({"data": data}).encode()
            try:
                vault.handle(write)
            except VaultError:
                pass

    def _send_oversize(self, size, chunked, extra):
        """A valid-looking envelope of exactly `size` bytes (a padded data
        field), with Content-Length, or chunked transfer encoding."""
        head = ('{"request_id":"%s","lease_id":"","renewable":false,"lease_duration":0,'
                '"data":{"pad":"' % uuid.uuid4()).encode()
        tail = b'"},"wrap_info":null,"warnings":null,"auth":null}\n'
        pad = max(0, size - len(head) - len(tail))
        self.send_response(200)
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Type", "application/json")
        for k, v in extra:
            self.send_header(k, v)
        self.send_header("Date", self.date_time_string())
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(head) + pad + len(tail)))
        self.end_headers()
        block = b"x" * 65536

        def parts():
            yield head
            left = pad
            while left > 0:
                n = min(left, len(block))
                yield block[:n]
                left -= n
            yield tail
        try:
            for part in parts():
                if chunked:
                    self.wfile.write(b"%x\r\n" % len(part) + part + b"\r\n")
                else:
                    self.wfile.write(part)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
        except OSError:
            self.close_connection = True
