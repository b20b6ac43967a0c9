"""Auth method cert (builtin/credential/cert)."""

import binascii
import re

from .auth_params import str_list, token_params, token_params_view
from .crypto import cert_info, pem_blocks
from .gojson import envelope
from .util import NO_CONTENT, VaultError, missing, multierr, ok


class CertAuth:
    """cert, as its plugin in Vault 1.8 (a mixin of AuthMethods)."""

    # -- cert (builtin/credential/cert) ----------------------------------------
    def auth_cert(self, req, name, mount, rest):
        be = mount.backend
        data = req.data if isinstance(req.data, dict) else {}
        if rest == "login":
            return self.cert_login(req, mount, data)
        self.need_auth_token(req)
        if rest in ("certs", "certs/"):
            return self.roles_list(req, be["roles"])
        m = re.match(r"^certs/([^/]+)$", rest)
        if not m:
            raise VaultError(404, multierr("unsupported path"))
        cname = m.group(1).lower()
        entry = be["roles"].get(cname)
        if req.op == "read":
            if entry is None:
                raise missing()
            view = token_params_view(entry["token"])
            view.update({"certificate": entry["certificate"],
                         "display_name": entry["display_name"],
                         "allowed_common_names": entry["allowed_common_names"],
                         "policies": entry["token"]["token_policies"]})
            return ok(envelope(view))
        if req.op == "delete":
            be["roles"].pop(cname, None)
            return NO_CONTENT
        if req.op != "update":
            raise VaultError(405, multierr("unsupported operation"))
        entry = dict(entry or {"certificate": "", "display_name": cname,
                               "allowed_common_names": [], "token": None, "cas": []})
        if "certificate" in data:
            entry["certificate"] = str(data["certificate"] or "")
        if "display_name" in data:
            entry["display_name"] = str(data["display_name"] or cname)
        if "allowed_common_names" in data:
            entry["allowed_common_names"] = str_list(data["allowed_common_names"])
        if not entry["certificate"]:
            raise VaultError(400, "must specify certificate")
        try:
            ders = pem_blocks(entry["certificate"], "CERTIFICATE")
            entry["cas"] = [cert_info(d) for d in ders]
        except (ValueError, IndexError, binascii.Error):
            ders = []
        if not ders:
            raise VaultError(400, "failed to parse certificate")
        entry["token"] = token_params(dict(data), entry["token"])
        be["roles"][cname] = entry
        # The TLS listener asks for client certificates (CERT_OPTIONAL) and
        # OpenSSL checks them against every CA written here.
        ctx = self.st.tls_ctx
        if ctx is not None and self.st.request_client_cert:
            ctx.load_verify_locations(cadata=entry["certificate"])
        return NO_CONTENT

    def cert_login(self, req, mount, data):
        if req.op != "update":
            raise VaultError(405, multierr("unsupported operation"))
        be = mount.backend
        der = getattr(req, "peer_cert", None)
        if not der:
            raise VaultError(400, "client certificate must be supplied")
        try:
            leaf = cert_info(der)
        except (ValueError, IndexError):
            raise VaultError(400, "failed to parse client certificate")
        want = str(data.get("name") or "").lower()
        names = [want] if want else sorted(be["roles"])
        for cname in names:
            entry = be["roles"].get(cname)
            if entry is None:
                continue
            # The handshake already verified the chain against all trusted
            # CAs; the entry matches when it holds the issuing CA (or the
            # very certificate).
            if not any(ca["subject"] == leaf["issuer"] or ca["der"] == leaf["der"]
                       for ca in entry["cas"]):
                continue
            if entry["allowed_common_names"] and leaf["cn"] not in entry["allowed_common_names"]:
                continue
            meta = {"authority_key_id": leaf["aki"], "cert_name": cname,
                    "common_name": leaf["cn"], "serial_number": str(leaf["serial"]),
                    "subject_key_id": leaf["ski"]}
            return self.issue_token(req, mount, entry["token"], meta,
                                    "cert-" + entry["display_name"], leaf["serial_text"])
        raise VaultError(400, "invalid certificate or no client certificate supplied")
