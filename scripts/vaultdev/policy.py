"""Policies: the HCL subset real ACL policies use, and Vault's ACL matching."""

import json
import re


CAPS = ("create", "read", "update", "delete", "list", "sudo", "deny")
# Legacy `policy = "..."` shorthand (vault/policy.go).
LEGACY_POLICY = {
    "deny": {"deny"},
    "read": {"read", "list"},
    "write": {"create", "read", "update", "delete", "list"},
    "sudo": {"create", "read", "update", "delete", "list", "sudo"},
}

_HCL_TOKEN = re.compile(r'''
    (?P<ws>\s+)
  | (?P<comment>\#[^\n]*|//[^\n]*|/\*.*?\*/)
  | (?P<str>"(?:[^"\\]|\\.)*")
  | (?P<heredoc><<-?(?P<tag>[A-Za-z_]+)\n.*?\n\s*(?P=tag))
  | (?P<num>-?\d+(?:\.\d+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_\-.]*)
  | (?P<punct>[{}\[\]=,:])
''', re.S | re.X)


def _hcl_tokens(text):
    pos, out = 0, []
    while pos < len(text):
        m = _HCL_TOKEN.match(text, pos)
        if not m:
            raise ValueError("illegal char at offset %d" % pos)
        pos = m.end()
        kind = m.lastgroup if m.lastgroup != "tag" else "heredoc"
        if kind in ("ws", "comment"):
            continue
        val = m.group(kind)
        if kind == "str":
            val = json.loads(val)
        elif kind == "heredoc":
            val = val.split("\n", 1)[1].rsplit("\n", 1)[0] + "\n"
        out.append((kind, val))
    return out


class _HCLParser:
    """Just enough HCL 1 for policies: `key = value`, `key "label" { ... }`,
    strings, numbers, bools, lists and nested objects."""

    def __init__(self, text):
        self.toks = _hcl_tokens(text)
        self.i = 0

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else (None, None)

    def take(self, kind=None, val=None):
        tok = self.peek()
        if tok[0] is None or (kind and tok[0] != kind) or (val and tok[1] != val):
            raise ValueError("unexpected token %r" % (tok[1],))
        self.i += 1
        return tok

    def body(self, closing=None):
        items = []  # list of (key, labels, value): keys may repeat
        while True:
            kind, val = self.peek()
            if kind is None:
                if closing:
                    raise ValueError("unexpected end of policy")
                return items
            if kind == "punct" and val == closing:
                self.take()
                return items
            if kind not in ("ident", "str"):
                raise ValueError("unexpected token %r" % (val,))
            key = self.take()[1]
            labels = []
            while self.peek()[0] == "str":
                labels.append(self.take()[1])
            if self.peek() == ("punct", "{"):
                self.take()
                items.append((key, labels, self.body("}")))
            else:
                self.take("punct", "=") if self.peek()[1] == "=" else self.take("punct", ":")
                items.append((key, labels, self.value()))
            if self.peek() == ("punct", ","):
                self.take()

    def value(self):
        kind, val = self.take()
        if kind in ("str", "heredoc"):
            return val
        if kind == "num":
            return float(val) if "." in val else int(val)
        if kind == "ident" and val in ("true", "false"):
            return val == "true"
        if (kind, val) == ("punct", "["):
            out = []
            while self.peek() != ("punct", "]"):
                out.append(self.value())
                if self.peek() == ("punct", ","):
                    self.take()
            self.take()
            return out
        if (kind, val) == ("punct", "{"):
            return self.body("}")
        raise ValueError("unexpected token %r" % (val,))


def _json_items(text):
    """The JSON form of a policy (HCL's parser takes JSON too), as the
    (key, labels, value) items of the HCL form:
    {"path": {"GLOB": {"capabilities": [...]}}}; "path" may also be a list
    of such objects."""
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise ValueError("invalid JSON policy: %s" % e)
    if not isinstance(doc, dict):
        raise ValueError("a JSON policy is an object")
    items = []
    for key, value in doc.items():
        if key != "path":
            items.append((key, [], value))
            continue
        for block in value if isinstance(value, list) else [value]:
            if not isinstance(block, dict):
                raise ValueError("path must be an object of paths")
            for glob, body in block.items():
                if not isinstance(body, dict):
                    raise ValueError('path "%s" must be an object' % glob)
                items.append(("path", [glob], list((k, [], v) for k, v in body.items())))
    return items


