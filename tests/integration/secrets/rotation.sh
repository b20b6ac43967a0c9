#!/bin/bash
# Freshness and rotation: a thread storm on an expired ttl name makes one
# request; stale-if-error with the server killed between two reads; and
# VAULTENV_STALE_MAX bounding how long a stale value is served.
. "$(dirname "$0")/../lib.sh"

# The storm program: built by meson (VE_STORMENV) or, until it is, here.
if [ -z "${VE_STORMENV:-}" ]; then
        VE_STORMENV=$VE_TMP/stormenv
        cc -O1 -pthread -o "$VE_STORMENV" "$VE_SOURCE_ROOT/tests/integration/helpers/stormenv.c"
fi

out=$VE_TMP/out
printf 'ROT = secret/app/rot#v ttl=1s\nKEEP = secret/app/keep#v ttl=1s\nBOUND = secret/app/keep#v ttl=1s default=fake-def\n' >"$VE_TMP/app.map"
export VAULTENV_MAP="$VE_TMP/app.map"

# 1. a thread storm on an expired ttl name: one request; the secret is
#    rotated while the program sleeps, so the storm sees the new version
#    and the pointer the first read returned still holds the old value
ve_vault_start
ve_kv2_put secret/app/rot '{"v":"fake-rot-1"}'
ve_reset_counts
rm -f "$out"
LD_PRELOAD="$VE_PRELOAD" timeout 60 "$VE_STORMENV" "$out" ROT 1500 32 2>"$VE_TMP/stderr" &
storm=$!
for _ in $(seq 1 100); do
        [ -s "$out" ] && break
        sleep 0.05
done
ve_kv2_put secret/app/rot '{"v":"fake-rot-2"}'
wait "$storm"
check "storm: the rotated value after it, the old or new one during it; the first pointer is unchanged" \
        ve_expect "$out" "first ROT=fake-rot-1" "after ROT=fake-rot-2" "storm ROT ok" "kept ROT=fake-rot-1"
check "storm: one read at first, exactly one for the expired value" \
        test "$(ve_count "GET /v1/secret/data/app/rot")" = 2

# 2. stale-if-error: the server is killed between two reads in one process
ve_kv2_put secret/app/keep '{"v":"fake-keep"}'
rm -f "$out"    # the server is killed once the first read is written
VAULT_MAX_RETRIES=0 VAULTENV_LOG=warn LD_PRELOAD="$VE_PRELOAD" timeout 60 "$VE_READENV" "$out" KEEP --sleep 2000 KEEP \
        2>"$VE_TMP/stderr" &
reader=$!
for _ in $(seq 1 100); do
        [ -s "$out" ] && break
        sleep 0.05
done
ve_vault_stop
wait "$reader"
check "server killed: the stale value is served" ve_expect "$out" "KEEP=fake-keep" "KEEP=fake-keep"
check "server killed: a warning says so" stderr_has "KEEP: refreshing secret/app/keep failed, keeping the cached value"
check "no value in the messages" stderr_lacks "fake-keep"

# 3. VAULTENV_STALE_MAX: past the bound, the name follows its fallbacks
ve_vault_start
ve_kv2_put secret/app/keep '{"v":"fake-keep"}'
rm -f "$out"
VAULT_MAX_RETRIES=0 VAULTENV_STALE_MAX=1s VAULTENV_LOG=warn LD_PRELOAD="$VE_PRELOAD" timeout 60 "$VE_READENV" "$out" \
        BOUND --sleep 2500 BOUND 2>"$VE_TMP/stderr" &
reader=$!
for _ in $(seq 1 100); do
        [ -s "$out" ] && break
        sleep 0.05
done
ve_vault_stop
wait "$reader"
check "stale past VAULTENV_STALE_MAX: the default, not the stale value" \
        ve_expect "$out" "BOUND=fake-keep" "BOUND=fake-def"
check "stale past VAULTENV_STALE_MAX: a warning says so" stderr_has "stale for longer than VAULTENV_STALE_MAX"

ve_done
