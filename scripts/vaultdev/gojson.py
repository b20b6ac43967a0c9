"""JSON exactly as Vault's Go encoder writes it, and the response envelope."""

import json
import uuid


class Struct(dict):
    """A Go struct: keys keep their declaration order when encoded.

    Plain dicts stand for Go maps, which encoding/json always writes with
    sorted keys (that is why recorded secret data comes out sorted)."""


def _go_value(value):
    if isinstance(value, Struct):
        return {k: _go_value(v) for k, v in value.items()}
    if isinstance(value, dict):
        return {k: _go_value(value[k]) for k in sorted(value)}
    if isinstance(value, (list, tuple)):
        return [_go_value(v) for v in value]
    return value


def _go_escape(text):
    # Go's json.Encoder escapes HTML characters and the JS line separators by
    # default and writes other non-ASCII characters as raw UTF-8.
    return (text.replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("&", "\\u0026").replace("\u2028", "\\u2028")
            .replace("\u2029", "\\u2029"))


def go_marshal(value):
    """json.Marshal: compact, no trailing newline."""
    return _go_escape(json.dumps(_go_value(value), separators=(",", ":"),
                                 ensure_ascii=False))


def go_encode(value):
    """json.NewEncoder(w).Encode: json.Marshal plus a newline (Vault's
    Content-Length counts that newline, see the recorded 206-byte body)."""
    return (go_marshal(value) + "\n").encode("utf-8")


def envelope(data=None, warnings=None, auth=None, lease_duration=0,
             lease_id="", renewable=False, request_id=None):
    """logical.HTTPResponse in its field order."""
    return Struct([
        ("request_id", request_id if request_id is not None else str(uuid.uuid4())),
        ("lease_id", lease_id),
        ("renewable", renewable),
        ("lease_duration", lease_duration),
        ("data", data),
        ("wrap_info", None),
        ("warnings", warnings),
        ("auth", auth),
    ])


def sys_injected(env):
    """logical.HTTPSysInjector: the legacy sys/ routes (sys/mounts,
    sys/policy, sys/capabilities-self ...) repeat every data key at the top
    level, each written as `"k": v, ` (with spaces) before the envelope."""
    body = go_marshal(env)
    data = env.get("data")
    if not data:
        return (body + "\n").encode("utf-8")
    # Go ranges over a map in random order; sorted is one of those orders.
    parts = ["%s: %s, " % (go_marshal(k), go_marshal(data[k])) for k in sorted(data)]
    return ("{" + "".join(parts) + body[1:] + "\n").encode("utf-8")
