"""The listeners: TCP (optionally TLS) and the agent's unix socket."""

import os
import socket
import socketserver
import ssl
from http.server import ThreadingHTTPServer

from .handler import Handler
from .vault import Vault


class DevServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog is 5: a burst of concurrent connects
    # (parallel fetching) overflows it and the kernel drops SYNs, which cost
    # a 1 s retransmit. Go's net/http (real Vault) listens with somaxconn.
    request_queue_size = socket.SOMAXCONN

    unix = False

    def __init__(self, addr, family, state, quiet, tls_ctx, agent=None):
        self.address_family = family
        self.agent = agent    # None, or {"token": ..., "require_header": bool}
        self.state = state
        self.vault = Vault(state)
        self.quiet = quiet
        self.tls_ctx = tls_ctx
        super().__init__(addr, Handler)

    def server_bind(self):
        if self.address_family == socket.AF_INET6:
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        super().server_bind()

    def process_request(self, request, client_address):
        with self.state.stats_lock:
            self.state.connections += 1
        super().process_request(request, client_address)

    def finish_request(self, request, client_address):
        # The TLS handshake runs here, in the connection's own thread, so a
        # slow or broken client never blocks accept().
        if self.tls_ctx is not None:
            try:
                request.settimeout(30)
                request = self.tls_ctx.wrap_socket(request, server_side=True)
                request.settimeout(None)
            except (ssl.SSLError, OSError):
                try:
                    request.close()
                except OSError:
                    pass
                return
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        pass  # a client that went away is not worth a traceback


class UnixDevServer(socketserver.ThreadingUnixStreamServer):
    """The Vault Agent unix-socket listener (`--unix-socket`)."""
    daemon_threads = True
    unix = True
    request_queue_size = socket.SOMAXCONN
    tls_ctx = None

    def __init__(self, path, state, quiet, agent):
        self.state = state
        self.vault = Vault(state)
        self.quiet = quiet
        self.agent = agent
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        super().__init__(path, Handler)

    def process_request(self, request, client_address):
        with self.state.stats_lock:
            self.state.connections += 1
        super().process_request(request, client_address)

    def handle_error(self, request, client_address):
        pass