def parse_policy(text):
    """Returns [(path_glob, set_of_caps)] or raises ValueError."""
    rules = []
    items = _json_items(text) if text.lstrip().startswith("{") else _HCLParser(text).body()
    for key, labels, value in items:
        if key == "name":
            continue
        if key != "path":
            raise ValueError('invalid key "%s"' % key)
        if len(labels) != 1 or not isinstance(value, list):
            raise ValueError("path must be of the form path \"GLOB\" { ... }")
        caps = set()
        for k, _l, v in value:
            if k == "capabilities":
                if not isinstance(v, list):
                    raise ValueError("capabilities must be a list")
                for c in v:
                    if c not in CAPS:
                        raise ValueError('path "%s": invalid capability "%s"' % (labels[0], c))
                    caps.add(c)
            elif k == "policy":
                if v not in LEGACY_POLICY:
                    raise ValueError('path "%s": invalid policy "%s"' % (labels[0], v))
                caps |= LEGACY_POLICY[v]
            # allowed_parameters, min_wrapping_ttl ... are accepted, not enforced
        path = labels[0].lstrip("/")  # Vault trims a leading slash too
        rules.append((path, caps))
    return rules


class ACL:
    """vault/acl.go: rules of all a token's policies merged per path; exact
    rules win, then the most specific of the longest glob prefix and the
    `+` segment-wildcard rules; `deny` anywhere in the chosen rule wins."""

    def __init__(self, policy_rules, root=False):
        self.root = root
        self.exact, self.prefix, self.segment = {}, {}, {}
        for rules in policy_rules:
            for path, caps in rules:
                if "{{" in path:
                    # Templated paths render from the token's identity entity;
                    # tokens here have none, so (as in Vault) the rule is dropped.
                    continue
                if "+" in path:
                    table = self.segment
                elif path.endswith("*"):
                    table, path = self.prefix, path[:-1]
                else:
                    table = self.exact
                merged = table.setdefault(path, set())
                merged |= caps
                if "deny" in merged:
                    merged.clear()
                    merged.add("deny")

    def _non_exact(self, path):
        cands = []  # (first_wc_or_glob, is_prefix, wildcards, wc_path, caps)
        best = None
        for p in self.prefix:
            if path.startswith(p) and (best is None or len(p) > len(best)):
                best = p
        if best is not None:
            cands.append((len(best), True, 0, best, self.prefix[best]))
        parts = path.split("/")
        for full, caps in self.segment.items():
            is_prefix = full.endswith("*")
            wc = full[:-1] if is_prefix else full
            wparts = wc.split("/")
            if len(parts) < len(wparts) or (not is_prefix and len(parts) != len(wparts)):
                continue
            wildcards, matched = 0, True
            for i, seg in enumerate(wparts):
                if seg == "+":
                    wildcards += 1
                elif seg == parts[i]:
                    pass
                elif is_prefix and i == len(wparts) - 1 and parts[i].startswith(seg):
                    pass
                else:
                    matched = False
                    break
            if matched:
                cands.append((full.index("+"), is_prefix, wildcards, wc, caps))
        if not cands:
            return None

        # Priority as in CheckAllowedFromNonExactPaths: later first wildcard,
        # non-prefix over prefix, fewer wildcards, longer path, then lexical.
        def key(c):
            return (c[0], not c[1], -c[2], len(c[3]), [-ord(ch) for ch in c[3]])
        return max(cands, key=key)[4]

    def capabilities_for(self, path, listing=False):
        if self.root:
            return {"root"}
        caps = self.exact.get(path)
        if caps is None and listing:
            caps = self.exact.get(path.rstrip("/"))
        if caps is None:
            caps = self._non_exact(path)
        return caps or set()

    def allows(self, path, cap):
        if self.root:
            return True
        caps = self.capabilities_for(path, listing=(cap == "list"))
        return "deny" not in caps and cap in caps

    def capabilities(self, path):
        """sys/capabilities-self's answer for one path."""
        if self.root:
            return ["root"]
        caps = self.capabilities_for(path)
        if not caps or "deny" in caps:
            return ["deny"]
        return sorted(caps)

    def has_mount_access(self, mount_path):
        """logical_system.go hasMountAccess: any capability on the mount path
        itself, or any non-deny exact/glob rule below it."""
        if self.root:
            return True
        if "deny" not in self.capabilities(mount_path):
            return True
        for table in (self.exact, self.prefix):
            for p, caps in table.items():
                if p.startswith(mount_path) and caps and "deny" not in caps:
                    return True
        # CheckAllowedFromNonExactPaths(path, bareMount=true): a `+` rule
        # whose leading segments fit the mount path also counts.
        mparts = mount_path.rstrip("/").split("/")
        for p, caps in self.segment.items():
            if not caps or "deny" in caps:
                continue
            wparts = p.rstrip("*").split("/")
            if len(wparts) > len(mparts) and all(
                    w == "+" or w == m for w, m in zip(wparts, mparts)):
                return True
        return False


