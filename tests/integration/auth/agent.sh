#!/bin/bash
# Vault Agent / Vault Proxy: VAULT_AGENT_ADDR wins over VAULT_ADDR, as a
# unix:// socket and as an http:// listener; an agent that auto-authenticates
# needs no token from the program; every request carries X-Vault-Request,
# which an agent with require_request_header insists on (412 without it).
. "$(dirname "$0")/../lib.sh"
unset VAULT_AGENT_ADDR VAULT_MAX_RETRIES VAULT_CLIENT_TIMEOUT

# The agents' auto-auth token is an ordinary token made with
# auth/token/create (below, with a chosen id), limited to secret/data/app/*:
# reading through an agent proves that its token, not root, was used.
agent_token="fake-agent-$(ve_random)"
ve_vault_start --unix-socket "$VE_TMP/agent.sock" --agent-token "$agent_token" \
        --agent-listen 127.0.0.1:0 --agent-port-file "$VE_TMP/agent.port"
agent_port=$(cat "$VE_TMP/agent.port")
ve_auth_policy app-read 'secret/data/app/*'
ve_api POST auth/token/create "{\"id\":\"$agent_token\",\"policies\":[\"app-read\"]}"
ve_kv2_put secret/app/db '{"password":"fake-pw-agent"}'
ve_kv2_put secret/other/x '{"value":"fake-other"}'
out=$VE_TMP/out

printf 'PW = kv2:secret/app/db#password\nOTHER = kv2:secret/other/x\n' >"$VE_TMP/app.map"
export VAULTENV_MAP="$VE_TMP/app.map"
# No token anywhere: VAULT_TOKEN empty, no ~/.vault-token.
mkdir -p "$VE_TMP/home"
export HOME=$VE_TMP/home
server=$VAULT_ADDR

# 1. the unix socket; VAULT_ADDR points at nothing (port 1): the agent wins
ve_reset_counts
VAULT_TOKEN= VAULT_ADDR=http://127.0.0.1:1 VAULT_AGENT_ADDR="unix://$VE_TMP/agent.sock" ve_read "$out" PW
check "unix socket agent: the secret is read" ve_expect "$out" "PW=fake-pw-agent"
check "unix socket agent: one request for the secret" test "$(ve_count 'GET /v1/secret/data/app/db')" = 1
check "unix socket agent: no token was sent" test "$(ve_transport_stat with_token)" = 0
# the agent's token (not root) answered: a path outside its policy is denied
VAULT_TOKEN= VAULT_ADDR=http://127.0.0.1:1 VAULT_AGENT_ADDR="unix://$VE_TMP/agent.sock" VAULTENV_LOG=warn \
        ve_read "$out" OTHER
check "unix socket agent: its token's policy applies" ve_expect "$out" "OTHER unset"
check "unix socket agent: permission denied named" stderr_has "permission denied on secret/other/x"

# 2. the TCP listener with require_request_header
ve_reset_counts
VAULT_TOKEN= VAULT_ADDR=http://127.0.0.1:1 VAULT_AGENT_ADDR="http://127.0.0.1:$agent_port" ve_read "$out" PW
check "TCP agent: the secret is read" ve_expect "$out" "PW=fake-pw-agent"
check "TCP agent: no token was sent" test "$(ve_transport_stat with_token)" = 0
check "TCP agent: no 412 retried (one request)" test "$(ve_count 'GET /v1/secret/data/app/db')" = 1

# the header is what makes the difference: a plain client gets 412
code=$(curl -s -o "$VE_TMP/body" -w '%{http_code}' "http://127.0.0.1:$agent_port/v1/secret/data/app/db")
check "TCP agent: a request without X-Vault-Request gets 412" test "$code" = 412
check "TCP agent: 412 says why" grep -qF "missing 'X-Vault-Request' header" "$VE_TMP/body"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'X-Vault-Request: true' \
        "http://127.0.0.1:$agent_port/v1/secret/data/app/db")
check "TCP agent: the same request with the header gets 200" test "$code" = 200

# 3. VAULT_AGENT_ADDR wins over a working VAULT_ADDR too (the root token
# there could read OTHER; through the agent it cannot)
VAULT_TOKEN= VAULT_ADDR=$server VAULT_AGENT_ADDR="unix://$VE_TMP/agent.sock" ve_read "$out" OTHER
check "agent address wins over VAULT_ADDR" ve_expect "$out" "OTHER unset"

# 4. an agent that is not there: the message names the agent address
set +e
VAULT_TOKEN= VAULT_MAX_RETRIES=0 VAULT_AGENT_ADDR="unix://$VE_TMP/none.sock" \
        VAULTENV_LOG=warn ve_read "$out" PW
set -e
check "missing agent: falls back (PW unset)" ve_expect "$out" "PW unset"
check "missing agent: the message names the socket" stderr_has "cannot reach Vault at unix://$VE_TMP/none.sock"
set +e
VAULT_TOKEN= VAULT_AGENT_ADDR="ftp://127.0.0.1:$agent_port" VAULTENV_LOG=warn ve_read "$out" PW
set -e
check "bad agent address: named" stderr_has "VAULT_AGENT_ADDR: not an http://, https:// or unix:// URL: ftp://127.0.0.1:$agent_port"
check "no token in any message" stderr_lacks "$agent_token"
ve_done
