#!/bin/bash
# Several mapped names through the preloaded shim in an ordinary program:
# KV v2 (detected), KV v1 (forced and detected), the default key, default=,
# unmapped names, secure_getenv, one request per path, keep-alive, and a
# cold name read by 64 threads at once.
. "$(dirname "$0")/../lib.sh"

ve_vault_start
ve_api POST sys/mounts/kv1 '{"type":"kv","options":{"version":"1"}}'
ve_api POST sys/mounts/legacy '{"type":"kv","options":{"version":"1"}}'
ve_kv2_put secret/app/db '{"url":"postgresql://fake-user@db/app","password":"fake-pw-1","user":"fake-user"}'
ve_kv2_put secret/api_keys/anthropic '{"value":"fake-api-key-0000"}'
ve_kv2_put secret/app/flags '{"other":"x"}'
ve_api POST kv1/app/db '{"password":"fake-kv1-pw"}'
ve_api POST legacy/tokens '{"svc":"fake-legacy-token"}'

cat >"$VE_TMP/app.map" <<'MAP'
# NAME            = vault reference                   options
DATABASE_URL      = secret/app/db#url
PGPASSWORD        = secret/app/db#password            required
DB_USER           = secret/app/db#user
ANTHROPIC_API_KEY = secret/api_keys/anthropic                 # key defaults to "value"
LEGACY_TOKEN      = kv1:legacy/tokens#svc
KV1_DETECTED      = kv1/app/db#password
DEBUG             = secret/app/flags#debug            default=false
GREETING          = secret/app/flags#greeting         default="hello, world"
MAP
export VAULTENV_MAP="$VE_TMP/app.map"
export PLAIN_VAR=plain-value

ve_reset_counts
out=$VE_TMP/out
check "shim runs the program" ve_read "$out" DATABASE_URL PGPASSWORD DB_USER ANTHROPIC_API_KEY \
        LEGACY_TOKEN KV1_DETECTED DEBUG GREETING PLAIN_VAR NOT_SET
# the program's connection, and the one asking
check "one TCP connection for all reads (keep-alive)" test "$(ve_connections)" = 2
check "every mapped name has its Vault value, unmapped names pass through" ve_expect "$out" \
        "DATABASE_URL=postgresql://fake-user@db/app" "PGPASSWORD=fake-pw-1" "DB_USER=fake-user" \
        "ANTHROPIC_API_KEY=fake-api-key-0000" "LEGACY_TOKEN=fake-legacy-token" \
        "KV1_DETECTED=fake-kv1-pw" "DEBUG=false" "GREETING=hello, world" \
        "PLAIN_VAR=plain-value" "NOT_SET unset"
check "nothing on stderr at the default log level" test ! -s "$VE_TMP/stderr"
check "one KV v2 read for the three keys of secret/app/db" \
        test "$(ve_count 'GET /v1/secret/data/app/db')" = 1
check "forced kv1: read as is, no mount detection" \
        test "$(ve_count 'GET /v1/legacy/tokens')" = 1 -a "$(ve_count 'GET /v1/sys/internal/ui/mounts/legacy/tokens')" = 0
check "detected kv1 mount read without /data/" test "$(ve_count 'GET /v1/kv1/app/db')" = 1
# 5 paths -> 5 reads; detection: secret/ once, kv1/ once
check "5 secret reads + 2 mount detections, nothing else" test "$(ve_count '')" = 7

VE_READ_OPTS=--secure check "secure_getenv resolves too (not in secure mode)" \
        ve_read "$out" PGPASSWORD PLAIN_VAR
check "secure_getenv values" ve_expect "$out" "PGPASSWORD=fake-pw-1" "PLAIN_VAR=plain-value"

ve_reset_counts
VE_READ_OPTS="--threads 64" check "64 threads on one cold name" ve_read "$out" PGPASSWORD
check "all 64 threads got the same pointer" ve_expect "$out" "PGPASSWORD=fake-pw-1" "threads same"
check "exactly one secret read for 64 threads" test "$(ve_count 'GET /v1/secret/data/app/db')" = 1

# fork() after the parent has used its connection: the child resolves
# names of other paths over a connection of its own.
ve_reset_counts
VE_READ_OPTS=--fork check "fork: the child runs" ve_read "$out" PGPASSWORD LEGACY_TOKEN ANTHROPIC_API_KEY
check "fork: the child resolves cold names" ve_expect "$out" \
        "PGPASSWORD=fake-pw-1" "LEGACY_TOKEN=fake-legacy-token" "ANTHROPIC_API_KEY=fake-api-key-0000"
