#!/bin/bash
# A Vault that accepts connections and never answers holds a process for
# about one VAULT_CLIENT_TIMEOUT, however many paths it reads: after the
# first timeout the circuit breaker sends every further cold lookup
# straight to its fallback, with one line naming the server, for
# VAULTENV_BREAKER_WINDOW; then one probe, and a healthy Vault is used
# again. The same under the shim, in eager mode, `vaultenv check` and
# `vaultenv export`, which ask their paths at once (up to 8 in flight):
# those in flight time out together, the breaker then skips the rest.
# Counted at the server; the time bound (< 6 s for 4 paths at 2 s) only
# tells one timeout from four.
. "$(dirname "$0")/../lib.sh"
: "${VE_CLI:?}"
unset VAULT_AGENT_ADDR VAULT_MAX_RETRIES VAULTENV_BREAKER_WINDOW

ve_vault_start
for p in a b c d; do
        ve_kv2_put "secret/app/$p" "{\"v\":\"fake-breaker-$p\"}"
done
for p in a b c d; do
        echo "${p^^} = kv2:secret/app/$p#v default=fake-default-$p"
done >"$VE_TMP/app.map"
export VAULTENV_MAP="$VE_TMP/app.map" VAULTENV_LOG=warn VAULT_CLIENT_TIMEOUT=2s
out=$VE_TMP/out
err=$VE_TMP/stderr
defaults=("A=fake-default-a" "B=fake-default-b" "C=fake-default-c" "D=fake-default-d")
line="Vault at $VAULT_ADDR did not answer (timeout after 2s); not asking again for"

# hang [N]: every request under /v1/secret/ (with N, only the next N)
# hangs for 30 s, far past the timeout; the counters start from 0.
hang() {
        ve_reset_counts
        ve_transport_fault "{\"mode\":\"slow\",\"delay\":30,\"prefix\":\"/v1/secret/\"${1:+,\"count\":$1}}"
}
# the reads of secret/app/* that reached the server since the reset
secret_requests() {
        curl -sS "$VAULT_ADDR/_dev/requests" |
                python3 -c 'import json,sys; print(sum(n for k, n in json.load(sys.stdin)["requests"].items() if k.startswith("GET /v1/secret/data/app/")))'
}
now_ms() { date +%s%3N; }
# under MS: the time since t0 is below MS milliseconds
under() { test $(($(now_ms) - t0)) -lt "$1"; }
lines_with() { grep -cF -- "$1" "$2" || true; }

# 1. under the shim: one timeout, one request, then the fallbacks
hang
t0=$(now_ms)
ve_read "$out" A B C D || true
check "shim: about one timeout for 4 paths (< 6 s)" under 6000
check "shim: the defaults" ve_expect "$out" "${defaults[@]}"
check "shim: one request reached the server" test "$(secret_requests)" = 1
check "shim: one line names the server and the window" test "$(lines_with "$line" "$err")" = 1

# 2. eager mode: the same before main
hang
t0=$(now_ms)
VAULTENV_EAGER=1 ve_read "$out" A B C D || true
check "eager: about one timeout for 4 paths (< 6 s)" under 6000
check "eager: the defaults" ve_expect "$out" "${defaults[@]}"
check "eager: each path asked at most once, at once" test "$(secret_requests)" -le 4

# 3. vaultenv check: every name reported, one request
hang
t0=$(now_ms)
"$VE_CLI" check -m "$VE_TMP/app.map" >"$out" 2>"$err" || true
check "check: about one timeout for 4 paths (< 6 s)" under 6000
check "check: each path asked at most once, at once" test "$(secret_requests)" -le 4
check "check: every name falls back to its default" test "$(grep -c ' default ' "$out")" = 4
check "check: every name says why: the timeout, or skipped" \
        test "$(grep -cE "no answer from Vault at $VAULT_ADDR within 2s|not asked \(circuit breaker\): Vault at $VAULT_ADDR did not answer \(timeout after 2s\)" "$out")" = 4

# 4. vaultenv export: the defaults, one request
hang
t0=$(now_ms)
"$VE_CLI" export -m "$VE_TMP/app.map" >"$out" 2>"$err" || true
check "export: about one timeout for 4 paths (< 6 s)" under 6000
check "export: each path asked at most once, at once" test "$(secret_requests)" -le 4
check "export: the defaults exported" test "$(grep -c 'fake-default-' "$out")" = 4
ve_transport_fault '{"mode":"none"}'

# 4b. more paths than go at once: the first 8 time out together, then the
# breaker skips the other 4 without asking them
for p in a b c d e f g h i j k l; do
        echo "${p^^} = kv2:secret/app/$p#v default=fake-default-$p"
done >"$VE_TMP/many.map"
hang
t0=$(now_ms)
"$VE_CLI" check -m "$VE_TMP/many.map" >"$out" 2>"$err" || true
check "check, 12 paths: about one timeout (< 6 s)" under 6000
check "check, 12 paths: 8 asked at once" test "$(secret_requests)" = 8
check "check, 12 paths: the other 4 not asked (circuit breaker)" \
        test "$(lines_with "not asked (circuit breaker): Vault at $VAULT_ADDR did not answer (timeout after 2s)" "$out")" = 4
ve_transport_fault '{"mode":"none"}'

# 5. after the window, one probe; a healthy Vault is used again. Only the
# first request hangs; B is skipped; past the 1 s window C is the probe,
# it succeeds, and D is read as usual.
hang 1
VAULTENV_BREAKER_WINDOW=1s ve_read "$out" A B --sleep 1500 C D || true
check "probe: A timed out, B skipped, C and D from Vault" \
        ve_expect "$out" "A=fake-default-a" "B=fake-default-b" "C=fake-breaker-c" "D=fake-breaker-d"
check "probe: B was not asked" test "$(ve_count "GET /v1/secret/data/app/b")" = 0
check "probe: C and D were asked once each" \
        test "$(ve_count "GET /v1/secret/data/app/c")$(ve_count "GET /v1/secret/data/app/d")" = 11
check "probe: the window named" stderr_has "not asking again for 1s"

# 6. VAULTENV_BREAKER_WINDOW=0: no breaker, every path is asked
hang
VAULTENV_BREAKER_WINDOW=0 VAULT_CLIENT_TIMEOUT=1s ve_read "$out" A B || true
check "off: the defaults" ve_expect "$out" "A=fake-default-a" "B=fake-default-b"
check "off: both paths asked" test "$(secret_requests)" = 2
check "off: no breaker line" stderr_lacks "not asking again"
ve_transport_fault '{"mode":"none"}'

ve_done
