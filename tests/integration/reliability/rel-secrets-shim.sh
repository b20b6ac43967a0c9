#!/bin/bash
# Secrets in the process: values read from Vault are left out of a
# core dump (MADV_DONTDUMP); VAULTENV_NODUMP=1 makes the process
# non-dumpable (PR_SET_DUMPABLE 0: no core at all); VAULTENV_SCRUB=1 takes
# VAULT_TOKEN / VAULT_SECRET_ID out of the environment and out of
# /proc/PID/environ once the shim has read them.
. "$(dirname "$0")/../lib.sh"

ve_vault_start
canary="fake-canary-$(ve_random)"
ve_kv2_put secret/app/db "{\"password\":\"$canary\"}"
printf 'A = secret/app/db#password\n' >"$VE_TMP/app.map"
chmod 600 "$VE_TMP/app.map"
export VAULTENV_MAP="$VE_TMP/app.map"
export HOME=$VE_TMP/home
mkdir -p "$HOME"
out=$VE_TMP/out
token=$VAULT_TOKEN


ve_crash "$VE_TMP/c1"
check "crash program: A read from Vault" grep -qx "A set" "$VE_TMP/c1/out"
check "without VAULTENV_NODUMP: dumpable" grep -qx "dumpable 1" "$VE_TMP/c1/out"
core=$(ve_core_in "$VE_TMP/c1")
if [ -n "$core" ]; then
        check "core dump: written (control)" test -s "$core"
        check "core dump: the Vault value is not in it (MADV_DONTDUMP)" bash -c "! grep -qaF -- '$canary' '$core'"
else
        echo "ok - # SKIP no core dump is written here (core_pattern $(cat /proc/sys/kernel/core_pattern 2>/dev/null))"
fi
ve_crash "$VE_TMP/c2" VAULTENV_NODUMP=1
check "VAULTENV_NODUMP=1: A still read" grep -qx "A set" "$VE_TMP/c2/out"
check "VAULTENV_NODUMP=1: PR_GET_DUMPABLE gives 0" grep -qx "dumpable 0" "$VE_TMP/c2/out"
if [ -n "$core" ]; then
        check "VAULTENV_NODUMP=1: no core dump" test -z "$(ve_core_in "$VE_TMP/c2")"
fi
ve_crash "$VE_TMP/c3" VAULTENV_NODUMP=0
check "VAULTENV_NODUMP=0: dumpable" grep -qx "dumpable 1" "$VE_TMP/c3/out"

# ---- VAULTENV_SCRUB ----
# environ_has PID TEXT: /proc/PID/environ holds TEXT (prints nothing)
environ_has() { tr '\0' '\n' <"/proc/$1/environ" | grep -qF -- "$2"; }
# run_waiting READY OUT NAME... : readenv under the shim, kept alive after
# reading; sets pid.
run_waiting() {
        local ready=$1 o=$2
        shift 2
        rm -f "$ready"
        LD_PRELOAD="$VE_PRELOAD" "$VE_READENV" --wait "$ready" "$o" "$@" 2>"$VE_TMP/stderr" &
        pid=$!
        VE_PIDS+=("$pid")
        ve_eager_wait "$ready"
}
stop() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }

run_waiting "$VE_TMP/ready0" "$out" A VAULT_TOKEN
check "control: without VAULTENV_SCRUB the token stays in /proc/PID/environ" environ_has "$pid" "$token"
check "control: and in the environment" ve_expect "$out" "A=$canary" "VAULT_TOKEN=$token"
stop

VAULTENV_SCRUB=1 run_waiting "$VE_TMP/ready1" "$out" A VAULT_TOKEN
check "VAULTENV_SCRUB=1: A read with the token" grep -qx "A=$canary" "$out"
check "VAULTENV_SCRUB=1: VAULT_TOKEN is gone from the environment" grep -qx "VAULT_TOKEN unset" "$out"
check "VAULTENV_SCRUB=1: /proc/PID/environ no longer shows the token" bash -c "! { tr '\\0' '\\n' <'/proc/$pid/environ' | grep -qF -- '$token'; }"
check "VAULTENV_SCRUB=1: nor the name VAULT_TOKEN" bash -c "! { tr '\\0' '\\n' <'/proc/$pid/environ' | grep -q '^VAULT_TOKEN='; }"
check "VAULTENV_SCRUB=1: other variables stay" environ_has "$pid" "VAULTENV_MAP=$VAULTENV_MAP"
check "VAULTENV_SCRUB=1: quiet" test ! -s "$VE_TMP/stderr"
stop

# AppRole: VAULT_SECRET_ID likewise (VAULT_ROLE_ID is not a secret: kept).
ve_auth_policy app-read 'secret/data/app/*'
ve_api POST sys/auth/approle '{"type":"approle"}'
ve_api POST auth/approle/role/web '{"token_policies":["app-read"],"token_ttl":"1h","secret_id_num_uses":0}'
rid=$(ve_auth_get GET auth/approle/role/web/role-id '' data.role_id)
sid=$(ve_auth_get POST auth/approle/role/web/secret-id '' data.secret_id)
VAULT_TOKEN='' VAULT_ROLE_ID=$rid VAULT_SECRET_ID=$sid VAULTENV_SCRUB=1 \
        run_waiting "$VE_TMP/ready2" "$out" A --sleep 100 A VAULT_SECRET_ID
check "VAULTENV_SCRUB=1, AppRole: A read through the login" ve_expect "$out" "A=$canary" "A=$canary" "VAULT_SECRET_ID unset"
check "VAULTENV_SCRUB=1, AppRole: /proc/PID/environ no longer shows the secret id" \
        bash -c "! { tr '\\0' '\\n' <'/proc/$pid/environ' | grep -qF -- '$sid'; }"
check "VAULTENV_SCRUB=1, AppRole: the role id stays" environ_has "$pid" "VAULT_ROLE_ID=$rid"
stop

ve_done
