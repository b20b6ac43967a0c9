#!/usr/bin/env python3
"""Cross-check scripts/vault-dev against hvac, an independent Vault client.

hvac (Debian's python3-hvac) was written against real Vault; if it works
against vault-dev for KV v1/v2, policies, tokens, health and seal/unseal,
the dev server is faithful where it matters.  A few byte-level checks with
urllib compare answers with /work/shared/vault-api/recordings-vault-1.8.txt.

Run with Debian's interpreter (hvac lives in /usr/lib/python3/dist-packages):

    /usr/bin/python3 tests/integration/project/hvac_check.py

VAULT_DEV (or VE_VAULT_DEV, set by meson) may name the server script;
default: ../../../scripts/vault-dev.
Never prints a token or a secret value: assertion messages are written so
that only names, statuses and shapes can appear in them.
"""

import base64
import http.client
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

try:
    import hvac
    import hvac.exceptions
except ImportError:  # pragma: no cover - environment problem, not a test failure
    sys.stderr.write("hvac_check: python3-hvac is not importable; run with /usr/bin/python3\n")
    sys.exit(2)

HERE = os.path.dirname(os.path.abspath(__file__))
# VAULT_DEV, else meson's VE_VAULT_DEV, else the script next to this checkout.
VAULT_DEV = (os.environ.get("VAULT_DEV") or os.environ.get("VE_VAULT_DEV")
             or os.path.join(HERE, "..", "..", "..", "scripts", "vault-dev"))


class Server:
    """Starts vault-dev on an ephemeral loopback port with a random root token."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="hvac-check-")
        self.port_file = os.path.join(self.tmp, "port")
        self.root_token = "t" + secrets.token_hex(12)
        self.log = open(os.path.join(self.tmp, "server.log"), "w+")
        self.proc = subprocess.Popen(
            [sys.executable, VAULT_DEV, "-dev-root-token-id=" + self.root_token,
             "-dev-listen-address=127.0.0.1:0", "--port-file", self.port_file, "--quiet"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("vault-dev exited early with status %s" % self.proc.returncode)
            try:
                with open(self.port_file) as f:
                    text = f.read().strip()
                if text:
                    self.port = int(text)
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.05)
        else:
            self.stop()
            raise RuntimeError("vault-dev did not write its port file in time")
        self.url = "http://127.0.0.1:%d" % self.port

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def raw(self, method, path, token=None, body=None, headers=None):
        """One HTTP exchange; returns (status, headers, body bytes)."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if token is not None:
            req.add_header("X-Vault-Token", token)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as e:
            with e:
                return e.code, e.headers, e.read()


SERVER = None


def setUpModule():
    global SERVER
    SERVER = Server()


def tearDownModule():
    if SERVER is not None:
        SERVER.stop()
    if KEYS is not None:
        KEYS.cleanup()


class VaultDevTestCase(unittest.TestCase):
    def setUp(self):
        self._clients = []

    def tearDown(self):
        for c in self._clients:  # close pooled keep-alive connections
            c.adapter.close()

    def client(self, token=None):
        c = hvac.Client(url=SERVER.url, token=token or SERVER.root_token, timeout=10)
        self._clients.append(c)
        return c


