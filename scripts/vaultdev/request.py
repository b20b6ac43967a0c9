"""A request as the Vault layer sees it, and the client token it carries."""


class Request:
    def __init__(self, method, raw_path, query, headers, body):
        self.method = method
        self.raw_path = raw_path
        self.query = query
        self.headers = headers
        self.body = body
        self.path = ""        # below /v1/, with the namespace prefix ("team1/...")
        self.ns = ""          # namespace prefix ("" = root namespace)
        self.rel = ""         # path inside that namespace
        self.op = None        # read, list, update, delete
        self.data = None
        self.token = None     # Token object once checked
        self.token_id = ""


def client_token(headers):
    """X-Vault-Token, else `Authorization: Bearer` (http/handler.go)."""
    tok = headers.get("X-Vault-Token")
    if tok:
        return tok
    auth = headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        return auth[len("Bearer "):].strip()
    return ""