# The default policy of Vault 1.8 (vault/policy_store.go).  Templated
# identity paths are kept verbatim: with no entities they never match.
DEFAULT_POLICY = """
# Allow tokens to look up their own properties
path "auth/token/lookup-self" {
    capabilities = ["read"]
}

# Allow tokens to renew themselves
path "auth/token/renew-self" {
    capabilities = ["update"]
}

# Allow tokens to revoke themselves
path "auth/token/revoke-self" {
    capabilities = ["update"]
}

# Allow a token to look up its own capabilities on a path
path "sys/capabilities-self" {
    capabilities = ["update"]
}

# Allow a token to look up its own entity by id or name
path "identity/entity/id/{{identity.entity.id}}" {
  capabilities = ["read"]
}
path "identity/entity/name/{{identity.entity.name}}" {
  capabilities = ["read"]
}


# Allow a token to look up its resultant ACL from all policies. This is useful
# for UIs. It is an internal path because the format may change at any time
# based on how the internal ACL features and capabilities change.
path "sys/internal/ui/resultant-acl" {
    capabilities = ["read"]
}

# Allow a token to renew a lease via lease_id in the request body; old path for
# old clients, new path for newer
path "sys/renew" {
    capabilities = ["update"]
}
path "sys/leases/renew" {
    capabilities = ["update"]
}

# Allow looking up lease properties. This requires knowing the lease ID ahead
# of time and does not divulge any sensitive information.
path "sys/leases/lookup" {
    capabilities = ["update"]
}

# Allow a token to manage its own cubbyhole
path "cubbyhole/*" {
    capabilities = ["create", "read", "update", "delete", "list"]
}

# Allow a token to wrap arbitrary values in a response-wrapping token
path "sys/wrapping/wrap" {
    capabilities = ["update"]
}

# Allow a token to look up the creation time and TTL of a given
# response-wrapping token
path "sys/wrapping/lookup" {
    capabilities = ["update"]
}

# Allow a token to unwrap a response-wrapping token. This is a convenience to
# avoid client token swapping since this is also part of the response wrapping
# policy.
path "sys/wrapping/unwrap" {
    capabilities = ["update"]
}

# Allow general purpose tools
path "sys/tools/hash" {
    capabilities = ["update"]
}
path "sys/tools/hash/*" {
    capabilities = ["update"]
}

# Allow checking the status of a Control Group request if the user has the
# accessor
path "sys/control-group/request" {
    capabilities = ["update"]
}
"""


# vault/policy_store.go: the fixed policy of response-wrapping tokens.
RESPONSE_WRAPPING_POLICY = """
path "cubbyhole/response" {
    capabilities = ["create", "read"]
}

path "sys/wrapping/unwrap" {
    capabilities = ["update"]
}
"""
