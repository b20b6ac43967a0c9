#!/bin/bash
# TLS client-certificate login through the preloaded shim: VAULT_AUTH_METHOD=
# cert with VAULT_CLIENT_CERT / VAULT_CLIENT_KEY against a dev server that
# asks for client certificates (real TLS, a PKI made by openssl now);
# VAULT_AUTH_ROLE names the certificate role; refusals and missing inputs
# are named.
. "$(dirname "$0")/../lib.sh"

pki=$VE_TMP/pki
ve_pki "$pki" localhost
check "test PKI made" test -s "$pki/server.pem" -a -s "$pki/client.pem"

ve_vault_start --tls-cert "$pki/server.pem" --tls-key "$pki/server.key" --tls-request-client-cert
export VE_CURL_OPTS="--cacert $pki/ca.pem"
export VAULT_ADDR="https://localhost:$VE_DEV_PORT" VAULT_CACERT=$pki/ca.pem
ve_kv2_put secret/app/db '{"password":"fake-pw-1"}'
ve_kv2_put secret/private/x '{"value":"fake-private"}'
ve_auth_policy app-read 'secret/data/app/*'
ve_api POST sys/auth/cert '{"type":"cert"}'
ve_api POST auth/cert/certs/web "{\"certificate\":$(ve_auth_json_file "$pki/ca.pem"),\"token_policies\":[\"app-read\"],\"token_ttl\":\"15m\"}"
ve_api POST auth/cert/certs/partner "{\"certificate\":$(ve_auth_json_file "$pki/other-ca.pem"),\"token_policies\":[\"app-read\"]}"

printf 'A = secret/app/db#password\nPRIV = secret/private/x\n' >"$VE_TMP/app.map"
printf 'REQ = secret/app/db#password required\n' >"$VE_TMP/req.map"
export VAULTENV_MAP="$VE_TMP/app.map"
unset VAULT_TOKEN
export HOME=$VE_TMP/home
mkdir -p "$HOME"
out=$VE_TMP/out
export VAULT_CLIENT_CERT=$pki/client.pem VAULT_CLIENT_KEY=$pki/client.key

# 1. cert login: the role's token reads app paths only
ve_reset_counts
VAULT_AUTH_METHOD=cert ve_read "$out" A PRIV
check "cert: read with the role's token, private denied" ve_expect "$out" "A=fake-pw-1" "PRIV unset"
check "cert: one login" test "$(ve_count 'POST /v1/auth/cert/login')" = 1

# 2. the certificate role named by VAULT_AUTH_ROLE
VAULT_AUTH_METHOD=cert VAULT_AUTH_ROLE=web ve_read "$out" A
check "cert, VAULT_AUTH_ROLE=web: read" ve_expect "$out" "A=fake-pw-1"
set +e
VAULTENV_MAP=$VE_TMP/req.map VAULT_AUTH_METHOD=cert VAULT_AUTH_ROLE=partner ve_read "$out" REQ
status=$?
set -e
check "cert role of another CA: exit 78" test "$status" = 78
check "cert role of another CA: Vault's reason" \
        stderr_has "cert login at auth/cert/login failed: invalid certificate or no client certificate supplied"

# 3. a client certificate alone is TLS, not a login: no token, no login
ve_reset_counts
set +e
VAULTENV_MAP=$VE_TMP/req.map ve_read "$out" REQ
set -e
check "client certificate without VAULT_AUTH_METHOD=cert: no login" \
        test "$(ve_count 'POST /v1/auth/cert/login')" = 0

# 4. missing inputs
VAULT_AUTH_METHOD=cert VAULT_CLIENT_KEY='' ve_read "$out" A
check "cert without VAULT_CLIENT_KEY: named" stderr_has "cert login needs VAULT_CLIENT_KEY"
ve_done
