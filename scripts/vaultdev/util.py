"""Constants and small helpers: time, durations, ids, errors and replies."""

import re
import secrets
import string
import time

from .gojson import go_encode, sys_injected


VERSION = "1.8.0-dev"
# Dev mode's system default and max lease TTL (768h), which is what tokens
# created without a ttl receive in a real dev server.
SYSTEM_MAX_TTL = 768 * 3600
# KV v2 keeps 10 versions when neither the key nor the mount sets max_versions.
KV_DEFAULT_MAX_VERSIONS = 10


def rfc3339nano(ns):
    """Go's time.Format(time.RFC3339Nano) in UTC: trailing zeros trimmed."""
    sec, frac = divmod(ns, 1_000_000_000)
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
    if frac:
        base += "." + ("%09d" % frac).rstrip("0")
    return base + "Z"


_DUR_RE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_DUR_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def parse_duration(value):
    """parseutil.ParseDurationSecond: ints are seconds, strings are either
    integers (seconds) or Go durations ("1h30m").  Returns whole seconds."""
    if value is None or value == "":
        return 0
    if isinstance(value, bool):
        raise ValueError("invalid duration")
    if isinstance(value, (int, float)):
        return int(value)
    text = str(value).strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if re.fullmatch(r"-?\d+(?:\.\d+)?[dD]", text):  # parseutil also knows days
        return int(float(text[:-1]) * 86400)
    neg = text.startswith("-")
    body = text.lstrip("+-")
    pos, total = 0, 0.0
    for m in _DUR_RE.finditer(body):
        if m.start() != pos:
            raise ValueError('time: invalid duration "%s"' % text)
        total += float(m.group(1)) * _DUR_UNITS[m.group(2)]
        pos = m.end()
    if pos != len(body) or not body:
        raise ValueError('time: invalid duration "%s"' % text)
    return int(-total if neg else total)


def go_duration(seconds):
    """time.Duration.String() for whole seconds: 0s, 45s, 1m30s, 1h0m0s."""
    if seconds == 0:
        return "0s"
    sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    if h:
        return "%s%dh%dm%ds" % (sign, h, m, s)
    if m:
        return "%s%dm%ds" % (sign, m, s)
    return "%s%ds" % (sign, s)


_B62 = string.ascii_letters + string.digits


def rand62(n=24):
    return "".join(secrets.choice(_B62) for _ in range(n))


def rand_hex(n=8):
    return secrets.token_hex(n // 2)


# strconv.ParseBool's vocabulary.
GO_BOOLS = {"1": True, "t": True, "T": True, "TRUE": True, "true": True, "True": True,
            "0": False, "f": False, "F": False, "FALSE": False, "false": False,
            "False": False}


def multierr(msg):
    """hashicorp/go-multierror's text for one error, which Vault's core
    returns for ACL denials and unsupported operations."""
    return "1 error occurred:\n\t* %s\n\n" % msg


def capped_ttl(ttl, issued_at, max_ttls):
    """framework.CalculateTTL for renewals: the new TTL counts from now but
    may not pass issue time + the smallest non-zero max TTL (else the
    system max, 768h).  Returns (ttl, warnings or None): a capped TTL
    carries Vault's warning."""
    limits = [m for m in max_ttls if m] or [SYSTEM_MAX_TTL]
    max_ttl = min(limits)
    left = max(0, int(issued_at + max_ttl - time.time()))
    if ttl > left:
        return left, ['TTL of "%s" exceeded the effective max_ttl of "%s"; TTL value is '
                      'capped accordingly' % (go_duration(ttl), go_duration(left))]
    return ttl, None


class VaultError(Exception):
    """An error answer: status plus `{"errors":[...]}`, or a full body."""

    def __init__(self, status, *errors, body=None):
        super().__init__(status, errors)
        self.status = status
        self.errors = list(errors)
        self.body = body


class Reply:
    """A successful answer: status, body bytes (None = no body)."""

    def __init__(self, status=200, body=None, headers=None):
        self.status = status
        self.body = body
        self.headers = headers or []
        self.env = None  # the envelope, for answers that have one


def ok(env, injected=False):
    reply = Reply(200, sys_injected(env) if injected else go_encode(env))
    reply.env = env
    return reply


NO_CONTENT = Reply(204, None)


def missing():
    # Vault answers a read of nothing with 404 and an empty errors list.
    return VaultError(404)
