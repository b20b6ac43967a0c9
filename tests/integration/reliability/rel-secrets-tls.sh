#!/bin/bash
# Secrets in the process, over real TLS: a value read from Vault
# over https is not in a core dump. Besides the shim's own copies (memory
# marked MADV_DONTDUMP), the decrypted answer passes through OpenSSL's
# record buffer and libcurl's receive buffer, which their libraries keep
# or free without clearing: the shim clears libcurl's buffer once the body
# is delivered and asks OpenSSL to clear its plaintext
# (SSL_OP_CLEANSE_PLAINTEXT). lib.sh's ve_crash runs the program without
# MALLOC_PERTURB_, which would hide copies left in freed memory.
. "$(dirname "$0")/../lib.sh"

pki=$VE_TMP/pki
ve_pki "$pki" localhost
export VE_CURL_OPTS="--cacert $pki/ca.pem"
ve_vault_start --tls-cert "$pki/server.pem" --tls-key "$pki/server.key"
export VAULT_ADDR=https://localhost:$VE_DEV_PORT VAULT_CACERT=$pki/ca.pem
canary="fake-canary-tls-$(ve_random)"
ve_kv2_put secret/app/db "{\"password\":\"$canary\"}"
printf 'A = secret/app/db#password\n' >"$VE_TMP/app.map"
chmod 600 "$VE_TMP/app.map"
export VAULTENV_MAP="$VE_TMP/app.map"

d=$VE_TMP/c
ve_crash "$d"
check "A read from Vault over https" grep -qx "A set" "$d/out"
core=$(ve_core_in "$d")
if [ -n "$core" ]; then
        check "core dump: written (control)" test -s "$core"
        check "core dump: the value read over TLS is not in it" bash -c "! grep -qaF -- '$canary' '$core'"
else
        echo "ok - # SKIP no core dump is written here (core_pattern $(cat /proc/sys/kernel/core_pattern 2>/dev/null))"
fi
ve_done
