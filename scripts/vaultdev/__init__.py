"""vault-dev: an in-memory, Vault-API-compatible development server.

It imitates `vault server -dev` of HashiCorp Vault 1.8 closely enough that the
vaultenv shim (and independent clients such as hvac) cannot tell the
difference for the endpoints it serves.  The reference is the set of real
exchanges in /work/shared/vault-api/recordings-vault-1.8.txt; where those are
silent, behaviour follows the Vault 1.8 source (http/, vault/logical_system.go,
vault/acl.go, the kv plugin).

Python 3 standard library only, so it runs anywhere the test-suite runs.

Usage (modelled on `vault server -dev`):

  vault-dev [-dev-root-token-id=TOKEN] [-dev-listen-address=127.0.0.1:PORT]
            [--port-file FILE] [--tls-cert FILE --tls-key FILE
            [--tls-client-ca FILE] [--tls-request-client-cert]]
            [--unix-socket PATH] [--agent-listen 127.0.0.1:PORT
            [--agent-port-file FILE]] [--agent-token TOKEN]
            [--namespaces] [--quiet]

  --tls-client-ca FILE        require client certificates signed by FILE.
  --tls-request-client-cert   ask for (not require) a client certificate, for
                              auth/cert; OpenSSL verifies a presented one
                              against the CAs written to auth/cert/certs/NAME
                              (a certificate from an unknown CA fails the
                              handshake, where Vault would fail the login).
  --unix-socket PATH          also listen on a unix socket as Vault Agent with
                              auto-auth: a request without a token is served
                              with the agent token; no X-Vault-Request needed.
  --agent-listen ADDR:PORT    also listen on TCP as Vault Agent with
                              require_request_header: without
                              `X-Vault-Request: true` the answer is 412
                              {"errors":["missing 'X-Vault-Request' header"]}.
  --agent-port-file FILE      the agent TCP port, written before --port-file.
  --agent-token TOKEN         the agents' auto-auth token (default: root).
  --namespaces                Enterprise-like namespaces: sys/namespaces/NAME,
                              X-Vault-Namespace header or path prefix
                              (/v1/team1/secret/...). Without it the header is
                              ignored and a prefix is an unknown route, as OSS.

Besides Vault's API there is a test control API under /_dev/, a prefix real
Vault never serves.  It needs no token and answers loopback (and unix-socket)
clients only:

  GET  /_dev/requests    {"total":N,"connections":C,"with_token":W,
                          "max_in_flight":M,"requests":{"GET /v1/...":n}}
                         every request except /_dev/ ones, failures included,
                         keyed by method and path without query; C counts
                         accepted connections (all listeners); W counts the
                         requests that arrived with an X-Vault-Token header
                         (before an agent listener adds its own); M is
                         the most requests answered at once (concurrency).
  POST /_dev/reset       zero those counters (answers 204).
  POST /_dev/fault       {"mode":"none"|"slow"|"drop"|"status"|"redirect"|
                                 "oversize"|"malformed"|"bump"|"trickle",
                          "delay":SECONDS, "status":CODE, "body":"msg",
                          "headers":{"Retry-After":"1"}, "location":"URL",
                          "size":BYTES, "chunked":true,
                          "prefix":"/v1/secret/", "count":N, "method":M}
                         slow: sleep `delay` then answer normally; drop: close
                         the connection without an answer; status: answer
                         CODE with {"errors":[body]} (e.g. 412, 429, 5xx;
                         without a body, 429 gets the rate-limit text and
                         412 the agent's X-Vault-Request text, as recorded);
                         redirect: 307 (or `status`) with Location: URL, and
                         when URL has no path the request's path and query
                         are appended (as a standby does); oversize: a 200
                         valid-looking JSON envelope of exactly `size` bytes
                         (default 2 MiB) with Content-Length, or chunked;
                         malformed: a 200 whose JSON body is cut short;
                         trickle: the normal answer (status line, headers
                         and body) sent one byte per `delay` seconds
                         (default 1), then the connection is closed.
                         `headers` are added to the fault's answer.  Only
                         paths starting with `prefix` (default "/v1/") are
                         hit; with `count` only the next N of them, then the
                         fault clears itself (default: until mode none).
                         With `method` (e.g. "POST") only requests of
                         that method are hit (default: any).
                         bump: another writer, deterministically: before
                         the hit request is served, a new version of the
                         KV v2 secret it names (M/data/P) is written with
                         the secret's current data (check-and-set tests:
                         {"mode":"bump","method":"POST",
                          "prefix":"/v1/secret/data/app","count":1} makes
                         a read-then-write client's cas stale).
                         Answers the fault now in force.
  GET  /_dev/leases      {"leases":[{"id":LEASE_ID,"expires_in":SECONDS}]}
                         active (unexpired, unrevoked) secret leases.
  GET  /_dev/tokens      {"active":N}: valid tokens other than root tokens
                         (wrapping tokens included).
  GET  /_dev/unseal-key  {"key":"<base64>"}, for PUT /v1/sys/unseal after the
                         real PUT /v1/sys/seal.

Vault endpoints served (paths below /v1/):
  kv v2 mounts M:  M/data/P (GET ?version=N, POST/PUT with options.cas, DELETE),
                   M/delete/P, M/undelete/P, M/destroy/P (POST/PUT versions),
                   M/metadata/P (GET, LIST or GET ?list=true, POST/PUT, DELETE),
                   M/config (GET, POST/PUT); other paths: the 404 warning.
  kv v1 mounts M:  M/P (GET, POST/PUT, DELETE, LIST); `ttl` sets lease_duration.
  cubbyhole/P      per-token kv v1 store.
  database mounts M (sys/mounts/M type database): M/config/NAME,
                   M/roles/NAME {db_name, default_ttl, max_ttl, ...} (GET,
                   POST/PUT, DELETE, LIST), GET M/creds/NAME -> a renewable
                   lease "M/creds/NAME/<id>" with data {username, password}.
  sys/leases/renew[/ID], sys/renew[/ID], sys/leases/lookup,
  sys/leases/revoke[/ID], sys/revoke[/ID] (PUT/POST): renewals count from now,
                   capped at issue time + max_ttl with Vault's warning.
  sys/mounts (GET), sys/mounts/NAME (POST/PUT kv|kv-v1|kv-v2|database, DELETE),
  sys/auth (GET), sys/auth/NAME (POST/PUT approle|kubernetes|jwt|oidc|cert,
                   DELETE), sys/namespaces[/NAME] (--namespaces: LIST, GET,
                   POST/PUT, DELETE),
  sys/internal/ui/mounts[/PATH] (GET), sys/policy[/NAME], sys/policies/acl[/NAME]
  (GET, LIST, POST/PUT, DELETE), sys/capabilities-self (POST/PUT),
  sys/health (GET, HEAD), sys/seal-status, sys/leader (GET), sys/seal,
  sys/unseal (PUT/POST), sys/wrapping/unwrap (POST/PUT) plus X-Vault-Wrap-TTL,
  auth/token/create, create-orphan (POST/PUT; ttl, explicit_max_ttl, period,
                   num_uses), lookup-self (GET), renew-self, revoke-self
                   (POST/PUT).  An expired token gets 403 permission denied.
  auth/M/ for an approle mount: role[/NAME] (LIST, GET, POST/PUT, DELETE;
                   token_* fields, bind_secret_id, secret_id_num_uses,
                   secret_id_ttl), role/NAME/role-id (GET, POST/PUT),
                   role/NAME/secret-id (POST/PUT, LIST),
                   role/NAME/custom-secret-id, role/NAME/secret-id/lookup,
                   role/NAME/secret-id/destroy, login {role_id, secret_id}.
  auth/M/ for kubernetes: config {kubernetes_host, pem_keys, issuer,
                   disable_iss_validation}, role/NAME
                   {bound_service_account_names, ..._namespaces, audience},
                   login {role, jwt}: RS256 checked against pem_keys; legacy
                   and projected service-account claims; sub must be
                   system:serviceaccount:NS:NAME (what TokenReview checks).
  auth/M/ for jwt: config {jwt_validation_pubkeys, bound_issuer, default_role},
                   role/NAME {role_type jwt, user_claim, bound_audiences,
                   bound_subject, bound_claims}, login {role, jwt}.
  auth/M/ for cert: certs/NAME {certificate (CA PEM), display_name,
                   allowed_common_names, token_*}, login {name?} by the TLS
                   client certificate (--tls-request-client-cert).

Tokens and secret values are never printed, not even the root token.
"""

# The docstring above is also the epilog of `vault-dev --help` (cli.py).
#
# Modules, each with one job (imports run downwards only):
#   gojson, util          Go-style JSON and envelopes; constants, durations,
#                         ids, VaultError and replies
#   policy, state         HCL policies and ACLs; the in-memory model
#   request               the request as the Vault layer sees it
#   auth_params, crypto   token_* parameters; DER/RSA/X.509/JWT checks
#   auth_approle, auth_kubernetes, auth_jwt, auth_cert, auth
#                         the auth methods (mixins of AuthMethods)
#   database              dynamic secrets and sys/leases
#   kv                    kv v1 (and cubbyhole), kv v2
#   sys_raw, sys_paths, tokens
#                         sys/ handlers served while sealed; sys/ logical
#                         paths; auth/token/
#   vault                 the Vault API: routing, token checks, wrapping
#   fault, agent, devapi, httputil, handler
#                         injected faults and counters; the Vault Agent front;
#                         the /_dev/ control API; HTTP helpers; the handler
#   servers               the TCP and unix-socket listeners
#   cli                   argument parsing and main()
