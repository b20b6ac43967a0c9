#!/bin/bash
# Memory stays flat while a name is re-read: each re-read of an unchanged
# value (ttl= past, the same value again) gives back what the previous
# read took, in the heap and in the locked secure-memory arena (VmLck).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
: "${VE_REREADPROG:?}"
ve_asan_skip "ASan keeps freed memory in quarantine (VmRSS) and does not lock any (VmLck)"

ve_vault_start
# A 4,000-byte fake value: each read that is not given back shows.
big="fake-big-$(ve_random)-$(head -c 3970 /dev/zero | tr '\0' x)"
ve_kv2_put secret/app/big "{\"value\":\"$big\",\"short\":\"fake-short\"}"
printf '%s\n' "$big" >"$VE_TMP/big.expected"
cat >"$VE_TMP/app.map" <<'MAP'
BIG   = secret/app/big#value ttl=1ms
SHORT = secret/app/big#short ttl=1ms
MAP
export VAULTENV_MAP="$VE_TMP/app.map"

# 500 reads to warm up (handles, buffers, the arena's first chunk), then
# 10,000 more, each 2 ms apart (past the ttl): each one a request.
ve_reset_counts
LD_PRELOAD="$VE_PRELOAD" "$VE_REREADPROG" "$VE_TMP/out" BIG 500 10000 2 2>"$VE_TMP/stderr"
check "every read gave the same value" grep -qx same "$VE_TMP/out"
reads=$(ve_count "GET /v1/secret/data/app/big")
check "each read fetched the value anew ($reads requests)" [ "$reads" -ge 10500 ]
read -r _ rss0 rss1 < <(grep '^rss ' "$VE_TMP/out")
read -r _ lck0 lck1 < <(grep '^lck ' "$VE_TMP/out")
echo "# VmRSS ${rss0} -> ${rss1} kB, VmLck ${lck0} -> ${lck1} kB over 10,000 re-reads"
# Generous bounds: a leak of the 4,000-byte value alone is 40 MB here.
check "VmRSS grows by less than 4 MB" [ $((rss1 - rss0)) -lt 4096 ]
check "VmLck grows by less than 512 kB" [ $((lck1 - lck0)) -lt 512 ]
check "nothing on stderr" [ ! -s "$VE_TMP/stderr" ]
ve_done
