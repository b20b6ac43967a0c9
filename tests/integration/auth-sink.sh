#!/bin/bash
# VAULTENV_TOKEN_SINK shared by many processes of one AppRole identity with
# a single-use secret id: siblings started together make one login between
# them; a token adopted from the sink is renewed while processes keep
# coming, up to its max TTL; no temporary file of the sink outlives its
# writer.
. "$(dirname "$0")/lib.sh"

ve_vault_start
ve_kv2_put secret/app/db '{"password":"fake-pw-1"}'
ve_auth_policy app-read 'secret/data/app/*'
ve_api POST sys/auth/approle '{"type":"approle"}'
ve_api POST auth/approle/role/once '{"token_policies":["app-read"],"token_ttl":"1h","secret_id_num_uses":1}'
ve_api POST auth/approle/role/short \
        '{"token_policies":["app-read"],"token_ttl":"6s","token_max_ttl":"60s","secret_id_num_uses":1}'

printf 'A = secret/app/db#password\n' >"$VE_TMP/app.map"
export VAULTENV_MAP="$VE_TMP/app.map"
unset VAULT_TOKEN
export HOME=$VE_TMP/home
mkdir -p "$HOME"
mkdir -m 700 "$VE_TMP/run"
out=$VE_TMP/out
once_sid() { # ROLE: a fresh single-use secret id of ROLE in $VE_TMP/once-sid
        (umask 077 && ve_auth_get POST "auth/approle/role/$1/secret-id" '' data.secret_id >"$VE_TMP/once-sid")
}
ve_auth_get GET auth/approle/role/once/role-id '' data.role_id >"$VE_TMP/once-rid"
export VAULT_ROLE_ID_FILE=$VE_TMP/once-rid VAULT_SECRET_ID_FILE=$VE_TMP/once-sid

# 1. 20 siblings started together, empty sink: one logs in, the others
# wait for it and adopt its token. A slow login keeps them together.
once_sid once
export VAULTENV_TOKEN_SINK=$VE_TMP/run/token
ve_transport_fault '{"mode":"slow","delay":1,"prefix":"/v1/auth/approle/login"}'
ve_reset_counts
pids=()
for i in $(seq 1 20); do
        LD_PRELOAD="$VE_PRELOAD" "$VE_READENV" "$out.$i" A 2>"$VE_TMP/stderr.$i" &
        pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || true; done
ve_transport_fault '{"mode":"none"}'
got=0
for i in $(seq 1 20); do ve_expect "$out.$i" "A=fake-pw-1" >/dev/null && got=$((got + 1)); done
check "siblings: all 20 read the value (got $got)" test "$got" = 20
check "siblings: exactly one login" test "$(ve_count 'POST /v1/auth/approle/login')" = 1
cat "$VE_TMP"/stderr.* >"$VE_TMP/stderr"
check "siblings: nothing on stderr" test ! -s "$VE_TMP/stderr"
check "siblings: the secret id is not on stderr" stderr_lacks "$(cat "$VE_TMP/once-sid")"

# 2. short-lived processes, one every 1.5 s (less than half the token's
# 6 s TTL), for three TTLs: whoever adopts the token with less than half
# its TTL left renews it, so the one login's token outlives its first TTL
ve_auth_get GET auth/approle/role/short/role-id '' data.role_id >"$VE_TMP/once-rid"
once_sid short
export VAULTENV_TOKEN_SINK=$VE_TMP/run/short.token
ve_reset_counts
pids=()
for i in $(seq 1 13); do
        LD_PRELOAD="$VE_PRELOAD" "$VE_READENV" "$out.r$i" A 2>"$VE_TMP/stderr.r$i" &
        pids+=($!)
        sleep 1.5
done
for p in "${pids[@]}"; do wait "$p" || true; done
got=0
for i in $(seq 1 13); do ve_expect "$out.r$i" "A=fake-pw-1" >/dev/null && got=$((got + 1)); done
check "renewal at adoption: all 13 read the value (got $got)" test "$got" = 13
check "renewal at adoption: exactly one login" test "$(ve_count 'POST /v1/auth/approle/login')" = 1
check "renewal at adoption: the token was renewed" test "$(ve_count 'POST /v1/auth/token/renew-self')" -ge 1
check "renewal at adoption: the sink's token is alive after three of its TTLs" \
        curl -sS --fail -o /dev/null -H "X-Vault-Token: $(cat "$VAULTENV_TOKEN_SINK")" \
        "$VAULT_ADDR/v1/auth/token/lookup-self"
cat "$VE_TMP"/stderr.r* >"$VE_TMP/stderr"
check "renewal at adoption: nothing on stderr" test ! -s "$VE_TMP/stderr"

ve_done
