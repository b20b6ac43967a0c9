"""Command line: argument parsing and main()."""

import argparse
import os
import re
import signal
import socket
import ssl
import sys
import threading

from . import __doc__ as PACKAGE_DOC
from .httputil import LOOPBACK_NAMES
from .servers import DevServer, UnixDevServer
from .state import State
from .util import VERSION


def parse_args(argv):
    # Vault's own flags are single-dash (`-dev-root-token-id=x`); accept the
    # double-dash spelling as well by normalising before argparse sees them.
    norm = []
    for a in argv:
        if a.startswith("-dev-") or a.startswith("-dev="):
            a = "-" + a
        norm.append(a)
    p = argparse.ArgumentParser(prog="vault-dev",
                                description="Vault-API-compatible in-memory dev server",
                                epilog=PACKAGE_DOC,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dev-root-token-id", default="root", metavar="TOKEN")
    p.add_argument("--dev-listen-address", default="127.0.0.1:8200", metavar="ADDR:PORT")
    p.add_argument("--dev", action="store_true", help="accepted for compatibility")
    p.add_argument("--port-file", metavar="FILE")
    p.add_argument("--tls-cert", metavar="FILE")
    p.add_argument("--tls-key", metavar="FILE")
    p.add_argument("--tls-client-ca", metavar="FILE")
    p.add_argument("--tls-request-client-cert", action="store_true",
                   help="ask TLS clients for a certificate (cert auth), not require one")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--namespaces", action="store_true",
                   help="Enterprise-like namespaces (sys/namespaces, X-Vault-Namespace)")
    p.add_argument("--unix-socket", metavar="PATH",
                   help="also listen on a unix socket as Vault Agent with auto-auth")
    p.add_argument("--agent-listen", metavar="ADDR:PORT",
                   help="also listen on TCP as Vault Agent (require_request_header)")
    p.add_argument("--agent-port-file", metavar="FILE")
    p.add_argument("--agent-token", metavar="TOKEN",
                   help="the agent's auto-auth token (default: the root token)")
    args = p.parse_args(norm)
    if bool(args.tls_cert) != bool(args.tls_key):
        p.error("--tls-cert and --tls-key go together")
    if args.agent_port_file and not args.agent_listen:
        p.error("--agent-port-file needs --agent-listen")
    if args.tls_request_client_cert and not args.tls_cert:
        p.error("--tls-request-client-cert needs --tls-cert and --tls-key")
    if args.tls_client_ca and not args.tls_cert:
        p.error("--tls-client-ca needs --tls-cert and --tls-key")
    if not args.dev_root_token_id or "." in args.dev_root_token_id:
        p.error("-dev-root-token-id must be non-empty and contain no '.'")
    return p, args


def split_address(p, text):
    m = re.fullmatch(r"\[([^\]]+)\]:(\d+)|([^:\[\]]+):(\d+)", text)
    if not m:
        p.error("-dev-listen-address must be HOST:PORT, got %r" % text)
    host = m.group(1) or m.group(3)
    port = int(m.group(2) or m.group(4))
    if host not in LOOPBACK_NAMES:
        p.error("refusing to listen on %s: only 127.0.0.1, ::1 or localhost" % host)
    if port > 65535:
        p.error("bad port %d" % port)
    if host == "localhost":
        host = "127.0.0.1"
    return host, port


def write_port_file(path, port):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.replace(tmp, path)


def main(argv):
    p, args = parse_args(argv)
    host, port = split_address(p, args.dev_listen_address)
    tls_ctx = None
    if args.tls_cert:
        tls_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls_ctx.load_cert_chain(args.tls_cert, args.tls_key)
        if args.tls_client_ca:
            tls_ctx.verify_mode = ssl.CERT_REQUIRED
            tls_ctx.load_verify_locations(args.tls_client_ca)
        if args.tls_request_client_cert:
            # tls.RequestClientCert as Vault's listener does it; Python can
            # only verify what is presented, against the CAs that
            # auth/cert/certs/NAME writes add.
            tls_ctx.verify_mode = ssl.CERT_OPTIONAL
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    state = State(args.dev_root_token_id)
    state.tls_ctx = tls_ctx
    if args.namespaces:
        state.namespaces = {}
    state.request_client_cert = bool(args.tls_request_client_cert)
    srv = DevServer((host, port), family, state, args.quiet, tls_ctx)
    actual = srv.server_address[1]
    agent_token = args.agent_token or args.dev_root_token_id
    extra = []
    if args.unix_socket:
        extra.append(UnixDevServer(args.unix_socket, state, args.quiet,
                                   {"token": agent_token, "require_header": False}))
    if args.agent_listen:
        ahost, aport = split_address(p, args.agent_listen)
        asrv = DevServer((ahost, aport), socket.AF_INET6 if ":" in ahost else socket.AF_INET,
                         state, args.quiet, None,
                         {"token": agent_token, "require_header": True})
        extra.append(asrv)
        if args.agent_port_file:
            write_port_file(args.agent_port_file, asrv.server_address[1])
    for x in extra:
        threading.Thread(target=x.serve_forever, kwargs={"poll_interval": 0.2},
                         daemon=True).start()
    if args.port_file:
        write_port_file(args.port_file, actual)
    scheme = "https" if tls_ctx else "http"
    shown = "[%s]" % host if family == socket.AF_INET6 else host
    # The one startup line; the root token is deliberately not shown.
    sys.stderr.write("vault-dev: listening on %s://%s:%d (Vault %s API, in-memory)\n"
                     % (scheme, shown, actual, VERSION))
    sys.stderr.flush()
    # SIGTERM (how tests stop the server) runs the clean-up below too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        srv.server_close()
        if args.unix_socket:
            try:
                os.unlink(args.unix_socket)
            except OSError:
                pass
    return 0
