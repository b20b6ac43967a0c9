#!/bin/bash
# VAULTENV_REVOKE_ON_EXIT=1: when the program exits, the leases it created
# and the token it obtained by its own login are revoked, so a short-lived
# job leaves nothing behind. Never a token it was given; never on the
# exit-78 path (_exit: no atexit handler runs); a forked child does not
# revoke its parent's leases.
. "$(dirname "$0")/../lib.sh"

# GET with the root token, printing one field of the answer (never shown:
# captured into variables or files).
json_field() {
        curl -sS -X "$1" -H "X-Vault-Token: $VE_ROOT_TOKEN" "$VAULT_ADDR/v1/$2" |
                python3 -c 'import json,sys; d=json.load(sys.stdin)
for k in sys.argv[1].split("."): d=d[k]
print(d)' "$3"
}
n_leases() { curl -sS "$VAULT_ADDR/_dev/leases" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["leases"]))'; }
n_tokens() { curl -sS "$VAULT_ADDR/_dev/tokens" | python3 -c 'import json,sys; print(json.load(sys.stdin)["active"])'; }
revoke_all_leases() {
        local l
        for l in $(curl -sS "$VAULT_ADDR/_dev/leases" | python3 -c 'import json,sys; print(" ".join(l["id"] for l in json.load(sys.stdin)["leases"]))'); do
                ve_api PUT sys/leases/revoke "{\"lease_id\":\"$l\"}"
        done
}

ve_vault_start
ve_api POST sys/mounts/database '{"type":"database"}'
ve_api POST database/roles/ro '{"db_name":"pg","default_ttl":"1h","max_ttl":"2h"}'
ve_kv2_put secret/app/x '{"value":"fake-x"}'
out=$VE_TMP/out
cat >"$VE_TMP/app.map" <<'MAP'
DB_USER = database/creds/ro#username
DB_PASS = database/creds/ro#password
X       = secret/app/x
MISSING = secret/app/none  required
MAP
export VAULTENV_MAP=$VE_TMP/app.map

# 1. without the variable, the lease outlives the program (what the
# feature is for)
ve_read "$out" DB_USER DB_PASS
check "without VAULTENV_REVOKE_ON_EXIT: the lease stays" test "$(n_leases)" = 1
revoke_all_leases

# 2. with it: the lease is revoked at exit
ve_reset_counts
VAULTENV_REVOKE_ON_EXIT=1 ve_read "$out" DB_USER DB_PASS
check "the program got its values" bash -c "grep -q '^DB_USER=v-' '$out' && grep -q '^DB_PASS=.' '$out'"
check "revoke on exit: no lease left" test "$(n_leases)" = 0
check "revoke on exit: one PUT sys/leases/revoke" test "$(ve_count 'PUT /v1/sys/leases/revoke')" = 1
check "revoke on exit: no lease id in stderr" stderr_lacks "database/creds/ro/"

# 3. no lease and no login: nothing to revoke, no request
ve_reset_counts
VAULTENV_REVOKE_ON_EXIT=1 ve_read "$out" X
check "KV only: no revoke request" test "$(ve_count 'PUT /v1/sys/leases/revoke')" = 0

# 4. a token the program was given (VAULT_TOKEN) is never revoked
ve_api PUT sys/policy/dyn '{"policy":"path \"database/creds/*\" { capabilities = [\"read\"] }\npath \"sys/leases/revoke\" { capabilities = [\"update\"] }\npath \"sys/internal/ui/mounts/*\" { capabilities = [\"read\"] }"}'
given=$(curl -sS -X POST -H "X-Vault-Token: $VE_ROOT_TOKEN" --data '{"policies":["dyn"],"ttl":"1h"}' \
        "$VAULT_ADDR/v1/auth/token/create" | python3 -c 'import json,sys; print(json.load(sys.stdin)["auth"]["client_token"])')
tokens_before=$(n_tokens)
VAULT_TOKEN=$given VAULTENV_REVOKE_ON_EXIT=1 ve_read "$out" DB_USER
check "given token: its lease revoked" test "$(n_leases)" = 0
check "given token: the token itself is not revoked" test "$(n_tokens)" = "$tokens_before"
check "given token: not in stderr" stderr_lacks "$given"

# 5. the token of the program's own login (AppRole) is revoked, and the
# leases with it
ve_api POST sys/auth/approle '{"type":"approle"}'
ve_api POST auth/approle/role/job '{"token_policies":["dyn"],"token_ttl":"1h"}'
json_field GET auth/approle/role/job/role-id data.role_id >"$VE_TMP/role-id"
json_field POST auth/approle/role/job/secret-id data.secret_id >"$VE_TMP/secret-id"
chmod 600 "$VE_TMP/role-id" "$VE_TMP/secret-id"
tokens_before=$(n_tokens)
VAULT_TOKEN= VAULT_ROLE_ID_FILE=$VE_TMP/role-id VAULT_SECRET_ID_FILE=$VE_TMP/secret-id \
        VAULTENV_REVOKE_ON_EXIT=1 ve_read "$out" DB_USER DB_PASS
check "login: the program got its values" bash -c "grep -q '^DB_USER=v-' '$out' && grep -q '^DB_PASS=.' '$out'"
check "login: no lease left" test "$(n_leases)" = 0
check "login: its token revoked (no more tokens than before)" test "$(n_tokens)" = "$tokens_before"
check "login: no secret id in stderr" stderr_lacks "$(cat "$VE_TMP/secret-id")"

# 6. the exit-78 path (a required name missing) is _exit: nothing runs,
# the lease stays (documented)
set +e
VAULTENV_REVOKE_ON_EXIT=1 ve_read "$out" DB_USER MISSING
status=$?
set -e
check "exit 78 for the missing required name" test "$status" = 78
check "exit 78: no revocation ran" test "$(n_leases)" = 1
revoke_all_leases

# 7. fork: the child serves the parent's cached pair and, at its own exit,
# does not revoke the parent's lease; the parent revokes it once
ve_reset_counts
VAULTENV_REVOKE_ON_EXIT=1 VE_READ_OPTS=--fork ve_read "$out" DB_USER DB_PASS
check "fork: the child read the pair" bash -c "grep -q '^DB_USER=v-' '$out' && grep -q '^DB_PASS=.' '$out'"
check "fork: one lease (the parent's, served to the child)" test "$(ve_count 'GET /v1/database/creds/ro')" = 1
check "fork: no lease left" test "$(n_leases)" = 0
check "fork: exactly one revoke request" test "$(ve_count 'PUT /v1/sys/leases/revoke')" = 1
ve_done