class KVv2Test(VaultDevTestCase):
    PATH = "hvac/kv2/app"

    def test_kv2_lifecycle(self):
        kv = self.client().secrets.kv.v2
        r1 = kv.create_or_update_secret(self.PATH, secret={"password": "fake-pw-1", "user": "u1"})
        self.assertEqual(r1["data"]["version"], 1)
        r2 = kv.create_or_update_secret(self.PATH, secret={"password": "fake-pw-2", "user": "u1"},
                                        cas=1)
        self.assertEqual(r2["data"]["version"], 2)

        latest = kv.read_secret_version(self.PATH)
        self.assertTrue(latest["data"]["data"]["password"] == "fake-pw-2",
                        "latest version does not hold the second value")
        self.assertEqual(latest["data"]["metadata"]["version"], 2)
        first = kv.read_secret_version(self.PATH, version=1)
        self.assertTrue(first["data"]["data"]["password"] == "fake-pw-1",
                        "version=1 does not hold the first value")
        self.assertEqual(list(first["data"]["data"]), ["password", "user"])

        kv.create_or_update_secret("hvac/kv2/sub/leaf", secret={"k": "fake-pw-3"})
        listing = kv.list_secrets("hvac/kv2")
        self.assertIn("app", listing["data"]["keys"])
        self.assertIn("sub/", listing["data"]["keys"])
        self.assertEqual(listing["data"]["keys"], sorted(listing["data"]["keys"]))
        self.assertEqual(kv.list_secrets("hvac/kv2/sub")["data"]["keys"], ["leaf"])
        with self.assertRaises(hvac.exceptions.InvalidPath):
            kv.list_secrets("hvac/kv2/nothere")

        meta = kv.read_secret_metadata(self.PATH)["data"]
        self.assertEqual(meta["current_version"], 2)
        self.assertEqual(sorted(meta["versions"]), ["1", "2"])
        self.assertEqual(meta["delete_version_after"], "0s")

        kv.delete_latest_version_of_secret(self.PATH)
        with self.assertRaises(hvac.exceptions.InvalidPath):
            kv.read_secret_version(self.PATH)
        meta = kv.read_secret_metadata(self.PATH)["data"]
        self.assertNotEqual(meta["versions"]["2"]["deletion_time"], "")

        kv.destroy_secret_versions(self.PATH, versions=[1])
        with self.assertRaises(hvac.exceptions.InvalidPath):
            kv.read_secret_version(self.PATH, version=1)
        meta = kv.read_secret_metadata(self.PATH)["data"]
        self.assertTrue(meta["versions"]["1"]["destroyed"])

    def test_undelete_and_metadata_delete(self):
        kv = self.client().secrets.kv.v2
        path = "hvac/kv2/undel"
        kv.create_or_update_secret(path, secret={"k": "fake-pw-u"})
        kv.delete_secret_versions(path, versions=[1])
        with self.assertRaises(hvac.exceptions.InvalidPath):
            kv.read_secret_version(path)
        kv.undelete_secret_versions(path, versions=[1])
        self.assertEqual(kv.read_secret_version(path)["data"]["metadata"]["version"], 1)
        kv.delete_metadata_and_all_versions(path)
        with self.assertRaises(hvac.exceptions.InvalidPath):
            kv.read_secret_metadata(path)

    def test_cas_mismatch(self):
        kv = self.client().secrets.kv.v2
        path = "hvac/kv2/cas"
        kv.create_or_update_secret(path, secret={"k": "fake-pw-a"})
        with self.assertRaises(hvac.exceptions.InvalidRequest) as cm:
            kv.create_or_update_secret(path, secret={"k": "fake-pw-b"}, cas=0)
        self.assertEqual(cm.exception.errors,
                         ["check-and-set parameter did not match the current version"])

    def test_missing_secret(self):
        with self.assertRaises(hvac.exceptions.InvalidPath):
            self.client().secrets.kv.v2.read_secret_version("hvac/does/not/exist")


class KVv1Test(VaultDevTestCase):
    def test_kv1_mount_and_use(self):
        client = self.client()
        client.sys.enable_secrets_engine("kv", path="kv1", options={"version": "1"})
        mounts = client.sys.list_mounted_secrets_engines()["data"]
        self.assertEqual(mounts["kv1/"]["options"], {"version": "1"})
        self.assertEqual(mounts["secret/"]["options"], {"version": "2"})
        with self.assertRaises(hvac.exceptions.InvalidRequest):
            client.sys.enable_secrets_engine("kv", path="kv1", options={"version": "1"})

        kv = client.secrets.kv.v1
        kv.create_or_update_secret("app/db", secret={"password": "fake-pw-1", "ttl": "1h"},
                                   mount_point="kv1")
        got = kv.read_secret("app/db", mount_point="kv1")
        self.assertTrue(got["data"]["password"] == "fake-pw-1", "kv1 value differs")
        self.assertEqual(got["lease_duration"], 3600)
        self.assertEqual(kv.list_secrets("app", mount_point="kv1")["data"]["keys"], ["db"])
        kv.delete_secret("app/db", mount_point="kv1")
        with self.assertRaises(hvac.exceptions.InvalidPath):
            kv.read_secret("app/db", mount_point="kv1")


class AuthTest(VaultDevTestCase):
    def test_is_authenticated(self):
        self.assertTrue(self.client().is_authenticated())
        self.assertFalse(self.client(token="bogus-" + secrets.token_hex(4)).is_authenticated())

    def test_policy_and_child_token(self):
        root = self.client()
        root.secrets.kv.v2.create_or_update_secret("pol/app/db", secret={"k": "fake-pw-p"})
        root.secrets.kv.v2.create_or_update_secret("pol/other", secret={"k": "fake-pw-q"})
        policy = """
# read the app subtree only
path "secret/data/pol/app/*" {
  capabilities = ["read"]
}
// and list its metadata
path "secret/metadata/pol/+" { capabilities = ["list"] }
path "secret/data/pol/app/denied" { capabilities = ["deny"] }
"""
        root.sys.create_or_update_policy(name="pol-read", policy=policy)
        self.assertIn("pol-read", root.sys.list_policies()["data"]["policies"])
        self.assertIn("secret/data/pol/app/*", root.sys.read_policy("pol-read")["data"]["rules"])

        created = root.auth.token.create(policies=["pol-read"], ttl="1h")
        auth = created["auth"]
        self.assertEqual(auth["policies"], ["default", "pol-read"])
        self.assertEqual(auth["lease_duration"], 3600)
        self.assertTrue(auth["renewable"])

        child = self.client(token=auth["client_token"])
        self.assertTrue(child.is_authenticated())
        got = child.secrets.kv.v2.read_secret_version("pol/app/db")
        self.assertTrue(got["data"]["data"]["k"] == "fake-pw-p", "allowed read differs")
        with self.assertRaises(hvac.exceptions.Forbidden) as cm:
            child.secrets.kv.v2.read_secret_version("pol/other")
        self.assertEqual(cm.exception.errors, ["1 error occurred:\n\t* permission denied\n\n"])
        with self.assertRaises(hvac.exceptions.Forbidden):
            child.secrets.kv.v2.read_secret_version("pol/app/denied")
        with self.assertRaises(hvac.exceptions.Forbidden):
            child.secrets.kv.v2.create_or_update_secret("pol/app/db", secret={"k": "x"})
        with self.assertRaises(hvac.exceptions.Forbidden):
            child.auth.token.create(policies=["pol-read"])

        looked = child.lookup_token()["data"]
        self.assertEqual(looked["policies"], ["default", "pol-read"])
        self.assertEqual(looked["path"], "auth/token/create")
        renewed = child.auth.token.renew_self(increment=1800)
        self.assertEqual(renewed["auth"]["lease_duration"], 1800)
        child.auth.token.revoke_self()
        self.assertFalse(child.is_authenticated())

    def test_num_uses(self):
        root = self.client()
        auth = root.auth.token.create(policies=["default"], num_uses=2)["auth"]
        self.assertEqual(auth["policies"], ["default"])
        child = self.client(token=auth["client_token"])
        self.assertEqual(child.lookup_token()["data"]["num_uses"], 1)
        self.assertEqual(child.lookup_token()["data"]["num_uses"], 0)
        # Both uses are spent: the token is gone.
        self.assertFalse(child.is_authenticated())

    def test_no_default_policy(self):
        root = self.client()
        auth = root.auth.token.create(policies=["nothing-here"], no_default_policy=True)["auth"]
        self.assertEqual(auth["policies"], ["nothing-here"])
        child = self.client(token=auth["client_token"])
        # Without the default policy a token may not even look itself up.
        self.assertFalse(child.is_authenticated())


