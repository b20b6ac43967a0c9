#!/bin/bash
# Real TLS with certificates made by openssl now: VAULT_CACERT, VAULT_CAPATH,
# a bad certificate (unknown CA, wrong host name) refused with a clear
# message, VAULT_TLS_SERVER_NAME, VAULT_SKIP_VERIFY, and client
# certificates (VAULT_CLIENT_CERT / VAULT_CLIENT_KEY).
. "$(dirname "$0")/../lib.sh"

pki=$VE_TMP/pki
# the server certificate names vault.internal and localhost, not 127.0.0.1
ve_pki "$pki" vault.internal localhost
check "test PKI made" test -s "$pki/server.pem" -a -s "$pki/client.pem"

ve_vault_start --tls-cert "$pki/server.pem" --tls-key "$pki/server.key"
port=$VE_DEV_PORT
export VE_CURL_OPTS="--cacert $pki/ca.pem"
export VAULT_ADDR="https://localhost:$port"
ve_kv2_put secret/app/db '{"password":"fake-tls-pw"}'
printf 'PGPASSWORD = secret/app/db#password\n' >"$VE_TMP/app.map"
export VAULTENV_MAP="$VE_TMP/app.map" VAULTENV_LOG=warn
out=$VE_TMP/out

VAULT_CACERT=$pki/ca.pem ve_read "$out" PGPASSWORD
check "VAULT_CACERT: verified read" ve_expect "$out" "PGPASSWORD=fake-tls-pw"
VAULT_CAPATH=$pki/capath ve_read "$out" PGPASSWORD
check "VAULT_CAPATH: verified read" ve_expect "$out" "PGPASSWORD=fake-tls-pw"

VAULT_CACERT=$pki/other-ca.pem ve_read "$out" PGPASSWORD
check "unknown CA: refused" ve_expect "$out" "PGPASSWORD unset"
check "unknown CA: TLS error named" stderr_has "TLS error"

VAULT_ADDR="https://127.0.0.1:$port" VAULT_CACERT=$pki/ca.pem ve_read "$out" PGPASSWORD
check "wrong host name: refused" ve_expect "$out" "PGPASSWORD unset"
check "wrong host name: TLS error named" stderr_has "TLS error"

VAULT_ADDR="https://127.0.0.1:$port" VAULT_CACERT=$pki/ca.pem VAULT_TLS_SERVER_NAME=vault.internal \
        ve_read "$out" PGPASSWORD
check "VAULT_TLS_SERVER_NAME: verified against that name" ve_expect "$out" "PGPASSWORD=fake-tls-pw"

VAULT_ADDR="https://127.0.0.1:$port" VAULT_SKIP_VERIFY=true ve_read "$out" PGPASSWORD
check "VAULT_SKIP_VERIFY=true: read without verification" ve_expect "$out" "PGPASSWORD=fake-tls-pw"

VAULT_ADDR="http://127.0.0.1:$port" ve_read "$out" PGPASSWORD
check "plain HTTP to a TLS port: fails cleanly" ve_expect "$out" "PGPASSWORD unset"

ve_vault_stop
# A server that requires client certificates.
ve_vault_start --tls-cert "$pki/server.pem" --tls-key "$pki/server.key" --tls-client-ca "$pki/ca.pem"
export VAULT_ADDR="https://localhost:$VE_DEV_PORT" VAULT_CACERT=$pki/ca.pem
export VE_CURL_OPTS="--cacert $pki/ca.pem --cert $pki/client.pem --key $pki/client.key"
ve_kv2_put secret/app/db '{"password":"fake-mtls-pw"}'
ve_read "$out" PGPASSWORD
check "client certificate required: refused without one" ve_expect "$out" "PGPASSWORD unset"
VAULT_CLIENT_CERT=$pki/client.pem VAULT_CLIENT_KEY=$pki/client.key ve_read "$out" PGPASSWORD
check "VAULT_CLIENT_CERT/KEY: read" ve_expect "$out" "PGPASSWORD=fake-mtls-pw"
ve_done
