#!/bin/bash
# Redirects, as a standby answers: a 307 (or 308, 301, 302) to the same
# scheme, host and port is followed; one to anywhere else is refused with a
# one-line message naming the foreign host, and nothing (no request, no
# token) reaches it. The trap is a second dev server on another port.
. "$(dirname "$0")/../lib.sh"
unset VAULT_AGENT_ADDR VAULT_MAX_RETRIES VAULT_CLIENT_TIMEOUT

# the trap first (ve_vault_start sets VAULT_ADDR and the token each time)
ve_vault_start
trap_addr=$VAULT_ADDR
trap_port=$VE_DEV_PORT
ve_vault_start
port=$VE_DEV_PORT
ve_kv2_put secret/app/db '{"password":"fake-pw-active"}'
ve_kv2_put secret/app/moved '{"password":"fake-pw-moved"}'
out=$VE_TMP/out
printf 'PW = kv2:secret/app/db#password default=fake-default\n' >"$VE_TMP/app.map"
export VAULTENV_MAP="$VE_TMP/app.map" VAULTENV_LOG=info
path='GET /v1/secret/data/app/db'

redirect() { ve_reset_counts; ve_transport_fault "{\"mode\":\"redirect\",\"prefix\":\"/v1/secret/\"$1}"; }

# 1. a 307 to the same server (a location without a path gets the
# request's path appended, as a standby does): followed, value read
redirect ",\"location\":\"http://127.0.0.1:$port\",\"count\":1"
ve_read "$out" PW
check "307 to the same server: followed, value read" ve_expect "$out" "PW=fake-pw-active"
check "307 to the same server: 2 requests" test "$(ve_count "$path")" = 2
check "307: logged at info" stderr_has "secret/app/db: Vault at $VAULT_ADDR redirected the request (307) to the same host; following it"

# 2. 308, 301 and 302 to another path on the same server, relative and
# absolute: the target is what is read
for spec in "308:/v1/secret/data/app/moved" "301:http://127.0.0.1:$port/v1/secret/data/app/moved" \
            "302:/v1/secret/data/app/moved"; do
        s=${spec%%:*}
        redirect ",\"status\":$s,\"location\":\"${spec#*:}\",\"count\":1"
        ve_read "$out" PW
        check "$s to another path on the same server: its value" ve_expect "$out" "PW=fake-pw-moved"
done

# 3. the trap: a 307 to another port. Refused, and the trap saw nothing.
curl -sS -X POST -o /dev/null "$trap_addr/_dev/reset"
redirect ",\"location\":\"http://127.0.0.1:$trap_port\""
ve_read "$out" PW
check "307 to another port: not followed, default used" ve_expect "$out" "PW=fake-default"
check "307 to another port: one line naming the host" \
        stderr_has "PW: Vault gave no value (Vault at $VAULT_ADDR redirected the request for secret/app/db to another host (http://127.0.0.1:$trap_port); not following it)"
check "307 to another port: not retried (1 request)" test "$(ve_count "$path")" = 1
check "the trap got no request" test "$(ve_transport_stat total "$trap_addr")" = 0
check "the trap got no token" test "$(ve_transport_stat with_token "$trap_addr")" = 0
check "no token in the messages" stderr_lacks "$VE_ROOT_TOKEN"

# 4. the same port under another name, and another scheme: refused too
redirect ",\"location\":\"http://localhost:$port\""
ve_read "$out" PW
check "307 to another host name: refused" stderr_has "to another host (http://localhost:$port)"
redirect ",\"location\":\"https://127.0.0.1:$port\""
ve_read "$out" PW
check "307 to another scheme: refused" stderr_has "to another host (https://127.0.0.1:$port)"

# 5. a redirect loop ends after 3 hops
redirect ",\"location\":\"http://127.0.0.1:$port\""
ve_read "$out" PW
check "redirect loop: default used" ve_expect "$out" "PW=fake-default"
check "redirect loop: too many redirects named" stderr_has "too many redirects (more than 3) from Vault at $VAULT_ADDR for secret/app/db"
check "redirect loop: 4 requests" test "$(ve_count "$path")" = 4

# 6. 303 is an answer, not followed (as the Go client)
redirect ",\"status\":303,\"location\":\"http://127.0.0.1:$port\",\"count\":1"
ve_read "$out" PW
check "303: not followed" bash -c "[ \"\$(cat '$out')\" = PW=fake-default ] && [ $(ve_count "$path") = 1 ]"
check "303: named as an unexpected status" stderr_has "unexpected HTTP status 303"
ve_transport_fault '{"mode":"none"}'
ve_done
