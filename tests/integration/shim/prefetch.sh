#!/bin/bash
# Reading many paths at once: VAULTENV_PREFETCH=1 and the mapping's
# prefetch directive make a lazy program's first lookup read every path of
# the mapping concurrently (the dev server's max_in_flight shows the
# overlap; every request is slowed so that they must overlap), one read
# per path and one lease per dynamic path, a denied path logged once and
# failing nothing else; eager names before main (also through vaultenv
# exec --eager), vaultenv check, export
# and get of several names do the same, with no lock held across the
# requests, and over TLS. Without prefetch, a lazy program
# still reads only the paths it asks for, one at a time.
. "$(dirname "$0")/../lib.sh"
: "${VE_CLI:?}"

ve_vault_start
# The dev server's listen backlog holds a burst of concurrent connects, as
# real Vault's (somaxconn): with socketserver's 5, the kernel drops SYNs and
# each costs a 1 s retransmit, which the figures of concurrent reads showed.
backlog=$(ss -Hltn "sport = :$VE_DEV_PORT" | awk '{ print $3; exit }')
check "the dev server's listen backlog ($backlog) holds a burst of 64 connects" \
        bash -c "[ '${backlog:-0}' -ge 64 ]"
ve_api POST sys/mounts/legacy '{"type":"kv","options":{"version":"1"}}'
ve_api POST sys/mounts/database '{"type":"database"}'
ve_api POST database/roles/ro '{"db_name":"pg","default_ttl":"1h","max_ttl":"2h"}'
for i in 1 2 3 4 5; do
        ve_kv2_put "secret/app/p$i" "{\"a\":\"fake-pf-a$i\",\"b\":\"fake-pf-b$i\"}"
done
ve_kv2_put secret/other/denied '{"a":"fake-pf-denied"}'
ve_api POST legacy/app '{"a":"fake-pf-legacy"}'
ve_auth_policy app-read "secret/data/app/*"
# The limited token may read secret/app/* only (and the database path,
# below, through the root token in other steps).
limited=$(ve_auth_get POST auth/token/create '{"policies":["app-read"]}' auth.client_token)

cat >"$VE_TMP/app.map" <<'MAP'
A1 = secret/app/p1#a
B1 = secret/app/p1#b
A2 = secret/app/p2#a
A3 = secret/app/p3#a
A4 = secret/app/p4#a
A5 = secret/app/p5#a
LEGACY = legacy/app#a
MAP
{ echo prefetch; cat "$VE_TMP/app.map"; } >"$VE_TMP/directive.map"
cat >"$VE_TMP/denied.map" <<'MAP'
A1 = secret/app/p1#a
A2 = secret/app/p2#a
DENIED = secret/other/denied#a
MAP
cat >"$VE_TMP/dynamic.map" <<'MAP'
A1 = secret/app/p1#a
DB_USER = database/creds/ro#username
DB_PASS = database/creds/ro#password
MAP
out=$VE_TMP/out
slow() { ve_transport_fault '{"mode":"slow","delay":0.4}'; }
unslow() { ve_transport_fault '{"mode":"none"}'; }
# Every path of app.map read exactly once (one look at the counters).
reads_once() {
        # shellcheck disable=SC2086
        curl -sS ${VE_CURL_OPTS:-} "$VAULT_ADDR/_dev/requests" | python3 -c '
import json, sys
n = json.load(sys.stdin)["requests"]
paths = ["secret/data/app/p%d" % i for i in range(1, 6)] + ["legacy/app"]
sys.exit(0 if all(n.get("GET /v1/" + p) == 1 for p in paths) else 1)'
}

# ---- VAULTENV_PREFETCH=1: the first lookup reads every path at once ----
ve_reset_counts
slow
# One name asked for; every path of the mapping read, concurrently.
VAULTENV_MAP=$VE_TMP/app.map VAULTENV_PREFETCH=1 ve_read "$out" A1 A2 A3 A4 A5 B1 LEGACY
unslow
check "VAULTENV_PREFETCH=1: every name served" ve_expect "$out" A1=fake-pf-a1 A2=fake-pf-a2 A3=fake-pf-a3 \
        A4=fake-pf-a4 A5=fake-pf-a5 B1=fake-pf-b1 LEGACY=fake-pf-legacy