check "fork: parent's and child's connections (+1 asking)" test "$(ve_connections)" = 3
check "fork: the parent's read is not repeated" test "$(ve_count 'GET /v1/secret/data/app/db')" = 1

# The token and the values never reach stderr, even at debug level.
VAULTENV_LOG=debug ve_read "$out" PGPASSWORD DATABASE_URL
check "debug log written" stderr_has "secret/app/db"
check "debug log holds no token" stderr_lacks "$VE_ROOT_TOKEN"
check "debug log holds no value" stderr_lacks "fake-pw-1"

# Reentrancy: names that libcurl and OpenSSL read while the shim fetches
# (CURL_SSL_BACKEND in curl_global_init, OPENSSL_CONF/OPENSSL_MODULES in
# OpenSSL's init) mapped onto the very path being fetched. Their reads
# inside the shim's work must pass through, not wait for the fetch they
# are part of. (A watchdog, not a timing assertion: without the guard
# this deadlocks.)
cat >"$VE_TMP/reentrant.map" <<'MAP'
PGPASSWORD       = secret/app/db#password
CURL_SSL_BACKEND = secret/app/db#user
OPENSSL_CONF     = secret/app/db#user
OPENSSL_MODULES  = secret/app/db#user
MAP
VAULTENV_MAP=$VE_TMP/reentrant.map check "reentrant getenv from libcurl/OpenSSL: no deadlock" \
        timeout 60 env LD_PRELOAD="$VE_PRELOAD" "$VE_READENV" "$out" PGPASSWORD CURL_SSL_BACKEND
check "reentrant getenv: the program still gets Vault's values" \
        ve_expect "$out" "PGPASSWORD=fake-pw-1" "CURL_SSL_BACKEND=fake-user"

# The whole path (preload, lazy core, libcurl, 8 threads) under memcheck.
# (not in an ASan build: valgrind and ASan cannot share a process)
if [ -z "$VE_ASAN_RUNTIME" ] && command -v valgrind >/dev/null; then
        LD_PRELOAD="$VE_PRELOAD" valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
                "$VE_READENV" --threads 8 "$out" PGPASSWORD DB_USER DEBUG 2>"$VE_TMP/valgrind" && r=0 || r=$?
        check "under valgrind: no memory error, no definite leak" test "$r" = 0
        check "under valgrind: same values" ve_expect "$out" "PGPASSWORD=fake-pw-1" "DB_USER=fake-user" "DEBUG=false" "threads same"
fi

# A relative LD_PRELOAD, then the program changes directory before its
# first mapped lookup: the core is still found beside the shim (the shim's
# constructor notes where that is, and does so only when LD_PRELOAD has a
# relative path).
shimdir=$(dirname "$VE_SHIM")
(cd "$(dirname "$shimdir")" &&
        LD_PRELOAD="$VE_PRELOAD_PREFIX$(basename "$shimdir")/$(basename "$VE_SHIM")" "$VE_READENV" --chdir / "$out" PGPASSWORD PLAIN_VAR \
                2>"$VE_TMP/stderr")
check "relative LD_PRELOAD, then chdir: the core is found" ve_expect "$out" "PGPASSWORD=fake-pw-1" "PLAIN_VAR=plain-value"
check "relative LD_PRELOAD, then chdir: nothing on stderr" test ! -s "$VE_TMP/stderr"
# the same through a relative path with more than one component, and ".."
(cd "$shimdir" &&
        LD_PRELOAD="$VE_PRELOAD_PREFIX../$(basename "$shimdir")/$(basename "$VE_SHIM")" "$VE_READENV" --chdir / "$out" PGPASSWORD \
                2>"$VE_TMP/stderr")
check "relative LD_PRELOAD with ..: the core is found" ve_expect "$out" "PGPASSWORD=fake-pw-1"

# No mapping file: a pure pass-through, silent.
VAULTENV_MAP= VAULTENV_LOG=debug ve_read "$out" PLAIN_VAR PGPASSWORD
check "no mapping: pass-through" ve_expect "$out" "PLAIN_VAR=plain-value" "PGPASSWORD unset"
check "no mapping: silent" test ! -s "$VE_TMP/stderr"

ve_done
