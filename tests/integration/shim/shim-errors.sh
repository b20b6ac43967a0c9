#!/bin/bash
# User-caused failures: each gives a one-line message naming the thing and
# the reason, and nothing crashes. Bad mapping file, denied token, unknown
# token, missing secret and key, sealed Vault.
. "$(dirname "$0")/../lib.sh"

ve_vault_start
ve_kv2_put secret/app/db '{"password":"fake-pw-1"}'
ve_kv2_put secret/other/x '{"value":"fake-other"}'
out=$VE_TMP/out
export PLAIN=plain

# 1. a bad mapping file: FILE:LINE:COL, rejected whole, program still runs
printf 'GOOD = secret/app/db#password\n1BAD = secret/app/db#password\n' >"$VE_TMP/bad.map"
VAULTENV_MAP="$VE_TMP/bad.map" ve_read "$out" GOOD PLAIN
check "bad mapping: program runs as pass-through" ve_expect "$out" "GOOD unset" "PLAIN=plain"
check "bad mapping: FILE:LINE:COL message" stderr_has "$VE_TMP/bad.map:2:1: "
check "bad mapping: one line" test "$(wc -l <"$VE_TMP/stderr")" = 1
VAULTENV_MAP="$VE_TMP/missing.map" ve_read "$out" PLAIN
check "explicit missing mapping file is reported" stderr_has "$VE_TMP/missing.map"

# 2. a token whose policy does not allow the path: 403 named
ve_api PUT sys/policy/app-read '{"policy":"path \"secret/data/app/*\" { capabilities = [\"read\"] }"}'
limited=$(curl -sS -X POST -H "X-Vault-Token: $VE_ROOT_TOKEN" --data '{"policies":["app-read"]}' \
        "$VAULT_ADDR/v1/auth/token/create" | python3 -c 'import json,sys; print(json.load(sys.stdin)["auth"]["client_token"])')
printf 'OK_NAME = secret/app/db#password\nDENIED = secret/other/x required\n' >"$VE_TMP/app.map"
export VAULTENV_MAP="$VE_TMP/app.map"
VAULT_TOKEN=$limited ve_read "$out" OK_NAME
check "limited token: the allowed path is read" ve_expect "$out" "OK_NAME=fake-pw-1"
set +e
VAULT_TOKEN=$limited ve_read "$out" DENIED
status=$?
set -e
check "denied required: exit 78" test "$status" = 78
check "denied: message names path and reason" stderr_has "DENIED: required variable is missing: not found in Vault (permission denied on secret/other/x"
check "denied: no token in the message" stderr_lacks "$limited"

# 3. an unknown token
set +e
VAULT_TOKEN=fake-unknown-token ve_read "$out" DENIED
set -e
check "unknown token: permission denied" stderr_has "permission denied on secret/other/x"

# 4. no token at all (and no ~/.vault-token)
set +e
HOME=$VE_TMP VAULT_TOKEN= ve_read "$out" DENIED
set -e
check "no token: says so" stderr_has "no Vault token"

# 5. the token from ~/.vault-token (surrounding whitespace trimmed)
mkdir -p "$VE_TMP/home"
printf '  %s\n' "$VE_ROOT_TOKEN" >"$VE_TMP/home/.vault-token"
HOME=$VE_TMP/home VAULT_TOKEN= ve_read "$out" OK_NAME
check "token read from ~/.vault-token" ve_expect "$out" "OK_NAME=fake-pw-1"

# 6. missing secret and missing key
printf 'NO_SECRET = secret/app/nothere required\nNO_KEY = secret/app/db#nokey required\n' >"$VE_TMP/miss.map"
set +e
VAULTENV_MAP="$VE_TMP/miss.map" ve_read "$out" NO_SECRET
s1=$?
set -e
check "missing secret: exit 78 and 'no secret at'" bash -c "[ $s1 = 78 ] && grep -qF 'no secret at secret/app/nothere' '$VE_TMP/stderr'"
set +e
VAULTENV_MAP="$VE_TMP/miss.map" ve_read "$out" NO_KEY
s2=$?
set -e
check "missing key: exit 78 and names the key" bash -c "[ $s2 = 78 ] && grep -qF 'no key \"nokey\" in secret/app/db' '$VE_TMP/stderr'"

# 7. a Vault that does not answer in time: VAULT_CLIENT_TIMEOUT bounds it
curl -sS -o /dev/null -X POST --data '{"mode":"slow","delay":5}' "$VAULT_ADDR/_dev/fault"
set +e
VAULT_CLIENT_TIMEOUT=1s ve_read "$out" DENIED
set -e
# curl's own timeout fired (not the server's 5 s): the message says so
check "slow Vault: VAULT_CLIENT_TIMEOUT gives up, naming the timeout" stderr_has "within 1s (VAULT_CLIENT_TIMEOUT)"
curl -sS -o /dev/null -X POST --data '{"mode":"none"}' "$VAULT_ADDR/_dev/fault"

# 8. a broken install: the core module is not beside the shim. Mapped names
# fall back (here: to the environment), the reason is named, nothing crashes.
mkdir -p "$VE_TMP/lonely"
cp "$VE_SHIM" "$VE_TMP/lonely/"
OK_NAME=from-env LD_PRELOAD="$VE_PRELOAD_PREFIX$VE_TMP/lonely/libvaultenv.so" "$VE_READENV" "$out" OK_NAME PLAIN 2>"$VE_TMP/stderr"
check "no core module: falls back to the environment" ve_expect "$out" "OK_NAME=from-env" "PLAIN=plain"
check "no core module: says which file is missing" stderr_has "cannot load $VE_TMP/lonely/libvaultenv-core.so"

# 9. sealed Vault: 503 reported as such
ve_api PUT sys/seal
set +e
ve_read "$out" DENIED
set -e
check "sealed: says sealed" stderr_has "sealed"
ve_done