check "VAULTENV_PREFETCH=1: one read per path" reads_once
inflight=$(ve_transport_stat max_in_flight)
check "VAULTENV_PREFETCH=1: the reads overlapped ($inflight at once), at most 8" \
        bash -c "[ $inflight -ge 3 ] && [ $inflight -le 8 ]"
check "VAULTENV_PREFETCH=1: besides, one mount detection per mount (secret/, legacy/)" \
        test "$(ve_transport_stat total)" = 8
check "VAULTENV_PREFETCH=1: nothing logged at the default level" bash -c "[ ! -s '$VE_TMP/stderr' ]"

# The same program, one name, without prefetch: only its path is read.
ve_reset_counts
VAULTENV_MAP=$VE_TMP/app.map ve_read "$out" A1
check "without prefetch: only the path asked for is read" \
        test "$(ve_count 'GET /v1/secret/data/app/p1') $(ve_count 'GET /v1/secret/data/app/p2')" = "1 0"

# ---- the mapping's prefetch directive ----
ve_reset_counts
slow
VAULTENV_MAP=$VE_TMP/directive.map ve_read "$out" A3
unslow
check "prefetch directive: the name served" ve_expect "$out" A3=fake-pf-a3
check "prefetch directive: every path read once at the first lookup" reads_once
inflight=$(ve_transport_stat max_in_flight)
check "prefetch directive: the reads overlapped ($inflight at once)" bash -c "[ $inflight -ge 3 ] && [ $inflight -le 8 ]"

# ---- a denied path: logged once, the others served ----
ve_reset_counts
VAULT_TOKEN=$limited VAULTENV_MAP=$VE_TMP/denied.map VAULTENV_PREFETCH=1 ve_read "$out" A1 A2
check "denied path: the other names served" ve_expect "$out" A1=fake-pf-a1 A2=fake-pf-a2
check "denied path: one line naming the path and the reason" \
        test "$(grep -c 'secret/other/denied: permission denied on secret/other/denied' "$VE_TMP/stderr")" = 1
check "denied path: nothing else logged" test "$(wc -l <"$VE_TMP/stderr")" = 1
check "denied path: read once" test "$(ve_count 'GET /v1/secret/data/other/denied')" = 1

# ---- a dynamic path: one read, one lease ----
ve_reset_counts
VAULTENV_MAP=$VE_TMP/dynamic.map VAULTENV_PREFETCH=1 ve_read "$out" DB_USER A1 DB_PASS
check "dynamic path: served" bash -c "grep -q '^DB_USER=v-' '$out' && grep -q '^DB_PASS=.' '$out'"
check "dynamic path: one read (one lease) for both keys" test "$(ve_count 'GET /v1/database/creds/ro')" = 1
check "dynamic path: one lease" test "$(curl -sS "$VAULT_ADDR/_dev/leases" |
        python3 -c 'import json,sys; print(len(json.load(sys.stdin)["leases"]))')" = 1

# ---- 64 threads on a cold name with prefetch: one request per path ----
ve_reset_counts
slow
VAULTENV_MAP=$VE_TMP/app.map VAULTENV_PREFETCH=1 VE_READ_OPTS="--threads 64" ve_read "$out" A4
unslow
check "64 threads, prefetch: the same pointer" ve_expect "$out" A4=fake-pf-a4 "threads same"
check "64 threads, prefetch: one read per path" reads_once

# ---- eager names before main ----
ve_reset_counts
slow
VAULTENV_MAP=$VE_TMP/app.map VAULTENV_EAGER=1 ve_read "$out" A1 A5 LEGACY
unslow
check "eager: served" ve_expect "$out" A1=fake-pf-a1 A5=fake-pf-a5 LEGACY=fake-pf-legacy
check "eager: one read per path" reads_once
inflight=$(ve_transport_stat max_in_flight)
check "eager: the reads overlapped ($inflight at once)" bash -c "[ $inflight -ge 3 ] && [ $inflight -le 8 ]"

