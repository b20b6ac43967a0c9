#!/bin/bash
# The life of a login token, through the preloaded shim, in one process:
# renewed (renew-self) once 2/3 of its TTL has passed; an expired token
# replaced by a new login; a token revoked behind the program's back
# replaced by one new login and the read retried; a 403 of the policy does
# not log in again; many threads make one login; VAULTENV_REVOKE_ON_EXIT
# revokes the login token and nothing else.
. "$(dirname "$0")/../lib.sh"

ve_vault_start
ve_kv2_put secret/app/db '{"password":"fake-pw-1"}'
ve_kv2_put secret/app/other '{"value":"fake-other"}'
ve_kv2_put secret/private/x '{"value":"fake-private"}'
ve_auth_policy app-read 'secret/data/app/*'
ve_api POST sys/auth/approle '{"type":"approle"}'
# renewable, 6 s; expiring for good after 2 s; long-lived
ve_api POST auth/approle/role/short '{"token_policies":["app-read"],"token_ttl":"6s","token_max_ttl":"60s"}'
ve_api POST auth/approle/role/dying '{"token_policies":["app-read"],"token_ttl":"2s","token_max_ttl":"2s"}'
ve_api POST auth/approle/role/long '{"token_policies":["app-read"],"token_ttl":"1h"}'
for r in short dying long; do
        (umask 077
         ve_auth_get GET "auth/approle/role/$r/role-id" '' data.role_id >"$VE_TMP/$r.rid"
         ve_auth_get POST "auth/approle/role/$r/secret-id" '' data.secret_id >"$VE_TMP/$r.sid")
done
use_role() { export VAULT_ROLE_ID_FILE=$VE_TMP/$1.rid VAULT_SECRET_ID_FILE=$VE_TMP/$1.sid; }

printf 'A = secret/app/db#password\nB = secret/app/other\nPRIV = secret/private/x\n' >"$VE_TMP/app.map"
export VAULTENV_MAP="$VE_TMP/app.map"
unset VAULT_TOKEN
export HOME=$VE_TMP/home
mkdir -p "$HOME"
out=$VE_TMP/out
tokens_active() { curl -sS "$VAULT_ADDR/_dev/tokens" | python3 -c 'import json,sys; print(json.load(sys.stdin)["active"])'; }

# 1. renewal: 4.5 s into a 6 s TTL, the next lookup renews the token
use_role short
ve_reset_counts
ve_read "$out" A --sleep 4500 B
check "renewal: both read" ve_expect "$out" "A=fake-pw-1" "B=fake-other"
check "renewal: renew-self sent once" test "$(ve_count 'POST /v1/auth/token/renew-self')" = 1
check "renewal: no second login" test "$(ve_count 'POST /v1/auth/approle/login')" = 1

# 2. expiry: a 2 s token that cannot be renewed past its max TTL is
# replaced by a new login after 3 s
use_role dying
ve_reset_counts
ve_read "$out" A --sleep 3000 B
check "expired token: both read" ve_expect "$out" "A=fake-pw-1" "B=fake-other"
check "expired token: logged in again" test "$(ve_count 'POST /v1/auth/approle/login')" = 2

# 3. the token is revoked while the program sleeps: the next read gets a
# 403, the token is checked (lookup-self), one new login, the read retried
use_role long
export VAULTENV_TOKEN_SINK=$VE_TMP/sink      # only so that this test can find the token
ve_reset_counts
rm -f "$out"
LD_PRELOAD="$VE_PRELOAD" timeout 60 "$VE_READENV" "$out" A --sleep 3000 B 2>"$VE_TMP/stderr" &
reader=$!
for _ in $(seq 1 300); do grep -q "^A" "$out" 2>/dev/null && break; sleep 0.05; done
cp "$VAULTENV_TOKEN_SINK" "$VE_TMP/first-token"
curl -sS -o /dev/null -X POST -H "X-Vault-Token: $(cat "$VE_TMP/first-token")" "$VAULT_ADDR/v1/auth/token/revoke-self"
wait "$reader" || true
check "revoked token: both read" ve_expect "$out" "A=fake-pw-1" "B=fake-other"
check "revoked token: one new login" test "$(ve_count 'POST /v1/auth/approle/login')" = 2
check "revoked token: B refused once, then read" test "$(ve_count 'GET /v1/secret/data/app/other')" = 2
check "revoked token: the sink holds the new token" bash -c "! cmp -s '$VE_TMP/first-token' '$VAULTENV_TOKEN_SINK'"
unset VAULTENV_TOKEN_SINK

# 4. a 403 of the policy (the token is fine): no new login
ve_reset_counts
ve_read "$out" A PRIV
check "policy 403: the allowed path read, the other not" ve_expect "$out" "A=fake-pw-1" "PRIV unset"
check "policy 403: no second login" test "$(ve_count 'POST /v1/auth/approle/login')" = 1
check "policy 403: the token was checked once" test "$(ve_count 'GET /v1/auth/token/lookup-self')" = 1

# 5. 16 threads at once: one login
ve_reset_counts
VE_READ_OPTS="--threads 16" ve_read "$out" A
check "threads: all got the value" ve_expect "$out" "A=fake-pw-1" "threads same"
check "threads: one login" test "$(ve_count 'POST /v1/auth/approle/login')" = 1

# 6. VAULTENV_REVOKE_ON_EXIT: the login token dies with the process...
before=$(tokens_active)
VAULTENV_REVOKE_ON_EXIT=1 ve_read "$out" A
check "revoke on exit: read" ve_expect "$out" "A=fake-pw-1"
check "revoke on exit: revoke-self sent" test "$(ve_count 'POST /v1/auth/token/revoke-self')" = 1
check "revoke on exit: no token left behind" test "$(tokens_active)" = "$before"
# ... but a token it was given is not its to revoke
unset VAULT_ROLE_ID_FILE VAULT_SECRET_ID_FILE
given=$(ve_auth_get POST auth/token/create '{"policies":["app-read"],"ttl":"1h"}' auth.client_token)
ve_reset_counts
VAULT_TOKEN=$given VAULTENV_REVOKE_ON_EXIT=1 ve_read "$out" A
check "revoke on exit, VAULT_TOKEN: read" ve_expect "$out" "A=fake-pw-1"
check "revoke on exit, VAULT_TOKEN: not revoked" test "$(ve_count 'POST /v1/auth/token/revoke-self')" = 0
check "revoke on exit, VAULT_TOKEN: still valid" \
        curl -sS --fail -o /dev/null -H "X-Vault-Token: $given" "$VAULT_ADDR/v1/auth/token/lookup-self"
unset given
ve_done
