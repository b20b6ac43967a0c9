#!/bin/bash
# The program has its secret while /proc/PID/environ never shows it.
. "$(dirname "$0")/../lib.sh"

ve_vault_start
secret="fake-environ-secret-$(ve_random)"
ve_kv2_put secret/app/db "{\"password\":\"$secret\"}"
printf 'PGPASSWORD = secret/app/db#password required\n' >"$VE_TMP/app.map"
export VAULTENV_MAP="$VE_TMP/app.map"

out=$VE_TMP/out
LD_PRELOAD="$VE_PRELOAD" "$VE_READENV" --wait "$VE_TMP/ready" "$out" PGPASSWORD 2>"$VE_TMP/stderr" &
pid=$!
VE_PIDS+=("$pid")
for _ in $(seq 1 100); do [ -e "$VE_TMP/ready" ] && break; sleep 0.1; done
check "program is running and has read" test -e "$VE_TMP/ready"
check "the program got the secret" ve_expect "$out" "PGPASSWORD=$secret"
check "/proc/PID/environ is readable" test -r "/proc/$pid/environ"
check "the secret is not in /proc/PID/environ" bash -c "! tr '\0' '\n' </proc/$pid/environ | grep -qF -- '$secret'"
check "PGPASSWORD is not in /proc/PID/environ at all" bash -c "! tr '\0' '\n' </proc/$pid/environ | grep -q '^PGPASSWORD='"
check "the mapping is (so the scan itself works)" bash -c "tr '\0' '\n' </proc/$pid/environ | grep -q '^VAULTENV_MAP='"
kill "$pid"
ve_done