# ---- vaultenv exec --eager ----
ve_reset_counts
slow
"$VE_CLI" exec --eager -m "$VE_TMP/app.map" -- "$VE_READENV" "$out" A2 B1 2>"$VE_TMP/stderr" && r=0 || r=$?
unslow
check "exec --eager: served" bash -c "[ $r = 0 ] && grep -qx 'A2=fake-pf-a2' '$out' && grep -qx 'B1=fake-pf-b1' '$out'"
check "exec --eager: one read per path" reads_once
inflight=$(ve_transport_stat max_in_flight)
check "exec --eager: the reads overlapped ($inflight at once)" bash -c "[ $inflight -ge 3 ] && [ $inflight -le 8 ]"

# ---- vaultenv check, export, get of several names ----
for cmd in "check -q" "export" "get A1 A2 A3 A4 A5 LEGACY"; do
        ve_reset_counts
        slow
        # shellcheck disable=SC2086
        "$VE_CLI" $cmd -m "$VE_TMP/app.map" >"$out" 2>"$VE_TMP/stderr" && r=0 || r=$?
        unslow
        check "vaultenv ${cmd%% *}: exit 0" test "$r" = 0
        check "vaultenv ${cmd%% *}: one read per path" reads_once
        inflight=$(ve_transport_stat max_in_flight)
        check "vaultenv ${cmd%% *}: the reads overlapped ($inflight at once)" \
                bash -c "[ $inflight -ge 3 ] && [ $inflight -le 8 ]"
done
check "vaultenv get of several names: the values in order" ve_expect "$out" fake-pf-a1 fake-pf-a2 fake-pf-a3 \
        fake-pf-a4 fake-pf-a5 fake-pf-legacy

# ---- no vaultenv lock held across the batch's I/O ----
# librelcheck.so makes vaultenv's mutexes error-checking and reports any
# network I/O while one is held (rel-concurrency.sh).
: "${VE_RELCHECK:?}"
rm -f "$VE_TMP/relcheck"
VAULTENV_MAP=$VE_TMP/app.map VAULTENV_PREFETCH=1 REL_CHECK_OUT=$VE_TMP/relcheck \
        LD_PRELOAD="$VE_PRELOAD_PREFIX$VE_RELCHECK $VE_SHIM" timeout 60 "$VE_READENV" --threads 8 "$out" A2 A1 \
        2>"$VE_TMP/stderr" && r=0 || r=$?
check "lock checker, prefetch, 8 threads: completes" test "$r" = 0
check "lock checker: the checker saw vaultenv's locks" grep -qE '^locks [1-9]' "$VE_TMP/relcheck"
check "lock checker: no mutex locked twice by one thread" sh -c "! grep -q '^relock' '$VE_TMP/relcheck'"
check "lock checker: no network I/O while a vaultenv mutex is held" \
        sh -c "! grep -q '^io-under-lock' '$VE_TMP/relcheck'"

# ---- over TLS (HTTP/1.1 here): the requests waiting for the first
# connection (to be multiplexed on it under HTTP/2) then go out at once ----
pki=$VE_TMP/pki
ve_pki "$pki" localhost
ve_vault_stop
ve_vault_start --tls-cert "$pki/server.pem" --tls-key "$pki/server.key"
export VE_CURL_OPTS="--cacert $pki/ca.pem"
export VAULT_ADDR="https://localhost:$VE_DEV_PORT"
ve_api POST sys/mounts/legacy '{"type":"kv","options":{"version":"1"}}'
for i in 1 2 3 4 5; do
        ve_kv2_put "secret/app/p$i" "{\"a\":\"fake-pf-a$i\",\"b\":\"fake-pf-b$i\"}"
done
ve_api POST legacy/app '{"a":"fake-pf-legacy"}'
ve_reset_counts
slow
VAULT_CACERT=$pki/ca.pem "$VE_CLI" check -q -m "$VE_TMP/app.map" >"$out" 2>"$VE_TMP/stderr" && r=0 || r=$?
unslow
check "TLS: vaultenv check: exit 0" test "$r" = 0
check "TLS: one read per path" reads_once
inflight=$(ve_transport_stat max_in_flight)
check "TLS: the reads overlapped ($inflight at once)" bash -c "[ $inflight -ge 3 ] && [ $inflight -le 8 ]"
ve_done
