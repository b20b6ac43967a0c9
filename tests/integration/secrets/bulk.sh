#!/bin/bash
# Bulk mapping: "PREFIX* = PATH#*" maps every key at a path, looked up
# lazily with one read; explicit entries win; a miss falls through to the
# environment; overlapping prefixes are an error.
. "$(dirname "$0")/../lib.sh"

ve_vault_start
ve_kv2_put secret/app/db '{"password":"fake-pw","host-name":"fake-host","port":"5432"}'
ve_kv2_put secret/app/other '{"port":"fake-6543"}'
out=$VE_TMP/out
printf 'DB_* = secret/app/db#*\nDB_PORT = secret/app/other#port\n' >"$VE_TMP/app.map"
export VAULTENV_MAP="$VE_TMP/app.map"
export DB_FROM_ENV=env-value OTHER=plain

ve_reset_counts
ve_read "$out" DB_PASSWORD DB_HOST_NAME DB_PORT DB_FROM_ENV DB_NOTHING OTHER DB_PASSWORD
check "bulk names, explicit wins, misses fall through" ve_expect "$out" \
        "DB_PASSWORD=fake-pw" "DB_HOST_NAME=fake-host" "DB_PORT=fake-6543" \
        "DB_FROM_ENV=env-value" "DB_NOTHING unset" "OTHER=plain" "DB_PASSWORD=fake-pw"
check "the bulk path is read once" test "$(ve_count "GET /v1/secret/data/app/db")" = 1

# a name that matches no prefix reads nothing
ve_reset_counts
ve_read "$out" OTHER
check "no prefix match: no request" test "$(ve_count "")" = 0

# overlapping prefixes: FILE:LINE:COL
printf 'DB_* = secret/app/db#*\nDB_P* = secret/app/other#*\n' >"$VE_TMP/bad.map"
VAULTENV_MAP="$VE_TMP/bad.map" ve_read "$out" DB_PASSWORD
check "overlap: mapping rejected" ve_expect "$out" "DB_PASSWORD unset"
check "overlap: FILE:LINE:COL message" stderr_has "$VE_TMP/bad.map:2:1: bulk mapping DB_P* overlaps DB_* (line 1)"

ve_done
