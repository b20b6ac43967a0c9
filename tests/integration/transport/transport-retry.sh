#!/bin/bash
# Retries as the official Go client: 412, 429, 5xx (not 501) and dropped
# connections are retried up to VAULT_MAX_RETRIES (default 2) times with
# backoff, a 429's Retry-After is honoured, 403/404 never retried, and no
# attempt or wait goes past VAULT_CLIENT_TIMEOUT. The dev server counts the
# requests; its faults with "count" hit only the next N requests.
. "$(dirname "$0")/../lib.sh"
unset VAULT_AGENT_ADDR VAULT_MAX_RETRIES VAULT_CLIENT_TIMEOUT

ve_vault_start
ve_kv2_put secret/app/db '{"password":"fake-pw-retry"}'
out=$VE_TMP/out
path='GET /v1/secret/data/app/db'
# kv2: forced, so the only request under /v1/secret/ is the read itself.
printf 'PW = kv2:secret/app/db#password default=fake-default\nNOPE = kv2:secret/app/none default=fake-none\n' \
        >"$VE_TMP/app.map"
export VAULTENV_MAP="$VE_TMP/app.map" VAULTENV_LOG=info

# fault JSON: the next requests under /v1/secret/ get it; counters zeroed
fault() { ve_reset_counts; ve_transport_fault "$1"; }
status_fault() { fault "{\"mode\":\"status\",\"status\":$1,\"body\":\"injected\",\"count\":$2,\"prefix\":\"/v1/secret/\"${3:-}}"; }

# 1. two 503s, then the answer: 3 requests, the value, each retry logged
status_fault 503 2
ve_read "$out" PW
check "503 twice: the value is read" ve_expect "$out" "PW=fake-pw-retry"
check "503 twice: exactly 3 requests" test "$(ve_count "$path")" = 3
check "503 twice: retry 1 logged with the reason" stderr_has "secret/app/db: HTTP status 503 from Vault at $VAULT_ADDR; retry 1 of 2 in "
check "503 twice: retry 2 logged" stderr_has "retry 2 of 2 in "
check "retries log no body" stderr_lacks "injected"

# 2. three 503s: the retries run out, the default is used, with the reason
status_fault 503 3
ve_read "$out" PW
check "503 three times: falls back to the default" ve_expect "$out" "PW=fake-default"
check "503 three times: exactly 3 requests" test "$(ve_count "$path")" = 3
check "503 three times: the message says why" stderr_has "PW: Vault gave no value (Vault is sealed or unavailable (503) at secret/app/db"
ve_reset_counts
ve_read "$out" PW
check "the fault cleared itself: read again in one request" \
        bash -c "[ \"\$(cat '$out')\" = PW=fake-pw-retry ] && [ $(ve_count "$path") = 1 ]"

# 3. each retryable status is retried once and then answered
for s in 412 429 500 502 504; do
        status_fault "$s" 1
        ve_read "$out" PW
        check "$s once: retried, value read in 2 requests" \
                bash -c "[ \"\$(cat '$out')\" = PW=fake-pw-retry ] && [ $(ve_count "$path") = 2 ]"
done

# 4. never retried: 501, 403, 404
status_fault 501 1
ve_read "$out" PW
check "501: not retried (1 request, default)" \
        bash -c "[ \"\$(cat '$out')\" = PW=fake-default ] && [ $(ve_count "$path") = 1 ]"
ve_auth_policy only-other 'secret/data/other/*'
limited=$(ve_auth_get POST auth/token/create '{"policies":["only-other"]}' auth.client_token)
ve_reset_counts
VAULT_TOKEN=$limited ve_read "$out" PW
check "403: falls back" ve_expect "$out" "PW=fake-default"
check "403: exactly 1 request" test "$(ve_count "$path")" = 1
check "403: permission denied named" stderr_has "permission denied on secret/app/db"
check "403: no retry logged" stderr_lacks "retry"
ve_reset_counts
ve_read "$out" NOPE
check "404: exactly 1 request" test "$(ve_count 'GET /v1/secret/data/app/none')" = 1
check "404: no retry logged" stderr_lacks "retry"

# 5. 429 with Retry-After: the server's wait, not the backoff
status_fault 429 1 ',"headers":{"Retry-After":"1"}'
ve_read "$out" PW
check "429 Retry-After: value read in 2 requests" \
        bash -c "[ \"\$(cat '$out')\" = PW=fake-pw-retry ] && [ $(ve_count "$path") = 2 ]"
check "429 Retry-After: its wait is used" stderr_has "HTTP status 429 from Vault at $VAULT_ADDR; retry 1 of 2 in 1s (Retry-After)"
# a Retry-After longer than VAULT_CLIENT_TIMEOUT: no pointless wait
status_fault 429 1 ',"headers":{"Retry-After":"120"}'
VAULT_CLIENT_TIMEOUT=5s ve_read "$out" PW
check "429 Retry-After 120 > timeout: not retried" \
        bash -c "[ \"\$(cat '$out')\" = PW=fake-default ] && [ $(ve_count "$path") = 1 ]"
check "429 Retry-After 120 > timeout: says so" stderr_has "not retrying: waiting 120s (Retry-After) would pass VAULT_CLIENT_TIMEOUT"
check "429: rate limited named" stderr_has "rate limited by Vault (429)"

# 6. a dropped connection, twice, then the answer. (libcurl itself re-sends
# once when a reused keep-alive connection closes unanswered, so the two
# drops always cost 3 requests in all: our retry logged at least once.)
fault '{"mode":"drop","count":2,"prefix":"/v1/secret/"}'
ve_read "$out" PW
check "dropped twice: the value is read" ve_expect "$out" "PW=fake-pw-retry"
check "dropped twice: 3 requests" test "$(ve_count "$path")" = 3
check "dropped: the retry is logged" stderr_has "from Vault at $VAULT_ADDR; retry 1 of 2 in "

# 7. VAULT_MAX_RETRIES=0: one attempt; =1: two
status_fault 503 1
VAULT_MAX_RETRIES=0 ve_read "$out" PW
check "VAULT_MAX_RETRIES=0: one request, default" \
        bash -c "[ \"\$(cat '$out')\" = PW=fake-default ] && [ $(ve_count "$path") = 1 ]"
check "VAULT_MAX_RETRIES=0: no retry logged" stderr_lacks "retry"
status_fault 503 2
VAULT_MAX_RETRIES=1 ve_read "$out" PW
check "VAULT_MAX_RETRIES=1: two requests, default" \
        bash -c "[ \"\$(cat '$out')\" = PW=fake-default ] && [ $(ve_count "$path") = 2 ]"
check "VAULT_MAX_RETRIES=1: retry 1 of 1" stderr_has "retry 1 of 1 in "
ve_transport_fault '{"mode":"none"}'

# 8. the deadline covers every attempt and wait: with a 2 s timeout the
# first wait (1-1.5 s) fits, the second (2-3 s) does not
fault '{"mode":"status","status":503,"body":"injected","prefix":"/v1/secret/"}'
VAULT_CLIENT_TIMEOUT=2s ve_read "$out" PW
check "deadline: default after 2 requests" \
        bash -c "[ \"\$(cat '$out')\" = PW=fake-default ] && [ $(ve_count "$path") = 2 ]"
check "deadline: says the wait would pass VAULT_CLIENT_TIMEOUT" stderr_has "would pass VAULT_CLIENT_TIMEOUT"
ve_transport_fault '{"mode":"none"}'
ve_done