class SysTest(VaultDevTestCase):
    def test_health(self):
        resp = self.client().sys.read_health_status(method="GET")
        body = resp.json() if hasattr(resp, "json") else resp
        self.assertFalse(body["sealed"])
        self.assertTrue(body["initialized"])
        self.assertEqual(body["version"], "1.8.0-dev")
        resp = self.client().sys.read_health_status(method="GET", active_code=201)
        self.assertEqual(resp.status_code, 201)

    def test_seal_unseal(self):
        client = self.client()
        client.secrets.kv.v2.create_or_update_secret("sealtest", secret={"k": "fake-pw-s"})
        client.sys.seal()
        try:
            self.assertTrue(client.sys.is_sealed())
            with self.assertRaises(hvac.exceptions.VaultDown) as cm:
                client.secrets.kv.v2.read_secret_version("sealtest")
            self.assertEqual(cm.exception.errors,
                             ["error performing token check: Vault is sealed"])
            resp = client.sys.read_health_status(method="GET")
            self.assertEqual(resp.status_code, 503)
            self.assertTrue(resp.json()["sealed"])
        finally:
            status, _h, body = SERVER.raw("GET", "/_dev/unseal-key")
            self.assertEqual(status, 200)
            result = client.sys.submit_unseal_key(key=json.loads(body)["key"])
        self.assertFalse(result["sealed"])
        self.assertFalse(client.sys.is_sealed())
        got = client.secrets.kv.v2.read_secret_version("sealtest")
        self.assertTrue(got["data"]["data"]["k"] == "fake-pw-s", "value lost over seal")

    def test_wrong_unseal_key(self):
        client = self.client()
        client.sys.seal()
        try:
            with self.assertRaises(hvac.exceptions.InvalidRequest):
                client.sys.submit_unseal_key(key="A" * 43 + "=")
        finally:
            key = json.loads(SERVER.raw("GET", "/_dev/unseal-key")[2])["key"]
            client.sys.submit_unseal_key(key=key)
        self.assertFalse(client.sys.is_sealed())


