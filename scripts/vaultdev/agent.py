"""Vault Agent mode: the agent listener's front (--unix-socket, --agent-listen)."""

from .gojson import go_encode
from .request import client_token


class AgentFront:
    """Vault Agent in front of the server (a mixin of Handler)."""

    # -- Vault Agent in front of the server ------------------------------------
    def _agent_front(self):
        """Vault Agent's listener (command/agent): with
        require_request_header a request without `X-Vault-Request: true`
        gets 412; a request without a token is sent on with the agent's
        auto-auth token (use_auto_auth_token).  Returns the status when
        the agent answered itself, else None."""
        agent = self.server.agent
        if agent["require_header"] and self.headers.get("X-Vault-Request") != "true":
            # logical.RespondError without Vault's Cache-Control wrapper.
            self._send(412, go_encode({"errors": ["missing 'X-Vault-Request' header"]}),
                       cache=False)
            return 412
        if not client_token(self.headers):
            self.headers["X-Vault-Token"] = agent["token"]
        return None
