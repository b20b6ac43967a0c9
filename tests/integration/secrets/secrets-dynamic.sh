#!/bin/bash
# Dynamic secrets (a database-style engine): the keys of one path come from
# one read, i.e. one lease (the username and its password match); after 2/3
# of the lease a lookup renews it (PUT sys/leases/renew); when Vault renews
# for less than asked (max_ttl reached) the path is read again and a new
# pair is served, while the pointers an earlier getenv returned still hold
# the old pair. A lease that is not renewable is read again instead.
. "$(dirname "$0")/../lib.sh"

# The test program that keeps getenv's pointers (built by meson).
: "${VE_LEASEPROG:?}"
lease_run() {
        local out=$1; shift
        LD_PRELOAD="$VE_PRELOAD" timeout 60 "$VE_LEASEPROG" "$out" "$@" 2>"$VE_TMP/stderr"
}
# line N of a file
line() { sed -n "${2}p" "$1"; }

ve_vault_start
ve_api POST sys/mounts/database '{"type":"database"}'
# 4 s leases that can be renewed up to 8 s after they were issued
ve_api POST database/roles/ro '{"db_name":"pg","default_ttl":"4s","max_ttl":"8s"}'
out=$VE_TMP/out

cat >"$VE_TMP/app.map" <<'MAP'
DB_USER = database/creds/ro#username
DB_PASS = database/creds/ro#password   required
MAP
export VAULTENV_MAP=$VE_TMP/app.map

# 1. one read, one lease for both keys; the mount (type database) is read as is
ve_reset_counts
lease_run "$out" DB_USER DB_PASS
check "username and password served" bash -c "grep -q '^DB_USER=v-' '$out' && grep -q '^DB_PASS=.' '$out'"
check "both keys from one read (one lease)" test "$(ve_count 'GET /v1/database/creds/ro')" = 1
check "read as is: no KV v2 data/ path tried" test "$(ve_count 'GET /v1/database/data/creds/ro')" = 0

# 2. renewal at 2/3 of the lease, then a new pair once max_ttl is near:
#  t=0   read (lease 4 s: fresh until 2.7 s)
#  t=3   lookup: renewed for 4 s (fresh until 5.7 s); the same pair
#  t=6   lookup: renewal asked 4 s, Vault grants 2 (max_ttl 8 s): read again,
#        both names switch to the new pair; old pointers keep the old pair
ve_reset_counts
lease_run "$out" DB_USER DB_PASS --sleep 3000 DB_USER DB_PASS --sleep 3000 DB_USER DB_PASS
check "renewed once at 2/3, then once more (short)" test "$(ve_count 'PUT /v1/sys/leases/renew')" = 2
check "two reads: the first and the one after max_ttl" test "$(ve_count 'GET /v1/database/creds/ro')" = 2
check "after the renewal: the same pair" \
        bash -c "[ \"\$(sed -n 1p '$out')\" = \"\$(sed -n 3p '$out')\" ] && [ \"\$(sed -n 2p '$out')\" = \"\$(sed -n 4p '$out')\" ]"
check "after max_ttl: a new username and a new password" \
        bash -c "[ \"\$(sed -n 1p '$out')\" != \"\$(sed -n 5p '$out')\" ] && [ \"\$(sed -n 2p '$out')\" != \"\$(sed -n 6p '$out')\" ]"
check "earlier pointers still hold the old pair" test "$(line "$out" 7)" = "pointers stable"
check "no value in stderr" bash -c "! grep -qF \"\$(sed -n 2p '$out' | cut -d= -f2)\" '$VE_TMP/stderr'"

# 3. the new pair is one lease too: the server has the second lease live
check "the new lease is live at the server" \
        bash -c "curl -sS '$VAULT_ADDR/_dev/leases' | grep -q 'database/creds/ro/'"

# 4. a lease that ran out before the next lookup: the renewal fails (Vault
# has revoked it) and the path is read again: a new username
ve_api POST database/roles/short '{"db_name":"pg","default_ttl":"1s","max_ttl":"1s"}'
printf 'S_USER = database/creds/short#username\n' >"$VE_TMP/short.map"
ve_reset_counts
VAULTENV_MAP=$VE_TMP/short.map lease_run "$out" S_USER --sleep 1500 S_USER
check "expired lease: read again" test "$(ve_count 'GET /v1/database/creds/short')" = 2
check "expired lease: a new username" bash -c "[ \"\$(sed -n 1p '$out')\" != \"\$(sed -n 2p '$out')\" ]"

# 5. the CLI: get and check work on a dynamic secret; check gives its
# leases back at once (nothing uses what it read)
"$VE_CLI" get DB_USER >"$out" 2>"$VE_TMP/stderr"
check "vaultenv get: a dynamic secret" grep -q '^v-' "$out"
for l in $(curl -sS "$VAULT_ADDR/_dev/leases" | python3 -c 'import json,sys; print(" ".join(l["id"] for l in json.load(sys.stdin)["leases"]))'); do
        ve_api PUT sys/leases/revoke "{\"lease_id\":\"$l\"}"
done
ve_reset_counts
"$VE_CLI" check >"$out" 2>"$VE_TMP/stderr"
check "vaultenv check: found for both names" test "$(grep -c ' found ' "$out")" = 2
check "vaultenv check: no lease left behind" \
        test "$(curl -sS "$VAULT_ADDR/_dev/leases" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["leases"]))')" = 0
check "vaultenv check: revoked it" test "$(ve_count 'PUT /v1/sys/leases/revoke')" = 1
ve_done
