"""HTTP layer helpers: loopback clients, path cleaning, what may be logged."""

import ipaddress


LOOPBACK_NAMES = ("127.0.0.1", "::1", "localhost")


def is_loopback(host):
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def clean_path(path):
    """path.Clean as Go's ServeMux applies it (keeping a trailing slash)."""
    if not path.startswith("/"):
        path = "/" + path
    out = []
    for seg in path.split("/")[1:]:
        if seg in ("", "."):
            continue
        if seg == "..":
            if out:
                out.pop()
            continue
        out.append(seg)
    clean = "/" + "/".join(out)
    if path.endswith("/") and clean != "/":
        clean += "/"
    return clean


def loggable(path):
    """The request path for the log line.  Below /v1/auth/ a path may carry
    a token or accessor (auth/token/lookup/TOKEN ...), so only the first
    three segments after /v1/ are shown there."""
    parts = path.split("/")
    if len(parts) > 5 and parts[1] == "v1" and parts[2] == "auth":
        return "/".join(parts[:5]) + "/..."
    return path
