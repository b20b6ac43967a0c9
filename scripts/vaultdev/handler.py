"""HTTP layer: the request handler."""

import html
import socket
import ssl
import sys
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, unquote, urlsplit

from .agent import AgentFront
from .devapi import DevControl
from .fault import FaultInjection
from .gojson import go_encode
from .httputil import clean_path, loggable
from .request import Request
from .util import VaultError


class Handler(FaultInjection, AgentFront, DevControl, BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive, as Go's net/http
    server_version = "vault-dev"
    # Idle keep-alive connections are dropped after this many seconds.
    timeout = 300

    # Any method reaches _serve, like Go's mux (which answers 405 itself).
    def __getattr__(self, name):
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def setup(self):
        super().setup()
        # Go's net/http sets TCP_NODELAY on every connection; without it the
        # headers and the body (two writes) meet the client's delayed ACK
        # and every keep-alive request waits ~40 ms.
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    def log_message(self, fmt, *args):
        pass  # our own per-request line is printed in _serve

    def send_response(self, code, message=None):
        # No Server header: Vault sends none.  Date as Go does.
        self.log_request(code)
        self.send_response_only(code, message)

    def _read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            out = b""
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(size)
                self.rfile.readline(65537)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, status, body, extra_headers=(), content_type="application/json",
              cache=True):
        self.send_response(status)
        if cache:
            self.send_header("Cache-Control", "no-store")
        if content_type:
            self.send_header("Content-Type", content_type)
        for k, v in extra_headers:
            self.send_header(k, v)
        self.send_header("Date", self.date_time_string())
        # Go omits Content-Length for 204 and for a HEAD that wrote nothing.
        if status != 204 and body:
            self.send_header("Content-Length", str(len(body)))
        elif status != 204 and self.command != "HEAD":
            self.send_header("Content-Length", "0")
        self.end_headers()
        if body and self.command != "HEAD" and status != 204:
            self.wfile.write(body)

    def _serve(self):
        srv = self.server
        st = srv.state
        parts = urlsplit(self.path)
        raw_path = unquote(parts.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        status = 0
        counted = False
        try:
            if raw_path.startswith("/_dev/"):
                status = self._dev(raw_path, body)
                return
            fault = self._count_and_fault(raw_path)
            counted = True
            if srv.agent is not None:
                status = self._agent_front()
                if status is not None:
                    return
                status = 0
            if fault is not None:
                status = self._inject(fault, raw_path)
                if status is not None:
                    return
                status = 0
            clean = clean_path(raw_path)
            if clean != raw_path:
                # Go's ServeMux answers unclean paths (`//`, `/./`, `/../`)
                # with a 301 to the cleaned path, before Vault sees them.
                status = 301
                target = clean + ("?" + parts.query if parts.query else "")
                page = b""
                if self.command in ("GET", "HEAD"):
                    page = ('<a href="%s">Moved Permanently</a>.\n\n'
                            % html.escape(target, quote=True)).encode()
                self._send(301, page, [("Location", target)],
                           content_type="text/html; charset=utf-8")
                return
            req = Request(self.command, raw_path, query, self.headers, body)
            req.peer_cert = None
            if isinstance(self.connection, ssl.SSLSocket):
                req.peer_cert = self.connection.getpeercert(binary_form=True)
            try:
                with st.lock:
                    reply = srv.vault.handle(req)
            except VaultError as e:
                status = e.status
                out = e.body if e.body is not None else go_encode({"errors": e.errors})
                self._send(status, out)
                return
            except Exception as e:  # a bug here must not kill the connection
                status = 500
                self._send(500, go_encode({"errors": ["internal error: %s" % type(e).__name__]}))
                return
            status = reply.status
            self._send(reply.status, reply.body, reply.headers)
        finally:
            if counted:
                self._count_done()
            if not srv.quiet and not raw_path.startswith("/_dev/"):
                sys.stderr.write("vault-dev: %s %s %s\n"
                                 % (self.command, loggable(raw_path), status))
                sys.stderr.flush()