class WireTest(VaultDevTestCase):
    """Byte-level comparisons with the recorded Vault 1.8 answers."""

    def test_headers_and_envelope(self):
        status, headers, body = SERVER.raw("GET", "/v1/secret/config", SERVER.root_token)
        self.assertEqual(status, 200)
        self.assertEqual(headers["Cache-Control"], "no-store")
        self.assertEqual(headers["Content-Type"], "application/json")
        self.assertEqual(int(headers["Content-Length"]), len(body))
        self.assertTrue(body.endswith(b"}\n"))
        doc = json.loads(body)
        self.assertEqual(list(doc), ["request_id", "lease_id", "renewable", "lease_duration",
                                     "data", "wrap_info", "warnings", "auth"])
        self.assertIn(b'"data":{"cas_required":false,"delete_version_after":"0s",'
                      b'"max_versions":0},"wrap_info":null,"warnings":null,"auth":null}', body)

    def test_204_has_no_body(self):
        status, headers, body = SERVER.raw("DELETE", "/v1/secret/data/nothing/here",
                                           SERVER.root_token)
        self.assertEqual(status, 204)
        self.assertEqual(body, b"")
        self.assertEqual(headers["Cache-Control"], "no-store")
        self.assertEqual(headers["Content-Type"], "application/json")

    def test_missing_v2_secret_body(self):
        status, headers, body = SERVER.raw("GET", "/v1/secret/data/app/nonexistent",
                                           SERVER.root_token)
        self.assertEqual((status, body), (404, b'{"errors":[]}\n'))
        self.assertEqual(headers["Content-Length"], "14")

    def test_ui_mounts_shape(self):
        status, _h, body = SERVER.raw("GET", "/v1/sys/internal/ui/mounts/secret/app/db",
                                      SERVER.root_token)
        self.assertEqual(status, 200)
        data = json.loads(body)["data"]
        self.assertEqual(list(data), ["accessor", "config", "description",
                                      "external_entropy_access", "local", "options", "path",
                                      "seal_wrap", "type", "uuid"])
        self.assertEqual(data["path"], "secret/")
        self.assertEqual(data["type"], "kv")
        self.assertEqual(data["options"], {"version": "2"})
        self.assertEqual(data["description"], "key/value secret storage")
        self.assertEqual(data["config"], {"default_lease_ttl": 0, "force_no_cache": False,
                                          "max_lease_ttl": 0})
        status, _h, body = SERVER.raw("GET", "/v1/sys/internal/ui/mounts/nomount/x",
                                      SERVER.root_token)
        self.assertEqual(status, 403)
        self.assertEqual(body, b'{"errors":["preflight capability check returned 403, please '
                               b'ensure client\'s policies grant access to path '
                               b'\\"nomount/x/\\""]}\n')

    def test_missing_token(self):
        status, _h, body = SERVER.raw("GET", "/v1/secret/data/app/db")
        self.assertEqual((status, body), (400, b'{"errors":["missing client token"]}\n'))

    def test_bad_token_and_bearer(self):
        status, _h, body = SERVER.raw("GET", "/v1/secret/config", "bogus")
        self.assertEqual((status, body), (403, b'{"errors":["permission denied"]}\n'))
        status, _h, _b = SERVER.raw("GET", "/v1/secret/config",
                                    headers={"Authorization": "Bearer " + SERVER.root_token})
        self.assertEqual(status, 200)

    def test_routing_errors(self):
        status, _h, body = SERVER.raw("GET", "/v1/nomount/foo", SERVER.root_token)
        self.assertEqual((status, body),
                         (404, b'{"errors":["no handler for route \'nomount/foo\'"]}\n'))
        status, _h, body = SERVER.raw("PATCH", "/v1/secret/data/x", SERVER.root_token, {"a": 1})
        self.assertEqual((status, body), (405, b'{"errors":[]}\n'))
        status, _h, body = SERVER.raw("GET", "/v1/secret/x", SERVER.root_token)
        self.assertEqual(status, 404)
        self.assertIn(b"Invalid path for a versioned K/V secrets engine", body)

    def test_control_api_counts(self):
        SERVER.raw("POST", "/_dev/reset")
        SERVER.raw("GET", "/v1/secret/data/count/me?version=1", SERVER.root_token)
        SERVER.raw("GET", "/v1/secret/data/count/me", SERVER.root_token)
        stats = json.loads(SERVER.raw("GET", "/_dev/requests")[2])
        self.assertEqual(stats["requests"], {"GET /v1/secret/data/count/me": 2})
        self.assertEqual(stats["total"], 2)
        self.assertGreaterEqual(stats["connections"], 2)

    def test_response_wrapping(self):
        client = self.client()
        client.secrets.kv.v2.create_or_update_secret("wrapme", secret={"k": "fake-pw-w"})
        status, _h, body = SERVER.raw("GET", "/v1/secret/data/wrapme", SERVER.root_token,
                                      headers={"X-Vault-Wrap-TTL": "5m"})
        self.assertEqual(status, 200)
        doc = json.loads(body)
        self.assertEqual(doc["request_id"], "")
        self.assertIsNone(doc["data"])
        self.assertEqual(doc["wrap_info"]["ttl"], 300)
        self.assertEqual(doc["wrap_info"]["creation_path"], "secret/data/wrapme")
        unwrapped = client.sys.unwrap(doc["wrap_info"]["token"])
        self.assertTrue(unwrapped["data"]["data"]["k"] == "fake-pw-w", "unwrapped value differs")
        with self.assertRaises(hvac.exceptions.InvalidRequest) as cm:
            client.sys.unwrap(doc["wrap_info"]["token"])
        self.assertEqual(cm.exception.errors, ["wrapping token is not valid or does not exist"])

    def test_health_head_and_sealed_shape(self):
        status, headers, body = SERVER.raw("HEAD", "/v1/sys/health")
        self.assertEqual((status, body), (200, b""))
        self.assertEqual(headers["Content-Type"], "application/json")
        status, _h, body = SERVER.raw("GET", "/v1/sys/health?standbyok=true&perfstandbyok=true")
        self.assertEqual(status, 200)
        self.assertEqual(list(json.loads(body)), [
            "initialized", "sealed", "standby", "performance_standby",
            "replication_performance_mode", "replication_dr_mode", "server_time_utc",
            "version", "cluster_name", "cluster_id"])

    def test_fault_status(self):
        SERVER.raw("POST", "/_dev/fault", body={"mode": "status", "status": 502,
                                                "body": "injected", "prefix": "/v1/secret/"})
        try:
            status, _h, body = SERVER.raw("GET", "/v1/secret/config", SERVER.root_token)
            self.assertEqual((status, body), (502, b'{"errors":["injected"]}\n'))
            status, _h, _b = SERVER.raw("GET", "/v1/sys/health")
            self.assertEqual(status, 200)
        finally:
            SERVER.raw("POST", "/_dev/fault", body={"mode": "none"})


