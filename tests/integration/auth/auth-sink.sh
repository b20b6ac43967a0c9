#!/bin/bash
# VAULTENV_TOKEN_SINK shared by many processes of one AppRole identity with
# a single-use secret id: siblings started together make one login between
# them; a token adopted from the sink is renewed while processes keep
# coming, up to its max TTL; no temporary file of the sink outlives its
# writer.
. "$(dirname "$0")/../lib.sh"

ve_vault_start
ve_kv2_put secret/app/db '{"password":"fake-pw-1"}'
ve_auth_policy app-read 'secret/data/app/*'
ve_api POST sys/auth/approle '{"type":"approle"}'
ve_api POST auth/approle/role/once '{"token_policies":["app-read"],"token_ttl":"1h","secret_id_num_uses":1}'
ve_api POST auth/approle/role/short \
        '{"token_policies":["app-read"],"token_ttl":"8s","token_max_ttl":"90s","secret_id_num_uses":1}'

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
# 8 s TTL), for three TTLs: whoever adopts the token with less than half
# its TTL left renews it, so the one login's token outlives its first TTL
ve_auth_get GET auth/approle/role/short/role-id '' data.role_id >"$VE_TMP/once-rid"
once_sid short
export VAULTENV_TOKEN_SINK=$VE_TMP/run/short.token
ve_reset_counts
pids=()
for i in $(seq 1 17); do
        [ "$i" = 1 ] || sleep 1.5
        LD_PRELOAD="$VE_PRELOAD" "$VE_READENV" "$out.r$i" A 2>"$VE_TMP/stderr.r$i" &
        pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || true; done
got=0
for i in $(seq 1 17); do ve_expect "$out.r$i" "A=fake-pw-1" >/dev/null && got=$((got + 1)); done
check "renewal at adoption: all 17 read the value (got $got)" test "$got" = 17
check "renewal at adoption: exactly one login" test "$(ve_count 'POST /v1/auth/approle/login')" = 1
check "renewal at adoption: the token was renewed" test "$(ve_count 'POST /v1/auth/token/renew-self')" -ge 1
cat "$VE_TMP"/stderr.r* >"$VE_TMP/stderr"
check "renewal at adoption: nothing on stderr" test ! -s "$VE_TMP/stderr"

# 3. no temporary file of the sink outlives its writer: the token is written
# into an unnamed file (O_TMPFILE) that is linked and renamed over the sink;
# one a writer killed between link and rename left (planted here) is
# removed by the next writer, which holds the sink's lock
once_sid short
export VAULTENV_TOKEN_SINK=$VE_TMP/run/sweep.token
(umask 077
 printf 'fake-stale-token\n' >"$VE_TMP/run/.sweep.token.Ab12Cd"
 printf 'fake-other\n' >"$VE_TMP/run/.sweep.token.keep-me"
 printf 'fake-other\n' >"$VE_TMP/run/.other.token.Ab12Cd")
ve_reset_counts
ve_read "$out" A
check "stale temporary file: the process reads" ve_expect "$out" "A=fake-pw-1"
check "stale temporary file: one login" test "$(ve_count 'POST /v1/auth/approle/login')" = 1
check "stale temporary file: the sink was written" test -s "$VAULTENV_TOKEN_SINK"
check "stale temporary file: removed by the next write" test ! -e "$VE_TMP/run/.sweep.token.Ab12Cd"
check "stale temporary file: names that are not the sink's temporaries are kept" \
        test -e "$VE_TMP/run/.sweep.token.keep-me" -a -e "$VE_TMP/run/.other.token.Ab12Cd"
check "stale temporary file: no other temporary file left" \
        test "$(find "$VE_TMP/run" -name '.sweep.token.??????' | wc -l)" = 0
# where the kernel can trace it: the token goes into an unnamed file
if strace -f -o /dev/null true 2>/dev/null; then
        rm -f "$VAULTENV_TOKEN_SINK"
        once_sid short
        LD_PRELOAD="$VE_PRELOAD" strace -f -e trace=openat,open,linkat,rename -o "$VE_TMP/trace" \
                "$VE_READENV" "$out" A 2>"$VE_TMP/stderr"
        check "unnamed write: read" ve_expect "$out" "A=fake-pw-1"
        check "unnamed write: the token file was opened O_TMPFILE in the sink's directory" \
                grep -qE "open(at)?\(.*\"$VE_TMP/run\".*O_TMPFILE" "$VE_TMP/trace"
        check "unnamed write: no named temporary file was created" \
                bash -c "! grep -E 'open(at)?\(.*\\.sweep\\.token\\..*O_CREAT' '$VE_TMP/trace'"
else
        echo "# strace cannot trace here: the O_TMPFILE checks are skipped"
fi

ve_done
