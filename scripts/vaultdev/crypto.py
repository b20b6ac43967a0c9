"""Just enough DER, RSA, X.509 and JWT for the kubernetes, jwt and cert auth methods."""

import base64
import binascii
import hashlib
import hmac
import json
import re
import time


def b64url_decode(text):
    text = text + "=" * (-len(text) % 4)
    return base64.urlsafe_b64decode(text.encode("ascii"))


# -- DER, just enough for RSA public keys and certificate extensions --------
def der_read(buf, pos):
    """One TLV at pos: (tag, value bytes, next position)."""
    tag = buf[pos]
    length = buf[pos + 1]
    pos += 2
    if length & 0x80:
        n = length & 0x7F
        if n == 0 or n > 4:
            raise ValueError("bad DER length")
        length = int.from_bytes(buf[pos:pos + n], "big")
        pos += n
    if pos + length > len(buf):
        raise ValueError("truncated DER")
    return tag, buf[pos:pos + length], pos + length


def der_children(value):
    out, pos = [], 0
    while pos < len(value):
        tag, val, pos = der_read(value, pos)
        out.append((tag, val))
    return out


RSA_OID = bytes.fromhex("2a864886f70d010101")   # 1.2.840.113549.1.1.1


def pem_blocks(text, label):
    pat = re.compile(r"-----BEGIN %s-----(.*?)-----END %s-----" % (label, label), re.S)
    return [base64.b64decode("".join(m.group(1).split())) for m in pat.finditer(text)]


def rsa_key_from_spki(der):
    """SubjectPublicKeyInfo DER -> (n, e); ValueError unless RSA."""
    tag, spki, _ = der_read(der, 0)
    if tag != 0x30:
        raise ValueError("not a SubjectPublicKeyInfo")
    (atag, alg), (btag, bits) = der_children(spki)[:2]
    oid = der_children(alg)[0]
    if atag != 0x30 or oid != (0x06, RSA_OID) or btag != 0x03:
        raise ValueError("not an RSA public key")
    tag, rsakey, _ = der_read(bits[1:], 0)   # skip the unused-bits byte
    (ntag, n), (etag, e) = der_children(rsakey)[:2]
    if ntag != 0x02 or etag != 0x02:
        raise ValueError("bad RSA public key")
    return int.from_bytes(n, "big"), int.from_bytes(e, "big")


def parse_public_keys(pems):
    """PEM public keys ("PUBLIC KEY" or a certificate's key) -> [(n, e)].
    Raises ValueError with Vault's wording on anything unusable."""
    keys = []
    for pem in pems:
        found = pem_blocks(pem, "PUBLIC KEY")
        for cert in pem_blocks(pem, "CERTIFICATE"):
            found.append(cert_spki(cert))
        if not found:
            raise ValueError("data does not contain any valid RSA or ECDSA public keys")
        for der in found:
            keys.append(rsa_key_from_spki(der))
    return keys


def cert_tbs(der):
    """A certificate's TBSCertificate fields (children list)."""
    _t, cert, _ = der_read(der, 0)
    tbs = der_children(cert)[0][1]
    fields = der_children(tbs)
    if fields and fields[0][0] == 0xA0:       # explicit version
        fields = fields[1:]
    return fields


def cert_spki(der):
    fields = cert_tbs(der)
    # serial, signature alg, issuer, validity, subject, spki
    tag, val = fields[5]
    return bytes([0x30]) + der_len(len(val)) + val


def der_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


# DigestInfo prefix of SHA-256 (RFC 8017 section 9.2, note 1).
SHA256_DIGESTINFO = bytes.fromhex("3031300d060960864801650304020105000420")


def rs256_verify(keys, signing_input, sig):
    """RSASSA-PKCS1-v1_5 with SHA-256: pow(sig, e, n) must be exactly
    00 01 FF..FF 00 DigestInfo(SHA-256, hash) (at least 8 FF bytes)."""
    digest = hashlib.sha256(signing_input).digest()
    for n, e in keys:
        k = (n.bit_length() + 7) // 8
        if len(sig) != k:
            continue
        m = pow(int.from_bytes(sig, "big"), e, n)
        if m >= n:
            continue
        em = m.to_bytes(k, "big")
        t = SHA256_DIGESTINFO + digest
        ps = k - len(t) - 3
        if ps < 8:
            continue
        if hmac.compare_digest(em, b"\x00\x01" + b"\xff" * ps + b"\x00" + t):
            return True
    return False


OID_CN = bytes.fromhex("550403")
OID_SKI = bytes.fromhex("551d0e")
OID_AKI = bytes.fromhex("551d23")


def colon_hex(b):
    return ":".join("%02x" % x for x in b)


def cert_info(der):
    """What cert auth needs from a DER certificate: issuer and subject
    Names (raw DER), CN, serial, and the key id extensions."""
    fields = cert_tbs(der)
    serial = int.from_bytes(fields[0][1], "big")
    issuer, subject = fields[2][1], fields[4][1]
    cn = ""
    for _t, rdn in der_children(subject):
        for _t2, atv in der_children(rdn):
            kids = der_children(atv)
            if kids[0] == (0x06, OID_CN):
                cn = kids[1][1].decode("utf-8", "replace")
    ski = aki = ""
    for tag, val in fields[5:]:
        if tag != 0xA3:
            continue
        for _t, ext in der_children(der_children(val)[0][1]):
            kids = der_children(ext)
            oid, octets = kids[0][1], kids[-1][1]
            if oid == OID_SKI:
                ski = colon_hex(der_children(octets)[0][1])
            elif oid == OID_AKI:
                for t, v in der_children(der_children(octets)[0][1]):
                    if t == 0x80:
                        aki = colon_hex(v)
    return {"der": der, "issuer": issuer, "subject": subject, "cn": cn, "serial": serial,
            "serial_text": colon_hex(fields[0][1]), "ski": ski, "aki": aki}


class JWTError(Exception):
    pass


def jwt_verify(token, keys):
    """Parses a compact JWS and checks its RS256 signature.  Returns the
    claims; raises JWTError with Vault's error text."""
    if not isinstance(token, str):
        raise JWTError("error parsing token")
    parts = token.split(".")
    if len(parts) != 3:
        raise JWTError("error parsing token")
    try:
        header = json.loads(b64url_decode(parts[0]))
        claims = json.loads(b64url_decode(parts[1]))
        sig = b64url_decode(parts[2])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise JWTError("error parsing token")
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise JWTError("error parsing token")
    if header.get("alg") != "RS256" or not rs256_verify(
            keys, (parts[0] + "." + parts[1]).encode("ascii"), sig):
        raise JWTError("error verifying token signature: no known key successfully "
                       "validated the token signature")
    return claims


def jwt_time_claims(claims, leeway=150):
    """exp / nbf / iat as hashicorp/cap/jwt checks them (150 s leeway in
    the jwt plugin's default clock_skew_leeway 60s + expiration_leeway
    150s; nbf uses not_before_leeway 150s)."""
    now = time.time()
    for name in ("exp", "nbf", "iat"):
        if name in claims and not isinstance(claims[name], (int, float)):
            raise JWTError("error parsing claims")
    if "exp" in claims and now > claims["exp"] + leeway:
        raise JWTError("invalid expiration time (exp) claim: token is expired")
    if "nbf" in claims and now + leeway < claims["nbf"]:
        raise JWTError("invalid not before (nbf) claim: token not yet valid")
    if "iat" in claims and now + leeway < claims["iat"]:
        raise JWTError("invalid issued at (iat) claim: token issued in the future")
