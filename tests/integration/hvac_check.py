#!/usr/bin/env python3
"""Cross-check scripts/vault-dev against hvac, an independent Vault client.

hvac (Debian's python3-hvac) was written against real Vault; if it works
against vault-dev for KV v1/v2, policies, tokens, health and seal/unseal,
the dev server is faithful where it matters.  A few byte-level checks with
urllib compare answers with /work/shared/vault-api/recordings-vault-1.8.txt.

Run with Debian's interpreter (hvac lives in /usr/lib/python3/dist-packages):

    /usr/bin/python3 tests/integration/hvac_check.py

VAULT_DEV (or VE_VAULT_DEV, set by meson) may name the server script;
default: ../../scripts/vault-dev.
Never prints a token or a secret value: assertion messages are written so
that only names, statuses and shapes can appear in them.
"""

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
             or os.path.join(HERE, "..", "..", "scripts", "vault-dev"))


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


if __name__ == "__main__":
    result = unittest.main(verbosity=2, exit=False).result
    sys.exit(0 if result.wasSuccessful() else 1)
