#!/bin/bash
# Faulty answers through the shim: a body over 1 MiB (Content-Length and
# chunked), a malformed JSON 200, dropped connections, a Vault that answers
# too late, a TLS mismatch. Each is a one-line error and a fallback, never a
# crash; only the connection failures are retried.
. "$(dirname "$0")/../lib.sh"
unset VAULT_AGENT_ADDR VAULT_MAX_RETRIES VAULT_CLIENT_TIMEOUT

ve_vault_start
ve_kv2_put secret/app/db '{"password":"fake-pw-faults"}'
out=$VE_TMP/out
printf 'PW = kv2:secret/app/db#password default=fake-default\nPAD = kv1:secret/app/db#pad\n' >"$VE_TMP/app.map"
export VAULTENV_MAP="$VE_TMP/app.map" VAULTENV_LOG=info
path='GET /v1/secret/data/app/db'

fault() { ve_reset_counts; ve_transport_fault "$1"; }
# runs the shim; the status must be 0 (no crash, no abort)
read_ok() { local s=0; ve_read "$@" || s=$?; check "no crash (exit status $s)" test "$s" = 0; }

# 1. over 1 MiB, announced by Content-Length
fault '{"mode":"oversize","size":2097152,"count":1,"prefix":"/v1/secret/"}'
read_ok "$out" PW
check "oversize (Content-Length): default used" ve_expect "$out" "PW=fake-default"
check "oversize (Content-Length): 'larger than 1 MiB'" \
        stderr_has "PW: Vault gave no value (answer from Vault for secret/app/db is larger than 1 MiB)"
check "oversize (Content-Length): not retried" test "$(ve_count "$path")" = 1

# 2. over 1 MiB, chunked (no length known in advance)
fault '{"mode":"oversize","size":2097152,"chunked":true,"count":1,"prefix":"/v1/secret/"}'
read_ok "$out" PW
check "oversize (chunked): default used" ve_expect "$out" "PW=fake-default"
check "oversize (chunked): 'larger than 1 MiB'" stderr_has "answer from Vault for secret/app/db is larger than 1 MiB"
check "oversize (chunked): not retried" test "$(ve_count "$path")" = 1

# 3. exactly 1 MiB is still fine, both ways (the value is a padding key)
for chunked in false true; do
        fault "{\"mode\":\"oversize\",\"size\":1048576,\"chunked\":$chunked,\"count\":1,\"prefix\":\"/v1/secret/\"}"
        read_ok "$out" PAD
        check "1 MiB exactly (chunked=$chunked): read" bash -c "grep -q '^PAD=xxxx' '$out'"
        check "1 MiB exactly (chunked=$chunked): no size error" stderr_lacks "larger than 1 MiB"
done

# 4. a malformed JSON 200: an error, not retried
fault '{"mode":"malformed","count":1,"prefix":"/v1/secret/"}'
read_ok "$out" PW
check "malformed JSON: default used" ve_expect "$out" "PW=fake-default"
check "malformed JSON: named" stderr_has "unexpected answer from Vault for secret/app/db: malformed JSON from Vault"
check "malformed JSON: not retried" test "$(ve_count "$path")" = 1

# 5. a dropped connection is a connection error, retried
fault '{"mode":"drop","count":1,"prefix":"/v1/secret/"}'
read_ok "$out" PW
check "one drop: the value is read" ve_expect "$out" "PW=fake-pw-faults"
check "one drop: asked again" test "$(ve_count "$path")" -ge 2
# dropped every time: the error counts the attempts
fault '{"mode":"drop","prefix":"/v1/secret/"}'
read_ok "$out" PW
check "always dropped: default used" ve_expect "$out" "PW=fake-default"
check "always dropped: one line naming Vault and the attempts" \
        bash -c "grep -F 'PW: Vault gave no value (request to Vault at $VAULT_ADDR failed: ' '$VE_TMP/stderr' | grep -qF '(3 attempts)'"
check "always dropped: retries logged" stderr_has "retry 2 of 2 in "
ve_transport_fault '{"mode":"none"}'

# 6. too slow: VAULT_CLIENT_TIMEOUT ends it; no retry past the deadline
fault '{"mode":"slow","delay":4,"count":1,"prefix":"/v1/secret/"}'
VAULT_CLIENT_TIMEOUT=1s read_ok "$out" PW
check "slow: default used" ve_expect "$out" "PW=fake-default"
check "slow: the timeout is named" stderr_has "within 1s (VAULT_CLIENT_TIMEOUT)"
check "slow: not retried past the deadline" test "$(ve_count "$path")" = 1

# 7. TLS to a plain-HTTP server: a TLS error, never retried (one connection)
ve_reset_counts
conns=$(ve_connections)
VAULT_ADDR=https://127.0.0.1:$VE_DEV_PORT read_ok "$out" PW
check "TLS failure: default used" ve_expect "$out" "PW=fake-default"
check "TLS failure: named" stderr_has "TLS error talking to https://127.0.0.1:$VE_DEV_PORT"
check "TLS failure: not retried (one connection)" test "$(( $(ve_connections) - conns ))" = 2
check "TLS failure: no retry logged" stderr_lacks "retry"

# 8. after all that the transport works normally
ve_reset_counts
read_ok "$out" PW
check "afterwards: the value in one request" \
        bash -c "[ \"\$(cat '$out')\" = PW=fake-pw-faults ] && [ $(ve_count "$path") = 1 ]"
ve_done