# ---------------------------------------------------------------------------
# Auth methods, token TTLs, leases, wrapping, through hvac
# ---------------------------------------------------------------------------
def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


class Keys:
    """An RSA key pair made by openssl at test time, and JWTs signed with
    `openssl dgst -sha256 -sign` (RS256).  Nothing here is ever printed."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="hvac-keys-")
        self.key = os.path.join(self.dir, "key.pem")
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                        "rsa_keygen_bits:2048", "-out", self.key],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.public_pem = subprocess.run(["openssl", "pkey", "-in", self.key, "-pubout"],
                                         check=True, capture_output=True).stdout.decode()
        # The same key in a self-signed certificate: hvac accepts only
        # certificates for the kubernetes pem_keys (Vault takes either).
        self.cert_pem = subprocess.run(
            ["openssl", "req", "-x509", "-key", self.key, "-subj", "/CN=fake-sa-signer",
             "-days", "1"], check=True, capture_output=True).stdout.decode()

    def jwt(self, claims):
        signing_input = (b64url(json.dumps({"alg": "RS256", "typ": "JWT"}).encode()) + "."
                         + b64url(json.dumps(claims).encode()))
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", self.key],
                             input=signing_input.encode(), check=True,
                             capture_output=True).stdout
        return signing_input + "." + b64url(sig)

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


KEYS = None


def keys():
    global KEYS
    if KEYS is None:
        KEYS = Keys()
    return KEYS


AUTH_KEYS = ["client_token", "accessor", "policies", "token_policies", "metadata",
             "lease_duration", "renewable", "entity_id", "token_type", "orphan"]


class AuthMethodsTest(VaultDevTestCase):
    def policy(self, client):
        client.sys.create_or_update_policy(
            "app-read", 'path "secret/data/app/*" { capabilities = ["read"] }')

    def check_auth(self, auth, policies, ttl, meta):
        self.assertEqual(list(auth), AUTH_KEYS, "auth envelope field order")
        self.assertEqual(auth["policies"], policies)
        self.assertEqual(auth["token_policies"], policies)
        self.assertEqual(auth["lease_duration"], ttl)
        self.assertEqual(auth["metadata"], meta)
        self.assertTrue(auth["renewable"])
        self.assertTrue(auth["orphan"])
        self.assertEqual(auth["token_type"], "service")
        self.assertTrue(auth["client_token"].startswith("s."), "token shape")
        self.assertEqual(len(auth["entity_id"]), 36, "entity_id is a UUID")

    def test_approle(self):
        client = self.client()
        client.sys.enable_auth_method("approle", path="hvac-approle")
        self.policy(client)
        ar = client.auth.approle
        ar.create_or_update_approle("web", token_policies=["app-read"], token_ttl="1h",
                                    token_max_ttl="4h", mount_point="hvac-approle")
        role = ar.read_role("web", mount_point="hvac-approle")["data"]
        self.assertEqual((role["token_ttl"], role["token_max_ttl"], role["token_policies"]),
                         (3600, 14400, ["app-read"]))
        role_id = ar.read_role_id("web", mount_point="hvac-approle")["data"]["role_id"]
        gen = ar.generate_secret_id("web", mount_point="hvac-approle")["data"]
        self.assertEqual(sorted(gen), ["secret_id", "secret_id_accessor", "secret_id_ttl"])
        login = self.client(token="unused").auth.approle.login(
            role_id, gen["secret_id"], use_token=False, mount_point="hvac-approle")
        self.check_auth(login["auth"], ["app-read", "default"], 3600, {"role_name": "web"})
        me = self.client(token=login["auth"]["client_token"]).auth.token.lookup_self()["data"]
        self.assertEqual((me["path"], me["display_name"], me["creation_ttl"]),
                         ("auth/hvac-approle/login", "approle", 3600))
        # Errors as recorded from Vault 1.8.
        with self.assertRaises(hvac.exceptions.InvalidRequest) as cm:
            ar.login(role_id, "fake-wrong-secret-id", use_token=False,
                     mount_point="hvac-approle")
        self.assertEqual(cm.exception.errors, ["invalid secret id"])
        with self.assertRaises(hvac.exceptions.InvalidRequest) as cm:
            ar.login("", "x", use_token=False, mount_point="hvac-approle")
        self.assertEqual(cm.exception.errors, ["missing role_id"])

    def test_approle_single_use_secret_id(self):
        client = self.client()
        client.sys.enable_auth_method("approle", path="hvac-once")
        ar = client.auth.approle
        ar.create_or_update_approle("job", secret_id_num_uses=1, mount_point="hvac-once")
        role_id = ar.read_role_id("job", mount_point="hvac-once")["data"]["role_id"]
        sid = ar.generate_secret_id("job", mount_point="hvac-once")["data"]["secret_id"]
        first = ar.login(role_id, sid, use_token=False, mount_point="hvac-once")
        self.assertEqual(first["auth"]["policies"], ["default"])
        with self.assertRaises(hvac.exceptions.InvalidRequest) as cm:
            ar.login(role_id, sid, use_token=False, mount_point="hvac-once")
        self.assertEqual(cm.exception.errors, ["invalid secret id"])

    def test_wrapped_secret_id(self):
        client = self.client()
        client.sys.enable_auth_method("approle", path="hvac-wrap")
        ar = client.auth.approle
        ar.create_or_update_approle("w", mount_point="hvac-wrap")
        role_id = ar.read_role_id("w", mount_point="hvac-wrap")["data"]["role_id"]
        status, _h, body = SERVER.raw("POST", "/v1/auth/hvac-wrap/role/w/secret-id",
                                      SERVER.root_token, headers={"X-Vault-Wrap-TTL": "60s"})
        self.assertEqual(status, 200)
        info = json.loads(body)["wrap_info"]
        self.assertEqual((info["ttl"], info["creation_path"]),
                         (60, "auth/hvac-wrap/role/w/secret-id"))
        # Unwrapping with the wrapping token itself (no body), as hvac does
        # when handed the wrapping token as its client token.
        unwrapped = self.client(token=info["token"]).sys.unwrap()
        sid = unwrapped["data"]["secret_id"]
        self.assertEqual(ar.login(role_id, sid, use_token=False,
                                  mount_point="hvac-wrap")["auth"]["metadata"],
                         {"role_name": "w"})
        with self.assertRaises(hvac.exceptions.InvalidRequest) as cm:
            self.client(token=info["token"]).sys.unwrap()
        self.assertEqual(cm.exception.errors, ["wrapping token is not valid or does not exist"])

    def test_token_ttl_renew_revoke(self):
        client = self.client()
        created = client.auth.token.create(policies=["default"], ttl="1h",
                                           explicit_max_ttl="2h")["auth"]
        self.assertEqual(created["lease_duration"], 3600)
        child = self.client(token=created["client_token"])
        me = child.auth.token.lookup_self()["data"]
        self.assertEqual((me["creation_ttl"], me["explicit_max_ttl"]), (3600, 7200))
        self.assertTrue(3590 <= me["ttl"] <= 3600, "ttl counts down from 3600")
        self.assertRegex(me["expire_time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
        renewed = child.auth.token.renew_self(increment="30m")
        self.assertEqual(renewed["auth"]["lease_duration"], 1800)
        capped = child.auth.token.renew_self(increment="5h")
        self.assertTrue(7000 < capped["auth"]["lease_duration"] <= 7200, "capped at max")
        self.assertEqual(len(capped["warnings"]), 1)
        self.assertIn("exceeded the effective max_ttl", capped["warnings"][0])
        self.assertTrue(child.auth.token.lookup_self()["data"]["last_renewal_time"] > 0)
        child.auth.token.revoke_self()
        with self.assertRaises(hvac.exceptions.Forbidden):
            child.auth.token.lookup_self()

    def test_expired_token_is_denied(self):
        created = self.client().auth.token.create(policies=["default"], ttl="1s")["auth"]
        time.sleep(1.5)
        status, _h, body = SERVER.raw("GET", "/v1/auth/token/lookup-self",
                                      created["client_token"])
        self.assertEqual((status, body), (403, b'{"errors":["permission denied"]}\n'))

    def test_jwt_login(self):
        client = self.client()
        self.policy(client)
        client.sys.enable_auth_method("jwt", path="hvac-jwt")
        client.auth.jwt.configure(jwt_validation_pubkeys=[keys().public_pem],
                                  bound_issuer="https://issuer.example", path="hvac-jwt")
        client.auth.jwt.create_role("svc", user_claim="sub", allowed_redirect_uris=[],
                                    role_type="jwt", bound_audiences=["vault"],
                                    token_policies=["app-read"], token_ttl="30m",
                                    path="hvac-jwt")
        now = int(time.time())
        good = {"iss": "https://issuer.example", "aud": "vault", "sub": "svc-1",
                "iat": now, "exp": now + 600}
        login = client.auth.jwt.jwt_login("svc", keys().jwt(good), use_token=False,
                                          path="hvac-jwt")
        self.check_auth(login["auth"], ["app-read", "default"], 1800, {"role": "svc"})
        cases = [
            (dict(good, iss="https://other.example"),
             "error validating token: invalid issuer (iss) claim"),
            (dict(good, aud="other"),
             "error validating token: invalid audience (aud) claim: audience claim does "
             "not match any expected audience"),
            (dict(good, exp=now - 3600),
             "error validating token: invalid expiration time (exp) claim: token is expired"),
        ]
        for claims, error in cases:
            with self.assertRaises(hvac.exceptions.InvalidRequest) as cm:
                client.auth.jwt.jwt_login("svc", keys().jwt(claims), use_token=False,
                                          path="hvac-jwt")
            self.assertEqual(cm.exception.errors, [error])
        # A signature by another key (a JWT whose payload was altered).
        forged = keys().jwt(good).split(".")
        forged[1] = b64url(json.dumps(dict(good, sub="admin")).encode())
        with self.assertRaises(hvac.exceptions.InvalidRequest) as cm:
            client.auth.jwt.jwt_login("svc", ".".join(forged), use_token=False,
                                      path="hvac-jwt")
        self.assertEqual(cm.exception.errors, [
            "error validating token: error verifying token signature: no known key "
            "successfully validated the token signature"])
        with self.assertRaises(hvac.exceptions.InvalidRequest) as cm:
            client.auth.jwt.jwt_login("nope", keys().jwt(good), use_token=False,
                                      path="hvac-jwt")
        self.assertEqual(cm.exception.errors, ['role "nope" could not be found'])

    def test_kubernetes_login(self):
        client = self.client()
        self.policy(client)
        client.sys.enable_auth_method("kubernetes", path="hvac-k8s")
        client.auth.kubernetes.configure("https://127.0.0.1:6443",
                                         pem_keys=[keys().cert_pem], mount_point="hvac-k8s")
        client.auth.kubernetes.create_role("app", ["app"], ["default"], ttl="20m",
                                           policies=["app-read"], mount_point="hvac-k8s")
        legacy = {"iss": "kubernetes/serviceaccount",
                  "kubernetes.io/serviceaccount/namespace": "default",
                  "kubernetes.io/serviceaccount/secret.name": "app-token-abcde",
                  "kubernetes.io/serviceaccount/service-account.name": "app",
                  "kubernetes.io/serviceaccount/service-account.uid": "fake-uid-1",
                  "sub": "system:serviceaccount:default:app"}
        login = client.auth.kubernetes.login("app", keys().jwt(legacy), use_token=False,
                                             mount_point="hvac-k8s")
        self.check_auth(login["auth"], ["app-read", "default"], 1200, {
            "role": "app", "service_account_name": "app",
            "service_account_namespace": "default",
            "service_account_secret_name": "app-token-abcde",
            "service_account_uid": "fake-uid-1"})
        now = int(time.time())
        projected = {"aud": ["https://kubernetes.default.svc"], "iat": now, "nbf": now,
                     "exp": now + 600, "iss": "https://kubernetes.default.svc",
                     "kubernetes.io": {"namespace": "default",
                                       "pod": {"name": "app-1", "uid": "fake-pod"},
                                       "serviceaccount": {"name": "app", "uid": "fake-uid-2"}},
                     "sub": "system:serviceaccount:default:app"}
        login = client.auth.kubernetes.login("app", keys().jwt(projected), use_token=False,
                                             mount_point="hvac-k8s")
        self.assertEqual(login["auth"]["metadata"]["service_account_uid"], "fake-uid-2")
        wrong_ns = dict(projected, sub="system:serviceaccount:other:app")
        wrong_ns["kubernetes.io"] = {"namespace": "other", "serviceaccount": {"name": "app"}}
        with self.assertRaises(hvac.exceptions.Forbidden) as cm:
            client.auth.kubernetes.login("app", keys().jwt(wrong_ns), use_token=False,
                                         mount_point="hvac-k8s")
        self.assertEqual(cm.exception.errors, ["namespace not authorized"])
        mismatched_sub = dict(projected, sub="system:serviceaccount:default:admin")
        with self.assertRaises(hvac.exceptions.Forbidden):
            client.auth.kubernetes.login("app", keys().jwt(mismatched_sub), use_token=False,
                                         mount_point="hvac-k8s")
        with self.assertRaises(hvac.exceptions.InvalidRequest) as cm:
            client.auth.kubernetes.login("nope", keys().jwt(legacy), use_token=False,
                                         mount_point="hvac-k8s")
        self.assertEqual(cm.exception.errors, ['invalid role name "nope"'])


class LeaseTest(VaultDevTestCase):
    def test_dynamic_secret_leases(self):
        client = self.client()
        client.sys.enable_secrets_engine("database", path="hvac-db")
        SERVER.raw("POST", "/v1/hvac-db/roles/ro", SERVER.root_token,
                   {"db_name": "pg", "creation_statements": "CREATE ROLE",
                    "default_ttl": "1h", "max_ttl": "2h"})
        creds = client.read("hvac-db/creds/ro")
        lease_id = creds["lease_id"]
        self.assertTrue(lease_id.startswith("hvac-db/creds/ro/"), "lease id shape")
        self.assertEqual((creds["renewable"], creds["lease_duration"], sorted(creds["data"])),
                         (True, 3600, ["password", "username"]))
        looked = client.sys.read_lease(lease_id)["data"]
        self.assertEqual(sorted(looked), ["expire_time", "id", "issue_time", "last_renewal",
                                          "renewable", "ttl"])
        self.assertIsNone(looked["last_renewal"])
        renewed = client.sys.renew_lease(lease_id, increment=1800)
        self.assertEqual((renewed["lease_id"], renewed["lease_duration"]), (lease_id, 1800))
        capped = client.sys.renew_lease(lease_id, increment=3 * 3600)
        self.assertTrue(capped["lease_duration"] <= 7200, "capped at max_ttl")
        self.assertIn("exceeded the effective max_ttl", capped["warnings"][0])
        leases = json.loads(SERVER.raw("GET", "/_dev/leases")[2])["leases"]
        self.assertIn(lease_id, [l["id"] for l in leases])
        client.sys.revoke_lease(lease_id)
        leases = json.loads(SERVER.raw("GET", "/_dev/leases")[2])["leases"]
        self.assertNotIn(lease_id, [l["id"] for l in leases])
        with self.assertRaises(hvac.exceptions.InvalidRequest) as cm:
            client.sys.renew_lease(lease_id)
        self.assertEqual(cm.exception.errors, ["lease not found"])
        with self.assertRaises(hvac.exceptions.InvalidRequest) as cm:
            client.sys.read_lease(lease_id)
        self.assertEqual(cm.exception.errors, ["invalid lease"])
        with self.assertRaises(hvac.exceptions.InvalidRequest) as cm:
            client.read("hvac-db/creds/nope")
        self.assertEqual(cm.exception.errors, ["unknown role: nope"])

    def test_lease_revoked_with_its_token(self):
        client = self.client()
        client.sys.enable_secrets_engine("database", path="hvac-db2")
        client.sys.create_or_update_policy("db2", 'path "hvac-db2/creds/*" { capabilities = ["read"] }')
        SERVER.raw("POST", "/v1/hvac-db2/roles/ro", SERVER.root_token,
                   {"db_name": "pg", "default_ttl": "1h"})
        tok = client.auth.token.create(policies=["db2"])["auth"]["client_token"]
        user = self.client(token=tok)
        lease_id = user.read("hvac-db2/creds/ro")["lease_id"]
        ids = [l["id"] for l in json.loads(SERVER.raw("GET", "/_dev/leases")[2])["leases"]]
        self.assertIn(lease_id, ids)
        user.auth.token.revoke_self()
        ids = [l["id"] for l in json.loads(SERVER.raw("GET", "/_dev/leases")[2])["leases"]]
        self.assertNotIn(lease_id, ids)


class ControlApiTest(VaultDevTestCase):
    def tearDown(self):
        SERVER.raw("POST", "/_dev/fault", body={"mode": "none"})
        super().tearDown()

    def test_with_token_and_count(self):
        SERVER.raw("POST", "/_dev/reset")
        SERVER.raw("POST", "/_dev/fault", body={"mode": "status", "status": 429, "count": 2,
                                                "headers": {"Retry-After": "1"},
                                                "body": "rate limit quota exceeded"})
        first = SERVER.raw("GET", "/v1/sys/mounts", SERVER.root_token)
        self.assertEqual((first[0], first[1]["Retry-After"]), (429, "1"))
        self.assertEqual(SERVER.raw("GET", "/v1/sys/mounts", SERVER.root_token)[0], 429)
        self.assertEqual(SERVER.raw("GET", "/v1/sys/mounts", SERVER.root_token)[0], 200)
        SERVER.raw("GET", "/v1/sys/health")
        stats = json.loads(SERVER.raw("GET", "/_dev/requests")[2])
        self.assertEqual((stats["total"], stats["with_token"]), (4, 3))

    def test_redirect_oversize_malformed(self):
        SERVER.raw("POST", "/_dev/fault", body={"mode": "redirect", "count": 1,
                                                "location": "http://127.0.0.2:8200"})
        conn = http.client.HTTPConnection("127.0.0.1", SERVER.port, timeout=10)
        conn.request("GET", "/v1/secret/data/x?version=2")
        resp = conn.getresponse()
        resp.read()
        self.assertEqual((resp.status, resp.getheader("Location")),
                         (307, "http://127.0.0.2:8200/v1/secret/data/x?version=2"))
        for chunked in (False, True):
            SERVER.raw("POST", "/_dev/fault", body={"mode": "oversize", "size": 300000,
                                                    "chunked": chunked, "count": 1})
            conn.request("GET", "/v1/secret/config")
            resp = conn.getresponse()
            body = resp.read()
            self.assertEqual((resp.status, len(body)), (200, 300000))
            self.assertEqual(resp.getheader("Transfer-Encoding") == "chunked", chunked)
            self.assertEqual(sorted(json.loads(body)["data"]), ["pad"])
        SERVER.raw("POST", "/_dev/fault", body={"mode": "malformed", "count": 1})
        conn.request("GET", "/v1/secret/config")
        resp = conn.getresponse()
        self.assertEqual(resp.status, 200)
        with self.assertRaises(ValueError):
            json.loads(resp.read())
        conn.close()


if __name__ == "__main__":
    result = unittest.main(verbosity=2, exit=False).result
    bad = len(result.failures) + len(result.errors)
    print("hvac_check: %d passed, %d failed" % (result.testsRun - bad, bad))
    sys.exit(0 if result.wasSuccessful() else 1)
