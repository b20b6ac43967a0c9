#!/bin/bash
# HTTP/2 over TLS: the reads of a batch (vaultenv check, a prefetching
# program) wait for the first connection and are multiplexed on it when
# the server offers HTTP/2, instead of opening one connection each. The
# server is helpers/h2vault (Go's net/http, which speaks h2 by ALPN), as
# vault-dev speaks HTTP/1.1 only.
. "$(dirname "$0")/../lib.sh"
: "${VE_CLI:?}"

if ! command -v go >/dev/null; then
        echo "# no go (Debian: golang-go): skipped"
        exit 77
fi
mkdir -p "$VE_TMP/bin"
(cd "$VE_SOURCE_ROOT/tests/integration/helpers/h2vault" &&
        env GOCACHE="$VE_TMP/go/cache" GOPATH="$VE_TMP/go/path" HOME="$VE_TMP/go" GOPROXY=off \
        GOFLAGS=-buildvcs=false CGO_ENABLED=0 go build -o "$VE_TMP/bin/h2vault" .)
pki=$VE_TMP/pki
ve_pki "$pki" localhost
token="fake-h2-token-$(ve_random)"
"$VE_TMP/bin/h2vault" -cert "$pki/server.pem" -key "$pki/server.key" -token "$token" \
        -port-file "$VE_TMP/h2.port" 2>"$VE_TMP/h2vault.log" &
VE_PIDS+=("$!")
for _ in $(seq 1 100); do
        [ -s "$VE_TMP/h2.port" ] && break
        sleep 0.1
done
port=$(cat "$VE_TMP/h2.port")
export VAULT_ADDR="https://localhost:$port" VAULT_TOKEN=$token VAULT_CACERT=$pki/ca.pem
stat() { curl -sS --cacert "$pki/ca.pem" "$VAULT_ADDR/_stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

for i in 1 2 3 4 5 6; do echo "A$i = secret/app/p$i#a"; done >"$VE_TMP/app.map"
out=$VE_TMP/out

"$VE_CLI" check -m "$VE_TMP/app.map" >"$out" 2>"$VE_TMP/stderr" && r=0 || r=$?
check "check over HTTP/2: exit 0, every name found" bash -c "[ $r = 0 ] && [ \$(grep -c ' found ' '$out') = 6 ]"
check "check over HTTP/2: one detection and 6 reads" test "$(stat requests)" = 7
check "check over HTTP/2: every request came over HTTP/2" test "$(stat h2)" = 7
check "check over HTTP/2: the reads multiplexed on one connection" test "$(stat connections)" = 1
check "check over HTTP/2: the reads overlapped" test "$(stat max_in_flight)" -ge 3

VAULTENV_MAP=$VE_TMP/app.map VAULTENV_PREFETCH=1 ve_read "$out" A6 A1
check "prefetch over HTTP/2: served" ve_expect "$out" A6=fake-h2-app/p6 A1=fake-h2-app/p1
check "prefetch over HTTP/2: one more connection for the program, the batch multiplexed on it" \
        test "$(stat connections)" = 2
check "prefetch over HTTP/2: one detection and 6 reads more" test "$(stat requests)" = 14
# kv2: references need no detection: the reads are the first requests of
# the process, and they wait for its first connection rather than open
# one each (CURLOPT_PIPEWAIT)
for i in 1 2 3 4 5 6; do echo "K$i = kv2:secret/app/k$i#a"; done >"$VE_TMP/kv2.map"
VAULTENV_MAP=$VE_TMP/kv2.map VAULTENV_PREFETCH=1 ve_read "$out" K1 K6
check "cold batch over HTTP/2: served" ve_expect "$out" K1=fake-h2-app/k1 K6=fake-h2-app/k6
check "cold batch over HTTP/2: 6 reads, no detection" test "$(stat requests)" = 20
check "cold batch over HTTP/2: on one new connection" test "$(stat connections)" = 3
ve_done
