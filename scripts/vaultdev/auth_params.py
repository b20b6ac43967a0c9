"""Helpers shared by the auth methods: mount types, field parsing and the token_* parameters."""

from .util import VaultError, parse_duration


# Mount type -> handler suffix (auth_approle ...).  "oidc" is the jwt plugin.
AUTH_TYPES = {"approle": "approle", "kubernetes": "kubernetes", "jwt": "jwt",
              "oidc": "jwt", "cert": "cert"}


def str_list(value):
    """A Vault comma-string-slice field: a list, or "a,b"."""
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    raise ValueError("not a list")


def field_error(name):
    return VaultError(400, 'error converting input for field "%s"' % name)


def token_params(data, old=None):
    """tokenutil.TokenParams of a role: the token_* fields (and the legacy
    policies/ttl/max_ttl/period names), merged over an existing role."""
    out = dict(old or {"token_policies": [], "token_ttl": 0, "token_max_ttl": 0,
                       "token_explicit_max_ttl": 0, "token_num_uses": 0,
                       "token_period": 0, "token_no_default_policy": False,
                       "token_bound_cidrs": [], "token_type": "default"})
    aliases = {"policies": "token_policies", "ttl": "token_ttl", "max_ttl": "token_max_ttl",
               "period": "token_period"}
    for k, v in list(data.items()):
        if k in aliases and aliases[k] not in data:
            data[aliases[k]] = v
    for k in ("token_ttl", "token_max_ttl", "token_explicit_max_ttl", "token_period"):
        if k in data:
            try:
                out[k] = parse_duration(data[k])
            except ValueError:
                raise field_error(k)
    if "token_policies" in data:
        try:
            out["token_policies"] = sorted({p.lower() for p in str_list(data["token_policies"])})
        except ValueError:
            raise field_error("token_policies")
    if "token_bound_cidrs" in data:
        out["token_bound_cidrs"] = str_list(data["token_bound_cidrs"])
    if "token_num_uses" in data:
        try:
            out["token_num_uses"] = int(data["token_num_uses"])
        except (TypeError, ValueError):
            raise field_error("token_num_uses")
    if "token_no_default_policy" in data:
        out["token_no_default_policy"] = bool(data["token_no_default_policy"])
    if "token_type" in data:
        out["token_type"] = str(data["token_type"])
    if out["token_max_ttl"] and out["token_ttl"] > out["token_max_ttl"]:
        raise VaultError(400, "\"token_ttl\" value must be less than \"token_max_ttl\"")
    return out


def token_params_view(params):
    """The token_* fields as a role read shows them."""
    return {"token_bound_cidrs": params["token_bound_cidrs"],
            "token_explicit_max_ttl": params["token_explicit_max_ttl"],
            "token_max_ttl": params["token_max_ttl"],
            "token_no_default_policy": params["token_no_default_policy"],
            "token_num_uses": params["token_num_uses"],
            "token_period": params["token_period"],
            "token_policies": params["token_policies"],
            "token_ttl": params["token_ttl"],
            "token_type": params["token_type"]}
